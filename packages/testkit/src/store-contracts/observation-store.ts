import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Awaitable, sameRecord } from './common.js';

/** The server's `ObservationRecord` (apps/server/src/observation-store.ts), structurally. */
export interface ContractObservation {
  readonly id: string;
  readonly registrationId: string;
  readonly endpoint: string;
  readonly paths: readonly string[];
  readonly composite: boolean;
  readonly contentFormat?: number;
  readonly createdAt: number;
  readonly node?: string;
}

/** The server's `ObservationStore` interface, structurally. */
export interface ObservationStoreLike {
  add(observation: ContractObservation): Promise<void>;
  get(id: string): Promise<ContractObservation | undefined>;
  listByRegistration(registrationId: string): Promise<readonly ContractObservation[]>;
  remove(id: string): Promise<ContractObservation | undefined>;
  removeByRegistration(registrationId: string): Promise<readonly ContractObservation[]>;
  close(): Promise<void>;
}

export interface ObservationStoreContract<S extends ObservationStoreLike> {
  /** A new, empty store (called once per test, and once per run of the model test). */
  create(): Awaitable<S>;
  /** How many observations the store holds, where it can tell cheaply (checked after each step). */
  count?(store: S): Awaitable<number>;
  /** The store hands back the very objects it was given (in memory): checked with `toBe`. */
  readonly keepsObjects?: boolean;
  /**
   * Extra checks of what the store keeps (e.g. Redis keys): `removedRegistration` after r1's
   * observations went and r2's `cc` stayed; `moved` after `aa` moved from r1 to r2.
   */
  check?(point: 'removedRegistration' | 'moved', store: S): Awaitable<void>;
}

/** An observation of `paths` (composite when more than one) for registration `registrationId`. */
export function contractObservation(
  id: string,
  registrationId: string,
  paths: string[] = ['/3/0/1'],
): ContractObservation {
  return {
    id,
    registrationId,
    endpoint: `ep-${registrationId}`,
    paths,
    composite: paths.length > 1,
    createdAt: 0,
  };
}

const ids = (list: readonly ContractObservation[]) => list.map((o) => o.id).sort();

/**
 * The behaviour every `ObservationStore` shares (the in-memory one is the reference): lookups by
 * token and by registration kept in step, removal once, and a model check under random operations.
 */
export function describeObservationStoreContract<S extends ObservationStoreLike>(
  name: string,
  impl: ObservationStoreContract<S>,
): void {
  const obs = contractObservation;
  const same = sameRecord(impl.keepsObjects ?? false);
  const expectCount = async (store: S, n: number) => {
    if (impl.count) expect(await impl.count(store)).toBe(n);
  };

  describe(`${name} (observation store contract)`, () => {
    it('adds, gets and lists by registration', async () => {
      const store = await impl.create();
      const a = obs('aa', 'r1');
      const b = { ...obs('bb', 'r1', ['/3/0/1', '/3/0/2']), contentFormat: 112 };
      const c = obs('cc', 'r2');
      await store.add(a);
      await store.add(b);
      await store.add(c);
      same(await store.get('aa'), a);
      same(await store.get('bb'), b);
      expect(await store.get('zz')).toBeUndefined();
      expect(ids(await store.listByRegistration('r1'))).toEqual(['aa', 'bb']);
      expect(ids(await store.listByRegistration('r2'))).toEqual(['cc']);
      expect(await store.listByRegistration('r3')).toEqual([]);
      await expectCount(store, 3);
    });

    it('removes one observation once and updates the index', async () => {
      const store = await impl.create();
      const a = obs('aa', 'r1');
      await store.add(a);
      await store.add(obs('bb', 'r1'));
      same(await store.remove('aa'), a);
      expect(await store.remove('aa')).toBeUndefined();
      expect(ids(await store.listByRegistration('r1'))).toEqual(['bb']);
    });

    it('removes all observations of a registration', async () => {
      const store = await impl.create();
      await store.add(obs('aa', 'r1'));
      await store.add(obs('bb', 'r1'));
      await store.add(obs('cc', 'r2'));
      expect(ids(await store.removeByRegistration('r1'))).toEqual(['aa', 'bb']);
      expect(await store.removeByRegistration('r1')).toEqual([]);
      expect(await store.get('aa')).toBeUndefined();
      expect(await store.listByRegistration('r1')).toEqual([]);
      expect(ids(await store.listByRegistration('r2'))).toEqual(['cc']);
      await expectCount(store, 1);
      await impl.check?.('removedRegistration', store);
    });

    it('replaces an observation with the same id, also across registrations', async () => {
      const store = await impl.create();
      await store.add(obs('aa', 'r1'));
      const moved = obs('aa', 'r2', ['/5/0/3']);
      await store.add(moved);
      same(await store.get('aa'), moved);
      expect(await store.listByRegistration('r1')).toEqual([]);
      expect(await store.listByRegistration('r2')).toEqual([moved]);
      await expectCount(store, 1);
      await impl.check?.('moved', store);
    });

    it('matches a simple model under random operations', async () => {
      const op = fc.oneof(
        fc.tuple(fc.constant('add' as const), fc.nat(10), fc.nat(3)),
        fc.tuple(fc.constant('remove' as const), fc.nat(10), fc.constant(0)),
        fc.tuple(fc.constant('removeReg' as const), fc.nat(3), fc.constant(0)),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
          const store = await impl.create();
          const model = new Map<string, ContractObservation>();
          for (const [kind, a, b] of ops) {
            if (kind === 'add') {
              const o = obs(`t${a}`, `r${b}`);
              model.set(o.id, o);
              await store.add(o);
            } else if (kind === 'remove') {
              same(await store.remove(`t${a}`), model.get(`t${a}`));
              model.delete(`t${a}`);
            } else {
              const want = [...model.values()].filter((o) => o.registrationId === `r${a}`);
              for (const o of want) model.delete(o.id);
              expect(ids(await store.removeByRegistration(`r${a}`))).toEqual(ids(want));
            }
            for (let r = 0; r <= 3; r++) {
              const want = [...model.values()].filter((o) => o.registrationId === `r${r}`);
              expect(ids(await store.listByRegistration(`r${r}`))).toEqual(ids(want));
            }
            await expectCount(store, model.size);
          }
        }),
        { numRuns: 200 },
      );
    });
  });
}
