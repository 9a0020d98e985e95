import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Awaitable, sameRecord } from './common.js';

/**
 * The server's `Registration` (apps/server/src/registration.ts), declared here structurally:
 * testkit sits below the apps and never imports them.
 */
export interface ContractRegistration {
  readonly id: string;
  readonly endpoint: string;
  readonly lwm2mVersion: '1.0' | '1.1' | '1.2';
  readonly lifetime: number;
  readonly binding: string;
  readonly queueMode: boolean;
  readonly smsNumber?: string;
  readonly rootPath: string;
  readonly objectLinks: readonly {
    readonly objectId: number;
    readonly instanceId?: number;
    readonly version?: string;
  }[];
  readonly supportedFormats?: readonly number[];
  readonly address: string;
  readonly port: number;
  readonly transport: 'udp' | 'dtls';
  readonly identity?: string;
  readonly node?: string;
  readonly extraParameters?: Readonly<Record<string, string>>;
  readonly registeredAt: number;
  readonly lastUpdate: number;
  readonly expiresAt: number;
}

/** The server's `RegistrationStore` interface, structurally. */
export interface RegistrationStoreLike {
  add(registration: ContractRegistration): Promise<ContractRegistration | undefined>;
  update(
    id: string,
    change: (current: ContractRegistration) => ContractRegistration,
  ): Promise<
    { readonly before: ContractRegistration; readonly after: ContractRegistration } | undefined
  >;
  remove(id: string): Promise<ContractRegistration | undefined>;
  getById(id: string): Promise<ContractRegistration | undefined>;
  getByEndpoint(endpoint: string): Promise<ContractRegistration | undefined>;
  list(): Promise<readonly ContractRegistration[]>;
  removeExpired(now: number): Promise<readonly ContractRegistration[]>;
  nextExpiry(): Promise<number | undefined>;
  close(): Promise<void>;
}

export interface RegistrationStoreContract<S extends RegistrationStoreLike> {
  /** A new, empty store (called once per test, and once per run of the model test). */
  create(): Awaitable<S>;
  /** How many registrations the store holds. */
  count(store: S): Awaitable<number>;
  /** The store hands back the very objects it was given (in memory): checked with `toBe`. */
  readonly keepsObjects?: boolean;
  /**
   * The footprint test: ten registrations updated `updates` times in all (a multiple of 10), then
   * expired. `afterUpdates` and `afterExpiry` check what the store keeps (heap size, Redis keys).
   */
  readonly footprint: {
    readonly updates: number;
    afterUpdates(store: S): Awaitable<void>;
    afterExpiry?(store: S): Awaitable<void>;
  };
}

/** A registration as the server stores it, with `extra` over the defaults. */
export function contractRegistration(
  id: string,
  endpoint: string,
  expiresAt: number,
  extra: Partial<ContractRegistration> = {},
): ContractRegistration {
  return {
    id,
    endpoint,
    lwm2mVersion: '1.1',
    lifetime: 60,
    binding: 'U',
    queueMode: false,
    rootPath: '/',
    objectLinks: [{ objectId: 3, instanceId: 0 }],
    address: '127.0.0.1',
    port: 5683,
    transport: 'udp',
    registeredAt: 0,
    lastUpdate: 0,
    expiresAt,
    ...extra,
  };
}

/** The ids of registrations, sorted: for comparing sets. */
export const registrationIds = (regs: readonly { readonly id: string }[]): string[] =>
  regs.map((r) => r.id).sort();

/**
 * The behaviour every `RegistrationStore` shares (the in-memory one is the reference): indexes
 * by id and endpoint kept in step, one registration per endpoint, atomic updates, expiry each
 * once, and a model check under random operations.
 */
export function describeRegistrationStoreContract<S extends RegistrationStoreLike>(
  name: string,
  impl: RegistrationStoreContract<S>,
): void {
  const reg = contractRegistration;
  const ids = registrationIds;
  const same = sameRecord(impl.keepsObjects ?? false);

  describe(`${name} (registration store contract)`, () => {
    it('finds a registration by id and by endpoint, and lists it', async () => {
      const store = await impl.create();
      const a = reg('a', 'ep-a', 1000, { smsNumber: '+1', identity: 'psk-a' });
      expect(await store.add(a)).toBeUndefined();
      same(await store.getById('a'), a);
      same(await store.getByEndpoint('ep-a'), a);
      expect(await store.getById('b')).toBeUndefined();
      expect(await store.getByEndpoint('ep-b')).toBeUndefined();
      expect(await store.list()).toEqual([a]);
      expect(await impl.count(store)).toBe(1);
    });

    it('replaces the registration of the same endpoint and returns the old one', async () => {
      const store = await impl.create();
      const first = reg('a', 'ep', 1000);
      const second = reg('b', 'ep', 2000);
      await store.add(first);
      same(await store.add(second), first);
      expect(await store.getById('a')).toBeUndefined();
      same(await store.getById('b'), second);
      same(await store.getByEndpoint('ep'), second);
      expect(await store.list()).toEqual([second]);
      // The replaced registration never expires from the store.
      expect(await store.nextExpiry()).toBe(2000);
      expect(ids(await store.removeExpired(1500))).toEqual([]);
      expect(ids(await store.removeExpired(2000))).toEqual(['b']);
    });

    it('re-adding the same id for the same endpoint replaces it', async () => {
      const store = await impl.create();
      const first = reg('a', 'ep', 1000);
      const again = reg('a', 'ep', 3000);
      await store.add(first);
      same(await store.add(again), first);
      same(await store.getById('a'), again);
      expect(await store.removeExpired(2000)).toEqual([]);
      expect(await store.removeExpired(3000)).toEqual([again]);
    });

    it('refuses an id that another endpoint holds', async () => {
      const store = await impl.create();
      await store.add(reg('a', 'ep-1', 1000));
      await expect(store.add(reg('a', 'ep-2', 1000))).rejects.toThrow(TypeError);
      expect((await store.getById('a'))?.endpoint).toBe('ep-1');
      expect(await store.getByEndpoint('ep-2')).toBeUndefined();
    });

    it('refuses a non-finite expiresAt', async () => {
      const store = await impl.create();
      await expect(store.add(reg('a', 'ep', Number.NaN))).rejects.toThrow(TypeError);
      await expect(store.add(reg('a', 'ep', Number.POSITIVE_INFINITY))).rejects.toThrow(TypeError);
      expect(await impl.count(store)).toBe(0);
    });

    it('updates atomically and returns before and after', async () => {
      const store = await impl.create();
      const a = reg('a', 'ep', 1000);
      await store.add(a);
      const result = await store.update('a', (cur) => ({ ...cur, lifetime: 120, expiresAt: 5000 }));
      same(result?.before, a);
      expect(result?.after.lifetime).toBe(120);
      same(await store.getById('a'), result?.after);
      same(await store.getByEndpoint('ep'), result?.after);
      expect(await store.update('missing', (cur) => cur)).toBeUndefined();
    });

    it('sees every earlier change when updates race', async () => {
      const store = await impl.create();
      await store.add(reg('a', 'ep', 1000, { lifetime: 0 }));
      await Promise.all(
        Array.from({ length: 50 }, () =>
          store.update('a', (cur) => ({ ...cur, lifetime: cur.lifetime + 1 })),
        ),
      );
      expect((await store.getById('a'))?.lifetime).toBe(50);
    });

    it('rejects an update that changes id or endpoint and keeps the registration', async () => {
      const store = await impl.create();
      const a = reg('a', 'ep', 1000);
      await store.add(a);
      await expect(store.update('a', (cur) => ({ ...cur, id: 'b' }))).rejects.toThrow(TypeError);
      await expect(store.update('a', (cur) => ({ ...cur, endpoint: 'other' }))).rejects.toThrow(
        TypeError,
      );
      await expect(store.update('a', (cur) => ({ ...cur, expiresAt: Number.NaN }))).rejects.toThrow(
        TypeError,
      );
      await expect(
        store.update('a', () => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      same(await store.getById('a'), a);
      same(await store.getByEndpoint('ep'), a);
      expect(await store.getById('b')).toBeUndefined();
      expect(await store.getByEndpoint('other')).toBeUndefined();
    });

    it('removes once', async () => {
      const store = await impl.create();
      const a = reg('a', 'ep', 1000);
      await store.add(a);
      const [r1, r2] = await Promise.all([store.remove('a'), store.remove('a')]);
      expect([r1, r2].filter((r) => r !== undefined)).toEqual([a]);
      expect(await store.getByEndpoint('ep')).toBeUndefined();
      expect(await store.nextExpiry()).toBeUndefined();
      expect(await store.removeExpired(5000)).toEqual([]);
    });

    it('expires registrations whose expiresAt <= now, each once', async () => {
      const store = await impl.create();
      await store.add(reg('a', 'ep-a', 3000));
      await store.add(reg('b', 'ep-b', 1000));
      await store.add(reg('c', 'ep-c', 2000));
      await store.add(reg('d', 'ep-d', 2000));
      expect(await store.nextExpiry()).toBe(1000);
      expect(ids(await store.removeExpired(999))).toEqual([]);
      expect(ids(await store.removeExpired(1000))).toEqual(['b']);
      expect(ids(await store.removeExpired(1000))).toEqual([]);
      expect(await store.nextExpiry()).toBe(2000);
      expect(ids(await store.removeExpired(2500))).toEqual(['c', 'd']);
      expect(await store.getByEndpoint('ep-c')).toBeUndefined();
      expect(ids(await store.list())).toEqual(['a']);
      expect(ids(await store.removeExpired(Number.POSITIVE_INFINITY))).toEqual(['a']);
      expect(await store.nextExpiry()).toBeUndefined();
      expect(await store.removeExpired(Number.NaN)).toEqual([]);
    });

    it('does not expire a registration whose Update moved expiresAt forward', async () => {
      const store = await impl.create();
      await store.add(reg('a', 'ep', 1000));
      await store.update('a', (cur) => ({ ...cur, expiresAt: 5000 }));
      expect(await store.nextExpiry()).toBe(5000);
      expect(await store.removeExpired(4999)).toEqual([]);
      expect(await store.getById('a')).toBeDefined();
      expect(ids(await store.removeExpired(5000))).toEqual(['a']);
    });

    it('expires early when an Update moved expiresAt back', async () => {
      const store = await impl.create();
      await store.add(reg('a', 'ep', 5000));
      await store.update('a', (cur) => ({ ...cur, expiresAt: 1000 }));
      expect(await store.nextExpiry()).toBe(1000);
      expect(ids(await store.removeExpired(1000))).toEqual(['a']);
      expect(await store.removeExpired(6000)).toEqual([]);
    });

    it('expires a registration removed and added again under the same id once', async () => {
      const store = await impl.create();
      await store.add(reg('a', 'ep', 1000));
      await store.remove('a');
      await store.add(reg('a', 'ep', 1000));
      expect(ids(await store.removeExpired(1000))).toEqual(['a']);
      expect(await store.list()).toEqual([]);
    });

    it('stays bounded under many updates of the same registrations', async () => {
      const { updates, afterUpdates, afterExpiry } = impl.footprint;
      const store = await impl.create();
      for (let i = 0; i < 10; i++) await store.add(reg(`r${i}`, `ep${i}`, 1000));
      for (let n = 1; n <= updates; n++) {
        await store.update(`r${n % 10}`, (cur) => ({ ...cur, expiresAt: 1000 + n }));
      }
      await afterUpdates(store);
      // r1 was last updated at n = updates - 9, r0 at n = updates.
      expect(await store.nextExpiry()).toBe(1000 + updates - 9);
      expect(ids(await store.removeExpired(1000 + updates - 5))).toEqual([
        'r1',
        'r2',
        'r3',
        'r4',
        'r5',
      ]);
      expect(ids(await store.removeExpired(1_000_000))).toEqual(['r0', 'r6', 'r7', 'r8', 'r9']);
      await afterExpiry?.(store);
    });

    it('keeps fractional and large times exactly', async () => {
      const store = await impl.create();
      const t = 1_767_225_600_123.5;
      await store.add(reg('a', 'ep', t));
      expect(await store.nextExpiry()).toBe(t);
      expect(await store.removeExpired(t - 0.25)).toEqual([]);
      expect(ids(await store.removeExpired(t))).toEqual(['a']);
    });

    it('matches a simple model under random operations', async () => {
      type Op =
        | { kind: 'add'; id: number; ep: number; at: number }
        | { kind: 'update'; id: number; at: number }
        | { kind: 'remove'; id: number }
        | { kind: 'expire'; now: number };
      const op = fc.oneof(
        fc.record({
          kind: fc.constant('add' as const),
          id: fc.nat(20),
          ep: fc.nat(8),
          at: fc.nat(100),
        }),
        fc.record({ kind: fc.constant('update' as const), id: fc.nat(20), at: fc.nat(100) }),
        fc.record({ kind: fc.constant('remove' as const), id: fc.nat(20) }),
        fc.record({ kind: fc.constant('expire' as const), now: fc.nat(100) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 80 }), async (ops: Op[]) => {
          const store = await impl.create();
          const model = new Map<string, ContractRegistration>();
          for (const o of ops) {
            if (o.kind === 'add') {
              const r = reg(`i${o.id}`, `e${o.ep}`, o.at);
              const holder = model.get(r.id);
              if (holder !== undefined && holder.endpoint !== r.endpoint) {
                await expect(store.add(r)).rejects.toThrow(TypeError);
                continue;
              }
              const prev = [...model.values()].find((m) => m.endpoint === r.endpoint);
              if (prev !== undefined) model.delete(prev.id);
              model.set(r.id, r);
              same(await store.add(r), prev);
            } else if (o.kind === 'update') {
              const id = `i${o.id}`;
              const res = await store.update(id, (cur) => ({ ...cur, expiresAt: o.at }));
              same(res?.before, model.get(id));
              if (res !== undefined) model.set(id, res.after);
            } else if (o.kind === 'remove') {
              const id = `i${o.id}`;
              same(await store.remove(id), model.get(id));
              model.delete(id);
            } else {
              const want = [...model.values()].filter((m) => m.expiresAt <= o.now);
              for (const m of want) model.delete(m.id);
              expect(ids(await store.removeExpired(o.now))).toEqual(ids(want));
            }
            const times = [...model.values()].map((m) => m.expiresAt);
            expect(await store.nextExpiry()).toBe(times.length ? Math.min(...times) : undefined);
            expect(ids(await store.list())).toEqual(ids([...model.values()]));
            for (const m of model.values()) same(await store.getByEndpoint(m.endpoint), m);
          }
        }),
        { numRuns: 300 },
      );
    });
  });
}
