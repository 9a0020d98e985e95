/**
 * 3. Scale and memory: N registrations held by one server process (a child running only the
 * server, with --expose-gc), registered by raw devices spread over 127.0.0.0/8 (one loopback
 * address each), then kept alive by their Updates:
 *
 * - heap and RSS per registration: (after − before) / N, each after two full GCs;
 * - the Update handling rate: every device sends one Update, as fast as the server answers;
 * - steady state: Updates paced so that each device refreshes its registration twice per
 *   lifetime (lifetimes are short enough that a device that stopped would expire), heap sampled
 *   after full GCs all along; the registration count must stay N and the heap must not grow.
 *
 * References: the registration record itself as JSON (what the server has to remember, in
 * bytes), and the same generator against a raw `node:dgram` echo socket (rates).
 */
import { percentile, type Row } from './harness.js';
import { DeviceSockets, type ExchangeResult, exchangeAll } from './raw-devices.js';
import type { MemorySample } from './server-child.js';
import { ServerProcess } from './server-process.js';
import { defined, STORM_RECV_BUFFER } from './storm.js';
import { Opt, optionsOf, registerRequest, updateRequest } from './wire.js';

const SECTION = '3. Scale and memory';
const WINDOW = 256;

export interface ScaleOptions {
  readonly n: number;
  /** Registration lifetime (s): devices update every lifetime / 2. */
  readonly lifetime: number;
  /** How long the steady phase runs (s). */
  readonly steadySeconds: number;
  /** Heap samples during the steady phase. */
  readonly samples: number;
  /** Sockets open at once (two chunks while the next one is being bound). */
  readonly chunk: number;
  readonly log?: (line: string) => void;
}

function token(i: number): Buffer {
  const t = Buffer.alloc(4);
  t.writeUInt32BE(i >>> 0);
  return t;
}

/** Runs `work` on [from, to) chunks, binding the next chunk's sockets while one is worked on. */
async function chunked(
  devices: DeviceSockets,
  n: number,
  chunk: number,
  work: (from: number, to: number) => Promise<void>,
  until = Number.POSITIVE_INFINITY,
): Promise<void> {
  let opening: Promise<void> | undefined = devices.openRange(0, Math.min(chunk, n));
  for (let from = 0; from < n; from += chunk) {
    const to = Math.min(from + chunk, n);
    await opening;
    opening = undefined;
    if (performance.now() >= until) break;
    opening = to < n ? devices.openRange(to, Math.min(to + chunk, n)) : undefined;
    await work(from, to);
    await devices.closeRange(from, to);
  }
  await opening;
  await devices.closeAll();
}

function indices(from: number, to: number): Uint32Array {
  const a = new Uint32Array(to - from);
  for (let i = 0; i < a.length; i++) a[i] = from + i;
  return a;
}

/** Merges exchange results: total ok/failed, summed time, all latencies. */
class Totals {
  ok = 0;
  failed = 0;
  retransmissions = 0;
  ms = 0;
  readonly latencies: number[] = [];
  add(r: ExchangeResult): void {
    this.ok += r.ok;
    this.failed += r.failed;
    this.retransmissions += r.retransmissions;
    this.ms += r.elapsedMs;
    for (const l of r.latencies) this.latencies.push(l);
  }
  get rate(): number {
    return (this.ok / this.ms) * 1000;
  }
}

/** The same generator against the echo child: its rate for `n` exchanges (one chunk). */
async function echoRate(n: number): Promise<number> {
  const echo = await ServerProcess.start(
    { udp: true, dtls: false, echo: true, recvBufferSize: STORM_RECV_BUFFER },
    'scale-echo',
  );
  const devices = new DeviceSockets(n);
  try {
    await devices.openRange(0, n);
    const r = await exchangeAll(devices, {
      indices: indices(0, n),
      port: echo.udpPort,
      window: WINDOW,
      build: (i, mid) => updateRequest({ messageId: mid, token: token(i), id: 'abcdefgh' }),
    });
    return (r.ok / r.elapsedMs) * 1000;
  } finally {
    await devices.closeAll();
    await echo.close();
  }
}

export async function scaleBenchmarks(o: ScaleOptions): Promise<Row[]> {
  const log = o.log ?? (() => {});
  const server = await ServerProcess.start(
    { udp: true, dtls: false, recvBufferSize: STORM_RECV_BUFFER },
    'scale-server',
  );
  const devices = new DeviceSockets(o.n);
  const ids: string[] = new Array(o.n);
  const rows: Row[] = [];
  try {
    const before = await server.memory();
    const register = new Totals();
    await chunked(devices, o.n, o.chunk, async (from, to) => {
      register.add(
        await exchangeAll(devices, {
          indices: indices(from, to),
          port: server.udpPort,
          window: WINDOW,
          build: (i, mid) =>
            registerRequest({
              messageId: mid,
              token: token(i),
              endpoint: `scale-${i}`,
              lifetime: o.lifetime,
            }),
          onAnswer: (i, msg) => {
            ids[i] = optionsOf(msg, Opt.LOCATION_PATH)[1]?.toString() ?? '';
          },
        }),
      );
      log(`  registered ${to}/${o.n}`);
    });
    const registered = await server.memory();
    const jsonBytes = await registrationJsonBytes(server);
    log(
      `  ${registered.registrations} held; heap ${mb(before.heapUsed)} → ${mb(registered.heapUsed)}`,
    );

    const update = new Totals();
    await chunked(devices, o.n, o.chunk, async (from, to) => {
      update.add(
        await exchangeAll(devices, {
          indices: indices(from, to),
          port: server.udpPort,
          window: WINDOW,
          build: (i, mid) => updateRequest({ messageId: mid, token: token(i), id: ids[i]! }),
        }),
      );
    });
    const updated = await server.memory();
    log(`  one Update each: ${update.rate.toFixed(0)}/s; heap ${mb(updated.heapUsed)}`);

    // Steady: every device updates twice per lifetime, paced; heap sampled after full GCs.
    const rate = o.n / (o.lifetime / 2);
    const steadyEnd = performance.now() + o.steadySeconds * 1000;
    const samples: MemorySample[] = [updated];
    const sampleEvery = (o.steadySeconds * 1000) / o.samples;
    let sampling = true;
    let wake: (() => void) | undefined;
    const sampler = (async () => {
      for (let k = 1; k < o.samples; k++) {
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, sampleEvery).unref();
        });
        if (!sampling) break;
        const m = await server.memory();
        samples.push(m);
        log(`  steady: heap ${mb(m.heapUsed)}, rss ${mb(m.rss)}, ${m.registrations} held`);
      }
    })();
    const steady = new Totals();
    while (performance.now() < steadyEnd) {
      await chunked(
        devices,
        o.n,
        o.chunk,
        async (from, to) => {
          steady.add(
            await exchangeAll(devices, {
              indices: indices(from, to),
              port: server.udpPort,
              window: WINDOW,
              ratePerSecond: rate,
              stopAt: steadyEnd,
              build: (i, mid) => updateRequest({ messageId: mid, token: token(i), id: ids[i]! }),
            }),
          );
        },
        steadyEnd,
      );
    }
    sampling = false;
    wake?.();
    await sampler;
    const last = await server.memory();
    samples.push(last);
    const echo = await echoRate(Math.min(o.n, o.chunk));

    const perReg = (m: MemorySample, key: 'heapUsed' | 'rss') => (m[key] - before[key]) / o.n;
    const n = o.n.toLocaleString('en-US');
    rows.push({
      section: SECTION,
      name: `server heap per registration, ${n} held`,
      subject: 'LwM2mServer, in-memory stores (after one Update each)',
      value: perReg(updated, 'heapUsed'),
      unit: 'bytes',
      reference: 'the registration record as JSON',
      referenceValue: jsonBytes,
      goal: '≤ 2 KB per registration',
      met: perReg(updated, 'heapUsed') <= 2048,
      note: `right after Register: ${Math.round(perReg(registered, 'heapUsed'))} B`,
    });
    rows.push({
      section: SECTION,
      name: `server RSS per registration, ${n} held`,
      subject: 'LwM2mServer process',
      value: perReg(updated, 'rss'),
      unit: 'bytes',
      reference: 'the registration record as JSON',
      referenceValue: jsonBytes,
    });
    rows.push({
      section: SECTION,
      name: `Register, ${n} devices`,
      subject: 'raw Register generator → LwM2mServer',
      value: register.rate,
      unit: 'reg/s',
      ...defined({
        p50: percentile(register.latencies, 0.5),
        p99: percentile(register.latencies, 0.99),
      }),
      reference: 'the same generator → raw node:dgram echo',
      referenceValue: echo,
      note: `${register.ok}/${o.n} answered, ${register.retransmissions} retransmissions`,
    });
    rows.push({
      section: SECTION,
      name: `Update handling, ${n} registrations held`,
      subject: 'raw Update generator → LwM2mServer',
      value: update.rate,
      unit: 'upd/s',
      ...defined({
        p50: percentile(update.latencies, 0.5),
        p99: percentile(update.latencies, 0.99),
      }),
      reference: 'the same generator → raw node:dgram echo',
      referenceValue: echo,
      note: `${update.ok}/${o.n} answered, ${update.retransmissions} retransmissions`,
    });
    // A leak grows all along; bounded caches (CoAP deduplication keeps the last 20,000 exchanges
    // for EXCHANGE_LIFETIME) fill during the first half. So: the second half must not grow.
    const mid = samples[Math.floor(samples.length / 2)]!.heapUsed;
    const firstHeap = samples[0]!.heapUsed;
    const growth = last.heapUsed - mid;
    const allowed = Math.max(2 * 1024 * 1024, 0.03 * (mid - before.heapUsed));
    const held = Math.min(...samples.map((s) => s.registrations));
    const perRegAt = (h: number) => (h - before.heapUsed) / o.n;
    rows.push({
      section: SECTION,
      name: `steady Updates for ${fmtDuration(o.steadySeconds)} (lifetime ${o.lifetime} s)`,
      subject: 'heap per registration at the end',
      value: perRegAt(last.heapUsed),
      unit: 'bytes',
      reference: 'heap per registration half-way',
      referenceValue: perRegAt(mid),
      goal: 'no growth over the second half (≤ +3% or 2 MB), no registration lost',
      met: growth <= allowed && held === o.n && steady.failed === 0,
      note: `${steady.ok.toLocaleString('en-US')} Updates at ${steady.rate.toFixed(0)}/s (p99 ${percentile(steady.latencies, 0.99)?.toFixed(1)} ms), ${steady.failed} failed; heap after GC ${samples.map((s) => mb(s.heapUsed)).join(' → ')}; start ${Math.round(perRegAt(firstHeap))} B/registration; fewest held ${held.toLocaleString('en-US')}`,
    });
  } finally {
    await devices.closeAll();
    await server.close();
  }
  return rows;
}

/** Mean JSON size of the registrations the server holds (a sample of them). */
async function registrationJsonBytes(server: ServerProcess): Promise<number> {
  return (await server.call({ cmd: 'jsonBytes' })) as number;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function fmtDuration(s: number): string {
  return s >= 60 && s % 60 === 0 ? `${s / 60} min` : `${s} s`;
}
