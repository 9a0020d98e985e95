/**
 * The `lwm2m-client` CLI as a real process, against a raw CoAP server in the test. It runs from
 * source through the tsx loader (as apps/server's CLI test does), so the test never runs a stale
 * `dist/`; the bin launcher only imports `dist/cli.js`, which is this file compiled.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeValues } from '@lwm2m-ts/codecs';
import { ContentFormat } from '@lwm2m-ts/core';
import { type ProcessHandle, runProcess, startProcess, stopAll } from '@lwm2m-ts/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeBootstrapServer, provision } from './test-bootstrap-server.js';
import { queryOf, TestServer } from './test-server.js';

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const ARGS = ['--import', 'tsx', 'src/cli.ts'];
const REGISTERED = /registered (\S+) at (\S+) as (\/rd\/\d+)\n/;

const servers: TestServer[] = [];
afterEach(async () => {
  await stopAll();
  for (const s of servers.splice(0)) await s.close();
});

async function server() {
  const s = await TestServer.start();
  servers.push(s);
  return s;
}

function run(args: string[], env: Record<string, string> = {}) {
  return runProcess(process.execPath, [...ARGS, ...args], {
    cwd: PACKAGE_DIR,
    env,
    timeoutMs: 20_000,
  });
}

async function start(
  args: string[],
  options: { stdin?: 'pipe' | 'ignore'; env?: Record<string, string> } = {},
) {
  return startProcess(process.execPath, [...ARGS, '--local-address', '127.0.0.1', ...args], {
    cwd: PACKAGE_DIR,
    env: options.env ?? {},
    stdin: options.stdin ?? 'ignore',
    readyWhen: REGISTERED,
    readyTimeoutMs: 20_000,
  });
}

async function exitsWithin(proc: ProcessHandle, ms: number) {
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms));
  return Promise.race([proc.exited, timer]);
}

describe('lwm2m-client CLI', () => {
  it('--help prints the usage and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: lwm2m-client');
    expect(r.stdout).toContain('--psk-identity');
  });

  it.each([
    [['--endpoint', 'd', '--bogus'], /Unknown option '--bogus'/],
    [['--endpoint', 'd', '--server', 'http://127.0.0.1'], /scheme must be coap or coaps/],
    [['--server', 'coap://127.0.0.1:1'], /--endpoint is required/],
    [['--endpoint', 'd', '--lwm2m', '3'], /1\.0, 1\.1 or 1\.2/],
  ])('exits 2 on %j', async (args, message) => {
    const r = await run(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('--help');
  });

  it('--bootstrap without --server: bootstraps, then registers with the account it got', async () => {
    const s = await server();
    const bs = await FakeBootstrapServer.start();
    bs.script = provision(s, 101, 45);
    try {
      const proc = await start(['--bootstrap', bs.uri, '--endpoint', 'cli-bs-1', '--no-console']);
      expect(proc.stdout()).toContain(`bootstrapped cli-bs-1 from ${bs.uri}\n`);
      expect(REGISTERED.exec(proc.stdout())![0]).toBe(`registered cli-bs-1 at ${s.uri} as /rd/1\n`);
      expect(bs.bootstrapRequests()[0]!.query).toEqual(['ep=cli-bs-1']);
      expect(queryOf(s.registers()[0]!).get('lt')).toBe('45');
      proc.proc.kill('SIGTERM');
      expect(await exitsWithin(proc, 10_000), proc.output()).toEqual({ code: 0, signal: null });
    } finally {
      await bs.close();
    }
  });

  it('registers, takes set and send on stdin, de-registers on SIGTERM and exits 0', async () => {
    const s = await server();
    const proc = await start(['--server', s.uri, '--endpoint', 'cli-dev-1', '--lifetime', '60'], {
      stdin: 'pipe',
    });
    const line = REGISTERED.exec(proc.stdout())!;
    expect(line[0]).toBe(`registered cli-dev-1 at ${s.uri} as /rd/1\n`);
    expect(Object.fromEntries(queryOf(s.registers()[0]!))).toMatchObject({
      ep: 'cli-dev-1',
      lt: '60',
      lwm2m: '1.1',
    });

    proc.proc.stdin!.write('set /3303/0/5700 21.5\nsend /3303/0/5700\n');
    await proc.waitForOutput(/sent 1 value\(s\) \(2\.04\)/, 10_000);
    expect(proc.stdout()).toContain('/3303/0/5700 = 21.5');
    const [dp] = s.filter('POST', 'dp');
    const values = decodeValues(ContentFormat.SENML_CBOR, dp!.payload, {});
    expect(values.map((v) => [`${v.path}`, v.value.value])).toEqual([['/3303/0/5700', 21.5]]);

    proc.proc.kill('SIGTERM');
    const exit = await exitsWithin(proc, 10_000);
    expect(exit, proc.output()).toEqual({ code: 0, signal: null });
    expect(s.filter('DELETE', 'rd').map((r) => r.path)).toEqual([['rd', '1']]);
    expect(proc.stdout()).toContain('deregistered cli-dev-1 (/rd/1)');
  });

  it('keeps running with stdin at end of file, and with --no-console; SIGINT exits 0', async () => {
    const s = await server();
    // stdin is /dev/null: the console reads end of file at once.
    const headless = await start(['--server', s.uri, '--endpoint', 'cli-dev-2']);
    const quiet = await start([], {
      env: {
        LWM2M_CLIENT_SERVER: s.uri,
        LWM2M_CLIENT_ENDPOINT: 'cli-dev-3',
        LWM2M_CLIENT_NO_CONSOLE: 'true',
      },
    });
    // Both are still there and serve the server.
    await new Promise((r) => setTimeout(r, 500));
    expect(headless.running).toBe(true);
    expect(quiet.running).toBe(true);
    expect(
      s
        .registers()
        .map((r) => queryOf(r).get('ep'))
        .sort(),
    ).toEqual(['cli-dev-2', 'cli-dev-3']);
    const res = await s.endpoint.request(s.registers()[1]!.peer, {
      method: 'GET',
      path: '/3/0/2',
      timeout: 3000,
    });
    expect(res.code).toBe('2.05');
    headless.proc.kill('SIGINT');
    quiet.proc.kill('SIGTERM');
    expect(await exitsWithin(headless, 10_000)).toEqual({ code: 0, signal: null });
    expect(await exitsWithin(quiet, 10_000)).toEqual({ code: 0, signal: null });
    expect(s.filter('DELETE', 'rd')).toHaveLength(2);
  });

  it('quit on the console de-registers and exits 0', async () => {
    const s = await server();
    const proc = await start(['--server', s.uri, '--endpoint', 'cli-dev-4'], { stdin: 'pipe' });
    proc.proc.stdin!.write('objects\nquit\n');
    expect(await exitsWithin(proc, 10_000)).toEqual({ code: 0, signal: null });
    expect(proc.stdout()).toMatch(/\/3303 Temperature v[\d.]+: \/3303\/0/);
    expect(s.filter('DELETE', 'rd')).toHaveLength(1);
  });
});
