import { LwM2mPath, singleResource } from '@lwm2m-ts/core';
import { describe, expect, it, vi } from 'vitest';
import { ObjectTree } from '../object-tree.js';
import { serverObject } from './server.js';

const origin = { kind: 'server', shortServerId: 101 } as const;
const p = (s: string) => LwM2mPath.parse(s);

describe('serverObject', () => {
  it('holds the accounts with defaults', () => {
    const srv = serverObject([
      { shortServerId: 101, lifetime: 300, binding: 'UQ', defaultMinPeriod: 1 },
      { shortServerId: 102 },
    ]);
    expect(srv.accounts()).toEqual([
      {
        instanceId: 0,
        shortServerId: 101,
        lifetime: 300,
        defaultMinPeriod: 1,
        defaultMaxPeriod: undefined,
        disableTimeout: 86400,
        notificationStoring: true,
        binding: 'UQ',
      },
      {
        instanceId: 1,
        shortServerId: 102,
        lifetime: 86400,
        defaultMinPeriod: undefined,
        defaultMaxPeriod: undefined,
        disableTimeout: 86400,
        notificationStoring: true,
        binding: 'U',
      },
    ]);
    expect(srv.byShortServerId(102)?.instanceId).toBe(1);
  });

  it('wires Registration Update Trigger, Disable and Bootstrap-Request Trigger to hooks', async () => {
    const onRegistrationUpdateTrigger = vi.fn();
    const onDisable = vi.fn();
    const onBootstrapRequestTrigger = vi.fn();
    const tree = new ObjectTree().add(
      serverObject([{ shortServerId: 101, disableTimeout: 60 }], {
        onRegistrationUpdateTrigger,
        onDisable,
        onBootstrapRequestTrigger,
      }),
    );
    await tree.execute(p('/1/0/8'), '', origin);
    await tree.execute(p('/1/0/4'), '', origin);
    await tree.execute(p('/1/0/9'), '', origin);
    expect(onRegistrationUpdateTrigger).toHaveBeenCalledWith(101, 0);
    expect(onDisable).toHaveBeenCalledWith(101, 60, 0);
    expect(onBootstrapRequestTrigger).toHaveBeenCalledWith(101, 0);
  });

  it('lets a server change the lifetime but not its short server id, and reports the change', async () => {
    const srv = serverObject([{ shortServerId: 101, lifetime: 300 }]);
    const tree = new ObjectTree().add(srv);
    const changes: string[] = [];
    tree.onChange((paths) => changes.push(...paths.map(String)));
    await tree.write(p('/1/0/1'), singleResource(1, 'integer', 600), 'replace', origin);
    expect(srv.account(0)?.lifetime).toBe(600);
    expect(changes).toEqual(['/1/0/1']);
    await expect(
      tree.write(p('/1/0/0'), singleResource(0, 'integer', 5), 'replace', origin),
    ).rejects.toMatchObject({ coapCode: '4.05' });
  });
});
