import { readFile } from 'node:fs/promises';
import { StoreFileError, writeFileAtomic } from '@lwm2m-ts/app-kit';
import type { ObjectRegistry } from '@lwm2m-ts/registry';
import { type BootstrapConfig, BootstrapConfigError, validateBootstrapConfig } from './config.js';
import { ConfigIndex, InMemoryBootstrapConfigStore } from './config-store.js';

/**
 * The configuration file cannot be read, is not a valid configuration file, or cannot be
 * written. The message starts with the file's path
 * (`/etc/lwm2m/bootstrap.json: configs["dev-1"].servers[0].uri: must be …`).
 */
export class ConfigFileError extends StoreFileError {}

const FILE_VERSION = 1;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function parseFile(file: string, text: string, registry: ObjectRegistry): ConfigIndex {
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new ConfigFileError(file, `not valid JSON: ${errorText(err)}`, { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ConfigFileError(file, 'expected a JSON object {"version": 1, "configs": {...}}');
  }
  const { version, configs } = doc as Record<string, unknown>;
  if (version !== FILE_VERSION) {
    throw new ConfigFileError(
      file,
      `unsupported version ${JSON.stringify(version) ?? 'undefined'} (expected ${FILE_VERSION})`,
    );
  }
  if (typeof configs !== 'object' || configs === null || Array.isArray(configs)) {
    throw new ConfigFileError(file, '"configs" must be an object { "<endpoint>": config }');
  }
  const index = new ConfigIndex();
  for (const [endpoint, raw] of Object.entries(configs)) {
    const where = `configs[${JSON.stringify(endpoint)}]`;
    if (endpoint === '') throw new ConfigFileError(file, `${where}: the endpoint name is empty`);
    try {
      index.put(endpoint, validateBootstrapConfig(raw, registry));
    } catch (err) {
      // A field error reads `configs["dev"].servers[0].uri: …`; any other `configs["dev"]: …`.
      const sep = err instanceof BootstrapConfigError && err.field !== '' ? '.' : ': ';
      throw new ConfigFileError(file, `${where}${sep}${errorText(err)}`, { cause: err });
    }
  }
  return index;
}

/**
 * Bootstrap configurations kept in a JSON file, the CLI's `--config-file`:
 *
 * ```json
 * { "version": 1, "configs": { "dev-1": { "servers": [ ... ] } } }
 * ```
 *
 * `open` reads and validates the whole file (a missing file is an empty store, created on the
 * first change; a corrupt one is a `ConfigFileError` naming the problem, and nothing starts).
 * From then on this process owns the file: every `put`/`delete` rewrites it atomically (temporary
 * file, fsync, rename; mode 0600 since it holds keys) before the change is visible, one change at
 * a time. A failed write rejects with `ConfigFileError` and leaves file and store unchanged.
 */
export class FileBootstrapConfigStore extends InMemoryBootstrapConfigStore {
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;
  readonly path: string;

  private constructor(path: string, index: ConfigIndex) {
    super(index);
    this.path = path;
  }

  static async open(path: string, registry: ObjectRegistry): Promise<FileBootstrapConfigStore> {
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT') {
        throw new ConfigFileError(path, `cannot read: ${errorText(err)}`, { cause: err });
      }
    }
    const index = text === undefined ? new ConfigIndex() : parseFile(path, text, registry);
    return new FileBootstrapConfigStore(path, index);
  }

  override put(endpoint: string, config: BootstrapConfig): Promise<BootstrapConfig | undefined> {
    return this.#serialized(async () => {
      this.index.checkPut(endpoint, config);
      const entries = this.index.list().filter((e) => e.endpoint !== endpoint);
      entries.push({ endpoint, config });
      await this.#write(entries);
      return this.index.put(endpoint, config);
    });
  }

  override delete(endpoint: string): Promise<BootstrapConfig | undefined> {
    return this.#serialized(async () => {
      if (this.index.get(endpoint) === undefined) return undefined;
      await this.#write(this.index.list().filter((e) => e.endpoint !== endpoint));
      return this.index.remove(endpoint);
    });
  }

  /** Waits for pending writes; later changes reject. */
  override async close(): Promise<void> {
    this.#closed = true;
    await this.#tail.catch(() => {});
  }

  #serialized<T>(op: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ConfigFileError(this.path, 'the store is closed'));
    const result = this.#tail.then(op);
    this.#tail = result.catch(() => {});
    return result;
  }

  async #write(entries: readonly { endpoint: string; config: BootstrapConfig }[]): Promise<void> {
    const configs: Record<string, BootstrapConfig> = {};
    for (const e of [...entries].sort((a, b) => (a.endpoint < b.endpoint ? -1 : 1))) {
      configs[e.endpoint] = e.config;
    }
    const text = `${JSON.stringify({ version: FILE_VERSION, configs }, null, 2)}\n`;
    try {
      await writeFileAtomic(this.path, text);
    } catch (err) {
      throw new ConfigFileError(this.path, `cannot write: ${errorText(err)}`, { cause: err });
    }
  }
}
