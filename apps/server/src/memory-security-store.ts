import { identityInUseMessage, normalizeSecurityEntry } from '@lwm2m-ts/core';
import { IdentityInUseError } from './errors.js';
import type { SecurityInfo, SecurityStore } from './security-store.js';

/**
 * Checks a security entry and returns a frozen copy holding only its own fields and its own copy
 * of the key; throws `InvalidValueError` (4.00) naming the bad field. The server's name for core's
 * `normalizeSecurityEntry`, which the Redis store uses too.
 */
export const normalizeSecurityInfo: (info: SecurityInfo) => SecurityInfo = normalizeSecurityEntry;

/**
 * The synchronous core shared by the security stores: entries by endpoint and by PSK identity,
 * kept in step, with identities unique across endpoints. Entries must come from
 * `normalizeSecurityInfo`. `list()` keeps insertion order (a replaced entry keeps its place).
 */
export class SecurityIndex {
  private readonly byEndpoint = new Map<string, SecurityInfo>();
  private readonly byIdentity = new Map<string, SecurityInfo>();

  get size(): number {
    return this.byEndpoint.size;
  }

  getByEndpoint(endpoint: string): SecurityInfo | undefined {
    return this.byEndpoint.get(endpoint);
  }

  getByIdentity(identity: string): SecurityInfo | undefined {
    return this.byIdentity.get(identity);
  }

  list(): SecurityInfo[] {
    return Array.from(this.byEndpoint.values());
  }

  /** Throws `IdentityInUseError` when another endpoint holds the entry's PSK identity. */
  checkPut(entry: SecurityInfo): void {
    if (entry.mode !== 'psk') return;
    const holder = this.byIdentity.get(entry.identity);
    if (holder !== undefined && holder.endpoint !== entry.endpoint) {
      throw new IdentityInUseError(identityInUseMessage(entry.identity, holder.endpoint));
    }
  }

  /**
   * Adds or replaces the endpoint's entry and returns the previous one; the previous entry's
   * identity is freed. Throws `IdentityInUseError` (and changes nothing) on a conflict.
   */
  put(entry: SecurityInfo): SecurityInfo | undefined {
    this.checkPut(entry);
    const previous = this.byEndpoint.get(entry.endpoint);
    if (previous?.mode === 'psk') this.byIdentity.delete(previous.identity);
    this.byEndpoint.set(entry.endpoint, entry);
    if (entry.mode === 'psk') this.byIdentity.set(entry.identity, entry);
    return previous;
  }

  remove(endpoint: string): SecurityInfo | undefined {
    const previous = this.byEndpoint.get(endpoint);
    if (previous === undefined) return undefined;
    this.byEndpoint.delete(endpoint);
    if (previous.mode === 'psk') this.byIdentity.delete(previous.identity);
    return previous;
  }

  clear(): void {
    this.byEndpoint.clear();
    this.byIdentity.clear();
  }
}

/**
 * Endpoint credentials in process memory. `put` checks the entry (`InvalidValueError`), refuses
 * an identity another endpoint holds (`IdentityInUseError`), and stores its own copy.
 */
export class InMemorySecurityStore implements SecurityStore {
  protected readonly index: SecurityIndex;

  /**
   * Starts with these entries (throws like `put` for a bad or conflicting one), or over an index
   * already filled (how the file-backed store shares the lookups).
   */
  constructor(entries: Iterable<SecurityInfo> | SecurityIndex = []) {
    if (entries instanceof SecurityIndex) {
      this.index = entries;
    } else {
      this.index = new SecurityIndex();
      for (const info of entries) this.index.put(normalizeSecurityInfo(info));
    }
  }

  get size(): number {
    return this.index.size;
  }

  async getByEndpoint(endpoint: string): Promise<SecurityInfo | undefined> {
    return this.index.getByEndpoint(endpoint);
  }

  async getByIdentity(identity: string): Promise<SecurityInfo | undefined> {
    return this.index.getByIdentity(identity);
  }

  async list(): Promise<readonly SecurityInfo[]> {
    return this.index.list();
  }

  async put(info: SecurityInfo): Promise<SecurityInfo | undefined> {
    return this.index.put(normalizeSecurityInfo(info));
  }

  async remove(endpoint: string): Promise<SecurityInfo | undefined> {
    return this.index.remove(endpoint);
  }

  async close(): Promise<void> {}
}
