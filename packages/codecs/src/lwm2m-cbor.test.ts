import {
  DATA_TYPES,
  flattenNode,
  LwM2mPath,
  nodeFromValues,
  type TypedValue,
  timeToSeconds,
  typedValue,
} from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { modelsOf, type TimedValue } from './content.js';
import { decodeLwm2mCbor, encodeLwm2mCbor } from './lwm2m-cbor.js';
import { arbModelAndNode, fuzzDecoder } from './test-arbitraries.js';
import { DEVICE_VALUES, decodeError, encodeError, obj, res, v } from './test-fixtures.js';

const FORMAT = 'LwM2M CBOR';
const registry = ObjectRegistry.withBuiltins();

/** Bytes from hex written with spaces and `#` comments, as CBOR diagnostic dumps show them. */
function h(text: string): Uint8Array {
  const hex = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('hex');

// Core TS 1.2 §7.4.4.4 serializes the LwM2M Server object; the map of its first instance,
// {0: 101, 1: 86400, 2: 300, 3: 6000, 5: 86400, 6: true, 7: "U"}, is quoted byte for byte in
// OMA_LwM2M_for_Developers issue #545. The key [1, 0] around it is built by hand.
const SERVER_INSTANCE = `
  a7             # map(7)
    00 18 65     # 0: 101 (Short Server ID)
    01 1a 00015180 # 1: 86400 (Lifetime)
    02 19 012c   # 2: 300 (Default Minimum Period)
    03 19 1770   # 3: 6000 (Default Maximum Period)
    05 1a 00015180 # 5: 86400 (Disable Timeout)
    06 f5        # 6: true (Notification Storing)
    07 61 55     # 7: "U" (Binding)
`;
const serverValues = [
  v('/1/0/0', 'integer', 101),
  v('/1/0/1', 'integer', 86400),
  v('/1/0/2', 'integer', 300),
  v('/1/0/3', 'integer', 6000),
  v('/1/0/5', 'integer', 86400),
  v('/1/0/6', 'boolean', true),
  v('/1/0/7', 'string', 'U'),
];

// The Device object instance of the Core TS data-format examples (Read /3/0: DEVICE_VALUES, the
// same values as the TLV, LwM2M JSON and SenML examples of §7.4), bytes built by hand from the
// diagnostic notation {[3, 0]: {0: "Open Mobile Alliance", …, 11: {0: 0}, 13: 1367491215, …}}.
const deviceResources = (errorCode: string) => `
  ad                                  # map(13)
    00 74 ${utf8('Open Mobile Alliance')}
    01 76 ${utf8('Lightweight M2M Client')}
    02 69 ${utf8('345000123')}
    03 63 ${utf8('1.0')}
    06 a2 00 01 01 05                 # 6: {0: 1, 1: 5}
    07 a2 00 19 0ed8 01 19 1388       # 7: {0: 3800, 1: 5000}
    08 a2 00 18 7d 01 19 0384         # 8: {0: 125, 1: 900}
    09 18 64                          # 9: 100
    0a 0f                             # 10: 15
    ${errorCode}
    0d 1a 5182428f                    # 13: 1367491215 (Time, seconds)
    0e 66 ${utf8('+02:00')}
    10 61 55                          # 16: "U"
`;
// What the encoder writes: the single instance of resource 11 folds into the key [11, 0].
const DEVICE = `a1 82 03 00 ${deviceResources('82 0b 00 00  # [11, 0]: 0')}`;
// The same content with every level a nested map keyed by a plain id.
const DEVICE_NESTED = `a1 03 a1 00 ${deviceResources('0b a1 00 00  # 11: {0: 0}')}`;

describe('LwM2M CBOR: spec examples', () => {
  it('Read /1/0: the Server instance of §7.4.4.4, both ways', () => {
    const bytes = h(`a1 82 01 00 ${SERVER_INSTANCE}`);
    expect(encodeLwm2mCbor(serverValues, { model: registry })).toEqual(bytes);
    expect(decodeLwm2mCbor(bytes, { model: registry })).toEqual(serverValues);
    expect(decodeLwm2mCbor(bytes)).toEqual(serverValues);
  });

  it('Read /1: an object with two instances (a level with several children keeps plain ids)', () => {
    const second = serverValues.map((x) =>
      x.path.resourceId === 0
        ? v('/1/1/0', 'integer', 102)
        : { path: LwM2mPath.of(1, 1, x.path.resourceId!), value: x.value },
    );
    const bytes = h(
      `a1 01 a2 00 ${SERVER_INSTANCE} 01 ${SERVER_INSTANCE.replace('18 65', '18 66')}`,
    );
    const values = [...serverValues, ...second];
    expect(encodeLwm2mCbor(values, { model: registry })).toEqual(bytes);
    expect(decodeLwm2mCbor(bytes, { model: registry })).toEqual(values);
  });

  it('Read /3/0: the Device instance, both ways, compressed and nested keys alike', () => {
    expect(encodeLwm2mCbor(DEVICE_VALUES, { model: registry })).toEqual(h(DEVICE));
    expect(decodeLwm2mCbor(h(DEVICE), { model: registry })).toEqual(DEVICE_VALUES);
    expect(decodeLwm2mCbor(h(DEVICE_NESTED), { model: registry })).toEqual(DEVICE_VALUES);
  });

  it('Read /3/0 as a node: flattenNode → encode → decode → nodeFromValues', () => {
    const path = LwM2mPath.of(3, 0);
    const node = nodeFromValues(path, DEVICE_VALUES);
    const decoded = decodeLwm2mCbor(encodeLwm2mCbor(flattenNode(path, node), { model: registry }), {
      model: registry,
    });
    expect(nodeFromValues(path, decoded)).toEqual(node);
  });
});

describe('LwM2M CBOR: every level', () => {
  const cases: [string, TimedValue[], string][] = [
    [
      'single resource /3/0/0',
      [v('/3/0/0', 'string', 'Open Mobile Alliance')],
      `a1 83 03 00 00 74 ${utf8('Open Mobile Alliance')}`,
    ],
    ['resource instance /3/0/7/1', [v('/3/0/7/1', 'integer', 5000)], 'a1 84 03 00 07 01 19 1388'],
    [
      'multiple resource /3/0/6',
      [v('/3/0/6/0', 'integer', 1), v('/3/0/6/1', 'integer', 5)],
      'a1 83 03 00 06 a2 00 01 01 05',
    ],
    [
      'instance /3/0 with two resources',
      [v('/3/0/9', 'integer', 100), v('/3/0/10', 'integer', 15)],
      'a1 82 03 00 a2 09 18 64 0a 0f',
    ],
    [
      'object /3 with two instances of one resource each (folded to [0, 9] and [1, 9])',
      [v('/3/0/9', 'integer', 100), v('/3/1/9', 'integer', 50)],
      'a1 03 a2 82 00 09 18 64 82 01 09 18 32',
    ],
    [
      'object /3 with two instances of two resources each',
      [
        v('/3/0/9', 'integer', 100),
        v('/3/0/10', 'integer', 15),
        v('/3/1/9', 'integer', 50),
        v('/3/1/10', 'integer', 7),
      ],
      'a1 03 a2 00 a2 09 18 64 0a 0f 01 a2 09 18 32 0a 07',
    ],
    [
      'composite: /1/0/1, /3/0/9, /3/0/10, /5/0/3',
      [
        v('/1/0/1', 'integer', 86400),
        v('/3/0/9', 'integer', 100),
        v('/3/0/10', 'integer', 15),
        v('/5/0/3', 'integer', 1),
      ],
      `a3 83 01 00 01 1a 00015180   # [1, 0, 1]: 86400
          82 03 00 a2 09 18 64 0a 0f # [3, 0]: {9: 100, 10: 15}
          83 05 00 03 01             # [5, 0, 3]: 1`,
    ],
    ['no values: an empty map', [], 'a0'],
  ];
  for (const [name, values, hex] of cases) {
    it(name, () => {
      expect(encodeLwm2mCbor(values, { model: registry })).toEqual(h(hex));
      expect(decodeLwm2mCbor(h(hex), { model: registry })).toEqual(values);
    });
  }

  it('sorts keys numerically whatever order the values come in', () => {
    const values = [
      v('/3/0/10', 'integer', 15),
      v('/1/0/1', 'integer', 1),
      v('/3/0/9', 'integer', 1),
    ];
    expect(encodeLwm2mCbor(values)).toEqual(h('a2 83 01 00 01 01 82 03 00 a2 09 01 0a 0f'));
  });

  it('writes and reads ids up to 65535 in their shortest form', () => {
    const values = [v('/65535/256/24/23', 'boolean', false)];
    const bytes = h('a1 84 19 ffff 19 0100 18 18 17 f4');
    expect(encodeLwm2mCbor(values)).toEqual(bytes);
    expect(decodeLwm2mCbor(bytes)).toEqual(values);
  });

  it('encodes and decodes relative to a base path (Write/Create payloads, §7.4.4)', () => {
    const base = LwM2mPath.of(3, 0);
    const values = [v('/3/0/9', 'integer', 100), v('/3/0/10', 'integer', 15)];
    expect(encodeLwm2mCbor(values, { base })).toEqual(h('a2 09 18 64 0a 0f'));
    expect(decodeLwm2mCbor(h('a2 09 18 64 0a 0f'), { base })).toEqual(values);
    expect(decodeLwm2mCbor(h('a1 82 07 01 19 1388'), { base })).toEqual([
      v('/3/0/7/1', 'integer', 5000),
    ]);
    encodeError(FORMAT, () => encodeLwm2mCbor([v('/4/0/1', 'integer', 1)], { base }));
    encodeError(FORMAT, () =>
      encodeLwm2mCbor([v('/3/0/1', 'integer', 1)], { base: LwM2mPath.of(3, 0, 1) }),
    );
    decodeError(FORMAT, () => decodeLwm2mCbor(h('a1 83 07 01 02 01'), { base })); // 5 ids in all
  });
});

describe('LwM2M CBOR: data types', () => {
  const types = obj(
    9000,
    DATA_TYPES.map((type, id) => ({ ...res(id, type), name: type })),
    { name: 'Types', lwm2mVersion: '1.2' },
  );
  const model = modelsOf([types]);
  const at = (rid: number) => `/9000/0/${rid}`;
  // [resource, type, value, CBOR of the value]
  const vectors: [number, TypedValue['type'], unknown, string][] = [
    [0, 'string', 'héllo', `66 ${utf8('héllo')}`],
    [0, 'string', '', '60'],
    [1, 'integer', 0n, '00'],
    [1, 'integer', 23n, '17'],
    [1, 'integer', 24n, '18 18'],
    [1, 'integer', -1n, '20'],
    [1, 'integer', -25n, '38 18'],
    [1, 'integer', 2n ** 32n, '1b 0000000100000000'],
    [1, 'integer', 2n ** 63n - 1n, '1b 7fffffffffffffff'],
    [1, 'integer', -(2n ** 63n), '3b 7fffffffffffffff'],
    [2, 'unsigned', 2n ** 64n - 1n, '1b ffffffffffffffff'],
    [2, 'unsigned', 2n ** 53n + 1n, '1b 0020000000000001'],
    [3, 'float', 1.5, 'f9 3e00'],
    [3, 'float', 1, 'f9 3c00'],
    [3, 'float', 65504, 'f9 7bff'],
    [3, 'float', 2 ** -24, 'f9 0001'], // the smallest half subnormal
    [3, 'float', -(2 ** -14), 'f9 8400'], // the smallest negative half normal
    [3, 'float', 2 ** -25, 'fa 33000000'],
    [3, 'float', 2049, 'fa 45001000'],
    [3, 'float', 100000, 'fa 47c35000'],
    [3, 'float', 0.1, 'fb 3fb999999999999a'],
    [3, 'float', -1e300, 'fb fe37e43c8800759c'],
    [4, 'boolean', true, 'f5'],
    [4, 'boolean', false, 'f4'],
    [5, 'opaque', new Uint8Array([0, 1, 0xff]), '43 0001ff'],
    [5, 'opaque', new Uint8Array(0), '40'],
    [6, 'time', new Date(1_367_491_215_000), '1a 5182428f'],
    [6, 'time', new Date(-1000), '20'],
    [7, 'objlnk', { objectId: 66, instanceId: 0 }, `64 ${utf8('66:0')}`],
    [7, 'objlnk', { objectId: 65535, instanceId: 65535 }, `6b ${utf8('65535:65535')}`],
    [8, 'corelnk', '</3/0>', `66 ${utf8('</3/0>')}`],
  ];
  for (const [rid, type, value, hex] of vectors) {
    it(`${type} ${String(typeof value === 'bigint' ? `${value}n` : JSON.stringify(value))}`, () => {
      const values = [v(at(rid), type, value)];
      const bytes = h(`a1 83 19 2328 00 ${rid.toString(16).padStart(2, '0')} ${hex}`);
      expect(encodeLwm2mCbor(values, { model })).toEqual(bytes);
      expect(decodeLwm2mCbor(bytes, { model })).toEqual(values);
    });
  }

  it('writes every finite double in the shortest width that holds it exactly', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const bytes = encodeLwm2mCbor([v('/1/0/0', 'float', x)]);
        const width = bytes.length - 6; // a1 83 01 00 00, then the float's initial byte
        expect(width).toBe(halfExact(x) ? 2 : Math.fround(x) === x ? 4 : 8);
        const [decoded] = decodeLwm2mCbor(bytes);
        expect(Object.is(decoded!.value.value, x)).toBe(true);
      }),
      { numRuns: 20_000, seed: 0x754 },
    );
  });

  it('types by CBOR major type without a model', () => {
    const decode = (hex: string) => decodeLwm2mCbor(h(`a1 83 01 00 00 ${hex}`))[0]!.value;
    expect(decode('18 2a')).toEqual(typedValue('integer', 42n));
    expect(decode('3b 7fffffffffffffff')).toEqual(typedValue('integer', -(2n ** 63n)));
    expect(decode('1b ffffffffffffffff')).toEqual(typedValue('unsigned', 2n ** 64n - 1n));
    expect(decode('f9 3c00')).toEqual(typedValue('float', 1));
    expect(decode('fa 3fc00000')).toEqual(typedValue('float', 1.5));
    expect(decode('63 616263')).toEqual(typedValue('string', 'abc'));
    expect(decode('42 0102')).toEqual(typedValue('opaque', new Uint8Array([1, 2])));
    expect(decode('f5')).toEqual(typedValue('boolean', true));
    expect(decode('c1 1a 5182428f')).toEqual(typedValue('time', new Date(1_367_491_215_000)));
    expect(decode('c1 f9 3c00')).toEqual(typedValue('time', new Date(1000)));
    expect(decode(`64 ${utf8('66:0')}`)).toEqual(typedValue('string', '66:0'));
  });

  it('reads tag 1 (epoch time), any float width and non-shortest integers with a model', () => {
    const decode = (rid: number, hex: string) =>
      decodeLwm2mCbor(h(`a1 83 19 2328 00 ${rid.toString(16).padStart(2, '0')} ${hex}`), {
        model,
      })[0]!.value;
    expect(decode(6, 'c1 1a 5182428f')).toEqual(typedValue('time', new Date(1_367_491_215_000)));
    expect(decode(6, 'c1 fb 41d46090a3c00000')).toEqual(
      typedValue('time', new Date(1_367_491_215_000)),
    );
    expect(decode(3, 'fb 3ff8000000000000')).toEqual(typedValue('float', 1.5));
    expect(decode(3, '18 2a')).toEqual(typedValue('float', 42));
    expect(decode(1, '1b 0000000000000005')).toEqual(typedValue('integer', 5n));
    expect(decode(2, '19 0005')).toEqual(typedValue('unsigned', 5n));
  });

  it('refuses values that do not fit the model when decoding', () => {
    const decode = (rid: number, hex: string) =>
      decodeError(FORMAT, () =>
        decodeLwm2mCbor(h(`a1 83 19 2328 00 ${rid.toString(16).padStart(2, '0')} ${hex}`), {
          model,
        }),
      );
    expect(decode(1, '63 616263').message).toMatch(/string value where the model says integer/);
    expect(decode(2, '3b 7fffffffffffffff').message).toMatch(/out of range for unsigned/);
    expect(decode(2, '20').message).toMatch(/out of range for unsigned/);
    expect(decode(1, '1b 8000000000000000').message).toMatch(/out of range for integer/);
    expect(decode(1, 'f9 3e00').message).toMatch(/not an integer/);
    expect(decode(3, 'f9 7e00').message).toMatch(/not finite/);
    expect(decode(3, 'fb 7ff0000000000000').message).toMatch(/not finite/);
    expect(decode(0, '42 0102').message).toMatch(/bytes value where the model says string/);
    expect(decode(5, '62 0102').message).toMatch(/string value where the model says opaque/);
    expect(decode(4, '01').message).toMatch(/number value where the model says boolean/);
    expect(decode(7, `63 ${utf8('3-0')}`).message).toMatch(/not an Objlnk/);
    expect(decode(7, `67 ${utf8('70000:0')}`).message).toMatch(/not an Objlnk/);
    expect(decode(7, '01').message).toMatch(/number value where the model says objlnk/);
    expect(decode(6, 'c1 f9 3e00').message).toMatch(/not an integer/);
    expect(decode(6, '1b 7fffffffffffffff').message).toMatch(/beyond 2\^53|out of range/);
    const e = decode(1, '63 616263');
    expect(e.offset).toBe(7);
    expect(e.message).toMatch(/^LwM2M CBOR: at offset 7: \/9000\/0\/1:/);
  });

  it('refuses a single resource with instances and a multiple one without (model)', () => {
    const single = decodeError(FORMAT, () =>
      decodeLwm2mCbor(h('a1 84 03 00 09 00 18 64'), { model: registry }),
    );
    expect(single.message).toMatch(/single/);
    const multiple = decodeError(FORMAT, () =>
      decodeLwm2mCbor(h('a1 83 03 00 06 01'), { model: registry }),
    );
    expect(multiple.message).toMatch(/multiple/);
    encodeError(FORMAT, () => encodeLwm2mCbor([v('/3/0/9/0', 'integer', 1)], { model: registry }));
    encodeError(FORMAT, () => encodeLwm2mCbor([v('/3/0/6', 'integer', 1)], { model: registry }));
  });

  it('refuses what it cannot encode', () => {
    const enc = (values: TimedValue[]) =>
      encodeError(FORMAT, () => encodeLwm2mCbor(values, { model }));
    expect(enc([v(at(1), 'string', '1')]).message).toMatch(
      /string value where the model says integer/,
    );
    expect(enc([v(at(2), 'integer', 1n)]).message).toMatch(
      /integer value where the model says unsigned/,
    );
    expect(enc([v(at(3), 'float', Number.NaN)]).message).toMatch(/not finite/);
    expect(enc([v(at(3), 'float', Number.POSITIVE_INFINITY)]).message).toMatch(/not finite/);
    expect(enc([v(at(0), 'string', 'a\ud800b')]).message).toMatch(/surrogate/);
    expect(enc([{ ...v(at(1), 'integer', 1n), time: 1_700_000_000 }]).message).toMatch(
      /no timestamps/,
    );
    expect(enc([v('/9000/0', 'integer', 1n)]).message).toMatch(/resource level/);
    expect(enc([v(at(1), 'integer', 1n), v(at(1), 'integer', 2n)]).message).toMatch(/twice/);
    const bad = { path: LwM2mPath.parse(at(2)), value: { type: 'unsigned', value: -1n } };
    expect(enc([bad as TimedValue]).message).toMatch(/not a valid unsigned/);
    // Without a model: a path both a value and a parent.
    encodeError(FORMAT, () =>
      encodeLwm2mCbor([v('/3/0/6', 'integer', 1), v('/3/0/6/0', 'integer', 1)]),
    );
    encodeError(FORMAT, () =>
      encodeLwm2mCbor([v('/3/0/6/0', 'integer', 1), v('/3/0/6', 'integer', 1)]),
    );
  });
});

describe('LwM2M CBOR: key forms', () => {
  const expected = [v('/13/26/1', 'integer', 42), v('/13/26/2', 'integer', 21)];
  const forms: [string, string][] = [
    ['{[13, 26]: {1: 42, 2: 21}}', 'a1 82 0d 18 1a a2 01 18 2a 02 15'],
    ['{13: {26: {1: 42, 2: 21}}}', 'a1 0d a1 18 1a a2 01 18 2a 02 15'],
    ['{[13, 26, 1]: 42, [13, 26, 2]: 21}', 'a2 83 0d 18 1a 01 18 2a 83 0d 18 1a 02 15'],
    ['{[13, 26]: {1: 42}, [13, 26, 2]: 21}', 'a2 82 0d 18 1a a1 01 18 2a 83 0d 18 1a 02 15'],
    ['{[13]: {[26]: {[1]: 42, [2]: 21}}}', 'a1 81 0d a1 81 18 1a a2 81 01 18 2a 81 02 15'],
    ['{13: {26: {1: 42}}, [13, 26]: {2: 21}}', 'a2 0d a1 18 1a a1 01 18 2a 82 0d 18 1a a1 02 15'],
    [
      '{13: {[26, 2]: 21}, [13]: {26: {1: 42}}}',
      'a2 0d a1 82 18 1a 02 15 81 0d a1 18 1a a1 01 18 2a',
    ],
    ['{_ [_ 13, 26]: {_ 1: 42, 2: 21}}', 'bf 9f 0d 18 1a ff bf 01 18 2a 02 15 ff ff'],
    [
      '{_ 13: {_ [_ 26, 2]: 21, 26: {1: 42}}}',
      'bf 0d bf 9f 18 1a 02 ff 15 18 1a a1 01 18 2a ff ff',
    ],
  ];
  for (const [diag, hex] of forms) {
    it(`decodes ${diag}`, () => {
      expect(decodeLwm2mCbor(h(hex))).toEqual(expected);
    });
  }

  it('reads indefinite-length strings made of chunks', () => {
    const bytes = h(`a1 83 01 00 00 7f 62 ${utf8('ab')} 61 ${utf8('c')} ff`);
    expect(decodeLwm2mCbor(bytes)).toEqual([v('/1/0/0', 'string', 'abc')]);
    const opaque = h('a1 83 01 00 00 5f 42 0102 40 41 03 ff');
    expect(decodeLwm2mCbor(opaque)).toEqual([v('/1/0/0', 'opaque', new Uint8Array([1, 2, 3]))]);
  });

  it('keeps empty maps (an instance or resource without values) silent', () => {
    expect(decodeLwm2mCbor(h('a2 82 03 00 a0 83 03 01 09 01'))).toEqual([
      v('/3/1/9', 'integer', 1n),
    ]);
  });
});

describe('LwM2M CBOR: malformed and hostile input', () => {
  const refused: [string, string, RegExp, number?][] = [
    ['empty input', '', /empty payload/, 0],
    ['not a map', '83 01 02 03', /must be a map/, 0],
    ['trailing bytes', 'a0 00', /1 bytes after/, 1],
    ['a value at object level', 'a1 03 01', /above resource level/, 2],
    ['a value at instance level', 'a1 82 03 00 01', /above resource level/, 4],
    ['more than 4 ids in a key', 'a1 85 01 02 03 04 05 06', /at most 4/, 1],
    ['more than 4 ids over nested keys', 'a1 83 01 02 03 a1 82 04 05 06', /more than 4 ids/, 6],
    ['a map at resource-instance level', 'a1 84 01 02 03 04 a0', /below resource-instance/, 6],
    ['an empty key array', 'a1 80 01', /empty key array/, 1],
    ['an empty indefinite key array', 'a1 9f ff 01', /empty key array/, 1],
    ['an id above 65535', 'a1 83 01 00 1a 00010000 01', /not in 0..65535/, 4],
    ['an 8-byte id', 'a1 83 01 00 1b ffffffffffffffff 01', /not in 0..65535/, 4],
    ['a negative key', 'a1 20 01', /not a negative integer/, 1],
    ['a float key', 'a1 f9 3c00 01', /not a simple value or float/, 1],
    ['a text key (gateway prefix)', 'a1 64 64657631 01', /text key/, 1],
    ['a non-id in a key array', 'a1 82 01 61 30 01', /holds a text string/, 3],
    ['a key array of 5 (indefinite)', 'a1 9f 01 02 03 04 05 ff 01', /more than 4/, 1],
    ['the same leaf twice', 'a2 83 01 00 01 01 82 01 00 a1 01 02', /given twice/, 11],
    ['the same leaf via two key forms', 'a2 83 01 00 01 01 01 a1 00 a1 01 02', /given twice/, 11],
    ['a duplicate map key', 'a2 83 01 00 01 a0 83 01 00 01 a0', /duplicate map key \[1,0,1\]/, 6],
    [
      'a leaf and a parent (leaf first)',
      'a2 83 01 00 01 01 84 01 00 01 00 02',
      /both a value and a parent/,
      11,
    ],
    [
      'a leaf and a parent (parent first)',
      'a2 84 01 00 01 00 02 83 01 00 01 01',
      /both a value and a parent/,
      11,
    ],
    ['a map under a leaf', 'a2 83 01 00 01 01 82 01 00 a1 01 a0', /both a value and a parent/, 11],
    ['null', 'a1 83 01 00 01 f6', /null has no value/, 5],
    ['undefined', 'a1 83 01 00 01 f7', /undefined/, 5],
    ['an array value', 'a1 83 01 00 01 81 01', /array is not a value/, 5],
    ['a bignum tag', 'a1 83 01 00 01 c2 41 01', /tag 2 is not supported/, 5],
    ['tag 1 around a string', 'a1 83 01 00 01 c1 61 30', /tag 1 \(epoch time\) holds a text/, 6],
    ['tag 1 around tag 1', 'a1 83 01 00 01 c1 c1 01', /holds a tag/, 6],
    ['a simple value', 'a1 83 01 00 01 f8 20', /simple value 32/, 5],
    ['an unassigned simple value', 'a1 83 01 00 01 e0', /simple value 0/, 5],
    ['a 2-byte simple value below 32', 'a1 83 01 00 01 f8 14', /two bytes/, 5],
    ['a break outside indefinite items', 'a1 83 01 00 01 ff', /break/, 5],
    ['reserved additional information', 'a1 83 01 00 01 1c', /reserved/, 5],
    ['an indefinite integer', 'a1 83 01 00 01 1f', /indefinite length/, 5],
    ['an indefinite tag', 'a1 83 01 00 01 df', /indefinite length/, 5],
    ['invalid UTF-8', 'a1 83 01 00 01 62 c328', /not valid UTF-8/, 5],
    ['a chunk of another type', 'a1 83 01 00 01 7f 41 00 ff', /chunk/, 6],
    ['an indefinite chunk', 'a1 83 01 00 01 7f 7f ff ff', /chunk/, 6],
    ['a missing break', 'a1 83 01 00 01 5f 41 00', /no break/, 8],
    ['a truncated head', 'a1 83 01 00 01 19 01', /truncated/, 5],
    ['a truncated map', 'a2 83 01 00 01 01', /truncated/, 6],
    ['a float outside Float without model', 'a1 83 01 00 01 f9 7c00', /not finite/, 5],
    ['a NaN time', 'a1 83 01 00 01 c1 f9 7e00', /whole seconds/, 5],
    ['a time beyond Date', 'a1 83 01 00 01 c1 1b 0020000000000000', /out of range for a Time/, 5],
    ['a fractional time', 'a1 83 01 00 01 c1 f9 3e00', /not whole seconds/, 5],
  ];
  for (const [name, hex, message, offset] of refused) {
    it(`refuses ${name}`, () => {
      const e = decodeError(FORMAT, () => decodeLwm2mCbor(h(hex)));
      expect(e.message).toMatch(message);
      if (offset !== undefined) expect(e.offset).toBe(offset);
    });
  }

  it('refuses a 16 MB string in 20 bytes without allocating it', () => {
    const bytes = h(`a1 83 01 00 01 7a 01000000 ${'00'.repeat(10)}`);
    expect(bytes.length).toBe(20);
    expect(decodeError(FORMAT, () => decodeLwm2mCbor(bytes)).message).toMatch(
      /16777216 bytes runs past/,
    );
    const huge = h('a1 83 01 00 01 5b ffffffffffffffff 00');
    expect(decodeError(FORMAT, () => decodeLwm2mCbor(huge)).message).toMatch(/runs past the end/);
  });

  it('refuses maps and arrays claiming more entries than the input holds', () => {
    expect(decodeError(FORMAT, () => decodeLwm2mCbor(h('bb ffffffffffffffff'))).message).toMatch(
      /claims/,
    );
    expect(decodeError(FORMAT, () => decodeLwm2mCbor(h('ba 7fffffff 00 00'))).message).toMatch(
      /claims/,
    );
    expect(
      decodeError(FORMAT, () => decodeLwm2mCbor(h('a1 9b ffffffffffffffff 00'))).message,
    ).toMatch(/key array/);
  });

  it('stops deep nesting at 4 levels', () => {
    const deepMaps = h(`${'a1 00 '.repeat(5000)}00`);
    expect(decodeError(FORMAT, () => decodeLwm2mCbor(deepMaps)).message).toMatch(
      /below resource-instance/,
    );
    const deepArrays = h(`a1 83 01 00 01 ${'81 '.repeat(5000)}00`);
    expect(decodeError(FORMAT, () => decodeLwm2mCbor(deepArrays)).message).toMatch(
      /array is not a value/,
    );
    const deepIndefinite = h(`${'bf 00 '.repeat(5000)}`);
    expect(decodeError(FORMAT, () => decodeLwm2mCbor(deepIndefinite)).message).toMatch(
      /below resource-instance/,
    );
  });

  it('refuses every truncation of a valid payload', () => {
    const bytes = h(DEVICE);
    for (let n = 0; n < bytes.length; n++) {
      decodeError(FORMAT, () => decodeLwm2mCbor(bytes.subarray(0, n), { model: registry }));
    }
  });

  const seeds = [
    h(DEVICE),
    h(DEVICE_NESTED),
    h(`a1 01 a2 00 ${SERVER_INSTANCE} 01 ${SERVER_INSTANCE}`),
    h('bf 0d bf 9f 18 1a 02 ff 15 18 1a a1 01 18 2a ff ff'),
    h(`a1 83 01 00 00 7f 62 ${utf8('ab')} 61 ${utf8('c')} ff`),
    h(
      'a3 83 19 2328 00 01 3b 7fffffffffffffff 83 19 2328 00 06 c1 1a 5182428f 82 19 2328 01 a1 03 fb 3fb999999999999a',
    ),
  ];

  it('survives 100,000 random and mutated payloads without a model', () => {
    fuzzDecoder(FORMAT, (b) => decodeLwm2mCbor(b), seeds, { runs: 100_000, seed: 0x11544 });
  }, 120_000);

  it('survives 100,000 random and mutated payloads with a model', () => {
    fuzzDecoder(FORMAT, (b) => decodeLwm2mCbor(b, { model: registry }), seeds, {
      runs: 100_000,
      seed: 0x5eed,
    });
  }, 120_000);
});

describe('LwM2M CBOR: round trips', () => {
  /** Random models and nodes; LwM2M CBOR has no form for empty instances or multiple resources. */
  const arb = arbModelAndNode().filter(({ path, node }) => flattenNode(path, node).length > 0);

  it('decode(encode(values)) equals the values, and nodeFromValues gives the node back', () => {
    fc.assert(
      fc.property(arb, ({ model, path, node }) => {
        const models = modelsOf([model]);
        const values = flattenNode(path, node);
        const bytes = encodeLwm2mCbor(values, { model: models });
        const decoded = decodeLwm2mCbor(bytes, { model: models });
        expect(decoded).toEqual(values);
        expect(nodeFromValues(path, decoded)).toEqual(node);
      }),
      { numRuns: 500, seed: 0x11544 },
    );
  });

  it('without a model, decoding then encoding gives the same bytes', () => {
    fc.assert(
      fc.property(arb, ({ path, node }) => {
        const bytes = encodeLwm2mCbor(flattenNode(path, node));
        expect(encodeLwm2mCbor(decodeLwm2mCbor(bytes))).toEqual(bytes);
      }),
      { numRuns: 500, seed: 0x11545 },
    );
  });

  it('composite payloads of several objects round-trip', () => {
    const arbComposite = fc
      .uniqueArray(arb, { minLength: 2, maxLength: 4, selector: ({ model }) => model.id })
      .map((items) => items);
    fc.assert(
      fc.property(arbComposite, (items) => {
        const models = modelsOf(items.map((i) => i.model));
        const values = items
          .flatMap(({ path, node }) => flattenNode(path, node))
          .sort((a, b) => LwM2mPath.compare(a.path, b.path));
        const decoded = decodeLwm2mCbor(encodeLwm2mCbor(values, { model: models }), {
          model: models,
        });
        expect(decoded).toEqual(values);
      }),
      { numRuns: 200, seed: 0x11546 },
    );
  });

  it('any mix of folded, split and nested keys (written by cbor-x) decodes to the same values', () => {
    const cborx = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false });
    fc.assert(
      fc.property(arb, fc.infiniteStream(fc.nat()), ({ model, path, node }, choices) => {
        const models = modelsOf([model]);
        const values = flattenNode(path, node);
        const it = choices[Symbol.iterator]();
        const pick = (n: number) => (it.next().value as number) % n;
        const bytes = cborx.encode(mixedTree(values, pick));
        expect(decodeLwm2mCbor(bytes, { model: models })).toEqual(values);
      }),
      { numRuns: 300, seed: 0x11547 },
    );
  });
});

/** True when a half-precision float holds `x` exactly (11 significant bits, exponent -24..15). */
function halfExact(x: number): boolean {
  const a = Math.abs(x);
  if (a === 0) return true;
  if (a > 65504) return false;
  if (a < 2 ** -14) return Number.isInteger(a * 2 ** 24);
  return Number.isInteger(a / 2 ** (Math.floor(Math.log2(a)) - 10));
}

interface TestNode {
  value?: TypedValue;
  children: Map<number, TestNode>;
}

/**
 * The values as nested JS Maps for cbor-x, choosing at random for every level whether it is
 * keyed by a plain id or a one-id array, nested under its parent's key or folded into longer id
 * arrays, or split between both.
 */
function mixedTree(
  values: readonly TimedValue[],
  pick: (n: number) => number,
): Map<unknown, unknown> {
  const root: TestNode = { children: new Map() };
  for (const { path, value } of values) {
    let n = root;
    for (const id of path.ids) {
      let next = n.children.get(id);
      if (next === undefined) {
        next = { children: new Map() };
        n.children.set(id, next);
      }
      n = next;
    }
    n.value = value;
  }
  const key = (ids: number[]): unknown => (ids.length === 1 && pick(2) === 0 ? ids[0] : ids);
  const emit = (prefix: number[], children: Map<number, TestNode>, out: Map<unknown, unknown>) => {
    for (const [id, child] of children) {
      const ids = [...prefix, id];
      if (child.value !== undefined) {
        out.set(key(ids), wireOf(child.value));
        continue;
      }
      const entries = [...child.children];
      const choice = pick(3);
      const foldCount = choice === 0 ? 0 : choice === 1 ? entries.length : pick(entries.length + 1);
      emit(ids, new Map(entries.slice(0, foldCount)), out);
      if (foldCount < entries.length) {
        const nested = new Map<unknown, unknown>();
        emit([], new Map(entries.slice(foldCount)), nested);
        out.set(key(ids), nested);
      }
    }
  };
  const out = new Map<unknown, unknown>();
  emit([], root.children, out);
  return out;
}

function wireOf(v: TypedValue): unknown {
  switch (v.type) {
    case 'integer':
    case 'unsigned':
      return v.value;
    case 'time':
      return timeToSeconds(v.value);
    case 'objlnk':
      return `${v.value.objectId}:${v.value.instanceId}`;
    default:
      return v.value;
  }
}
