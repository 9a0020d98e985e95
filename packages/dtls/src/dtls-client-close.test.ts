import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('leaves nothing that keeps the process alive after close() or a failed handshake', async () => {
  const child = fileURLToPath(new URL('./test-client-close-child.ts', import.meta.url));
  const proc = spawn(process.execPath, ['--import', 'tsx', child], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => {
    out += d;
  });
  proc.stderr.on('data', (d) => {
    err += d;
  });
  const code = await new Promise<number | null>((resolve) => {
    const kill = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    proc.on('exit', (c) => {
      clearTimeout(kill);
      resolve(c);
    });
  });
  const exitedAt = Date.now();
  expect(err).toBe('');
  expect(code).toBe(0);
  const [, closedAt, errors] = /closed (\d+) (\S+)/.exec(out) ?? [];
  expect(errors).toBe('DtlsAlertError,TimeoutError');
  expect(exitedAt - Number(closedAt)).toBeLessThan(1000);
}, 20_000);
