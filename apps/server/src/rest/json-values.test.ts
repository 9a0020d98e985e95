import type { TimedValue } from '@lwm2m-ts/codecs';
import {
  type DataType,
  INT64_MAX,
  INT64_MIN,
  InvalidPathError,
  InvalidValueError,
  LwM2mPath,
  lwm2mObject,
  multipleResource,
  objectInstance,
  resourceInstance,
  singleResource,
  type TypedValue,
  typedValue,
  UINT64_MAX,
} from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { describe, expect, it } from 'vitest';
import {
  createFromJson,
  instanceFromJson,
  nodeToJson,
  pathValuesFromJson,
  resourceFromJson,
  resourceInstanceFromJson,
  resourcesFromJson,
  timeToIso,
  toJsonValues,
  valueFromJson,
  valueToJson,
  writeNodeFromJson,
} from './json-values.js';

const registry = ObjectRegistry.withBuiltins();
const device = registry.get(3)!;
const server = registry.get(1)!;
const P = LwM2mPath.parse;

describe('valueToJson / valueFromJson: every data type both ways', () => {
  const cases: [TypedValue, unknown][] = [
    [typedValue('string', 'ACME'), 'ACME'],
    [typedValue('string', ''), ''],
    [typedValue('corelnk', '</3/0>;ver=1.1'), '</3/0>;ver=1.1'],
    [typedValue('integer', 3800n), 3800],
    [typedValue('integer', -5n), -5],
    [typedValue('unsigned', 42n), 42],
    [typedValue('float', 21.5), 21.5],
    [typedValue('float', -0.125), -0.125],
    [typedValue('boolean', true), true],
    [typedValue('boolean', false), false],
    [typedValue('opaque', new Uint8Array([0, 1, 254, 255])), 'AAH+/w=='],
    [typedValue('opaque', new Uint8Array()), ''],
    [typedValue('time', new Date('2024-05-01T12:00:00Z')), '2024-05-01T12:00:00.000Z'],
    [typedValue('objlnk', { objectId: 3, instanceId: 0 }), '3:0'],
    [typedValue('objlnk', { objectId: 65535, instanceId: 65535 }), '65535:65535'],
  ];
  for (const [value, json] of cases) {
    it(`${value.type} ${JSON.stringify(json)}`, () => {
      expect(valueToJson(value)).toEqual(json);
      expect(valueFromJson(value.type, json, '/x')).toEqual(value);
      // It survives JSON text too.
      expect(valueFromJson(value.type, JSON.parse(JSON.stringify(json)), '/x')).toEqual(value);
    });
  }

  it('64-bit integers: numbers up to 2^53−1, strings beyond', () => {
    const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);
    expect(valueToJson(typedValue('integer', maxSafe))).toBe(Number.MAX_SAFE_INTEGER);
    expect(valueToJson(typedValue('integer', -maxSafe))).toBe(-Number.MAX_SAFE_INTEGER);
    expect(valueToJson(typedValue('integer', maxSafe + 1n))).toBe('9007199254740992');
    expect(valueToJson(typedValue('integer', -maxSafe - 1n))).toBe('-9007199254740992');
    expect(valueToJson(typedValue('integer', INT64_MAX))).toBe('9223372036854775807');
    expect(valueToJson(typedValue('integer', INT64_MIN))).toBe('-9223372036854775808');
    expect(valueToJson(typedValue('unsigned', UINT64_MAX))).toBe('18446744073709551615');
    expect(valueFromJson('integer', '9223372036854775807', '/x').value).toBe(INT64_MAX);
    expect(valueFromJson('integer', '-9223372036854775808', '/x').value).toBe(INT64_MIN);
    expect(valueFromJson('unsigned', '18446744073709551615', '/x').value).toBe(UINT64_MAX);
    // Input also takes strings for small numbers, and numbers up to 2^53−1.
    expect(valueFromJson('integer', '12', '/x').value).toBe(12n);
    expect(valueFromJson('unsigned', Number.MAX_SAFE_INTEGER, '/x').value).toBe(maxSafe);
  });

  it('refuses integers out of range or that lost digits as JSON numbers', () => {
    expect(() => valueFromJson('integer', '9223372036854775808', '/3/0/9')).toThrow(
      /\/3\/0\/9: expected a signed 64-bit integer.*out of range/,
    );
    expect(() => valueFromJson('integer', '-9223372036854775809', '/x')).toThrow(/out of range/);
    expect(() => valueFromJson('unsigned', '18446744073709551616', '/x')).toThrow(/out of range/);
    expect(() => valueFromJson('unsigned', -1, '/x')).toThrow(/out of range/);
    expect(() => valueFromJson('integer', 2 ** 60, '/x')).toThrow(/send a string/);
    expect(() => valueFromJson('integer', 1.5, '/x')).toThrow(/not an integer/);
    expect(() => valueFromJson('integer', '1.5', '/x')).toThrow(InvalidValueError);
    expect(() => valueFromJson('integer', '', '/x')).toThrow(InvalidValueError);
    expect(() => valueFromJson('integer', true, '/x')).toThrow(InvalidValueError);
    expect(() => valueFromJson('integer', '1e3', '/x')).toThrow(InvalidValueError);
  });

  it('non-finite floats go as strings and come back', () => {
    for (const n of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const json = valueToJson(typedValue('float', n));
      expect(typeof json).toBe('string');
      expect(valueFromJson('float', json, '/x').value).toBe(n);
    }
    expect(() => valueFromJson('float', '1.5', '/x')).toThrow(/expected a number/);
  });

  it('time also accepts seconds and zone offsets; refuses zone-less or bad dates', () => {
    expect(valueFromJson('time', 1_714_564_800, '/x').value).toEqual(
      new Date('2024-05-01T12:00:00Z'),
    );
    expect(valueFromJson('time', '2024-05-01T14:00:00+02:00', '/x').value).toEqual(
      new Date('2024-05-01T12:00:00Z'),
    );
    expect(valueFromJson('time', '2024-05-01', '/x').value).toEqual(
      new Date('2024-05-01T00:00:00Z'),
    );
    expect(() => valueFromJson('time', '2024-05-01T12:00:00', '/x')).toThrow(/ISO-8601/);
    expect(() => valueFromJson('time', 'yesterday', '/x')).toThrow(InvalidValueError);
    expect(() => valueFromJson('time', '2024-13-45T00:00:00Z', '/x')).toThrow(/not a valid date/);
    expect(() => valueFromJson('time', Number.POSITIVE_INFINITY, '/x')).toThrow(InvalidValueError);
  });

  it('objlnk also accepts { objectId, instanceId }; refuses bad links', () => {
    expect(valueFromJson('objlnk', { objectId: 1, instanceId: 2 }, '/x').value).toEqual({
      objectId: 1,
      instanceId: 2,
    });
    for (const bad of ['3', '3:', '70000:0', '3:0:1', { objectId: -1, instanceId: 0 }, 30]) {
      expect(() => valueFromJson('objlnk', bad, '/x')).toThrow(/object link/);
    }
  });

  it('refuses bad base64 and wrong JSON types, naming the path and the expected type', () => {
    expect(() => valueFromJson('opaque', 'not base64!', '/5/0/0')).toThrow(
      /\/5\/0\/0: expected a base64 string, got string "not base64!" \(not base64\)/,
    );
    expect(() => valueFromJson('opaque', 'AAA', '/x')).not.toThrow(); // unpadded is fine
    expect(() => valueFromJson('opaque', 'A', '/x')).toThrow(/not base64/);
    expect(() => valueFromJson('opaque', 12, '/x')).toThrow(/base64/);
    expect(() => valueFromJson('string', 5, '/3/0/0')).toThrow(
      '/3/0/0: expected a string, got number 5',
    );
    expect(() => valueFromJson('boolean', 'true', '/x')).toThrow(/expected true or false/);
    expect(() => valueFromJson('boolean', 1, '/x')).toThrow(InvalidValueError);
    expect(() => valueFromJson('corelnk', null, '/x')).toThrow(/got null/);
    expect(() => valueFromJson('string', undefined, '/x')).toThrow(/got nothing/);
    expect(() => valueFromJson('string', ['a'], '/x')).toThrow(/got an array/);
  });
});

describe('nodeToJson', () => {
  it('shapes resources, instances and objects', () => {
    const inst = objectInstance(0, [
      singleResource(0, 'string', 'ACME'),
      multipleResource(7, 'integer', { 0: 3800, 1: 5000 }),
    ]);
    expect(nodeToJson(inst)).toEqual({
      id: 0,
      kind: 'instance',
      resources: [
        { id: 0, kind: 'single', type: 'string', value: 'ACME' },
        { id: 7, kind: 'multiple', type: 'integer', values: { '0': 3800, '1': 5000 } },
      ],
    });
    expect(nodeToJson(lwm2mObject(3, [inst]))).toEqual({
      id: 3,
      kind: 'object',
      instances: [nodeToJson(inst)],
    });
    expect(nodeToJson(resourceInstance(1, 'unsigned', UINT64_MAX))).toEqual({
      id: 1,
      kind: 'resourceInstance',
      type: 'unsigned',
      value: '18446744073709551615',
    });
  });

  it('toJsonValues gives paths, types and ISO times (relative times from now)', () => {
    const values: TimedValue[] = [
      { path: P('/3/0/0'), value: typedValue('string', 'ACME') },
      { path: P('/3303/0/5700'), value: typedValue('float', 21.5), time: 1_714_564_800 },
      { path: P('/3303/0/5700'), value: typedValue('float', 22), time: -10 },
    ];
    const now = Date.parse('2024-06-01T00:00:00Z');
    expect(toJsonValues(values, now)).toEqual([
      { path: '/3/0/0', type: 'string', value: 'ACME' },
      { path: '/3303/0/5700', type: 'float', value: 21.5, time: '2024-05-01T12:00:00.000Z' },
      { path: '/3303/0/5700', type: 'float', value: 22, time: '2024-05-31T23:59:50.000Z' },
    ]);
    expect(timeToIso(Number.NaN)).toBeUndefined();
  });
});

describe('JSON → nodes, typed by the model', () => {
  it('a single resource from { value }, typed by the model', () => {
    expect(resourceFromJson(P('/3/0/14'), { value: '+02:00' }, device)).toEqual(
      singleResource(14, 'string', '+02:00'),
    );
    expect(resourceFromJson(P('/1/0/1'), { value: 300 }, server)).toEqual(
      singleResource(1, 'integer', 300),
    );
    // What GET returns can be PUT back as it is.
    const json = { id: 14, kind: 'single', type: 'string', value: 'Z' };
    expect(resourceFromJson(P('/3/0/14'), json, device)).toEqual(singleResource(14, 'string', 'Z'));
  });

  it('a multiple resource from { values }', () => {
    expect(resourceFromJson(P('/3/0/7'), { values: { '0': 3800, '1': '5000' } }, device)).toEqual(
      multipleResource(7, 'integer', { 0: 3800, 1: 5000 }),
    );
    expect(resourceFromJson(P('/3/0/7'), { values: {} }, device)).toEqual(
      multipleResource(7, 'integer', []),
    );
  });

  it('refuses a wrong type for the model, naming the path and the expected type', () => {
    expect(() => resourceFromJson(P('/1/0/1'), { value: 'x' }, server)).toThrow(
      /\/1\/0\/1: expected a signed 64-bit integer/,
    );
    expect(() => resourceFromJson(P('/3/0/14'), { value: 5 }, device)).toThrow(
      '/3/0/14: expected a string, got number 5',
    );
    expect(() => resourceFromJson(P('/3/0/14'), { type: 'integer', value: 5 }, device)).toThrow(
      /is string, not integer/,
    );
    expect(() => resourceFromJson(P('/3/0/7'), { values: { '0': 'x' } }, device)).toThrow(
      /\/3\/0\/7\/0: expected a signed 64-bit integer/,
    );
  });

  it('refuses an unknown resource of a known object, and executables', () => {
    expect(() => resourceFromJson(P('/3/0/999'), { value: 1 }, device)).toThrow(
      /\/3\/0\/999: object 3 \(Device [\d.]+\) has no resource 999/,
    );
    expect(() => resourceFromJson(P('/3/0/4'), { value: 1 }, device)).toThrow(/executable/);
  });

  it('refuses single/multiple mix-ups and malformed bodies', () => {
    expect(() => resourceFromJson(P('/3/0/7'), { value: 1 }, device)).toThrow(/is multiple/);
    expect(() => resourceFromJson(P('/3/0/14'), { values: { '0': 'a' } }, device)).toThrow(
      /is single/,
    );
    expect(() => resourceFromJson(P('/3/0/14'), { value: 'a', values: {} }, device)).toThrow(
      /exactly one/,
    );
    expect(() => resourceFromJson(P('/3/0/14'), {}, device)).toThrow(/exactly one/);
    expect(() => resourceFromJson(P('/3/0/14'), 'a', device)).toThrow(/expected an object/);
    expect(() => resourceFromJson(P('/3/0/14'), { id: 13, value: 'a' }, device)).toThrow(
      /"id" is number 13 but the path says 14/,
    );
    expect(() => resourceFromJson(P('/3/0/7'), { values: { x: 1 } }, device)).toThrow(
      /"x" is not a resource instance id/,
    );
    expect(() => resourceFromJson(P('/3/0/7'), { values: [1, 2] }, device)).toThrow(
      /"values" must be an object/,
    );
    expect(() => resourceFromJson(P('/3/0/14'), { kind: 'instance', value: 'a' }, device)).toThrow(
      /"kind"/,
    );
    expect(() => resourceFromJson(P('/3/0/14'), { type: 'date', value: 'a' }, device)).toThrow(
      /"type" must be one of/,
    );
  });

  it('unknown objects need a type', () => {
    const unknown = registry.resolve(40000).model; // the registry's stand-in: no resources
    expect(resourceFromJson(P('/40000/0/1'), { type: 'float', value: 2.5 }, unknown)).toEqual(
      singleResource(1, 'float', 2.5),
    );
    expect(
      resourceFromJson(P('/40000/0/1'), { type: 'integer', values: { '3': 7 } }, undefined),
    ).toEqual(multipleResource(1, 'integer', { 3: 7 }));
    expect(() => resourceFromJson(P('/40000/0/1'), { value: 2.5 }, unknown)).toThrow(
      /object 40000 has no model on this server: give the value's "type"/,
    );
  });

  it('a resource instance from { value }', () => {
    expect(resourceInstanceFromJson(P('/3/0/7/1'), { value: 4000 }, device)).toEqual(
      resourceInstance(1, 'integer', 4000),
    );
    expect(() => resourceInstanceFromJson(P('/3/0/14/0'), { value: 'a' }, device)).toThrow(
      /is single/,
    );
    expect(() => resourceInstanceFromJson(P('/3/0/7/1'), { values: {} }, device)).toThrow(
      /expected an object \{ "value"/,
    );
  });

  it('an instance from { resources: [...] }', () => {
    const body = {
      resources: [
        { id: 1, value: 300 },
        { id: 7, values: { '0': 'U' } },
      ],
    };
    // Server object 1.0 has a single Binding (7); the newest version knows it as a string.
    const node = instanceFromJson(P('/1/0'), { resources: [{ id: 1, value: 300 }] }, server);
    expect(node).toEqual(objectInstance(0, [singleResource(1, 'integer', 300)]));
    expect(() => instanceFromJson(P('/1/0'), body, server)).toThrow(
      /\/1\/0\/7: the resource is single/,
    );
    expect(() => instanceFromJson(P('/1/0'), { id: 1, resources: [] }, server)).toThrow(/"id"/);
    expect(() => resourcesFromJson(P('/1/0'), { resources: [{ value: 1 }] }, server)).toThrow(
      /resources\[0\] must be an object with an "id"/,
    );
    expect(() =>
      resourcesFromJson(
        P('/1/0'),
        {
          resources: [
            { id: 1, value: 1 },
            { id: 1, value: 2 },
          ],
        },
        server,
      ),
    ).toThrow(/resource 1 is given twice/);
    expect(() => resourcesFromJson(P('/1/0'), { resources: {} }, server)).toThrow(/"resources"/);
  });

  it('create takes an optional instance id', () => {
    const temp = registry.get(3303)!;
    expect(
      createFromJson(P('/3303'), { id: 2, resources: [{ id: 5700, value: 20 }] }, temp),
    ).toEqual({
      instanceId: 2,
      resources: [singleResource(5700, 'float', 20)],
    });
    expect(createFromJson(P('/3303'), { resources: [] }, temp)).toEqual({ resources: [] });
    expect(() => createFromJson(P('/3303'), { id: -1, resources: [] }, temp)).toThrow(/"id"/);
    expect(() => createFromJson(P('/3303/0'), { resources: [] }, temp)).toThrow(
      /not an object path/,
    );
  });

  it('writeNodeFromJson picks the shape by path level', () => {
    expect(writeNodeFromJson(P('/3/0/14'), { value: 'Z' }, device).kind).toBe('singleResource');
    expect(writeNodeFromJson(P('/3/0/7/0'), { value: 1 }, device).kind).toBe('resourceInstance');
    expect(writeNodeFromJson(P('/3/0'), { resources: [] }, device).kind).toBe('instance');
    expect(() => writeNodeFromJson(P('/3'), { instances: [] }, device)).toThrow(/cannot write \/3/);
  });

  it('composite write values', () => {
    const values = pathValuesFromJson(
      [
        { path: '/3/0/14', value: '+01' },
        { path: '/3/0/7', values: { '0': 1, '2': 3 } },
        { path: '/3/0/7/5', value: '6' },
      ],
      (id) => registry.get(id),
    );
    expect(values.map((v) => [v.path.toString(), v.value])).toEqual([
      ['/3/0/14', typedValue('string', '+01')],
      ['/3/0/7/0', typedValue('integer', 1n)],
      ['/3/0/7/2', typedValue('integer', 3n)],
      ['/3/0/7/5', typedValue('integer', 6n)],
    ]);
    const models = (id: number) => registry.get(id);
    expect(() => pathValuesFromJson([], models)).toThrow(/non-empty array/);
    expect(() => pathValuesFromJson({}, models)).toThrow(/non-empty array/);
    expect(() => pathValuesFromJson([{ value: 1 }], models)).toThrow(/values\[0\].*"path"/);
    expect(() => pathValuesFromJson([{ path: '/3/0', value: 1 }], models)).toThrow(
      /not a resource or resource instance path/,
    );
    expect(() => pathValuesFromJson([{ path: '/3/x/1', value: 1 }], models)).toThrow(
      InvalidPathError,
    );
    expect(() => pathValuesFromJson([{ path: '/3/0/14', value: 1 }], models)).toThrow(
      '/3/0/14: expected a string, got number 1',
    );
  });

  it('round-trips every data type through node JSON', () => {
    const types: [DataType, unknown][] = [
      ['string', 's'],
      ['integer', -7n],
      ['unsigned', UINT64_MAX],
      ['float', 1.25],
      ['boolean', true],
      ['opaque', new Uint8Array([9, 8, 7])],
      ['time', new Date(1_000_000_000_000)],
      ['objlnk', { objectId: 1, instanceId: 0 }],
      ['corelnk', '</1>'],
    ];
    for (const [type, value] of types) {
      const node = singleResource(1, type, value as never);
      const json = JSON.parse(JSON.stringify(nodeToJson(node)));
      expect(resourceFromJson(P('/40000/0/1'), json, undefined)).toEqual(node);
    }
  });
});
