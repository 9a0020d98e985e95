/**
 * Properties of the message codec (RFC 7252 §3) on generated input, and an endpoint fed random
 * and mutated datagrams: nothing throws, nothing is lost, and the endpoint keeps serving.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { endpoint, peerOf, RawPeer } from './test-util.js';
import {
  encodeMessage,
  isParseFailure,
  MessageType,
  type OutMessage,
  parseMessage,
} from './wire.js';

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

/** A message that is not Empty (code ≠ 0.00): any type, token, options and payload. */
const message: fc.Arbitrary<OutMessage> = fc.record({
  type: fc.constantFrom(MessageType.CON, MessageType.NON, MessageType.ACK, MessageType.RST),
  code: fc.integer({ min: 1, max: 255 }),
  messageId: fc.integer({ min: 0, max: 0xffff }),
  token: bytes(8),
  options: fc.array(
    fc.record({
      // Up to two extended bytes of delta (§3.1: 269 + 0xffff is the largest number).
      number: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 65000 })),
      value: fc.oneof(bytes(20), bytes(600)),
    }),
    { maxLength: 8 },
  ),
  payload: bytes(300),
});

describe('the CoAP codec on generated input', () => {
  it('parses what it encodes back to the same message (options in number order, stable)', () => {
    fc.assert(
      fc.property(message, (m) => {
        const parsed = parseMessage(encodeMessage(m));
        if (isParseFailure(parsed)) throw new Error(`rejected: ${parsed.reason}`);
        const sorted = [...(m.options ?? [])]
          .map((o, i) => ({ ...o, i }))
          .sort((a, b) => a.number - b.number || a.i - b.i);
        expect(parsed.type).toBe(m.type);
        expect(parsed.code).toBe(m.code);
        expect(parsed.messageId).toBe(m.messageId);
        expect(parsed.token).toEqual(Buffer.from(m.token ?? []));
        expect(parsed.numbers).toEqual(sorted.map((o) => o.number));
        expect(parsed.values.map((v) => Buffer.from(v))).toEqual(
          sorted.map((o) => Buffer.from(o.value)),
        );
        expect(parsed.payload).toEqual(Buffer.from(m.payload ?? []));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary bytes, and what it accepts encodes back to the same bytes', () => {
    fc.assert(
      fc.property(bytes(400), (buf) => {
        const parsed = parseMessage(buf);
        if (isParseFailure(parsed)) {
          expect(typeof parsed.reason).toBe('string');
          return;
        }
        const again = encodeMessage({
          type: parsed.type,
          code: parsed.code,
          messageId: parsed.messageId,
          token: parsed.token,
          options: parsed.numbers.map((number, i) => ({ number, value: parsed.values[i]! })),
          payload: parsed.payload,
        });
        // Option encodings are canonical (shortest delta and length forms), as are ours.
        const reparsed = parseMessage(again);
        expect(isParseFailure(reparsed)).toBe(false);
        expect(again.length).toBeLessThanOrEqual(buf.length);
      }),
      { numRuns: 3000 },
    );
  });

  it('rejects every truncation of a valid message that cuts into its header, token or options', () => {
    fc.assert(
      fc.property(message, fc.nat(), (m, k) => {
        const full = encodeMessage({ ...m, payload: Buffer.alloc(0) });
        const cut = full.subarray(0, k % full.length);
        const parsed = parseMessage(cut);
        // A cut right after an option is a shorter valid message; anything else is refused.
        if (!isParseFailure(parsed)) {
          expect(parsed.numbers.length).toBeLessThanOrEqual((m.options ?? []).length);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('an endpoint fed random and mutated datagrams', () => {
  it('keeps serving and answers a good request afterwards', async () => {
    const server = await endpoint();
    let served = 0;
    server.setHandler(() => {
      served++;
      return { code: '2.05', payload: Buffer.from('ok') };
    });
    const peer = await RawPeer.create();
    const to = peerOf(server);
    const valid = encodeMessage({
      type: MessageType.CON,
      code: 0x01,
      messageId: 1,
      token: Buffer.from([1, 2, 3, 4]),
      options: [{ number: 11, value: Buffer.from('x') }],
    });
    const datagrams = fc.sample(
      fc.oneof(
        bytes(200),
        // A valid request with a few bytes changed: the likeliest garbage a buggy peer sends.
        fc
          .array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), {
            minLength: 1,
            maxLength: 4,
          })
          .map((edits) => {
            const b = Buffer.from(valid);
            for (const [at, v] of edits) b[at] = v;
            return b;
          }),
      ),
      { numRuns: 600, seed: 7 },
    );
    for (const [i, d] of datagrams.entries()) {
      peer.send(d, to);
      // Paced, so the loopback buffer never drops what the test relies on.
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 100));
    const before = served;
    const id = 0xbeef;
    peer.send(
      encodeMessage({
        type: MessageType.CON,
        code: 0x01,
        messageId: id,
        token: Buffer.from('good'),
        options: [{ number: 11, value: Buffer.from('y') }],
      }),
      to,
    );
    const reply = await peer.next((r) => r.msg.messageId === id, 3000);
    expect(reply.msg.type).toBe(MessageType.ACK);
    expect(reply.msg.code).toBe(0x45);
    expect(reply.msg.payload.toString()).toBe('ok');
    expect(served).toBe(before + 1);
    expect(server.stats().malformed).toBeGreaterThan(0);
  });
});
