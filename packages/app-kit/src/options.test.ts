import { delimiter } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  convertOption,
  envName,
  LISTEN_OPTION_SPECS,
  type ListenOptions,
  OptionError,
  type OptionSpec,
  type ParseOptionsInput,
  parseOptions,
  socketConflict,
} from './options.js';

interface Opts {
  readonly coapPort: number;
  readonly httpAddress: string;
  readonly token: string | undefined;
  readonly dmServer: string | undefined;
  readonly noDtls: boolean;
  readonly logLevel: string;
  readonly timeout: number;
  readonly limit: number;
  readonly models: readonly string[];
}

const DEFAULTS: Opts = {
  coapPort: 5683,
  httpAddress: '127.0.0.1',
  token: undefined,
  dmServer: undefined,
  noDtls: false,
  logLevel: 'info',
  timeout: 10_000,
  limit: 16,
  models: [],
};

const SPECS: readonly OptionSpec<keyof Opts>[] = [
  { key: 'coapPort', flag: 'coap-port', kind: 'port' },
  { key: 'httpAddress', flag: 'http-address', kind: 'address' },
  { key: 'token', flag: 'token', kind: 'string' },
  { key: 'dmServer', flag: 'dm-server', kind: 'url' },
  { key: 'noDtls', flag: 'no-dtls', kind: 'flag' },
  { key: 'logLevel', flag: 'log-level', kind: 'level' },
  { key: 'timeout', flag: 'timeout', kind: 'ms' },
  { key: 'limit', flag: 'limit', kind: 'count' },
  { key: 'models', flag: 'models', kind: 'paths' },
];

class AppOptionError extends OptionError {}

type Input = Partial<ParseOptionsInput<Opts>>;

function parse(input: Input) {
  return parseOptions<Opts>({
    argv: [],
    specs: SPECS,
    defaults: DEFAULTS,
    envPrefix: 'APP',
    configFile: true,
    error: AppOptionError,
    ...input,
  });
}

function options(input: Input): Opts {
  const r = parse(input);
  if (r.help) throw new Error('unexpected help');
  return r.options;
}

function error(input: Input): string {
  try {
    parse(input);
  } catch (err) {
    expect(err).toBeInstanceOf(AppOptionError);
    expect((err as Error).name).toBe('AppOptionError');
    return (err as Error).message;
  }
  throw new Error('expected an AppOptionError');
}

const files =
  (map: Record<string, string>) =>
  (path: string): string => {
    const text = map[path];
    if (text === undefined) throw new Error(`ENOENT: no such file '${path}'`);
    return text;
  };

describe('parseOptions', () => {
  it('defaults, frozen; -h and --help win over anything', () => {
    const o = options({});
    expect(o).toEqual(DEFAULTS);
    expect(Object.isFrozen(o)).toBe(true);
    expect(parse({ argv: ['-h', '--coap-port', 'x'] })).toEqual({ help: true });
    expect(parse({ argv: ['--help'] })).toEqual({ help: true });
  });

  it('reads every kind from flags', () => {
    expect(
      options({
        argv: [
          '--coap-port=0',
          '--http-address',
          '::1',
          '--token',
          't',
          '--dm-server',
          'https://dm.example/x',
          '--no-dtls',
          '--log-level',
          'debug',
          '--timeout',
          '2500',
          '--limit',
          '0',
          '--models',
          'a',
          '--models',
          'b',
        ],
      }),
    ).toEqual({
      coapPort: 0,
      httpAddress: '::1',
      token: 't',
      dmServer: 'https://dm.example/x',
      noDtls: true,
      logLevel: 'debug',
      timeout: 2500,
      limit: 0,
      models: ['a', 'b'],
    });
  });

  it('precedence: flags > env > file > defaults; --config beats <PREFIX>_CONFIG', () => {
    const readFile = files({
      '/c.json': JSON.stringify({ coapPort: 1000, timeout: 1001, token: 'file', models: ['/x'] }),
      '/b.json': '{"coapPort": 2}',
    });
    const env = { APP_CONFIG: '/c.json', APP_TIMEOUT: '2001', APP_TOKEN: 'env' };
    expect(options({ argv: ['--token', 'flag'], env, readFile })).toMatchObject({
      coapPort: 1000,
      timeout: 2001,
      token: 'flag',
      models: ['/x'],
      httpAddress: '127.0.0.1',
    });
    expect(options({ argv: ['--config', '/b.json'], env, readFile }).coapPort).toBe(2);
  });

  it('environment: every option, empty means unset, paths split on the delimiter', () => {
    expect(envName('APP', 'no-dtls')).toBe('APP_NO_DTLS');
    const o = options({
      env: {
        APP_NO_DTLS: 'yes',
        APP_MODELS: `/m1${delimiter}${delimiter}/m2`,
        APP_HTTP_ADDRESS: '',
        APP_LOG_LEVEL: 'warn',
      },
    });
    expect(o).toMatchObject({
      noDtls: true,
      models: ['/m1', '/m2'],
      httpAddress: '127.0.0.1',
      logLevel: 'warn',
    });
    expect(options({ env: { APP_NO_DTLS: 'off' } }).noDtls).toBe(false);
  });

  it('config file: JSON types, null means default; no --config without configFile', () => {
    const readFile = files({ '/c.json': '{"noDtls": true, "coapPort": null, "timeout": 5}' });
    expect(options({ argv: ['--config', '/c.json'], readFile })).toMatchObject({
      noDtls: true,
      coapPort: 5683,
      timeout: 5,
    });
    expect(error({ argv: ['--config', '/c.json'], readFile, configFile: false })).toMatch(/config/);
    // Without a --config flag, <PREFIX>_CONFIG means nothing.
    expect(options({ env: { APP_CONFIG: '/c.json' }, readFile, configFile: false })).toEqual(
      DEFAULTS,
    );
  });

  it('refuses bad values naming the flag, variable or file key', () => {
    expect(error({ argv: ['--coap-port', '70000'] })).toBe(
      '--coap-port: "70000" is not a port (0..65535)',
    );
    expect(error({ argv: ['--coap-port', '1.5'] })).toMatch(/not a port/);
    expect(error({ env: { APP_COAP_PORT: '-1' } })).toMatch(/^APP_COAP_PORT: "-1" is not a port/);
    expect(error({ argv: ['--http-address', 'example.com'] })).toMatch(
      /^--http-address: "example.com" is not an IP address/,
    );
    expect(error({ argv: ['--token', ''] })).toBe('--token: expected a non-empty string, got ""');
    expect(error({ argv: ['--dm-server', 'ftp://x'] })).toBe(
      '--dm-server: "ftp://x" is not an http:// or https:// URL',
    );
    expect(error({ argv: ['--dm-server', 'no url'] })).toMatch(/^--dm-server: /);
    expect(error({ env: { APP_NO_DTLS: 'maybe' } })).toMatch(/expected true or false/);
    expect(error({ argv: ['--log-level', 'loud'] })).toMatch(/"loud" is not one of fatal, error/);
    expect(error({ argv: ['--timeout', '0'] })).toMatch(/not a time in ms \(1\.\.3600000\)/);
    expect(error({ argv: ['--timeout', '3600001'] })).toMatch(/not a time in ms/);
    expect(error({ argv: ['--limit=-1'] })).toMatch(/not a whole number \(0\.\.2147483647\)/);
    expect(error({ argv: ['--limit', '2147483648'] })).toMatch(/not a whole number/);
    expect(error({ env: { APP_LIMIT: '1e3' } })).toMatch(/^APP_LIMIT: "1e3" is not a whole number/);
    expect(parse({ env: { APP_LIMIT: '4194304' } })).toMatchObject({ options: { limit: 4194304 } });
  });

  it('refuses unknown flags, positionals, missing values and bad files', () => {
    expect(error({ argv: ['--bogus'] })).toMatch(/bogus/);
    expect(error({ argv: ['extra'] })).toMatch(/extra/);
    expect(error({ argv: ['extra'] })).not.toMatch(/To specify a positional argument/);
    expect(error({ argv: ['--coap-port'] })).toMatch(/coap-port/);
    expect(error({ argv: ['--no-dtls=1'] })).toMatch(/no-dtls/);
    const readFile = files({
      '/bad.json': '{ nope',
      '/arr.json': '[]',
      '/unknown.json': '{"coapPrt": 1}',
      '/type.json': '{"coapPort": "x"}',
      '/paths.json': '{"models": "one"}',
    });
    expect(error({ argv: ['--config', '/missing.json'], readFile })).toMatch(
      /^--config \/missing.json: ENOENT/,
    );
    expect(error({ argv: ['--config', '/bad.json'], readFile })).toMatch(/not valid JSON/);
    expect(error({ argv: ['--config', '/arr.json'], readFile })).toMatch(/JSON object/);
    expect(error({ argv: ['--config', '/unknown.json'], readFile })).toMatch(
      /unknown option "coapPrt" \(known: coapPort, /,
    );
    expect(error({ argv: ['--config', '/type.json'], readFile })).toMatch(
      /"coapPort": "x" is not a port/,
    );
    expect(options({ argv: ['--config', '/paths.json'], readFile }).models).toEqual(['one']);
    expect(error({ argv: ['--config', '/c.json'] })).toMatch(/cannot read files here/);
  });

  it('throws OptionError when no class is given', () => {
    expect(() => convertOption('port', 'x', '--p', 'flag')).toThrow(OptionError);
    expect(convertOption('port', 7, 'file', 'file')).toBe(7);
    expect(convertOption('flag', '', 'v', 'env')).toBe(false);
  });
});

describe('LISTEN_OPTION_SPECS', () => {
  it('are the port and address flags of the three listeners', () => {
    const defaults: ListenOptions = {
      coapPort: 5683,
      coapAddress: '0.0.0.0',
      dtlsPort: 5684,
      dtlsAddress: '0.0.0.0',
      httpPort: 8080,
      httpAddress: '127.0.0.1',
    };
    const r = parseOptions({
      argv: ['--http-port', '0', '--dtls-address', '::1'],
      env: { X_COAP_ADDRESS: '127.0.0.1' },
      specs: LISTEN_OPTION_SPECS,
      defaults,
      envPrefix: 'X',
    });
    expect(r).toEqual({
      help: false,
      options: { ...defaults, httpPort: 0, dtlsAddress: '::1', coapAddress: '127.0.0.1' },
    });
    expect(() =>
      parseOptions({
        argv: ['--coap-port', 'x'],
        specs: LISTEN_OPTION_SPECS,
        defaults,
        envPrefix: 'X',
      }),
    ).toThrow(OptionError);
  });
});

describe('check', () => {
  it('refuses options that do not go together, with the app error', () => {
    const message = error({
      argv: ['--no-dtls', '--coap-port', '1'],
      check: (o) => (o.noDtls && o.coapPort < 1024 ? 'a low port without DTLS' : undefined),
    });
    expect(message).toBe('a low port without DTLS');
    expect(options({ argv: ['--no-dtls'], check: () => undefined }).noDtls).toBe(true);
  });
});

describe('socketConflict', () => {
  const base = {
    coapPort: 5683,
    coapAddress: '0.0.0.0',
    dtlsPort: 5684,
    dtlsAddress: '0.0.0.0',
    noCoap: false,
    noDtls: false,
  };

  it('both sockets off, or one port of one address twice', () => {
    expect(socketConflict(base)).toBeUndefined();
    expect(socketConflict({ ...base, noCoap: true, noDtls: true })).toMatch(/no way in/);
    expect(socketConflict({ ...base, dtlsPort: 5683 })).toBe(
      'CoAP and DTLS cannot both use UDP port 5683',
    );
    expect(
      socketConflict({ ...base, dtlsPort: 5683, coapAddress: '127.0.0.1', dtlsAddress: '::' }),
    ).toMatch(/cannot both use/);
  });

  it('port 0 twice, one port on two addresses, or one socket off are fine', () => {
    expect(socketConflict({ ...base, coapPort: 0, dtlsPort: 0 })).toBeUndefined();
    expect(
      socketConflict({
        ...base,
        dtlsPort: 5683,
        coapAddress: '127.0.0.1',
        dtlsAddress: '127.0.0.2',
      }),
    ).toBeUndefined();
    expect(socketConflict({ ...base, dtlsPort: 5683, noDtls: true })).toBeUndefined();
  });
});
