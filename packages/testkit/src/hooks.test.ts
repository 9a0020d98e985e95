import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useCleanup, useTempDir } from './hooks.js';
import { liveProcesses, startProcess } from './processes.js';

const tmp = useTempDir('testkit-hooks-');
const closed: string[] = [];
const open = useCleanup<{ close(): void }>();

describe('useTempDir and useCleanup', () => {
  it('gives a directory made before the tests', () => {
    expect(existsSync(tmp.path)).toBe(true);
    open.push({ close: () => closed.push('a') });
  });

  it('closed what the previous test pushed, and stops processes after each test', async () => {
    expect(closed).toEqual(['a']);
    expect(open).toEqual([]);
    await startProcess(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    expect(liveProcesses()).toHaveLength(1);
  });

  it('stopped the previous test’s process', () => {
    expect(liveProcesses()).toHaveLength(0);
  });
});
