import { describe, expect, it } from 'vitest';
import { ContentType, DTLS_1_2 } from './constants.js';
import {
  type DropReason,
  encodeRecord,
  parseRecords,
  REPLAY_WINDOW_SIZE,
  ReplayWindow,
} from './record.js';

function collect(datagram: Buffer) {
  const drops: DropReason[] = [];
  const records = parseRecords(datagram, (r) => drops.push(r));
  return { records, drops };
}

describe('parseRecords', () => {
  it('reads several records from one datagram with their epochs and 48-bit sequence numbers', () => {
    const a = encodeRecord(ContentType.HANDSHAKE, DTLS_1_2, 0, 5, Buffer.from('abc'));
    const b = encodeRecord(ContentType.CHANGE_CIPHER_SPEC, DTLS_1_2, 0, 6, Buffer.from([1]));
    const c = encodeRecord(ContentType.APPLICATION_DATA, DTLS_1_2, 1, 2 ** 48 - 1, Buffer.alloc(0));
    const { records, drops } = collect(Buffer.concat([a, b, c]));
    expect(drops).toEqual([]);
    expect(records.map((r) => [r.type, r.epoch, r.seq, r.fragment.toString('hex')])).toEqual([
      [22, 0, 5, '616263'],
      [20, 0, 6, '01'],
      [23, 1, 2 ** 48 - 1, ''],
    ]);
  });

  it('drops a truncated header or fragment and everything after it', () => {
    const a = encodeRecord(ContentType.HANDSHAKE, DTLS_1_2, 0, 1, Buffer.from('hello'));
    expect(collect(a.subarray(0, 12))).toEqual({ records: [], drops: ['truncated'] });
    const cut = collect(Buffer.concat([a, a.subarray(0, a.length - 1)]));
    expect(cut.records).toHaveLength(1);
    expect(cut.drops).toEqual(['truncated']);
  });

  it('skips records with an unknown type or a non-DTLS version but keeps later ones', () => {
    const bad = encodeRecord(99, DTLS_1_2, 0, 1, Buffer.from('x'));
    const tls = encodeRecord(ContentType.HANDSHAKE, 0x0303, 0, 1, Buffer.from('x'));
    const good = encodeRecord(ContentType.ALERT, DTLS_1_2, 0, 2, Buffer.from([1, 0]));
    const { records, drops } = collect(Buffer.concat([bad, tls, good]));
    expect(drops).toEqual(['malformed', 'malformed']);
    expect(records.map((r) => r.type)).toEqual([ContentType.ALERT]);
  });

  it('never throws on random bytes', () => {
    for (let i = 0; i < 2000; i++) {
      const junk = Buffer.from(
        Array.from({ length: (i % 90) + 1 }, () => Math.floor(Math.random() * 256)),
      );
      expect(() => collect(junk)).not.toThrow();
    }
  });

  it('refuses to encode past the 48-bit sequence space', () => {
    expect(() => encodeRecord(23, DTLS_1_2, 1, 2 ** 48, Buffer.alloc(1))).toThrow(RangeError);
  });
});

describe('ReplayWindow', () => {
  it('accepts the first record at any sequence number, then refuses it again', () => {
    const w = new ReplayWindow();
    expect(w.check(1000)).toBe(true);
    w.accept(1000);
    expect(w.check(1000)).toBe(false);
    expect(w.check(1001)).toBe(true);
    expect(w.check(999)).toBe(true);
  });

  it('accepts out-of-order records inside the window exactly once', () => {
    const w = new ReplayWindow();
    w.accept(100);
    for (const s of [99, 70, 68, 37]) {
      expect(w.check(s)).toBe(true);
      w.accept(s);
      expect(w.check(s)).toBe(false);
    }
    expect(w.check(98)).toBe(true);
  });

  it('has exactly 64 entries: top - 63 is in, top - 64 is out', () => {
    const w = new ReplayWindow();
    w.accept(200);
    expect(w.check(200 - (REPLAY_WINDOW_SIZE - 1))).toBe(true);
    expect(w.check(200 - REPLAY_WINDOW_SIZE)).toBe(false);
    w.accept(200 - 63);
    expect(w.check(200 - 63)).toBe(false);
    // Sliding by one pushes 137 out of the window.
    w.accept(201);
    expect(w.check(137)).toBe(false);
    expect(w.check(138)).toBe(true);
  });

  it('keeps bits across shifts of 1, 31, 32, 33 and 63, and forgets on 64+', () => {
    for (const shift of [1, 31, 32, 33, 63, 64, 65, 1000]) {
      const w = new ReplayWindow();
      w.accept(10);
      w.accept(9);
      w.accept(10 + shift);
      expect(w.check(10 + shift)).toBe(false);
      // 10 and 9 sit at offsets shift and shift + 1.
      expect(w.check(10)).toBe(false);
      expect(w.check(9)).toBe(false);
      if (shift + 1 < REPLAY_WINDOW_SIZE) expect(w.check(11)).toBe(shift !== 1);
    }
  });

  it('tracks sequence numbers near 2^48 exactly', () => {
    const w = new ReplayWindow();
    const top = 2 ** 48 - 1;
    w.accept(top - 40);
    w.accept(top);
    expect(w.check(top - 40)).toBe(false);
    expect(w.check(top - 41)).toBe(true);
    expect(w.check(top - 64)).toBe(false);
  });

  it('matches a reference model on random streams', () => {
    for (let round = 0; round < 50; round++) {
      const w = new ReplayWindow();
      const seen = new Set<number>();
      let top = -1;
      for (let i = 0; i < 400; i++) {
        const s = Math.max(0, top + Math.floor(Math.random() * 100) - 70);
        const expected = s > top || (top - s < REPLAY_WINDOW_SIZE && !seen.has(s));
        expect(w.check(s)).toBe(expected);
        if (expected) {
          w.accept(s);
          seen.add(s);
          top = Math.max(top, s);
        }
      }
    }
  });
});
