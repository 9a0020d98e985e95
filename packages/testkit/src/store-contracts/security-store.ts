import { describe, expect, it } from 'vitest';
import type { Awaitable, ErrorClass } from './common.js';

/** The server's `SecurityInfo` (core's `SecurityEntry`), structurally. */
export type ContractSecurityEntry =
  | {
      readonly endpoint: string;
      readonly mode: 'psk';
      readonly identity: string;
      readonly key: Uint8Array;
    }
  | { readonly endpoint: string; readonly mode: 'nosec' };

/** The server's `SecurityStore` interface, structurally. */
export interface SecurityStoreLike {
  getByEndpoint(endpoint: string): Promise<ContractSecurityEntry | undefined>;
  getByIdentity(identity: string): Promise<ContractSecurityEntry | undefined>;
  list(): Promise<readonly ContractSecurityEntry[]>;
  put(info: ContractSecurityEntry): Promise<ContractSecurityEntry | undefined>;
  remove(endpoint: string): Promise<ContractSecurityEntry | undefined>;
  close(): Promise<void>;
}

export interface SecurityStoreContract<S extends SecurityStoreLike> {
  /** A new store holding `entries` (put in order, or given to a constructor). */
  create(entries?: readonly ContractSecurityEntry[]): Awaitable<S>;
  /** How many entries the store holds, where it can tell without `list()`. */
  count?(store: S): Awaitable<number>;
  /** The implementation's error classes: core's `LwM2mError` and `InvalidValueError`, its own `IdentityInUseError`. */
  readonly errors: {
    readonly base: ErrorClass;
    readonly invalidValue: ErrorClass;
    readonly identityInUse: ErrorClass;
  };
  /** Extra checks of what the store keeps: `removed` after its only entry was removed. */
  check?(point: 'removed', store: S): Awaitable<void>;
}

/** A PSK entry with `key` as bytes. */
export function contractPsk(
  endpoint: string,
  identity: string,
  key: readonly number[] = [1, 2, 3],
): ContractSecurityEntry {
  return { endpoint, mode: 'psk', identity, key: Uint8Array.from(key) };
}

/**
 * The behaviour every `SecurityStore` shares (the in-memory one is the reference): lookups by
 * endpoint and by PSK identity kept in step, identities unique across endpoints, entries checked
 * and copied on `put`, insertion order in `list()`.
 */
export function describeSecurityStoreContract<S extends SecurityStoreLike>(
  name: string,
  impl: SecurityStoreContract<S>,
): void {
  const psk = contractPsk;

  describe(`${name} (security store contract)`, () => {
    it('finds entries by endpoint and by identity', async () => {
      const store = await impl.create();
      expect(await store.put(psk('dev-1', 'id-1'))).toBeUndefined();
      expect(await store.put({ endpoint: 'dev-2', mode: 'nosec' })).toBeUndefined();
      expect(await store.getByEndpoint('dev-1')).toEqual(psk('dev-1', 'id-1'));
      expect(await store.getByIdentity('id-1')).toEqual(psk('dev-1', 'id-1'));
      expect(await store.getByEndpoint('dev-2')).toEqual({ endpoint: 'dev-2', mode: 'nosec' });
      expect(await store.getByIdentity('dev-2')).toBeUndefined();
      expect((await store.list()).map((e) => e.endpoint)).toEqual(['dev-1', 'dev-2']);
      if (impl.count) expect(await impl.count(store)).toBe(2);
    });

    it('rejects an identity another endpoint holds and changes nothing', async () => {
      const store = await impl.create([psk('dev-1', 'shared')]);
      const err = await store.put(psk('dev-2', 'shared')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(impl.errors.identityInUse);
      expect(err).toBeInstanceOf(impl.errors.base);
      expect((err as { httpStatus: number }).httpStatus).toBe(409);
      expect((err as { coapCode: string }).coapCode).toBe('4.00');
      expect((err as Error).name).toBe('IdentityInUseError');
      expect((err as Error).message).toContain('dev-1');
      expect(await store.getByEndpoint('dev-2')).toBeUndefined();
      expect((await store.getByIdentity('shared'))?.endpoint).toBe('dev-1');
    });

    it('replacing an entry with a new identity frees the old one', async () => {
      const store = await impl.create();
      await store.put(psk('dev-1', 'old'));
      expect(await store.put(psk('dev-1', 'new', [9]))).toEqual(psk('dev-1', 'old'));
      expect(await store.getByIdentity('old')).toBeUndefined();
      expect(await store.getByIdentity('new')).toEqual(psk('dev-1', 'new', [9]));
      // Another endpoint may now take the freed identity.
      await store.put(psk('dev-2', 'old'));
      expect((await store.getByIdentity('old'))?.endpoint).toBe('dev-2');
    });

    it('keeps the same identity when an endpoint changes only its key', async () => {
      const store = await impl.create([psk('dev-1', 'id')]);
      await store.put(psk('dev-1', 'id', [7, 7]));
      expect(await store.getByIdentity('id')).toEqual(psk('dev-1', 'id', [7, 7]));
    });

    it('switching to nosec frees the identity', async () => {
      const store = await impl.create([psk('dev-1', 'id')]);
      await store.put({ endpoint: 'dev-1', mode: 'nosec' });
      expect(await store.getByIdentity('id')).toBeUndefined();
    });

    it('removes an entry and its identity', async () => {
      const store = await impl.create([psk('dev-1', 'id')]);
      expect(await store.remove('dev-1')).toEqual(psk('dev-1', 'id'));
      expect(await store.remove('dev-1')).toBeUndefined();
      expect(await store.getByIdentity('id')).toBeUndefined();
      expect(await store.list()).toEqual([]);
      await impl.check?.('removed', store);
    });

    it('keeps its own copy of the key, and binary keys round-trip', async () => {
      const store = await impl.create();
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

    it('stores only the entry’s own fields', async () => {
      const store = await impl.create();
      const info = { endpoint: 'dev', mode: 'nosec', extra: 1 } as ContractSecurityEntry;
      await store.put(info);
      expect(await store.getByEndpoint('dev')).toEqual({ endpoint: 'dev', mode: 'nosec' });
    });

    it('keeps insertion order in list(); a replaced entry keeps its place', async () => {
      const store = await impl.create();
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
      const store = await impl.create();
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
        await expect(store.put(info as ContractSecurityEntry)).rejects.toThrow(
          impl.errors.invalidValue,
        );
      }
      expect(await store.list()).toEqual([]);
      if (impl.count) expect(await impl.count(store)).toBe(0);
    });
  });
}
