/**
 * The fleet simulator against a raw CoAP server (test-server.ts: `/rd` by hand, every request
 * recorded), on loopback. apps/client must not import apps/server.
 */
import { createSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Peer } from '@lwm2m-ts/coap';
import { decodeValues } from '@lwm2m-ts/codecs';
import { ContentFormat, LwM2mPath } from '@lwm2m-ts/core';
import { DtlsServerSocket } from '@lwm2m-ts/dtls';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_PER_ADDRESS,
  defaultAddresses,
  Fleet,
  type FleetOptions,
  type FleetStats,
  percentile,
  pskIdentity,
} from './fleet.js';
import {
  FleetUsageError,
  parseDuration,
  parseFleetArgs,
  parseRate,
  progressLine,
  runFleetCommand,
} from './fleet-command.js';
import { queryOf, type RecordedRequest, TestServer } from './test-server.js';

/** For the tests with hundreds of devices, whatever timeout vitest runs with. */
const LONG = 30_000;

const open: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  // Fleets first (they de-register), then servers.
  for (const o of open.splice(0).reverse()) await o.close();
});

/**
 * The test server, with a large receive buffer: a thousand Registers arriving while the event
 * loop is busy (it runs the devices too) overflow the default one, and lost datagrams then wait
 * for CoAP retransmission.
 */
async function server(): Promise<TestServer> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  try {
    socket.setRecvBufferSize(4 * 1024 * 1024);
  } catch {
    // Capped by net.core.rmem_max, or refused: the default buffer then (retransmissions cover).
  }
  const s = await TestServer.start({ socket });
  open.push(s);
  return s;
}

function fleet(s: { uri: string }, options: Partial<FleetOptions> = {}): Fleet {
  const f = new Fleet({
    count: 10,
    server: { uri: s.uri },
    rampPerSecond: Number.POSITIVE_INFINITY,
    sensorIntervalMs: 0,
    progressIntervalMs: 0,
    coapOptions: { ackTimeout: 1, maxRetransmit: 2 },
    ...options,
  });
  open.push(f);
  return f;
}

/** stdout and stderr to strings. */
function output() {
  let out = '';
  let err = '';
  return {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t) },
    out: () => out,
    err: () => err,
  };
}

const epOf = (r: RecordedRequest) => queryOf(r).get('ep');

/** Where the server saw each endpoint register from. */
function peers(s: TestServer): Map<string, Peer> {
  return new Map(s.registers().map((r) => [epOf(r)!, r.peer]));
}

/** Open handles by kind (UDP sockets, timers…), as Node reports them. */
function handles(): Map<string, number> {
  const m = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) m.set(kind, (m.get(kind) ?? 0) + 1);
  return m;
}

const models = ObjectRegistry.withBuiltins();

function readValue(payload: Uint8Array, format: number | undefined, path: string) {
  const [pv] = decodeValues(format ?? ContentFormat.TEXT, payload, {
    path: LwM2mPath.parse(path),
    model: models,
  });
  return (pv?.value as { value?: unknown } | undefined)?.value;
}

describe('Fleet with 1,000 devices', () => {
  it(
    'registers 1,000 devices, answers reads, and de-registers them all cleanly',
    async () => {
      const s = await server();
      const before = handles();
      const f = fleet(s, { count: 1000, rampPerSecond: 500, concurrency: 100 });
      const t0 = Date.now();
      const stats = await f.start();
      const took = Date.now() - t0;
      expect(stats).toMatchObject({
        count: 1000,
        started: 1000,
        registered: 1000,
        registering: 0,
        failed: 0,
        retrying: 0,
      });
      // 1000 at 500/s: about two seconds, never much faster than the ramp allows.
      expect(took).toBeGreaterThan(1400);
      expect(took).toBeLessThan(20_000);
      expect(stats.latency.samples).toBe(1000);
      const { p50, p95, p99, max } = stats.latency;
      expect(p50).toBeGreaterThan(0);
      expect(p50!).toBeLessThanOrEqual(p95!);
      expect(p95!).toBeLessThanOrEqual(p99!);
      expect(p99!).toBeLessThanOrEqual(max!);

      // The server saw 1,000 distinct endpoints, each from a socket of its own.
      const registers = s.registers();
      expect(registers).toHaveLength(1000);
      const eps = new Set(registers.map(epOf));
      expect(eps.size).toBe(1000);
      expect(eps.has('fleet-0') && eps.has('fleet-999')).toBe(true);
      const seen = peers(s);
      expect(new Set([...seen.values()].map((p) => `${p.address}:${p.port}`)).size).toBe(1000);
      expect([...seen.values()].every((p) => p.address === '127.0.0.1')).toBe(true);

      // Reads reach the right device: its serial number (/3/0/2) is its endpoint name.
      for (const ep of ['fleet-0', 'fleet-123', 'fleet-999']) {
        const peer = seen.get(ep)!;
        const serial = await s.endpoint.request(peer, {
          method: 'GET',
          path: '/3/0/2',
          timeout: 3000,
        });
        expect(serial.code).toBe('2.05');
        expect(readValue(serial.payload, serial.contentFormat, '/3/0/2')).toBe(ep);
        const temp = await s.endpoint.request(peer, {
          method: 'GET',
          path: '/3303/0/5700',
          timeout: 3000,
        });
        expect(temp.code).toBe('2.05');
        expect(typeof readValue(temp.payload, temp.contentFormat, '/3303/0/5700')).toBe('number');
      }
      expect(f.stats().requests).toBe(6);

      const during = handles();
      const closed = await f.close();
      expect(closed).toMatchObject({ registered: 0, deregistered: 1000, closed: 1000, failed: 0 });
      const deletes = s.requests.filter((r) => r.method === 'DELETE');
      expect(deletes).toHaveLength(1000);
      expect(new Set(deletes.map((r) => r.path.join('/'))).size).toBe(1000);
      // Every socket is released, and nothing of the fleet keeps the process alive.
      // libuv frees a closed handle on its next turn.
      await new Promise((r) => setTimeout(r, 50));
      const after = handles();
      expect(during.get('UDPWrap')).toBe((before.get('UDPWrap') ?? 0) + 1000);
      expect(after.get('UDPWrap') ?? 0).toBe(before.get('UDPWrap') ?? 0);
      expect(after.get('Timeout') ?? 0).toBeLessThanOrEqual((before.get('Timeout') ?? 0) + 2);
      // A De-register after close() is a no-op.
      await f.close();
      expect(s.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1000);
    },
    LONG,
  );
});

describe('Fleet ramp and concurrency', () => {
  it('keeps to the ramp rate: never faster, and not stalled', async () => {
    const s = await server();
    const f = fleet(s, { count: 150, rampPerSecond: 150, concurrency: 50 });
    await f.start();
    const at = s.registers().map((r) => r.at);
    expect(at).toHaveLength(150);
    const spread = Math.max(...at) - Math.min(...at);
    // 149 intervals of 1/150 s.
    const expected = (149 / 150) * 1000;
    // The ramp is a ceiling: the fleet must not go faster (timers may fire early by a tick).
    expect(spread).toBeGreaterThan(expected * 0.9);
    // Slower only by what a loaded 2-core machine adds; a stall or serialised ramp would be far over.
    expect(spread).toBeLessThan(expected * 3);
  });

  it('has at most `concurrency` first Registers in flight', async () => {
    const s = await server();
    let inFlight = 0;
    let most = 0;
    let id = 0;
    s.overrides.push((req) => {
      if (req.method !== 'POST' || req.path.length !== 1) return undefined;
      inFlight++;
      most = Math.max(most, inFlight);
      return new Promise((resolve) =>
        setTimeout(() => {
          inFlight--;
          resolve({ code: '2.01', locationPath: ['rd', `slow-${id++}`] });
        }, 60),
      );
    });
    const f = fleet(s, { count: 40, concurrency: 4 });
    const stats = await f.start();
    expect(stats.registered).toBe(40);
    expect(most).toBe(4);
  });

  it('spreads sockets over local addresses (127.0.0.x)', async () => {
    const s = await server();
    const f = fleet(s, { count: 6, perAddress: 2 });
    expect(f.addresses).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    await f.start();
    const byAddress = new Map<string, number>();
    for (const p of peers(s).values())
      byAddress.set(p.address, (byAddress.get(p.address) ?? 0) + 1);
    expect(Object.fromEntries(byAddress)).toEqual({
      '127.0.0.1': 2,
      '127.0.0.2': 2,
      '127.0.0.3': 2,
    });
    // The server's requests reach a device on 127.0.0.3.
    const peer = peers(s).get('fleet-2')!;
    expect(peer.address).toBe('127.0.0.3');
    const res = await s.endpoint.request(peer, { method: 'GET', path: '/3/0/2', timeout: 3000 });
    expect(readValue(res.payload, res.contentFormat, '/3/0/2')).toBe('fleet-2');
  });

  it('uses the addresses it is given, in turn', async () => {
    const s = await server();
    const f = fleet(s, {
      count: 4,
      addresses: ['127.0.0.1', '127.0.0.9'],
      endpointPrefix: 'x-',
      firstIndex: 100,
    });
    await f.start();
    const seen = peers(s);
    expect([...seen.keys()].sort()).toEqual(['x-100', 'x-101', 'x-102', 'x-103']);
    expect(seen.get('x-101')!.address).toBe('127.0.0.9');
    expect(seen.get('x-102')!.address).toBe('127.0.0.1');
  });
});

describe('Fleet statistics and events', () => {
  it('counts registered, failed and retrying devices, and reports progress', async () => {
    const s = await server();
    s.overrides.push((req) => {
      if (req.method !== 'POST' || req.path.length !== 1) return undefined;
      const ep = epOf(req as RecordedRequest);
      if (ep === 'fleet-3' || ep === 'fleet-7') return { code: '4.03' };
      // No answer: the device times out and waits to retry.
      if (ep === 'fleet-5') return new Promise(() => {});
      return undefined;
    });
    const f = fleet(s, {
      count: 20,
      rampPerSecond: 100,
      progressIntervalMs: 50,
      requestTimeout: 300,
      retry: { retryTimer: 60_000, jitter: 0 },
    });
    const progress: FleetStats[] = [];
    const registered: string[] = [];
    const failed: string[] = [];
    const retried: string[] = [];
    f.on('progress', (p) => progress.push(p));
    f.on('registered', (r) => registered.push(r.endpoint));
    f.on('failed', (e) => failed.push(e.endpoint));
    f.on('retry', (r) => retried.push(r.endpoint));
    const stats = await f.start();
    expect(stats).toMatchObject({
      started: 20,
      registering: 0,
      registered: 17,
      failed: 2,
      retrying: 1,
    });
    expect(stats.latency.samples).toBe(17);
    expect(Object.values(stats.failures)).toEqual([2]);
    expect(Object.keys(stats.failures)[0]).toMatch(/4\.03/);
    expect(failed.sort()).toEqual(['fleet-3', 'fleet-7']);
    expect(retried).toEqual(['fleet-5']);
    expect(registered).toHaveLength(17);
    // 20 at 100/s: ~200 ms plus the 300 ms timeout; progress events came along the way.
    expect(progress.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.registered).toBeGreaterThanOrEqual(progress[i - 1]!.registered);
      expect(progress[i]!.elapsedMs).toBeGreaterThan(progress[i - 1]!.elapsedMs);
    }
    expect(progress.some((p) => p.registered > 0 && p.registered < 17)).toBe(true);
    for (const p of progress) {
      expect(p.registered + p.failed + p.retrying + p.registering).toBe(p.started);
    }
    // Failed devices released their sockets already.
    expect(f.stats().closed).toBe(2);
    const closed = await f.close();
    // 17 De-registers; the retrying device never registered and the failed ones are gone.
    expect(closed).toMatchObject({
      deregistered: 17,
      closed: 20,
      registered: 0,
      retrying: 0,
      failed: 2,
    });
    expect(s.requests.filter((r) => r.method === 'DELETE')).toHaveLength(17);
  });

  it(
    'sends Updates, steps sensors with one shared timer and notifies observers',
    async () => {
      const s = await server();
      const f = fleet(s, { count: 20, lifetime: 2, sensorIntervalMs: 100 });
      await f.start();
      const peer = peers(s).get('fleet-4')!;
      const obs = await s.endpoint.observe(peer, {
        method: 'GET',
        path: '/3303/0/5700',
        timeout: 3000,
      });
      expect(obs.first.code).toBe('2.05');
      const values: unknown[] = [];
      obs.on('notification', (n) =>
        values.push(readValue(n.payload, n.contentFormat, '/3303/0/5700')),
      );
      // The lifetime of 2 s: an Update after 1 s.
      await new Promise((r) => setTimeout(r, 1500));
      const stats = f.stats();
      expect(stats.updates).toBeGreaterThanOrEqual(20);
      expect(s.updates().length).toBe(stats.updates);
      // Every device steps about every 100 ms: ~15 × 20 changes, whatever the timer's jitter.
      expect(stats.sensorChanges).toBeGreaterThan(150);
      expect(values.length).toBeGreaterThan(3);
      expect(values.every((v) => typeof v === 'number')).toBe(true);
      await obs.cancel('reactive');
    },
    LONG,
  );

  it('close() during the ramp stops it and releases every device started', async () => {
    const s = await server();
    const f = fleet(s, { count: 1000, rampPerSecond: 100 });
    const started = f.start();
    await new Promise((r) => setTimeout(r, 250));
    const closed = await f.close();
    const stats = await started;
    expect(stats.started).toBeLessThan(100);
    expect(closed.closed).toBe(closed.started);
    expect(closed.registered).toBe(0);
    expect(s.registers().length).toBeLessThanOrEqual(closed.started);
    await new Promise((r) => setTimeout(r, 100));
    expect(f.stats().started).toBe(closed.started);
    await expect(f.start()).resolves.toBe(stats);
  });
});

describe('Fleet devices share what is alike, not what is theirs', () => {
  it('two devices written the same resource keep their own values; reads, writes, execute and observe work', async () => {
    const s = await server();
    const f = fleet(s, { count: 2 });
    await f.start();
    const a = peers(s).get('fleet-0')!;
    const b = peers(s).get('fleet-1')!;
    const text = (v: string) => ({
      payload: Buffer.from(v),
      contentFormat: ContentFormat.TEXT,
    });
    const read = async (peer: Peer, path: string) => {
      const res = await s.endpoint.request(peer, { method: 'GET', path, timeout: 3000 });
      expect(res.code).toBe('2.05');
      return readValue(res.payload, res.contentFormat, path);
    };
    // Both devices' objects come from one shared description, built per device at first use.
    expect(f.client(0)!.tree.isLazy(3)).toBe(true);
    expect(await read(a, '/3/0/14')).toBe(await read(b, '/3/0/14'));
    expect(f.client(0)!.tree.isLazy(3)).toBe(false);
    expect(f.client(1)!.tree.isLazy(4)).toBe(true);

    // The same resource written on both: each keeps its own value.
    for (const [peer, value] of [
      [a, '+02:00'],
      [b, '-05:00'],
    ] as const) {
      const res = await s.endpoint.request(peer, {
        method: 'PUT',
        path: '/3/0/14',
        ...text(value),
        timeout: 3000,
      });
      expect(res.code).toBe('2.04');
    }
    expect(await read(a, '/3/0/14')).toBe('+02:00');
    expect(await read(b, '/3/0/14')).toBe('-05:00');
    // A server write of the lifetime (/1/0/1) on one device: the other's Server object stays.
    const lt = await s.endpoint.request(a, {
      method: 'PUT',
      path: '/1/0/1',
      ...text('1234'),
      timeout: 3000,
    });
    expect(lt.code).toBe('2.04');
    expect(await read(a, '/1/0/1')).toBe(1234n);
    expect(await read(b, '/1/0/1')).toBe(300n);
    // Device a sends an Update with the new lifetime; b does not.
    const update = await s.waitFor((rs) =>
      rs.find((r) => r.method === 'POST' && r.path.length === 2 && r.path[0] === 'rd'),
    );
    expect(update.query).toContain('lt=1234');
    expect(update.peer).toEqual(a);
    await new Promise((r) => setTimeout(r, 50));
    expect(s.updates()).toHaveLength(1);
    // Execute (Reset Error Code) and Observe answer as on a lone client.
    const exec = await s.endpoint.request(b, { method: 'POST', path: '/3/0/12', timeout: 3000 });
    expect(exec.code).toBe('2.04');
    const observation = await s.endpoint.observe(b, {
      method: 'GET',
      path: '/3303/0/5700',
      timeout: 3000,
    });
    expect(observation.first.code).toBe('2.05');
    await observation.cancel('reactive');
    // The sensors of one device are its own.
    f.client(1)!.tree.get(3303);
    const sensorA = f.client(0)!.tree.get(3303) as unknown as {
      setValue(i: number, v: number): void;
    };
    sensorA.setValue(0, 42);
    expect(await read(a, '/3303/0/5700')).toBe(42);
    expect(await read(b, '/3303/0/5700')).toBe(21);
  });
});

describe('Fleet memory', () => {
  it(
    'reports heap per device (500 devices)',
    async () => {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      const s = await server();
      gc();
      const heap0 = process.memoryUsage().heapUsed;
      const f = fleet(s, { count: 500, sensorIntervalMs: 1000 });
      await f.start();
      gc();
      const heap1 = process.memoryUsage().heapUsed;
      const perDevice = (heap1 - heap0) / 500;
      const stats = f.stats();
      // The test server records every request too; the fleet's own figure is measured from start().
      console.log(
        `fleet memory: ${(perDevice / 1024).toFixed(1)} KiB heap per device after gc ` +
          `(fleet's stats: ${(stats.heapPerDevice! / 1024).toFixed(1)} KiB heap, ` +
          `${(stats.buffersPerDevice! / 1024).toFixed(1)} KiB buffers)`,
      );
      expect(stats.registered).toBe(500);
      expect(stats.heapPerDevice).toBeGreaterThan(0);
      expect(perDevice).toBeLessThan(256 * 1024);
    },
    LONG,
  );
});

describe('Fleet options', () => {
  it('checks its options', () => {
    const uri = 'coap://127.0.0.1:5683';
    expect(() => new Fleet({ count: -1, server: { uri } })).toThrow(/count/);
    expect(() => new Fleet({ count: 1.5, server: { uri } })).toThrow(/count/);
    expect(() => new Fleet({ count: 1, server: { uri }, rampPerSecond: 0 })).toThrow(
      /rampPerSecond/,
    );
    expect(() => new Fleet({ count: 1, server: { uri }, concurrency: 0 })).toThrow(/concurrency/);
    expect(() => new Fleet({ count: 1, server: { uri: 'http://x' } })).toThrow(/scheme/);
    expect(() => new Fleet({ count: 1, server: { uri: 'coaps://127.0.0.1' } })).toThrow(/PSK/);
    expect(() => new Fleet({ count: 1, server: { uri }, addresses: ['nope'] })).toThrow(/address/);
  });

  it('picks local addresses by server and size', () => {
    expect(defaultAddresses('127.0.0.1', 10)).toEqual(['127.0.0.1']);
    expect(defaultAddresses('127.0.0.1', DEFAULT_PER_ADDRESS)).toEqual(['127.0.0.1']);
    expect(defaultAddresses('localhost', 100_000)).toEqual([
      '127.0.0.1',
      '127.0.0.2',
      '127.0.0.3',
      '127.0.0.4',
      '127.0.0.5',
    ]);
    expect(defaultAddresses('127.0.0.1', 10_000_000)).toHaveLength(254);
    expect(defaultAddresses('::1', 100_000)).toEqual(['::1']);
    expect(defaultAddresses('192.0.2.10', 100_000)).toEqual([undefined]);
  });

  it('names PSK identities and computes percentiles', () => {
    expect(pskIdentity('{ep}', 'fleet-3', 3)).toBe('fleet-3');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell-style pattern is meant
    expect(pskIdentity('id-${ep}-{i}', 'fleet-3', 3)).toBe('id-fleet-3-3');
    expect(percentile([], 0.5)).toBeUndefined();
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 0.5)).toBe(50);
    expect(percentile(sorted, 0.99)).toBe(99);
    expect(percentile(sorted, 1)).toBe(100);
    expect(percentile([7], 0.95)).toBe(7);
  });

  it(
    'registers over coaps:// with a PSK identity per device',
    async () => {
      const key = Buffer.from('fleet-shared-key');
      const identities = new Set<string>();
      const socket = new DtlsServerSocket({
        type: 'udp4',
        psk: async (identity) => {
          identities.add(identity);
          return /^psk-fleet-\d+$/.test(identity) ? key : undefined;
        },
      });
      const s = await TestServer.start({ socket });
      open.push(s);
      const f = fleet(
        { uri: `coaps://127.0.0.1:${s.port}` },
        {
          count: 5,
          rampPerSecond: 50,
          server: { uri: `coaps://127.0.0.1:${s.port}`, psk: { identity: 'psk-{ep}', key } },
          requestTimeout: 10_000,
        },
      );
      const stats = await f.start();
      expect(stats).toMatchObject({ registered: 5, failed: 0 });
      expect([...identities].sort()).toEqual([0, 1, 2, 3, 4].map((i) => `psk-fleet-${i}`));
      // Each registration came over the session of its own identity.
      for (const r of s.registers()) expect(r.peer.identity).toBe(`psk-${epOf(r)}`);
      const peer = peers(s).get('fleet-3')!;
      const res = await s.endpoint.request(peer, { method: 'GET', path: '/3/0/2', timeout: 5000 });
      expect(readValue(res.payload, res.contentFormat, '/3/0/2')).toBe('fleet-3');
      expect((await f.close()).deregistered).toBe(5);
    },
    LONG,
  );
});

describe('lwm2m-client fleet: options', () => {
  it('has defaults and reads every flag', () => {
    expect(parseFleetArgs(['--count', '10'])).toEqual({
      help: false,
      config: {
        count: 10,
        server: 'coap://127.0.0.1:5683',
        ramp: 1000,
        concurrency: 200,
        lwm2m: '1.1',
        lifetime: 300,
        prefix: 'fleet-',
        first: 0,
        pskIdentity: '{ep}',
        pskKey: undefined,
        duration: undefined,
        addresses: undefined,
        sensorInterval: 10_000,
        progressInterval: 1000,
      },
    });
    const r = parseFleetArgs([
      '--count=10000',
      '--server',
      'coaps://10.0.0.1:5684',
      '--ramp',
      '6000/min',
      '--concurrency',
      '50',
      '--lwm2m',
      '1.2',
      '--lifetime',
      '60',
      '--prefix',
      'sim-',
      '--first',
      '5000',
      '--psk-identity',
      'id-{ep}',
      '--psk-key',
      '0a0B',
      '--duration',
      '5m',
      '--addresses',
      '127.0.0.1, 127.0.0.2',
      '--sensor-interval',
      '0',
      '--progress-interval',
      '500ms',
    ]);
    expect(r).toEqual({
      help: false,
      config: {
        count: 10_000,
        server: 'coaps://10.0.0.1:5684',
        ramp: 100,
        concurrency: 50,
        lwm2m: '1.2',
        lifetime: 60,
        prefix: 'sim-',
        first: 5000,
        pskIdentity: 'id-{ep}',
        pskKey: Uint8Array.from([0x0a, 0x0b]),
        duration: 300_000,
        addresses: ['127.0.0.1', '127.0.0.2'],
        sensorInterval: 0,
        progressInterval: 500,
      },
    });
    expect(parseFleetArgs(['-h'])).toEqual({ help: true });
  });

  it('parses rates and durations', () => {
    expect(parseRate('1000')).toBe(1000);
    expect(parseRate('1000/s')).toBe(1000);
    expect(parseRate('30/min')).toBe(0.5);
    expect(parseRate('2.5/sec')).toBe(2.5);
    for (const bad of ['0', '-5', 'fast', '10/h', ''])
      expect(() => parseRate(bad)).toThrow(/--ramp/);
    expect(parseDuration('d', '90')).toBe(90_000);
    expect(parseDuration('d', '90s')).toBe(90_000);
    expect(parseDuration('d', '250ms')).toBe(250);
    expect(parseDuration('d', '1.5m')).toBe(90_000);
    expect(parseDuration('d', '1h')).toBe(3_600_000);
    expect(() => parseDuration('d', '5 days')).toThrow(/--d/);
  });

  it.each([
    [[], /--count is required/],
    [['--count', '0'], /--count/],
    [['--count', '1e3'], /--count/],
    [['--count', '10', '--ramp', 'fast'], /--ramp/],
    [['--count', '10', '--bogus'], /bogus/],
    [['--count', '10', 'extra'], /extra/],
    [['--count', '10', '--server', 'http://x'], /--server/],
    [['--count', '10', '--server', 'coaps://127.0.0.1'], /--psk-key/],
    [['--count', '10', '--psk-key', '0102'], /coaps/],
    [['--count', '10', '--server', 'coaps://127.0.0.1', '--psk-key', 'xyz'], /hex/],
    [['--count', '10', '--lwm2m', '2.0'], /--lwm2m/],
    [['--count', '10', '--addresses', '127.0.0.1,nope'], /--addresses/],
    [['--count', '10', '--prefix', 'a&b'], /--prefix/],
    [['--count', '10', '--duration', '0'], /--duration/],
    [['--count', '10', '--lifetime', '0'], /--lifetime/],
  ])('exits 2 for %j', async (argv, message) => {
    expect(() => parseFleetArgs(argv)).toThrow(FleetUsageError);
    const io = output();
    expect(await runFleetCommand(argv, io)).toBe(2);
    expect(io.err()).toMatch(message);
    expect(io.err()).toContain('lwm2m-client fleet --help');
    expect(io.out()).toBe('');
  });

  it('prints its usage with --help', async () => {
    const io = output();
    expect(await runFleetCommand(['--help'], io)).toBe(0);
    expect(io.out()).toContain('Usage: lwm2m-client fleet --count N');
    expect(io.out()).toContain('--ramp');
  });

  it('formats progress lines', () => {
    const stats = {
      count: 1000,
      registered: 830,
      failed: 0,
      retrying: 0,
      latency: { samples: 830, p50: 3.14, p95: 9, p99: 12.4, max: 30 },
      heapUsed: 41 * 1024 * 1024,
    } as FleetStats;
    expect(progressLine(stats)).toBe(
      'registered 830/1000 failed 0 p50 3.1 ms p99 12 ms heap 41 MB',
    );
    expect(
      progressLine({ ...stats, retrying: 3, latency: { ...stats.latency, p50: undefined } }),
    ).toBe('registered 830/1000 failed 0 retrying 3 p50 - p99 12 ms heap 41 MB');
  });
});

describe('lwm2m-client fleet: running', () => {
  it(
    'runs for --duration, prints progress and a summary, and de-registers',
    async () => {
      const s = await server();
      const io = output();
      const code = await runFleetCommand(
        [
          '--count',
          '30',
          '--server',
          s.uri,
          '--ramp',
          '100/s',
          '--duration',
          '1200ms',
          '--progress-interval',
          '200ms',
          '--sensor-interval',
          '100ms',
        ],
        io,
      );
      expect(io.err()).toBe('');
      expect(code).toBe(0);
      const out = io.out();
      expect(out).toMatch(
        /^fleet: 30 devices fleet-0…fleet-29 → coap:\/\/127\.0\.0\.1:\d+ at 100\/s from 127\.0\.0\.1 for 1\.2 s\n/,
      );
      const progress = out.match(
        /^registered \d+\/30 failed 0 p50 \S+ (ms )?p99 \S+ (ms )?heap \d+ MB$/gm,
      );
      expect(progress!.length).toBeGreaterThanOrEqual(3);
      expect(out).toMatch(
        /^ramp done: registered 30\/30 failed 0 p50 [\d.]+ ms p99 [\d.]+ ms heap \d+ MB$/m,
      );
      expect(out).toContain('duration reached: de-registering 30 devices\n');
      expect(out).toMatch(
        /^summary: 30 devices in [\d.]+ s: registered 30, failed 0, never registered 0, not started 0, de-registered 30$/m,
      );
      expect(out).toMatch(
        /^registration latency: p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms$/m,
      );
      expect(out).toMatch(
        /^traffic: 0 Updates, 0 re-registrations, 0 requests served, \d+ sensor changes$/m,
      );
      expect(out).toMatch(
        /^memory: heap \d+ MB, [\d.]+ kB heap and [\d.]+ kB buffers per device \(30 devices\)$/m,
      );
      expect(s.registers()).toHaveLength(30);
      expect(s.requests.filter((r) => r.method === 'DELETE')).toHaveLength(30);
    },
    LONG,
  );

  it('stops on SIGINT: de-registers, prints the summary, exits 0', async () => {
    const s = await server();
    const io = output();
    const signals = new EventEmitter();
    const run = runFleetCommand(
      ['--count', '10', '--server', s.uri, '--ramp', '1000', '--sensor-interval', '0'],
      { ...io, signals },
    );
    await s.waitFor((reqs) => reqs.length >= 10);
    await new Promise((r) => setTimeout(r, 100));
    expect(signals.listenerCount('SIGINT')).toBe(1);
    signals.emit('SIGINT');
    expect(await run).toBe(0);
    expect(io.out()).toContain('signal: de-registering 10 devices\n');
    expect(io.out()).toMatch(/^summary: 10 devices .* de-registered 10$/m);
    expect(s.requests.filter((r) => r.method === 'DELETE')).toHaveLength(10);
    expect(signals.listenerCount('SIGINT') + signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('exits 1 when every device fails, with the reasons', async () => {
    const s = await server();
    s.overrides.push((req) => (req.path[0] === 'rd' ? { code: '4.03' } : undefined));
    const io = output();
    const signals = new EventEmitter();
    const code = await runFleetCommand(
      ['--count', '5', '--server', s.uri, '--sensor-interval', '0'],
      {
        ...io,
        signals,
      },
    );
    expect(code).toBe(1);
    expect(io.out()).toContain('every device failed: de-registering 0 devices\n');
    expect(io.err()).toBe('');
    expect(io.out()).toMatch(/^summary: 5 devices .*registered 0, failed 5,/m);
    expect(io.out()).toMatch(/^failures: .*4\.03.* ×5$/m);
  });
});
