import { LwM2mPath } from '@lwm2m-ts/core';
import { describe, expect, it } from 'vitest';
import { ObjectTree } from '../object-tree.js';
import { AccessRight, accessControlObject } from './access-control.js';

describe('accessControlObject', () => {
  it('holds ACL entries a server can read', async () => {
    const acl = accessControlObject([
      {
        objectId: 3,
        objectInstanceId: 0,
        acl: { 101: AccessRight.read | AccessRight.execute },
        owner: 101,
      },
      { objectId: 3303, objectInstanceId: 65535, acl: { 0: AccessRight.create }, owner: 101 },
    ]);
    expect(acl.instanceIds()).toEqual([0, 1]);
    expect(acl.get(0, 2)).toEqual(new Map([[101, 5n]]));
    const tree = new ObjectTree().add(acl);
    const node = await tree.read(LwM2mPath.parse('/2/1/1'), { kind: 'server', shortServerId: 101 });
    expect(node).toMatchObject({ kind: 'singleResource', value: 65535n });
  });

  it('refuses ACL values outside 0..31 through the tree', async () => {
    const acl = accessControlObject([{ objectId: 3, objectInstanceId: 0, owner: 1 }]);
    const tree = new ObjectTree().add(acl);
    await expect(
      tree.writeValues(
        [{ path: LwM2mPath.parse('/2/0/2/1'), value: { type: 'integer', value: 64n } }],
        { kind: 'server', shortServerId: 1 },
      ),
    ).rejects.toMatchObject({ coapCode: '4.00' });
  });
});
