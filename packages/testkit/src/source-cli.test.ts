import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { liveProcesses, stopAll } from './processes.js';
import { exitsWithin, sourceCli } from './source-cli.js';

// A stand-in CLI: exits 2 on --bad, else prints a ready line with a port and serves until SIGTERM.
const dir = mkdtempSync(path.join(tmpdir(), 'testkit-cli-'));
writeFileSync(
  path.join(dir, 'cli.mjs'),
  `if (process.argv.includes('--bad')) { console.error('bad flag'); process.exit(2); }
console.log('starting');
setTimeout(() => console.log('fake listening: port 4242 ' + (process.env.TAG ?? '-')), 50);
const t = setInterval(() => {}, 1000);
process.on('SIGTERM', () => { clearInterval(t); process.exit(0); });`,
);
const cli = sourceCli({
  packageDir: dir,
  entry: 'cli.mjs',
  nodeArgs: [],
  ready: /fake listening: port (\d+) (\S+)\n/,
  timeoutMs: 5000,
});

afterEach(async () => {
  await stopAll();
  expect(liveProcesses()).toHaveLength(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sourceCli', () => {
  it('run: exit status and output of a one-shot call', async () => {
    const r = await cli.run(['--bad']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad flag');
  });

  it('start: waits for the ready line on stdout and returns its match', async () => {
    const { proc, match, line } = await cli.start([], { TAG: 'x' });
    expect(match[1]).toBe('4242');
    expect(match[2]).toBe('x');
    expect(line).toBe('fake listening: port 4242 x\n');
    proc.proc.kill('SIGTERM');
    expect(await exitsWithin(proc, 5000)).toEqual({ code: 0, signal: null });
  });

  it('exitsWithin: "timeout" while the process still runs', async () => {
    const { proc } = await cli.start([]);
    expect(await exitsWithin(proc, 50)).toBe('timeout');
  });
});
