import {
  InvalidValueError,
  type LwM2mResource,
  MethodNotAllowedError,
  multipleResource,
  NotFoundError,
  singleResource,
} from '@lwm2m-ts/core';
import { describe, expect, it, vi } from 'vitest';
import { builtinModel, chooseModel, InstanceObject, sameResource } from './instance-object.js';
import type { RequestOrigin } from './object-enabler.js';
import { TEST_MODEL, testValues } from './test-object-models.js';

const server: RequestOrigin = { kind: 'server', shortServerId: 1 };
const local: RequestOrigin = { kind: 'local' };

function device() {
  return new InstanceObject(builtinModel(3), {
    instances: { 0: { 0: 'ACME', 7: { 0: 3800, 1: 5000 }, 11: [0], 16: 'U' } },
  });
}

describe('InstanceObject values', () => {
  it('types values by the model: integers become bigint, multiple resources from records', async () => {
    const d = device();
    expect(d.instanceIds()).toEqual([0]);
    expect(d.get(0, 0)).toBe('ACME');
    expect(d.get(0, 7)).toEqual(
      new Map([
        [0, 3800n],
        [1, 5000n],
      ]),
    );
    const [voltage] = await d.read(0, 7, server);
    expect(voltage).toEqual(multipleResource(7, 'integer', { 0: 3800n, 1: 5000n }));
  });

  it('takes every data type of the test model', async () => {
    const o = new InstanceObject(TEST_MODEL, { instances: { 0: testValues() } });
    const all = await o.read(0, undefined, local);
    expect(all.map((r) => [r.id, r.kind === 'singleResource' ? r.type : 'multiple'])).toEqual([
      [0, 'string'],
      [1, 'integer'],
      [2, 'unsigned'],
      [3, 'float'],
      [4, 'boolean'],
      [5, 'opaque'],
      [6, 'time'],
      [7, 'objlnk'],
      [8, 'corelnk'],
      [9, 'multiple'],
      [11, 'string'],
      [12, 'string'],
    ]);
  });

  it('takes multiple resources as a Map or an array (index = instance id)', () => {
    const o = new InstanceObject(TEST_MODEL);
    o.addInstance(0, { 0: 'a', 9: new Map([[5, 1]]) });
    expect(o.get(0, 9)).toEqual(new Map([[5, 1n]]));
    o.set(0, 9, [7, undefined, 9]);
    expect(o.get(0, 9)).toEqual(
      new Map([
        [0, 7n],
        [2, 9n],
      ]),
    );
  });

  it.each([
    ['a string where the model says integer', 1, 'x'],
    ['a fractional number for an integer', 1, 1.5],
    ['a number for a string', 0, 5],
    ['one value for a multiple resource', 9, 5],
    ['instances for a single resource', 0, { 0: 'a' }],
    ['a value for an executable resource', 10, 1],
    ['a string for a time', 6, '2020'],
  ])('refuses %s with InvalidValueError', (_, rid, value) => {
    const o = new InstanceObject(TEST_MODEL, { instances: { 0: { 0: 'a' } } });
    expect(() => o.set(0, rid, value as never)).toThrow(InvalidValueError);
  });

  it('refuses a resource the model does not have', () => {
    expect(() => new InstanceObject(TEST_MODEL, { instances: { 0: { 99: 'x' } } })).toThrow(
      /resource 99 is not in the model/,
    );
  });

  it('set emits a change only when the value differs; unset removes', () => {
    const d = device();
    const changes: [number, readonly number[] | undefined][] = [];
    const off = d.onChange((i, r) => changes.push([i, r]));
    d.set(0, 0, 'ACME');
    d.set(0, 7, { 0: 3800, 1: 5000 });
    expect(changes).toEqual([]);
    d.set(0, 0, 'Other');
    d.setMany(0, { 9: 80, 0: 'Other' });
    d.unset(0, 9);
    expect(changes).toEqual([
      [0, [0]],
      [0, [9]],
      [0, [9]],
    ]);
    off();
    d.set(0, 0, 'Third');
    expect(changes).toHaveLength(3);
  });

  it('set on a missing instance is NotFoundError', () => {
    expect(() => device().set(1, 0, 'x')).toThrow(NotFoundError);
  });
});

describe('InstanceObject as an enabler', () => {
  it('reads one resource; an absent one is NotFoundError', async () => {
    const d = device();
    expect(await d.read(0, 0, server)).toEqual([singleResource(0, 'string', 'ACME')]);
    await expect(d.read(0, 1, server)).rejects.toThrow(NotFoundError);
    await expect(d.read(5, 0, server)).rejects.toThrow(NotFoundError);
  });

  it('reads an instance: readable resources for a server, all for the device', async () => {
    const o = new InstanceObject(TEST_MODEL, { instances: { 0: testValues() } });
    const forServer = (await o.read(0, undefined, server)).map((r) => r.id);
    expect(forServer).not.toContain(11);
    expect(forServer).toContain(12);
    expect((await o.read(0, undefined, local)).map((r) => r.id)).toContain(11);
  });

  it('computes onRead resources at read time', async () => {
    let n = 0;
    const o = new InstanceObject(builtinModel(3), {
      instances: { 0: {} },
      onRead: { 9: () => ++n, 13: () => new Date(5000) },
    });
    expect(await o.read(0, 9, server)).toEqual([singleResource(9, 'integer', 1)]);
    const all = await o.read(0, undefined, server);
    expect(all).toEqual([
      singleResource(9, 'integer', 2),
      singleResource(13, 'time', new Date(5000)),
    ]);
  });

  it('replace resets writable resources not given; update changes only what is given', async () => {
    const o = new InstanceObject(TEST_MODEL, { instances: { 0: testValues() } });
    const changes: (readonly number[] | undefined)[] = [];
    o.onChange((_, r) => changes.push(r));
    await o.write(0, [singleResource(3, 'float', 2.5)], 'update', server);
    expect(o.get(0, 3)).toBe(2.5);
    expect(o.get(0, 1)).toBe(42n);
    await o.write(0, [singleResource(0, 'string', 'new')], 'replace', server);
    expect(o.get(0, 0)).toBe('new');
    // Writable ones not given are gone; read-only ones (2, 8, 12) stay.
    expect(o.get(0, 1)).toBeUndefined();
    expect(o.get(0, 9)).toBeUndefined();
    expect(o.get(0, 2)).toBe(2n ** 63n);
    expect(o.get(0, 12)).toBe('label');
    expect(changes).toEqual([[3], [0, 1, 3, 4, 5, 6, 7, 9, 11]]);
  });

  it('converts written nodes to the model type and refuses what cannot be', async () => {
    const o = new InstanceObject(TEST_MODEL, { instances: { 0: { 0: 'a' } } });
    await o.write(0, [singleResource(3, 'integer', 7)], 'update', server);
    expect(o.get(0, 3)).toBe(7);
    await expect(o.write(0, [singleResource(1, 'string', 'x')], 'update', server)).rejects.toThrow(
      InvalidValueError,
    );
  });

  it('onWrite sees the typed resources first and can refuse', async () => {
    const seen: LwM2mResource[][] = [];
    const o = new InstanceObject(TEST_MODEL, {
      instances: { 0: { 0: 'a' } },
      onWrite: (_, resources) => {
        seen.push([...resources]);
        if (resources.some((r) => r.id === 0 && r.kind === 'singleResource' && r.value === 'no')) {
          throw new MethodNotAllowedError('refused');
        }
      },
    });
    await o.write(0, [singleResource(1, 'integer', 5)], 'update', server);
    await expect(o.write(0, [singleResource(0, 'string', 'no')], 'update', server)).rejects.toThrow(
      'refused',
    );
    expect(o.get(0, 0)).toBe('a');
    expect(seen).toHaveLength(2);
  });

  it('executes through onExecute with the arguments; other resources are 4.05', async () => {
    const onExecute = vi.fn();
    const o = new InstanceObject(builtinModel(3), {
      instances: { 0: {} },
      onExecute: { 4: onExecute },
    });
    await o.execute(0, 4, "0='x'", server);
    expect(onExecute).toHaveBeenCalledWith(0, "0='x'", server);
    await o.execute(0, 5, '', server); // executable without a handler: nothing to do
    await expect(o.execute(0, 0, '', server)).rejects.toThrow(MethodNotAllowedError);
  });

  it('creates and deletes instances, emitting whole-instance changes', async () => {
    const o = new InstanceObject(TEST_MODEL);
    const changes: [number, readonly number[] | undefined][] = [];
    o.onChange((i, r) => changes.push([i, r]));
    await o.create(3, [singleResource(0, 'string', 'x')], server);
    await expect(o.create(3, [], server)).rejects.toThrow(InvalidValueError);
    expect(o.instanceIds()).toEqual([3]);
    await o.delete(3, server);
    await expect(o.delete(3, server)).rejects.toThrow(NotFoundError);
    expect(changes).toEqual([
      [3, undefined],
      [3, undefined],
    ]);
  });

  it('refuses a second instance of a single-instance object with 4.05', async () => {
    const d = device();
    const err = await d.create(1, [], server).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MethodNotAllowedError);
    expect((err as MethodNotAllowedError).coapCode).toBe('4.05');
    expect(() => d.addInstance(1)).toThrow(MethodNotAllowedError);
  });

  it('lists supported resources for Discover: values, computed and executable with handlers', () => {
    const o = new InstanceObject(builtinModel(3), {
      instances: { 0: { 0: 'A' } },
      onRead: { 13: () => new Date() },
      onExecute: { 5: () => {} },
    });
    // 4 (Reboot) is mandatory, 5 has a handler, 12 neither.
    expect(o.resourceIds(0)).toEqual([0, 4, 5, 13]);
  });
});

describe('models', () => {
  it('builtinModel picks a version or the latest, and names what it lacks', () => {
    expect(builtinModel(3, '1.0').version).toBe('1.0');
    expect(builtinModel(3).version).toBe('1.2');
    expect(() => builtinModel(3, '9.9')).toThrow(/known versions: 1.0, 1.1, 1.2/);
    expect(() => chooseModel(4, { model: builtinModel(3) })).toThrow(/object 3, not 4/);
  });

  it('sameResource compares values, not identity', () => {
    const a = singleResource(5, 'opaque', new Uint8Array([1, 2]));
    expect(sameResource(a, singleResource(5, 'opaque', new Uint8Array([1, 2])))).toBe(true);
    expect(sameResource(a, singleResource(5, 'opaque', new Uint8Array([1, 3])))).toBe(false);
    expect(
      sameResource(
        singleResource(6, 'time', new Date(1000)),
        singleResource(6, 'time', new Date(1000)),
      ),
    ).toBe(true);
    expect(sameResource(a, undefined)).toBe(false);
  });
});

describe('tickers', () => {
  class Ticking extends InstanceObject {
    ticks = 0;
    begin(ms: number) {
      this.startTicker(ms, () => this.ticks++);
    }
  }

  it('runs until close and refuses a bad interval', async () => {
    vi.useFakeTimers();
    try {
      const t = new Ticking(TEST_MODEL);
      expect(() => t.begin(0)).toThrow(InvalidValueError);
      t.begin(100);
      expect(t.running).toBe(true);
      vi.advanceTimersByTime(350);
      expect(t.ticks).toBe(3);
      await t.close();
      expect(t.running).toBe(false);
      vi.advanceTimersByTime(1000);
      expect(t.ticks).toBe(3);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
