/**
 * Configuration of the `lwm2m-server` CLI: flags, `LWM2M_SERVER_*` environment variables and a
 * JSON file, merged with precedence flags > env > file > defaults. Pure (no I/O but the
 * `readFile` it is given), so every rule is unit-tested; cli.ts does the wiring.
 */
import { delimiter } from 'node:path';
import {
  readyLine as kitReadyLine,
  LISTEN_OPTION_SPECS,
  type ListenOptions,
  type LogLevel,
  OptionError,
  type OptionSpec,
  parseOptions,
  type ReadyAddresses,
  socketConflict,
  envName as variableName,
} from '@lwm2m-ts/app-kit';

export { formatUrl, LOG_LEVELS, type LogLevel } from '@lwm2m-ts/app-kit';

export interface ServerConfig extends ListenOptions {
  /** Bearer token for the REST API; undefined: open. */
  readonly token: string | undefined;
  /** JSON file of PSK entries (FileSecurityStore); undefined: in memory. */
  readonly pskFile: string | undefined;
  readonly noCoap: boolean;
  readonly noDtls: boolean;
  /** Refuse plain-CoAP registrations of endpoints without a security entry. */
  readonly noUnsecured: boolean;
  /** Directories of extra DDF files. */
  readonly models: readonly string[];
  readonly logLevel: LogLevel;
  /** Default time limit of a device-management request (ms). */
  readonly requestTimeout: number;
  /**
   * SO_RCVBUF of the CoAP and DTLS sockets (bytes). Bursts such as thousands of devices
   * registering at once overflow the system default (often 208 KB) and the kernel drops them.
   */
  readonly recvBuffer: number;
  /** How long a queue-mode device listens after it last talked to the server (ms). */
  readonly awakeTime: number;
  /** Most requests held for one sleeping queue-mode device. */
  readonly maxQueued: number;
  /** CoAP ACK_TIMEOUT (RFC 7252 §4.8), ms. */
  readonly ackTimeout: number;
  /** CoAP MAX_RETRANSMIT (RFC 7252 §4.8). */
  readonly maxRetransmit: number;
  /**
   * Where registrations, observations and security entries live: `memory` (this process only),
   * or a `redis://` / `rediss://` URL: state shared by every process on the same Redis and key
   * prefix, events relayed between them (cluster mode).
   */
  readonly store: string;
  /** Prefix of every Redis key and channel (one per deployment sharing a Redis). */
  readonly storePrefix: string;
  /** How long a Redis operation may wait (for the connection, then the reply), in ms. */
  readonly storeTimeout: number;
  /** This process's name in the cluster; undefined: `<hostname>-<pid>-<random>`. */
  readonly nodeId: string | undefined;
}

export const DEFAULTS: ServerConfig = Object.freeze({
  coapPort: 5683,
  coapAddress: '0.0.0.0',
  dtlsPort: 5684,
  dtlsAddress: '0.0.0.0',
  httpPort: 8080,
  httpAddress: '127.0.0.1',
  token: undefined,
  pskFile: undefined,
  noCoap: false,
  noDtls: false,
  noUnsecured: false,
  models: Object.freeze([]) as readonly string[],
  logLevel: 'info',
  requestTimeout: 10_000,
  recvBuffer: 4 * 1024 * 1024,
  awakeTime: 93_000,
  maxQueued: 16,
  ackTimeout: 2000,
  maxRetransmit: 4,
  store: 'memory',
  storePrefix: 'lwm2m:',
  storeTimeout: 5000,
  nodeId: undefined,
});

/** A bad flag, variable or file: the CLI prints the message and exits with status 2. */
export class ConfigError extends OptionError {}

const OPTIONS: readonly OptionSpec<keyof ServerConfig>[] = [
  ...LISTEN_OPTION_SPECS,
  { key: 'token', flag: 'token', kind: 'string' },
  { key: 'pskFile', flag: 'psk-file', kind: 'string' },
  { key: 'noCoap', flag: 'no-coap', kind: 'flag' },
  { key: 'noDtls', flag: 'no-dtls', kind: 'flag' },
  { key: 'noUnsecured', flag: 'no-unsecured', kind: 'flag' },
  { key: 'models', flag: 'models', kind: 'paths' },
  { key: 'logLevel', flag: 'log-level', kind: 'level' },
  { key: 'requestTimeout', flag: 'request-timeout', kind: 'ms' },
  { key: 'recvBuffer', flag: 'recv-buffer', kind: 'count' },
  { key: 'awakeTime', flag: 'awake-time', kind: 'ms' },
  { key: 'maxQueued', flag: 'max-queued', kind: 'count' },
  { key: 'ackTimeout', flag: 'ack-timeout', kind: 'ms' },
  { key: 'maxRetransmit', flag: 'max-retransmit', kind: 'count' },
  { key: 'store', flag: 'store', kind: 'string' },
  { key: 'storePrefix', flag: 'store-prefix', kind: 'string' },
  { key: 'storeTimeout', flag: 'store-timeout', kind: 'ms' },
  { key: 'nodeId', flag: 'node-id', kind: 'string' },
];

/** True for a `redis://` or `rediss://` URL (the `--store` of cluster mode). */
export function isRedisUrl(store: string): boolean {
  try {
    const { protocol } = new URL(store);
    return protocol === 'redis:' || protocol === 'rediss:';
  } catch {
    return false;
  }
}

function limitConflict(c: ServerConfig): string | undefined {
  if (c.recvBuffer < 1024) return `--recv-buffer: ${c.recvBuffer} is below 1024 bytes`;
  if (c.maxQueued < 1) return '--max-queued: must be at least 1';
  // Core TS / RFC 7252 §4.8: MAX_RETRANSMIT 4 by default; more than 20 makes EXCHANGE_LIFETIME
  // absurd (hours), so it is surely a typo.
  if (c.maxRetransmit > 20) return `--max-retransmit: ${c.maxRetransmit} is above 20`;
  return undefined;
}

function storeConflict(c: ServerConfig): string | undefined {
  if (c.store !== 'memory' && !isRedisUrl(c.store)) {
    return `--store: ${JSON.stringify(c.store)} is neither "memory" nor a redis:// or rediss:// URL`;
  }
  if (c.store !== 'memory' && c.pskFile !== undefined) {
    return '--psk-file and --store redis://… together: with Redis, security entries live in Redis';
  }
  return undefined;
}

/** `coap-port` → `LWM2M_SERVER_COAP_PORT`. */
export function envName(flag: string): string {
  return variableName('LWM2M_SERVER', flag);
}

export const USAGE = `Usage: lwm2m-server [options]

An LwM2M 1.0–1.2 server: CoAP and CoAP over DTLS (PSK) for devices, a REST API with live
events (SSE) and Prometheus metrics over HTTP.

Options (each also as an environment variable, e.g. LWM2M_SERVER_COAP_PORT=5683, and as a
camelCase key of the --config file, e.g. "coapPort": 5683; flags win over the environment,
which wins over the file):
  --coap-port PORT        CoAP (UDP) port (default 5683; 0 picks a free one)
  --coap-address ADDR     CoAP bind address (default 0.0.0.0: devices are remote)
  --dtls-port PORT        CoAP over DTLS port (default 5684)
  --dtls-address ADDR     DTLS bind address (default 0.0.0.0)
  --http-port PORT        REST API port (default 8080; 0 picks a free one)
  --http-address ADDR     REST API bind address (default 127.0.0.1: local only)
  --token TOKEN           require "Authorization: Bearer TOKEN" on /api/* and /metrics
  --psk-file FILE         keep security (PSK) entries in this JSON file (default: in memory)
  --no-coap               no plain CoAP socket
  --no-dtls               no DTLS socket
  --no-unsecured          refuse plain-CoAP registrations of endpoints without a security entry
  --models DIR            load extra object definitions (DDF XML) from DIR (repeatable;
                          in the environment, several directories separated by "${delimiter}")
  --log-level LEVEL       fatal, error, warn, info (default), debug, trace or silent
  --request-timeout MS    default time limit of a device request (default 10000)
  --recv-buffer BYTES     receive buffer of the CoAP and DTLS sockets (default 4194304; the
                          kernel caps it at net.core.rmem_max): rides out registration storms
  --awake-time MS         how long a queue-mode device listens after it last talked (default
                          93000); requests for a sleeping device wait in its queue
  --max-queued N          most requests queued for one sleeping device (default 16)
  --ack-timeout MS        CoAP ACK_TIMEOUT, the first retransmission wait (default 2000)
  --max-retransmit N      CoAP MAX_RETRANSMIT (default 4; 0..20)
  --store STORE           where registrations, observations and security entries live:
                          memory (default) or redis://[:password@]host:port[/db] (or
                          rediss://): shared by every lwm2m-server on that Redis, which then
                          run as one cluster (any process serves any device, events reach
                          every process's REST/SSE clients)
  --store-prefix PREFIX   prefix of the Redis keys and channels (default lwm2m:)
  --store-timeout MS      how long a Redis operation may wait before it fails with 5.03 / HTTP
                          503 (default 5000)
  --node-id NAME          this process's name in the cluster (default <hostname>-<pid>-<random>)
  --config FILE           read options from a JSON file (LWM2M_SERVER_CONFIG)
  -h, --help              show this help

Logs are JSON lines (pino) on stderr. When ready the server prints one line on stdout:
  lwm2m-server listening: coap udp://0.0.0.0:5683, coaps udp://0.0.0.0:5684, http http://127.0.0.1:8080
SIGINT or SIGTERM stops it cleanly (exit 0). Bad options exit with status 2.
`;

export type ParseResult =
  | { readonly help: true }
  | { readonly help: false; readonly config: ServerConfig };

export interface ParseInput {
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Reads the --config file (as text); throws when it cannot. */
  readonly readFile?: (path: string) => string;
}

/**
 * Parses flags, environment and config file into a validated configuration, or `{ help: true }`
 * for `--help`. Throws `ConfigError` on anything unknown or invalid.
 */
export function parseConfig(input: ParseInput): ParseResult {
  const parsed = parseOptions({
    argv: input.argv,
    env: input.env,
    specs: OPTIONS,
    defaults: DEFAULTS,
    envPrefix: 'LWM2M_SERVER',
    configFile: true,
    readFile: input.readFile,
    error: ConfigError,
    check: (c) => socketConflict(c) ?? limitConflict(c) ?? storeConflict(c),
  });
  return parsed.help ? parsed : { help: false, config: parsed.options };
}

/** The line the CLI prints on stdout when it is ready. */
export function readyLine(addresses: ReadyAddresses): string {
  return kitReadyLine('lwm2m-server', addresses);
}
