/**
 * 2. Registration storm: N devices register as fast as the server accepts them. The server runs
 * alone in a child process (server-child.ts); the devices run here, on the same machine:
 *
 * - the fleet simulator (apps/client `Fleet`: one full `LwM2mClient` per device, its own socket),
 *   over UDP and over DTLS PSK (handshake included). A fleet device costs about 0.2 ms of CPU to
 *   create, register and bookkeep (server included), so on 2 cores the fleet shares the cores
 *   with the server and both set the pace;
 * - a raw generator: one socket per device on its own loopback address (raw-devices.ts) sending
 *   a pre-encoded Register, at most `window` waiting for their answer. It costs microseconds per
 *   device, so it measures the server. Its reference is the same generator against a raw
 *   `node:dgram` echo socket (the loopback ceiling of this generator on this machine).
 */
import { Fleet } from '@lwm2m-ts/client';
import { median, percentile, type Row } from './harness.js';
import { DeviceSockets, type ExchangeResult, exchangeAll } from './raw-devices.js';
import { ServerProcess } from './server-process.js';
import { registerRequest, type WireMessage } from './wire.js';

const SECTION = '2. Registration storm';
const KEY = Buffer.from('0123456789abcdef');
/** The server's receive buffer in these runs (see the `recvBufferSize` transport option). */
export const STORM_RECV_BUFFER = 4 * 1024 * 1024;

export interface StormResult {
  readonly rate: number;
  readonly p50: number | undefined;
  readonly p99: number | undefined;
  readonly ok: number;
  readonly failed: number;
  readonly note: string;
  /** CPU time (user + system) the server process spent per registration, µs. */
  readonly cpuUs?: number;
}

export function token(i: number): Buffer {
  const t = Buffer.alloc(4);
  t.writeUInt32BE(i >>> 0);
  return t;
}

/** Raw Registers from `n` sockets against a fresh child (server or echo). */
export async function rawStorm(
  opts: RegisterStormOptions & {
    readonly echo?: boolean;
    readonly recvBufferSize?: number;
    /** Sockets to send from (opened here, and closed again, when not given). */
    readonly devices?: DeviceSockets;
  },
): Promise<StormResult> {
  const server = await ServerProcess.start(
    {
      udp: true,
      dtls: false,
      ...(opts.echo && { echo: true }),
      ...(opts.recvBufferSize !== undefined && { recvBufferSize: opts.recvBufferSize }),
    },
    opts.echo ? 'storm-echo' : 'storm-raw',
  );
  const devices = opts.devices ?? new DeviceSockets(opts.n);
  try {
    await devices.openRange(0, opts.n);
    return await registerStorm(server, devices, opts);
  } finally {
    if (opts.devices === undefined) await devices.closeAll();
    await server.close();
  }
}

export interface RegisterStormOptions {
  readonly n: number;
  readonly window: number;
  readonly prefix?: string;
  /**
   * Registers sent (and answered) before the timed storm, under other endpoint names: a server
   * that has been running is JIT-compiled, a fresh process runs its first thousands of requests
   * in the interpreter.
   */
  readonly warmup?: number;
  /** Retransmissions of an unanswered Register (2, 4, 8, 16 s apart); default 4. */
  readonly retries?: number;
  /** Called after the warm-up right before the timed storm, and right after it. */
  readonly probe?: (phase: 'before' | 'after') => Promise<void>;
  /** Every answered Register of the timed storm (its Location-Path holds the registration id). */
  readonly onAnswer?: (i: number, msg: WireMessage) => void;
}

/**
 * The raw storm against a child already running: the warm-up, then `n` Registers timed, from
 * devices 0 … n − 1 (their sockets open).
 */
export async function registerStorm(
  server: ServerProcess,
  devices: DeviceSockets,
  opts: RegisterStormOptions,
): Promise<StormResult> {
  if (opts.warmup !== undefined && opts.warmup > 0) {
    await exchangeAll(devices, {
      indices: range(Math.min(opts.warmup, opts.n)),
      port: server.udpPort,
      window: 64,
      build: (i, mid) =>
        registerRequest({
          messageId: mid,
          token: token(i),
          endpoint: `warm-${i}`,
          lifetime: 600,
        }),
    });
  }
  await opts.probe?.('before');
  const dropsBefore = server.udpDrops();
  const cpuBefore = await server.stats();
  const prefix = opts.prefix ?? 'storm-';
  const r: ExchangeResult = await exchangeAll(devices, {
    indices: range(opts.n),
    port: server.udpPort,
    window: opts.window,
    ...(opts.retries !== undefined && { retries: opts.retries }),
    ...(opts.onAnswer !== undefined && { onAnswer: opts.onAnswer }),
    build: (i, mid) =>
      registerRequest({
        messageId: mid,
        token: token(i),
        endpoint: `${prefix}${i}`,
        lifetime: 600,
      }),
  });
  const drops = server.udpDrops() - dropsBefore;
  const after = await server.stats();
  await opts.probe?.('after');
  const held = after.registrations;
  const cpuUs =
    ((after.cpuUserMs + after.cpuSystemMs - cpuBefore.cpuUserMs - cpuBefore.cpuSystemMs) * 1000) /
    Math.max(1, r.ok);
  return {
    cpuUs,
    rate: (r.ok / r.elapsedMs) * 1000,
    p50: percentile(r.latencies, 0.5),
    p99: percentile(r.latencies, 0.99),
    ok: r.ok,
    failed: r.failed,
    note: `${r.ok}/${opts.n} answered, ${held} held${opts.warmup ? ' (warm-up included)' : ''}, ${r.retransmissions} retransmissions, ${drops} kernel drops, window ${opts.window}, server CPU ${cpuUs.toFixed(0)} µs each`,
  };
}

/**
 * The fleet simulator against a fresh server child, `rounds` storms in a row (each fleet closed,
 * its devices de-registered, before the next): the first round runs in fresh processes (the
 * server's and the fleet's code still interpreted), later ones JIT-compiled, as in a server that
 * has been running and a simulator that has already started a fleet. One result per round.
 */
export async function fleetStorm(opts: {
  readonly n: number;
  readonly transport: 'udp' | 'dtls';
  readonly concurrency: number;
  readonly rounds?: number;
}): Promise<StormResult[]> {
  const server = await ServerProcess.start(
    {
      udp: opts.transport === 'udp',
      dtls: opts.transport === 'dtls',
      recvBufferSize: STORM_RECV_BUFFER,
    },
    `storm-fleet-${opts.transport}`,
  );
  const prefix = `${opts.transport}-fleet-`;
  const results: StormResult[] = [];
  try {
    if (opts.transport === 'dtls') {
      await server.call({
        cmd: 'psk',
        endpoints: Array.from({ length: opts.n }, (_, i) => `${prefix}${i}`),
        keyHex: KEY.toString('hex'),
      });
    }
    const uri =
      opts.transport === 'udp'
        ? `coap://127.0.0.1:${server.udpPort}`
        : `coaps://127.0.0.1:${server.dtlsPort}`;
    for (let round = 0; round < (opts.rounds ?? 1); round++) {
      const fleet = new Fleet({
        count: opts.n,
        server: { uri, ...(opts.transport === 'dtls' && { psk: { key: KEY } }) },
        endpointPrefix: prefix,
        rampPerSecond: Number.POSITIVE_INFINITY,
        concurrency: opts.concurrency,
        closeConcurrency: 500,
        lifetime: 600,
        sensorIntervalMs: 0,
        progressIntervalMs: 0,
        deregisterTimeout: 2000,
      });
      try {
        const stats = await fleet.start();
        const held = (await server.stats()).registrations;
        const failures = Object.entries(stats.failures)
          .map(([k, v]) => `${v}× ${k}`)
          .join(', ');
        const retrying =
          stats.retrying > 0 ? `, ${stats.retrying} retrying after a failed attempt` : '';
        results.push({
          rate: (stats.registered / stats.elapsedMs) * 1000,
          p50: stats.latency.p50,
          p99: stats.latency.p99,
          ok: stats.registered,
          failed: stats.failed,
          note: `${stats.registered}/${opts.n} registered, ${held} held, concurrency ${opts.concurrency}${retrying}${failures ? `, failures: ${failures}` : ''}`,
        });
      } finally {
        await fleet.close();
      }
    }
    return results;
  } finally {
    await server.close();
  }
}

/** `sockets`: how many sockets this process may open (one per simulated device). */
export async function stormBenchmarks(quick: boolean, sockets: number): Promise<Row[]> {
  const nUdp = Math.min(quick ? 2_000 : 10_000, sockets);
  const nDtls = Math.min(quick ? 300 : 2_000, sockets);
  const window = 256;
  const warmup = quick ? 2_000 : 5_000;
  const rows: Row[] = [];
  const goal = '≥ 5,000 registrations/s over UDP, client and server on the same cores';

  // Several rounds, server and echo alternating (a fresh child each time, the same sockets): the
  // median round is reported, as one round is at the mercy of whatever else the machine does.
  const devices = new DeviceSockets(nUdp);
  const echoes: StormResult[] = [];
  const raws: StormResult[] = [];
  try {
    for (let round = 0; round < (quick ? 3 : 5); round++) {
      const pair: [StormResult[], boolean][] = [
        [echoes, true],
        [raws, false],
      ];
      if (round % 2 === 1) pair.reverse();
      for (const [into, echo] of pair) {
        into.push(
          await rawStorm({
            n: nUdp,
            window,
            echo,
            recvBufferSize: STORM_RECV_BUFFER,
            devices,
            warmup,
          }),
        );
      }
    }
  } finally {
    await devices.closeAll();
  }
  const echo = medianRun(echoes);
  const raw = medianRun(raws);
  const rounds = `rounds: ${raws.map((r) => Math.round(r.rate).toLocaleString('en-US')).join(', ')} reg/s`;
  rows.push({
    section: SECTION,
    name: `${nUdp.toLocaleString('en-US')} registrations, UDP`,
    subject: 'raw Register generator → LwM2mServer (server alone)',
    value: raw.rate,
    unit: 'reg/s',
    ...defined({ p50: raw.p50, p99: raw.p99 }),
    reference: 'the same generator → raw node:dgram echo',
    referenceValue: echo.rate,
    note: `median of ${raws.length} ${rounds}; ${raw.note}`,
  });
  const rawCpu = median(raws.map((r) => r.cpuUs ?? 0));
  const echoCpu = median(echoes.map((r) => r.cpuUs ?? 0));
  if (rawCpu > 0 && echoCpu > 0) {
    rows.push({
      section: SECTION,
      name: `${nUdp.toLocaleString('en-US')} registrations, UDP: CPU per registration`,
      subject: 'LwM2mServer process (user + system)',
      value: rawCpu,
      unit: 'µs',
      reference: 'raw node:dgram echo process, per exchange',
      referenceValue: echoCpu,
      note: `median of ${raws.length} rounds; capacity on one free core ≈ ${Math.round(1e6 / rawCpu).toLocaleString('en-US')} reg/s`,
    });
  }
  // All N at once (no window), as after a power cut: the socket's receive buffer decides.
  // Quick mode gives up after one retransmission: the point is made without 30 s of back-off.
  const burstDefault = await rawStorm({
    n: nUdp,
    window: nUdp,
    prefix: 'burst-',
    warmup,
    retries: quick ? 1 : 4,
  });
  const burstBig = await rawStorm({
    n: nUdp,
    window: nUdp,
    recvBufferSize: STORM_RECV_BUFFER,
    prefix: 'burst-',
    warmup,
  });
  rows.push({
    section: SECTION,
    name: `${nUdp.toLocaleString('en-US')} Registers sent at once, UDP`,
    subject: `server socket with recvBufferSize ${STORM_RECV_BUFFER / 1024 / 1024} MB`,
    value: burstBig.rate,
    unit: 'reg/s',
    ...defined({ p50: burstBig.p50, p99: burstBig.p99 }),
    reference: `system default buffer (p99 ${burstDefault.p99?.toFixed(0)} ms; ${burstDefault.note})`,
    referenceValue: burstDefault.rate,
    note: burstBig.note,
  });
  // Two rounds: the first in fresh processes, the second once both sides are JIT-compiled (the
  // raw rows above warm the server up too). The goal is judged on the second; the first is shown.
  const [fleetCold, fleetUdp] = await fleetStorm({
    n: nUdp,
    transport: 'udp',
    concurrency: 500,
    rounds: 2,
  });
  rows.push({
    section: SECTION,
    name: `${nUdp.toLocaleString('en-US')} registrations, UDP`,
    subject: 'Fleet (LwM2mClient per device) → LwM2mServer, second storm of the same processes',
    value: fleetUdp!.rate,
    unit: 'reg/s',
    ...defined({ p50: fleetUdp!.p50, p99: fleetUdp!.p99 }),
    reference: 'raw Register generator → LwM2mServer (row above)',
    referenceValue: raw.rate,
    goal,
    met: fleetUdp!.rate >= 5000 && fleetUdp!.failed === 0,
    note: fleetUdp!.note,
  });
  rows.push({
    section: SECTION,
    name: `${nUdp.toLocaleString('en-US')} registrations, UDP, first storm of fresh processes`,
    subject: 'Fleet → LwM2mServer, both just started (code not yet JIT-compiled)',
    value: fleetCold!.rate,
    unit: 'reg/s',
    ...defined({ p50: fleetCold!.p50, p99: fleetCold!.p99 }),
    reference: 'the second storm (row above)',
    referenceValue: fleetUdp!.rate,
    note: fleetCold!.note,
  });
  const [fleetDtls] = await fleetStorm({ n: nDtls, transport: 'dtls', concurrency: 200 });
  const [fleetUdpSmall] = await fleetStorm({ n: nDtls, transport: 'udp', concurrency: 200 });
  rows.push({
    section: SECTION,
    name: `${nDtls.toLocaleString('en-US')} registrations, DTLS PSK (handshake included)`,
    subject: 'Fleet → LwM2mServer over DTLS',
    value: fleetDtls!.rate,
    unit: 'reg/s',
    ...defined({ p50: fleetDtls!.p50, p99: fleetDtls!.p99 }),
    reference: `Fleet → LwM2mServer over UDP, same N (p99 ${fleetUdpSmall!.p99?.toFixed(0)} ms)`,
    referenceValue: fleetUdpSmall!.rate,
    note: fleetDtls!.note,
  });
  return rows;
}

/** The run with the median rate (its latencies and notes go with it). */
function medianRun(runs: readonly StormResult[]): StormResult {
  const sorted = [...runs].sort((a, b) => a.rate - b.rate);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

export function range(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

export function defined<T extends Record<string, number | undefined>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
