import { describe, expect, it } from 'vitest';
import { HandshakeType } from './constants.js';
import {
  encodeClientHello,
  encodeHandshake,
  fragmentHandshake,
  HandshakeReassembler,
  parseClientHello,
  parseHandshakeFragments,
  pskPremasterSecret,
} from './handshake.js';

function frags(buffers: Buffer[]) {
  return buffers.flatMap((b) => parseHandshakeFragments(b) ?? []);
}

describe('handshake fragments', () => {
  it('cuts a message into fragments that carry offset and total length', () => {
    const body = Buffer.from(Array.from({ length: 25 }, (_, i) => i));
    const pieces = fragmentHandshake(HandshakeType.SERVER_KEY_EXCHANGE, 4, body, 10);
    expect(pieces).toHaveLength(3);
    const parsed = frags(pieces);
    expect(parsed.map((f) => [f.fragmentOffset, f.body.length, f.length, f.messageSeq])).toEqual([
      [0, 10, 25, 4],
      [10, 10, 25, 4],
      [20, 5, 25, 4],
    ]);
  });

  it('keeps a message that fits whole, including an empty one', () => {
    expect(fragmentHandshake(14, 2, Buffer.alloc(0), 10)).toEqual([
      encodeHandshake(14, 2, Buffer.alloc(0)),
    ]);
  });

  it('reads several messages from one record and refuses bad framing', () => {
    const two = Buffer.concat([
      encodeHandshake(2, 1, Buffer.from('ab')),
      encodeHandshake(14, 2, Buffer.alloc(0)),
    ]);
    expect(parseHandshakeFragments(two)?.map((f) => f.msgType)).toEqual([2, 14]);
    expect(parseHandshakeFragments(two.subarray(0, 13))).toBeUndefined();
    const outside = encodeHandshake(2, 1, Buffer.from('abcd'));
    outside.writeUIntBE(2, 1, 3); // total length 2 < fragment 4
    expect(parseHandshakeFragments(outside)).toBeUndefined();
  });
});

describe('HandshakeReassembler', () => {
  const body = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');

  it('reassembles fragments in any order, with overlaps and duplicates', () => {
    const r = new HandshakeReassembler(3);
    const small = frags(fragmentHandshake(16, 3, body, 7));
    const big = frags(fragmentHandshake(16, 3, body, 11));
    const order = [small[4]!, big[0]!, small[4]!, small[2]!, big[3]!, small[1]!];
    for (const f of order) expect(r.add(f)).toEqual({ kind: 'messages', messages: [] });
    const done = r.add(small[3]!);
    expect(
      done.kind === 'messages' && done.messages.map((m) => [m.messageSeq, m.body.toString()]),
    ).toEqual([[3, body.toString()]]);
    expect(r.nextSeq).toBe(4);
    expect(r.add(small[0]!)).toEqual({ kind: 'old' });
  });

  it('holds later messages until the next expected one is complete', () => {
    const r = new HandshakeReassembler(1);
    const later = frags([encodeHandshake(20, 2, Buffer.from('fin'))]);
    expect(r.add(later[0]!)).toEqual({ kind: 'messages', messages: [] });
    const first = r.add(frags([encodeHandshake(16, 1, Buffer.from('cke'))])[0]!);
    expect(first.kind === 'messages' && first.messages.map((m) => m.msgType)).toEqual([16, 20]);
    expect(r.nextSeq).toBe(3);
  });

  it('refuses inconsistent fragments, oversized messages and messages too far ahead', () => {
    const r = new HandshakeReassembler(0, { maxMessageLength: 100, maxAhead: 4 });
    const a = frags(fragmentHandshake(16, 0, body, 10));
    expect(r.add(a[0]!).kind).toBe('messages');
    expect(r.add({ ...a[1]!, msgType: 20 })).toEqual({ kind: 'invalid' });
    expect(r.add({ ...a[1]!, length: 50 })).toEqual({ kind: 'invalid' });
    expect(
      r.add({ msgType: 16, length: 101, messageSeq: 1, fragmentOffset: 0, body: Buffer.alloc(0) }),
    ).toEqual({
      kind: 'invalid',
    });
    expect(
      r.add({ msgType: 16, length: 1, messageSeq: 4, fragmentOffset: 0, body: Buffer.alloc(1) }),
    ).toEqual({
      kind: 'invalid',
    });
  });
});

describe('ClientHello', () => {
  const random = Buffer.alloc(32, 9);

  it('round-trips the fields the server reads', () => {
    const body = encodeClientHello({
      random,
      sessionId: Buffer.from([1, 2]),
      cookie: Buffer.alloc(32, 5),
      cipherSuites: [0xc0a8, 0x00ae],
      extensions: [
        [0x0017, Buffer.alloc(0)],
        [0xff01, Buffer.from([0])],
      ],
    });
    const h = parseClientHello(body)!;
    expect(h.clientVersion).toBe(0xfefd);
    expect(h.random).toEqual(random);
    expect(h.sessionId).toEqual(Buffer.from([1, 2]));
    expect(h.cookie).toEqual(Buffer.alloc(32, 5));
    expect(h.cipherSuites).toEqual([0xc0a8, 0x00ae]);
    expect([...h.extensions.keys()]).toEqual([0x0017, 0xff01]);
  });

  it('accepts a hello without extensions and refuses malformed ones', () => {
    const plain = encodeClientHello({ random, cipherSuites: [0xc0a8] });
    expect(parseClientHello(plain)?.extensions.size).toBe(0);
    for (let n = 0; n < plain.length; n++)
      expect(parseClientHello(plain.subarray(0, n))).toBeUndefined();
    expect(parseClientHello(Buffer.concat([plain, Buffer.from([0])]))).toBeUndefined();
    const dup = encodeClientHello({
      random,
      cipherSuites: [0xc0a8],
      extensions: [
        [0x0017, Buffer.alloc(0)],
        [0x0017, Buffer.alloc(0)],
      ],
    });
    expect(parseClientHello(dup)).toBeUndefined();
    expect(parseClientHello(encodeClientHello({ random, cipherSuites: [] }))).toBeUndefined();
  });

  it('never throws on random bytes', () => {
    for (let i = 0; i < 3000; i++) {
      const junk = Buffer.from(
        Array.from({ length: i % 120 }, () => Math.floor(Math.random() * 256)),
      );
      expect(() => parseClientHello(junk)).not.toThrow();
      expect(() => parseHandshakeFragments(junk)).not.toThrow();
    }
  });
});

describe('pskPremasterSecret (RFC 4279 §2)', () => {
  it('is uint16 N, N zero bytes, uint16 N, the key', () => {
    expect(pskPremasterSecret(Buffer.from('abc')).toString('hex')).toBe(
      '0003000000' + '0003616263',
    );
  });
});
