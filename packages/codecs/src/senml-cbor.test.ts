import { flattenNode, LwM2mPath, nodeFromValues, typedValue } from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { Decoder, Encoder, type Options } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { modelsOf, type TimedValue } from './content.js';
import {
  decodeSenmlCbor,
  decodeSenmlCborPaths,
  encodeSenmlCbor,
  encodeSenmlCborPaths,
} from './senml-cbor.js';
import { decodeSenmlJson, encodeSenmlJson } from './senml-json.js';
import { arbModelAndNode, arbTimedValues, fuzzDecoder } from './test-arbitraries.js';
import {
  allTypesObject,
  DEVICE_VALUES,
  decodeError,
  encodeError,
  hex,
  v,
} from './test-fixtures.js';

const FORMAT = 'SenML CBOR';
const registry = ObjectRegistry.withBuiltins();
const opts = { model: registry };
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const p = (s: string) => LwM2mPath.parse(s);
/** CBOR text string of ASCII `s` (length below 256). */
const t = (s: string) =>
  (s.length < 24 ? (0x60 + s.length).toString(16) : `78${s.length.toString(16).padStart(2, '0')}`) +
  Buffer.from(s).toString('hex');

// cbor-x, as an independent reference: Maps keep the integer labels.
const refDecoder = new Decoder({ useRecords: false, mapsAsObjects: false });
const refEncoder = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  useTag259ForMaps: false,
  tagUint8Array: false,
} as Options);

const testObject = allTypesObject('1.1');
const testModel = { model: modelsOf([testObject]) };

// Core TS 1.1.1 §7.4.6 (page 86 of OMA-TS-LightweightM2M_Core-V1_1_1-20190617-A): the Read of
// /3/0 of the SenML JSON example (§7.4.5) in SenML CBOR, as the spec's hex dump.
const DEVICE_CBOR = `90
  a3 21 65 2f 33 2f 30 2f 00 61 30 03 74 4f 70 65 6e 20 4d 6f 62 69 6c 65 20 41 6c 6c 69 61 6e 63 65
  a2 00 61 31 03 76 4c 69 67 68 74 77 65 69 67 68 74 20 4d 32 4d 20 43 6c 69 65 6e 74
  a2 00 61 32 03 69 33 34 35 30 30 30 31 32 33
  a2 00 61 33 03 63 31 2e 30
  a2 00 63 36 2f 30 02 01
  a2 00 63 36 2f 31 02 05
  a2 00 63 37 2f 30 02 19 0e d8
  a2 00 63 37 2f 31 02 19 13 88
  a2 00 63 38 2f 30 02 18 7d
  a2 00 63 38 2f 31 02 19 03 84
  a2 00 61 39 02 18 64
  a2 00 62 31 30 02 0f
  a2 00 64 31 31 2f 30 02 00
  a2 00 62 31 33 02 1a 51 82 42 8f
  a2 00 62 31 34 03 66 2b 30 32 3a 30 30
  a2 00 62 31 36 03 61 55`;

describe('SenML CBOR: spec examples', () => {
  it('Read /3/0 (Core TS 1.1.1 §7.4.6 hex dump), both ways', () => {
    expect(toHex(encodeSenmlCbor(DEVICE_VALUES, opts))).toBe(toHex(hex(DEVICE_CBOR)));
    expect(decodeSenmlCbor(hex(DEVICE_CBOR), opts)).toEqual(DEVICE_VALUES);
    // cbor-x reads the same records.
    const ref = refDecoder.decode(hex(DEVICE_CBOR)) as Map<number, unknown>[];
    expect(ref[0]).toEqual(
      new Map<number, unknown>([
        [-2, '/3/0/'],
        [0, '0'],
        [3, 'Open Mobile Alliance'],
      ]),
    );
    expect(ref[13]).toEqual(
      new Map<number, unknown>([
        [0, '13'],
        [2, 1367491215],
      ]),
    );
  });

  it('Read of a single resource and of a multiple resource', () => {
    const single = `81 a2 21 ${t('/3/0/0')} 03 ${t('Open Mobile Alliance')}`;
    expect(toHex(encodeSenmlCbor([DEVICE_VALUES[0]!], opts))).toBe(toHex(hex(single)));
    expect(decodeSenmlCbor(hex(single), opts)).toEqual([DEVICE_VALUES[0]]);
    const multiple = `82 a3 21 ${t('/3/0/7/')} 00 ${t('0')} 02 19 0ed8 a2 00 ${t('1')} 02 19 1388`;
    expect(toHex(encodeSenmlCbor(DEVICE_VALUES.slice(6, 8), opts))).toBe(toHex(hex(multiple)));
    expect(decodeSenmlCbor(hex(multiple), opts)).toEqual(DEVICE_VALUES.slice(6, 8));
  });

  it('Read-Composite / Observe-Composite request paths: [{0: "/3/0/0"}, {0: "/1/0/1"}, {0: "/1"}]', () => {
    const paths = [p('/3/0/0'), p('/1/0/1'), p('/1')];
    const bytes = `83 a1 00 ${t('/3/0/0')} a1 00 ${t('/1/0/1')} a1 00 ${t('/1')}`;
    expect(toHex(encodeSenmlCborPaths(paths))).toBe(toHex(hex(bytes)));
    expect(decodeSenmlCborPaths(hex(bytes))).toEqual(paths);
    expect(
      decodeSenmlCborPaths(
        hex(`82 a2 21 ${t('/3/0/')} 00 ${t('0')} a2 21 ${t('/1/0/')} 00 ${t('1')}`),
      ),
    ).toEqual(paths.slice(0, 2));
    expect(() => decodeSenmlCborPaths(hex(`81 a2 00 ${t('/3/0/0')} 02 01`))).toThrow(
      /carries no value/,
    );
  });

  it('Read-Composite response and Write-Composite payload: full paths in n', () => {
    const values = [
      v('/3/0/0', 'string', 'Open Mobile Alliance'),
      v('/3/0/9', 'integer', 95),
      v('/1/0/1', 'integer', 86400),
      v('/1/0/6', 'boolean', false),
    ];
    const bytes =
      `84 a2 00 ${t('/3/0/0')} 03 ${t('Open Mobile Alliance')} a2 00 ${t('/3/0/9')} 02 18 5f ` +
      `a2 00 ${t('/1/0/1')} 02 1a 00015180 a2 00 ${t('/1/0/6')} 04 f4`;
    expect(toHex(encodeSenmlCbor(values, opts))).toBe(toHex(hex(bytes)));
    expect(decodeSenmlCbor(hex(bytes), opts)).toEqual(values);
  });

  it('notification with history: bt, then t relative to it', () => {
    const values = [
      v('/3303/0/5700', 'float', 22.4, 1320067459),
      v('/3303/0/5700', 'float', 22.5, 1320067434),
      v('/3303/0/5700', 'float', 24, 1320067414),
    ];
    const bytes =
      `83 a3 21 ${t('/3303/0/5700')} 22 1a 4eaea183 02 fb 4036666666666666 ` +
      'a2 02 f9 4da0 06 38 18 a2 02 f9 4e00 06 38 2c';
    expect(toHex(encodeSenmlCbor(values, opts))).toBe(toHex(hex(bytes)));
    expect(decodeSenmlCbor(hex(bytes), opts)).toEqual(values);
  });
});

describe('SenML CBOR: encoding', () => {
  it('every data type, with RFC 8428 §6 labels and the "vlo" text key', () => {
    const values = [
      v('/3442/0/110', 'string', 'é'),
      v('/3442/0/120', 'integer', -9223372036854775808n),
      v('/3442/0/125', 'unsigned', 18446744073709551615n),
      v('/3442/0/130', 'float', 0.1),
      v('/3442/0/140', 'boolean', true),
      v('/3442/0/150', 'opaque', Uint8Array.of(0xfb, 0xff)),
      v('/3442/0/160', 'time', new Date(-1000)),
      v('/3442/0/170', 'objlnk', { objectId: 66, instanceId: 1 }),
      v('/3442/0/180', 'corelnk', '</3>'),
    ];
    const bytes = hex(
      `89 a3 21 ${t('/3442/0/')} 00 ${t('110')} 03 62 c3a9 ` +
        `a2 00 ${t('120')} 02 3b 7fffffffffffffff ` +
        `a2 00 ${t('125')} 02 1b ffffffffffffffff ` +
        `a2 00 ${t('130')} 02 fb 3fb999999999999a ` +
        `a2 00 ${t('140')} 04 f5 ` +
        `a2 00 ${t('150')} 08 42 fbff ` +
        `a2 00 ${t('160')} 02 20 ` +
        `a2 00 ${t('170')} ${t('vlo')} ${t('66:1')} ` +
        `a2 00 ${t('180')} 03 ${t('</3>')}`,
    );
    const encoded = encodeSenmlCbor(values, testModel);
    expect(toHex(encoded)).toBe(toHex(bytes));
    expect(decodeSenmlCbor(bytes, testModel)).toEqual(values);
    // The reference decoder agrees on every item.
    const ref = refDecoder.decode(encoded) as Map<unknown, unknown>[];
    expect(ref.map((m) => [...m.values()].at(-1))).toEqual([
      'é',
      -9223372036854775808n,
      18446744073709551615n,
      0.1,
      true,
      Uint8Array.of(0xfb, 0xff),
      -1,
      '66:1',
      '</3>',
    ]);
  });

  it('writes floats in the shortest width that keeps them exact (RFC 8949 §4.2.2)', () => {
    const cases: [number, string][] = [
      [3, 'f94200'],
      [1.5, 'f93e00'],
      [-0, 'f98000'],
      [65504, 'f97bff'],
      [2 ** -24, 'f90001'],
      [100000, 'fa47c35000'],
      [3.4028234663852886e38, 'fa7f7fffff'],
      [0.1, 'fb3fb999999999999a'],
      [2 ** 60, 'fa5d800000'],
    ];
    for (const [f, want] of cases) {
      const bytes = encodeSenmlCbor([v('/3442/0/130', 'float', f)], testModel);
      expect(toHex(bytes.subarray(-want.length / 2))).toBe(want);
      const back = decodeSenmlCbor(bytes, testModel)[0]!.value;
      expect(Object.is(back.value, f)).toBe(true);
      // A float stays a float without a model: the major type says so.
      expect(decodeSenmlCbor(bytes)[0]!.value.type).toBe('float');
      expect(Object.is(refDecoder.decode(bytes)[0].get(2), f)).toBe(true);
    }
  });

  it('writes integers in their shortest form', () => {
    const cases: [bigint, string][] = [
      [0n, '00'],
      [23n, '17'],
      [24n, '1818'],
      [-24n, '37'],
      [-25n, '3818'],
      [65536n, '1a00010000'],
      [2n ** 32n, '1b0000000100000000'],
      [2n ** 53n + 1n, '1b0020000000000001'],
      [-(2n ** 63n), '3b7fffffffffffffff'],
    ];
    for (const [n, want] of cases) {
      const bytes = encodeSenmlCbor([v('/3442/0/120', 'integer', n)], testModel);
      expect(toHex(bytes.subarray(-want.length / 2))).toBe(want);
      expect(decodeSenmlCbor(bytes, testModel)[0]!.value).toEqual(typedValue('integer', n));
    }
  });

  it('returns independent byte arrays', () => {
    const a = encodeSenmlCbor(DEVICE_VALUES, opts);
    const copy = Uint8Array.from(a);
    const b = encodeSenmlCbor([DEVICE_VALUES[0]!], opts);
    expect(a).toEqual(copy);
    expect(b.length).toBeLessThan(a.length);
  });

  it('refuses values the model does not allow, non-finite floats, lone surrogates', () => {
    const bad: [TimedValue, RegExp][] = [
      [v('/3442/0/125', 'integer', -(2n ** 63n)), /integer value where the model says unsigned/],
      [v('/3442/0/120', 'string', '1'), /string value where the model says integer/],
      [v('/3442/0/130', 'float', Number.NaN), /not finite/],
      [v('/3442/0/110', 'string', 'a\ud800b'), /lone surrogate/],
      [v('/3442', 'string', 'x'), /resources and resource instances only/],
    ];
    for (const [value, why] of bad) {
      expect(encodeError(FORMAT, () => encodeSenmlCbor([value], testModel)).message).toMatch(why);
    }
  });
});

describe('SenML CBOR: decoding', () => {
  it('accepts any valid encoding: cbor-x output, long heads, indefinite lengths, bignums, decimal fractions', () => {
    const ref = refEncoder.encode([
      new Map<unknown, unknown>([
        [-2, '/3442/0/'],
        [0, '120'],
        [2, 2n ** 63n - 1n],
        [-3, 10],
      ]),
      new Map<unknown, unknown>([
        [0, '130'],
        [2, 0.25],
        [6, 1.5],
      ]),
    ]);
    expect(decodeSenmlCbor(ref, testModel)).toEqual([
      v('/3442/0/120', 'integer', 2n ** 63n - 1n, 10),
      v('/3442/0/130', 'float', 0.25, 11.5),
    ]);
    const cases: [string, TimedValue][] = [
      // Non-shortest heads: array/map counts, key -2 as 0x38 01, value 1 as 0x1b.
      [
        `98 01 b8 02 38 01 ${t('/3442/0/120')} 02 1b 0000000000000001`,
        v('/3442/0/120', 'integer', 1),
      ],
      // Indefinite-length array and map.
      [`9f bf 00 ${t('/3442/0/120')} 02 01 ff ff`, v('/3442/0/120', 'integer', 1)],
      // A label as a 9-byte negative integer.
      [`81 a2 3b 0000000000000001 ${t('/3442/0/120')} 02 01`, v('/3442/0/120', 'integer', 1)],
      // Tag 2 bignum for an Unsigned.
      [
        `81 a2 00 ${t('/3442/0/125')} 02 c2 48 ffffffffffffffff`,
        v('/3442/0/125', 'unsigned', 2n ** 64n - 1n),
      ],
      // Tag 3 negative bignum.
      [
        `81 a2 00 ${t('/3442/0/120')} 02 c3 48 7fffffffffffffff`,
        v('/3442/0/120', 'integer', -(2n ** 63n)),
      ],
      // Tag 4 decimal fraction 22.5 = 225e-1 (RFC 8428 §6 allows it).
      [`81 a2 00 ${t('/3442/0/130')} 02 c4 82 20 18 e1`, v('/3442/0/130', 'float', 22.5)],
      // Tag 4 with a positive exponent: an exact integer.
      [`81 a2 00 ${t('/3442/0/120')} 02 c4 82 02 03`, v('/3442/0/120', 'integer', 300)],
      // Time as tag 1 (epoch seconds) or tag 0 (RFC 3339 text): Core TS 1.1.1 §7.4.6 allows both.
      [
        `81 a2 00 ${t('/3442/0/160')} 02 c1 1a 5182428f`,
        v('/3442/0/160', 'time', new Date(1367491215000)),
      ],
      [
        `81 a2 00 ${t('/3442/0/160')} 02 c0 ${t('2013-05-02T12:40:15+02:00')}`,
        v('/3442/0/160', 'time', new Date(1367491215000)),
      ],
      // A float64 holding an integral value where the model says Integer.
      [`81 a2 00 ${t('/3442/0/120')} 02 fb 4059000000000000`, v('/3442/0/120', 'integer', 100)],
      // Unknown labels and text keys are ignored, whatever they hold.
      [
        `81 a4 00 ${t('/3442/0/120')} 02 01 18 63 82 a1 01 02 d8 20 ${t('x')} ${t('ext')} f6`,
        v('/3442/0/120', 'integer', 1),
      ],
      // Units, update time, sums: tolerated.
      [
        `81 a5 00 ${t('/3442/0/130')} 01 ${t('Cel')} 07 0a 05 01 02 f9 3c00`,
        v('/3442/0/130', 'float', 1),
      ],
    ];
    for (const [bytes, want] of cases) {
      expect(decodeSenmlCbor(hex(bytes), testModel), bytes).toEqual([want]);
    }
  });

  it('reports where and what is wrong', () => {
    const cases: [string, RegExp, number][] = [
      ['', /empty input/, 0],
      ['a0', /a SenML pack is a CBOR array, not a map/, 0],
      ['81 01', /record 0 is an integer, not a map/, 1],
      [`81 a1 00 ${t('/3/0/9')}`, /no value/, 1],
      [`81 a2 00 ${t('/3/0/9')} 02`, /truncated: "v" has no value/, 11],
      [`81 a2 00 ${t('/3/0/9')} 02 19 01`, /truncated item head/, 11],
      [`81 a2 00 ${t('/3/0/9')} 02 f6`, /SenML-ETCH/, 11],
      [`81 a2 00 ${t('/3/0/9')} 02 ${t('1')}`, /"v" must be a number, not a text string/, 11],
      [`81 a2 00 01 02 01`, /"n" must be a text string, not an integer/, 3],
      [`81 a3 00 ${t('/3/0/9')} 02 01 00 ${t('/3/0/9')}`, /"n" is given twice/, 12],
      [`81 a3 00 ${t('/3/0/9')} 02 01 ${t('x_')} 01`, /must-understand field "x_"/, 12],
      [
        `81 a3 00 ${t('/3/0/9')} 02 01 80 01`,
        /a key must be an integer label or a text name, not an array/,
        12,
      ],
      [`81 a2 00 ${t('/3/0/9')} 02 d8 20 01`, /"v" must be a number, not a tag/, 11],
      [`81 a2 00 ${t('/3/0/9')} 02 c2 01`, /bignum needs a byte string/, 11],
      [`81 a2 00 ${t('/3/0/9')} 02 c2 51 ${'00'.repeat(17)}`, /bignum of 17 bytes/, 11],
      [`81 a2 00 ${t('/3/0/9')} 02 1c`, /reserved additional information 28/, 11],
      [`81 a2 00 ${t('/3/0/9')} 02 c0 ${t('2013-05-02')}`, /not an RFC 3339 date\/time/, 11],
      [`81 a2 00 ${t('/3/0/9')} 02 c1 c1 01`, /date\/time tag holds a plain number/, 11],
      [`81 a2 00 7f 61 61 ff 02 01`, /indefinite-length strings/, 3],
      [`81 a2 00 62 c328 02 01`, /not valid UTF-8/, 3],
      [`81 a2 00 ${t('/3/0/9')} 02 01 00`, /unexpected data after the CBOR array \(1 bytes\)/, 12],
      [`82 a2 00 ${t('/3/0/9')} 02 01`, /truncated: expected a record/, 12],
      ['ff', /a SenML pack is a CBOR array/, 0],
    ];
    for (const [bytes, why, offset] of cases) {
      const e = decodeError(FORMAT, () => decodeSenmlCbor(hex(bytes)));
      expect(e.message, bytes).toMatch(why);
      expect(e.offset, bytes).toBe(offset);
    }
  });

  it('refuses values the model does not allow', () => {
    const cases: [string, RegExp][] = [
      [`81 a2 00 ${t('/3442/0/125')} 02 3b 7fffffffffffffff`, /out of range for unsigned/],
      [`81 a2 00 ${t('/3442/0/120')} 02 1b ffffffffffffffff`, /out of range for integer/],
      [`81 a2 00 ${t('/3442/0/120')} 03 ${t('12')}`, /string value where the model says integer/],
      [`81 a2 00 ${t('/3442/0/120')} 02 f9 3e00`, /not an integer/],
      [`81 a2 00 ${t('/3442/0/130')} 02 f9 7c00`, /not finite/],
      [`81 a2 00 ${t('/3442/0/150')} 03 ${t('AA')}`, /string value where the model says opaque/],
      [`81 a2 00 ${t('/3442/0/140')} 02 01`, /number value where the model says boolean/],
    ];
    for (const [bytes, why] of cases) {
      const e = decodeError(FORMAT, () => decodeSenmlCbor(hex(bytes), testModel));
      expect(e.message).toMatch(why);
      expect(e.message).toMatch(/record 0/);
      expect(e.offset).toBe(1);
    }
  });

  it('never allocates for a length the input cannot hold', () => {
    // A byte string claiming 16 MB in a 20-byte payload, an array claiming 2^32 - 1 items,
    // a map claiming 2^64 - 1 entries.
    const cases = [
      `81 a2 00 ${t('/3/0/0')} 08 5a 01000000 0102`,
      '9b 00000000ffffffff 00',
      `81 bb ffffffffffffffff 00`,
      `81 a2 00 ${t('/3/0/0')} 03 7b 7fffffffffffffff`,
    ];
    for (const bytes of cases) {
      const t0 = performance.now();
      expect(decodeError(FORMAT, () => decodeSenmlCbor(hex(bytes))).message).toMatch(
        /runs past the end|length beyond/,
      );
      expect(performance.now() - t0).toBeLessThan(50);
    }
  });

  it('bounds nesting in ignored fields and survives 100k nested arrays', () => {
    const nested = (depth: number) =>
      Uint8Array.from([
        0x81,
        0xa3,
        0x00,
        ...hex(t('/3/0/9')),
        0x02,
        0x01,
        0x18,
        0x63,
        ...new Array(depth).fill(0x81),
        0x00,
      ]);
    expect(decodeSenmlCbor(nested(3))).toEqual([v('/3/0/9', 'integer', 1)]);
    expect(decodeError(FORMAT, () => decodeSenmlCbor(nested(5))).message).toMatch(
      /nesting deeper than 4/,
    );
    expect(decodeError(FORMAT, () => decodeSenmlCbor(nested(100_000))).message).toMatch(
      /nesting deeper/,
    );
    const deepTop = new Uint8Array(100_000).fill(0x81);
    expect(decodeError(FORMAT, () => decodeSenmlCbor(deepTop)).message).toMatch(
      /record 0 is an array, not a map/,
    );
  });
});

describe('SenML CBOR: truncation', () => {
  it('every truncation of a valid pack is a DecodeError with an offset', () => {
    const bytes = hex(DEVICE_CBOR);
    for (let n = 0; n < bytes.length; n++) {
      const e = decodeError(FORMAT, () => decodeSenmlCbor(bytes.subarray(0, n), opts));
      expect(e.offset).toBeLessThanOrEqual(n);
    }
  });
});

describe('SenML CBOR: properties', () => {
  it('round-trips nodes of random models at every level (flattened)', () => {
    fc.assert(
      fc.property(arbModelAndNode(), ({ model, path, node }) => {
        const o = { model: modelsOf([model]) };
        const values = flattenNode(path, node);
        const back = decodeSenmlCbor(encodeSenmlCbor(values, o), o);
        expect(back).toEqual(values);
        expect(nodeFromValues(path, back)).toEqual(node);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips random timed value lists, and agrees with SenML JSON and cbor-x', () => {
    fc.assert(
      fc.property(
        fc.oneof(arbTimedValues(), arbTimedValues({ times: 'all' })),
        ({ model, values }) => {
          const o = { model: modelsOf([model]) };
          const bytes = encodeSenmlCbor(values, o);
          expect(decodeSenmlCbor(bytes, o)).toEqual(values);
          expect(decodeSenmlJson(encodeSenmlJson(values, o), o)).toEqual(values);
          // cbor-x reads the same number of records, each a map with integer labels.
          const ref = refDecoder.decode(bytes) as Map<unknown, unknown>[];
          expect(ref).toHaveLength(values.length);
          // And what cbor-x writes back (its own choices of widths) decodes to the same values.
          const again = refEncoder.encode(ref);
          expect(decodeSenmlCbor(again, o)).toEqual(values);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('round-trips without a model: the major type keeps integers and floats apart', () => {
    fc.assert(
      fc.property(
        arbTimedValues({ types: ['string', 'integer', 'float', 'boolean', 'opaque', 'objlnk'] }),
        ({ values }) => {
          fc.pre(values.every((v) => v.value.type !== 'integer' || v.value.value < 2n ** 63n));
          expect(decodeSenmlCbor(encodeSenmlCbor(values))).toEqual(values);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fuzz: only DecodeError on random and mutated CBOR (100k cases)', () => {
    const seeds = [
      hex(DEVICE_CBOR),
      encodeSenmlCbor(
        [
          v('/3442/0/120', 'integer', -9223372036854775808n, 1.5),
          v('/3442/0/150', 'opaque', Uint8Array.of(1, 2, 3)),
          v('/3442/0/170', 'objlnk', { objectId: 1, instanceId: 2 }),
          v('/3442/0/130', 'float', 1e-7, 7),
          v('/3442/0/1110/3', 'string', 'é', 8),
        ],
        testModel,
      ),
      hex(`9f bf 00 ${t('/3442/0/130')} 02 c4 82 20 18 e1 18 63 82 a1 01 02 d8 20 ${t('x')} ff ff`),
      encodeSenmlCborPaths([p('/3/0/0'), p('/1/0')]),
    ];
    const both = { model: modelsOf([testObject, registry.get(3)!]) };
    fuzzDecoder(FORMAT, (b) => decodeSenmlCbor(b, both), seeds, { runs: 70_000 });
    fuzzDecoder(FORMAT, (b) => decodeSenmlCborPaths(b), seeds, { runs: 30_000, seed: 7 });
  }, 120_000);
});
