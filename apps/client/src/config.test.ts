import { describe, expect, it } from 'vitest';
import { type ClientConfig, ConfigError, envName, parseConfig, USAGE } from './config.js';

function parse(argv: string[], env: Record<string, string> = {}): ClientConfig {
  const r = parseConfig({ argv, env });
  if (r.help) throw new Error('unexpected help');
  return r.config;
}

describe('parseConfig', () => {
  it('has defaults for everything but the endpoint name', () => {
    expect(parse(['--endpoint', 'dev-1'])).toMatchObject({
      server: 'coap://127.0.0.1:5683',
      endpoint: 'dev-1',
      lwm2m: '1.1',
      lifetime: 300,
      queue: false,
      console: true,
      models: [],
      pskIdentity: undefined,
      versionFallback: false,
    });
  });

  it('reads every flag', () => {
    const c = parse([
      '--server',
      'coaps://[::1]:5684',
      '--endpoint',
      'dev-9',
      '--psk-identity',
      'id-9',
      '--psk-key',
      '0x0102ab',
      '--lwm2m',
      '1.2',
      '--lifetime',
      '60',
      '--queue',
      '--awake-time',
      '5000',
      '--models',
      '/a',
      '--models',
      '/b',
      '--no-console',
      '--local-address',
      '127.0.0.7',
      '--local-port',
      '0',
      '--version-fallback',
      '--handshake-timeout',
      '2500',
      '--state-file',
      '/var/lib/dev-9.json',
    ]);
    expect(c).toMatchObject({
      server: 'coaps://[::1]:5684',
      endpoint: 'dev-9',
      pskIdentity: 'id-9',
      lwm2m: '1.2',
      lifetime: 60,
      queue: true,
      awakeTime: 5000,
      models: ['/a', '/b'],
      console: false,
      localAddress: '127.0.0.7',
      localPort: 0,
      versionFallback: true,
      handshakeTimeout: 2500,
      stateFile: '/var/lib/dev-9.json',
    });
    expect([...c.pskKey!]).toEqual([1, 2, 0xab]);
  });

  it('takes LWM2M_CLIENT_* variables, and flags win over them', () => {
    const env = {
      LWM2M_CLIENT_ENDPOINT: 'env-dev',
      LWM2M_CLIENT_LIFETIME: '77',
      LWM2M_CLIENT_NO_CONSOLE: '1',
      LWM2M_CLIENT_MODELS: ['/x', '/y'].join(process.platform === 'win32' ? ';' : ':'),
      LWM2M_CLIENT_QUEUE: '',
    };
    const c = parse(['--lifetime', '88'], env);
    expect(c).toMatchObject({
      endpoint: 'env-dev',
      lifetime: 88,
      console: false,
      models: ['/x', '/y'],
      queue: false,
    });
    expect(envName('psk-key')).toBe('LWM2M_CLIENT_PSK_KEY');
  });

  it('returns help for -h and --help', () => {
    expect(parseConfig({ argv: ['--help'] })).toEqual({ help: true });
    // Help wins over what would be missing or wrong otherwise.
    expect(parseConfig({ argv: ['-h', '--lifetime', 'x'] })).toEqual({ help: true });
    expect(USAGE).toContain('--psk-key HEX');
  });

  it.each([
    [['--endpoint', 'd', '--bogus'], /bogus/],
    [['--endpoint', 'd', 'positional'], /positional|Unexpected argument/],
    [[], /--endpoint is required/],
    [['--endpoint', 'd', '--server', 'http://x'], /scheme must be coap or coaps/],
    [['--endpoint', 'd', '--server', 'not a uri'], /not a URI/],
    [['--endpoint', 'd', '--server', 'coap://h/rd'], /no path/],
    [['--endpoint', 'd', '--lwm2m', '2.0'], /1\.0, 1\.1 or 1\.2/],
    [['--endpoint', 'd', '--lifetime', '0'], /lifetime/],
    [['--endpoint', 'd', '--lifetime', '12x'], /lifetime/],
    [['--endpoint', 'd', '--psk-key', 'abc'], /hex/],
    [['--endpoint', 'd', '--server', 'coaps://h'], /needs --psk-identity and --psk-key/],
    [['--endpoint', 'd', '--psk-identity', 'i', '--psk-key', '01'], /need a coaps:\/\//],
    [['--endpoint', 'd', '--awake-time', '100'], /only applies with --queue/],
    [['--endpoint', 'd e'], /not an endpoint name/],
    [['--endpoint', 'd', '--local-address', 'localhostx'], /not an IP address/],
    [['--endpoint', 'd', '--local-port', '70000'], /not a port/],
    [['--endpoint', 'd', '--bootstrap', 'coaps://h:5784'], /needs --bs-psk-identity/],
    [['--endpoint', 'd', '--bs-psk-identity', 'i', '--bs-psk-key', '01'], /coaps:\/\/ bootstrap/],
    [['--endpoint', 'd', '--bootstrap-pack'], /needs --bootstrap/],
    [['--endpoint', 'd', '--bootstrap', 'coap://h:5783', '--bootstrap-pack'], /--lwm2m 1\.2/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseConfig({ argv })).toThrow(ConfigError);
    expect(() => parseConfig({ argv })).toThrow(message);
  });

  it('takes a bootstrap server instead of a server, or both', () => {
    expect(
      parse([
        '--endpoint',
        'd',
        '--bootstrap',
        'coaps://127.0.0.1:5784',
        '--bs-psk-identity',
        'bs-id',
        '--bs-psk-key',
        'a1b2',
      ]),
    ).toMatchObject({
      server: undefined,
      bootstrap: 'coaps://127.0.0.1:5784',
      bsPskIdentity: 'bs-id',
      bsPskKey: new Uint8Array([0xa1, 0xb2]),
      bootstrapPack: false,
    });
    expect(
      parse(['--endpoint', 'd', '--bootstrap', 'coap://h:5783', '--server', 'coap://dm']).server,
    ).toBe('coap://dm');
    expect(
      parse(['--endpoint', 'd', '--lwm2m', '1.2', '--bootstrap-pack'], {
        LWM2M_CLIENT_BOOTSTRAP: 'coap://h:5783',
        LWM2M_CLIENT_SERVER: 'coap://dm',
      }),
    ).toMatchObject({ server: 'coap://dm', bootstrap: 'coap://h:5783', bootstrapPack: true });
    expect(USAGE).toContain('--bootstrap URI');
  });

  it('names the variable in errors from the environment', () => {
    expect(() => parse(['--endpoint', 'd'], { LWM2M_CLIENT_LIFETIME: 'soon' })).toThrow(
      /LWM2M_CLIENT_LIFETIME/,
    );
  });
});
