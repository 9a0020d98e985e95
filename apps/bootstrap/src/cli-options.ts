/**
 * Options of the `lwm2m-bootstrap` CLI: flags and `LWM2M_BOOTSTRAP_*` environment variables
 * (flags win). Pure, so every rule is unit-tested; cli.ts does the wiring.
 */
import {
  readyLine as kitReadyLine,
  LISTEN_OPTION_SPECS,
  type ListenOptions,
  type LogLevel,
  OptionError,
  type OptionSpec,
  type ParsedOptions,
  parseOptions,
  type ReadyAddresses,
  socketConflict,
  envName as variableName,
} from '@lwm2m-ts/app-kit';

export { formatUrl, LOG_LEVELS, type LogLevel } from '@lwm2m-ts/app-kit';

export interface CliOptions extends ListenOptions {
  /** Bootstrap configurations in this JSON file; undefined: in memory. */
  readonly configFile: string | undefined;
  /** A JSON file with the configuration for endpoints that have none. */
  readonly defaultConfig: string | undefined;
  readonly token: string | undefined;
  /** REST API of an `lwm2m-server` to hand PSKs to. */
  readonly dmServer: string | undefined;
  readonly dmServerToken: string | undefined;
  readonly noCoap: boolean;
  readonly noDtls: boolean;
  readonly logLevel: LogLevel;
  readonly stepTimeout: number;
  /**
   * Where bootstrap configurations live: `memory` (or the `--config-file`), or a `redis://` /
   * `rediss://` URL shared by every bootstrap server process on it.
   */
  readonly store: string;
  /** Prefix of every Redis key. */
  readonly storePrefix: string;
  /** How long a Redis operation may wait (for the connection, then the reply), in ms. */
  readonly storeTimeout: number;
}

export const DEFAULTS: CliOptions = Object.freeze({
  coapPort: 5783,
  coapAddress: '0.0.0.0',
  dtlsPort: 5784,
  dtlsAddress: '0.0.0.0',
  httpPort: 8081,
  httpAddress: '127.0.0.1',
  configFile: undefined,
  defaultConfig: undefined,
  token: undefined,
  dmServer: undefined,
  dmServerToken: undefined,
  noCoap: false,
  noDtls: false,
  logLevel: 'info',
  stepTimeout: 10_000,
  store: 'memory',
  storePrefix: 'lwm2m:',
  storeTimeout: 5000,
});

/** A bad flag or variable: the CLI prints the message and exits with status 2. */
export class CliOptionError extends OptionError {}

const SPECS: readonly OptionSpec<keyof CliOptions>[] = [
  ...LISTEN_OPTION_SPECS,
  { key: 'configFile', flag: 'config-file', kind: 'string' },
  { key: 'defaultConfig', flag: 'default-config', kind: 'string' },
  { key: 'token', flag: 'token', kind: 'string' },
  { key: 'dmServer', flag: 'dm-server', kind: 'url' },
  { key: 'dmServerToken', flag: 'dm-server-token', kind: 'string' },
  { key: 'noCoap', flag: 'no-coap', kind: 'flag' },
  { key: 'noDtls', flag: 'no-dtls', kind: 'flag' },
  { key: 'logLevel', flag: 'log-level', kind: 'level' },
  { key: 'stepTimeout', flag: 'step-timeout', kind: 'ms' },
  { key: 'store', flag: 'store', kind: 'string' },
  { key: 'storePrefix', flag: 'store-prefix', kind: 'string' },
  { key: 'storeTimeout', flag: 'store-timeout', kind: 'ms' },
];

/** True for a `redis://` or `rediss://` URL. */
export function isRedisUrl(store: string): boolean {
  try {
    const { protocol } = new URL(store);
    return protocol === 'redis:' || protocol === 'rediss:';
  } catch {
    return false;
  }
}

function storeConflict(o: CliOptions): string | undefined {
  if (o.store !== 'memory' && !isRedisUrl(o.store)) {
    return `--store: ${JSON.stringify(o.store)} is neither "memory" nor a redis:// or rediss:// URL`;
  }
  if (o.store !== 'memory' && o.configFile !== undefined) {
    return '--config-file and --store redis://… together: with Redis, configurations live in Redis';
  }
  return undefined;
}

/** `coap-port` → `LWM2M_BOOTSTRAP_COAP_PORT`. */
export function envName(flag: string): string {
  return variableName('LWM2M_BOOTSTRAP', flag);
}

export const USAGE = `Usage: lwm2m-bootstrap [options]

An LwM2M 1.0–1.2 bootstrap server: devices send a Bootstrap-Request (or a 1.2
Bootstrap-Pack-Request) over CoAP or CoAP over DTLS (PSK) and get the server accounts, ACLs and
other values of their configuration; configurations are managed through a REST API with live
events (SSE) and Prometheus metrics.

Options (each also as an environment variable, e.g. LWM2M_BOOTSTRAP_COAP_PORT=5783; flags win):
  --coap-port PORT        CoAP (UDP) port (default 5783; 0 picks a free one)
  --coap-address ADDR     CoAP bind address (default 0.0.0.0: devices are remote)
  --dtls-port PORT        CoAP over DTLS port (default 5784)
  --dtls-address ADDR     DTLS bind address (default 0.0.0.0)
  --http-port PORT        REST API port (default 8081; 0 picks a free one)
  --http-address ADDR     REST API bind address (default 127.0.0.1: local only)
  --config-file FILE      keep bootstrap configurations in this JSON file (default: in memory)
  --store STORE           memory (default) or redis://[:password@]host:port[/db] (or rediss://):
                          keep the configurations in Redis, shared by every lwm2m-bootstrap on it
  --store-prefix PREFIX   prefix of the Redis keys (default lwm2m:)
  --store-timeout MS      how long a Redis operation may wait before it fails with 5.03 / HTTP
                          503 (default 5000)
  --default-config FILE   JSON configuration for endpoints without one (default: they get 4.00)
  --token TOKEN           require "Authorization: Bearer TOKEN" on /api/* and /metrics
  --dm-server URL         REST API of an lwm2m-server: each PSK account a device is given is
                          PUT to URL/api/security/clients/<endpoint> before Bootstrap-Finish
  --dm-server-token TOKEN bearer token of that API
  --no-coap               no plain CoAP socket
  --no-dtls               no DTLS socket
  --step-timeout MS       time limit of each request to a device (default 10000)
  --log-level LEVEL       fatal, error, warn, info (default), debug, trace or silent
  -h, --help              show this help

Logs are JSON lines (pino) on stderr. When ready it prints one line on stdout:
  lwm2m-bootstrap listening: coap udp://0.0.0.0:5783, coaps udp://0.0.0.0:5784, http http://127.0.0.1:8081
SIGINT or SIGTERM stops it cleanly (exit 0). Bad options exit with status 2.
`;

export type ParseResult = ParsedOptions<CliOptions>;

/** Flags and environment → options, or `{ help: true }`; throws `CliOptionError`. */
export function parseCliOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): ParseResult {
  return parseOptions({
    argv,
    env,
    specs: SPECS,
    defaults: DEFAULTS,
    envPrefix: 'LWM2M_BOOTSTRAP',
    error: CliOptionError,
    check: (o) => socketConflict(o) ?? storeConflict(o),
  });
}

/** The line the CLI prints on stdout when it is ready. */
export function readyLine(addresses: ReadyAddresses): string {
  return kitReadyLine('lwm2m-bootstrap', addresses);
}
