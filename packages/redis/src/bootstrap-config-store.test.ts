import { describe, expect, it } from 'vitest';
import { RedisBootstrapConfigStore } from './bootstrap-config-store.js';
import { IdentityInUseError } from './errors.js';
import { freshPrefix, keysUnder, redisBin, useRedis } from './test-redis.js';

/** A slice of the bootstrap server's `BootstrapConfig`. */
interface Config {
  readonly servers: readonly {
    shortServerId: number;
    uri: string;
    securityMode: 'nosec' | 'psk';
  }[];
  readonly bootstrapCredentials?: { readonly identity: string; readonly key: string };
  readonly deletePaths: readonly string[];
  readonly writes?: readonly { path: string; value?: string | number | boolean }[];
}

const cfg = (uri: string, identity?: string): Config => ({
  servers: [{ shortServerId: 1, uri, securityMode: 'nosec' }],
  deletePaths: ['/0', '/1'],
  writes: [{ path: '/3/0/14', value: '+02' }],
  ...(identity === undefined ? {} : { bootstrapCredentials: { identity, key: '0102' } }),
});

describe.skipIf(!redisBin)('RedisBootstrapConfigStore', () => {
  const redis = useRedis();
  const newStore = (keyPrefix = freshPrefix()) =>
    new RedisBootstrapConfigStore<Config>({ redis: redis.client(), keyPrefix });

  it('puts, gets, replaces and deletes', async () => {
    const store = newStore();
    const a = cfg('coap://127.0.0.1:5683');
    expect(await store.put('ep-a', a)).toBeUndefined();
    expect(await store.get('ep-a')).toEqual(a);
    expect(await store.get('ep-b')).toBeUndefined();
    const a2 = cfg('coaps://127.0.0.1:5684');
    expect(await store.put('ep-a', a2)).toEqual(a);
    expect(await store.get('ep-a')).toEqual(a2);
    expect(await store.delete('ep-a')).toEqual(a2);
    expect(await store.delete('ep-a')).toBeUndefined();
    expect(await store.get('ep-a')).toBeUndefined();
  });

  it('lists every configuration sorted by endpoint', async () => {
    const store = newStore();
    for (const ep of ['b', 'a', 'C', 'ä', 'a2']) await store.put(ep, cfg(`coap://${ep}`));
    expect((await store.list()).map((s) => s.endpoint)).toEqual(['C', 'a', 'a2', 'b', 'ä']);
    expect((await store.list())[0]).toEqual({ endpoint: 'C', config: cfg('coap://C') });
  });

  it('finds a configuration by its bootstrap identity', async () => {
    const store = newStore();
    await store.put('ep-1', cfg('coap://x', 'bs-id-1'));
    await store.put('ep-2', cfg('coap://y'));
    expect(await store.getByIdentity('bs-id-1')).toEqual({
      endpoint: 'ep-1',
      config: cfg('coap://x', 'bs-id-1'),
    });
    expect(await store.getByIdentity('ep-2')).toBeUndefined();
  });

  it('rejects an identity another endpoint has, and changes nothing', async () => {
    const store = newStore();
    await store.put('ep-1', cfg('coap://x', 'shared'));
    const err = await store.put('ep-2', cfg('coap://y', 'shared')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdentityInUseError);
    expect((err as IdentityInUseError).httpStatus).toBe(409);
    expect((err as Error).message).toContain('ep-1');
    expect(await store.get('ep-2')).toBeUndefined();
    expect((await store.getByIdentity('shared'))?.endpoint).toBe('ep-1');
    // The same endpoint may keep its identity.
    await store.put('ep-1', cfg('coap://z', 'shared'));
    expect((await store.getByIdentity('shared'))?.config.servers[0]?.uri).toBe('coap://z');
  });

  it('frees the identity when the configuration changes it, drops it or is deleted', async () => {
    const prefix = freshPrefix();
    const store = newStore(prefix);
    await store.put('ep-1', cfg('coap://x', 'old'));
    await store.put('ep-1', cfg('coap://x', 'new'));
    expect(await store.getByIdentity('old')).toBeUndefined();
    await store.put('ep-2', cfg('coap://y', 'old'));
    await store.put('ep-1', cfg('coap://x'));
    expect(await store.getByIdentity('new')).toBeUndefined();
    await store.delete('ep-2');
    expect(await store.getByIdentity('old')).toBeUndefined();
    await store.delete('ep-1');
    expect(await keysUnder(redis.server, prefix)).toEqual([]);
  });

  it('two processes racing for one identity: exactly one gets it', async () => {
    const keyPrefix = freshPrefix();
    const s1 = new RedisBootstrapConfigStore<Config>({ redis: redis.client(), keyPrefix });
    const s2 = new RedisBootstrapConfigStore<Config>({ redis: redis.client(), keyPrefix });
    for (let round = 0; round < 20; round++) {
      const results = await Promise.allSettled([
        s1.put(`a${round}`, cfg('coap://a', `id${round}`)),
        s2.put(`b${round}`, cfg('coap://b', `id${round}`)),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    }
    expect(await s1.list()).toHaveLength(20);
  });
});
