import { describe, expect, it } from 'vitest';
import { decodeBlock, encodeBlock, encodeUint } from './options.js';
import { checkOptions, encodeMessage, isParseFailure, MessageType, parseMessage } from './wire.js';

const hex = (h: string) => Buffer.from(h.replace(/\s/g, ''), 'hex');

describe('parseMessage', () => {
  it('reads a CON GET with token, options and payload, and encodes it back', () => {
    const buf = encodeMessage({
      type: MessageType.CON,
      code: 0x01,
      messageId: 0x1234,
      token: Buffer.from('abcd', 'hex'),
      options: [
        { number: 11, value: Buffer.from('3') },
        { number: 11, value: Buffer.from('0') },
        { number: 15, value: Buffer.from('ep=x') },
        { number: 60, value: encodeUint(70000) },
        { number: 300, value: Buffer.alloc(300, 1) },
      ],
      payload: Buffer.from('hi'),
    });
    const m = parseMessage(buf);
    if (isParseFailure(m)) throw new Error(m.reason);
    expect(m.type).toBe(MessageType.CON);
    expect(m.code).toBe(1);
    expect(m.messageId).toBe(0x1234);
    expect(m.token.toString('hex')).toBe('abcd');
    expect(m.numbers).toEqual([11, 11, 15, 60, 300]);
    expect(m.values[4]!.length).toBe(300);
    expect(m.payload.toString()).toBe('hi');
  });

  it.each([
    ['truncated header', '4001', 'truncated-header'],
    ['version 2', '80010001', 'bad-version'],
    ['token length 9', `49010001${'00'.repeat(9)}`, 'bad-token-length'],
    ['token cut short', '44010001aabb', 'truncated-token'],
    ['option delta 15', '40010001f0', 'bad-option-delta'],
    ['option length 15', '400100010f', 'bad-option-length'],
    ['option value past the end', '40010001b5aa', 'truncated-option'],
    ['extended delta cut short', '40010001d0', 'truncated-option'],
    ['payload marker and nothing', '40010001ff', 'empty-payload-after-marker'],
    ['empty message with a token', '41000001aa', 'empty-message-with-content'],
    ['empty message with bytes', '40000001ff00', 'empty-message-with-content'],
  ])('rejects %s', (_name, h, reason) => {
    const r = parseMessage(hex(h));
    expect(isParseFailure(r) && r.reason).toBe(reason);
  });

  it('keeps the message id of a malformed CON (so it can be rejected with RST)', () => {
    const r = parseMessage(hex('40010abcf0'));
    expect(isParseFailure(r) && r.messageId).toBe(0x0abc);
    expect(isParseFailure(r) && r.type).toBe(MessageType.CON);
  });
});

describe('checkOptions', () => {
  const parse = (opts: { number: number; value: Buffer }[]) => {
    const m = parseMessage(encodeMessage({ type: 0, code: 1, messageId: 1, options: opts }));
    if (isParseFailure(m)) throw new Error(m.reason);
    return m;
  };
  it('reports an unknown critical option', () => {
    expect(checkOptions(parse([{ number: 9, value: Buffer.alloc(0) }]))).toEqual({
      number: 9,
      critical: true,
    });
  });
  it('drops an unknown elective option', () => {
    const m = parse([
      { number: 11, value: Buffer.from('a') },
      { number: 1000, value: Buffer.from('x') },
    ]);
    expect(checkOptions(m)).toBeUndefined();
    expect(m.numbers).toEqual([11]);
  });
  it('treats a critical option of a bad length as unrecognised (§5.4.3)', () => {
    expect(checkOptions(parse([{ number: 23, value: Buffer.alloc(4) }]))?.number).toBe(23);
  });
  it('treats a repeated non-repeatable critical option as unrecognised (§5.4.5)', () => {
    const m = parse([
      { number: 27, value: Buffer.of(1) },
      { number: 27, value: Buffer.of(2) },
    ]);
    expect(checkOptions(m)?.number).toBe(27);
  });
});

describe('block values', () => {
  it('round-trips', () => {
    for (const b of [
      { num: 0, more: false, szx: 0 },
      { num: 15, more: true, szx: 6 },
      { num: 16, more: true, szx: 2 },
      { num: 4095, more: false, szx: 4 },
      { num: 4096, more: true, szx: 6 },
      { num: 0xfffff, more: true, szx: 6 },
    ]) {
      expect(decodeBlock(encodeBlock(b))).toEqual(b);
    }
  });
  it('refuses SZX 7 and values over 3 bytes', () => {
    expect(decodeBlock(Buffer.of(7))).toBeUndefined();
    expect(decodeBlock(Buffer.of(1, 2, 3, 4))).toBeUndefined();
  });
});

describe('encodeMessage', () => {
  it('sorts options by number, keeping the order of repeated ones, without touching its input', () => {
    const options = [
      { number: 15, value: Buffer.from('q1') },
      { number: 11, value: Buffer.from('a') },
      { number: 15, value: Buffer.from('q2') },
      { number: 12, value: Buffer.of(40) },
      { number: 11, value: Buffer.from('b') },
    ];
    const copy = [...options];
    const buf = encodeMessage({ type: MessageType.CON, code: 2, messageId: 1, options });
    expect(options).toEqual(copy);
    const msg = parseMessage(buf);
    expect(isParseFailure(msg)).toBe(false);
    if (isParseFailure(msg)) return;
    expect(msg.numbers).toEqual([11, 11, 12, 15, 15]);
    expect(msg.values.map((v) => v.toString())).toEqual(['a', 'b', '(', 'q1', 'q2']);
    // Already in order (and many): the same bytes as sorted by hand.
    const many = Array.from({ length: 40 }, (_, i) => ({
      number: 2048 + (i % 3) * 2,
      value: Buffer.of(i),
    }));
    const sorted = [...many].sort((a, b) => a.number - b.number);
    expect(encodeMessage({ type: 0, code: 1, messageId: 2, options: many })).toEqual(
      encodeMessage({ type: 0, code: 1, messageId: 2, options: sorted }),
    );
  });
});
