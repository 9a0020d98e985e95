import { InvalidValueError, LwM2mError } from '@lwm2m-ts/core';
import { describe, expect, it } from 'vitest';
import { IdentityInUseError } from './errors.js';
import {
  normalizeSecurityEntry,
  RedisSecurityStore,
  type SecurityEntry,
} from './security-store.js';
import { freshPrefix, keysUnder, redisBin, useRedis } from './test-redis.js';

const psk = (endpoint: string, identity: string, key = [1, 2, 3]): SecurityEntry => ({
  endpoint,
  mode: 'psk',
  identity,
  key: Uint8Array.from(key),
});

describe.skipIf(!redisBin)('RedisSecurityStore', () => {
  const redis = useRedis();
  const newStore = (keyPrefix = freshPrefix()) =>
    new RedisSecurityStore({ redis: redis.client(), keyPrefix });
  const withEntries = async (entries: SecurityEntry[]) => {
    const store = newStore();
    for (const e of entries) await store.put(e);
    return store;
  };

  it('finds entries by endpoint and by identity', async () => {
    const store = newStore();
    expect(await store.put(psk('dev-1', 'id-1'))).toBeUndefined();
    expect(await store.put({ endpoint: 'dev-2', mode: 'nosec' })).toBeUndefined();
    expect(await store.getByEndpoint('dev-1')).toEqual(psk('dev-1', 'id-1'));
    expect(await store.getByIdentity('id-1')).toEqual(psk('dev-1', 'id-1'));
    expect(await store.getByEndpoint('dev-2')).toEqual({ endpoint: 'dev-2', mode: 'nosec' });
    expect(await store.getByIdentity('dev-2')).toBeUndefined();
    expect((await store.list()).map((e) => e.endpoint)).toEqual(['dev-1', 'dev-2']);
  });

  it('rejects an identity another endpoint holds and changes nothing', async () => {
    const store = await withEntries([psk('dev-1', 'shared')]);
    const err = await store.put(psk('dev-2', 'shared')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdentityInUseError);
    expect(err).toBeInstanceOf(LwM2mError);
    expect((err as IdentityInUseError).httpStatus).toBe(409);
    expect((err as IdentityInUseError).coapCode).toBe('4.00');
    expect((err as Error).name).toBe('IdentityInUseError');
    expect((err as Error).message).toContain('dev-1');
    expect(await store.getByEndpoint('dev-2')).toBeUndefined();
    expect((await store.getByIdentity('shared'))?.endpoint).toBe('dev-1');
  });

  it('replacing an entry with a new identity frees the old one', async () => {
    const store = newStore();
    await store.put(psk('dev-1', 'old'));
    expect(await store.put(psk('dev-1', 'new', [9]))).toEqual(psk('dev-1', 'old'));
    expect(await store.getByIdentity('old')).toBeUndefined();
    expect(await store.getByIdentity('new')).toEqual(psk('dev-1', 'new', [9]));
    // Another endpoint may now take the freed identity.
    await store.put(psk('dev-2', 'old'));
    expect((await store.getByIdentity('old'))?.endpoint).toBe('dev-2');
  });

  it('keeps the same identity when an endpoint changes only its key', async () => {
    const store = await withEntries([psk('dev-1', 'id')]);
    await store.put(psk('dev-1', 'id', [7, 7]));
    expect(await store.getByIdentity('id')).toEqual(psk('dev-1', 'id', [7, 7]));
  });

  it('switching to nosec frees the identity', async () => {
    const store = await withEntries([psk('dev-1', 'id')]);
    await store.put({ endpoint: 'dev-1', mode: 'nosec' });
    expect(await store.getByIdentity('id')).toBeUndefined();
  });

  it('removes an entry and its identity', async () => {
    const prefix = freshPrefix();
    const store = newStore(prefix);
    await store.put(psk('dev-1', 'id'));
    expect(await store.remove('dev-1')).toEqual(psk('dev-1', 'id'));
    expect(await store.remove('dev-1')).toBeUndefined();
    expect(await store.getByIdentity('id')).toBeUndefined();
    expect(await store.list()).toEqual([]);
    expect(await keysUnder(redis.server, prefix)).toEqual([`${prefix}sec-seq`]);
  });

  it('keeps its own copy of the key, and binary keys round-trip', async () => {
    const store = newStore();
    const key = Uint8Array.from([1, 2, 3]);
    await store.put({ endpoint: 'dev', mode: 'psk', identity: 'id', key });
    key[0] = 99;
    const stored = await store.getByEndpoint('dev');
    expect(stored?.mode === 'psk' && Array.from(stored.key)).toEqual([1, 2, 3]);
    expect(Object.isFrozen(stored)).toBe(true);
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const view = new Uint8Array(all.buffer, 16, 32); // a view into a larger buffer
    await store.put({ endpoint: 'bin', mode: 'psk', identity: 'ïd ✓', key: view });
    const got = await store.getByIdentity('ïd ✓');
    expect(got?.mode === 'psk' && Array.from(got.key)).toEqual(Array.from(view));
  });

  it('keeps insertion order in list(); a replaced entry keeps its place', async () => {
    const store = newStore();
    await store.put(psk('c', 'ic'));
    await store.put(psk('a', 'ia'));
    await store.put({ endpoint: 'b', mode: 'nosec' });
    await store.put(psk('c', 'ic2'));
    expect((await store.list()).map((e) => e.endpoint)).toEqual(['c', 'a', 'b']);
    await store.remove('a');
    await store.put(psk('a', 'ia'));
    expect((await store.list()).map((e) => e.endpoint)).toEqual(['c', 'b', 'a']);
  });

  it('rejects invalid entries with InvalidValueError', async () => {
    const store = newStore();
    const bad: unknown[] = [
      null,
      { endpoint: '', mode: 'nosec' },
      { endpoint: 42, mode: 'nosec' },
      { endpoint: 'dev', mode: 'rpk' },
      { endpoint: 'dev', mode: 'psk', identity: '', key: Uint8Array.of(1) },
      { endpoint: 'dev', mode: 'psk', identity: 'id', key: new Uint8Array(0) },
      { endpoint: 'dev', mode: 'psk', identity: 'id', key: '0102' },
    ];
    for (const info of bad) {
      await expect(store.put(info as SecurityEntry)).rejects.toThrow(InvalidValueError);
    }
    expect(await store.list()).toEqual([]);
  });

  it('drops unknown fields', () => {
    const info = { endpoint: 'dev', mode: 'nosec', extra: 1 } as unknown as SecurityEntry;
    expect(normalizeSecurityEntry(info)).toEqual({ endpoint: 'dev', mode: 'nosec' });
  });

  it('two processes racing for one identity: exactly one gets it', async () => {
    const keyPrefix = freshPrefix();
    const s1 = new RedisSecurityStore({ redis: redis.client(), keyPrefix });
    const s2 = new RedisSecurityStore({ redis: redis.client(), keyPrefix });
    for (let round = 0; round < 20; round++) {
      const results = await Promise.allSettled([
        s1.put(psk(`a${round}`, `id${round}`)),
        s2.put(psk(`b${round}`, `id${round}`)),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(rejected.reason).toBeInstanceOf(IdentityInUseError);
      const holder = (await s2.getByIdentity(`id${round}`))?.endpoint;
      expect([`a${round}`, `b${round}`]).toContain(holder);
    }
  });
});
