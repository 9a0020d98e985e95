import { readFile } from 'node:fs/promises';
import { StoreFileError, writeFileAtomic } from '@lwm2m-ts/app-kit';
import { identityInUseMessage, describeSecurityValue as show } from '@lwm2m-ts/core';
import {
  InMemorySecurityStore,
  normalizeSecurityInfo,
  SecurityIndex,
} from './memory-security-store.js';
import type { SecurityInfo } from './security-store.js';

/**
 * The security file cannot be read, is not a valid security file, or cannot be written. The
 * message starts with the file's path (`/etc/lwm2m/psk.json: entries[2].key: …`).
 */
export class SecurityFileError extends StoreFileError {}

const FILE_VERSION = 1;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;

type FileEntry =
  | { endpoint: string; mode: 'psk'; identity: string; key: string }
  | { endpoint: string; mode: 'nosec' };

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err
    ? String((err as { code: unknown }).code)
    : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One `entries[i]` of the file as a `SecurityInfo`; `fail` gets the problem's text. */
function parseEntry(raw: unknown, at: string, fail: (problem: string) => never): SecurityInfo {
  if (!isRecord(raw)) fail(`${at} must be an object, got ${show(raw)}`);
  const { endpoint, mode } = raw;
  if (typeof endpoint !== 'string' || endpoint.length === 0) {
    fail(`${at}.endpoint must be a non-empty string, got ${show(endpoint)}`);
  }
  if (mode === 'nosec') return { endpoint, mode };
  if (mode !== 'psk') fail(`${at}.mode must be "psk" or "nosec", got ${show(mode)}`);
  const { identity, key } = raw;
  if (typeof identity !== 'string' || identity.length === 0) {
    fail(`${at}.identity must be a non-empty string, got ${show(identity)}`);
  }
  if (typeof key !== 'string' || !HEX.test(key)) {
    fail(`${at}.key must be a non-empty string of hex digit pairs, got ${show(key)}`);
  }
  return { endpoint, mode, identity, key: Buffer.from(key, 'hex') };
}

/** Parses and checks the file's text into an index; throws `SecurityFileError`. */
function parseFile(file: string, text: string): SecurityIndex {
  const fail = (problem: string): never => {
    throw new SecurityFileError(file, problem);
  };
  let doc: unknown;
  try {
    // A byte-order mark, as some editors write, is not part of the JSON.
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new SecurityFileError(file, `not valid JSON: ${errorText(err)}`, { cause: err });
  }
  if (!isRecord(doc)) fail(`expected a JSON object {"version": 1, "entries": [...]}`);
  const { version, entries } = doc as Record<string, unknown>;
  if (version !== FILE_VERSION) {
    fail(
      `unsupported version ${JSON.stringify(version) ?? 'undefined'} (expected ${FILE_VERSION})`,
    );
  }
  if (!Array.isArray(entries)) fail(`"entries" must be an array, got ${show(entries)}`);
  const index = new SecurityIndex();
  const where = new Map<string, number>();
  (entries as unknown[]).forEach((raw, i) => {
    const at = `entries[${i}]`;
    const entry = normalizeSecurityInfo(parseEntry(raw, at, fail));
    const same = where.get(entry.endpoint);
    if (same !== undefined) {
      fail(`${at}: endpoint ${show(entry.endpoint)} already has an entry (entries[${same}])`);
    }
    if (entry.mode === 'psk') {
      const holder = index.getByIdentity(entry.identity);
      if (holder !== undefined) {
        fail(
          `${at}: ${identityInUseMessage(entry.identity, holder.endpoint)} (entries[${where.get(holder.endpoint)}])`,
        );
      }
    }
    index.put(entry);
    where.set(entry.endpoint, i);
  });
  return index;
}

function toFileEntry(info: SecurityInfo): FileEntry {
  return info.mode === 'psk'
    ? {
        endpoint: info.endpoint,
        mode: 'psk',
        identity: info.identity,
        key: Buffer.from(info.key).toString('hex'),
      }
    : { endpoint: info.endpoint, mode: 'nosec' };
}

/**
 * Endpoint credentials kept in a JSON file, the default persistent store of a single server:
 *
 * ```json
 * { "version": 1, "entries": [
 *   { "endpoint": "dev-1", "mode": "psk", "identity": "dev-1", "key": "00112233" },
 *   { "endpoint": "dev-2", "mode": "nosec" } ] }
 * ```
 *
 * The file is read once by `open` (a missing file is an empty store, created on the first
 * change); from then on this process owns it: every `put`/`remove` rewrites it atomically (a
 * temporary file in the same directory, written, fsynced and renamed over it; mode 0600 since it
 * holds keys) before the change becomes visible, one change at a time, so concurrent calls never
 * lose each other and the file never holds half a write. A failed write rejects with
 * `SecurityFileError` and leaves both the file and the store as they were. Lookups are served
 * from memory by the same index as `InMemorySecurityStore`.
 */
export class FileSecurityStore extends InMemorySecurityStore {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly path: string,
    index: SecurityIndex,
  ) {
    super(index);
  }

  /** Reads the file; rejects with `SecurityFileError` when it is unreadable or invalid. */
  static async open(path: string): Promise<FileSecurityStore> {
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') {
        throw new SecurityFileError(path, `cannot read: ${errorText(err)}`, { cause: err });
      }
    }
    const index = text === undefined ? new SecurityIndex() : parseFile(path, text);
    return new FileSecurityStore(path, index);
  }

  override async put(info: SecurityInfo): Promise<SecurityInfo | undefined> {
    const entry = normalizeSecurityInfo(info);
    return this.serialized(async () => {
      this.index.checkPut(entry);
      const entries = this.index.list();
      const at = entries.findIndex((e) => e.endpoint === entry.endpoint);
      if (at >= 0) entries[at] = entry;
      else entries.push(entry);
      await this.write(entries);
      return this.index.put(entry);
    });
  }

  override async remove(endpoint: string): Promise<SecurityInfo | undefined> {
    return this.serialized(async () => {
      if (this.index.getByEndpoint(endpoint) === undefined) return undefined;
      await this.write(this.index.list().filter((e) => e.endpoint !== endpoint));
      return this.index.remove(endpoint);
    });
  }

  /** Waits for pending writes; later changes reject. */
  override async close(): Promise<void> {
    this.closed = true;
    await this.tail.catch(() => {});
  }

  /** Runs `op` after every change queued before it. */
  private serialized<T>(op: () => Promise<T>): Promise<T> {
    if (this.closed) {
      return Promise.reject(new SecurityFileError(this.path, 'the store is closed'));
    }
    const result = this.tail.then(op);
    this.tail = result.catch(() => {});
    return result;
  }

  private async write(entries: readonly SecurityInfo[]): Promise<void> {
    const text = `${JSON.stringify({ version: FILE_VERSION, entries: entries.map(toFileEntry) }, null, 2)}\n`;
    try {
      await writeFileAtomic(this.path, text);
    } catch (err) {
      throw new SecurityFileError(this.path, `cannot write: ${errorText(err)}`, { cause: err });
    }
  }
}
