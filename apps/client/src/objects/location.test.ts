import { LwM2mPath } from '@lwm2m-ts/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ObjectTree } from '../object-tree.js';
import { locationObject } from './location.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('locationObject', () => {
  it('holds a fix with its time', async () => {
    const loc = locationObject({
      latitude: 48.85,
      longitude: 2.35,
      altitude: 35,
      radius: 5,
      now: () => 5000,
    });
    const node = await new ObjectTree()
      .add(loc)
      .read(LwM2mPath.parse('/6/0'), { kind: 'server', shortServerId: 1 });
    expect(node).toMatchObject({ kind: 'instance' });
    expect(loc.get(0, 0)).toBe(48.85);
    expect(loc.get(0, 1)).toBe(2.35);
    expect(loc.get(0, 2)).toBe(35);
    expect(loc.get(0, 3)).toBe(5);
    expect(loc.get(0, 5)).toEqual(new Date(5000));
    expect(() => loc.moveTo(91, 0)).toThrow(/latitude/);
    expect(() => loc.moveTo(0, 181)).toThrow(/longitude/);
  });

  it('moves north at its speed, one fix per tick', () => {
    vi.useFakeTimers();
    let now = 0;
    const loc = locationObject({
      latitude: 0,
      longitude: 10,
      speed: 111.19,
      heading: 0,
      now: () => now,
    });
    loc.start(1000);
    now = 1000;
    vi.advanceTimersByTime(1000);
    // 111.19 m north is 0.001° of latitude.
    expect(loc.latitude).toBeCloseTo(0.001, 5);
    expect(loc.longitude).toBeCloseTo(10, 9);
    expect(loc.get(0, 5)).toEqual(new Date(1000));
    loc.setMotion(111.19, 90);
    vi.advanceTimersByTime(1000);
    expect(loc.longitude).toBeCloseTo(10.001, 5);
    loc.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('folds back over the pole and the antimeridian', () => {
    vi.useFakeTimers();
    const loc = locationObject({
      latitude: 89.9999,
      longitude: 179.9999,
      speed: 100_000,
      heading: 45,
    });
    loc.start(1000);
    vi.advanceTimersByTime(1000);
    expect(loc.latitude).toBeLessThanOrEqual(90);
    expect(loc.longitude).toBeGreaterThanOrEqual(-180);
    expect(loc.longitude).toBeLessThanOrEqual(180);
    void loc.close();
  });
});
