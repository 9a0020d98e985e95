/**
 * Options of the `lwm2m-bootstrap` CLI: flags and `LWM2M_BOOTSTRAP_*` environment variables
 * (flags win). Pure, so every rule is unit-tested; cli.ts does the wiring.
 */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface CliOptions {
  readonly coapPort: number;
  readonly coapAddress: string;
  readonly dtlsPort: number;
  readonly dtlsAddress: string;
  readonly httpPort: number;
  readonly httpAddress: string;
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
});

/** A bad flag or variable: the CLI prints the message and exits with status 2. */
export class CliOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliOptionError';
  }
}

type Kind = 'port' | 'address' | 'string' | 'flag' | 'level' | 'ms' | 'url';

const SPECS: readonly { key: keyof CliOptions; flag: string; kind: Kind }[] = [
  { key: 'coapPort', flag: 'coap-port', kind: 'port' },
  { key: 'coapAddress', flag: 'coap-address', kind: 'address' },
  { key: 'dtlsPort', flag: 'dtls-port', kind: 'port' },
  { key: 'dtlsAddress', flag: 'dtls-address', kind: 'address' },
  { key: 'httpPort', flag: 'http-port', kind: 'port' },
  { key: 'httpAddress', flag: 'http-address', kind: 'address' },
  { key: 'configFile', flag: 'config-file', kind: 'string' },
  { key: 'defaultConfig', flag: 'default-config', kind: 'string' },
  { key: 'token', flag: 'token', kind: 'string' },
  { key: 'dmServer', flag: 'dm-server', kind: 'url' },
  { key: 'dmServerToken', flag: 'dm-server-token', kind: 'string' },
  { key: 'noCoap', flag: 'no-coap', kind: 'flag' },
  { key: 'noDtls', flag: 'no-dtls', kind: 'flag' },
  { key: 'logLevel', flag: 'log-level', kind: 'level' },
  { key: 'stepTimeout', flag: 'step-timeout', kind: 'ms' },
];

/** `coap-port` → `LWM2M_BOOTSTRAP_COAP_PORT`. */
export function envName(flag: string): string {
  return `LWM2M_BOOTSTRAP_${flag.toUpperCase().replace(/-/g, '_')}`;
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

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function convert(kind: Kind, v: unknown, where: string): unknown {
  switch (kind) {
    case 'port': {
      const n = typeof v === 'string' && /^\d{1,5}$/.test(v) ? Number(v) : Number.NaN;
      if (!(n >= 0 && n <= 65535))
        throw new CliOptionError(`${where}: ${show(v)} is not a port (0..65535)`);
      return n;
    }
    case 'address':
      if (typeof v !== 'string' || (isIP(v) === 0 && v !== 'localhost')) {
        throw new CliOptionError(
          `${where}: ${show(v)} is not an IP address (e.g. 0.0.0.0, 127.0.0.1, ::)`,
        );
      }
      return v;
    case 'string':
      if (typeof v !== 'string' || v === '') {
        throw new CliOptionError(`${where}: expected a non-empty value`);
      }
      return v;
    case 'url': {
      let u: URL | undefined;
      try {
        u = new URL(String(v));
      } catch {
        u = undefined;
      }
      if (u === undefined || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
        throw new CliOptionError(`${where}: ${show(v)} is not an http:// or https:// URL`);
      }
      return String(v);
    }
    case 'flag': {
      if (typeof v === 'boolean') return v;
      const s = String(v).toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(s)) return true;
      if (['0', 'false', 'no', 'off'].includes(s)) return false;
      throw new CliOptionError(`${where}: expected true or false, got ${show(v)}`);
    }
    case 'level':
      if (!(LOG_LEVELS as readonly unknown[]).includes(v)) {
        throw new CliOptionError(`${where}: ${show(v)} is not one of ${LOG_LEVELS.join(', ')}`);
      }
      return v;
    case 'ms': {
      const n = typeof v === 'string' && /^\d{1,7}$/.test(v) ? Number(v) : Number.NaN;
      if (!(n >= 1 && n <= 3_600_000)) {
        throw new CliOptionError(`${where}: ${show(v)} is not a time in ms (1..3600000)`);
      }
      return n;
    }
  }
}

export type ParseResult =
  | { readonly help: true }
  | { readonly help: false; readonly options: CliOptions };

/** Flags and environment → options, or `{ help: true }`; throws `CliOptionError`. */
export function parseCliOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): ParseResult {
  const spec: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const s of SPECS) spec[s.flag] = { type: s.kind === 'flag' ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: spec,
      strict: true,
      allowPositionals: false,
    }) as {
      values: Record<string, string | boolean | undefined>;
    });
  } catch (err) {
    throw new CliOptionError(
      (err as Error).message.replace(/\. To specify a positional argument.*$/s, ''),
    );
  }
  if (values.help === true) return { help: true };
  const merged: Record<string, unknown> = { ...DEFAULTS };
  for (const s of SPECS) {
    const fromEnv = env[envName(s.flag)];
    if (fromEnv !== undefined && fromEnv !== '')
      merged[s.key] = convert(s.kind, fromEnv, envName(s.flag));
    const fromFlag = values[s.flag];
    if (fromFlag !== undefined) merged[s.key] = convert(s.kind, fromFlag, `--${s.flag}`);
  }
  const options = Object.freeze(merged) as unknown as CliOptions;
  if (options.noCoap && options.noDtls) {
    throw new CliOptionError('--no-coap and --no-dtls together leave devices no way in');
  }
  if (
    !options.noCoap &&
    !options.noDtls &&
    options.coapPort !== 0 &&
    options.coapPort === options.dtlsPort
  ) {
    throw new CliOptionError(`CoAP and DTLS cannot both use UDP port ${options.coapPort}`);
  }
  return { help: false, options };
}

/** `udp://0.0.0.0:5783`, `http://[::1]:8081`. */
export function formatUrl(scheme: string, address: string, port: number): string {
  return `${scheme}://${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
}

/** The line the CLI prints on stdout when it is ready. */
export function readyLine(a: {
  coap?: { address: string; port: number } | undefined;
  dtls?: { address: string; port: number } | undefined;
  http: { address: string; port: number };
}): string {
  const parts: string[] = [];
  if (a.coap) parts.push(`coap ${formatUrl('udp', a.coap.address, a.coap.port)}`);
  if (a.dtls) parts.push(`coaps ${formatUrl('udp', a.dtls.address, a.dtls.port)}`);
  parts.push(`http ${formatUrl('http', a.http.address, a.http.port)}`);
  return `lwm2m-bootstrap listening: ${parts.join(', ')}`;
}
