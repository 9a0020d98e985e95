import { LwM2mPath, singleResource } from '@lwm2m-ts/core';
import { describe, expect, it } from 'vitest';
import { ObjectTree } from '../object-tree.js';
import { SecurityMode, securityObject } from './security.js';

const server = { kind: 'server', shortServerId: 1 } as const;
const bootstrap = { kind: 'bootstrap' } as const;

describe('securityObject', () => {
  it('holds the accounts with their credentials', () => {
    const sec = securityObject([
      { serverUri: 'coaps://bs:5784', bootstrapServer: true, pskIdentity: 'bs-id', pskKey: '0a0b' },
      { serverUri: 'coap://dm:5683', shortServerId: 101, clientHoldOffTime: 5 },
    ]);
    expect(sec.instanceIds()).toEqual([0, 1]);
    const [bs, dm] = sec.accounts();
    expect(bs).toMatchObject({
      serverUri: 'coaps://bs:5784',
      bootstrapServer: true,
      securityMode: SecurityMode.psk,
      shortServerId: undefined,
    });
    expect(new TextDecoder().decode(bs!.publicKeyOrIdentity)).toBe('bs-id');
    expect([...bs!.secretKey]).toEqual([10, 11]);
    expect(dm).toMatchObject({
      instanceId: 1,
      serverUri: 'coap://dm:5683',
      bootstrapServer: false,
      securityMode: SecurityMode.nosec,
      shortServerId: 101,
      clientHoldOffTime: 5,
    });
    expect(dm!.secretKey).toHaveLength(0);
    expect(sec.account(7)).toBeUndefined();
  });

  it('keeps given instance ids and fills the gaps in order', () => {
    const sec = securityObject([
      { instanceId: 0, serverUri: 'coap://a', shortServerId: 1 },
      { serverUri: 'coap://b', shortServerId: 2 },
      { instanceId: 5, serverUri: 'coap://c', shortServerId: 3 },
    ]);
    expect(sec.instanceIds()).toEqual([0, 1, 5]);
  });

  it('refuses an account without short server id, a bad mode or a bad hex key', () => {
    expect(() => securityObject([{ serverUri: 'coap://a' }])).toThrow(/short server id/);
    expect(() =>
      securityObject([{ serverUri: 'coap://a', shortServerId: 1, securityMode: 'magic' as never }]),
    ).toThrow(/security mode/);
    expect(() =>
      securityObject([
        { serverUri: 'coap://a', shortServerId: 1, pskIdentity: 'i', pskKey: 'xyz' },
      ]),
    ).toThrow(/hex/);
  });

  it('is invisible to DM servers and writable by the bootstrap server', async () => {
    const sec = securityObject([{ serverUri: 'coap://dm', shortServerId: 1 }]);
    const tree = new ObjectTree().add(sec);
    await expect(tree.read(LwM2mPath.parse('/0/0/5'), server)).rejects.toMatchObject({
      coapCode: '4.04',
    });
    expect(tree.objectLinks('1.1').map((l) => l.uri)).toEqual(['/']);
    await tree.write(
      LwM2mPath.parse('/0/0/0'),
      singleResource(0, 'string', 'coap://new'),
      'replace',
      bootstrap,
    );
    expect(sec.accounts()[0]!.serverUri).toBe('coap://new');
  });
});
