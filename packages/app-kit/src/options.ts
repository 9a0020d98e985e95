/**
 * CLI options from flags, `<PREFIX>_*` environment variables and, when the app has one, a JSON
 * `--config` file, merged with precedence flags > env > file > defaults. Pure (no I/O but the
 * `readFile` it is given), so every rule is unit-tested.
 */
import { isIP } from 'node:net';
import { delimiter } from 'node:path';
import { parseArgs } from 'node:util';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * A bad flag, variable or file. Each app throws its own subclass (its `name` says which); the
 * CLI runner prints the message and exits with status 2.
 */
export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * What an option's value is, and so how it is checked: `port` 0..65535; `address` an IP address
 * or `localhost`; `string` non-empty; `url` http(s); `flag` a boolean (also `1/0`, `yes/no`,
 * `on/off`, `true/false` from the environment); `level` a pino level; `ms` 1..3 600 000; `count` a
 * whole number 0..2 147 483 647 (sizes, limits); `paths` one or more non-empty strings (repeatable
 * flag; `path.delimiter`-separated in the environment).
 */
export type OptionKind =
  | 'port'
  | 'address'
  | 'string'
  | 'url'
  | 'flag'
  | 'level'
  | 'ms'
  | 'count'
  | 'paths';

export interface OptionSpec<K extends string = string> {
  /** Key in the options object and in the JSON file. */
  readonly key: K;
  /** The flag without `--`, e.g. `coap-port`; its variable is `<PREFIX>_COAP_PORT`. */
  readonly flag: string;
  readonly kind: OptionKind;
}

type ErrorClass = new (message: string) => Error;

function describeValue(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? 'an array' : String(v);
}

/** The value of an option of `kind`, checked; `where` (flag, variable or file key) starts errors. */
export function convertOption(
  kind: OptionKind,
  v: unknown,
  where: string,
  source: 'flag' | 'env' | 'file',
  error: ErrorClass = OptionError,
): unknown {
  switch (kind) {
    case 'port': {
      const n = typeof v === 'string' && /^\d{1,5}$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) {
        throw new error(`${where}: ${describeValue(v)} is not a port (0..65535)`);
      }
      return n;
    }
    case 'address':
      if (typeof v !== 'string' || (isIP(v) === 0 && v !== 'localhost')) {
        throw new error(
          `${where}: ${describeValue(v)} is not an IP address (e.g. 0.0.0.0, 127.0.0.1, ::)`,
        );
      }
      return v;
    case 'string':
      if (typeof v !== 'string' || v === '') {
        throw new error(`${where}: expected a non-empty string, got ${describeValue(v)}`);
      }
      return v;
    case 'url': {
      let u: URL | undefined;
      try {
        u = typeof v === 'string' ? new URL(v) : undefined;
      } catch {
        u = undefined;
      }
      if (u === undefined || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
        throw new error(`${where}: ${describeValue(v)} is not an http:// or https:// URL`);
      }
      return v;
    }
    case 'flag': {
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string') {
        const s = v.toLowerCase();
        if (['1', 'true', 'yes', 'on'].includes(s)) return true;
        if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
      }
      throw new error(`${where}: expected true or false, got ${describeValue(v)}`);
    }
    case 'level':
      if (typeof v !== 'string' || !(LOG_LEVELS as readonly string[]).includes(v)) {
        throw new error(`${where}: ${describeValue(v)} is not one of ${LOG_LEVELS.join(', ')}`);
      }
      return v;
    case 'ms': {
      const n = typeof v === 'string' && /^\d{1,10}$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 3_600_000) {
        throw new error(`${where}: ${describeValue(v)} is not a time in ms (1..3600000)`);
      }
      return n;
    }
    case 'count': {
      const n = typeof v === 'string' && /^\d{1,10}$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 2_147_483_647) {
        throw new error(`${where}: ${describeValue(v)} is not a whole number (0..2147483647)`);
      }
      return n;
    }
    case 'paths': {
      const list =
        typeof v === 'string' ? (source === 'env' ? v.split(delimiter).filter((s) => s) : [v]) : v;
      if (!Array.isArray(list) || list.some((s) => typeof s !== 'string' || s === '')) {
        throw new error(`${where}: expected a directory or a list of directories`);
      }
      return list;
    }
  }
}

/** `coap-port` → `LWM2M_SERVER_COAP_PORT` for the prefix `LWM2M_SERVER`. */
export function envName(prefix: string, flag: string): string {
  return `${prefix}_${flag.toUpperCase().replace(/-/g, '_')}`;
}

export interface ParseOptionsInput<T extends object> {
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  readonly specs: readonly OptionSpec<Extract<keyof T, string>>[];
  readonly defaults: T;
  /** Of the environment variables, e.g. `LWM2M_SERVER`. */
  readonly envPrefix: string;
  /**
   * Whether there is a `--config FILE` flag (and `<PREFIX>_CONFIG`): a JSON object with the
   * specs' keys, `null` for the default.
   */
  readonly configFile?: boolean | undefined;
  /** Reads the `--config` file (as text); throws when it cannot. */
  readonly readFile?: ((path: string) => string) | undefined;
  /** The app's `OptionError` subclass, thrown for every bad input. */
  readonly error?: ErrorClass | undefined;
  /** What is wrong with the options as a whole (e.g. `socketConflict`), or undefined. */
  readonly check?: ((options: T) => string | undefined) | undefined;
}

export type ParsedOptions<T> =
  | { readonly help: true }
  | { readonly help: false; readonly options: T };

function readConfigFile(
  path: string,
  readFile: ((path: string) => string) | undefined,
  error: ErrorClass,
): Record<string, unknown> {
  if (readFile === undefined) throw new error(`--config ${path}: cannot read files here`);
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    throw new error(`--config ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new error(`--config ${path}: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new error(`--config ${path}: expected a JSON object of options`);
  }
  return json as Record<string, unknown>;
}

/**
 * Flags (`-h`/`--help`, one per spec, `--config` with `configFile`), environment and config file
 * → frozen options, or `{ help: true }`. An empty variable counts as unset. Throws `error` on
 * anything unknown or invalid, naming the flag, variable or file key, and with `check`'s message.
 */
export function parseOptions<T extends object>(input: ParseOptionsInput<T>): ParsedOptions<T> {
  const { specs, envPrefix } = input;
  const env = input.env ?? {};
  const error = input.error ?? OptionError;
  const flags: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> =
    { help: { type: 'boolean', short: 'h' } };
  if (input.configFile) flags.config = { type: 'string' };
  for (const spec of specs) {
    flags[spec.flag] =
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
      options: flags,
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new error((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  if (values.help === true) return { help: true };

  const merged = { ...input.defaults } as Record<string, unknown>;
  // 1. file
  const configPath = input.configFile
    ? ((values.config as string | undefined) ?? env[envName(envPrefix, 'config')])
    : undefined;
  if (configPath !== undefined && configPath !== '') {
    const file = readConfigFile(configPath, input.readFile, error);
    for (const [key, value] of Object.entries(file)) {
      const spec = specs.find((o) => o.key === key);
      if (spec === undefined) {
        throw new error(
          `--config ${configPath}: unknown option "${key}" (known: ${specs.map((o) => o.key).join(', ')})`,
        );
      }
      if (value === null) continue;
      merged[key] = convertOption(
        spec.kind,
        value,
        `--config ${configPath}: "${key}"`,
        'file',
        error,
      );
    }
  }
  // 2. environment
  for (const spec of specs) {
    const name = envName(envPrefix, spec.flag);
    const value = env[name];
    // An empty variable counts as unset, as shells and container files often leave them.
    if (value === undefined || value === '') continue;
    merged[spec.key] = convertOption(spec.kind, value, name, 'env', error);
  }
  // 3. flags
  for (const spec of specs) {
    const value = values[spec.flag];
    if (value === undefined) continue;
    merged[spec.key] = convertOption(spec.kind, value, `--${spec.flag}`, 'flag', error);
  }
  const options = Object.freeze(merged) as T;
  const problem = input.check?.(options);
  if (problem !== undefined) throw new error(problem);
  return { help: false, options };
}

/** Where a server role's CLI listens: CoAP, CoAP over DTLS and the REST API. */
export interface ListenOptions {
  readonly coapPort: number;
  readonly coapAddress: string;
  readonly dtlsPort: number;
  readonly dtlsAddress: string;
  readonly httpPort: number;
  readonly httpAddress: string;
}

/** `--coap-port`, `--coap-address`, `--dtls-port`, `--dtls-address`, `--http-port`, `--http-address`. */
export const LISTEN_OPTION_SPECS: readonly OptionSpec<keyof ListenOptions>[] = Object.freeze([
  { key: 'coapPort', flag: 'coap-port', kind: 'port' },
  { key: 'coapAddress', flag: 'coap-address', kind: 'address' },
  { key: 'dtlsPort', flag: 'dtls-port', kind: 'port' },
  { key: 'dtlsAddress', flag: 'dtls-address', kind: 'address' },
  { key: 'httpPort', flag: 'http-port', kind: 'port' },
  { key: 'httpAddress', flag: 'http-address', kind: 'address' },
]);

/** The CoAP and DTLS socket options of a server role's CLI (`--no-coap`, `--no-dtls` included). */
export interface SocketOptions {
  readonly coapPort: number;
  readonly coapAddress: string;
  readonly dtlsPort: number;
  readonly dtlsAddress: string;
  readonly noCoap: boolean;
  readonly noDtls: boolean;
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/**
 * Why the CoAP and DTLS sockets cannot be opened as asked (both off, or both on one UDP port of
 * one address), or undefined when they can.
 */
export function socketConflict(o: SocketOptions): string | undefined {
  if (o.noCoap && o.noDtls) return '--no-coap and --no-dtls together leave devices no way in';
  if (
    !o.noCoap &&
    !o.noDtls &&
    o.coapPort !== 0 &&
    o.coapPort === o.dtlsPort &&
    (o.coapAddress === o.dtlsAddress || isWildcard(o.coapAddress) || isWildcard(o.dtlsAddress))
  ) {
    return `CoAP and DTLS cannot both use UDP port ${o.coapPort}`;
  }
  return undefined;
}
