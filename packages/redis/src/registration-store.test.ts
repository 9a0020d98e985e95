import fc from 'fast-check';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { recommendedRedisOptions } from './connection.js';
import { RedisRegistrationStore } from './registration-store.js';
import { freshPrefix, keysUnder, redisBin, useRedis } from './test-redis.js';

/** The server's `Registration` shape, as the store keeps it (plain JSON data). */
interface Reg {
  readonly id: string;
  readonly endpoint: string;
  readonly lwm2mVersion: string;
  readonly lifetime: number;
  readonly binding: string;
  readonly queueMode: boolean;
  readonly smsNumber?: string;
  readonly rootPath: string;
  readonly objectLinks: readonly { objectId: number; instanceId?: number; version?: string }[];
  readonly address: string;
  readonly port: number;
  readonly transport: 'udp' | 'dtls';
  readonly identity?: string;
  readonly registeredAt: number;
  readonly lastUpdate: number;
  readonly expiresAt: number;
}

function reg(id: string, endpoint: string, expiresAt: number, extra: Partial<Reg> = {}): Reg {
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

const ids = (regs: readonly Reg[]) => regs.map((r) => r.id).sort();

describe.skipIf(!redisBin)('RedisRegistrationStore', () => {
  const redis = useRedis();
  const shared = () => redis.client();
  const newStore = (client: Redis = shared(), keyPrefix = freshPrefix()) =>
    new RedisRegistrationStore<Reg>({ redis: client, keyPrefix });

  describe('the in-memory store’s cases', () => {
    it('finds a registration by id and by endpoint, and lists it', async () => {
      const store = newStore();
      const a = reg('a', 'ep-a', 1000, { smsNumber: '+1', identity: 'psk-a' });
      expect(await store.add(a)).toBeUndefined();
      expect(await store.getById('a')).toEqual(a);
      expect(await store.getByEndpoint('ep-a')).toEqual(a);
      expect(await store.getById('b')).toBeUndefined();
      expect(await store.getByEndpoint('ep-b')).toBeUndefined();
      expect(await store.list()).toEqual([a]);
      expect(await store.count()).toBe(1);
    });

    it('replaces the registration of the same endpoint and returns the old one', async () => {
      const store = newStore();
      const first = reg('a', 'ep', 1000);
      const second = reg('b', 'ep', 2000);
      await store.add(first);
      expect(await store.add(second)).toEqual(first);
      expect(await store.getById('a')).toBeUndefined();
      expect(await store.getById('b')).toEqual(second);
      expect(await store.getByEndpoint('ep')).toEqual(second);
      expect(await store.list()).toEqual([second]);
      // The replaced registration never expires from the store.
      expect(await store.nextExpiry()).toBe(2000);
      expect(ids(await store.removeExpired(1500))).toEqual([]);
      expect(ids(await store.removeExpired(2000))).toEqual(['b']);
    });

    it('re-adding the same id for the same endpoint replaces it', async () => {
      const store = newStore();
      const first = reg('a', 'ep', 1000);
      const again = reg('a', 'ep', 3000);
      await store.add(first);
      expect(await store.add(again)).toEqual(first);
      expect(await store.getById('a')).toEqual(again);
      expect(await store.removeExpired(2000)).toEqual([]);
      expect(await store.removeExpired(3000)).toEqual([again]);
    });

    it('refuses an id that another endpoint holds', async () => {
      const store = newStore();
      await store.add(reg('a', 'ep-1', 1000));
      await expect(store.add(reg('a', 'ep-2', 1000))).rejects.toThrow(TypeError);
      expect((await store.getById('a'))?.endpoint).toBe('ep-1');
      expect(await store.getByEndpoint('ep-2')).toBeUndefined();
    });

    it('refuses a non-finite expiresAt', async () => {
      const store = newStore();
      await expect(store.add(reg('a', 'ep', Number.NaN))).rejects.toThrow(TypeError);
      await expect(store.add(reg('a', 'ep', Number.POSITIVE_INFINITY))).rejects.toThrow(TypeError);
      expect(await store.count()).toBe(0);
    });

    it('updates atomically and returns before and after', async () => {
      const store = newStore();
      const a = reg('a', 'ep', 1000);
      await store.add(a);
      const result = await store.update('a', (cur) => ({ ...cur, lifetime: 120, expiresAt: 5000 }));
      expect(result?.before).toEqual(a);
      expect(result?.after.lifetime).toBe(120);
      expect(await store.getById('a')).toEqual(result?.after);
      expect(await store.getByEndpoint('ep')).toEqual(result?.after);
      expect(await store.update('missing', (cur) => cur)).toBeUndefined();
    });

    it('sees every earlier change when updates race', async () => {
      const store = newStore();
      await store.add(reg('a', 'ep', 1000, { lifetime: 0 }));
      await Promise.all(
        Array.from({ length: 50 }, () =>
          store.update('a', (cur) => ({ ...cur, lifetime: cur.lifetime + 1 })),
        ),
      );
      expect((await store.getById('a'))?.lifetime).toBe(50);
    });

    it('rejects an update that changes id or endpoint and keeps the registration', async () => {
      const store = newStore();
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
      expect(await store.getById('a')).toEqual(a);
      expect(await store.getByEndpoint('ep')).toEqual(a);
      expect(await store.getById('b')).toBeUndefined();
      expect(await store.getByEndpoint('other')).toBeUndefined();
    });

    it('removes once', async () => {
      const store = newStore();
      const a = reg('a', 'ep', 1000);
      await store.add(a);
      const [r1, r2] = await Promise.all([store.remove('a'), store.remove('a')]);
      expect([r1, r2].filter((r) => r !== undefined)).toEqual([a]);
      expect(await store.getByEndpoint('ep')).toBeUndefined();
      expect(await store.nextExpiry()).toBeUndefined();
      expect(await store.removeExpired(5000)).toEqual([]);
    });

    it('expires registrations whose expiresAt <= now, each once', async () => {
      const store = newStore();
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
      const store = newStore();
      await store.add(reg('a', 'ep', 1000));
      await store.update('a', (cur) => ({ ...cur, expiresAt: 5000 }));
      expect(await store.nextExpiry()).toBe(5000);
      expect(await store.removeExpired(4999)).toEqual([]);
      expect(await store.getById('a')).toBeDefined();
      expect(ids(await store.removeExpired(5000))).toEqual(['a']);
    });

    it('expires early when an Update moved expiresAt back', async () => {
      const store = newStore();
      await store.add(reg('a', 'ep', 5000));
      await store.update('a', (cur) => ({ ...cur, expiresAt: 1000 }));
      expect(await store.nextExpiry()).toBe(1000);
      expect(ids(await store.removeExpired(1000))).toEqual(['a']);
      expect(await store.removeExpired(6000)).toEqual([]);
    });

    it('expires a registration removed and added again under the same id once', async () => {
      const store = newStore();
      await store.add(reg('a', 'ep', 1000));
      await store.remove('a');
      await store.add(reg('a', 'ep', 1000));
      expect(ids(await store.removeExpired(1000))).toEqual(['a']);
      expect(await store.list()).toEqual([]);
    });

    it('keeps three keys per registration under many updates, none after expiry', async () => {
      const prefix = freshPrefix();
      const store = newStore(shared(), prefix);
      for (let i = 0; i < 10; i++) await store.add(reg(`r${i}`, `ep${i}`, 1000));
      for (let n = 1; n <= 500; n++) {
        await store.update(`r${n % 10}`, (cur) => ({ ...cur, expiresAt: 1000 + n }));
      }
      // 10 records, 10 endpoint indexes, one sorted set of 10.
      expect(await keysUnder(redis.server, prefix)).toHaveLength(21);
      expect(await redis.server.command('ZCARD', `${prefix}reg-expiry`)).toBe(10);
      expect(await store.nextExpiry()).toBe(1000 + 491);
      expect(ids(await store.removeExpired(1000 + 495))).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
      expect(ids(await store.removeExpired(1_000_000))).toEqual(['r0', 'r6', 'r7', 'r8', 'r9']);
      expect(await keysUnder(redis.server, prefix)).toEqual([]);
    });

    it('keeps fractional and large times exactly', async () => {
      const store = newStore();
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
      const client = shared();
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 80 }), async (ops: Op[]) => {
          const store = newStore(client);
          const model = new Map<string, Reg>();
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
              expect(await store.add(r)).toEqual(prev);
            } else if (o.kind === 'update') {
              const id = `i${o.id}`;
              const res = await store.update(id, (cur) => ({ ...cur, expiresAt: o.at }));
              const cur = model.get(id);
              expect(res?.before).toEqual(cur);
              if (res !== undefined) model.set(id, res.after);
            } else if (o.kind === 'remove') {
              const id = `i${o.id}`;
              expect(await store.remove(id)).toEqual(model.get(id));
              model.delete(id);
            } else {
              const want = [...model.values()].filter((m) => m.expiresAt <= o.now);
              for (const m of want) model.delete(m.id);
              expect(ids(await store.removeExpired(o.now))).toEqual(ids(want));
            }
            const times = [...model.values()].map((m) => m.expiresAt);
            expect(await store.nextExpiry()).toBe(times.length ? Math.min(...times) : undefined);
            expect(ids(await store.list())).toEqual(ids([...model.values()]));
            for (const m of model.values())
              expect(await store.getByEndpoint(m.endpoint)).toEqual(m);
          }
        }),
        { numRuns: 300 },
      );
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
