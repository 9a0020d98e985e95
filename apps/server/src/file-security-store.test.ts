import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidValueError, LwM2mError } from '@lwm2m-ts/core';
import { describeSecurityStoreContract } from '@lwm2m-ts/testkit/vitest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IdentityInUseError } from './errors.js';
import { FileSecurityStore, SecurityFileError } from './file-security-store.js';
import type { SecurityInfo } from './security-store.js';

const psk = (endpoint: string, identity: string, key = [0xab, 0xcd]): SecurityInfo => ({
  endpoint,
  mode: 'psk',
  identity,
  key: Uint8Array.from(key),
});

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lwm2m-sec-'));
  file = join(dir, 'security.json');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function openError(text: string): Promise<SecurityFileError> {
  await writeFile(file, text);
  const err = await FileSecurityStore.open(file).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(SecurityFileError);
  expect(err).toBeInstanceOf(LwM2mError);
  expect((err as SecurityFileError).coapCode).toBe('5.00');
  expect((err as SecurityFileError).file).toBe(file);
  expect((err as Error).message.startsWith(`${file}: `)).toBe(true);
  return err as SecurityFileError;
}

let files = 0;
describeSecurityStoreContract('FileSecurityStore', {
  create: async (entries = []) => {
    files += 1;
    const store = await FileSecurityStore.open(join(dir, `contract-${files}.json`));
    for (const e of entries) await store.put(e);
    return store;
  },
  count: (store) => store.size,
  errors: { base: LwM2mError, invalidValue: InvalidValueError, identityInUse: IdentityInUseError },
});

describe('FileSecurityStore', () => {
  it('starts empty when the file is missing and creates it on the first change', async () => {
    const store = await FileSecurityStore.open(file);
    expect(await store.list()).toEqual([]);
    await expect(stat(file)).rejects.toThrow();
    await store.put(psk('dev-1', 'id-1'));
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      version: 1,
      entries: [{ endpoint: 'dev-1', mode: 'psk', identity: 'id-1', key: 'abcd' }],
    });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('creates a missing directory on the first change', async () => {
    const nested = join(dir, 'a', 'b', 'sec.json');
    const store = await FileSecurityStore.open(nested);
    await store.put({ endpoint: 'dev', mode: 'nosec' });
    expect(JSON.parse(await readFile(nested, 'utf8')).entries).toEqual([
      { endpoint: 'dev', mode: 'nosec' },
    ]);
  });

  it('survives reopening', async () => {
    const store = await FileSecurityStore.open(file);
    await store.put(psk('dev-1', 'id-1', [1, 2, 3]));
    await store.put({ endpoint: 'dev-2', mode: 'nosec' });
    await store.put(psk('dev-3', 'id-3'));
    await store.remove('dev-3');
    await store.close();
    const again = await FileSecurityStore.open(file);
    expect(await again.list()).toEqual([
      psk('dev-1', 'id-1', [1, 2, 3]),
      { endpoint: 'dev-2', mode: 'nosec' },
    ]);
    expect((await again.getByIdentity('id-1'))?.endpoint).toBe('dev-1');
    expect(await again.getByIdentity('id-3')).toBeUndefined();
  });

  it('reads a hand-written file with upper-case hex', async () => {
    await writeFile(
      file,
      JSON.stringify({
        version: 1,
        entries: [{ endpoint: 'dev', mode: 'psk', identity: 'me', key: '0A0b' }],
      }),
    );
    const store = await FileSecurityStore.open(file);
    expect(await store.getByIdentity('me')).toEqual(psk('dev', 'me', [0x0a, 0x0b]));
  });

  it('reads a file that starts with a byte-order mark', async () => {
    await writeFile(file, `\ufeff${JSON.stringify({ version: 1, entries: [] })}`);
    expect(await (await FileSecurityStore.open(file)).list()).toEqual([]);
  });

  it('never loses concurrent changes', async () => {
    const store = await FileSecurityStore.open(file);
    const n = 40;
    await Promise.all([
      ...Array.from({ length: n }, (_, i) => store.put(psk(`dev-${i}`, `id-${i}`, [i + 1]))),
      store.remove('dev-0'),
    ]);
    expect(store.size).toBe(n - 1);
    const again = await FileSecurityStore.open(file);
    expect((await again.list()).map((e) => e.endpoint).sort()).toEqual(
      Array.from({ length: n - 1 }, (_, i) => `dev-${i + 1}`).sort(),
    );
    expect(await readdir(dir)).toEqual(['security.json']);
  });

  it('rejects an identity conflict without writing', async () => {
    const store = await FileSecurityStore.open(file);
    await store.put(psk('dev-1', 'shared'));
    const before = await readFile(file, 'utf8');
    const results = await Promise.allSettled([
      store.put(psk('dev-2', 'shared')),
      store.put(psk('dev-3', 'other')),
    ]);
    expect(results[0].status).toBe('rejected');
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(IdentityInUseError);
    expect(results[1].status).toBe('fulfilled');
    expect(await store.getByEndpoint('dev-2')).toBeUndefined();
    const again = await FileSecurityStore.open(file);
    expect((await again.list()).map((e) => e.endpoint)).toEqual(['dev-1', 'dev-3']);
    expect(before).not.toEqual(await readFile(file, 'utf8'));
  });

  it('frees the old identity when an endpoint changes identity, also on disk', async () => {
    const store = await FileSecurityStore.open(file);
    await store.put(psk('dev-1', 'old'));
    await store.put(psk('dev-1', 'new'));
    await store.put(psk('dev-2', 'old'));
    const again = await FileSecurityStore.open(file);
    expect((await again.getByIdentity('old'))?.endpoint).toBe('dev-2');
    expect((await again.getByIdentity('new'))?.endpoint).toBe('dev-1');
  });

  it('rejects an invalid entry before touching the file', async () => {
    const store = await FileSecurityStore.open(file);
    const bad = { endpoint: '', mode: 'nosec' } as SecurityInfo;
    await expect(store.put(bad)).rejects.toThrow(InvalidValueError);
    await expect(stat(file)).rejects.toThrow();
  });

  it('leaves the file and the store unchanged and cleans up when a write fails', async () => {
    const store = await FileSecurityStore.open(file);
    await store.put(psk('dev-1', 'id-1'));
    // Put a non-empty directory where the file is: the final rename must fail.
    await rm(file);
    await mkdir(join(file, 'blocker'), { recursive: true });
    const err = await store.put(psk('dev-2', 'id-2')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecurityFileError);
    expect((err as Error).message).toContain('cannot write');
    expect(await store.getByEndpoint('dev-2')).toBeUndefined();
    expect(await store.getByIdentity('id-2')).toBeUndefined();
    expect((await readdir(dir)).sort()).toEqual(['security.json']);
    // The store keeps working once the problem is gone.
    await rm(file, { recursive: true });
    await store.put(psk('dev-3', 'id-3'));
    const again = await FileSecurityStore.open(file);
    expect((await again.list()).map((e) => e.endpoint)).toEqual(['dev-1', 'dev-3']);
  });

  it('leaves no temporary files behind', async () => {
    const store = await FileSecurityStore.open(file);
    for (let i = 0; i < 5; i++) await store.put(psk(`d${i}`, `i${i}`));
    await store.remove('d1');
    expect(await readdir(dir)).toEqual(['security.json']);
  });

  it('rejects changes after close but still answers lookups', async () => {
    const store = await FileSecurityStore.open(file);
    const pending = store.put(psk('dev', 'id'));
    await store.close();
    await pending;
    await expect(store.put(psk('dev-2', 'id-2'))).rejects.toThrow(SecurityFileError);
    expect((await store.getByIdentity('id'))?.endpoint).toBe('dev');
  });

  describe('refuses a corrupt or invalid file', () => {
    it('not JSON', async () => {
      const err = await openError('{"version": 1, "entries": [');
      expect(err.message).toContain('not valid JSON');
    });
    it('empty file', async () => {
      expect((await openError('')).message).toContain('not valid JSON');
    });
    it('not an object', async () => {
      expect((await openError('[]')).message).toContain('JSON object');
    });
    it('wrong version', async () => {
      expect((await openError('{"version": 2, "entries": []}')).message).toContain(
        'unsupported version 2',
      );
      expect((await openError('{"entries": []}')).message).toContain('unsupported version');
    });
    it('entries not an array', async () => {
      expect((await openError('{"version": 1, "entries": {}}')).message).toContain(
        '"entries" must be an array',
      );
    });
    const cases: [string, unknown, string][] = [
      ['entry not an object', 'x', 'entries[0] must be an object'],
      ['empty endpoint', { endpoint: '', mode: 'nosec' }, 'entries[0].endpoint'],
      ['missing endpoint', { mode: 'nosec' }, 'entries[0].endpoint'],
      ['unknown mode', { endpoint: 'd', mode: 'x509' }, 'entries[0].mode'],
      ['empty identity', { endpoint: 'd', mode: 'psk', identity: '', key: '00' }, 'identity'],
      ['empty key', { endpoint: 'd', mode: 'psk', identity: 'i', key: '' }, 'entries[0].key'],
      ['odd hex', { endpoint: 'd', mode: 'psk', identity: 'i', key: 'abc' }, 'entries[0].key'],
      ['not hex', { endpoint: 'd', mode: 'psk', identity: 'i', key: 'zz' }, 'entries[0].key'],
      ['key as number', { endpoint: 'd', mode: 'psk', identity: 'i', key: 12 }, 'entries[0].key'],
    ];
    for (const [name, entry, want] of cases) {
      it(name, async () => {
        const err = await openError(JSON.stringify({ version: 1, entries: [entry] }));
        expect(err.message).toContain(want);
      });
    }
    it('duplicate endpoint', async () => {
      const err = await openError(
        JSON.stringify({
          version: 1,
          entries: [
            { endpoint: 'd', mode: 'nosec' },
            { endpoint: 'd', mode: 'psk', identity: 'i', key: '00' },
          ],
        }),
      );
      expect(err.message).toContain('entries[1]: endpoint "d" already has an entry (entries[0])');
    });
    it('duplicate identity', async () => {
      const err = await openError(
        JSON.stringify({
          version: 1,
          entries: [
            { endpoint: 'a', mode: 'psk', identity: 'i', key: '00' },
            { endpoint: 'b', mode: 'psk', identity: 'i', key: '01' },
          ],
        }),
      );
      expect(err.message).toContain('entries[1]: PSK identity "i" is already used by endpoint "a"');
    });
    it('unreadable path (a directory)', async () => {
      await mkdir(file);
      const err = await FileSecurityStore.open(file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SecurityFileError);
      expect((err as Error).message).toContain('cannot read');
    });
  });
});
