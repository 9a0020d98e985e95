import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULTS,
  envName,
  formatUrl,
  type ParseInput,
  parseConfig,
  readyLine,
  type ServerConfig,
  USAGE,
} from './config.js';

function config(input: Partial<ParseInput>): ServerConfig {
  const r = parseConfig({ argv: [], env: {}, ...input });
  if (r.help) throw new Error('unexpected help');
  return r.config;
}

function error(input: Partial<ParseInput>): string {
  try {
    parseConfig({ argv: [], env: {}, ...input });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const files =
  (map: Record<string, string>) =>
  (path: string): string => {
    const text = map[path];
    if (text === undefined) throw new Error(`ENOENT: no such file '${path}'`);
    return text;
  };

describe('parseConfig', () => {
  it('defaults: CoAP on all interfaces, HTTP on loopback', () => {
    expect(config({})).toEqual(DEFAULTS);
    expect(DEFAULTS).toMatchObject({
      coapPort: 5683,
      dtlsPort: 5684,
      httpPort: 8080,
      coapAddress: '0.0.0.0',
      httpAddress: '127.0.0.1',
      noUnsecured: false,
      logLevel: 'info',
    });
  });

  it('--help and -h', () => {
    expect(parseConfig({ argv: ['--help'] })).toEqual({ help: true });
    expect(parseConfig({ argv: ['-h', '--coap-port', 'x'] })).toEqual({ help: true });
    for (const flag of ['--coap-port', '--no-unsecured', '--psk-file', '--models', '--config']) {
      expect(USAGE).toContain(flag);
    }
  });

  it('reads every flag', () => {
    const c = config({
      argv: [
        '--coap-port=1',
        '--coap-address',
        '127.0.0.2',
        '--dtls-port',
        '2',
        '--dtls-address',
        '::1',
        '--http-port',
        '0',
        '--http-address',
        '::',
        '--token',
        's3cret',
        '--psk-file',
        '/tmp/psk.json',
        '--no-unsecured',
        '--models',
        'a',
        '--models',
        'b',
        '--log-level',
        'debug',
        '--request-timeout',
        '2500',
        '--recv-buffer',
        '65536',
        '--awake-time',
        '30000',
        '--max-queued',
        '4',
        '--ack-timeout',
        '500',
        '--max-retransmit',
        '0',
        '--store-prefix',
        'p:',
        '--store-timeout',
        '700',
        '--node-id',
        'n1',
      ],
    });
    expect(c).toEqual({
      coapPort: 1,
      coapAddress: '127.0.0.2',
      dtlsPort: 2,
      dtlsAddress: '::1',
      httpPort: 0,
      httpAddress: '::',
      token: 's3cret',
      pskFile: '/tmp/psk.json',
      noCoap: false,
      noDtls: false,
      noUnsecured: true,
      models: ['a', 'b'],
      logLevel: 'debug',
      requestTimeout: 2500,
      recvBuffer: 65536,
      awakeTime: 30000,
      maxQueued: 4,
      ackTimeout: 500,
      maxRetransmit: 0,
      store: 'memory',
      storePrefix: 'p:',
      storeTimeout: 700,
      nodeId: 'n1',
    });
    expect(config({ argv: ['--no-coap'] })).toMatchObject({ noCoap: true, noDtls: false });
    expect(config({ argv: ['--no-dtls'] })).toMatchObject({ noCoap: false, noDtls: true });
  });

  it('socket buffer, queue mode and CoAP timing: defaults, environment, limits', () => {
    expect(DEFAULTS).toMatchObject({
      recvBuffer: 4194304,
      awakeTime: 93000,
      maxQueued: 16,
      ackTimeout: 2000,
      maxRetransmit: 4,
    });
    expect(
      config({ env: { LWM2M_SERVER_RECV_BUFFER: '1048576', LWM2M_SERVER_MAX_RETRANSMIT: '2' } }),
    ).toMatchObject({ recvBuffer: 1048576, maxRetransmit: 2 });
    expect(error({ argv: ['--recv-buffer', '100'] })).toBe(
      '--recv-buffer: 100 is below 1024 bytes',
    );
    expect(error({ argv: ['--recv-buffer', '4MB'] })).toMatch(
      /^--recv-buffer: "4MB" is not a whole/,
    );
    expect(error({ argv: ['--max-queued', '0'] })).toBe('--max-queued: must be at least 1');
    expect(error({ argv: ['--max-retransmit', '21'] })).toBe('--max-retransmit: 21 is above 20');
    expect(error({ argv: ['--ack-timeout', '0'] })).toMatch(/^--ack-timeout: .*not a time in ms/);
    for (const flag of ['--recv-buffer', '--awake-time', '--max-queued', '--ack-timeout']) {
      expect(USAGE).toContain(flag);
    }
  });

  it('precedence: flags > env > file > defaults', () => {
    const readFile = files({
      '/c.json': JSON.stringify({ coapPort: 1000, dtlsPort: 1001, httpPort: 1002, token: 'file' }),
    });
    const env = {
      LWM2M_SERVER_CONFIG: '/c.json',
      LWM2M_SERVER_DTLS_PORT: '2001',
      LWM2M_SERVER_HTTP_PORT: '2002',
    };
    const c = config({ argv: ['--http-port', '3002'], env, readFile });
    expect(c).toMatchObject({ coapPort: 1000, dtlsPort: 2001, httpPort: 3002, token: 'file' });
    expect(c.httpAddress).toBe('127.0.0.1'); // default where nobody said anything
    // --config beats LWM2M_SERVER_CONFIG.
    const readTwo = files({ '/a.json': '{"coapPort": 1}', '/b.json': '{"coapPort": 2}' });
    expect(
      config({
        argv: ['--config', '/b.json'],
        env: { LWM2M_SERVER_CONFIG: '/a.json' },
        readFile: readTwo,
      }).coapPort,
    ).toBe(2);
  });

  it('environment variables for every option', () => {
    expect(envName('coap-port')).toBe('LWM2M_SERVER_COAP_PORT');
    const c = config({
      env: {
        LWM2M_SERVER_COAP_ADDRESS: '127.0.0.1',
        LWM2M_SERVER_TOKEN: 't',
        LWM2M_SERVER_NO_DTLS: 'true',
        LWM2M_SERVER_NO_UNSECURED: '1',
        LWM2M_SERVER_MODELS: '/m1:/m2',
        LWM2M_SERVER_LOG_LEVEL: 'warn',
        LWM2M_SERVER_PSK_FILE: '/p.json',
        LWM2M_SERVER_REQUEST_TIMEOUT: '100',
        LWM2M_SERVER_HTTP_ADDRESS: '', // empty counts as unset
      },
    });
    expect(c).toMatchObject({
      coapAddress: '127.0.0.1',
      token: 't',
      noDtls: true,
      noUnsecured: true,
      models: ['/m1', '/m2'],
      logLevel: 'warn',
      pskFile: '/p.json',
      requestTimeout: 100,
      httpAddress: '127.0.0.1',
    });
    expect(config({ env: { LWM2M_SERVER_NO_COAP: 'false' } }).noCoap).toBe(false);
  });

  it('config file: camelCase keys, JSON types, null means default', () => {
    const readFile = files({
      '/c.json': JSON.stringify({
        noCoap: true,
        models: ['/x'],
        logLevel: 'error',
        httpPort: null,
      }),
    });
    expect(config({ argv: ['--config', '/c.json'], readFile })).toMatchObject({
      noCoap: true,
      models: ['/x'],
      logLevel: 'error',
      httpPort: 8080,
    });
  });

  it('refuses bad ports, addresses and values with a clear message', () => {
    expect(error({ argv: ['--coap-port', '70000'] })).toBe(
      '--coap-port: "70000" is not a port (0..65535)',
    );
    expect(error({ argv: ['--http-port', 'abc'] })).toMatch(/--http-port: "abc" is not a port/);
    expect(error({ argv: ['--http-port', '-1'] })).toMatch(/--http-port/);
    expect(error({ argv: ['--dtls-port', '1.5'] })).toMatch(/not a port/);
    expect(error({ env: { LWM2M_SERVER_COAP_PORT: '99999' } })).toMatch(
      /^LWM2M_SERVER_COAP_PORT: "99999" is not a port/,
    );
    expect(error({ argv: ['--coap-address', 'example.com'] })).toMatch(/not an IP address/);
    expect(error({ argv: ['--log-level', 'loud'] })).toMatch(/"loud" is not one of fatal, error/);
    expect(error({ argv: ['--request-timeout', '0'] })).toMatch(/not a time in ms/);
    expect(error({ env: { LWM2M_SERVER_NO_COAP: 'maybe' } })).toMatch(/expected true or false/);
    expect(error({ argv: ['--token', ''] })).toMatch(/--token: expected a non-empty string/);
  });

  it('refuses unknown flags, positionals and missing values', () => {
    expect(error({ argv: ['--bogus'] })).toMatch(/bogus/);
    expect(error({ argv: ['extra'] })).toMatch(/extra/);
    expect(error({ argv: ['--coap-port'] })).toMatch(/coap-port/);
    expect(error({ argv: ['--no-coap=1'] })).toMatch(/no-coap/);
  });

  it('refuses bad config files', () => {
    const readFile = files({
      '/bad.json': '{ nope',
      '/arr.json': '[]',
      '/unknown.json': '{"coapPrt": 1}',
      '/type.json': '{"coapPort": "x"}',
    });
    expect(error({ argv: ['--config', '/missing.json'], readFile })).toMatch(
      /^--config \/missing.json: ENOENT/,
    );
    expect(error({ argv: ['--config', '/bad.json'], readFile })).toMatch(/not valid JSON/);
    expect(error({ argv: ['--config', '/arr.json'], readFile })).toMatch(/JSON object/);
    expect(error({ argv: ['--config', '/unknown.json'], readFile })).toMatch(
      /unknown option "coapPrt"/,
    );
    expect(error({ argv: ['--config', '/type.json'], readFile })).toMatch(
      /"coapPort": "x" is not a port/,
    );
  });

  it('refuses contradictions', () => {
    expect(error({ argv: ['--no-coap', '--no-dtls'] })).toMatch(/no way in/);
    expect(error({ argv: ['--coap-port', '6000', '--dtls-port', '6000'] })).toMatch(
      /cannot both use UDP port 6000/,
    );
    // Port 0 twice is fine (two free ports), and so is one port on two addresses.
    expect(config({ argv: ['--coap-port', '0', '--dtls-port', '0'] }).coapPort).toBe(0);
    expect(
      config({
        argv: [
          '--coap-port=7',
          '--dtls-port=7',
          '--coap-address=127.0.0.1',
          '--dtls-address=127.0.0.2',
        ],
      }).dtlsPort,
    ).toBe(7);
  });
});

describe('readyLine', () => {
  it('lists what listens, IPv6 in brackets', () => {
    expect(
      readyLine({
        coap: { address: '0.0.0.0', port: 5683 },
        dtls: { address: '0.0.0.0', port: 5684 },
        http: { address: '127.0.0.1', port: 8080 },
      }),
    ).toBe(
      'lwm2m-server listening: coap udp://0.0.0.0:5683, coaps udp://0.0.0.0:5684, http http://127.0.0.1:8080',
    );
    expect(readyLine({ http: { address: '::1', port: 1 } })).toBe(
      'lwm2m-server listening: http http://[::1]:1',
    );
    expect(formatUrl('udp', '::', 5)).toBe('udp://[::]:5');
  });
});
