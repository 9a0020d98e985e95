/**
 * Two (or more) `lwm2m-server --store redis://…` processes on one real Redis, run from source
 * through the tsx loader like cli.test.ts, on free ports (the ready line says which).
 *
 * A device behind a cluster's load balancer sends its traffic to one address; the tests model the
 * balancer's failover by pointing the device at the surviving process's port.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ProcessHandle,
  type RedisServer,
  redisServerOrSkip,
  startProcess,
  startRedis,
} from '@lwm2m-ts/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, openSse, type SseStream } from './rest/test-http.js';
import { TestDevice } from './test-device.js';

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const ARGS = ['--import', 'tsx', 'src/cli.ts'];
const READY = /lwm2m-server listening: coap udp:\/\/127\.0\.0\.1:(\d+), http (http:\/\/\S+)\n/;

const bin = redisServerOrSkip();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  let last: T = await get();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)}`);
    await sleep(100);
    last = await get();
  }
  return last;
}

describe.skipIf(!bin)('two lwm2m-server processes on one Redis', { timeout: 60_000 }, () => {
  let redis: RedisServer;
  let prefixSeq = 0;
  const devices: TestDevice[] = [];
  const procs: ProcessHandle[] = [];
  const streams: SseStream[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    for (const s of streams.splice(0)) s.close();
    await Promise.all(devices.splice(0).map((d) => d.close()));
    // Not stopAll(): it would stop redis-server too.
    await Promise.all(procs.splice(0).map((p) => p.stop()));
  });

  async function server(node: string, prefix: string) {
    const proc = await startProcess(
      process.execPath,
      [
        ...ARGS,
        '--store',
        redis.url,
        '--store-prefix',
        prefix,
        '--store-timeout',
        '1000',
        '--node-id',
        node,
        '--coap-address=127.0.0.1',
        '--coap-port=0',
        '--no-dtls',
        '--http-port=0',
        '--log-level=warn',
      ],
      { cwd: PACKAGE_DIR, readyWhen: READY, readyTimeoutMs: 20_000 },
    );
    procs.push(proc);
    const m = READY.exec(proc.stdout());
    expect(m, proc.output()).not.toBeNull();
    return { proc, coap: { port: Number(m![1]) }, base: m![2]! };
  }

  async function device() {
    const d = await TestDevice.start();
    devices.push(d);
    return d;
  }

  async function sse(base: string) {
    const s = await openSse(`${base}/api/events`);
    streams.push(s);
    return s;
  }

  it('registered through A: listed, read and observed through B; after A is killed, B serves it', async () => {
    const prefix = `cli${++prefixSeq}:`;
    const [a, b] = await Promise.all([server('A', prefix), server('B', prefix)]);
    const eventsB = await sse(b.base);
    const d = await device();
    expect((await d.register(a.coap, ['ep=dev-1', 'lwm2m=1.1', 'lt=300'])).code).toBe('2.01');

    // B's SSE clients see the registration made through A.
    const reg = await eventsB.next((e) => e.event === 'registration');
    expect(reg.data).toMatchObject({ endpoint: 'dev-1', remote: 'A' });
    const list = await call(b.base, 'GET', '/api/clients');
    expect(list.body).toMatchObject([{ endpoint: 'dev-1', node: 'A' }]);
    const read = await call(b.base, 'GET', '/api/clients/dev-1/3/0/0');
    expect(read.status).toBe(200);
    expect(read.body.content).toMatchObject({ value: 'ACME' });

    // One observation through each process; B's SSE sees the notifications of both.
    const obsB = await call(b.base, 'POST', '/api/clients/dev-1/3303/0/5700/observe');
    expect(obsB.status).toBe(200);
    const obsA = await call(a.base, 'POST', '/api/clients/dev-1/3/0/9/observe');
    expect(obsA.status).toBe(200);
    d.set('/3303/0/5700', { type: 'float', value: 23.5 });
    d.set('/3/0/9', { type: 'integer', value: 80n });
    const fromB = await eventsB.next(
      (e) => e.event === 'notification' && e.data.paths[0] === '/3303/0/5700',
    );
    expect(fromB.data.remote).toBeUndefined();
    expect(fromB.data.content).toMatchObject({ value: 23.5 });
    const fromA = await eventsB.next(
      (e) => e.event === 'notification' && e.data.paths[0] === '/3/0/9',
    );
    expect(fromA.data).toMatchObject({ remote: 'A', content: { value: 80 } });

    // A dies without a word: the registration and both observations survive in Redis.
    a.proc.proc.kill('SIGKILL');
    await a.proc.exited;
    expect((await call(b.base, 'GET', '/api/clients/dev-1')).body).toMatchObject({
      endpoint: 'dev-1',
    });
    const kept = await call(b.base, 'GET', '/api/clients/dev-1/observations');
    expect(kept.body.map((o: { node: string }) => o.node).sort()).toEqual(['A', 'B']);

    // Once B has missed A's heartbeats (3 × 2 s), the device's next Update (to B, where the
    // balancer now sends it) moves A's observation to B.
    await sleep(6500);
    expect((await d.update(b.coap)).code).toBe('2.04');
    await until(
      'observations after the update',
      async () =>
        (await call(b.base, 'GET', '/api/clients/dev-1/observations')).body.map(
          (o: { node: string; paths: string[] }) => `${o.paths[0]}@${o.node}`,
        ),
      (v: string[]) => v.sort().join() === '/3/0/9@B,/3303/0/5700@B',
    );
    expect((await call(b.base, 'GET', '/api/clients/dev-1')).body.node).toBe('B');
    expect((await call(b.base, 'GET', '/api/clients/dev-1/3/0/1')).body.content).toMatchObject({
      value: 'Model 1',
    });
    d.set('/3/0/9', { type: 'integer', value: 79n });
    const moved = await eventsB.next(
      (e) => e.event === 'notification' && e.data.content?.value === 79,
    );
    expect(moved.data.remote).toBeUndefined();
    expect(await b.proc.stop()).toBe(0);
  });

  it('Redis down for 2 s: 5.03 to devices, 503 on REST, no crash, recovery, nothing lost', async () => {
    const prefix = `cli${++prefixSeq}:`;
    const s = await server('S', prefix);
    const d1 = await device();
    expect((await d1.register(s.coap, ['ep=before', 'lt=300'])).code).toBe('2.01');

    const restarting = redis.restart({ downtimeMs: 2000 });
    try {
      await until(
        'redis down',
        () =>
          redis.command('PING').then(
            () => 'up',
            () => 'down',
          ),
        (v) => v === 'down',
        5000,
      );
      const d2 = await device();
      const refused = await d2.register(s.coap, ['ep=during', 'lt=300']);
      expect(refused.code).toBe('5.03');
      const rest = await call(s.base, 'GET', '/api/clients');
      expect(rest.status).toBe(503);
      expect(rest.body).toMatchObject({ error: 'StoreUnavailableError', coapCode: '5.03' });
      expect(rest.body.message).toMatch(/Redis at 127\.0\.0\.1:\d+ is unavailable/);
    } finally {
      await restarting;
    }
    const d2 = devices.at(-1)!;

    expect(s.proc.running).toBe(true);
    await until(
      'registration after the outage',
      async () => (await d2.register(s.coap, ['ep=during', 'lt=300'])).code,
      (code) => code === '2.01',
    );
    const names = (await call(s.base, 'GET', '/api/clients')).body.map(
      (r: { endpoint: string }) => r.endpoint,
    );
    expect(names).toEqual(['before', 'during']);
    expect((await d1.update(s.coap)).code).toBe('2.04');
    expect(await s.proc.stop()).toBe(0);
  });

  it('expiry across two processes emits exactly one de-registration, relayed to the other', async () => {
    const prefix = `cli${++prefixSeq}:`;
    const [a, b] = await Promise.all([server('A', prefix), server('B', prefix)]);
    const [ea, eb] = await Promise.all([sse(a.base), sse(b.base)]);
    const d = await device();
    expect((await d.register(b.coap, ['ep=brief', 'lt=1'])).code).toBe('2.01');
    await Promise.all([
      ea.next((e) => e.event === 'deregistration'),
      eb.next((e) => e.event === 'deregistration'),
    ]);
    await sleep(1500);
    const all = [...ea.events, ...eb.events].filter((e) => e.event === 'deregistration');
    expect(all).toHaveLength(2);
    expect(all.filter((e) => e.data.remote === undefined)).toHaveLength(1);
    expect(all.every((e) => e.data.reason === 'expired')).toBe(true);
    expect((await call(a.base, 'GET', '/api/clients')).body).toEqual([]);
  });
});
