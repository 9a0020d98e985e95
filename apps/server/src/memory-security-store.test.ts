import { InvalidValueError } from '@lwm2m-ts/core';
import { describe, expect, it } from 'vitest';
import { IdentityInUseError } from './errors.js';
import { InMemorySecurityStore, normalizeSecurityInfo } from './memory-security-store.js';
import type { SecurityInfo } from './security-store.js';

const psk = (endpoint: string, identity: string, key = [1, 2, 3]): SecurityInfo => ({
  endpoint,
  mode: 'psk',
  identity,
  key: Uint8Array.from(key),
});

describe('InMemorySecurityStore', () => {
  it('finds entries by endpoint and by identity', async () => {
    const store = new InMemorySecurityStore();
    expect(await store.put(psk('dev-1', 'id-1'))).toBeUndefined();
    expect(await store.put({ endpoint: 'dev-2', mode: 'nosec' })).toBeUndefined();
    expect(await store.getByEndpoint('dev-1')).toEqual(psk('dev-1', 'id-1'));
    expect(await store.getByIdentity('id-1')).toEqual(psk('dev-1', 'id-1'));
    expect(await store.getByEndpoint('dev-2')).toEqual({ endpoint: 'dev-2', mode: 'nosec' });
    expect(await store.getByIdentity('dev-2')).toBeUndefined();
    expect((await store.list()).map((e) => e.endpoint)).toEqual(['dev-1', 'dev-2']);
    expect(store.size).toBe(2);
  });

  it('rejects an identity another endpoint holds and changes nothing', async () => {
    const store = new InMemorySecurityStore([psk('dev-1', 'shared')]);
    const err = await store.put(psk('dev-2', 'shared')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdentityInUseError);
    expect((err as Error).message).toContain('dev-1');
    expect(await store.getByEndpoint('dev-2')).toBeUndefined();
    expect((await store.getByIdentity('shared'))?.endpoint).toBe('dev-1');
  });

  it('replacing an entry with a new identity frees the old one', async () => {
    const store = new InMemorySecurityStore();
    await store.put(psk('dev-1', 'old'));
    expect(await store.put(psk('dev-1', 'new', [9]))).toEqual(psk('dev-1', 'old'));
    expect(await store.getByIdentity('old')).toBeUndefined();
    expect(await store.getByIdentity('new')).toEqual(psk('dev-1', 'new', [9]));
    // Another endpoint may now take the freed identity.
    await store.put(psk('dev-2', 'old'));
    expect((await store.getByIdentity('old'))?.endpoint).toBe('dev-2');
  });

  it('keeps the same identity when an endpoint changes only its key', async () => {
    const store = new InMemorySecurityStore([psk('dev-1', 'id')]);
    await store.put(psk('dev-1', 'id', [7, 7]));
    expect(await store.getByIdentity('id')).toEqual(psk('dev-1', 'id', [7, 7]));
  });

  it('switching to nosec frees the identity', async () => {
    const store = new InMemorySecurityStore([psk('dev-1', 'id')]);
    await store.put({ endpoint: 'dev-1', mode: 'nosec' });
    expect(await store.getByIdentity('id')).toBeUndefined();
  });

  it('removes an entry and its identity', async () => {
    const store = new InMemorySecurityStore([psk('dev-1', 'id')]);
    expect(await store.remove('dev-1')).toEqual(psk('dev-1', 'id'));
    expect(await store.remove('dev-1')).toBeUndefined();
    expect(await store.getByIdentity('id')).toBeUndefined();
    expect(await store.list()).toEqual([]);
  });

  it('keeps its own copy of the key', async () => {
    const store = new InMemorySecurityStore();
    const key = Uint8Array.from([1, 2, 3]);
    await store.put({ endpoint: 'dev', mode: 'psk', identity: 'id', key });
    key[0] = 99;
    const stored = await store.getByEndpoint('dev');
    expect(stored?.mode === 'psk' && Array.from(stored.key)).toEqual([1, 2, 3]);
    expect(Object.isFrozen(stored)).toBe(true);
  });

  it('rejects invalid entries with InvalidValueError', async () => {
    const store = new InMemorySecurityStore();
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
      await expect(store.put(info as SecurityInfo)).rejects.toThrow(InvalidValueError);
    }
    expect(store.size).toBe(0);
  });

  it('drops unknown fields', () => {
    const info = { endpoint: 'dev', mode: 'nosec', extra: 1 } as unknown as SecurityInfo;
    expect(normalizeSecurityInfo(info)).toEqual({ endpoint: 'dev', mode: 'nosec' });
  });

  it('constructor rejects conflicting initial entries', () => {
    expect(() => new InMemorySecurityStore([psk('a', 'id'), psk('b', 'id')])).toThrow(
      IdentityInUseError,
    );
  });
});
