import { LwM2mError } from '@lwm2m-ts/core';
import { freeTcpPort } from '@lwm2m-ts/testkit';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisBootstrapConfigStore } from './bootstrap-config-store.js';
import { recommendedRedisOptions } from './connection.js';
import { IdentityInUseError, StoreUnavailableError } from './errors.js';
import { RedisEventBus } from './event-bus.js';
import { RedisObservationStore } from './observation-store.js';
import { RedisQueueStore } from './queue-store.js';
import { RedisRegistrationStore } from './registration-store.js';
import { RedisSecurityStore } from './security-store.js';
import { freshPrefix, redisBin, useRedis } from './test-redis.js';

const reg = (id: string) => ({ id, endpoint: `ep-${id}`, expiresAt: 1000 });

/** Handles that keep the event loop alive, by kind (sockets, timers). */
function handles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) out[kind] = (out[kind] ?? 0) + 1;
  return out;
}

async function connectedClients(server: { command(...a: string[]): Promise<unknown> }) {
  const info = String(await server.command('INFO', 'clients'));
  return Number(/connected_clients:(\d+)/.exec(info)?.[1]);
}

describe('errors', () => {
  it('StoreUnavailableError is a 5.03 / HTTP 503 LwM2mError', () => {
    const e = new StoreUnavailableError('down');
    expect(e).toBeInstanceOf(LwM2mError);
    expect(e.coapCode).toBe('5.03');
    expect(e.httpStatus).toBe(503);
    expect(e.name).toBe('StoreUnavailableError');
  });

  it('IdentityInUseError is a 4.00 / HTTP 409 LwM2mError', () => {
    const e = new IdentityInUseError('taken');
    expect(e).toBeInstanceOf(LwM2mError);
    expect(e.coapCode).toBe('4.00');
    expect(e.httpStatus).toBe(409);
    expect(e.name).toBe('IdentityInUseError');
  });
});

describe('options', () => {
  it('refuses a client with its own keyPrefix, and bad values', () => {
    const c = new Redis({ lazyConnect: true, keyPrefix: 'x:' });
    expect(() => new RedisRegistrationStore({ redis: c })).toThrow(/keyPrefix/);
    expect(() => new RedisRegistrationStore({ redis: 42 as unknown as string })).toThrow(TypeError);
    const d = new Redis({ lazyConnect: true });
    expect(() => new RedisRegistrationStore({ redis: d, timeoutMs: 0 })).toThrow(RangeError);
    expect(() => new RedisRegistrationStore({ redis: d, expiryBatch: 0 })).toThrow(RangeError);
    c.disconnect();
    d.disconnect();
  });

  it('fails within the bound when Redis was never reachable, and closes at once', async () => {
    const port = await freeTcpPort();
    const store = new RedisRegistrationStore({
      redis: `redis://127.0.0.1:${port}`,
      timeoutMs: 300,
    });
    const t0 = performance.now();
    const err = await store.getById('a').catch((e: unknown) => e);
    const ms = performance.now() - t0;
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
    expect((err as Error).message).toContain('ECONNREFUSED');
    expect(ms).toBeLessThan(1300);
    const t1 = performance.now();
    await store.close();
    expect(performance.now() - t1).toBeLessThan(1000);
    await expect(store.getById('a')).rejects.toThrow(/closed/);
  });
});

describe.skipIf(!redisBin)('connections', () => {
  const redis = useRedis();

  it('close() quits a connection the store opened, and leaves no handles behind', async () => {
    // Warm up module-level lazies (DNS, crypto) so they do not count as leaks.
    const warm = new RedisRegistrationStore({ redis: redis.server.url, keyPrefix: freshPrefix() });
    await warm.add(reg('w'));
    await warm.close();
    const clientsBefore = await connectedClients(redis.server);
    await new Promise((r) => setTimeout(r, 50));
    const before = handles();

    const keyPrefix = freshPrefix();
    const url = redis.server.url;
    const stores = [
      new RedisRegistrationStore({ redis: url, keyPrefix }),
      new RedisObservationStore({ redis: url, keyPrefix }),
      new RedisSecurityStore({ redis: url, keyPrefix }),
      new RedisBootstrapConfigStore({ redis: url, keyPrefix }),
      new RedisQueueStore({ redis: url, keyPrefix }),
    ] as const;
    const bus = new RedisEventBus({ redis: url, keyPrefix });
    await stores[0].add(reg('a'));
    await stores[1].add({ id: 't', registrationId: 'a' });
    await stores[2].put({ endpoint: 'e', mode: 'nosec' });
    await stores[3].put('e', {});
    await stores[4].push('a', 1);
    await bus.subscribe('c', () => {});
    await bus.publish('c', 1);
    expect(await connectedClients(redis.server)).toBe(clientsBefore + 7);

    await Promise.all([...stores.map((s) => s.close()), bus.close()]);
    await new Promise((r) => setTimeout(r, 50));
    expect(await connectedClients(redis.server)).toBe(clientsBefore);
    await new Promise((r) => setTimeout(r, 50));
    // Sockets: exactly as before. Timers: none left by the stores (vitest's own may come and go).
    const after = handles();
    expect(after.TCPSocketWrap ?? 0).toBe(before.TCPSocketWrap ?? 0);
    expect(after.TCPWrap ?? 0).toBe(before.TCPWrap ?? 0);
    expect(after.Timeout ?? 0).toBeLessThanOrEqual(before.Timeout ?? 0);
    await expect(stores[0].getById('a')).rejects.toBeInstanceOf(StoreUnavailableError);
    await stores[0].close(); // idempotent
  });

  it('close() leaves a client handed in open, for the other stores sharing it', async () => {
    const client = redis.client();
    const keyPrefix = freshPrefix();
    const a = new RedisRegistrationStore({ redis: client, keyPrefix });
    const b = new RedisRegistrationStore({ redis: client, keyPrefix });
    const bus = new RedisEventBus({ redis: client, keyPrefix });
    await a.add(reg('x'));
    await bus.subscribe('c', () => {});
    await a.close();
    await bus.close(); // closes its own subscriber connection only
    expect(client.status).toBe('ready');
    expect(await b.getById('x')).toEqual(reg('x'));
    expect(await client.ping()).toBe('PONG');
    await b.close();
    expect(client.listenerCount('error')).toBe(0);
    expect(client.listenerCount('ready')).toBe(0);
  });

  it('many stores on one client add one pair of listeners', async () => {
    const client = redis.client();
    const stores = Array.from(
      { length: 50 },
      () => new RedisRegistrationStore({ redis: client, keyPrefix: freshPrefix() }),
    );
    expect(client.listenerCount('error')).toBe(1);
    await Promise.all(stores.map((s, i) => s.add(reg(`r${i}`))));
    await Promise.all(stores.map((s) => s.close()));
    expect(client.listenerCount('error')).toBe(0);
  });

  it('works with a lazyConnect client (connects on first use)', async () => {
    const client = new Redis(redis.server.url, {
      ...recommendedRedisOptions(2000),
      lazyConnect: true,
    });
    try {
      const store = new RedisRegistrationStore({ redis: client, keyPrefix: freshPrefix() });
      expect(client.status).toBe('wait');
      expect(await store.add(reg('a'))).toBeUndefined();
      expect(await store.getById('a')).toEqual(reg('a'));
      await store.close();
    } finally {
      client.disconnect();
    }
  });

  it('works with a default-options ioredis client too', async () => {
    const client = new Redis(redis.server.url);
    try {
      const store = new RedisRegistrationStore({ redis: client, keyPrefix: freshPrefix() });
      expect(await store.add(reg('a'))).toBeUndefined();
      expect(await store.list()).toEqual([reg('a')]);
    } finally {
      await client.quit();
    }
  });
});
