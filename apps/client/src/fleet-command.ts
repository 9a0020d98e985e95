/**
 * `lwm2m-client fleet`: runs a `Fleet` of simulated devices from the command line, prints a
 * progress line every second and a summary at the end.
 *
 * It runs until `--duration` has passed (from the start of the ramp) or SIGINT/SIGTERM comes,
 * then De-registers every device and prints the summary. Exit status: 0 after a clean stop;
 * 2 for bad options; 1 when every device failed for good, or on a second signal while stopping.
 */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { isLwM2mVersion, type LwM2mVersion } from '@lwm2m-ts/codecs';
import { Fleet, type FleetStats } from './fleet.js';
import { parseServerUri } from './transport.js';

export const FLEET_USAGE = `Usage: lwm2m-client fleet --count N [options]

Runs N simulated LwM2M devices in this process, each on a socket of its own: they register,
send Updates, answer reads and notify observers of a changing temperature (/3303/0/5700).
Prints a progress line every second and a summary when stopped (--duration, SIGINT, SIGTERM);
stopping De-registers every device.

Options:
  --count N                 devices (required)
  --server URI              coap://host[:port] or coaps://host[:port] (default coap://127.0.0.1:5683)
  --ramp RATE               Registers started per second: 1000, 1000/s, 6000/min (default 1000/s)
  --concurrency N           first Registers in flight at most (default 200)
  --lwm2m VERSION           1.0, 1.1 or 1.2 (default 1.1)
  --lifetime SECONDS        registration lifetime (default 300)
  --prefix TEXT             endpoint names are TEXT0, TEXT1, … (default fleet-)
  --first N                 index of the first device (default 0)
  --psk-identity PATTERN    coaps://: PSK identity, {ep} is the endpoint name, {i} the index (default {ep})
  --psk-key HEX             coaps://: one pre-shared key for every device
  --duration TIME           stop after TIME: 90, 90s, 5m, 1h (default: run until SIGINT/SIGTERM)
  --addresses A,B,…         local addresses to bind, in turn (default 127.0.0.1, and 127.0.0.2, …
                            for every 20,000 devices towards a loopback server)
  --sensor-interval TIME    temperature change per device this often, 0 for none (default 10s)
  --progress-interval TIME  progress line this often (default 1s)
  -h, --help                this text
`;

/** A bad option: printed with a hint, exit status 2. */
export class FleetUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FleetUsageError';
  }
}

export interface FleetCommandConfig {
  readonly count: number;
  readonly server: string;
  /** Registers per second. */
  readonly ramp: number;
  readonly concurrency: number;
  readonly lwm2m: LwM2mVersion;
  readonly lifetime: number;
  readonly prefix: string;
  readonly first: number;
  readonly pskIdentity: string;
  readonly pskKey: Uint8Array | undefined;
  /** ms; undefined: until a signal. */
  readonly duration: number | undefined;
  readonly addresses: readonly string[] | undefined;
  /** ms; 0: no sensor changes. */
  readonly sensorInterval: number;
  /** ms. */
  readonly progressInterval: number;
}

export type FleetParseResult =
  | { readonly help: true }
  | { readonly help: false; readonly config: FleetCommandConfig };

const DEFAULTS = Object.freeze({
  server: 'coap://127.0.0.1:5683',
  ramp: 1000,
  concurrency: 200,
  lwm2m: '1.1' as LwM2mVersion,
  lifetime: 300,
  prefix: 'fleet-',
  first: 0,
  pskIdentity: '{ep}',
  sensorInterval: 10_000,
  progressInterval: 1000,
});

const OPTIONS = {
  count: { type: 'string' },
  server: { type: 'string' },
  ramp: { type: 'string' },
  concurrency: { type: 'string' },
  lwm2m: { type: 'string' },
  lifetime: { type: 'string' },
  prefix: { type: 'string' },
  first: { type: 'string' },
  'psk-identity': { type: 'string' },
  'psk-key': { type: 'string' },
  duration: { type: 'string' },
  addresses: { type: 'string' },
  'sensor-interval': { type: 'string' },
  'progress-interval': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function integer(flag: string, v: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
  if (!(Number.isSafeInteger(n) && n >= min && n <= max)) {
    throw new FleetUsageError(`--${flag} must be a whole number from ${min}, got "${v}"`);
  }
  return n;
}

const TIME_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
};

/** `90` (seconds), `90s`, `500ms`, `5m`, `1h` → ms. */
export function parseDuration(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|min|h)?$/.exec(v.trim());
  if (m === null) {
    throw new FleetUsageError(`--${flag} must be a time like 90, 90s, 500ms, 5m or 1h, got "${v}"`);
  }
  return Math.round(Number(m[1]) * TIME_UNITS[m[2] ?? 's']!);
}

/** `1000`, `1000/s`, `6000/min` → per second. */
export function parseRate(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(?:\/(s|sec|m|min))?$/.exec(v.trim());
  const perSecond = m === null ? Number.NaN : Number(m[1]) / (m[2]?.startsWith('m') ? 60 : 1);
  if (!(perSecond > 0 && Number.isFinite(perSecond))) {
    throw new FleetUsageError(
      `--ramp must be a rate above 0 like 1000, 1000/s or 6000/min, got "${v}"`,
    );
  }
  return perSecond;
}

function hexKey(v: string): Uint8Array {
  const hex = v.startsWith('0x') ? v.slice(2) : v;
  if (hex === '' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw new FleetUsageError(`--psk-key must be an even number of hex digits, got "${v}"`);
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

function parseOptions(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false })
      .values;
  } catch (err) {
    throw new FleetUsageError((err as Error).message);
  }
}

/** Parses the arguments after `fleet`; throws FleetUsageError. */
export function parseFleetArgs(argv: readonly string[]): FleetParseResult {
  const values = parseOptions(argv);
  if (values.help) return { help: true };
  if (values.count === undefined) throw new FleetUsageError('--count is required');
  const count = integer('count', values.count, 1);
  const server = values.server ?? DEFAULTS.server;
  let scheme: 'coap' | 'coaps';
  try {
    scheme = parseServerUri(server).scheme;
  } catch (err) {
    throw new FleetUsageError(`--server: ${(err as Error).message}`);
  }
  const lwm2m = values.lwm2m ?? DEFAULTS.lwm2m;
  if (!isLwM2mVersion(lwm2m)) {
    throw new FleetUsageError(`--lwm2m must be 1.0, 1.1 or 1.2, got "${lwm2m}"`);
  }
  const prefix = values.prefix ?? DEFAULTS.prefix;
  // The endpoint name goes into the Register's query: no separators or control characters.
  if (!/^[\x21-\x7e]*$/.test(prefix) || /[&=?/]/.test(prefix)) {
    throw new FleetUsageError(`--prefix must be printable ASCII without & = ? /, got "${prefix}"`);
  }
  const pskKey = values['psk-key'] === undefined ? undefined : hexKey(values['psk-key']);
  if (scheme === 'coaps' && pskKey === undefined) {
    throw new FleetUsageError(
      `--server ${server} is coaps://: give the devices' key with --psk-key`,
    );
  }
  if (scheme === 'coap' && (pskKey !== undefined || values['psk-identity'] !== undefined)) {
    throw new FleetUsageError('--psk-key and --psk-identity need a coaps:// server');
  }
  const pskIdentity = values['psk-identity'] ?? DEFAULTS.pskIdentity;
  if (pskIdentity === '') throw new FleetUsageError('--psk-identity must not be empty');
  let addresses: string[] | undefined;
  if (values.addresses !== undefined) {
    addresses = values.addresses
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a !== '');
    const bad = addresses.find((a) => isIP(a) === 0);
    if (addresses.length === 0 || bad !== undefined) {
      throw new FleetUsageError(
        `--addresses must be IP addresses separated by commas, got "${values.addresses}"`,
      );
    }
  }
  const duration =
    values.duration === undefined ? undefined : parseDuration('duration', values.duration);
  if (duration === 0) throw new FleetUsageError('--duration must be above 0');
  const progressInterval =
    values['progress-interval'] === undefined
      ? DEFAULTS.progressInterval
      : parseDuration('progress-interval', values['progress-interval']);
  if (progressInterval < 10) throw new FleetUsageError('--progress-interval must be at least 10ms');
  return {
    help: false,
    config: {
      count,
      server,
      ramp: values.ramp === undefined ? DEFAULTS.ramp : parseRate(values.ramp),
      concurrency:
        values.concurrency === undefined
          ? DEFAULTS.concurrency
          : integer('concurrency', values.concurrency, 1),
      lwm2m,
      lifetime:
        values.lifetime === undefined
          ? DEFAULTS.lifetime
          : integer('lifetime', values.lifetime, 1, 0xffffffff),
      prefix,
      first: values.first === undefined ? DEFAULTS.first : integer('first', values.first, 0),
      pskIdentity,
      pskKey,
      duration,
      addresses,
      sensorInterval:
        values['sensor-interval'] === undefined
          ? DEFAULTS.sensorInterval
          : parseDuration('sensor-interval', values['sensor-interval']),
      progressInterval,
    },
  };
}

// --- output ---------------------------------------------------------------------------------------

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `3.1 ms`, `12 ms`, `-`. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '-';
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '-';
  if (bytes >= 1024 * 1024) return `${Math.round(bytes / (1024 * 1024))} MB`;
  return `${(bytes / 1024).toFixed(1)} kB`;
}

/** `registered 830/1000 failed 0 p50 3.1 ms p99 12 ms heap 41 MB` (+ `retrying N` when some are). */
export function progressLine(s: FleetStats): string {
  const retrying = s.retrying > 0 ? ` retrying ${s.retrying}` : '';
  return (
    `registered ${s.registered}/${s.count} failed ${s.failed}${retrying}` +
    ` p50 ${formatMs(s.latency.p50)} p99 ${formatMs(s.latency.p99)}` +
    ` heap ${Math.round(s.heapUsed / (1024 * 1024))} MB`
  );
}

/**
 * The summary: `running` is the last snapshot before the De-registers (memory per device is
 * measured there), `final` the one after.
 */
export function summaryLines(running: FleetStats, final: FleetStats): string[] {
  const l = final.latency;
  const lines = [
    `summary: ${final.count} devices in ${(final.elapsedMs / 1000).toFixed(1)} s: ` +
      `registered ${l.samples}, failed ${final.failed}, ` +
      `never registered ${final.started - l.samples - final.failed}, ` +
      `not started ${final.count - final.started}, de-registered ${final.deregistered}`,
    `registration latency: p50 ${formatMs(l.p50)}, p95 ${formatMs(l.p95)}, ` +
      `p99 ${formatMs(l.p99)}, max ${formatMs(l.max)}`,
    `traffic: ${final.updates} Updates, ${final.reregistrations} re-registrations, ` +
      `${final.requests} requests served, ${final.sensorChanges} sensor changes`,
    `memory: heap ${formatBytes(running.heapUsed)}, ${formatBytes(running.heapPerDevice)} heap ` +
      `and ${formatBytes(running.buffersPerDevice)} buffers per device ` +
      `(${plural(running.started - running.closed, 'device')})`,
  ];
  const failures = Object.entries(final.failures);
  if (failures.length > 0) {
    lines.push(`failures: ${failures.map(([why, n]) => `${why} ×${n}`).join('; ')}`);
    if (failures.some(([why]) => why === 'EMFILE' || why === 'ENFILE')) {
      lines.push('hint: one socket per device: raise the open files limit (ulimit -n)');
    }
    if (failures.some(([why]) => why === 'EADDRINUSE' || why === 'EADDRNOTAVAIL')) {
      lines.push('hint: out of local ports: spread the devices with --addresses');
    }
  }
  return lines;
}

// --- the command ------------------------------------------------------------------------------------

export interface FleetCommandIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Where SIGINT and SIGTERM come from. Default `process`. */
  readonly signals?: {
    on(event: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
    off(event: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
  };
}

/** `lwm2m-client fleet …` (argv without `fleet`): resolves with the exit status. */
export async function runFleetCommand(
  argv: readonly string[],
  io: FleetCommandIo,
): Promise<number> {
  let config: FleetCommandConfig;
  try {
    const parsed = parseFleetArgs(argv);
    if (parsed.help) {
      io.stdout.write(FLEET_USAGE);
      return 0;
    }
    config = parsed.config;
  } catch (err) {
    if (err instanceof FleetUsageError) {
      io.stderr.write(
        `lwm2m-client fleet: ${err.message}\nRun "lwm2m-client fleet --help" for the options.\n`,
      );
      return 2;
    }
    throw err;
  }

  let fleet: Fleet;
  try {
    fleet = new Fleet({
      count: config.count,
      server: {
        uri: config.server,
        ...(config.pskKey !== undefined && {
          psk: { identity: config.pskIdentity, key: config.pskKey },
        }),
      },
      endpointPrefix: config.prefix,
      firstIndex: config.first,
      lwm2mVersion: config.lwm2m,
      lifetime: config.lifetime,
      rampPerSecond: config.ramp,
      concurrency: config.concurrency,
      ...(config.addresses !== undefined && { addresses: config.addresses }),
      sensorIntervalMs: config.sensorInterval,
      progressIntervalMs: config.progressInterval,
    });
  } catch (err) {
    io.stderr.write(`lwm2m-client fleet: ${(err as Error).message}\n`);
    return 2;
  }

  const first = fleet.endpointName(0);
  const last = fleet.endpointName(config.count - 1);
  const local = fleet.addresses.map((a) => a ?? 'any').join(', ');
  io.stdout.write(
    `fleet: ${config.count} devices ${first}${config.count > 1 ? `…${last}` : ''} → ` +
      `${config.server} at ${config.ramp}/s from ${local}` +
      `${config.duration === undefined ? '' : ` for ${config.duration / 1000} s`}\n`,
  );
  fleet.on('progress', (s) => io.stdout.write(`${progressLine(s)}\n`));

  const signals = io.signals ?? process;
  return new Promise<number>((resolve) => {
    let stopping = false;
    let durationTimer: NodeJS.Timeout | undefined;
    const cleanup = () => {
      clearTimeout(durationTimer);
      signals.off('SIGINT', onSignal);
      signals.off('SIGTERM', onSignal);
      signals.off('SIGINT', onSecondSignal);
      signals.off('SIGTERM', onSecondSignal);
    };
    const stop = (code: number, reason: string) => {
      if (stopping) return;
      stopping = true;
      clearTimeout(durationTimer);
      signals.off('SIGINT', onSignal);
      signals.off('SIGTERM', onSignal);
      signals.on('SIGINT', onSecondSignal);
      signals.on('SIGTERM', onSecondSignal);
      const running = fleet.stats();
      io.stdout.write(`${reason}: de-registering ${plural(running.registered, 'device')}\n`);
      fleet.close().then(
        (final) => {
          cleanup();
          for (const line of summaryLines(running, final)) io.stdout.write(`${line}\n`);
          resolve(code);
        },
        (err: unknown) => {
          cleanup();
          io.stderr.write(`lwm2m-client fleet: stopping failed: ${(err as Error).message}\n`);
          resolve(1);
        },
      );
    };
    const onSignal = () => stop(0, 'signal');
    const onSecondSignal = () => {
      cleanup();
      io.stderr.write('lwm2m-client fleet: second signal: exiting without waiting\n');
      resolve(1);
    };
    signals.on('SIGINT', onSignal);
    signals.on('SIGTERM', onSignal);
    if (config.duration !== undefined) {
      durationTimer = setTimeout(() => stop(0, 'duration reached'), config.duration);
    }
    fleet.start().then(
      (s) => {
        if (stopping) return;
        io.stdout.write(`ramp done: ${progressLine(s)}\n`);
        if (s.failed === s.count) stop(1, 'every device failed');
      },
      (err: unknown) => {
        io.stderr.write(`lwm2m-client fleet: ${(err as Error).message}\n`);
        stop(1, 'start failed');
      },
    );
  });
}
