/**
 * 8. Redis stores: the server on Redis stores (`lwm2m-server --store redis://…`: the three
 * stores from `openRedisStores`, cluster mode on their bus) next to the server on its in-memory
 * stores, in the same run, against one `redis-server` of our own (testkit `startRedis`: loopback,
 * a temporary directory, AOF `everysec`, no RDB snapshots), emptied (FLUSHALL) before each use.
 *
 * - Registrations/s and Updates/s: the raw generator of the storm section (storm.ts
 *   `registerStorm`) against a fresh server child per round, in-memory and Redis rounds
 *   alternating; the median round of each. Each registered device then sends two Updates, the
 *   first warms the fresh process's Update path up, the second is timed (the registration
 *   store's compare-and-set: one GET and one Lua script per Update on Redis).
 * - Redis memory per registration: `used_memory` (INFO memory) right before and right after the
 *   timed Registers ÷ Registers answered (the warm-up's registrations are already in), next to
 *   the registration record as JSON. Redis CPU per registration and per Update: `used_cpu_user`
 *   + `used_cpu_sys` (INFO cpu) over the same span.
 * - Reads/s: `server.read(ep, '/3/0/0')` to a raw device (reads.ts), 1 and 64 in flight, as in
 *   the reads section: both servers in this process, drivers alternating round by round, so the
 *   only difference is where the read looks the registration up (`getByEndpoint`: on Redis, a
 *   request to Redis per read).
 */
import type { CoapEndpoint } from '@lwm2m-ts/coap';
import { LwM2mServer, openRedisStores } from '@lwm2m-ts/server';
import { findPeerBinary, type RedisServer, startRedis } from '@lwm2m-ts/testkit';
import { median, percentile, type Row } from './harness.js';
import { DeviceSockets, type ExchangeResult, exchangeAll } from './raw-devices.js';
import { alternatingRounds, rawDevice, readDriver, readPlan } from './reads.js';
import { redisServerOptions, ServerProcess } from './server-process.js';
import {
  defined,
  range,
  registerStorm,
  STORM_RECV_BUFFER,
  type StormResult,
  token,
} from './storm.js';
import { Opt, optionsOf, updateRequest } from './wire.js';

const SECTION = '8. Redis stores';
const HOST = '127.0.0.1';
const WINDOW = 256;
const PREFIX = 'bench:';

type Store = 'memory' | 'redis';

/** What INFO tells of the Redis process at one moment. */
interface RedisCounters {
  /** `used_memory`, bytes. */
  readonly usedMemory: number;
  /** `used_cpu_user` + `used_cpu_sys`, seconds. */
  readonly cpuSeconds: number;
  /** Keys in the database (DBSIZE). */
  readonly keys: number;
}

async function counters(redis: RedisServer): Promise<RedisCounters> {
  const field = (info: unknown, name: string): number => {
    const m = new RegExp(`^${name}:([0-9.]+)`, 'm').exec(String(info));
    if (m === null) throw new Error(`INFO has no ${name}`);
    return Number(m[1]);
  };
  const memory = await redis.command('INFO', 'memory');
  const cpu = await redis.command('INFO', 'cpu');
  return {
    usedMemory: field(memory, 'used_memory'),
    cpuSeconds: field(cpu, 'used_cpu_user') + field(cpu, 'used_cpu_sys'),
    keys: Number(await redis.command('DBSIZE')),
  };
}

/** One round against one fresh server child: the Register storm, then one timed Update each. */
interface StoreRound {
  readonly register: StormResult;
  readonly update: ExchangeResult & { readonly rate: number; readonly cpuUs: number };
  /** Redis rounds only: */
  readonly redis?: {
    readonly bytesPerRegistration: number;
    readonly bytesPerRegistrationAfterUpdates: number;
    readonly keysPerRegistration: number;
    readonly cpuUsPerRegistration: number;
    readonly cpuUsPerUpdate: number;
    /** Mean size of a registration record as JSON. */
    readonly jsonBytes: number;
  };
}

async function storeRound(
  store: Store,
  redis: RedisServer,
  devices: DeviceSockets,
  n: number,
  warmup: number,
): Promise<StoreRound> {
  if (store === 'redis') await redis.command('FLUSHALL');
  const server = await ServerProcess.start(
    {
      udp: true,
      dtls: false,
      recvBufferSize: STORM_RECV_BUFFER,
      ...(store === 'redis' && { redis: { url: redis.url, prefix: PREFIX } }),
    },
    `redis-section-${store}`,
  );
  try {
    const ids: string[] = new Array(n);
    const at: Partial<Record<'before' | 'after', RedisCounters>> = {};
    const register = await registerStorm(server, devices, {
      n,
      window: WINDOW,
      warmup,
      onAnswer: (i, msg) => {
        ids[i] = optionsOf(msg, Opt.LOCATION_PATH)[1]?.toString() ?? '';
      },
      ...(store === 'redis' && {
        probe: async (phase: 'before' | 'after') => {
          at[phase] = await counters(redis);
        },
      }),
    });
    const updateAll = () =>
      exchangeAll(devices, {
        indices: range(n),
        port: server.udpPort,
        window: WINDOW,
        build: (i, mid) => updateRequest({ messageId: mid, token: token(i), id: ids[i] ?? '-' }),
      });
    await updateAll(); // the Update path of this fresh process warms up
    const updateBefore = store === 'redis' ? await counters(redis) : undefined;
    const cpuBefore = await server.stats();
    const u = await updateAll();
    const cpuAfter = await server.stats();
    const updateAfter = store === 'redis' ? await counters(redis) : undefined;
    const update = {
      ...u,
      rate: (u.ok / u.elapsedMs) * 1000,
      cpuUs:
        ((cpuAfter.cpuUserMs + cpuAfter.cpuSystemMs - cpuBefore.cpuUserMs - cpuBefore.cpuSystemMs) *
          1000) /
        Math.max(1, u.ok),
    };
    if (store === 'memory') return { register, update };
    const before = at.before!;
    const after = at.after!;
    const regs = Math.max(1, register.ok);
    return {
      register,
      update,
      redis: {
        bytesPerRegistration: (after.usedMemory - before.usedMemory) / regs,
        bytesPerRegistrationAfterUpdates: (updateAfter!.usedMemory - before.usedMemory) / regs,
        keysPerRegistration: (after.keys - before.keys) / regs,
        cpuUsPerRegistration: ((after.cpuSeconds - before.cpuSeconds) * 1e6) / regs,
        cpuUsPerUpdate:
          ((updateAfter!.cpuSeconds - updateBefore!.cpuSeconds) * 1e6) / Math.max(1, u.ok),
        jsonBytes: (await server.call({ cmd: 'jsonBytes' })) as number,
      },
    };
  } finally {
    await server.close();
  }
}

/** The round with the median value of `key` (its latencies and notes go with it). */
function medianBy<T>(runs: readonly T[], key: (r: T) => number): T {
  const sorted = [...runs].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

const int = (v: number) => Math.round(v).toLocaleString('en-US');

async function registrationRows(
  quick: boolean,
  redis: RedisServer,
  sockets: number,
  log: (line: string) => void,
): Promise<Row[]> {
  const n = Math.min(quick ? 2_000 : 10_000, sockets);
  const warmup = quick ? 1_000 : 5_000;
  const roundsEach = quick ? 3 : 5;
  const runs: Record<Store, StoreRound[]> = { memory: [], redis: [] };
  const devices = new DeviceSockets(n);
  try {
    await devices.openRange(0, n);
    for (let round = 0; round < roundsEach; round++) {
      const order: Store[] = round % 2 === 0 ? ['memory', 'redis'] : ['redis', 'memory'];
      for (const store of order) {
        const r = await storeRound(store, redis, devices, n, warmup);
        runs[store].push(r);
        log(
          `  round ${round + 1}/${roundsEach} ${store}: ${int(r.register.rate)} reg/s, ${int(r.update.rate)} upd/s`,
        );
      }
    }
  } finally {
    await devices.closeAll();
  }
  const N = n.toLocaleString('en-US');
  const rates = (store: Store, key: (r: StoreRound) => number) =>
    runs[store].map((r) => int(key(r))).join(', ');
  const regRate = (r: StoreRound) => r.register.rate;
  const updRate = (r: StoreRound) => r.update.rate;
  const memReg = medianBy(runs.memory, regRate);
  const redReg = medianBy(runs.redis, regRate);
  const memUpd = medianBy(runs.memory, updRate);
  const redUpd = medianBy(runs.redis, updRate);
  const rows: Row[] = [
    {
      section: SECTION,
      name: `${N} registrations, UDP`,
      subject: 'raw Register generator → LwM2mServer on Redis stores (child)',
      value: redReg.register.rate,
      unit: 'reg/s',
      ...defined({ p50: redReg.register.p50, p99: redReg.register.p99 }),
      reference: `the same → LwM2mServer on in-memory stores (p50 ${ms(memReg.register.p50)}, p99 ${ms(memReg.register.p99)})`,
      referenceValue: memReg.register.rate,
      note: `median of ${roundsEach} rounds each, alternating; Redis ${rates('redis', regRate)}, in-memory ${rates('memory', regRate)} reg/s; Redis: ${redReg.register.note}`,
    },
    {
      section: SECTION,
      name: `${N} registrations, UDP: server CPU per registration`,
      subject: 'LwM2mServer process on Redis stores (user + system)',
      value: median(runs.redis.map((r) => r.register.cpuUs ?? 0)),
      unit: 'µs',
      reference: 'LwM2mServer process on in-memory stores',
      referenceValue: median(runs.memory.map((r) => r.register.cpuUs ?? 0)),
      note: `median of ${roundsEach} rounds; redis-server's own CPU is the row below`,
    },
    {
      section: SECTION,
      name: `Update handling, ${N} registrations held`,
      subject: 'raw Update generator → LwM2mServer on Redis stores (child)',
      value: redUpd.update.rate,
      unit: 'upd/s',
      ...defined({
        p50: percentile(redUpd.update.latencies, 0.5),
        p99: percentile(redUpd.update.latencies, 0.99),
      }),
      reference: `the same → LwM2mServer on in-memory stores (p50 ${ms(percentile(memUpd.update.latencies, 0.5))}, p99 ${ms(percentile(memUpd.update.latencies, 0.99))})`,
      referenceValue: memUpd.update.rate,
      note: `second Update of each device, window ${WINDOW}; median of ${roundsEach} rounds each; Redis ${rates('redis', updRate)}, in-memory ${rates('memory', updRate)} upd/s; Redis: ${redUpd.update.ok}/${n} answered, ${redUpd.update.failed} failed, server CPU ${int(redUpd.update.cpuUs)} µs each (in-memory ${int(memUpd.update.cpuUs)} µs)`,
    },
  ];
  const red = runs.redis.map((r) => r.redis!);
  const bytes = median(red.map((r) => r.bytesPerRegistration));
  const cpuReg = median(red.map((r) => r.cpuUsPerRegistration));
  const cpuUpd = median(red.map((r) => r.cpuUsPerUpdate));
  rows.push({
    section: SECTION,
    name: `Redis memory per registration, ${N} registered`,
    subject: 'redis-server used_memory (INFO memory), after − before ÷ N',
    value: bytes,
    unit: 'bytes',
    reference: 'the registration record as JSON',
    referenceValue: median(red.map((r) => r.jsonBytes)),
    note: `median of ${red.length} rounds (${red.map((r) => int(r.bytesPerRegistration)).join(', ')} B); after one more Update each: ${int(median(red.map((r) => r.bytesPerRegistrationAfterUpdates)))} B; ${median(red.map((r) => r.keysPerRegistration)).toFixed(2)} keys per registration; hash-table growth included`,
  });
  rows.push({
    section: SECTION,
    name: `${N} registrations: Redis CPU per registration`,
    subject: 'redis-server process (used_cpu_user + used_cpu_sys)',
    value: cpuReg,
    unit: 'µs',
    reference: 'LwM2mServer process on Redis stores, per registration',
    referenceValue: median(runs.redis.map((r) => r.register.cpuUs ?? 0)),
    note: `median of ${red.length} rounds; per Update: ${int(cpuUpd)} µs (server ${int(median(runs.redis.map((r) => r.update.cpuUs)))} µs); AOF everysec included`,
  });
  return rows;
}

async function readRows(quick: boolean, redis: RedisServer): Promise<Row[]> {
  await redis.command('FLUSHALL');
  const closers: (() => Promise<unknown>)[] = [];
  const rows: Row[] = [];
  try {
    const memory = new LwM2mServer({ coap: { address: HOST, port: 0 }, dtls: false });
    closers.push(() => memory.close());
    const stores = await openRedisStores({ url: redis.url, keyPrefix: PREFIX });
    closers.push(() => stores.close());
    const onRedis = new LwM2mServer({
      coap: { address: HOST, port: 0 },
      dtls: false,
      ...redisServerOptions(stores),
    });
    closers.push(() => onRedis.close());
    await memory.start();
    await onRedis.start();
    const devices: CoapEndpoint[] = [
      await rawDevice(memory, 'bench-raw-memory', 'udp'),
      await rawDevice(onRedis, 'bench-raw-redis', 'udp'),
    ];
    for (const d of devices) closers.push(() => d.close());
    const drivers = [
      readDriver(
        memory,
        'server.read → raw device, LwM2mServer on in-memory stores',
        'bench-raw-memory',
      ),
      readDriver(
        onRedis,
        'server.read → raw device, LwM2mServer on Redis stores',
        'bench-raw-redis',
      ),
    ];
    // Full mode: the reads section's rounds; quick mode: fewer and shorter ones.
    const plan = quick
      ? { rounds: 3, warmup: 500, n: (inFlight: number) => (inFlight === 1 ? 200 : 1_000) }
      : readPlan(false);
    for (const d of drivers) await d.oneRound(plan.warmup, 8);
    for (const inFlight of [1, 64]) {
      const results = await alternatingRounds(drivers, plan.rounds, plan.n(inFlight), inFlight);
      const rate = (i: number) => 1000 / median(results[i]!.map((r) => r.perOpMs));
      const lat = (i: number, q: number) =>
        percentile(
          results[i]!.flatMap((r) => Array.from(r.latencies)),
          q,
        );
      rows.push({
        section: SECTION,
        name: `reads, ${inFlight} in flight, UDP`,
        subject: `${drivers[1]!.name} (in-process)`,
        value: rate(1),
        unit: 'ops/s',
        ...defined({ p50: lat(1, 0.5), p99: lat(1, 0.99) }),
        reference: `${drivers[0]!.name} (p50 ${ms(lat(0, 0.5))}, p99 ${ms(lat(0, 0.99))})`,
        referenceValue: rate(0),
        note: `median of ${plan.rounds - 1} rounds of ${plan.n(inFlight).toLocaleString('en-US')}, alternating`,
      });
    }
  } finally {
    for (const c of closers.reverse()) await c().catch(() => {});
  }
  return rows;
}

/**
 * The section. Without `redis-server` on PATH: skipped (no rows), except in quick mode on CI
 * (`CI` set), where the section fails.
 */
export async function redisBenchmarks(
  quick: boolean,
  sockets: number,
  log: (line: string) => void,
): Promise<Row[]> {
  const binary = findPeerBinary('redis-server');
  if (binary === undefined) {
    if (quick && process.env.CI) {
      throw new Error('redis-server not found on PATH (CI runs the Redis section)');
    }
    log('skipping the Redis benchmark: redis-server not found on PATH');
    return [];
  }
  const redis = await startRedis({ binary });
  try {
    log(`  redis-server on ${redis.url}`);
    const t0 = performance.now();
    const registrations = await registrationRows(quick, redis, sockets, log);
    const t1 = performance.now();
    log(`  registrations and Updates took ${((t1 - t0) / 1000).toFixed(1)} s`);
    const reads = await readRows(quick, redis);
    log(`  reads took ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    return [...registrations, ...reads];
  } finally {
    await redis.stop();
  }
}

function ms(v: number | undefined): string {
  if (v === undefined) return '–';
  return v >= 1 ? `${v.toFixed(1)} ms` : `${(v * 1000).toFixed(0)} µs`;
}
