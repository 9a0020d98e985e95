import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { describeBootstrapConfigStoreContract } from '@lwm2m-ts/testkit/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateBootstrapConfig } from './config.js';
import { InMemoryBootstrapConfigStore } from './config-store.js';
import { IdentityInUseError } from './errors.js';
import { ConfigFileError, FileBootstrapConfigStore } from './file-config-store.js';

const registry = ObjectRegistry.withBuiltins();
const config = (ssid: number, identity?: string) =>
  validateBootstrapConfig(
    {
      servers: [
        { shortServerId: ssid, uri: 'coap://dm:5683', securityMode: 'nosec', lifetime: 60 },
      ],
      ...(identity !== undefined && { bootstrapCredentials: { identity, key: '0011' } }),
    },
    registry,
  );

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lwm2m-bootstrap-store-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

for (const [name, create] of [
  ['InMemoryBootstrapConfigStore', async () => new InMemoryBootstrapConfigStore()],
  [
    'FileBootstrapConfigStore',
    async () => FileBootstrapConfigStore.open(join(dir, `s-${Math.random()}.json`), registry),
  ],
] as const) {
  describeBootstrapConfigStoreContract(name, {
    create,
    config,
    errors: { identityInUse: IdentityInUseError },
  });
}

describe('FileBootstrapConfigStore', () => {
  it('survives a restart, writes atomically with mode 0600 and leaves no temporary file', async () => {
    const path = join(dir, 'sub', 'bootstrap.json');
    const store = await FileBootstrapConfigStore.open(path, registry);
    // Concurrent changes are serialized: none is lost.
    await Promise.all([1, 2, 3, 4, 5].map((i) => store.put(`dev-${i}`, config(i, `id-${i}`))));
    await store.delete('dev-3');
    await store.close();
    await expect(store.put('late', config(9))).rejects.toBeInstanceOf(ConfigFileError);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readdir(join(dir, 'sub'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const doc = JSON.parse(await readFile(path, 'utf8'));
    expect(doc.version).toBe(1);
    expect(Object.keys(doc.configs)).toEqual(['dev-1', 'dev-2', 'dev-4', 'dev-5']);

    const again = await FileBootstrapConfigStore.open(path, registry);
    expect((await again.list()).map((e) => e.endpoint)).toEqual([
      'dev-1',
      'dev-2',
      'dev-4',
      'dev-5',
    ]);
    expect(await again.get('dev-4')).toEqual(config(4, 'id-4'));
    expect((await again.getByIdentity('id-5'))?.endpoint).toBe('dev-5');
    await again.close();
  });

  it('treats a missing file as empty and refuses a corrupt one with a clear error', async () => {
    const missing = await FileBootstrapConfigStore.open(join(dir, 'none.json'), registry);
    expect(await missing.list()).toEqual([]);

    const cases: [string, RegExp][] = [
      ['{ not json', /: not valid JSON: /],
      ['[]', /expected a JSON object/],
      ['{"version": 2, "configs": {}}', /unsupported version 2/],
      ['{"version": 1, "configs": []}', /"configs" must be an object/],
      [
        '{"version": 1, "configs": {"d": {"servers": [{"shortServerId": 1, "uri": "http://x", "securityMode": "nosec", "lifetime": 1}]}}}',
        /bad\.json: configs\["d"\]\.servers\[0\]\.uri: must be a coap:\/\/ or coaps:\/\/ URI/,
      ],
      [
        '{"version": 1, "configs": {"a": {"servers": [], "bootstrapCredentials": {"identity": "x", "key": "00"}}, "b": {"servers": [], "bootstrapCredentials": {"identity": "x", "key": "00"}}}}',
        /configs\["b"\]: bootstrapCredentials\.identity "x" is already used by endpoint "a"/,
      ],
    ];
    for (const [text, message] of cases) {
      const path = join(dir, 'bad.json');
      await writeFile(path, text);
      const err = await FileBootstrapConfigStore.open(path, registry).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigFileError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message.startsWith(path)).toBe(true);
    }
  });

  it('a failed write leaves the store and the file as they were', async () => {
    const sub = join(dir, 'vanishing');
    const store = await FileBootstrapConfigStore.open(join(sub, 'cfg.json'), registry);
    await store.put('kept', config(1));
    // The directory is replaced by a file: no write can succeed any more.
    await rm(sub, { recursive: true });
    await writeFile(sub, 'a file, not a directory');
    const err = await store.put('x', config(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigFileError);
    expect((err as Error).message).toMatch(/cannot write/);
    expect(await store.get('x')).toBeUndefined();
    expect((await store.list()).map((e) => e.endpoint)).toEqual(['kept']);
    await expect(store.delete('kept')).rejects.toBeInstanceOf(ConfigFileError);
    expect(await store.get('kept')).toBeDefined();
  });
});
