import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { stopAll } from './processes.js';

/**
 * A temporary directory for a test file: made before its tests, removed with its contents after
 * them. Read `path` inside tests and hooks (it throws before the directory exists).
 */
export function useTempDir(prefix: string): { readonly path: string } {
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  return {
    get path() {
      if (dir === undefined) throw new Error('the temporary directory is made before the tests');
      return dir;
    },
  };
}

/**
 * What a test opened and must close (test devices, clients): push it on the returned list. After
 * each test everything on it is closed, then every process testkit started is stopped.
 */
export function useCleanup<T extends { close(): unknown }>(): T[] {
  const open: T[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((x) => x.close()));
    await stopAll();
  });
  return open;
}
