import {
  type ContractRegistration,
  describeRegistrationStoreContract,
  registrationIds as ids,
  contractRegistration as reg,
} from '@lwm2m-ts/testkit/vitest';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { recommendedRedisOptions } from './connection.js';
import { RedisRegistrationStore } from './registration-store.js';
import { freshPrefix, keysUnder, redisBin, useRedis } from './test-redis.js';

/** The server's `Registration` shape, as the store keeps it (plain JSON data). */
type Reg = ContractRegistration;

describe.skipIf(!redisBin)('RedisRegistrationStore', () => {
  const redis = useRedis();
  const shared = () => redis.client();
  const newStore = (client: Redis = shared(), keyPrefix = freshPrefix()) =>
    new RedisRegistrationStore<Reg>({ redis: client, keyPrefix });
  let contractRedis: Redis | undefined;
  const contractClient = () => {
    contractRedis ??= shared();
    return contractRedis;
  };

  describeRegistrationStoreContract('RedisRegistrationStore', {
    // One client for all (the model test makes a store per run).
    create: () => newStore(contractClient()),
    count: (store) => store.count(),
    footprint: {
      updates: 500,
      afterUpdates: async (store) => {
        const prefix = store.connection.key('');
        // 10 records, 10 endpoint indexes, one sorted set of 10.
        expect(await keysUnder(redis.server, prefix)).toHaveLength(21);
        expect(await redis.server.command('ZCARD', `${prefix}reg-expiry`)).toBe(10);
      },
      afterExpiry: async (store) =>
        expect(await keysUnder(redis.server, store.connection.key(''))).toEqual([]),
    },
  });

  describe('by peer (peerOf)', () => {
    const peerOf = (r: Reg) => `${r.transport}|${r.address}|${r.port}`;
    const later = () => Date.now() + 60_000;

    it('finds a registration by where its device sends from, from another store on the same Redis', async () => {
      const keyPrefix = freshPrefix();
      const here = new RedisRegistrationStore<Reg>({ redis: shared(), keyPrefix, peerOf });
      const there = new RedisRegistrationStore<Reg>({ redis: redis.client(), keyPrefix, peerOf });
      await here.add(reg('a', 'ep-a', later(), { address: '127.0.0.5', port: 4000 }));
      expect((await there.getByPeer('udp|127.0.0.5|4000'))?.id).toBe('a');
      expect(await there.getByPeer('udp|127.0.0.5|4001')).toBeUndefined();
      expect(await there.getByPeer('dtls|127.0.0.5|4000')).toBeUndefined();

      // The device moves (NAT): its Update moves the index; the old peer finds nothing.
      await there.update('a', (cur) => ({ ...cur, port: 4002 }));
      expect((await here.getByPeer('udp|127.0.0.5|4002'))?.id).toBe('a');
      expect(await here.getByPeer('udp|127.0.0.5|4000')).toBeUndefined();

      // Another device takes the old address and port: found as itself.
      await here.add(reg('b', 'ep-b', later(), { address: '127.0.0.5', port: 4000 }));
      expect((await there.getByPeer('udp|127.0.0.5|4000'))?.id).toBe('b');

      // Gone: not found, and the index key expires with the registration's lifetime.
      await there.remove('a');
      expect(await here.getByPeer('udp|127.0.0.5|4002')).toBeUndefined();
      const ttl = await redis.server.command(
        'PTTL',
        here.connection.key('reg-peer:udp|127.0.0.5|4000'),
      );
      expect(Number(ttl)).toBeGreaterThan(50_000);
      expect(Number(ttl)).toBeLessThanOrEqual(60_000);
    });

    it('without peerOf keeps no index and finds nothing', async () => {
      const store = newStore();
      await store.add(reg('a', 'ep-a', later()));
      expect(await store.getByPeer('udp|127.0.0.1|5683')).toBeUndefined();
      expect(
        (await keysUnder(redis.server, store.connection.key(''))).some((k) =>
          k.includes('reg-peer:'),
        ),
      ).toBe(false);
    });
  });

  describe('across processes (two stores on two connections)', () => {
    const pair = () => {
      const keyPrefix = freshPrefix();
      return [
        new RedisRegistrationStore<Reg>({ redis: redis.client(), keyPrefix }),
        new RedisRegistrationStore<Reg>({ redis: redis.client(), keyPrefix }),
      ] as const;
    };

    it('add of the same endpoint from both: one replaces the other, the endpoint has one', async () => {
      for (let round = 0; round < 20; round++) {
        const [s1, s2] = pair();
        await s1.add(reg('old', 'ep', 1000));
        const [p1, p2] = await Promise.all([
          s1.add(reg('x1', 'ep', 2000)),
          s2.add(reg('x2', 'ep', 2000)),
        ]);
        const winner = (await s1.getByEndpoint('ep'))!.id;
        const loser = winner === 'x1' ? 'x2' : 'x1';
        // The first add replaced "old", the second replaced the first.
        const replaced = [p1?.id, p2?.id].sort();
        expect(replaced).toEqual(['old', loser].sort());
        expect(ids(await s2.list())).toEqual([winner]);
        expect(await s1.getById(loser)).toBeUndefined();
        expect(await s2.count()).toBe(1);
      }
    });

    it('remove twice: exactly one process gets the registration', async () => {
      for (let round = 0; round < 20; round++) {
        const [s1, s2] = pair();
        await s1.add(reg('a', 'ep', 1000));
        const results = await Promise.all([s1.remove('a'), s2.remove('a')]);
        expect(results.filter((r) => r !== undefined)).toHaveLength(1);
      }
    });

    it('removeExpired in both: each expired registration is returned once', async () => {
      const [s1, s2] = pair();
      const n = 2000;
      for (let i = 0; i < n; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, (_, j) => s1.add(reg(`r${i + j}`, `ep${i + j}`, i + j))),
        );
      }
      const rounds = await Promise.all(
        [s1, s2, s1, s2].map(async (s, k) => {
          const got: Reg[] = [];
          for (let t = k; t <= n; t += 97) got.push(...(await s.removeExpired(t)));
          got.push(...(await s.removeExpired(n)));
          return got;
        }),
      );
      const all = rounds.flat().map((r) => r.id);
      expect(all).toHaveLength(n);
      expect(new Set(all).size).toBe(n);
      expect(await s2.count()).toBe(0);
    });

    it('update racing with expiry never loses the update', async () => {
      const [s1, s2] = pair();
      let updatesWon = 0;
      let expiriesWon = 0;
      for (let round = 0; round < 200; round++) {
        const id = `r${round}`;
        await s1.add(reg(id, `ep${round}`, 1000));
        // Process 1 handles an Update (moves expiry to 9000) while process 2 expires at 1000.
        const [updated, expired] = await Promise.all([
          s1.update(id, (cur) => ({ ...cur, lastUpdate: 1000, expiresAt: 9000 })),
          s2.removeExpired(1000),
        ]);
        const stored = await s2.getById(id);
        if (updated !== undefined) {
          // The update won: the registration is kept with the new expiry, not expired.
          updatesWon++;
          expect(expired).toEqual([]);
          expect(stored?.expiresAt).toBe(9000);
          expect(await s2.nextExpiry()).toBe(9000);
        } else {
          // The expiry won: it returned the registration, and the update saw it gone.
          expiriesWon++;
          expect(ids(expired)).toEqual([id]);
          expect(stored).toBeUndefined();
        }
        await s1.remove(id);
      }
      expect(updatesWon + expiriesWon).toBe(200);
    });

    it('updates from two processes all apply', async () => {
      const [s1, s2] = pair();
      await s1.add(reg('a', 'ep', 1000, { lifetime: 0 }));
      await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          (i % 2 ? s1 : s2).update('a', (cur) => ({ ...cur, lifetime: cur.lifetime + 1 })),
        ),
      );
      expect((await s1.getById('a'))?.lifetime).toBe(60);
    });

    it('gives up on an update that loses too many races in a row', async () => {
      const keyPrefix = freshPrefix();
      const racer = redis.client();
      const client = redis.client();
      const s1 = new RedisRegistrationStore<Reg>({
        redis: client,
        keyPrefix,
        maxUpdateAttempts: 3,
      });
      const s2 = new RedisRegistrationStore<Reg>({ redis: racer, keyPrefix });
      await s1.add(reg('a', 'ep', 1000, { lifetime: 0 }));
      // Another process updates the registration between every read and write of s1.
      const evalsha = client.evalsha.bind(client) as (...args: unknown[]) => Promise<unknown>;
      let raced = 0;
      Object.assign(client, {
        evalsha: async (...args: unknown[]) => {
          raced++;
          await s2.update('a', (c) => ({ ...c, lifetime: c.lifetime + 1 }));
          return evalsha(...args);
        },
      });
      const update = s1.update('a', (cur) => ({ ...cur, lifetime: 1000 }));
      await expect(update).rejects.toMatchObject({ name: 'StoreUnavailableError' });
      expect(raced).toBe(3);
      expect((await s2.getById('a'))?.lifetime).toBe(3);
    });
  });

  it('10,000 registrations: add, list, update, expire in bounded time; memory per registration', async () => {
    const client = shared();
    const prefix = freshPrefix();
    const store = newStore(client, prefix);
    const n = 10_000;
    const usedMemory = async () =>
      Number(/used_memory:(\d+)/.exec(String(await redis.server.command('INFO', 'memory')))?.[1]);
    await redis.server.command('MEMORY', 'PURGE');
    const before = await usedMemory();
    const t0 = performance.now();
    const base = 1_767_225_600_000;
    for (let i = 0; i < n; i += 500) {
      await Promise.all(
        Array.from({ length: 500 }, (_, j) => {
          const k = i + j;
          return store.add(
            reg(
              `id${k}-${'x'.repeat(10)}`,
              `urn:imei:35${String(k).padStart(13, '0')}`,
              base + ((k * 7919) % n),
              {
                objectLinks: [0, 1, 3, 4, 5].map((objectId) => ({ objectId, instanceId: 0 })),
                registeredAt: base,
                lastUpdate: base,
              },
            ),
          );
        }),
      );
    }
    const tAdd = performance.now() - t0;
    const after = await usedMemory();
    const perRegistration = (after - before) / n;
    const sample = await store.getByEndpoint('urn:imei:350000000000042');
    const jsonBytes = Buffer.byteLength(JSON.stringify(sample));
    const t1 = performance.now();
    expect(await store.list()).toHaveLength(n);
    const tList = performance.now() - t1;
    const t2 = performance.now();
    for (let i = 0; i < n; i += 500) {
      await Promise.all(
        Array.from({ length: 500 }, (_, j) =>
          store.update(`id${i + j}-${'x'.repeat(10)}`, (cur) => ({
            ...cur,
            expiresAt: cur.expiresAt + n,
          })),
        ),
      );
    }
    const tUpdate = performance.now() - t2;
    expect(await store.removeExpired(base + n - 1)).toEqual([]);
    expect(await store.nextExpiry()).toBe(base + n);
    const t3 = performance.now();
    let removed = 0;
    for (let t = base + n; t < base + 2 * n; t += n / 100) {
      await store.nextExpiry();
      removed += (await store.removeExpired(t + n / 100 - 1)).length;
    }
    const tExpire = performance.now() - t3;
    expect(removed).toBe(n);
    expect(await store.count()).toBe(0);
    expect(await keysUnder(redis.server, prefix)).toEqual([]);
    const total = performance.now() - t0;
    console.log(
      `[redis] 10,000 registrations: add ${tAdd.toFixed(0)} ms, list ${tList.toFixed(0)} ms, ` +
        `update ${tUpdate.toFixed(0)} ms, expire ${tExpire.toFixed(0)} ms; ` +
        `Redis used_memory +${perRegistration.toFixed(0)} B per registration (JSON ${jsonBytes} B)`,
    );
    expect(perRegistration).toBeGreaterThan(jsonBytes);
    expect(perRegistration).toBeLessThan(4 * jsonBytes + 512);
    expect(total).toBeLessThan(20_000);
  });

  it('keeps deployments with different key prefixes apart', async () => {
    const client = shared();
    const a = newStore(client, 'deploy-a:');
    const b = newStore(client, 'deploy-b:');
    await a.add(reg('r1', 'ep', 1000));
    await b.add(reg('r1', 'ep-other', 2000));
    expect((await a.getById('r1'))?.endpoint).toBe('ep');
    expect((await b.getById('r1'))?.endpoint).toBe('ep-other');
    expect(await b.getByEndpoint('ep')).toBeUndefined();
    expect(ids(await a.removeExpired(5000))).toEqual(['r1']);
    expect(ids(await b.list())).toEqual(['r1']);
    expect(await keysUnder(redis.server, 'deploy-a:')).toEqual([]);
    expect(await keysUnder(redis.server, 'deploy-b:')).toEqual([
      'deploy-b:reg-ep:ep-other',
      'deploy-b:reg-expiry',
      'deploy-b:reg:r1',
    ]);
    // The default prefix is lwm2m:.
    const d = new RedisRegistrationStore<Reg>({ redis: client });
    await d.add(reg('z', 'ep-z', 1));
    expect(await keysUnder(redis.server, 'lwm2m:')).toContain('lwm2m:reg:z');
    await d.remove('z');
  });

  it('re-loads scripts after SCRIPT FLUSH (as after a Redis restart)', async () => {
    const store = newStore();
    await store.add(reg('a', 'ep', 1000));
    await redis.server.command('SCRIPT', 'FLUSH');
    expect(await store.add(reg('b', 'ep', 1000))).toMatchObject({ id: 'a' });
  });

  it('works on a protocol-2 client too', async () => {
    const c = new Redis(redis.server.url, { ...recommendedRedisOptions(2000), protocol: 2 });
    const store = newStore(c);
    try {
      expect(await store.add(reg('a', 'ep', 1000))).toBeUndefined();
      expect(await store.add(reg('b', 'ep', 2000))).toMatchObject({ id: 'a' });
      expect(await store.remove('a')).toBeUndefined();
      expect(await store.nextExpiry()).toBe(2000);
      expect(ids(await store.removeExpired(2000))).toEqual(['b']);
    } finally {
      c.disconnect();
    }
  });
});
