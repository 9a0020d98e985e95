import { afterEach, describe, expect, it } from 'vitest';
import { liveProcesses, runProcess, startProcess, stopAll } from './processes.js';

const node = process.execPath;

afterEach(async () => {
  await stopAll();
  expect(liveProcesses()).toHaveLength(0);
});

describe('startProcess', () => {
  it('waits until the output says ready, captures output, and stops with SIGTERM', async () => {
    const p = await startProcess(
      node,
      [
        '-e',
        'setTimeout(() => { console.log("listening"); console.error("warn"); }, 50); setInterval(() => {}, 1000);',
      ],
      { readyWhen: /listening/, readyTimeoutMs: 5000 },
    );
    expect(p.running).toBe(true);
    expect(p.pid).toBeGreaterThan(0);
    expect(p.stdout()).toContain('listening');
    await p.waitForOutput((o) => o.includes('warn'), 2000);
    expect(p.stderr()).toContain('warn');
    expect(liveProcesses()).toContain(p);
    expect(await p.stop()).toBeNull(); // ended by SIGTERM
    expect(p.running).toBe(false);
    expect((await p.exited).signal).toBe('SIGTERM');
    expect(await p.stop()).toBeNull(); // idempotent
  });

  it('escalates to SIGKILL when SIGTERM is ignored', async () => {
    const p = await startProcess(
      node,
      ['-e', 'process.on("SIGTERM", () => {}); console.log("up"); setInterval(() => {}, 1000);'],
      { readyWhen: /up/, stopGraceMs: 200 },
    );
    const t0 = performance.now();
    await p.stop();
    expect((await p.exited).signal).toBe('SIGKILL');
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('rejects and cleans up when the process is not ready in time', async () => {
    await expect(
      startProcess(node, ['-e', 'setInterval(() => {}, 1000);'], {
        readyWhen: /never/,
        readyTimeoutMs: 200,
      }),
    ).rejects.toThrow(/did not match/);
    expect(liveProcesses()).toHaveLength(0);
  });

  it('rejects with the output when the process exits before it is ready', async () => {
    await expect(
      startProcess(node, ['-e', 'console.log("bind failed"); process.exit(3)'], {
        readyWhen: /ready/,
      }),
    ).rejects.toThrow(/exited \(code 3.*bind failed/s);
  });

  it('rejects when the command does not exist', async () => {
    await expect(startProcess('/nonexistent/binary-xyz')).rejects.toThrow(/cannot start/);
  });

  it('stopAll ends every started process', async () => {
    const ps = await Promise.all(
      [1, 2, 3].map(() => startProcess(node, ['-e', 'setInterval(() => {}, 1000)'])),
    );
    expect(liveProcesses().length).toBeGreaterThanOrEqual(3);
    await stopAll();
    expect(ps.every((p) => !p.running)).toBe(true);
  });
});

describe('runProcess', () => {
  it('returns exit code and output', async () => {
    const r = await runProcess(node, [
      '-e',
      'console.log("out"); console.error("err"); process.exit(2)',
    ]);
    expect(r).toMatchObject({
      code: 2,
      signal: null,
      stdout: 'out\n',
      stderr: 'err\n',
      timedOut: false,
    });
  });

  it('feeds input on stdin', async () => {
    const r = await runProcess(node, ['-e', 'process.stdin.pipe(process.stdout)'], {
      input: new Uint8Array([104, 105]),
    });
    expect(r.stdout).toBe('hi');
    expect(r.code).toBe(0);
  });

  it('kills the command after the timeout', async () => {
    const r = await runProcess(node, ['-e', 'setInterval(() => {}, 1000)'], { timeoutMs: 200 });
    expect(r.timedOut).toBe(true);
    expect(r.code).toBeNull();
    expect(r.signal).toBe('SIGTERM');
    expect(r.durationMs).toBeLessThan(3000);
  });
});
