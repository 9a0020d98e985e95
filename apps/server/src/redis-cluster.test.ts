/**
 * Cluster mode on a real Redis, with several `LwM2mServer`s in this process, each on its own Redis
 * connections (as separate processes would be): events crossing between them, requests for
 * devices registered elsewhere, DTLS sessions held elsewhere, queue mode across processes,
 * expiry once per cluster, observations taken over from a gone process. The two-process test
 * with the CLI is redis-cluster-cli.test.ts.
 */
import type { AddressInfo } from 'node:net';
import { ContentFormat, TimeoutError } from '@lwm2m-ts/core';
import { DtlsClientSocket } from '@lwm2m-ts/dtls';
import { RedisObservationStore, RedisRegistrationStore, RedisSecurityStore } from '@lwm2m-ts/redis';
import { type RedisServer, redisServerOrSkip, startRedis } from '@lwm2m-ts/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from './config.js';
import type { ServerEvents } from './events.js';
import type { ObservationRecord, ObservationStore } from './observation-store.js';
import { openRedisStores } from './redis-stores.js';
import type { Registration } from './registration.js';
import type { RegistrationStore } from './registration-store.js';
import { createRestApi } from './rest/app.js';
import { call, openSse } from './rest/test-http.js';
import type { SecurityStore } from './security-store.js';
import { LwM2mServer, type LwM2mServerOptions } from './server.js';
import { RawNotifier, TestDevice } from './test-device.js';

// Type-level: the Redis stores are the server's stores (tsc fails otherwise).
function fits(url: string): [RegistrationStore, ObservationStore, SecurityStore] {
  return [
    new RedisRegistrationStore<Registration>({ redis: url }),
    new RedisObservationStore<ObservationRecord>({ redis: url }),
    new RedisSecurityStore({ redis: url }),
  ];
}
void fits;

describe('--store option', () => {
  const parse = (argv: string[], env: Record<string, string> = {}) => {
    const r = parseConfig({ argv, env });
    if (r.help) throw new Error('unexpected --help');
    return r.config;
  };

  it('defaults to memory; takes redis:// and rediss:// URLs from flags, env and file', () => {
    expect(parse([])).toMatchObject({
      store: 'memory',
      storePrefix: 'lwm2m:',
      storeTimeout: 5000,
      nodeId: undefined,
    });
    expect(
      parse(['--store', 'redis://127.0.0.1:6379', '--store-prefix', 'x:', '--node-id', 'a']),
    ).toMatchObject({ store: 'redis://127.0.0.1:6379', storePrefix: 'x:', nodeId: 'a' });
    expect(
      parse([], { LWM2M_SERVER_STORE: 'rediss://h/1', LWM2M_SERVER_STORE_TIMEOUT: '900' }),
    ).toMatchObject({ store: 'rediss://h/1', storeTimeout: 900 });
    const r = parseConfig({
      argv: ['--config', 'c.json'],
      readFile: () => JSON.stringify({ store: 'redis://r:1', storePrefix: 'p:' }),
    });
    expect(r.help ? undefined : r.config).toMatchObject({
      store: 'redis://r:1',
      storePrefix: 'p:',
    });
  });

  it('refuses other stores, and a PSK file with Redis', () => {
    expect(() => parse(['--store', 'postgres://x'])).toThrow(
      '--store: "postgres://x" is neither "memory" nor a redis:// or rediss:// URL',
    );
    expect(() => parse(['--store', 'redis://x', '--psk-file', 'k.json'])).toThrow(
      '--psk-file and --store',
    );
  });
});

const bin = redisServerOrSkip();

function next<K extends keyof ServerEvents>(
  server: LwM2mServer,
  name: K,
  match: (e: ServerEvents[K][0]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<ServerEvents[K][0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      server.off(name, listener as never);
      reject(new Error(`no ${name} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (e: ServerEvents[K][0]) => {
      if (!match(e)) return;
      clearTimeout(timer);
      server.off(name, listener as never);
      resolve(e);
    };
    server.on(name, listener as never);
  });
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function record<K extends keyof ServerEvents>(server: LwM2mServer, name: K) {
  const seen: ServerEvents[K][0][] = [];
  server.on(name, ((e: ServerEvents[K][0]) => seen.push(e)) as never);
  return seen;
}

interface Node {
  readonly server: LwM2mServer;
  readonly coap: { port: number };
  readonly base: string;
}

describe.skipIf(!bin)('cluster on Redis (in process)', { timeout: 30_000 }, () => {
  let redis: RedisServer;
  let prefixSeq = 0;
  const open: { close(): Promise<unknown> }[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });

  /** Servers sharing one key prefix (a fresh one per test), each on its own connections. */
  async function cluster<const T extends readonly string[]>(
    names: T,
    options: Partial<LwM2mServerOptions> = {},
  ): Promise<{ -readonly [K in keyof T]: Node }> {
    const keyPrefix = `t${++prefixSeq}:`;
    const out: Node[] = [];
    for (const nodeId of names) {
      const stores = await openRedisStores({ url: redis.url, keyPrefix, timeoutMs: 1000 });
      open.push(stores);
      const server = new LwM2mServer({
        coap: { address: '127.0.0.1', port: 0 },
        dtls: false,
        requestTimeout: 3000,
        registrationStore: stores.registrationStore,
        observationStore: stores.observationStore,
        securityStore: stores.securityStore,
        cluster: { bus: stores.bus, nodeId, heartbeatMs: 100 },
        ...options,
      });
      open.push(server);
      await server.start();
      const app = createRestApi(server);
      open.push(app);
      await app.listen({ host: '127.0.0.1', port: 0 });
      const port = (app.server.address() as AddressInfo).port;
      out.push({ server, coap: server.addresses().coap!, base: `http://127.0.0.1:${port}` });
    }
    return out as { -readonly [K in keyof T]: Node };
  }

  async function device(options?: Parameters<typeof TestDevice.start>[0]) {
    const d = await TestDevice.start(options);
    open.push(d);
    return d;
  }

  it('a device registered through A is listed, read and observed through B; events reach both once', async () => {
    const [a, b] = await cluster(['A', 'B']);
    const sse = await openSse(`${b.base}/api/events`);
    open.push({ close: async () => sse.close() });
    const localA = record(a.server, 'registered');
    const onB = record(b.server, 'registered');
    const d = await device();
    expect((await d.register(a.coap, ['ep=dev-1', 'lwm2m=1.1', 'lt=300'])).code).toBe('2.01');

    const ev = await sse.next((e) => e.event === 'registration');
    expect(ev.data).toMatchObject({ endpoint: 'dev-1', remote: 'A' });
    expect(ev.data.registration).toMatchObject({ endpoint: 'dev-1', node: 'A' });
    expect(localA).toHaveLength(1);
    expect(localA[0]!.remote).toBeUndefined();
    expect(onB).toHaveLength(1);
    expect(onB[0]!.remote).toBe('A');

    const list = await call(b.base, 'GET', '/api/clients');
    expect(list.body.map((r: { endpoint: string }) => r.endpoint)).toEqual(['dev-1']);
    const read = await call(b.base, 'GET', '/api/clients/dev-1/3/0/0');
    expect(read.status).toBe(200);
    expect(read.body.content).toMatchObject({ value: 'ACME' });
    // B asked from its own socket: the device answers whoever asks (UDP).
    expect(d.requests.at(-1)?.peer.port).toBe(b.coap.port);

    const obs = await call(b.base, 'POST', '/api/clients/dev-1/3303/0/5700/observe');
    expect(obs.status).toBe(200);
    expect(obs.body.observation).toMatchObject({ node: 'B' });
    const sseA = await openSse(`${a.base}/api/events`);
    open.push({ close: async () => sseA.close() });
    const notifiedB = record(b.server, 'notification');
    d.set('/3303/0/5700', { type: 'float', value: 22.5 });
    const onA = await sseA.next((e) => e.event === 'notification');
    expect(onA.data).toMatchObject({
      endpoint: 'dev-1',
      remote: 'B',
      paths: ['/3303/0/5700'],
      content: { id: 5700, value: 22.5 },
    });
    expect(notifiedB).toHaveLength(1);
    expect(notifiedB[0]!.remote).toBeUndefined();
    // Observations are shared: A lists B's.
    const listed = await call(a.base, 'GET', '/api/clients/dev-1/observations');
    expect(listed.body).toMatchObject([{ paths: ['/3303/0/5700'], node: 'B' }]);
    // Never emitted twice anywhere.
    await new Promise((r) => setTimeout(r, 200));
    expect(localA).toHaveLength(1);
    expect(onB).toHaveLength(1);
    expect(notifiedB).toHaveLength(1);

    // Cancelled through A: B, which holds it, ends it; both hear of it.
    const endedOnB = next(b.server, 'observationCancelled');
    const endedOnA = next(a.server, 'observationCancelled');
    const id = obs.body.observation.id;
    const cancel = await call(a.base, 'DELETE', `/api/clients/dev-1/observations/${id}`);
    expect(cancel.body).toEqual({ cancelled: 1 });
    expect((await endedOnB).remote).toBeUndefined();
    expect((await endedOnA).remote).toBe('B');
    expect(b.server.stats().observations).toBe(0);
    expect((await call(a.base, 'GET', '/api/clients/dev-1/observations')).body).toEqual([]);
  });

  it('a Send arriving at B from a device registered through A is matched by its address there', async () => {
    const [a, b] = await cluster(['A', 'B']);
    const d = await device();
    expect((await d.register(a.coap, ['ep=dev-send', 'lwm2m=1.1', 'lt=300'])).code).toBe('2.01');
    const sentOnB = next(b.server, 'send');
    const relayedToA = next(a.server, 'send');
    const senml = Buffer.from('[{"bn":"/3303/0/","n":"5700","v":19.5}]');
    const res = await d.send(b.coap, senml, ContentFormat.SENML_JSON);
    expect(res.code).toBe('2.04');
    const sent = await sentOnB;
    expect(sent.remote).toBeUndefined();
    expect(sent.registration.endpoint).toBe('dev-send');
    expect(sent.values.map((v) => [`${v.path}`, v.value])).toEqual([
      ['/3303/0/5700', { type: 'float', value: 19.5 }],
    ]);
    expect((await relayedToA).remote).toBe('B');

    // From an address no registration has: 4.04, as on a single process.
    const stranger = await device();
    expect((await stranger.send(b.coap, senml, ContentFormat.SENML_JSON)).code).toBe('4.04');
    // The device de-registers at A: B no longer takes its Sends (the index is checked).
    expect((await d.deregister(a.coap)).code).toBe('2.02');
    const d2 = await device();
    d2.location = d.location;
    await new Promise((r) => setTimeout(r, 100));
    expect((await d2.send(b.coap, senml, ContentFormat.SENML_JSON)).code).toBe('4.04');
  });

  it('a de-registration at A ends what B holds for the device; the new address is followed', async () => {
    const [a, b] = await cluster(['A', 'B']);
    const d = await device();
    expect((await d.register(a.coap, ['ep=dev-2', 'lt=300'])).code).toBe('2.01');
    expect(await b.server.read('dev-2', '/3/0/0')).toMatchObject({ ok: true });
    expect((await b.server.observe('dev-2', '/3/0/9')).ok).toBe(true);
    expect(b.server.stats()).toMatchObject({ registrations: 1, observations: 1 });

    // The device moves (NAT): its Update at A gives the registration a new port, B follows.
    const moved = await device();
    moved.location = d.location;
    const updatedOnB = next(b.server, 'updated');
    expect((await moved.update(a.coap)).code).toBe('2.04');
    expect((await updatedOnB).remote).toBe('A');
    expect(await b.server.read('dev-2', '/3/0/1')).toMatchObject({ ok: true });
    expect(moved.requests.at(-1)?.path).toEqual(['3', '0', '1']);

    const goneOnB = next(b.server, 'deregistered');
    expect((await moved.deregister(a.coap)).code).toBe('2.02');
    expect(await goneOnB).toMatchObject({ reason: 'deregistered', remote: 'A' });
    expect(b.server.stats()).toMatchObject({ registrations: 0, observations: 0 });
    const r = await call(b.base, 'GET', '/api/clients/dev-2/3/0/0');
    expect(r.status).toBe(404);
  });

  it('expiry runs once across the cluster: one de-registration, relayed to the others', async () => {
    const nodes = await cluster(['A', 'B', 'C']);
    const events = nodes.map((n) => record(n.server, 'deregistered'));
    const d = await device();
    expect((await d.register(nodes[0].coap, ['ep=short', 'lt=1'])).code).toBe('2.01');
    const all = () => events.flat();
    for (let i = 0; i < 60 && all().length < 3; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    expect(all()).toHaveLength(3);
    const local = all().filter((e) => e.remote === undefined);
    expect(local).toHaveLength(1);
    expect(local[0]).toMatchObject({ reason: 'expired', registration: { endpoint: 'short' } });
    expect(await nodes[1].server.listRegistrations()).toEqual([]);
  });

  it('a request queued at B for a sleeping device goes when the device wakes up at A', async () => {
    const [a, b] = await cluster(['A', 'B'], { queue: { awakeTimeMs: 60_000 } });
    const d = await device();
    expect((await d.register(a.coap, ['ep=sleepy', 'lwm2m=1.1', 'b=UQ', 'lt=300'])).code).toBe(
      '2.01',
    );
    d.silent = true;
    await expect(b.server.read('sleepy', '/3/0/0', { timeout: 300 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
    expect(b.server.queueState('sleepy')).toEqual({ awake: false, queued: 0 });
    const queued = b.server.read('sleepy', '/3/0/1', { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    expect(b.server.queueState('sleepy')).toEqual({ awake: false, queued: 1 });
    d.silent = false;
    expect((await d.update(a.coap)).code).toBe('2.04');
    expect(await queued).toMatchObject({ ok: true, content: { value: 'Model 1' } });
  });

  it('a DTLS device held by A: B answers 503 naming node A; A serves it', async () => {
    const [a, b] = await cluster(['A', 'B'], { dtls: { address: '127.0.0.1', port: 0 } });
    await b.server.security.put({
      endpoint: 'secure',
      mode: 'psk',
      identity: 'secure-id',
      key: Buffer.from('s3cret'),
    });
    const dtls = a.server.addresses().dtls!;
    const socket = new DtlsClientSocket({
      type: 'udp4',
      address: '127.0.0.1',
      port: dtls.port,
      psk: { identity: 'secure-id', key: Buffer.from('s3cret') },
      handshakeTimeoutMs: 3000,
    });
    const d = await device({ socket });
    expect((await d.register(dtls, ['ep=secure', 'lwm2m=1.1'])).code).toBe('2.01');
    const r = await call(b.base, 'GET', '/api/clients/secure/3/0/0');
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({
      error: 'DtlsSessionElsewhereError',
      coapCode: '5.03',
      message: expect.stringContaining(
        "the device's DTLS session is held by another server process (node A)",
      ),
    });
    const ok = await call(a.base, 'GET', '/api/clients/secure/3/0/0');
    expect(ok.status).toBe(200);
    // Listing works everywhere.
    expect((await call(b.base, 'GET', '/api/clients/secure')).body).toMatchObject({
      transport: 'dtls',
      node: 'A',
    });
  });

  it('observations of a gone process are taken over by the process the device updates at', async () => {
    const [a, b] = await cluster(['A', 'B']);
    const d = await device();
    expect((await d.register(a.coap, ['ep=dev-3', 'lwm2m=1.1', 'lt=300'])).code).toBe('2.01');
    const single = await a.server.observe('dev-3', '/3303/0/5700', {
      format: ContentFormat.SENML_JSON,
    });
    expect(single.ok).toBe(true);
    const composite = await a.server.observeComposite('dev-3', ['/3/0/9', '/3/0/0']);
    expect(composite.ok).toBe(true);
    // A goes away (its goodbye tells B at once); its observation records stay in Redis.
    await a.server.close();
    const before = await b.server.listObservations('dev-3');
    expect(before.map((o) => o.node)).toEqual(['A', 'A']);

    const taken = record(b.server, 'notification');
    expect((await d.update(b.coap)).code).toBe('2.04');
    let after: readonly ObservationRecord[] = [];
    for (let i = 0; i < 50; i++) {
      after = await b.server.listObservations('dev-3');
      if (after.length === 2 && after.every((o) => o.node === 'B')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(after.map((o) => o.node)).toEqual(['B', 'B']);
    expect(after.map((o) => o.composite).sort()).toEqual([false, true]);
    expect(after.find((o) => !o.composite)?.contentFormat).toBe(ContentFormat.SENML_JSON);
    d.set('/3303/0/5700', { type: 'float', value: 30 });
    for (let i = 0; i < 50 && taken.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(taken[0]).toMatchObject({
      registration: { endpoint: 'dev-3' },
      content: { id: 5700, value: 30 },
    });
    expect(taken[0]!.remote).toBeUndefined();
  });

  it('a notification arriving at another process is matched by token there, which takes the observation over', async () => {
    const [a, b] = await cluster(['A', 'B']);
    const d = await device();
    expect((await d.register(a.coap, ['ep=dev-5', 'lwm2m=1.1', 'lt=300'])).code).toBe('2.01');
    const o = await a.server.observe('dev-5', '/3303/0/5700', { format: ContentFormat.SENML_JSON });
    if (!o.ok) throw new Error('observe failed');
    expect(o.observation.node).toBe('A');
    const token = o.observation.id;
    const cancelled = record(a.server, 'observationCancelled');
    const cancelledOnB = record(b.server, 'observationCancelled');
    const onA = record(a.server, 'notification');
    const onB = record(b.server, 'notification');

    // The balancer hands the device's next notification (CON) to B.
    const raw = await RawNotifier.open();
    open.push(raw);
    const first = raw.notify(b.coap, token, 1000, '[{"bn":"/3303/0/5700","v":23.5}]');
    expect(await raw.reply(first)).toMatchObject({ type: 'ACK' });
    await until(() => onB.length === 1);
    expect(onB[0]).toMatchObject({
      registration: { endpoint: 'dev-5' },
      observation: { id: token, node: 'B' },
      content: { id: 5700, value: 23.5 },
      contentFormat: ContentFormat.SENML_JSON,
    });
    expect(onB[0]!.remote).toBeUndefined();
    // A hears of it as B's event, once.
    await until(() => onA.length === 1);
    expect(onA[0]).toMatchObject({ remote: 'B', content: { value: 23.5 } });

    // The record is B's now; A let go of its copy without a word to the device or an event.
    await until(() => a.server.stats().observations === 0);
    const records = await a.server.listObservations('dev-5');
    expect(records).toMatchObject([{ id: token, node: 'B', paths: ['/3303/0/5700'] }]);
    expect(b.server.stats().observations).toBe(1);
    expect(d.requests.filter((r) => r.observe === 1)).toEqual([]);
    expect(d.observations[0]!.obs.cancelled).toBe(false);

    // The next notification to B (NON) is matched in B's memory.
    raw.notify(b.coap, token, 1001, '[{"bn":"/3303/0/5700","v":24}]', { type: 'NON' });
    await until(() => onB.length === 2);
    expect(onB[1]).toMatchObject({ content: { value: 24 }, observation: { node: 'B' } });
    // An unknown token at B still gets RST.
    const unknown = raw.notify(b.coap, '0102030405060708', 1, '[{"v":1}]');
    expect(await raw.reply(unknown)).toMatchObject({ type: 'RST' });
    expect(raw.replies.filter((m) => m.type === 'RST')).toHaveLength(1);

    // The balancer sends the device to A again: A takes it back the same way.
    d.set('/3303/0/5700', { type: 'float', value: 25 });
    await until(() => onA.some((e) => e.remote === undefined));
    expect(onA.find((e) => e.remote === undefined)).toMatchObject({
      content: { value: 25 },
      observation: { id: token, node: 'A' },
    });
    await until(() => b.server.stats().observations === 0);
    expect(await b.server.listObservations('dev-5')).toMatchObject([{ id: token, node: 'A' }]);
    expect(d.observations[0]!.obs.cancelled).toBe(false);
    expect(cancelled).toEqual([]);
    expect(cancelledOnB).toEqual([]);

    // It is still one observation: cancelled through B, A (holding it) tells the device.
    expect(await b.server.cancelObservation('dev-5', token)).toBe(1);
    await until(() => d.observations[0]!.obs.cancelled);
    expect(d.requests.at(-1)?.observe).toBe(1);
  });

  it('while Redis is down: registrations get 5.03, REST 503; it recovers by itself', async () => {
    const [a] = await cluster(['A']);
    const d1 = await device();
    expect((await d1.register(a.coap, ['ep=kept', 'lt=300'])).code).toBe('2.01');
    await redis.down();
    try {
      const d2 = await device();
      const refused = await d2.register(a.coap, ['ep=during', 'lt=300']);
      expect(refused.code).toBe('5.03');
      expect(Buffer.from(refused.payload).toString()).toMatch(/Redis at 127\.0\.0\.1:\d+/);
      const r = await call(a.base, 'GET', '/api/clients');
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({ error: 'StoreUnavailableError', coapCode: '5.03' });
    } finally {
      await redis.up();
    }
    const d3 = await device();
    let code = '';
    for (let i = 0; i < 40 && code !== '2.01'; i++) {
      code = (await d3.register(a.coap, ['ep=after', 'lt=300'])).code;
      if (code !== '2.01') await new Promise((r) => setTimeout(r, 100));
    }
    expect(code).toBe('2.01');
    const names = (await a.server.listRegistrations()).map((r) => r.endpoint).sort();
    expect(names).toEqual(['after', 'kept']);
  });
});
