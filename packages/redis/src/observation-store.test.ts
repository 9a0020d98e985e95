import {
  type ContractObservation,
  describeObservationStoreContract,
  contractObservation as obs,
} from '@lwm2m-ts/testkit/vitest';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisObservationStore } from './observation-store.js';
import { freshPrefix, keysUnder, redisBin, useRedis } from './test-redis.js';

describe.skipIf(!redisBin)('RedisObservationStore', () => {
  const redis = useRedis();
  // One client for the contract's stores (the model test makes a store per run).
  let client: Redis | undefined;
  const keys = (store: RedisObservationStore<ContractObservation>) =>
    keysUnder(redis.server, store.connection.key(''));

  describeObservationStoreContract('RedisObservationStore', {
    create: () => {
      client ??= redis.client();
      return new RedisObservationStore<ContractObservation>({
        redis: client,
        keyPrefix: freshPrefix(),
      });
    },
    check: async (point, store) => {
      const prefix = store.connection.key('');
      if (point === 'removedRegistration') {
        expect(await keys(store)).toEqual([`${prefix}obs-reg:r2`, `${prefix}obs:cc`]);
      } else {
        expect(await keys(store)).toHaveLength(2);
      }
    },
  });

  const pair = () => {
    const keyPrefix = freshPrefix();
    return [
      new RedisObservationStore<ContractObservation>({ redis: redis.client(), keyPrefix }),
      new RedisObservationStore<ContractObservation>({ redis: redis.client(), keyPrefix }),
    ] as const;
  };

  it('one of two processes gets an observation removed by both', async () => {
    const [s1, s2] = pair();
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
    const [s1, s2] = pair();
    await s1.add(obs('0a1b2c3d', 'r1', ['/3303/0/5700']));
    expect((await s2.get('0a1b2c3d'))?.paths).toEqual(['/3303/0/5700']);
  });
});
