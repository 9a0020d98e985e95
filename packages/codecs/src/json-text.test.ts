import { DecodeError } from '@lwm2m-ts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  base64Decode,
  base64Encode,
  isFloatSyntax,
  type JsonValue,
  jsonFloat,
  jsonNumberValue,
  readJson,
} from './json-text.js';

const text = (s: string) => new TextEncoder().encode(s);
const read = (s: string, maxDepth?: number) =>
  readJson(text(s), maxDepth === undefined ? { format: 'T' } : { format: 'T', maxDepth });

/** A JsonValue back to plain JS (numbers as their text), to compare with JSON.parse. */
function plain(v: JsonValue): unknown {
  switch (v.kind) {
    case 'null':
      return null;
    case 'boolean':
    case 'string':
      return v.value;
    case 'number':
      return Number(v.text);
    case 'array':
      return v.items.map(plain);
    case 'object':
      return Object.fromEntries(v.members.map((m) => [m.name, plain(m.value)]));
  }
}

function error(s: string | Uint8Array, maxDepth?: number): DecodeError {
  try {
    readJson(typeof s === 'string' ? text(s) : s, { format: 'T', maxDepth: maxDepth ?? 16 });
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    expect((e as DecodeError).format).toBe('T');
    return e as DecodeError;
  }
  throw new Error(`accepted ${String(s)}`);
}

describe('readJson', () => {
  it('reads every kind of value with offsets, numbers as their text', () => {
    const src = ' {"a": [1, -0.5e+3, true, false, null], "b": "x\\u00e9\\n", "c": {}} ';
    const v = read(src);
    expect(plain(v)).toEqual({ a: [1, -500, true, false, null], b: 'xé\n', c: {} });
    expect(v.offset).toBe(1);
    if (v.kind !== 'object') throw new Error('object expected');
    expect(v.members.map((m) => [m.name, m.offset, m.value.offset])).toEqual([
      ['a', src.indexOf('"a"'), src.indexOf('[')],
      ['b', src.indexOf('"b"'), src.indexOf('"x')],
      ['c', src.indexOf('"c"'), src.indexOf('{}')],
    ]);
    const a = v.members[0]!.value;
    expect(
      a.kind === 'array' && a.items.map((i) => (i.kind === 'number' ? i.text : i.kind)),
    ).toEqual(['1', '-0.5e+3', 'boolean', 'boolean', 'null']);
  });

  it('keeps big integers exact', () => {
    const v = read('9007199254740993');
    expect(v.kind === 'number' && v.text).toBe('9007199254740993');
    expect(jsonNumberValue('9007199254740993')).toBe(9007199254740993n);
    expect(jsonNumberValue('-9223372036854775808')).toBe(-9223372036854775808n);
    expect(jsonNumberValue('18446744073709551616')).toBe(18446744073709551616n);
    expect(jsonNumberValue('12')).toBe(12);
    expect(jsonNumberValue('1.5')).toBe(1.5);
    expect(jsonNumberValue('1e400')).toBe(Number.POSITIVE_INFINITY);
    // More digits than any 64-bit integer: a double, not a slow huge bigint.
    expect(typeof jsonNumberValue('1'.repeat(5000))).toBe('number');
    expect(isFloatSyntax('1E3')).toBe(true);
    expect(isFloatSyntax('-12')).toBe(false);
  });

  it('writes floats that read back exactly, integral ones with .0', () => {
    expect(jsonFloat(3)).toBe('3.0');
    expect(jsonFloat(-0)).toBe('-0.0');
    expect(jsonFloat(0.1)).toBe('0.1');
    expect(jsonFloat(1e21)).toBe('1e+21');
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        const t = jsonFloat(d);
        expect(Object.is(Number(t), d)).toBe(true);
        expect(isFloatSyntax(t)).toBe(true);
        expect(plain(read(t))).toBe(Number(t));
      }),
    );
  });

  it('agrees with JSON.parse on random JSON', () => {
    fc.assert(
      fc.property(fc.json({ depthSize: 'small' }), (json) => {
        expect(plain(read(json))).toEqual(JSON.parse(json));
      }),
      { numRuns: 500 },
    );
  });

  it('skips a UTF-8 byte order mark (RFC 8259 §8.1)', () => {
    expect(plain(readJson(Uint8Array.of(0xef, 0xbb, 0xbf, 0x31), { format: 'T' }))).toBe(1);
  });

  it('refuses malformed text, naming the byte offset', () => {
    const cases: [string, RegExp, number][] = [
      ['', /empty input/, 0],
      ['   ', /empty input/, 3],
      ['[1,]', /unexpected "]"/, 3],
      ['[1 2]', /expected "," or "]"/, 3],
      ['{"a" 1}', /expected ":"/, 5],
      ['{"a":1,}', /expected a member name/, 7],
      ['{a:1}', /expected a member name/, 1],
      ['{"a":1 "b":2}', /expected "," or "}"/, 7],
      ['"abc', /unterminated string/, 0],
      ['"a\tb"', /control character/, 2],
      ['"\\x"', /invalid escape/, 1],
      ['"\\u12G4"', /four hex digits/, 1],
      ['01', /after the JSON value/, 1],
      ['-', /malformed number/, 0],
      ['1.', /malformed number/, 0],
      ['1e+', /malformed number/, 0],
      ['+1', /unexpected "\+"/, 0],
      ['.5', /unexpected "\."/, 0],
      ['tru', /expected true/, 0],
      ['nul', /expected null/, 0],
      ['NaN', /unexpected "N"/, 0],
      ['1 1', /after the JSON value/, 2],
      ['[1', /expected "," or "]"/, 2],
      ['{"a":1,"a":2}', /"a" is given twice/, 7],
    ];
    for (const [s, why, offset] of cases) {
      const e = error(s);
      expect(e.message).toMatch(why);
      expect(e.offset, s).toBe(offset);
    }
  });

  it('refuses invalid UTF-8 in strings and stray bytes outside them', () => {
    expect(error(Uint8Array.of(0x22, 0x61, 0xc3, 0x28, 0x22)).message).toMatch(/invalid UTF-8/);
    expect(error(Uint8Array.of(0x22, 0xed, 0xa0, 0x80, 0x22)).message).toMatch(/invalid UTF-8/);
    expect(error(Uint8Array.of(0x5b, 0xff, 0x5d)).message).toMatch(/byte 0xff/);
    // Escaped lone surrogates are valid JSON text.
    expect(plain(read('"\\ud800"'))).toBe('\ud800');
    expect(plain(read('"\\ud83d\\ude00 é"'))).toBe('😀 é');
  });

  it('bounds nesting depth without recursing into it', () => {
    expect(plain(read('[[1]]', 2))).toEqual([[1]]);
    expect(error('[[[1]]]', 2).message).toMatch(/nesting deeper than 2/);
    // 100k open brackets fail fast at the limit instead of overflowing the stack.
    const deep = '['.repeat(100_000);
    const e = error(deep);
    expect(e.message).toMatch(/nesting deeper than 16/);
    expect(e.offset).toBe(16);
  });

  it('runs in linear time on large inputs', () => {
    const big = `[${Array.from({ length: 50_000 }, (_, i) => `{"n":"/3/0/${i % 10}","v":${i}.5,"vs":"${'x'.repeat(i % 50)}\\n"}`).join(',')}]`;
    const t0 = performance.now();
    const v = read(big);
    const dt = performance.now() - t0;
    expect(v.kind === 'array' && v.items.length).toBe(50_000);
    expect(dt).toBeLessThan(2000);
    const longString = `"${'\\u0041'.repeat(200_000)}"`;
    expect(plain(read(longString))).toBe('A'.repeat(200_000));
  });
});

describe('base64', () => {
  it('reads both alphabets, with or without padding, and refuses the rest', () => {
    expect(base64Decode('')).toEqual(new Uint8Array(0));
    expect(base64Decode('AQID')).toEqual(Uint8Array.of(1, 2, 3));
    expect(base64Decode('-_8')).toEqual(Uint8Array.of(0xfb, 0xff));
    expect(base64Decode('+/8=')).toEqual(Uint8Array.of(0xfb, 0xff));
    expect(base64Decode('AQ')).toEqual(Uint8Array.of(1));
    expect(base64Decode('AQ==')).toEqual(Uint8Array.of(1));
    for (const bad of ['A', 'AQ=', 'AQ===', '=', 'A=Q=', 'AQ*D', 'AQ D', 'AQID=', 'é']) {
      expect(base64Decode(bad), bad).toBeUndefined();
    }
  });

  it('round-trips bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 50 }), fc.boolean(), (bytes, url) => {
        const t = base64Encode(bytes, url);
        expect(t.includes('=')).toBe(!url && bytes.length % 3 !== 0);
        expect(base64Decode(t)).toEqual(bytes);
      }),
    );
  });
});
