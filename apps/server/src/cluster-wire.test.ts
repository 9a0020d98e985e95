import {
  ContentFormat,
  LwM2mPath,
  multipleResource,
  objectInstance,
  singleResource,
} from '@lwm2m-ts/core';
import { describe, expect, it } from 'vitest';
import { fromWire, toWire } from './cluster-wire.js';

const roundTrip = (v: unknown) => fromWire(JSON.parse(JSON.stringify(toWire(v))));

describe('cluster wire form', () => {
  it('carries every LwM2M value type through JSON', () => {
    const node = objectInstance(0, [
      singleResource(0, 'string', 'ACME'),
      singleResource(9, 'integer', 2n ** 62n),
      singleResource(10, 'unsigned', 18_446_744_073_709_551_615n),
      singleResource(13, 'time', new Date(1_700_000_000_000)),
      singleResource(5, 'float', Number.NaN),
      singleResource(6, 'boolean', true),
      singleResource(7, 'opaque', new Uint8Array([0, 1, 254, 255])),
      singleResource(8, 'objlnk', { objectId: 3, instanceId: 0 }),
      multipleResource(11, 'integer', { 0: -1n, 3: 7n }),
    ]);
    expect(roundTrip(node)).toEqual(node);
    const values = [
      {
        path: LwM2mPath.parse('/3303/0/5700'),
        value: { type: 'float', value: -Infinity },
        time: 5,
      },
    ];
    const back = roundTrip(values) as typeof values;
    expect(back[0]!.path).toBeInstanceOf(LwM2mPath);
    expect(back).toEqual(values);
    expect(
      roundTrip({ code: '2.05', contentFormat: ContentFormat.SENML_JSON, x: undefined }),
    ).toEqual({
      code: '2.05',
      contentFormat: ContentFormat.SENML_JSON,
    });
  });

  it('keeps data that looks like a tag as data', () => {
    const reg = { extraParameters: { $big: '1', $$x: 'y', plain: 'z' }, list: [{ $path: '/3' }] };
    const wire = toWire(reg) as { extraParameters: Record<string, unknown> };
    expect(Object.keys(wire.extraParameters)).toEqual(['$$big', '$$$x', 'plain']);
    expect(roundTrip(reg)).toEqual(reg);
  });

  it('refuses a malformed tag', () => {
    expect(() => fromWire({ $big: '1.5' })).toThrow(TypeError);
    expect(() => fromWire({ $num: 'many' })).toThrow(TypeError);
  });
});
