import { describe, expect, it } from 'vitest';
import type { Awaitable, ErrorClass } from './common.js';

/** What the contract reads of a bootstrap configuration (the bootstrap server's `BootstrapConfig` has it). */
export interface ContractBootstrapConfig {
  readonly servers: readonly { readonly shortServerId: number; readonly uri: string }[];
  readonly bootstrapCredentials?: { readonly identity: string };
}

/** The bootstrap server's `BootstrapConfigStore` interface, structurally. */
export interface BootstrapConfigStoreLike<C> {
  get(endpoint: string): Promise<C | undefined>;
  put(endpoint: string, config: C): Promise<C | undefined>;
  delete(endpoint: string): Promise<C | undefined>;
  list(): Promise<readonly { readonly endpoint: string; readonly config: C }[]>;
  getByIdentity(
    identity: string,
  ): Promise<{ readonly endpoint: string; readonly config: C } | undefined>;
  close(): Promise<void>;
}

export interface BootstrapConfigStoreContract<C, S extends BootstrapConfigStoreLike<C>> {
  /** A new, empty store. */
  create(): Awaitable<S>;
  /**
   * A valid configuration whose first server has `shortServerId` `n`, the same each time for the
   * same arguments; with `bootstrapCredentials` of `identity` when given.
   */
  config(n: number, identity?: string): C;
  /** The implementation's `IdentityInUseError`. */
  readonly errors: { readonly identityInUse: ErrorClass };
  /** Extra checks of what the store keeps: `emptied` after its last configuration was deleted. */
  check?(point: 'emptied', store: S): Awaitable<void>;
}

/**
 * The behaviour every `BootstrapConfigStore` shares: configurations by endpoint, listed sorted by
 * endpoint, found by their bootstrap PSK identity, which is unique across endpoints.
 */
export function describeBootstrapConfigStoreContract<
  C extends ContractBootstrapConfig,
  S extends BootstrapConfigStoreLike<C>,
>(name: string, impl: BootstrapConfigStoreContract<C, S>): void {
  const config = impl.config;
  const firstServer = (c: C | undefined) => c?.servers[0]?.shortServerId;

  describe(`${name} (bootstrap config store contract)`, () => {
    it('puts, gets, replaces and deletes', async () => {
      const store = await impl.create();
      const a = config(1);
      expect(await store.put('ep-a', a)).toBeUndefined();
      expect(await store.get('ep-a')).toEqual(a);
      expect(await store.get('ep-b')).toBeUndefined();
      const a2 = config(2);
      expect(await store.put('ep-a', a2)).toEqual(a);
      expect(await store.get('ep-a')).toEqual(a2);
      expect(await store.delete('ep-a')).toEqual(a2);
      expect(await store.delete('ep-a')).toBeUndefined();
      expect(await store.get('ep-a')).toBeUndefined();
    });

    it('puts, gets, lists, finds by identity and deletes', async () => {
      const store = await impl.create();
      expect(await store.put('b', config(2, 'id-b'))).toBeUndefined();
      expect(await store.put('a', config(1))).toBeUndefined();
      expect(firstServer(await store.put('a', config(3, 'id-a')))).toBe(1);
      expect(firstServer(await store.get('a'))).toBe(3);
      expect((await store.list()).map((e) => e.endpoint)).toEqual(['a', 'b']);
      expect((await store.getByIdentity('id-b'))?.endpoint).toBe('b');
      await expect(store.put('c', config(4, 'id-b'))).rejects.toBeInstanceOf(
        impl.errors.identityInUse,
      );
      // Moving an identity: the old holder lets go of it.
      await store.put('b', config(2));
      expect(await store.getByIdentity('id-b')).toBeUndefined();
      expect(firstServer(await store.delete('a'))).toBe(3);
      expect(await store.delete('a')).toBeUndefined();
      expect(await store.getByIdentity('id-a')).toBeUndefined();
      await store.close();
    });

    it('lists every configuration sorted by endpoint', async () => {
      const store = await impl.create();
      const endpoints = ['b', 'a', 'C', 'ä', 'a2'];
      for (const [i, ep] of endpoints.entries()) await store.put(ep, config(i + 1));
      expect((await store.list()).map((s) => s.endpoint)).toEqual(['C', 'a', 'a2', 'b', 'ä']);
      expect((await store.list())[0]).toEqual({ endpoint: 'C', config: config(3) });
    });

    it('finds a configuration by its bootstrap identity', async () => {
      const store = await impl.create();
      await store.put('ep-1', config(1, 'bs-id-1'));
      await store.put('ep-2', config(2));
      expect(await store.getByIdentity('bs-id-1')).toEqual({
        endpoint: 'ep-1',
        config: config(1, 'bs-id-1'),
      });
      expect(await store.getByIdentity('ep-2')).toBeUndefined();
    });

    it('rejects an identity another endpoint has, and changes nothing', async () => {
      const store = await impl.create();
      await store.put('ep-1', config(1, 'shared'));
      const err = await store.put('ep-2', config(2, 'shared')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(impl.errors.identityInUse);
      expect((err as { httpStatus: number }).httpStatus).toBe(409);
      expect((err as Error).message).toContain('ep-1');
      expect(await store.get('ep-2')).toBeUndefined();
      expect((await store.getByIdentity('shared'))?.endpoint).toBe('ep-1');
      // The same endpoint may keep its identity.
      await store.put('ep-1', config(3, 'shared'));
      expect(firstServer((await store.getByIdentity('shared'))?.config)).toBe(3);
    });

    it('frees the identity when the configuration changes it, drops it or is deleted', async () => {
      const store = await impl.create();
      await store.put('ep-1', config(1, 'old'));
      await store.put('ep-1', config(1, 'new'));
      expect(await store.getByIdentity('old')).toBeUndefined();
      await store.put('ep-2', config(2, 'old'));
      await store.put('ep-1', config(1));
      expect(await store.getByIdentity('new')).toBeUndefined();
      await store.delete('ep-2');
      expect(await store.getByIdentity('old')).toBeUndefined();
      await store.delete('ep-1');
      expect(await store.list()).toEqual([]);
      await impl.check?.('emptied', store);
    });
  });
}
