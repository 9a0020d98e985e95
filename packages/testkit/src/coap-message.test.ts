import { describe, expect, it } from 'vitest';
import {
  CoapFormatError,
  coapCode,
  decodeCoapMessage,
  encodeCoapMessage,
  formatCoapCode,
  uriPathOptions,
} from './coap-message.js';

describe('CoAP message encoder/decoder', () => {
  it('encodes a GET like RFC 7252 describes', () => {
    const bytes = encodeCoapMessage({
      type: 'CON',
      code: '0.01',
      messageId: 0x7d34,
      token: Uint8Array.of(0x20),
      options: uriPathOptions('/temperature'),
    });
    expect(Buffer.from(bytes).toString('hex')).toBe(
      `41017d3420bb${Buffer.from('temperature').toString('hex')}`,
    );
  });

  it('round-trips options with extended deltas and lengths, and a payload', () => {
    const long = 'a'.repeat(300);
    const bytes = encodeCoapMessage({
      type: 'NON',
      code: '2.05',
      messageId: 65535,
      token: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
      options: [
        { number: 65001, value: 'x' },
        { number: 12, value: 11542 },
        { number: 6, value: 0 },
        { number: 11, value: long },
        { number: 11, value: 'b' },
      ],
      payload: 'hello',
    });
    const m = decodeCoapMessage(bytes);
    expect(m).toMatchObject({ version: 1, type: 'NON', code: '2.05', messageId: 65535 });
    expect([...m.token]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(m.options.map((o) => o.number)).toEqual([6, 11, 11, 12, 65001]);
    expect(m.options[0]!.value).toHaveLength(0);
    expect(Buffer.from(m.options[1]!.value).toString()).toBe(long);
    expect(Buffer.from(m.options[2]!.value).toString()).toBe('b');
    expect([...m.options[3]!.value]).toEqual([0x2d, 0x16]);
    expect(Buffer.from(m.payload).toString()).toBe('hello');
  });

  it('converts codes', () => {
    expect(coapCode('2.05')).toBe(0x45);
    expect(coapCode('4.02')).toBe(0x82);
    expect(formatCoapCode(0x84)).toBe('4.04');
    expect(() => coapCode('9.99')).toThrow(RangeError);
  });

  it('rejects format errors', () => {
    expect(() => decodeCoapMessage(Uint8Array.of(0x40, 1))).toThrow(CoapFormatError);
    expect(() => decodeCoapMessage(Uint8Array.of(0x40, 0, 0, 0, 0xff))).toThrow(/Empty/i);
    expect(decodeCoapMessage(Uint8Array.of(0x40, 0, 0, 7))).toMatchObject({
      code: '0.00',
      messageId: 7,
    });
  });
});
