import { describeBootstrapConfigStoreContract } from '@lwm2m-ts/testkit/vitest';
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

const cfg = (shortServerId: number, identity?: string): Config => ({
  servers: [
    { shortServerId, uri: `coap://127.0.0.1:${5682 + shortServerId}`, securityMode: 'nosec' },
  ],
  deletePaths: ['/0', '/1'],
  writes: [{ path: '/3/0/14', value: '+02' }],
  ...(identity === undefined ? {} : { bootstrapCredentials: { identity, key: '0102' } }),
});

describe.skipIf(!redisBin)('RedisBootstrapConfigStore', () => {
  const redis = useRedis();

  describeBootstrapConfigStoreContract('RedisBootstrapConfigStore', {
    create: () =>
      new RedisBootstrapConfigStore<Config>({ redis: redis.client(), keyPrefix: freshPrefix() }),
    config: cfg,
    errors: { identityInUse: IdentityInUseError },
    check: async (_point, store) =>
      expect(await keysUnder(redis.server, store.connection.key(''))).toEqual([]),
  });

  it('two processes racing for one identity: exactly one gets it', async () => {
    const keyPrefix = freshPrefix();
    const s1 = new RedisBootstrapConfigStore<Config>({ redis: redis.client(), keyPrefix });
    const s2 = new RedisBootstrapConfigStore<Config>({ redis: redis.client(), keyPrefix });
    for (let round = 0; round < 20; round++) {
      const results = await Promise.allSettled([
        s1.put(`a${round}`, cfg(1, `id${round}`)),
        s2.put(`b${round}`, cfg(2, `id${round}`)),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    }
    expect(await s1.list()).toHaveLength(20);
  });
});
