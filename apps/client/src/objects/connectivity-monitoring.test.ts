import { LwM2mPath } from '@lwm2m-ts/core';
import { describe, expect, it } from 'vitest';
import { ObjectTree } from '../object-tree.js';
import { connectivityMonitoringObject, NetworkBearer } from './connectivity-monitoring.js';

describe('connectivityMonitoringObject', () => {
  it('reports the link with defaults for the mandatory resources', async () => {
    const cm = connectivityMonitoringObject({ networkBearer: NetworkBearer.nbIot, cellId: 42 });
    const tree = new ObjectTree().add(cm);
    const node = await tree.read(LwM2mPath.parse('/4/0'), { kind: 'server', shortServerId: 1 });
    const ids = node.kind === 'instance' ? node.resources.map((r) => r.id) : [];
    expect(ids).toEqual([0, 1, 2, 4, 8]);
    expect(cm.get(0, 0)).toBe(7n);
    expect(cm.get(0, 1)).toEqual(new Map([[0, 7n]]));
    expect(cm.get(0, 4)).toEqual(new Map([[0, '127.0.0.1']]));
    cm.set(0, 2, -90);
    expect(cm.get(0, 2)).toBe(-90n);
  });
});
