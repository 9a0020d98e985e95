import { fileURLToPath } from 'node:url';
import { runProcess } from '@lwm2m-ts/testkit';
import { expect, it } from 'vitest';

it('leaves nothing that keeps the process alive after close()', async () => {
  const child = fileURLToPath(new URL('./test-close-child.ts', import.meta.url));
  const {
    code,
    stdout: out,
    stderr: err,
  } = await runProcess(process.execPath, ['--import', 'tsx', child], { timeoutMs: 15_000 });
  const exitedAt = Date.now();
  expect(err).toBe('');
  expect(code).toBe(0);
  const closedAt = Number(/closed (\d+)/.exec(out)?.[1]);
  expect(exitedAt - closedAt).toBeLessThan(1000);
}, 20_000);
