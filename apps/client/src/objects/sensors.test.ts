import { LwM2mPath } from '@lwm2m-ts/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ObjectTree } from '../object-tree.js';
import { genericSensor, temperatureSensor } from './sensors.js';

afterEach(() => {
  vi.useRealTimers();
});

/** A deterministic source in [0, 1). */
function sequence(values: number[]) {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('temperatureSensor', () => {
  it('starts at room temperature in °C with its range', async () => {
    const t = temperatureSensor(undefined, { now: () => 1000 });
    expect(t.model.id).toBe(3303);
    expect(t.get(0, 5700)).toBe(21);
    expect(t.get(0, 5701)).toBe('Cel');
    expect(t.get(0, 5603)).toBe(-40);
    expect(t.get(0, 5604)).toBe(85);
    expect(t.get(0, 5601)).toBe(21);
    expect(t.get(0, 5602)).toBe(21);
    expect(t.get(0, 5518)).toEqual(new Date(1000));
    const node = await new ObjectTree()
      .add(t)
      .read(LwM2mPath.parse('/3303/0/5700'), { kind: 'server', shortServerId: 1 });
    expect(node).toMatchObject({ type: 'float', value: 21 });
  });

  it('tracks min and max and resets them with 5605', async () => {
    const t = temperatureSensor([
      { value: 20 },
      { instanceId: 4, value: 10, minRange: 0, maxRange: 50 },
    ]);
    expect(t.instanceIds()).toEqual([0, 4]);
    t.setValue(0, 25);
    t.setValue(0, 15);
    expect([t.get(0, 5601), t.get(0, 5602)]).toEqual([15, 25]);
    await new ObjectTree()
      .add(t)
      .execute(LwM2mPath.parse('/3303/0/5605'), '', { kind: 'server', shortServerId: 1 });
    expect([t.get(0, 5601), t.get(0, 5602)]).toEqual([15, 15]);
    expect(() => t.setValue(0, Number.NaN)).toThrow(/finite/);
  });

  it('random-walks inside its range, notifying each change, until stopped', () => {
    vi.useFakeTimers();
    // Always the largest step up: 20 → 20.5 → … clamped at the range maximum 21.
    const t = temperatureSensor(
      { value: 20, minRange: 0, maxRange: 21, step: 0.5 },
      { random: sequence([0.999999]) },
    );
    const changed: string[] = [];
    new ObjectTree().add(t).onChange((paths) => changed.push(paths.map(String).join(' ')));
    t.start(500);
    vi.advanceTimersByTime(1500);
    expect(t.value(0)).toBe(21);
    expect(t.get(0, 5602)).toBe(21);
    expect(changed[0]).toContain('/3303/0/5700');
    const count = changed.length;
    t.stop();
    vi.advanceTimersByTime(5000);
    expect(changed).toHaveLength(count);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('walks down too and never leaves the range', () => {
    const t = temperatureSensor(
      { value: 1, minRange: 0, maxRange: 10, step: 3 },
      { random: sequence([0, 0.5, 0.1]) },
    );
    for (let i = 0; i < 50; i++) {
      t.tick();
      expect(t.value(0)).toBeGreaterThanOrEqual(0);
      expect(t.value(0)).toBeLessThanOrEqual(10);
    }
    expect(t.get(0, 5601)).toBe(0);
  });

  it('refuses an empty range', () => {
    expect(() => temperatureSensor({ minRange: 5, maxRange: 5 })).toThrow(/range/);
  });
});

describe('genericSensor', () => {
  it('is object 3300 with its sensor type and units', async () => {
    const g = genericSensor({ units: 'ppm', sensorType: 'CO2', minRange: 400, maxRange: 5000 });
    expect(g.model.id).toBe(3300);
    expect(g.get(0, 5751)).toBe('CO2');
    expect(g.get(0, 5700)).toBe(2700);
    await g.close();
  });

  it('keeps to the resources its model version has', () => {
    const g = genericSensor({ value: 3 }, { version: '1.0' });
    expect(g.model.version).toBe('1.0');
    expect(g.value(0)).toBe(3);
    for (const rid of [5700, 5601, 5602]) expect(g.model.resources.has(rid)).toBe(true);
  });
});
