import {
  DATA_TYPES,
  type DataType,
  EncodeError,
  LwM2mPath,
  type TypedValue,
  typedValue,
} from '@lwm2m-ts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbValue, fuzzDecoder } from './test-arbitraries.js';
import { decodeError, text as utf8 } from './test-fixtures.js';
import { decodeText, encodeText } from './text.js';

const FORMAT = 'text/plain';

describe('text/plain examples (Core TS 1.2 §7.4.1, Appendix C)', () => {
  const vectors: [string, TypedValue, string][] = [
    // §7.4.1: Read /3/0/0 returns the Manufacturer as plain text.
    ['Manufacturer /3/0/0', typedValue('string', 'Open Mobile Alliance'), 'Open Mobile Alliance'],
    // Appendix C, Time: 1476186613 s is Tuesday, 11-Oct-16 11:50:13 UTC.
    ['Time', typedValue('time', new Date(Date.UTC(2016, 9, 11, 11, 50, 13))), '1476186613'],
    ['Integer', typedValue('integer', -42), '-42'],
    ['Unsigned Integer', typedValue('unsigned', 2n ** 64n - 1n), '18446744073709551615'],
    ['Float', typedValue('float', 3.5), '3.5'],
    ['integral Float', typedValue('float', 100), '100.0'],
    ['Boolean true', typedValue('boolean', true), '1'],
    ['Boolean false', typedValue('boolean', false), '0'],
    ['Objlnk', typedValue('objlnk', { objectId: 3, instanceId: 0 }), '3:0'],
    ['Opaque (base64, LwM2M 1.1+)', typedValue('opaque', Uint8Array.of(1, 2, 3)), 'AQID'],
    ['Corelnk', typedValue('corelnk', '</3/0>'), '</3/0>'],
    ['non-ASCII String', typedValue('string', 'héllo 水'), 'héllo 水'],
  ];

  it.each(vectors)('%s encodes', (_name, value, text) => {
    expect(encodeText(value)).toEqual(utf8(text));
  });

  it.each(vectors)('%s decodes', (_name, value, text) => {
    expect(decodeText(utf8(text), value.type)).toEqual(value);
  });

  it('reads an Objlnk with leading zeros ("10:03", Appendix C)', () => {
    expect(decodeText(utf8('10:03'), 'objlnk').value).toEqual({ objectId: 10, instanceId: 3 });
  });

  it('keeps a leading U+FEFF as part of a string', () => {
    expect(decodeText(utf8('\uFEFFx'), 'string').value).toBe('\uFEFFx');
  });
});

describe('text/plain refusals', () => {
  const path = LwM2mPath.of(3, 0, 9);

  it.each<[DataType, string, RegExp]>([
    ['integer', 'abc', /expected a decimal integer/],
    ['integer', '9223372036854775808', /out of range/],
    ['unsigned', '-1', /out of range/],
    ['float', '1e999', /not a finite float/],
    ['float', '', /expected a decimal number/],
    ['boolean', '2', /expected 0 or 1/],
    ['objlnk', '3:70000', /not a valid objlnk/],
    ['opaque', '@@', /expected base64/],
    ['time', '99999999999999999999', /outside the range of a Date/],
  ])('%s "%s"', (type, text, why) => {
    const e = decodeError(FORMAT, () => decodeText(utf8(text), type, path));
    expect(e.message).toMatch(why);
    expect(e.message).toContain('/3/0/9');
    expect(e.offset).toBe(0);
  });

  it('refuses invalid UTF-8 and names the bad byte', () => {
    const e = decodeError(FORMAT, () =>
      decodeText(Uint8Array.of(0x61, 0x62, 0xe2, 0x28, 0xa1), 'string'),
    );
    expect(e.offset).toBe(2);
    expect(e.message).toMatch(/not valid UTF-8/);
    // Overlong encoding and a lone surrogate are not UTF-8 either.
    expect(decodeError(FORMAT, () => decodeText(Uint8Array.of(0xc0, 0xaf), 'string')).offset).toBe(
      0,
    );
    expect(
      decodeError(FORMAT, () => decodeText(Uint8Array.of(0x31, 0xed, 0xa0, 0x80), 'string')).offset,
    ).toBe(1);
  });

  it('refuses non-finite floats when encoding', () => {
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => encodeText(typedValue('float', v))).toThrow(EncodeError);
    }
  });

  it('refuses values that are not of their type', () => {
    const bad = { type: 'unsigned', value: -1n } as TypedValue;
    expect(() => encodeText(bad)).toThrow(EncodeError);
  });
});

describe('text/plain round trip and fuzz', () => {
  it('decode(encode(v)) is v for every data type', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...DATA_TYPES).chain((t) => arbValue(t)),
        (v) => {
          expect(decodeText(encodeText(v), v.type)).toEqual(v);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('fuzz: only DecodeError, for every data type', () => {
    const seeds = ['1', '-42', '3.5', '1e3', '3:0', 'AQID', 'Open Mobile Alliance', '0'].map(utf8);
    fuzzDecoder(
      FORMAT,
      (bytes) =>
        decodeText(bytes, DATA_TYPES[(bytes.length + (bytes[0] ?? 0)) % DATA_TYPES.length]!),
      seeds,
      { runs: 100_000 },
    );
  }, 120_000);
});
