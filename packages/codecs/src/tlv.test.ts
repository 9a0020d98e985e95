import {
  DecodeError,
  type LwM2mNode,
  LwM2mPath,
  lwm2mObject,
  multipleResource,
  objectInstance,
  resourceInstance,
  singleResource,
} from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ModelProvider, modelsOf } from './content.js';
import { arbModelAndNode, fuzzDecoder } from './test-arbitraries.js';
import { decodeError, encodeError, hex, obj, res } from './test-fixtures.js';
import { decodeTlv, encodeTlv } from './tlv.js';

const FORMAT = 'TLV';

const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
const P = (s: string) => LwM2mPath.parse(s);

const registry = ObjectRegistry.withBuiltins();

// The hypothetical objects 65 and 66 of the Objlnk examples (Core TS 1.2 Appendix C, Figure
// C.-1 "Object link Resource simple illustration"; their TLV tables are in §7.4.5).
const object65 = obj(65, [res(0, 'objlnk', true), res(1, 'string'), res(2, 'integer')]);
const object66 = obj(66, [res(0, 'string'), res(1, 'string'), res(2, 'objlnk')]);
const object67 = obj(67, [
  res(0, 'unsigned'),
  res(1, 'float'),
  res(2, 'boolean'),
  res(3, 'opaque', true),
  res(4, 'corelnk'),
  res(5, 'time', true),
  res(6, 'none'),
]);
const model: ModelProvider = {
  get: (id) =>
    id === 65 ? object65 : id === 66 ? object66 : id === 67 ? object67 : registry.get(id),
};

// Core TS 1.2 §7.4.5, "Single Object Instance Request Example": Read /3/0 of the Device object.
const DEVICE_RESOURCES = hex(`
  C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65
  C8 01 16 4C 69 67 68 74 77 65 69 67 68 74 20 4D 32 4D 20 43 6C 69 65 6E 74
  C8 02 09 33 34 35 30 30 30 31 32 33
  C3 03 31 2E 30
  86 06
    41 00 01
    41 01 05
  88 07 08
    42 00 0E D8
    42 01 13 88
  87 08
    41 00 7D
    42 01 03 84
  C1 09 64
  C1 0A 0F
  83 0B
    41 00 00
  C4 0D 51 82 42 8F
  C6 0E 2B 30 32 3A 30 30
  C1 10 55`);

const DEVICE = objectInstance(0, [
  singleResource(0, 'string', 'Open Mobile Alliance'),
  singleResource(1, 'string', 'Lightweight M2M Client'),
  singleResource(2, 'string', '345000123'),
  singleResource(3, 'string', '1.0'),
  multipleResource(6, 'integer', { 0: 1, 1: 5 }),
  multipleResource(7, 'integer', { 0: 3800, 1: 5000 }),
  multipleResource(8, 'integer', { 0: 125, 1: 900 }),
  singleResource(9, 'integer', 100),
  singleResource(10, 'integer', 15),
  multipleResource(11, 'integer', { 0: 0 }),
  singleResource(13, 'time', new Date(0x5182428f * 1000)),
  singleResource(14, 'string', '+02:00'),
  singleResource(16, 'string', 'U'),
]);

// §7.4.5, "Multiple Object Instance Request Examples", A: Read /3 (single-instance object; the
// Object Instance TLV is used whatever the number of instances). 0x79 = 121 bytes.
const DEVICE_OBJECT = cat(hex('08 00 79'), DEVICE_RESOURCES);

// Same section, B: Read /2, two Access Control instances. ACL instance 310 needs a 16-bit id (0x61).
const ACL_OBJECT = hex(`
  08 00 0E
    C1 00 01
    C1 01 00
    83 02
      41 7F 07
    C1 03 7F
  08 02 12
    C1 00 03
    C1 01 00
    87 02
      41 7F 07
      61 01 36 01
    C1 03 7F`);
const ACL = lwm2mObject(2, [
  objectInstance(0, [
    singleResource(0, 'integer', 1),
    singleResource(1, 'integer', 0),
    multipleResource(2, 'integer', { 127: 7 }),
    singleResource(3, 'integer', 127),
  ]),
  objectInstance(2, [
    singleResource(0, 'integer', 3),
    singleResource(1, 'integer', 0),
    multipleResource(2, 'integer', { 127: 7, 310: 1 }),
    singleResource(3, 'integer', 127),
  ]),
]);

// Same section: Read /1, one Server instance. The spec's table gives the instance length as 0x0D,
// but its content is 15 bytes (3 + 6 + 3 + 3): the length is 0x0F.
const SERVER_OBJECT = hex(`
  08 00 0F
    C1 00 01
    C4 01 00 01 51 80
    C1 06 01
    C1 07 55`);
const SERVER = lwm2mObject(1, [
  objectInstance(0, [
    singleResource(0, 'integer', 1),
    singleResource(1, 'integer', 86400),
    singleResource(6, 'boolean', true),
    singleResource(7, 'string', 'U'),
  ]),
]);

// §7.4.5, "Example of Request on an Object Instance containing an Object Link Resource".
// Example 1: Read /65/0.
const OBJ65_INSTANCE = hex(`
  88 00 0C
    44 00 00 42 00 00
    44 01 00 42 00 01
  C8 01 0D 38 36 31 33 38 30 30 37 35 35 35 30 30
  C4 02 12 34 56 78`);
const OBJ65 = objectInstance(0, [
  multipleResource(0, 'objlnk', {
    0: { objectId: 66, instanceId: 0 },
    1: { objectId: 66, instanceId: 1 },
  }),
  singleResource(1, 'string', '8613800755500'),
  singleResource(2, 'integer', 0x12345678),
]);

// Example 2: Read /66, two instances; the second links nowhere (65535:65535, the null link).
const OBJ66_OBJECT = hex(`
  08 00 26
    C8 00 0B 6D 79 53 65 72 76 69 63 65 20 31
    C8 01 0F 49 6E 74 65 72 6E 65 74 2E 31 35 2E 32 33 34
    C4 02 00 43 00 00
  08 01 26
    C8 00 0B 6D 79 53 65 72 76 69 63 65 20 32
    C8 01 0F 49 6E 74 65 72 6E 65 74 2E 31 35 2E 32 33 35
    C4 02 FF FF FF FF`);
const OBJ66 = lwm2mObject(66, [
  objectInstance(0, [
    singleResource(0, 'string', 'myService 1'),
    singleResource(1, 'string', 'Internet.15.234'),
    singleResource(2, 'objlnk', { objectId: 67, instanceId: 0 }),
  ]),
  objectInstance(1, [
    singleResource(0, 'string', 'myService 2'),
    singleResource(1, 'string', 'Internet.15.235'),
    singleResource(2, 'objlnk', { objectId: 65535, instanceId: 65535 }),
  ]),
]);

const VECTORS: [string, string, Uint8Array, LwM2mNode][] = [
  ['Read /3/0 (Device instance)', '/3/0', DEVICE_RESOURCES, DEVICE],
  ['Read /3 (single-instance object)', '/3', DEVICE_OBJECT, lwm2mObject(3, [DEVICE])],
  ['Read /2 (two Access Control instances)', '/2', ACL_OBJECT, ACL],
  ['Read /1 (one Server instance)', '/1', SERVER_OBJECT, SERVER],
  ['Read /65/0 (multiple Objlnk resource)', '/65/0', OBJ65_INSTANCE, OBJ65],
  ['Read /66 (Objlnk, null link)', '/66', OBJ66_OBJECT, OBJ66],
  // Single resources and resource instances cut from the Device example.
  [
    'Read /3/0/0',
    '/3/0/0',
    DEVICE_RESOURCES.subarray(0, 23),
    singleResource(0, 'string', 'Open Mobile Alliance'),
  ],
  [
    'Read /3/0/6',
    '/3/0/6',
    hex('86 06 41 00 01 41 01 05'),
    multipleResource(6, 'integer', { 0: 1, 1: 5 }),
  ],
  ['Read /3/0/6/1', '/3/0/6/1', hex('41 01 05'), resourceInstance(1, 'integer', 5)],
  [
    'Read /3/0/13',
    '/3/0/13',
    hex('C4 0D 51 82 42 8F'),
    singleResource(13, 'time', new Date(1_367_491_215_000)),
  ],
  [
    'Read /3/0/11 (one error code)',
    '/3/0/11',
    hex('83 0B 41 00 00'),
    multipleResource(11, 'integer', { 0: 0 }),
  ],
];

describe('TLV spec examples (Core TS 1.2 §7.4.5)', () => {
  it.each(VECTORS)('%s: decodes', (_name, path, bytes, node) => {
    expect(decodeTlv(bytes, P(path), { model })).toEqual(node);
  });

  it.each(VECTORS)('%s: encodes to the exact bytes', (_name, path, bytes, node) => {
    expect(encodeTlv(P(path), node, { model })).toEqual(bytes);
  });

  it('the Device example is 121 bytes, as its Object Instance TLV says', () => {
    expect(DEVICE_RESOURCES.length).toBe(0x79);
  });
});

describe('TLV header forms', () => {
  const m = { model };
  it('decodes every identifier and length form, not only the smallest', () => {
    const battery = singleResource(9, 'integer', 100);
    for (const bytes of [
      'C1 09 64', // length in the type byte
      'C8 09 01 64', // 8-bit length
      'D0 09 00 01 64', // 16-bit length
      'D8 09 00 00 01 64', // 24-bit length
      'E1 00 09 64', // 16-bit identifier
      'F8 00 09 00 00 01 64', // both
    ]) {
      expect(decodeTlv(hex(bytes), P('/3/0/9'), m)).toEqual(battery);
    }
  });

  it('encodes the smallest forms: 16-bit ids past 255, 8/16/24-bit lengths', () => {
    const path = P('/67/0/3/300');
    const ri = (n: number) => resourceInstance(300, 'opaque', new Uint8Array(n));
    expect([...encodeTlv(path, ri(7), m).subarray(0, 3)]).toEqual([0x67, 0x01, 0x2c]);
    expect([...encodeTlv(path, ri(8), m).subarray(0, 4)]).toEqual([0x68, 0x01, 0x2c, 8]);
    expect([...encodeTlv(path, ri(255), m).subarray(0, 4)]).toEqual([0x68, 0x01, 0x2c, 255]);
    expect([...encodeTlv(path, ri(256), m).subarray(0, 5)]).toEqual([0x70, 0x01, 0x2c, 1, 0]);
    expect([...encodeTlv(path, ri(70000), m).subarray(0, 6)]).toEqual([
      0x78, 0x01, 0x2c, 0x01, 0x11, 0x70,
    ]);
    for (const n of [7, 8, 255, 256, 70000]) {
      expect(decodeTlv(encodeTlv(path, ri(n), m), path, m)).toEqual(ri(n));
    }
  });

  it('refuses a value too long for the 24-bit length', () => {
    const big = resourceInstance(0, 'opaque', new Uint8Array(0x1000000));
    expect(encodeError(FORMAT, () => encodeTlv(P('/67/0/3/0'), big, m)).message).toMatch(/24-bit/);
  });
});

describe('TLV values (Core TS 1.2 Appendix C)', () => {
  const m = { model };
  const at = (path: string, bytes: string) => decodeTlv(hex(bytes), P(path), m);

  it.each([
    ['C1 09 9C', -100n],
    ['C2 09 FF 9C', -100n],
    ['C4 09 FF FF FF 9C', -100n],
    ['C8 09 08 FF FF FF FF FF FF FF 9C', -100n],
    ['C8 09 08 7F FF FF FF FF FF FF FF', 2n ** 63n - 1n],
    ['C8 09 08 80 00 00 00 00 00 00 00', -(2n ** 63n)],
  ])('Integer %s is %s', (bytes, value) => {
    expect(at('/3/0/9', bytes)).toMatchObject({ type: 'integer', value });
  });

  it.each([
    [-128n, 'C1 09 80'],
    [127n, 'C1 09 7F'],
    [128n, 'C2 09 00 80'],
    [-129n, 'C2 09 FF 7F'],
    [32768n, 'C4 09 00 00 80 00'],
    [2n ** 31n, 'C8 09 08 00 00 00 00 80 00 00 00'],
  ])('Integer %s takes the smallest width: %s', (value, bytes) => {
    const node = singleResource(9, 'integer', value);
    expect(encodeTlv(P('/3/0/9'), node, m)).toEqual(hex(bytes));
  });

  it('reads Unsigned Integer as unsigned, up to 2^64 - 1, and writes it in the smallest width', () => {
    expect(at('/67/0/0', 'C1 00 FF')).toMatchObject({ type: 'unsigned', value: 255n });
    expect(at('/67/0/0', 'C8 00 08 FF FF FF FF FF FF FF FF')).toMatchObject({
      value: 2n ** 64n - 1n,
    });
    const enc = (v: bigint) => encodeTlv(P('/67/0/0'), singleResource(0, 'unsigned', v), m);
    expect(enc(255n)).toEqual(hex('C1 00 FF'));
    expect(enc(65535n)).toEqual(hex('C2 00 FF FF'));
    expect(enc(2n ** 64n - 1n)).toEqual(hex('C8 00 08 FF FF FF FF FF FF FF FF'));
  });

  it('writes Float in 4 bytes only when exact, reads 4 and 8', () => {
    const enc = (v: number) => encodeTlv(P('/67/0/1'), singleResource(1, 'float', v), m);
    expect(enc(1.5)).toEqual(hex('C4 01 3F C0 00 00'));
    expect(enc(0.1)).toEqual(hex('C8 01 08 3F B9 99 99 99 99 99 9A'));
    expect(at('/67/0/1', 'C4 01 3F C0 00 00')).toMatchObject({ type: 'float', value: 1.5 });
    expect(at('/67/0/1', 'C8 01 08 3F B9 99 99 99 99 99 9A')).toMatchObject({ value: 0.1 });
  });

  it('reads Boolean, Objlnk, Opaque, Corelnk and multiple Time', () => {
    expect(at('/67/0/2', 'C1 02 00')).toMatchObject({ type: 'boolean', value: false });
    expect(at('/66/0/2', 'C4 02 00 03 00 01')).toMatchObject({
      value: { objectId: 3, instanceId: 1 },
    });
    expect(at('/67/0/3', '83 03 41 00 AB')).toEqual(
      multipleResource(3, 'opaque', { 0: Uint8Array.of(0xab) }),
    );
    expect(at('/67/0/4', 'C4 04 3C 2F 33 3E')).toMatchObject({ type: 'corelnk', value: '</3>' });
    expect(at('/67/0/5', '86 05 41 00 01 41 01 FF')).toEqual(
      multipleResource(5, 'time', { 0: new Date(1000), 1: new Date(-1000) }),
    );
  });

  it('decodes values as Opaque without a model, for unknown and for executable resources', () => {
    const opaque = (id: number, ...b: number[]) => singleResource(id, 'opaque', Uint8Array.from(b));
    expect(decodeTlv(hex('C1 09 64'), P('/3/0/9'))).toEqual(opaque(9, 0x64));
    expect(decodeTlv(hex('C1 63 64'), P('/3/0/99'), m)).toEqual(opaque(99, 0x64));
    expect(decodeTlv(hex('C1 06 01'), P('/67/0/6'), m)).toEqual(opaque(6, 0x01));
    expect(decodeTlv(DEVICE_RESOURCES, P('/3/0'))).toMatchObject({
      resources: expect.arrayContaining([
        { kind: 'singleResource', id: 9, type: 'opaque', value: Uint8Array.of(0x64) },
      ]),
    });
  });

  it.each([
    ['/3/0/9', 'C3 09 00 00 01', /integer has 1, 2, 4 or 8 bytes, not 3/],
    ['/3/0/9', 'C0 09', /not 0/],
    ['/67/0/1', 'C2 01 3F C0', /Float has 4 or 8 bytes, not 2/],
    ['/67/0/1', 'C4 01 7F C0 00 00', /not finite/],
    ['/67/0/1', 'C8 01 08 7F F0 00 00 00 00 00 00', /not finite/],
    ['/67/0/2', 'C1 02 02', /neither 0 nor 1/],
    ['/67/0/2', 'C2 02 00 01', /Boolean has 1 byte/],
    ['/66/0/2', 'C3 02 00 03 00', /Objlnk has 4 bytes/],
    ['/3/0/13', 'C8 0D 08 7F FF FF FF FF FF FF FF', /out of range for a Time/],
  ])('%s %s is refused', (path, bytes, why) => {
    const e = decodeError(FORMAT, () => at(path, bytes));
    expect(e.message).toMatch(why);
    expect(e.message).toContain(path);
    expect(e.offset).toBe(0);
  });

  it('refuses invalid UTF-8 and names the offset of the bad byte', () => {
    const e = decodeError(FORMAT, () => at('/3/0/0', 'C2 00 C3 28'));
    expect(e.message).toMatch(/\/3\/0\/0 is not valid UTF-8/);
    expect(e.offset).toBe(2);
  });

  it('names the offset of the first bad UTF-8 byte', () => {
    // "Open" then 0xFF inside the second resource of an instance.
    const e = decodeError(FORMAT, () => at('/3/0', 'C1 09 64 C5 00 4F 70 65 6E FF'));
    expect(e.offset).toBe(9);
  });

  it('refuses, when encoding, values that do not fit the model', () => {
    const enc = (path: string, node: LwM2mNode) =>
      encodeError(FORMAT, () => encodeTlv(P(path), node, m));
    expect(enc('/3/0/9', singleResource(9, 'string', '100')).message).toMatch(
      /string value where the model says integer/,
    );
    expect(enc('/67/0/0', singleResource(0, 'integer', -1)).message).toMatch(/model says unsigned/);
    expect(enc('/67/0/1', singleResource(1, 'float', Number.NaN)).message).toMatch(/not finite/);
    expect(enc('/67/0/1', singleResource(1, 'float', Number.POSITIVE_INFINITY)).message).toMatch(
      /not finite/,
    );
    expect(enc('/3/0/6', singleResource(6, 'integer', 1)).message).toMatch(/model says multiple/);
    expect(enc('/3/0/9', multipleResource(9, 'integer', { 0: 1 })).message).toMatch(
      /model says single/,
    );
    expect(enc('/3/0/9/0', resourceInstance(0, 'integer', 1)).message).toMatch(/single/);
    expect(enc('/3/0', singleResource(9, 'integer', 1)).message).toMatch(/does not live at/);
    expect(enc('/3/0/9', singleResource(10, 'integer', 1)).message).toMatch(/does not live at/);
    expect(
      encodeError(FORMAT, () => encodeTlv(LwM2mPath.ROOT, lwm2mObject(3, []))).message,
    ).toMatch(/needs an object/);
  });
});

describe('TLV leniency and path checks', () => {
  const m = { model };

  it('accepts resources wrapped in the Object Instance TLV of the path (Read /3/0)', () => {
    expect(decodeTlv(DEVICE_OBJECT, P('/3/0'), m)).toEqual(DEVICE);
  });

  it('accepts one resource wrapped in the Object Instance TLV of the path', () => {
    expect(decodeTlv(hex('08 00 03 C1 09 64'), P('/3/0/9'), m)).toEqual(
      singleResource(9, 'integer', 100),
    );
  });

  it('accepts a resource instance wrapped in its Multiple Resource TLV', () => {
    expect(decodeTlv(hex('83 06 41 01 05'), P('/3/0/6/1'), m)).toEqual(
      resourceInstance(1, 'integer', 5),
    );
    expect(decodeTlv(hex('08 00 05 83 06 41 01 05'), P('/3/0/6/1'), m)).toEqual(
      resourceInstance(1, 'integer', 5),
    );
  });

  it.each([
    ['/3/0', cat(hex('08 01 79'), DEVICE_RESOURCES), 0, /id 1 contradicts the path \/3\/0/],
    ['/3/0/9', hex('C1 0A 64'), 0, /id 10 contradicts the path \/3\/0\/9/],
    ['/3/0/9', hex('08 01 03 C1 09 64'), 0, /id 1 contradicts/],
    ['/3/0/6/1', hex('41 00 01'), 0, /id 0 contradicts/],
    ['/3/0/6/1', hex('83 07 41 01 05'), 0, /id 7 contradicts/],
    ['/3/0/9', hex('C1 09 64 C1 0A 0F'), 3, /more TLVs/],
    ['/3/0/6/1', hex('86 06 41 00 01 41 01 05'), 5, /more TLVs/],
    ['/3/0/9', hex(''), 0, /no TLV for \/3\/0\/9/],
    ['/3/0/6/1', hex(''), 0, /no TLV/],
  ])('%s: %s is refused', (path, bytes, offset, why) => {
    const e = decodeError(FORMAT, () => decodeTlv(bytes, P(path), m));
    expect(e.message).toMatch(why);
    expect(e.offset).toBe(offset);
  });

  it('refuses a model mismatch of multiplicity', () => {
    expect(
      decodeError(FORMAT, () => decodeTlv(hex('83 09 41 00 64'), P('/3/0/9'), m)).message,
    ).toMatch(/model says the resource is single/);
    expect(decodeError(FORMAT, () => decodeTlv(hex('C1 06 01'), P('/3/0/6'), m)).message).toMatch(
      /model says the resource is multiple/,
    );
    expect(decodeError(FORMAT, () => decodeTlv(hex('41 00 64'), P('/3/0/9/0'), m)).message).toMatch(
      /single in the model/,
    );
  });

  it('decodes empty instances, objects and multiple resources', () => {
    expect(decodeTlv(hex(''), P('/3'), m)).toEqual(lwm2mObject(3, []));
    expect(decodeTlv(hex(''), P('/3/0'), m)).toEqual(objectInstance(0, []));
    expect(decodeTlv(hex('00 00'), P('/3'), m)).toEqual(lwm2mObject(3, [objectInstance(0, [])]));
    expect(decodeTlv(hex('80 0B'), P('/3/0/11'), m)).toEqual(multipleResource(11, 'integer', []));
  });
});

describe('TLV hostile input', () => {
  const m = { model };

  it('refuses a 16 MB length in a 20-byte buffer before reading or allocating anything', () => {
    const bytes = cat(hex('D8 00 FF FF FF'), new Uint8Array(15));
    expect(bytes.length).toBe(20);
    const before = process.memoryUsage().arrayBuffers;
    const e = decodeError(FORMAT, () => decodeTlv(bytes, P('/3/0/0'), m));
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1_000_000);
    expect(e.offset).toBe(0);
    expect(e.message).toMatch(/length 16777215 runs past the end \(15 bytes left\)/);
  });

  it('refuses a length that runs past its enclosing TLV', () => {
    // The resource claims 5 bytes; its instance holds only 3 after the header.
    const e = decodeError(FORMAT, () => decodeTlv(hex('08 00 05 C5 09 64 00 00'), P('/3'), m));
    expect(e.offset).toBe(3);
    expect(e.message).toMatch(/length 5 runs past the end \(3 bytes left\)/);
  });

  it.each([
    ['/3', 'C8', 0, /header is cut short/],
    ['/3', '28 00', 0, /header is cut short/],
    ['/3/0', 'F8 00 09 00 00', 0, /header is cut short/],
  ])('%s: truncated header %s', (path, bytes, offset, why) => {
    const e = decodeError(FORMAT, () => decodeTlv(hex(bytes), P(path), m));
    expect(e.offset).toBe(offset);
    expect(e.message).toMatch(why);
  });

  it('every truncation of a spec example decodes or fails with a DecodeError', () => {
    for (const [bytes, path] of [
      [DEVICE_OBJECT, '/3'],
      [ACL_OBJECT, '/2'],
      [DEVICE_RESOURCES, '/3/0'],
    ] as const) {
      for (let n = 0; n < bytes.length; n++) {
        try {
          decodeTlv(bytes.subarray(0, n), P(path), m);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }
    }
  });

  it.each([
    ['/3', 'C1 09 64', 0, /Resource TLV where \/3 holds Object Instance TLVs/],
    ['/3', '41 09 64', 0, /Resource Instance TLV where \/3 holds/],
    ['/3', '08 00 02 00 00', 3, /Object Instance TLV inside \/3\/0/], // instance in instance
    ['/3/0', '41 09 64', 0, /Resource Instance TLV inside \/3\/0/],
    ['/3/0', 'C1 09 64 00 00', 3, /Object Instance TLV inside \/3\/0/],
    ['/3/0', '83 06 C1 00 01', 2, /Resource TLV inside \/3\/0\/6, which holds resource instances/],
    ['/3/0', '82 06 80 00', 2, /Multiple Resource TLV inside \/3\/0\/6/],
    ['/3/0/6', '41 06 01', 0, /Resource Instance TLV where \/3\/0\/6 needs a Resource TLV/],
    ['/3/0/6/0', 'C1 06 01', 0, /Resource TLV where \/3\/0\/6\/0 needs a Resource Instance/],
  ])('%s: nesting the format forbids (%s)', (path, bytes, offset, why) => {
    const e = decodeError(FORMAT, () => decodeTlv(hex(bytes), P(path), m));
    expect(e.offset).toBe(offset);
    expect(e.message).toMatch(why);
  });

  it.each([
    ['/3', '00 00 00 00', 2, /Object Instance TLV id 0 appears twice/],
    ['/3/0', 'C1 09 64 C1 09 64', 3, /id 9 appears twice/],
    ['/3/0', 'C1 06 01 86 06 41 00 01 41 01 05', 3, /id 6 appears twice/],
    ['/3/0/6', '86 06 41 00 01 41 00 05', 5, /Resource Instance TLV id 0 appears twice/],
  ])('%s: duplicate ids (%s)', (path, bytes, offset, why) => {
    const e = decodeError(FORMAT, () => decodeTlv(hex(bytes), P(path), m));
    expect(e.offset).toBe(offset);
    expect(e.message).toMatch(why);
  });

  it('refuses the root path', () => {
    expect(decodeError(FORMAT, () => decodeTlv(hex(''), LwM2mPath.ROOT)).message).toMatch(
      /needs an object/,
    );
  });

  it('fuzz: only DecodeError, at every level, with and without a model', () => {
    const runs: [LwM2mPath, { model?: ModelProvider }][] = [
      [P('/3'), m],
      [P('/3/0'), m],
      [P('/3/0/6/1'), m],
      [P('/67/0/5'), m],
      [P('/2/0'), {}],
    ];
    const seeds = [...VECTORS.map((v) => v[2]), ACL_OBJECT, SERVER_OBJECT];
    fuzzDecoder(
      FORMAT,
      (bytes) => {
        for (const [path, options] of runs) {
          try {
            decodeTlv(bytes, path, options);
          } catch (e) {
            if (!(e instanceof DecodeError) || e.format !== FORMAT || e.offset === undefined) {
              throw e;
            }
          }
        }
      },
      seeds,
      { runs: 100_000 },
    );
  }, 120_000);
});

describe('TLV round trip', () => {
  it('decode(encode(x)) is x for random nodes at every level under random models', () => {
    fc.assert(
      fc.property(arbModelAndNode({ allowEmpty: true }), ({ model: om, path, node }) => {
        const options = { model: modelsOf([om]) };
        const bytes = encodeTlv(path, node, options);
        expect(decodeTlv(bytes, path, options)).toEqual(node);
      }),
      { numRuns: 3000 },
    );
  });

  it('covers all four levels', () => {
    const levels = new Set<string>();
    fc.assert(
      fc.property(arbModelAndNode({ allowEmpty: true }), ({ path }) => {
        levels.add(path.level);
      }),
      { numRuns: 500 },
    );
    expect([...levels].sort()).toEqual(['instance', 'object', 'resource', 'resourceInstance']);
  });

  it('without a model, the structure survives and values come back as their TLV bytes', () => {
    fc.assert(
      fc.property(arbModelAndNode({ allowEmpty: true }), ({ model: om, path, node }) => {
        const bytes = encodeTlv(path, node, { model: modelsOf([om]) });
        const bare = decodeTlv(bytes, path);
        expect(encodeTlv(path, bare)).toEqual(bytes);
      }),
      { numRuns: 1000 },
    );
  });
});
