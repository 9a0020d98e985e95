import { type RedisServer, startRedis, stopAll } from '@lwm2m-ts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from './errors.js';
import { RedisEventBus } from './event-bus.js';
import { RedisObservationStore } from './observation-store.js';
import { RedisRegistrationStore } from './registration-store.js';
import { RedisSecurityStore } from './security-store.js';
import { freshPrefix, redisBin } from './test-redis.js';

interface Reg {
  readonly id: string;
  readonly endpoint: string;
  readonly expiresAt: number;
  readonly lifetime: number;
}

const reg = (i: number, expiresAt = 10_000 + i): Reg => ({
  id: `r${i}`,
  endpoint: `ep${i}`,
  expiresAt,
  lifetime: 60,
});

/** Rejects with what `p` rejected with, and how long that took. */
async function failure(p: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const t0 = performance.now();
  try {
    await p;
  } catch (error) {
    return { error, ms: performance.now() - t0 };
  }
  throw new Error('expected a failure');
}

/** Retries `op` until it succeeds (bounded). */
async function eventually<T>(op: () => Promise<T>, withinMs: number): Promise<T> {
  const deadline = performance.now() + withinMs;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (performance.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe.skipIf(!redisBin)('when Redis goes away and comes back', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis({ appendOnly: true });
  });
  afterAll(async () => {
    await server?.stop();
    await stopAll();
  });

  it('fails fast with StoreUnavailableError, recovers by itself, loses nothing acknowledged', async () => {
    const keyPrefix = freshPrefix();
    const timeoutMs = 500;
    const regs = new RedisRegistrationStore<Reg>({ redis: server.url, keyPrefix, timeoutMs });
    const sec = new RedisSecurityStore({ redis: server.url, keyPrefix, timeoutMs });
    const obs = new RedisObservationStore({ redis: server.url, keyPrefix, timeoutMs });
    try {
      for (let i = 0; i < 200; i++) await regs.add(reg(i));
      await regs.update('r7', (cur) => ({ ...cur, lifetime: 120 }));
      await regs.remove('r9');
      await sec.put({ endpoint: 'ep1', mode: 'psk', identity: 'id1', key: Uint8Array.of(1, 2) });
      await obs.add({ id: 'aa', registrationId: 'r1' });

      await server.down();
      const outageStart = performance.now();
      // While it is down: every kind of call fails, each within the bound, with a typed error.
      const calls: Array<() => Promise<unknown>> = [
        () => regs.getById('r1'),
        () => regs.add(reg(1000)),
        () => regs.update('r1', (cur) => ({ ...cur, lifetime: 1 })),
        () => regs.remove('r2'),
        () => regs.removeExpired(1_000_000),
        () => regs.list(),
        () => regs.nextExpiry(),
        () => sec.put({ endpoint: 'ep2', mode: 'nosec' }),
        () => sec.getByIdentity('id1'),
        () => obs.add({ id: 'bb', registrationId: 'r1' }),
      ];
      let failures = 0;
      while (performance.now() - outageStart < 2000) {
        const results = await Promise.all(calls.map((c) => failure(c())));
        for (const { error, ms } of results) {
          expect(error).toBeInstanceOf(StoreUnavailableError);
          const e = error as StoreUnavailableError;
          expect(e.coapCode).toBe('5.03');
          expect(e.httpStatus).toBe(503);
          expect(e.message).toMatch(/Redis at 127\.0\.0\.1:\d+ is unavailable/);
          expect(ms).toBeLessThan(timeoutMs + 1000);
          failures++;
        }
      }
      expect(failures).toBeGreaterThanOrEqual(calls.length * 2);

      await server.up();
      const back = performance.now();
      // The stores reconnect on their own (backing off at most 1 s between attempts).
      expect(await eventually(() => regs.count(), 5000)).toBe(199);
      expect(performance.now() - back).toBeLessThan(5000);
      // Everything acknowledged before the outage is there; nothing that failed during it is.
      const all = await regs.list();
      expect(all).toHaveLength(199);
      expect((await regs.getById('r7'))?.lifetime).toBe(120);
      expect((await regs.getById('r1'))?.lifetime).toBe(60);
      expect(await regs.getById('r9')).toBeUndefined();
      expect(await regs.getById('r1000')).toBeUndefined();
      expect(await regs.nextExpiry()).toBe(10_000);
      expect((await sec.getByIdentity('id1'))?.endpoint).toBe('ep1');
      expect(await sec.getByEndpoint('ep2')).toBeUndefined();
      expect(await obs.get('aa')).toEqual({ id: 'aa', registrationId: 'r1' });
      expect(await obs.get('bb')).toBeUndefined();
      // And it works as before (scripts are re-loaded into the restarted server).
      expect(await regs.add(reg(1001))).toBeUndefined();
      expect(await regs.removeExpired(10_005)).toHaveLength(6);
    } finally {
      await Promise.all([regs.close(), sec.close(), obs.close()]);
    }
  });

  it('a call made during a short outage waits for the connection within its bound', async () => {
    const keyPrefix = freshPrefix();
    const regs = new RedisRegistrationStore<Reg>({ redis: server.url, keyPrefix, timeoutMs: 8000 });
    try {
      await regs.add(reg(1));
      await server.down();
      // Let the client notice, so the call below really starts while disconnected.
      await eventually(async () => {
        if (regs.connection.client.status === 'ready') throw new Error('still connected');
      }, 2000);
      const pending = regs.add(reg(2));
      await new Promise((r) => setTimeout(r, 300));
      await server.up();
      expect(await pending).toBeUndefined();
      expect(await regs.count()).toBe(2);
    } finally {
      await regs.close();
    }
  });

  it('a server that stops answering (SIGSTOP) fails commands after the bound', async () => {
    const keyPrefix = freshPrefix();
    const regs = new RedisRegistrationStore<Reg>({ redis: server.url, keyPrefix, timeoutMs: 400 });
    try {
      await regs.add(reg(1));
      const pid = server.process!.pid;
      process.kill(pid, 'SIGSTOP');
      try {
        const { error, ms } = await failure(regs.getById('r1'));
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(ms).toBeGreaterThanOrEqual(350);
        expect(ms).toBeLessThan(2500);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      expect(await eventually(() => regs.getById('r1'), 5000)).toEqual(reg(1));
    } finally {
      await regs.close();
    }
  });

  it('the event bus subscribes again after a restart', async () => {
    const keyPrefix = freshPrefix();
    const a = new RedisEventBus({ redis: server.url, keyPrefix, timeoutMs: 500 });
    const b = new RedisEventBus({ redis: server.url, keyPrefix, timeoutMs: 500 });
    try {
      const got: unknown[] = [];
      await b.subscribe('registrations', (m) => got.push(m));
      expect(await a.publish('registrations', { n: 1 })).toBe(1);
      await eventually(async () => expect(got).toEqual([{ n: 1 }]), 2000);
      await server.restart({ downtimeMs: 500 });
      // Once both have reconnected, messages flow again (pub/sub is at most once: retry).
      await eventually(async () => {
        await a.publish('registrations', { n: 2 });
        expect(got).toContainEqual({ n: 2 });
      }, 8000);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
