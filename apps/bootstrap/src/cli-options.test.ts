import { describe, expect, it } from 'vitest';
import { CliOptionError, DEFAULTS, parseCliOptions, readyLine } from './cli-options.js';

function options(argv: string[], env: Record<string, string> = {}) {
  const r = parseCliOptions(argv, env);
  if (r.help) throw new Error('unexpected --help');
  return r.options;
}

describe('parseCliOptions', () => {
  it('has the documented defaults', () => {
    expect(options([])).toEqual(DEFAULTS);
    expect(DEFAULTS).toMatchObject({
      coapPort: 5783,
      dtlsPort: 5784,
      httpPort: 8081,
      httpAddress: '127.0.0.1',
    });
  });

  it('takes flags over the environment', () => {
    const o = options(
      [
        '--coap-port',
        '0',
        '--http-address=::1',
        '--no-dtls',
        '--config-file',
        'c.json',
        '--dm-server',
        'http://127.0.0.1:8080',
      ],
      {
        LWM2M_BOOTSTRAP_COAP_PORT: '7000',
        LWM2M_BOOTSTRAP_TOKEN: 't',
        LWM2M_BOOTSTRAP_LOG_LEVEL: 'debug',
      },
    );
    expect(o).toMatchObject({
      coapPort: 0,
      httpAddress: '::1',
      noDtls: true,
      configFile: 'c.json',
      dmServer: 'http://127.0.0.1:8080',
      token: 't',
      logLevel: 'debug',
    });
    expect(parseCliOptions(['-h'])).toEqual({ help: true });
  });

  it('refuses bad values with the flag or variable in the message', () => {
    const bad = (argv: string[], env: Record<string, string> = {}) => {
      try {
        parseCliOptions(argv, env);
      } catch (err) {
        expect(err).toBeInstanceOf(CliOptionError);
        return (err as Error).message;
      }
      throw new Error('expected a CliOptionError');
    };
    expect(bad(['--bogus'])).toMatch(/bogus/);
    expect(bad(['--http-port', '70000'])).toBe('--http-port: "70000" is not a port (0..65535)');
    expect(bad(['--coap-address', 'example.com'])).toMatch(
      /^--coap-address: .* is not an IP address/,
    );
    expect(bad(['--dm-server', 'ftp://x'])).toMatch(/^--dm-server: /);
    expect(bad(['--step-timeout', '0'])).toMatch(/^--step-timeout: /);
    expect(bad([], { LWM2M_BOOTSTRAP_LOG_LEVEL: 'chatty' })).toMatch(
      /^LWM2M_BOOTSTRAP_LOG_LEVEL: /,
    );
    expect(bad(['--no-coap', '--no-dtls'])).toMatch(/no way in/);
    expect(bad(['--coap-port', '6000', '--dtls-port', '6000'])).toMatch(
      /cannot both use UDP port 6000/,
    );
    expect(bad(['extra'])).toMatch(/extra/);
  });

  it('formats the ready line', () => {
    expect(
      readyLine({
        coap: { address: '0.0.0.0', port: 5783 },
        dtls: { address: '::', port: 5784 },
        http: { address: '127.0.0.1', port: 8081 },
      }),
    ).toBe(
      'lwm2m-bootstrap listening: coap udp://0.0.0.0:5783, coaps udp://[::]:5784, http http://127.0.0.1:8081',
    );
  });
});
