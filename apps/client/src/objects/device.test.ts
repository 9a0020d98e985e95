import { LwM2mPath, singleResource } from '@lwm2m-ts/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ObjectTree } from '../object-tree.js';
import { deviceObject, PowerSource } from './device.js';

const server = { kind: 'server', shortServerId: 1 } as const;
const p = (s: string) => LwM2mPath.parse(s);

afterEach(() => {
  vi.useRealTimers();
});

describe('deviceObject', () => {
  it('holds the identity, power sources and defaults', () => {
    const dev = deviceObject({
      manufacturer: 'ACME',
      modelNumber: 'M1',
      serialNumber: 'S1',
      firmwareVersion: '1.0.0',
      powerSources: [
        { type: PowerSource.dc, voltage: 5000, current: 100 },
        { type: PowerSource.internalBattery, voltage: 3700 },
      ],
      utcOffset: '+01:00',
      timezone: 'Europe/Paris',
    });
    expect(dev.instanceIds()).toEqual([0]);
    expect(dev.get(0, 0)).toBe('ACME');
    expect(dev.get(0, 6)).toEqual(
      new Map([
        [0, 0n],
        [1, 1n],
      ]),
    );
    expect(dev.get(0, 7)).toEqual(
      new Map([
        [0, 5000n],
        [1, 3700n],
      ]),
    );
    expect(dev.get(0, 8)).toEqual(
      new Map([
        [0, 100n],
        [1, 0n],
      ]),
    );
    expect(dev.get(0, 11)).toEqual(new Map([[0, 0n]]));
    expect(dev.get(0, 16)).toBe('U');
    expect(dev.get(0, 14)).toBe('+01:00');
  });

  it('current time follows the clock and a server write sets its offset', async () => {
    let now = 1_000_000_000_000;
    const dev = deviceObject({ now: () => now });
    const tree = new ObjectTree().add(dev);
    expect(await tree.read(p('/3/0/13'), server)).toEqual(
      singleResource(13, 'time', new Date(now)),
    );
    await tree.write(
      p('/3/0/13'),
      singleResource(13, 'time', new Date(now + 3_600_000)),
      'replace',
      server,
    );
    now += 10_000;
    expect(dev.currentTime().getTime()).toBe(now + 3_600_000);
    const read = await tree.read(p('/3/0/13'), server);
    expect(read).toEqual(singleResource(13, 'time', new Date(now + 3_600_000)));
  });

  it('runs reboot and factory reset after the response, and reports hook failures', async () => {
    const onReboot = vi.fn();
    const onHookError = vi.fn();
    const dev = deviceObject({
      onReboot,
      onFactoryReset: () => {
        throw new Error('no');
      },
      onHookError,
    });
    const tree = new ObjectTree().add(dev);
    await tree.execute(p('/3/0/4'), '', server);
    expect(onReboot).not.toHaveBeenCalled();
    await new Promise((r) => setImmediate(r));
    expect(onReboot).toHaveBeenCalledTimes(1);
    await tree.execute(p('/3/0/5'), '', server);
    await vi.waitFor(() => expect(onHookError).toHaveBeenCalledTimes(1));
  });

  it('keeps error codes and resets them with /3/0/12', async () => {
    const dev = deviceObject();
    const tree = new ObjectTree().add(dev);
    dev.addErrorCode(2);
    dev.addErrorCode(5);
    dev.addErrorCode(2);
    expect(dev.get(0, 11)).toEqual(
      new Map([
        [0, 5n],
        [1, 2n],
      ]),
    );
    expect(() => dev.addErrorCode(33)).toThrow(/1..32/);
    await tree.execute(p('/3/0/12'), '', server);
    expect(dev.get(0, 11)).toEqual(new Map([[0, 0n]]));
  });

  it('simulates the battery until stopped, and close clears the timer', async () => {
    vi.useFakeTimers();
    const dev = deviceObject({ batteryLevel: 2 });
    const changes: string[] = [];
    new ObjectTree().add(dev).onChange((paths) => changes.push(...paths.map(String)));
    dev.start(1000);
    vi.advanceTimersByTime(3000);
    // 2 → 1 → 0 → recharged to 100
    expect(dev.get(0, 9)).toBe(100n);
    expect(changes).toEqual(['/3/0/9', '/3/0/9', '/3/0/9']);
    dev.stop();
    vi.advanceTimersByTime(5000);
    expect(dev.get(0, 9)).toBe(100n);
    dev.start(1000);
    await dev.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('works with the 1.0 model', () => {
    const dev = deviceObject({ version: '1.0', manufacturer: 'Old', hardwareVersion: 'h' });
    expect(dev.model.version).toBe('1.0');
    expect(dev.get(0, 0)).toBe('Old');
  });
});
