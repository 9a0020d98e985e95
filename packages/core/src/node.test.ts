import { describe, expect, it } from 'vitest';
import { InvalidValueError } from './errors.js';
import {
  flattenNode,
  getInstance,
  getResource,
  getResourceInstance,
  type LwM2mMultipleResource,
  lwm2mObject,
  multipleResource,
  nodeFromValues,
  nodeLevel,
  objectInstance,
  resourceInstance,
  singleResource,
} from './node.js';
import { LwM2mPath } from './path.js';

const device = objectInstance(0, [
  singleResource(0, 'string', 'Open Mobile Alliance'),
  singleResource(9, 'integer', 100),
  multipleResource(6, 'integer', { 0: 1, 1: 5 }),
  singleResource(13, 'time', new Date(1_367_491_215_000)),
]);

describe('node model', () => {
  it('builds sorted, frozen, typed nodes', () => {
    expect(device.resources.map((r) => r.id)).toEqual([0, 6, 9, 13]);
    expect(Object.isFrozen(device)).toBe(true);
    expect(Object.isFrozen(device.resources)).toBe(true);
    const battery = getResource(device, 9);
    expect(battery?.kind).toBe('singleResource');
    if (battery?.kind === 'singleResource' && battery.type === 'integer') {
      // narrowing on `type` gives the value's TypeScript type
      const v: bigint = battery.value;
      expect(v).toBe(100n);
    } else {
      expect.unreachable();
    }
    const power = getResource(device, 6) as LwM2mMultipleResource;
    expect(getResourceInstance(power, 1)?.value).toBe(5n);
    expect(getResource(device, 99)).toBeUndefined();
    expect(nodeLevel(power)).toBe('resource');
  });

  it('refuses values of the wrong type or range', () => {
    expect(() => singleResource(0, 'integer', 'x' as never)).toThrow(InvalidValueError);
    expect(() => singleResource(0, 'integer', 1.5)).toThrow(/safe integer/);
    expect(() => singleResource(0, 'integer', 2n ** 63n)).toThrow(/not a valid integer/);
    expect(() => singleResource(0, 'unsigned', -1n)).toThrow(/not a valid unsigned/);
    expect(singleResource(0, 'unsigned', 2n ** 64n - 1n).value).toBe(2n ** 64n - 1n);
    expect(() => singleResource(0, 'time', new Date(Number.NaN))).toThrow(InvalidValueError);
    expect(() => singleResource(0, 'objlnk', { objectId: 70000, instanceId: 0 })).toThrow(
      InvalidValueError,
    );
    expect(() => singleResource(0, 'opaque', [1, 2] as never)).toThrow(InvalidValueError);
  });

  it('refuses bad ids and duplicates', () => {
    expect(() => singleResource(65536, 'string', 'x')).toThrow(/0..65535/);
    expect(() =>
      objectInstance(0, [singleResource(1, 'string', 'a'), singleResource(1, 'string', 'b')]),
    ).toThrow(/duplicate instance 0 resource id 1/);
    expect(() => multipleResource(6, 'integer', [resourceInstance(0, 'string', 'x')])).toThrow(
      /must be a integer resource instance/,
    );
    expect(() => lwm2mObject(3, [device, device])).toThrow(/duplicate/);
    expect(() => objectInstance(0, [device as never])).toThrow(/not a resource/);
  });

  it('accepts an empty multiple resource and entry lists', () => {
    expect(multipleResource(7, 'integer', []).instances).toEqual([]);
    const r = multipleResource(1, 'string', [
      [3, 'c'],
      [1, 'a'],
    ]);
    expect(r.instances.map((i) => [i.id, i.value])).toEqual([
      [1, 'a'],
      [3, 'c'],
    ]);
  });

  it('flattens and regroups at every level', () => {
    const obj = lwm2mObject(3, [device, objectInstance(1, [singleResource(0, 'string', 'x')])]);
    const flat = flattenNode(LwM2mPath.parse('/3'), obj);
    expect(flat.map((v) => v.path.toString())).toEqual([
      '/3/0/0',
      '/3/0/6/0',
      '/3/0/6/1',
      '/3/0/9',
      '/3/0/13',
      '/3/1/0',
    ]);
    expect(nodeFromValues(LwM2mPath.parse('/3'), flat)).toEqual(obj);
    const inst = nodeFromValues(LwM2mPath.parse('/3/0'), flat.slice(0, 5));
    expect(inst).toEqual(device);
    expect(getInstance(obj, 1)?.resources).toHaveLength(1);
    const res = nodeFromValues(LwM2mPath.parse('/3/0/6'), flat.slice(1, 3));
    expect(res).toEqual(getResource(device, 6));
    const ri = nodeFromValues(LwM2mPath.parse('/3/0/6/1'), flat.slice(2, 3));
    expect(ri).toEqual(resourceInstance(1, 'integer', 5));
  });

  it('refuses values that cannot form one node', () => {
    const v = (p: string, value: string) => ({
      path: LwM2mPath.parse(p),
      value: { type: 'string' as const, value },
    });
    const at = LwM2mPath.parse('/3/0');
    expect(() => nodeFromValues(at, [v('/4/0/1', 'a')])).toThrow(/not a resource path under/);
    expect(() => nodeFromValues(at, [v('/3/0/1', 'a'), v('/3/0/1', 'b')])).toThrow(/twice/);
    expect(() => nodeFromValues(at, [v('/3/0/1', 'a'), v('/3/0/1/0', 'b')])).toThrow(
      /both single and multiple/,
    );
    expect(() => nodeFromValues(LwM2mPath.parse('/3/0/5'), [v('/3/0/1', 'a')])).toThrow(
      /not a resource path/,
    );
    expect(() => flattenNode(LwM2mPath.parse('/3/1'), device)).toThrow(/does not live at/);
  });
});
