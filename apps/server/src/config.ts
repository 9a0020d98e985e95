/**
 * Configuration of the `lwm2m-server` CLI: flags, `LWM2M_SERVER_*` environment variables and a
 * JSON file, merged with precedence flags > env > file > defaults. Pure (no I/O but the
 * `readFile` it is given), so every rule is unit-tested; cli.ts does the wiring.
 */
import { isIP } from 'node:net';
import { delimiter } from 'node:path';
import { parseArgs } from 'node:util';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServerConfig {
  readonly coapPort: number;
  readonly coapAddress: string;
  readonly dtlsPort: number;
  readonly dtlsAddress: string;
  readonly httpPort: number;
  readonly httpAddress: string;
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
});

/** A bad flag, variable or file: the CLI prints the message and exits with status 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Kind = 'port' | 'address' | 'string' | 'flag' | 'paths' | 'level' | 'ms';

interface OptionSpec {
  /** Key in ServerConfig and in the JSON file. */
  readonly key: keyof ServerConfig;
  readonly flag: string;
  readonly kind: Kind;
}

const OPTIONS: readonly OptionSpec[] = [
  { key: 'coapPort', flag: 'coap-port', kind: 'port' },
  { key: 'coapAddress', flag: 'coap-address', kind: 'address' },
  { key: 'dtlsPort', flag: 'dtls-port', kind: 'port' },
  { key: 'dtlsAddress', flag: 'dtls-address', kind: 'address' },
  { key: 'httpPort', flag: 'http-port', kind: 'port' },
  { key: 'httpAddress', flag: 'http-address', kind: 'address' },
  { key: 'token', flag: 'token', kind: 'string' },
  { key: 'pskFile', flag: 'psk-file', kind: 'string' },
  { key: 'noCoap', flag: 'no-coap', kind: 'flag' },
  { key: 'noDtls', flag: 'no-dtls', kind: 'flag' },
  { key: 'noUnsecured', flag: 'no-unsecured', kind: 'flag' },
  { key: 'models', flag: 'models', kind: 'paths' },
  { key: 'logLevel', flag: 'log-level', kind: 'level' },
  { key: 'requestTimeout', flag: 'request-timeout', kind: 'ms' },
];

/** `coap-port` → `LWM2M_SERVER_COAP_PORT`. */
export function envName(flag: string): string {
  return `LWM2M_SERVER_${flag.toUpperCase().replace(/-/g, '_')}`;
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

function describeValue(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? 'an array' : String(v);
}

function checkPort(v: unknown, where: string): number {
  const n = typeof v === 'string' && /^\d{1,5}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError(`${where}: ${describeValue(v)} is not a port (0..65535)`);
  }
  return n;
}

function checkAddress(v: unknown, where: string): string {
  if (typeof v !== 'string' || (isIP(v) === 0 && v !== 'localhost')) {
    throw new ConfigError(
      `${where}: ${describeValue(v)} is not an IP address (e.g. 0.0.0.0, 127.0.0.1, ::)`,
    );
  }
  return v;
}

function checkString(v: unknown, where: string): string {
  if (typeof v !== 'string' || v === '') {
    throw new ConfigError(`${where}: expected a non-empty string, got ${describeValue(v)}`);
  }
  return v;
}

function checkFlag(v: unknown, where: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
  }
  throw new ConfigError(`${where}: expected true or false, got ${describeValue(v)}`);
}

function checkLevel(v: unknown, where: string): LogLevel {
  if (typeof v !== 'string' || !(LOG_LEVELS as readonly string[]).includes(v)) {
    throw new ConfigError(`${where}: ${describeValue(v)} is not one of ${LOG_LEVELS.join(', ')}`);
  }
  return v as LogLevel;
}

function checkMs(v: unknown, where: string): number {
  const n = typeof v === 'string' && /^\d{1,10}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 3_600_000) {
    throw new ConfigError(`${where}: ${describeValue(v)} is not a time in ms (1..3600000)`);
  }
  return n;
}

function checkPaths(v: unknown, where: string, separator?: string): string[] {
  const list =
    typeof v === 'string'
      ? separator === undefined
        ? [v]
        : v.split(separator).filter((s) => s !== '')
      : v;
  if (!Array.isArray(list) || list.some((s) => typeof s !== 'string' || s === '')) {
    throw new ConfigError(`${where}: expected a directory or a list of directories`);
  }
  return list as string[];
}

function convert(spec: OptionSpec, v: unknown, where: string, source: 'flag' | 'env' | 'file') {
  switch (spec.kind) {
    case 'port':
      return checkPort(v, where);
    case 'address':
      return checkAddress(v, where);
    case 'string':
      return checkString(v, where);
    case 'flag':
      return checkFlag(v, where);
    case 'level':
      return checkLevel(v, where);
    case 'ms':
      return checkMs(v, where);
    case 'paths':
      return checkPaths(v, where, source === 'env' ? delimiter : undefined);
  }
}

function readConfigFile(path: string, readFile: ((path: string) => string) | undefined) {
  if (readFile === undefined) throw new ConfigError(`--config ${path}: cannot read files here`);
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    throw new ConfigError(`--config ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`--config ${path}: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(`--config ${path}: expected a JSON object of options`);
  }
  return json as Record<string, unknown>;
}

/**
 * Parses flags, environment and config file into a validated configuration, or `{ help: true }`
 * for `--help`. Throws `ConfigError` on anything unknown or invalid.
 */
export function parseConfig(input: ParseInput): ParseResult {
  const env = input.env ?? {};
  const parseOptions: Record<
    string,
    { type: 'string' | 'boolean'; multiple?: boolean; short?: string }
  > = {
    help: { type: 'boolean', short: 'h' },
    config: { type: 'string' },
  };
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

  const merged: Record<string, unknown> = { ...DEFAULTS };

  // 1. file
  const configPath = (values.config as string | undefined) ?? env.LWM2M_SERVER_CONFIG;
  if (configPath !== undefined && configPath !== '') {
    const file = readConfigFile(configPath, input.readFile);
    for (const [key, value] of Object.entries(file)) {
      const spec = OPTIONS.find((o) => o.key === key);
      if (spec === undefined) {
        throw new ConfigError(
          `--config ${configPath}: unknown option "${key}" (known: ${OPTIONS.map((o) => o.key).join(', ')})`,
        );
      }
      if (value === null) continue;
      merged[spec.key] = convert(spec, value, `--config ${configPath}: "${key}"`, 'file');
    }
  }
  // 2. environment
  for (const spec of OPTIONS) {
    const name = envName(spec.flag);
    const value = env[name];
    // An empty variable counts as unset, as shells and container files often leave them.
    if (value === undefined || value === '') continue;
    merged[spec.key] = convert(spec, value, name, 'env');
  }
  // 3. flags
  for (const spec of OPTIONS) {
    const value = values[spec.flag];
    if (value === undefined) continue;
    merged[spec.key] = convert(spec, value, `--${spec.flag}`, 'flag');
  }

  const config = Object.freeze(merged) as unknown as ServerConfig;
  if (config.noCoap && config.noDtls) {
    throw new ConfigError('--no-coap and --no-dtls together leave devices no way in');
  }
  if (
    !config.noCoap &&
    !config.noDtls &&
    config.coapPort !== 0 &&
    config.coapPort === config.dtlsPort &&
    (config.coapAddress === config.dtlsAddress ||
      isWildcard(config.coapAddress) ||
      isWildcard(config.dtlsAddress))
  ) {
    throw new ConfigError(`CoAP and DTLS cannot both use UDP port ${config.coapPort}`);
  }
  return { help: false, config };
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** `udp://0.0.0.0:5683`, `http://[::1]:8080`. */
export function formatUrl(scheme: string, address: string, port: number): string {
  return `${scheme}://${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
}

/** The line the CLI prints on stdout when it is ready. */
export function readyLine(addresses: {
  coap?: { address: string; port: number } | undefined;
  dtls?: { address: string; port: number } | undefined;
  http: { address: string; port: number };
}): string {
  const parts: string[] = [];
  if (addresses.coap)
    parts.push(`coap ${formatUrl('udp', addresses.coap.address, addresses.coap.port)}`);
  if (addresses.dtls)
    parts.push(`coaps ${formatUrl('udp', addresses.dtls.address, addresses.dtls.port)}`);
  parts.push(`http ${formatUrl('http', addresses.http.address, addresses.http.port)}`);
  return `lwm2m-server listening: ${parts.join(', ')}`;
}
