import { InvalidValueError, LwM2mError } from '@lwm2m-ts/core';
import { describeSecurityStoreContract, contractPsk as psk } from '@lwm2m-ts/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { IdentityInUseError } from './errors.js';
import { RedisSecurityStore } from './security-store.js';
import { freshPrefix, keysUnder, redisBin, useRedis } from './test-redis.js';

describe.skipIf(!redisBin)('RedisSecurityStore', () => {
  const redis = useRedis();

  describeSecurityStoreContract('RedisSecurityStore', {
    create: async (entries = []) => {
      const store = new RedisSecurityStore({ redis: redis.client(), keyPrefix: freshPrefix() });
      for (const e of entries) await store.put(e);
      return store;
    },
    errors: {
      base: LwM2mError,
      invalidValue: InvalidValueError,
      identityInUse: IdentityInUseError,
    },
    // Only the insertion counter stays once the last entry is gone.
    check: async (_point, store) => {
      const prefix = store.connection.key('');
      expect(await keysUnder(redis.server, prefix)).toEqual([`${prefix}sec-seq`]);
    },
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
