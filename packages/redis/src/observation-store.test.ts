import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RedisObservationStore } from './observation-store.js';
import { freshPrefix, keysUnder, redisBin, useRedis } from './test-redis.js';

/** The server's `ObservationRecord` shape. */
interface Obs {
  readonly id: string;
  readonly registrationId: string;
  readonly endpoint: string;
  readonly paths: readonly string[];
  readonly composite: boolean;
  readonly contentFormat?: number;
  readonly createdAt: number;
}

function obs(id: string, registrationId: string, paths: string[] = ['/3/0/1']): Obs {
  return {
    id,
    registrationId,
    endpoint: `ep-${registrationId}`,
    paths,
    composite: paths.length > 1,
    createdAt: 0,
  };
}

const ids = (list: readonly Obs[]) => list.map((o) => o.id).sort();

describe.skipIf(!redisBin)('RedisObservationStore', () => {
  const redis = useRedis();
  const newStore = (keyPrefix = freshPrefix()) =>
    new RedisObservationStore<Obs>({ redis: redis.client(), keyPrefix });

  it('adds, gets and lists by registration', async () => {
    const store = newStore();
    const a = obs('aa', 'r1');
    const b = { ...obs('bb', 'r1', ['/3/0/1', '/3/0/2']), contentFormat: 112 };
    const c = obs('cc', 'r2');
    await store.add(a);
    await store.add(b);
    await store.add(c);
    expect(await store.get('aa')).toEqual(a);
    expect(await store.get('bb')).toEqual(b);
    expect(await store.get('zz')).toBeUndefined();
    expect(ids(await store.listByRegistration('r1'))).toEqual(['aa', 'bb']);
    expect(ids(await store.listByRegistration('r2'))).toEqual(['cc']);
    expect(await store.listByRegistration('r3')).toEqual([]);
  });

  it('removes one observation once and updates the index', async () => {
    const store = newStore();
    const a = obs('aa', 'r1');
    await store.add(a);
    await store.add(obs('bb', 'r1'));
    expect(await store.remove('aa')).toEqual(a);
    expect(await store.remove('aa')).toBeUndefined();
    expect(ids(await store.listByRegistration('r1'))).toEqual(['bb']);
  });

  it('removes all observations of a registration', async () => {
    const prefix = freshPrefix();
    const store = newStore(prefix);
    await store.add(obs('aa', 'r1'));
    await store.add(obs('bb', 'r1'));
    await store.add(obs('cc', 'r2'));
    expect(ids(await store.removeByRegistration('r1'))).toEqual(['aa', 'bb']);
    expect(await store.removeByRegistration('r1')).toEqual([]);
    expect(await store.get('aa')).toBeUndefined();
    expect(await store.listByRegistration('r1')).toEqual([]);
    expect(ids(await store.listByRegistration('r2'))).toEqual(['cc']);
    expect(await keysUnder(redis.server, prefix)).toEqual([
      `${prefix}obs-reg:r2`,
      `${prefix}obs:cc`,
    ]);
  });

  it('replaces an observation with the same id, also across registrations', async () => {
    const prefix = freshPrefix();
    const store = newStore(prefix);
    await store.add(obs('aa', 'r1'));
    const moved = obs('aa', 'r2', ['/5/0/3']);
    await store.add(moved);
    expect(await store.get('aa')).toEqual(moved);
    expect(await store.listByRegistration('r1')).toEqual([]);
    expect(await store.listByRegistration('r2')).toEqual([moved]);
    expect(await keysUnder(redis.server, prefix)).toHaveLength(2);
  });

  it('one of two processes gets an observation removed by both', async () => {
    const keyPrefix = freshPrefix();
    const s1 = new RedisObservationStore<Obs>({ redis: redis.client(), keyPrefix });
    const s2 = new RedisObservationStore<Obs>({ redis: redis.client(), keyPrefix });
    for (let round = 0; round < 20; round++) {
      await s1.add(obs(`t${round}`, 'r1'));
      await s1.add(obs(`u${round}`, 'r1'));
      const [a, b] = await Promise.all([s1.remove(`t${round}`), s2.remove(`t${round}`)]);
      expect([a, b].filter((x) => x !== undefined)).toHaveLength(1);
      const [c, d] = await Promise.all([
        s1.removeByRegistration('r1'),
        s2.removeByRegistration('r1'),
      ]);
      expect([...c, ...d].map((o) => o.id)).toEqual([`u${round}`]);
    }
  });

  it('a notification reaching the other process finds the observation by token', async () => {
    const keyPrefix = freshPrefix();
    const s1 = new RedisObservationStore<Obs>({ redis: redis.client(), keyPrefix });
    const s2 = new RedisObservationStore<Obs>({ redis: redis.client(), keyPrefix });
    await s1.add(obs('0a1b2c3d', 'r1', ['/3303/0/5700']));
    expect((await s2.get('0a1b2c3d'))?.paths).toEqual(['/3303/0/5700']);
  });

  it('matches a simple model under random operations', async () => {
    const op = fc.oneof(
      fc.tuple(fc.constant('add' as const), fc.nat(10), fc.nat(3)),
      fc.tuple(fc.constant('remove' as const), fc.nat(10), fc.constant(0)),
      fc.tuple(fc.constant('removeReg' as const), fc.nat(3), fc.constant(0)),
    );
    const client = redis.client();
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const store = new RedisObservationStore<Obs>({ redis: client, keyPrefix: freshPrefix() });
        const model = new Map<string, Obs>();
        for (const [kind, a, b] of ops) {
          if (kind === 'add') {
            const o = obs(`t${a}`, `r${b}`);
            model.set(o.id, o);
            await store.add(o);
          } else if (kind === 'remove') {
            expect(await store.remove(`t${a}`)).toEqual(model.get(`t${a}`));
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
        }
      }),
      { numRuns: 200 },
    );
  });
});
