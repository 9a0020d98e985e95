import {
  DATA_TYPES,
  type DataType,
  DecodeError,
  EncodeError,
  LwM2mPath,
  type ResourceModel,
  type TypedValue,
  typedValue,
} from '@lwm2m-ts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor } from './cbor.js';
import { resourceModelAt } from './content.js';
import { arbModelAndNode, arbValue, fuzzDecoder } from './test-arbitraries.js';
import { decodeError, hex, res } from './test-fixtures.js';

const FORMAT = 'CBOR';

const model = (type: ResourceModel['type']): ResourceModel => res(1, type);

// RFC 8949 Appendix A examples that are single LwM2M values, in the preferred (shortest)
// serialization this encoder writes, plus the LwM2M mappings of Core TS 1.2 Table C.2.
const VECTORS: [string, TypedValue][] = [
  ['00', typedValue('integer', 0)],
  ['01', typedValue('integer', 1)],
  ['0a', typedValue('integer', 10)],
  ['17', typedValue('integer', 23)],
  ['1818', typedValue('integer', 24)],
  ['1819', typedValue('integer', 25)],
  ['1864', typedValue('integer', 100)],
  ['1903e8', typedValue('integer', 1000)],
  ['1a000f4240', typedValue('integer', 1000000)],
  ['1b000000e8d4a51000', typedValue('integer', 1000000000000n)],
  ['1b7fffffffffffffff', typedValue('integer', 2n ** 63n - 1n)],
  ['3b7fffffffffffffff', typedValue('integer', -(2n ** 63n))],
  ['1bffffffffffffffff', typedValue('unsigned', 18446744073709551615n)],
  ['20', typedValue('integer', -1)],
  ['29', typedValue('integer', -10)],
  ['3863', typedValue('integer', -100)],
  ['3903e7', typedValue('integer', -1000)],
  ['f90000', typedValue('float', 0)],
  ['f98000', typedValue('float', -0)],
  ['f93c00', typedValue('float', 1)],
  ['fb3ff199999999999a', typedValue('float', 1.1)],
  ['f93e00', typedValue('float', 1.5)],
  ['f97bff', typedValue('float', 65504)],
  ['fa47c35000', typedValue('float', 100000)],
  ['fa7f7fffff', typedValue('float', 3.4028234663852886e38)],
  ['fb7e37e43c8800759c', typedValue('float', 1e300)],
  ['f90001', typedValue('float', 2 ** -24)], // 5.960464477539063e-8
  ['f90400', typedValue('float', 0.00006103515625)],
  ['f9c400', typedValue('float', -4)],
  ['fbc010666666666666', typedValue('float', -4.1)],
  ['f4', typedValue('boolean', false)],
  ['f5', typedValue('boolean', true)],
  ['40', typedValue('opaque', new Uint8Array())],
  ['4401020304', typedValue('opaque', Uint8Array.of(1, 2, 3, 4))],
  ['60', typedValue('string', '')],
  ['6161', typedValue('string', 'a')],
  ['6449455446', typedValue('string', 'IETF')],
  ['62225c', typedValue('string', '"\\')],
  ['62c3bc', typedValue('string', '\u00fc')],
  ['63e6b0b4', typedValue('string', '\u6c34')],
  ['64f0908591', typedValue('string', '\u{10151}')],
  // Time as tag 1 (epoch seconds): RFC 8949 example 1(1363896240) ...
  ['c11a514b67b0', typedValue('time', new Date(1363896240_000))],
  // ... the Device object's Current Time in the TLV example of Core TS 1.2 §7.4.5 (0x5182428F) ...
  ['c11a5182428f', typedValue('time', new Date(0x5182428f * 1000))],
  // ... and Appendix C's 1476186613 s (Tuesday, 11-Oct-16 11:50:13 UTC); before 1970, negative.
  ['c11a57fcd1f5', typedValue('time', new Date(Date.UTC(2016, 9, 11, 11, 50, 13)))],
  ['c120', typedValue('time', new Date(-1000))],
  // Objlnk as the text "obj:inst"; the null link 65535:65535.
  ['63333a30', typedValue('objlnk', { objectId: 3, instanceId: 0 })],
  ['6b36353533353a3635353335', typedValue('objlnk', { objectId: 65535, instanceId: 65535 })],
  ['663c2f333f303e', typedValue('corelnk', '</3?0>')],
];

describe('CBOR vectors (RFC 8949 Appendix A, Core TS 1.2 §7.4.3 / Table C.2)', () => {
  it.each(VECTORS)('%s encodes', (bytes, value) => {
    expect(encodeCbor(value)).toEqual(hex(bytes));
  });

  it.each(VECTORS)('%s decodes under its model', (bytes, value) => {
    expect(decodeCbor(hex(bytes), model(value.type))).toEqual(value);
  });

  it.each<[string, TypedValue]>([
    // Non-preferred serializations are still valid CBOR.
    ['1800', typedValue('integer', 0)],
    ['1b0000000000000001', typedValue('integer', 1)],
    ['fa3fc00000', typedValue('float', 1.5)],
    ['fb3ff8000000000000', typedValue('float', 1.5)],
    // Indefinite-length strings (RFC 8949 §3.2.3).
    ['5f42010243030405ff', typedValue('opaque', Uint8Array.of(1, 2, 3, 4, 5))],
    ['7f657374726561646d696e67ff', typedValue('string', 'streaming')],
    ['5fff', typedValue('opaque', new Uint8Array())],
    // Time: a plain integer, and tag 0 with an RFC 3339 string: 0("2013-03-21T20:04:00Z").
    ['1a514b67b0', typedValue('time', new Date(1363896240_000))],
    ['c074323031332d30332d32315432303a30343a30305a', typedValue('time', new Date(1363896240_000))],
    // The same instant with an offset: "2013-03-21T22:04:00+02:00".
    [
      'c07819323031332d30332d32315432323a30343a30302b30323a3030',
      typedValue('time', new Date(1363896240_000)),
    ],
    // Self-described CBOR prefix (tag 55799) before the value.
    ['d9d9f71864', typedValue('integer', 100)],
    // A Float resource accepts an integer item, an Integer resource an integral float.
    ['1864', typedValue('float', 100)],
    ['f94000', typedValue('integer', 2)],
  ])('%s also decodes (%o)', (bytes, value) => {
    expect(decodeCbor(hex(bytes), model(value.type))).toEqual(value);
  });

  it.each<[string, TypedValue]>([
    ['00', typedValue('integer', 0)],
    ['3b7fffffffffffffff', typedValue('integer', -(2n ** 63n))],
    ['1bffffffffffffffff', typedValue('unsigned', 2n ** 64n - 1n)],
    ['f93c00', typedValue('float', 1)],
    ['f5', typedValue('boolean', true)],
    ['6161', typedValue('string', 'a')],
    ['4101', typedValue('opaque', Uint8Array.of(1))],
    ['c11a514b67b0', typedValue('time', new Date(1363896240_000))],
    ['c074323031332d30332d32315432303a30343a30305a', typedValue('time', new Date(1363896240_000))],
  ])('%s decodes without a model as %o', (bytes, value) => {
    expect(decodeCbor(hex(bytes))).toEqual(value);
    expect(decodeCbor(hex(bytes), model('none'))).toEqual(value);
  });

  it('encodes every half-precision value in 3 bytes, exactly', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00) continue; // infinities and NaNs
      const bytes = Uint8Array.of(0xf9, bits >> 8, bits & 0xff);
      const v = decodeCbor(bytes, model('float'));
      expect(encodeCbor(v)).toEqual(bytes);
    }
  });
});

describe('CBOR refusals', () => {
  it.each<[string, DataType | undefined, number, RegExp]>([
    ['', undefined, 0, /empty payload/],
    ['0000', undefined, 1, /1 bytes after the value/],
    ['80', undefined, 0, /an array/],
    ['83010203', undefined, 0, /an array/],
    ['9fff', undefined, 0, /an array/],
    ['a0', undefined, 0, /a map/],
    ['a10102', 'integer', 0, /a map/],
    ['c249010000000000000000', undefined, 0, /tag 2 is not a value/],
    ['c1c11a514b67b0', 'time', 1, /a tag inside a tag/],
    ['df00', undefined, 0, /tag cannot have additional information 31/],
    ['d9d9f7d9d9f700', undefined, 3, /tag 55799 is not a value/],
    ['c16161', 'time', 0, /tag 1 holds a text item/],
    ['c000', 'time', 0, /tag 0 holds a int item/],
    ['c06a323031332d30332d3332', 'time', 0, /not an RFC 3339 date\/time/],
    ['c074323031332d30322d33305432303a30343a30305a', 'time', 0, /not a valid date\/time/],
    ['c1fb41d452d9ec200000', 'time', 0, /not an integer \(time\)/],
    ['c11b7fffffffffffffff', 'time', 0, /out of range for a Time/],
    ['c11a514b67b0', 'integer', 0, /tag 1 time where the model says integer/],
    ['1903e800', undefined, 3, /1 bytes after/],
    ['1903', undefined, 0, /truncated: the head needs 2 more bytes/],
    ['1b00', undefined, 0, /truncated/],
    ['1c', undefined, 0, /reserved additional information 28/],
    ['1f', undefined, 0, /integer cannot have an indefinite length/],
    ['ff', undefined, 0, /break byte outside/],
    ['f6', undefined, 0, /null is not a value/],
    ['f7', undefined, 0, /undefined is not a value/],
    ['f0', undefined, 0, /simple value 16/],
    ['f8ff', undefined, 0, /simple value 255/],
    ['f8', undefined, 0, /truncated/],
    ['fc', undefined, 0, /reserved additional information 28/],
    ['fa3fc0', 'float', 0, /truncated: a 32-bit float needs 4 bytes/],
    ['62c328', 'string', 1, /not valid UTF-8/],
    ['7f4161ff', 'string', 1, /chunk of major type 2 inside a string of major type 3/],
    ['5f6161ff', 'opaque', 1, /chunk of major type 3 inside a string of major type 2/],
    ['5f5fffff', 'opaque', 1, /indefinite-length chunk/],
    ['5f41', 'opaque', 1, /string length 1 runs past the end \(0 bytes left\)/],
    ['5f', 'opaque', 1, /truncated: a chunk or the break byte expected/],
    ['7f62c328ff', 'string', 2, /not valid UTF-8/],
    ['5a00ffffff000000', 'opaque', 0, /string length 16777215 runs past the end \(3 bytes left\)/],
    ['5bffffffffffffffff00', 'opaque', 0, /string length 18446744073709551615 runs past/],
  ])('%s (model %s) is refused at offset %d', (bytes, type, offset, why) => {
    const e = decodeError(FORMAT, () =>
      decodeCbor(hex(bytes), type === undefined ? undefined : model(type)),
    );
    expect(e.message).toMatch(why);
    expect(e.offset).toBe(offset);
  });

  it.each<[string, DataType, RegExp]>([
    ['6133', 'integer', /a text item where the model says integer/],
    ['20', 'unsigned', /-1 is out of range for unsigned/],
    // An 8-byte negative integer into an Unsigned resource.
    ['3b7fffffffffffffff', 'unsigned', /out of range for unsigned/],
    ['1bffffffffffffffff', 'integer', /out of range for integer/],
    ['3bffffffffffffffff', 'integer', /out of range for integer/],
    ['f97e00', 'float', /not finite/],
    ['f97c00', 'float', /not finite/],
    ['fbfff0000000000000', 'float', /not finite/],
    ['fa7fc00000', 'float', /not finite/],
    ['f93e00', 'integer', /not an integer \(integer\)/],
    ['fb4340000000000000', 'integer', /beyond 2\^53/],
    ['01', 'boolean', /a int item where the model says boolean/],
    ['f5', 'integer', /a bool item where the model says integer/],
    ['6133', 'objlnk', /"3" is not an Objlnk/],
    ['6a37303030303a30303030', 'objlnk', /not an Objlnk/],
    ['4133', 'string', /a bytes item where the model says string/],
    ['6133', 'opaque', /a text item where the model says opaque/],
    ['6133', 'time', /a text item where the model says time/],
  ])('%s where the model says %s is refused', (bytes, type, why) => {
    const e = decodeError(FORMAT, () => decodeCbor(hex(bytes), model(type), LwM2mPath.of(3, 0, 1)));
    expect(e.message).toMatch(why);
    expect(e.message).toContain('/3/0/1');
    expect(e.offset).toBe(0);
  });

  it('refuses a NaN without a model too', () => {
    expect(decodeError(FORMAT, () => decodeCbor(hex('f97e00'))).message).toMatch(/not finite/);
  });

  it('refuses non-finite floats and invalid values when encoding', () => {
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => encodeCbor(typedValue('float', v))).toThrow(EncodeError);
    }
    expect(() => encodeCbor({ type: 'unsigned', value: -1n } as TypedValue)).toThrow(EncodeError);
    expect(() => encodeCbor({ type: 'integer', value: 2n ** 63n } as TypedValue)).toThrow(
      EncodeError,
    );
  });
});

describe('CBOR round trip and fuzz', () => {
  it('decode(encode(v)) is v for every data type under its model', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...DATA_TYPES).chain((t) => arbValue(t)),
        (v) => {
          expect(decodeCbor(encodeCbor(v), model(v.type))).toEqual(v);
        },
      ),
      { numRuns: 10_000 },
    );
  });

  it('round trip of single resources and resource instances of random models', () => {
    fc.assert(
      fc.property(
        arbModelAndNode().filter(
          ({ node }) => node.kind === 'singleResource' || node.kind === 'resourceInstance',
        ),
        ({ model: om, path, node }) => {
          const leaf = node as TypedValue;
          const value = { type: leaf.type, value: leaf.value } as TypedValue;
          const resource = resourceModelAt({ get: () => om }, path);
          expect(decodeCbor(encodeCbor(value), resource, path)).toEqual(value);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('without a model, the CBOR kind gives the type back', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom<DataType>('integer', 'float', 'boolean', 'opaque', 'string', 'time')
          .chain((t) => arbValue(t)),
        (v) => {
          expect(decodeCbor(encodeCbor(v))).toEqual(v);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('floats take the shortest exact width', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (v) => {
        const bytes = encodeCbor(typedValue('float', v));
        const expected = Math.fround(v) === v ? [3, 5] : [9];
        expect(expected).toContain(bytes.length);
        expect(decodeCbor(bytes, model('float')).value).toBe(v);
      }),
      { numRuns: 10_000 },
    );
  });

  it('fuzz: only DecodeError, with every model type and without', () => {
    const types = [...DATA_TYPES, 'none' as const].map(model);
    const seeds = VECTORS.map(([bytes]) => hex(bytes)).concat(
      hex('5f42010243030405ff'),
      hex('7f657374726561646d696e67ff'),
      hex('c074323031332d30332d32315432303a30343a30305a'),
    );
    fuzzDecoder(
      FORMAT,
      (bytes) => {
        for (const resource of [
          undefined,
          types[(bytes.length + (bytes[0] ?? 0)) % types.length],
        ]) {
          try {
            decodeCbor(bytes, resource);
          } catch (e) {
            if (!(e instanceof DecodeError) || e.format !== FORMAT) throw e;
          }
        }
      },
      seeds,
      { runs: 100_000 },
    );
  }, 120_000);
});
