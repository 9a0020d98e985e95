import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { ObjectModel } from '@lwm2m-ts/core';
import { describe, expect, it } from 'vitest';
import { OUTPUT_FILE, renderBuiltins } from '../scripts/generate-builtins.js';
import { BUILTIN_SNAPSHOT, builtinModels } from './builtins.js';
import { loadDdfDirectory } from './ddf.js';
import { REGISTRY_DIR } from './test-paths.js';

function plain(m: ObjectModel) {
  return { ...m, resources: [...m.resources.values()] };
}

describe('built-in models', () => {
  it('is up to date: regenerating gives the same file', async () => {
    const expected = await renderBuiltins(REGISTRY_DIR);
    const actual = await readFile(OUTPUT_FILE, 'utf8');
    // Compare as a boolean first so a failure does not print 85 kB of diff.
    expect(actual === expected, 'run "pnpm run generate" in packages/registry').toBe(true);
  });

  it('records the registry snapshot', async () => {
    const notice = await readFile(join(REGISTRY_DIR, 'NOTICE.md'), 'utf8');
    expect(notice).toContain(`commit ${BUILTIN_SNAPSHOT}`);
  });

  it('is built once and frozen', () => {
    const models = builtinModels();
    expect(builtinModels()).toBe(models);
    expect(Object.isFrozen(models)).toBe(true);
    expect(Object.isFrozen(models[0])).toBe(true);
  });

  it('holds every version of the core objects', () => {
    const versions = (id: number) =>
      builtinModels()
        .filter((m) => m.id === id)
        .map((m) => m.version);
    expect(versions(0)).toEqual(['1.0', '1.1', '1.2']);
    expect(versions(1)).toEqual(['1.0', '1.1', '1.2']);
    expect(versions(3)).toEqual(['1.0', '1.1', '1.2']);
    expect(versions(4)).toEqual(['1.0', '1.1', '1.2', '1.3']);
    expect(versions(3303)).toEqual(['1.0', '1.1']);
    expect(versions(8)).toEqual([]);
  });

  it('equals what parseDdf reads from the registry files', async () => {
    const [top, history] = await Promise.all([
      loadDdfDirectory(REGISTRY_DIR),
      loadDdfDirectory(join(REGISTRY_DIR, 'version_history')),
    ]);
    const parsed = new Map<string, ObjectModel>();
    for (const m of [...history.models, ...top.models]) parsed.set(`${m.id}@${m.version}`, m);
    const builtins = builtinModels();
    expect(builtins.length).toBe(130);
    for (const b of builtins) {
      const p = parsed.get(`${b.id}@${b.version}`);
      expect(p, `${b.id}@${b.version}`).toBeDefined();
      expect(isDeepStrictEqual(plain(b), plain(p!)), `${b.id}@${b.version}`).toBe(true);
    }
  });
});
