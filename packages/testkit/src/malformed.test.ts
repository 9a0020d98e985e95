import { describe, expect, it } from 'vitest';
import { decodeCoapMessage, encodeCoapMessage, uriPathOptions } from './coap-message.js';
import { malformedDatagrams, mutateDatagram, randomDatagrams } from './malformed.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('malformedDatagrams', () => {
  const cases = malformedDatagrams();

  it('has the named cases with unique names and descriptions', () => {
    const names = cases.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const required of [
      'empty',
      'truncated-header-1',
      'truncated-header-3',
      'version-0',
      'version-2',
      'token-length-9',
      'token-length-15',
      'option-delta-15',
      'option-length-15',
      'payload-marker-no-payload',
      'unknown-critical-option-9',
      'unknown-critical-option-65001',
      'garbage-after-message-id',
      'random-2k',
    ]) {
      expect(names).toContain(required);
    }
    for (const c of cases) {
      expect(c.description.length).toBeGreaterThan(5);
      expect(c.bytes).toBeInstanceOf(Uint8Array);
    }
  });

  it('gives the expected shapes', () => {
    const byName = new Map(cases.map((c) => [c.name, c]));
    expect(byName.get('empty')!.bytes).toHaveLength(0);
    for (const c of cases.filter((c) => c.name.startsWith('truncated-header'))) {
      expect(c.bytes.length).toBeLessThan(4);
    }
    expect(byName.get('version-2')!.bytes[0]! >> 6).toBe(2);
    for (let tkl = 9; tkl <= 15; tkl++) {
      expect(byName.get(`token-length-${tkl}`)!.bytes[0]! & 0x0f).toBe(tkl);
    }
    const marker = byName.get('payload-marker-no-payload')!.bytes;
    expect(marker.at(-1)).toBe(0xff);
    expect(byName.get('random-2k')!.bytes).toHaveLength(2048);
    // Where the header is complete, the message id is the one asked for.
    for (const c of malformedDatagrams({ messageId: 0xbeef })) {
      if (c.bytes.length >= 4 && c.bytes[0]! >> 6 === 1) {
        expect((c.bytes[2]! << 8) | c.bytes[3]!).toBe(0xbeef);
      }
    }
  });

  it('format errors fail a strict decoder; bad-option cases decode', () => {
    for (const c of cases) {
      if (c.expected === 'ignore' || c.expected === 'reject') {
        expect(() => decodeCoapMessage(c.bytes), c.name).toThrow();
      }
      if (c.expected === 'bad-option') {
        const m = decodeCoapMessage(c.bytes);
        expect(m.options.some((o) => o.number % 2 === 1 && o.number !== 11)).toBe(true);
      }
    }
  });

  it('is deterministic per seed', () => {
    expect(malformedDatagrams({ seed: 5 }).map((c) => hex(c.bytes))).toEqual(
      malformedDatagrams({ seed: 5 }).map((c) => hex(c.bytes)),
    );
    const r1 = malformedDatagrams({ seed: 5 }).find((c) => c.name === 'random-2k')!;
    const r2 = malformedDatagrams({ seed: 6 }).find((c) => c.name === 'random-2k')!;
    expect(hex(r1.bytes)).not.toBe(hex(r2.bytes));
  });
});

describe('randomDatagrams', () => {
  it('makes count datagrams within the length bound, reproducibly', () => {
    const a = randomDatagrams(9, 200, { maxLength: 40 });
    expect(a).toHaveLength(200);
    expect(a.every((d) => d.length <= 40)).toBe(true);
    expect(a.map(hex)).toEqual(randomDatagrams(9, 200, { maxLength: 40 }).map(hex));
    expect(a.map(hex)).not.toEqual(randomDatagrams(10, 200, { maxLength: 40 }).map(hex));
    const coapLike = a.filter((d) => d.length > 0 && d[0]! >> 6 === 1).length;
    expect(coapLike).toBeGreaterThan(60);
  });
});

describe('mutateDatagram', () => {
  const valid = encodeCoapMessage({
    messageId: 1,
    options: uriPathOptions('/3/0/1'),
    payload: 'hi',
  });

  it('always changes the bytes, never the input, and repeats per seed', () => {
    const before = hex(valid);
    const outs = new Set<string>();
    for (let seed = 0; seed < 500; seed++) {
      const m = mutateDatagram(valid, seed);
      expect(hex(m)).not.toBe(before);
      expect(hex(mutateDatagram(valid, seed))).toBe(hex(m));
      outs.add(hex(m));
    }
    expect(hex(valid)).toBe(before);
    expect(outs.size).toBeGreaterThan(400);
    expect(mutateDatagram(new Uint8Array(0), 1).length).toBeGreaterThan(0);
    expect(mutateDatagram(valid, 3, { mutations: 1 })).toBeInstanceOf(Uint8Array);
  });
});
