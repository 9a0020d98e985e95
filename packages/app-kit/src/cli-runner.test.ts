import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess, startProcess, stopAll } from '@lwm2m-ts/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { formatUrl, readyLine } from './cli-runner.js';

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const ARGS = ['--import', 'tsx', 'src/test-cli.ts'];
const READY = /fixture-cli listening: [^\n]*\n/;

afterEach(async () => {
  await stopAll();
});

function run(args: string[]) {
  return runProcess(process.execPath, [...ARGS, ...args], { cwd: PACKAGE_DIR, timeoutMs: 20_000 });
}

function start(args: string[]) {
  return startProcess(process.execPath, [...ARGS, ...args], {
    cwd: PACKAGE_DIR,
    readyWhen: READY,
    readyTimeoutMs: 20_000,
  });
}

describe('readyLine', () => {
  it('lists what listens, IPv6 in brackets', () => {
    expect(
      readyLine('x-server', {
        coap: { address: '0.0.0.0', port: 5683 },
        dtls: { address: '::', port: 5684 },
        http: { address: '127.0.0.1', port: 8080 },
      }),
    ).toBe(
      'x-server listening: coap udp://0.0.0.0:5683, coaps udp://[::]:5684, http http://127.0.0.1:8080',
    );
    expect(readyLine('x', { http: { address: '::1', port: 1 } })).toBe(
      'x listening: http http://[::1]:1',
    );
    expect(formatUrl('udp', 'localhost', 5)).toBe('udp://localhost:5');
  });
});

describe('runCli', { timeout: 60_000 }, () => {
  it('--help: the usage on stdout, exit 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Usage: fixture-cli [--mode MODE]\n');
  });

  it('bad options exit 2 with the message and a pointer to --help', async () => {
    const r = await run(['--limit', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'fixture-cli: --limit: "0" is not a time in ms (1..3600000)\nRun "fixture-cli --help" for the options.\n',
    );
    expect(r.stdout).toBe('');
  });

  it('an unusable input exits 2, a failed start 1; what was opened is closed, last first', async () => {
    const input = await run(['--mode', 'bad-input']);
    expect(input.code).toBe(2);
    expect(input.stderr).toBe('fixture-cli: --thing: cannot be used\n');
    expect(input.stdout).toBe('closed second\nclosed first\n');
    const crash = await run(['--mode', 'crash']);
    expect(crash.code).toBe(1);
    expect(crash.stderr).toContain('fixture-cli: failed to start: port in use\n');
    expect(crash.stderr).toContain('"msg":"failed to start"');
    expect(crash.stdout).toBe('closed second\nclosed first\n');
  });

  it('prints the ready line, then SIGTERM or SIGINT closes everything and exits 0', async () => {
    const proc = await start([]);
    expect(proc.stdout()).toBe(
      'fixture-cli listening: coap udp://127.0.0.1:5683, coaps udp://[::1]:5684, http http://127.0.0.1:8080\n',
    );
    proc.proc.kill('SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    // Output may still be on its way when the exit is seen.
    await expect.poll(() => proc.stdout()).toMatch(/listening: .*\nclosed second\nclosed first\n$/);

    const second = await start(['--mode', 'no-dtls']);
    expect(second.stdout()).not.toContain('coaps');
    second.proc.kill('SIGINT');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });

  it('a failed, slow or interrupted shutdown exits 1', async () => {
    const bad = await start(['--mode', 'bad-stop']);
    bad.proc.kill('SIGTERM');
    expect((await bad.exited).code).toBe(1);
    await expect
      .poll(() => bad.stderr())
      .toContain('fixture-cli: shutdown failed: second would not close\n');

    const slow = await start(['--mode', 'slow-stop', '--limit', '300']);
    slow.proc.kill('SIGTERM');
    expect((await slow.exited).code).toBe(1);
    await expect
      .poll(() => slow.stderr())
      .toContain('fixture-cli: shutdown took more than 300 ms\n');

    const twice = await start(['--mode', 'slow-stop', '--log-level', 'info']);
    twice.proc.kill('SIGTERM');
    await twice.waitForOutput(/shutting down/, 10_000);
    twice.proc.kill('SIGINT');
    expect((await twice.exited).code).toBe(1);
    await expect
      .poll(() => twice.stderr())
      .toContain('fixture-cli: SIGINT again: exiting at once\n');
  });
});
