/**
 * Configuration of the `lwm2m-client` CLI: flags and `LWM2M_CLIENT_*` environment variables,
 * with precedence flags > environment > defaults. Pure (no I/O), so every rule is unit-tested;
 * cli.ts does the wiring.
 */
import { isIP } from 'node:net';
import { delimiter } from 'node:path';
import { parseArgs } from 'node:util';
import { isLwM2mVersion, type LwM2mVersion } from '@lwm2m-ts/codecs';
import { parseServerUri } from './transport.js';

export interface ClientConfig {
  /**
   * `coap://host:port` or `coaps://host:port`; undefined with `--bootstrap` and no `--server`
   * (the bootstrap server provides the account).
   */
  readonly server: string | undefined;
  /** The bootstrap server, `coap://host:5783` or `coaps://host:5784`. */
  readonly bootstrap: string | undefined;
  readonly bsPskIdentity: string | undefined;
  readonly bsPskKey: Uint8Array | undefined;
  /** LwM2M 1.2 Bootstrap-Pack-Request instead of the Bootstrap-Request. */
  readonly bootstrapPack: boolean;
  /** Endpoint Client Name. */
  readonly endpoint: string;
  readonly pskIdentity: string | undefined;
  readonly pskKey: Uint8Array | undefined;
  readonly lwm2m: LwM2mVersion;
  /** Registration lifetime in seconds. */
  readonly lifetime: number;
  readonly queue: boolean;
  /** Queue mode: how long to stay reachable after the last exchange (ms). */
  readonly awakeTime: number | undefined;
  /** Time limit of a DTLS handshake (ms), retries included. */
  readonly handshakeTimeout: number | undefined;
  /** File keeping the accounts (objects 0, 1, 2) across restarts. */
  readonly stateFile: string | undefined;
  /** Directories of extra DDF files. */
  readonly models: readonly string[];
  /** The interactive console on stdin (off with --no-console). */
  readonly console: boolean;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  /** Retry Register with an older `lwm2m` version when refused with 4.00. */
  readonly versionFallback: boolean;
  /** Print debug lines (CoAP warnings) on stderr. */
  readonly verbose: boolean;
}

export const DEFAULTS = Object.freeze({
  server: 'coap://127.0.0.1:5683',
  lwm2m: '1.1' as LwM2mVersion,
  lifetime: 300,
  queue: false,
  bootstrapPack: false,
  console: true,
  versionFallback: false,
  verbose: false,
});

/** A bad flag or variable: the CLI prints the message and exits with status 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Kind =
  | 'uri'
  | 'endpoint'
  | 'string'
  | 'hex'
  | 'version'
  | 'seconds'
  | 'ms'
  | 'flag'
  | 'paths'
  | 'address'
  | 'port';

interface OptionSpec {
  readonly key: keyof ClientConfig;
  readonly flag: string;
  readonly kind: Kind;
  /** The flag is the negation of the key (`--no-console` sets console false). */
  readonly negate?: boolean;
}

const OPTIONS: readonly OptionSpec[] = [
  { key: 'server', flag: 'server', kind: 'uri' },
  { key: 'endpoint', flag: 'endpoint', kind: 'endpoint' },
  { key: 'pskIdentity', flag: 'psk-identity', kind: 'string' },
  { key: 'pskKey', flag: 'psk-key', kind: 'hex' },
  { key: 'bootstrap', flag: 'bootstrap', kind: 'uri' },
  { key: 'bsPskIdentity', flag: 'bs-psk-identity', kind: 'string' },
  { key: 'bsPskKey', flag: 'bs-psk-key', kind: 'hex' },
  { key: 'bootstrapPack', flag: 'bootstrap-pack', kind: 'flag' },
  { key: 'lwm2m', flag: 'lwm2m', kind: 'version' },
  { key: 'lifetime', flag: 'lifetime', kind: 'seconds' },
  { key: 'queue', flag: 'queue', kind: 'flag' },
  { key: 'awakeTime', flag: 'awake-time', kind: 'ms' },
  { key: 'handshakeTimeout', flag: 'handshake-timeout', kind: 'ms' },
  { key: 'stateFile', flag: 'state-file', kind: 'string' },
  { key: 'models', flag: 'models', kind: 'paths' },
  { key: 'console', flag: 'no-console', kind: 'flag', negate: true },
  { key: 'localAddress', flag: 'local-address', kind: 'address' },
  { key: 'localPort', flag: 'local-port', kind: 'port' },
  { key: 'versionFallback', flag: 'version-fallback', kind: 'flag' },
  { key: 'verbose', flag: 'verbose', kind: 'flag' },
];

/** `psk-key` → `LWM2M_CLIENT_PSK_KEY`. */
export function envName(flag: string): string {
  return `LWM2M_CLIENT_${flag.toUpperCase().replace(/-/g, '_')}`;
}

export const USAGE = `Usage: lwm2m-client [options]
       lwm2m-client <command> [options]     (lwm2m-client <command> --help)

Commands:
  fleet                   run thousands of simulated devices in this process (load tests)

An LwM2M 1.0–1.2 device: registers to a server over CoAP or CoAP over DTLS (PSK), answers its
requests from built-in objects (Device, Server, Security, Access Control, Connectivity
Monitoring, Location, Firmware Update, Temperature, Generic Sensor), and takes commands on an
interactive console.

Options (each also as an environment variable, e.g. LWM2M_CLIENT_SERVER=coap://10.0.0.1;
flags win over the environment):
  --server URI            coap://host[:port] or coaps://host[:port] (default coap://127.0.0.1:5683)
  --endpoint NAME         endpoint client name (required)
  --psk-identity ID       PSK identity for coaps://
  --psk-key HEX           PSK key for coaps://, in hex
  --bootstrap URI         bootstrap server, coap://host:5783 or coaps://host:5784: the client
                          bootstraps when it has no server account (no --server), when its
                          registration fails for good, or when a server executes /1/0/9
  --bs-psk-identity ID    PSK identity toward a coaps:// bootstrap server
  --bs-psk-key HEX        PSK key toward a coaps:// bootstrap server, in hex
  --bootstrap-pack        LwM2M 1.2: ask for the whole configuration at once (GET /bspack)
  --lwm2m VERSION         1.0, 1.1 (default) or 1.2
  --version-fallback      register again with an older version when the server refuses with 4.00
  --lifetime SECONDS      registration lifetime (default 300)
  --queue                 queue mode: stop listening after --awake-time without exchanges
  --awake-time MS         queue mode awake time (default 93000, CoAP MAX_TRANSMIT_WAIT)
  --handshake-timeout MS  time limit of a DTLS handshake, retries included (default 10000); a
                          handshake that fails is a failed Register, retried with back-off
  --state-file FILE       keep the accounts (Security, Server, Access Control) in FILE: written
                          after each bootstrap, read at start (it then wins over --server and
                          --bootstrap); the file holds keys and is written with mode 0600
  --models DIR            load extra object definitions (DDF XML) from DIR (repeatable;
                          in the environment, several directories separated by "${delimiter}")
  --local-address ADDR    bind the client's socket to this address (e.g. 127.0.0.2)
  --local-port PORT       bind the client's socket to this port (default: any free port)
  --no-console            no interactive console (also: stdin at end of file is not an exit)
  --verbose               print CoAP warnings on stderr
  -h, --help              show this help

Console commands: set PATH VALUE, get PATH, send PATH [PATH…], update, objects, register,
deregister, help, quit.

Prints one line on stdout when registered (and when bootstrapped):
  bootstrapped dev-1 from coap://127.0.0.1:5783
  registered dev-1 at coap://127.0.0.1:5683 as /rd/<id>
SIGINT or SIGTERM de-registers and exits (status 0). Bad options exit with status 2.
`;

export type ParseResult =
  | { readonly help: true }
  | { readonly help: false; readonly config: ClientConfig };

export interface ParseInput {
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string | undefined>>;
}

function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function checkFlag(v: unknown, where: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off'].includes(s)) return false;
  }
  throw new ConfigError(`${where}: expected true or false, got ${show(v)}`);
}

function checkInteger(v: unknown, where: string, min: number, max: number, what: string): number {
  const n = typeof v === 'string' && /^\d{1,10}$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${where}: ${show(v)} is not ${what} (${min}..${max})`);
  }
  return n;
}

function convert(spec: OptionSpec, v: unknown, where: string, source: 'flag' | 'env'): unknown {
  switch (spec.kind) {
    case 'uri': {
      try {
        parseServerUri(String(v));
      } catch (err) {
        throw new ConfigError(`${where}: ${(err as Error).message}`);
      }
      return String(v);
    }
    case 'endpoint': {
      const s = String(v);
      // The name goes in a Uri-Query option `ep=…` (≤ 255 bytes, RFC 7252 §5.10).
      if (s === '' || Buffer.byteLength(s) > 250 || /[\s&]/.test(s) || hasControlChar(s)) {
        throw new ConfigError(
          `${where}: ${show(v)} is not an endpoint name (1..250 bytes, no spaces, & or control characters)`,
        );
      }
      return s;
    }
    case 'string': {
      const s = String(v);
      if (s === '') throw new ConfigError(`${where}: must not be empty`);
      return s;
    }
    case 'hex': {
      const s = String(v).replace(/^0x/i, '');
      if (s === '' || s.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(s)) {
        throw new ConfigError(`${where}: ${show(v)} is not an even number of hex digits`);
      }
      return new Uint8Array(Buffer.from(s, 'hex'));
    }
    case 'version': {
      const s = String(v);
      if (!isLwM2mVersion(s)) throw new ConfigError(`${where}: ${show(v)} is not 1.0, 1.1 or 1.2`);
      return s;
    }
    case 'seconds':
      return checkInteger(v, where, 1, 0xffffffff, 'a lifetime in seconds');
    case 'ms':
      return checkInteger(v, where, 1, 86_400_000, 'a time in ms');
    case 'port':
      return checkInteger(v, where, 0, 65535, 'a port');
    case 'address': {
      const s = String(v);
      if (isIP(s) === 0) throw new ConfigError(`${where}: ${show(v)} is not an IP address`);
      return s;
    }
    case 'flag': {
      const b = checkFlag(v, where);
      return spec.negate ? !b : b;
    }
    case 'paths': {
      const list =
        typeof v === 'string'
          ? source === 'env'
            ? v.split(delimiter).filter((s) => s !== '')
            : [v]
          : (v as unknown[]);
      if (!Array.isArray(list) || list.some((s) => typeof s !== 'string' || s === '')) {
        throw new ConfigError(`${where}: expected a directory or a list of directories`);
      }
      return list;
    }
  }
}

/**
 * Parses flags and environment into a validated configuration, or `{ help: true }` for
 * `--help`. Throws `ConfigError` on anything unknown or invalid.
 */
export function parseConfig(input: ParseInput): ParseResult {
  const env = input.env ?? {};
  const parseOptions: Record<
    string,
    { type: 'string' | 'boolean'; multiple?: boolean; short?: string }
  > = { help: { type: 'boolean', short: 'h' } };
  for (const spec of OPTIONS) {
    parseOptions[spec.flag] =
      spec.kind === 'flag'
        ? { type: 'boolean' }
        : spec.kind === 'paths'
          ? { type: 'string', multiple: true }
          : { type: 'string' };
  }
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...input.argv],
      options: parseOptions,
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new ConfigError(message);
  }
  if (values.help === true) return { help: true };

  const merged: Record<string, unknown> = {
    ...DEFAULTS,
    models: [],
    pskIdentity: undefined,
    pskKey: undefined,
    bootstrap: undefined,
    bsPskIdentity: undefined,
    bsPskKey: undefined,
    awakeTime: undefined,
    handshakeTimeout: undefined,
    stateFile: undefined,
    localAddress: undefined,
    localPort: undefined,
    endpoint: undefined,
  };
  for (const spec of OPTIONS) {
    const name = envName(spec.flag);
    const value = env[name];
    // An empty variable counts as unset, as shells and container files often leave them.
    if (value === undefined || value === '') continue;
    merged[spec.key] = convert(spec, value, name, 'env');
  }
  for (const spec of OPTIONS) {
    const value = values[spec.flag];
    if (value === undefined) continue;
    merged[spec.key] = convert(spec, value, `--${spec.flag}`, 'flag');
  }

  // With a bootstrap server and no server given, the bootstrap server provides the account.
  const serverGiven = values.server !== undefined || (env[envName('server')] ?? '') !== '';
  if (merged.bootstrap !== undefined && !serverGiven) merged.server = undefined;
  const config = Object.freeze(merged) as unknown as ClientConfig;
  if (config.endpoint === undefined) {
    throw new ConfigError(`--endpoint is required (or ${envName('endpoint')})`);
  }
  const secure = config.server?.startsWith('coaps:') ?? false;
  const hasPsk = config.pskIdentity !== undefined || config.pskKey !== undefined;
  if (secure && (config.pskIdentity === undefined || config.pskKey === undefined)) {
    throw new ConfigError(`${config.server}: coaps:// needs --psk-identity and --psk-key`);
  }
  if (!secure && hasPsk) {
    throw new ConfigError(
      `--psk-identity/--psk-key need a coaps:// server (got ${config.server ?? 'none'})`,
    );
  }
  const bsSecure = config.bootstrap?.startsWith('coaps:') ?? false;
  const hasBsPsk = config.bsPskIdentity !== undefined || config.bsPskKey !== undefined;
  if (bsSecure && (config.bsPskIdentity === undefined || config.bsPskKey === undefined)) {
    throw new ConfigError(
      `${config.bootstrap}: a coaps:// bootstrap server needs --bs-psk-identity and --bs-psk-key`,
    );
  }
  if (!bsSecure && hasBsPsk) {
    throw new ConfigError(
      `--bs-psk-identity/--bs-psk-key need a coaps:// bootstrap server (got ${config.bootstrap ?? 'none'})`,
    );
  }
  if (config.bootstrapPack && config.bootstrap === undefined) {
    throw new ConfigError('--bootstrap-pack needs --bootstrap');
  }
  if (config.bootstrapPack && config.lwm2m !== '1.2') {
    throw new ConfigError('--bootstrap-pack needs --lwm2m 1.2 (Bootstrap-Pack is LwM2M 1.2)');
  }
  if (config.awakeTime !== undefined && !config.queue) {
    throw new ConfigError('--awake-time only applies with --queue');
  }
  return { help: false, config };
}
