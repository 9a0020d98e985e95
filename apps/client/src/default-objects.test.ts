import type { LwM2mVersion } from '@lwm2m-ts/codecs';
import { formatLinkFormat } from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY } from './backoff.js';
import { LwM2mClient } from './client.js';
import {
  type DefaultObjectsConfig,
  defaultLazyObjects,
  defaultObjects,
  modelFor,
} from './default-objects.js';
import { builtinModel } from './instance-object.js';
import { ObjectTree } from './object-tree.js';
import type { SensorObject } from './objects/sensors.js';
import {
  initialServerSettings,
  readSecuritySettings,
  readServerSettings,
} from './server-account.js';

const key = new Uint8Array([1, 2, 3, 4]);

function configs(version: LwM2mVersion): DefaultObjectsConfig[] {
  const base = {
    endpoint: 'dev-1',
    lwm2mVersion: version,
    shortServerId: 3,
    lifetime: 120,
    binding: 'U',
    queueMode: false,
  };
  return [
    { ...base, serverUri: 'coap://127.0.0.1:5683' },
    { ...base, serverUri: 'coaps://127.0.0.1:5684', psk: { identity: 'dev-1', key } },
    { ...base, bootstrap: { uri: 'coap://127.0.0.1:5783' } },
    {
      ...base,
      serverUri: 'coap://127.0.0.1:5683',
      bootstrap: { uri: 'coaps://127.0.0.1:5784', psk: { identity: 'bs', key } },
      queueMode: true,
    },
  ];
}

describe('built-in objects built at first use', () => {
  it('each entry says the model and instances of the object it builds', () => {
    for (const version of ['1.0', '1.1', '1.2'] as const) {
      for (const config of configs(version)) {
        const lazy = defaultLazyObjects(config);
        const built = defaultObjects(config);
        expect([...lazy.entries.keys()]).toEqual(built.map((e) => e.model.id));
        for (const enabler of built) {
          const entry = lazy.entries.get(enabler.model.id)!;
          expect(entry.model).toBe(enabler.model);
          expect(entry.instanceIds).toEqual(enabler.instanceIds());
          const again = lazy.build(enabler.model.id);
          expect(again.model).toBe(entry.model);
          expect(again.instanceIds()).toEqual(entry.instanceIds);
        }
      }
    }
  });

  it('clients alike share one description; a registry that changed gets its own', () => {
    const registry = ObjectRegistry.withBuiltins();
    const [config] = configs('1.1');
    const a = defaultLazyObjects({ ...config!, endpoint: 'a', registry });
    const b = defaultLazyObjects({ ...config!, endpoint: 'b', registry });
    expect(b.entries).toBe(a.entries);
    expect(a.build(3)).not.toBe(b.build(3));
    // Another version, other accounts: other entries.
    expect(defaultLazyObjects({ ...config!, lwm2mVersion: '1.2', registry }).entries).not.toBe(
      a.entries,
    );
    expect(defaultLazyObjects({ ...configs('1.1')[3]!, registry }).entries).not.toBe(a.entries);
    // A Device model added for 1.1 replaces the one chosen before.
    const device = { ...builtinModel(3), version: '1.9', lwm2mVersion: '1.1' };
    registry.add(device);
    expect(modelFor(registry, 3, '1.1')).toBe(device);
    const c = defaultLazyObjects({ ...config!, endpoint: 'c', registry });
    expect(c.entries).not.toBe(a.entries);
    expect(c.entries.get(3)!.model).toBe(device);
    expect(a.entries.get(3)!.model).not.toBe(device);
  });

  it('a client builds none at construction and only what it uses', async () => {
    const client = new LwM2mClient({
      endpoint: 'dev-1',
      server: { uri: 'coap://127.0.0.1:5999', lifetime: 120, shortServerId: 3 },
    });
    const tree = client.tree;
    expect(tree.objectIds()).toEqual([0, 1, 2, 3, 4, 5, 6, 3300, 3303]);
    for (const id of tree.objectIds()) expect(tree.isLazy(id)).toBe(true);
    expect(tree.objectLinksText('1.1')).toContain('</3/0>');
    expect(tree.builtEnablers()).toEqual([]);
    expect((await client.get('/3/0/2')) as unknown).toMatchObject({ value: 'dev-1' });
    expect(tree.builtEnablers().map((e) => e.model.id)).toEqual([3]);
    await client.close();
  });

  it('the object list follows instances added to an object once built', () => {
    const options = { server: { uri: 'coap://127.0.0.1:5999' } };
    const a = new LwM2mClient({ endpoint: 'a', ...options });
    const b = new LwM2mClient({ endpoint: 'b', ...options });
    const before = a.tree.objectLinksText('1.1');
    expect(b.tree.objectLinksText('1.1')).toBe(before);
    expect(before).toBe(formatLinkFormat(a.tree.objectLinks('1.1')));
    (a.tree.get(3303) as SensorObject).addSensor({ instanceId: 1 });
    const after = a.tree.objectLinksText('1.1');
    expect(after).toContain('</3303/1>');
    expect(after).toBe(formatLinkFormat(a.tree.objectLinks('1.1')));
    expect(b.tree.objectLinksText('1.1')).toBe(before);
  });

  it('the settings an unbuilt Server and Security object stand for are those read from them', async () => {
    for (const version of ['1.0', '1.1', '1.2'] as const) {
      for (const config of configs(version)) {
        if (config.serverUri === undefined) continue;
        const tree = new ObjectTree();
        for (const e of defaultObjects(config)) tree.add(e);
        const defaults = { lifetime: config.lifetime, binding: config.binding };
        expect(await readServerSettings(tree, config.shortServerId, defaults)).toEqual(
          initialServerSettings(config.shortServerId, defaults),
        );
        expect(
          await readServerSettings(tree, config.shortServerId, {
            ...defaults,
            retryPolicy: { ...DEFAULT_RETRY_POLICY, retryCount: 2 },
          }),
        ).toEqual(
          initialServerSettings(config.shortServerId, {
            ...defaults,
            retryPolicy: { ...DEFAULT_RETRY_POLICY, retryCount: 2 },
          }),
        );
        const security = await readSecuritySettings(tree, config.shortServerId);
        expect(security.uri).toBe(config.serverUri);
        expect(security.psk).toEqual(config.psk);
      }
    }
  });
});
