import type { BootstrapConfig } from './config.js';
import { IdentityInUseError } from './errors.js';

/** One endpoint's configuration, as `list()` gives them. */
export interface StoredConfig {
  readonly endpoint: string;
  readonly config: BootstrapConfig;
}

/**
 * Where bootstrap configurations live. Stores keep what they are given: the server validates
 * configurations (`validateBootstrapConfig`) before it puts them. `put` rejects with
 * `IdentityInUseError` when another endpoint already has the same `bootstrapCredentials.identity`
 * (the DTLS identity decides which configuration a device gets).
 */
export interface BootstrapConfigStore {
  get(endpoint: string): Promise<BootstrapConfig | undefined>;
  /** Stores `config` for `endpoint`; resolves with the configuration it replaced. */
  put(endpoint: string, config: BootstrapConfig): Promise<BootstrapConfig | undefined>;
  /** Resolves with the removed configuration, or undefined when there was none. */
  delete(endpoint: string): Promise<BootstrapConfig | undefined>;
  /** Every configuration, sorted by endpoint name. */
  list(): Promise<readonly StoredConfig[]>;
  /** The endpoint whose `bootstrapCredentials.identity` is `identity`. */
  getByIdentity(identity: string): Promise<StoredConfig | undefined>;
  close(): Promise<void>;
}

/** The maps behind the in-memory store (and the file store, which extends it). */
export class ConfigIndex {
  readonly #byEndpoint = new Map<string, BootstrapConfig>();
  readonly #byIdentity = new Map<string, string>();

  get(endpoint: string): BootstrapConfig | undefined {
    return this.#byEndpoint.get(endpoint);
  }

  getByIdentity(identity: string): StoredConfig | undefined {
    const endpoint = this.#byIdentity.get(identity);
    const config = endpoint === undefined ? undefined : this.#byEndpoint.get(endpoint);
    return config && endpoint !== undefined ? { endpoint, config } : undefined;
  }

  /** Throws `IdentityInUseError` when `put` would give one identity to two endpoints. */
  checkPut(endpoint: string, config: BootstrapConfig): void {
    const identity = config.bootstrapCredentials?.identity;
    if (identity === undefined) return;
    const holder = this.#byIdentity.get(identity);
    if (holder !== undefined && holder !== endpoint) {
      throw new IdentityInUseError(
        `bootstrapCredentials.identity ${JSON.stringify(identity)} is already used by endpoint ${JSON.stringify(holder)}`,
      );
    }
  }

  put(endpoint: string, config: BootstrapConfig): BootstrapConfig | undefined {
    this.checkPut(endpoint, config);
    const previous = this.remove(endpoint);
    this.#byEndpoint.set(endpoint, config);
    const identity = config.bootstrapCredentials?.identity;
    if (identity !== undefined) this.#byIdentity.set(identity, endpoint);
    return previous;
  }

  remove(endpoint: string): BootstrapConfig | undefined {
    const previous = this.#byEndpoint.get(endpoint);
    if (previous === undefined) return undefined;
    this.#byEndpoint.delete(endpoint);
    const identity = previous.bootstrapCredentials?.identity;
    if (identity !== undefined && this.#byIdentity.get(identity) === endpoint) {
      this.#byIdentity.delete(identity);
    }
    return previous;
  }

  list(): StoredConfig[] {
    return [...this.#byEndpoint.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([endpoint, config]) => ({ endpoint, config }));
  }
}

/** Configurations in memory: the default store, gone when the process ends. */
export class InMemoryBootstrapConfigStore implements BootstrapConfigStore {
  protected readonly index: ConfigIndex;

  constructor(index: ConfigIndex = new ConfigIndex()) {
    this.index = index;
  }

  async get(endpoint: string): Promise<BootstrapConfig | undefined> {
    return this.index.get(endpoint);
  }

  async put(endpoint: string, config: BootstrapConfig): Promise<BootstrapConfig | undefined> {
    return this.index.put(endpoint, config);
  }

  async delete(endpoint: string): Promise<BootstrapConfig | undefined> {
    return this.index.remove(endpoint);
  }

  async list(): Promise<readonly StoredConfig[]> {
    return this.index.list();
  }

  async getByIdentity(identity: string): Promise<StoredConfig | undefined> {
    return this.index.getByIdentity(identity);
  }

  async close(): Promise<void> {}
}
