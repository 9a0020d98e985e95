import type { Registration } from './registration.js';
import type { RegistrationStore } from './registration-store.js';

export interface RegistrationCacheOptions {
  /**
   * How long a registration read from the shared store is used without asking the store again
   * (ms). Changes made through this process update the cache at once and changes made through
   * other processes evict it when their event arrives (`evict`); the time bounds how stale an
   * entry can be when such an event is lost (pub/sub is at most once). Default 1000.
   */
  readonly ttlMs?: number;
  /** Registrations held at most; the oldest entries go first. Default 100 000. */
  readonly maxEntries?: number;
  /** The clock (tests). */
  readonly now?: () => number;
}

interface Entry {
  readonly registration: Registration;
  readonly until: number;
}

/**
 * A shared registration store (Redis) with a short-lived local copy of the registrations this
 * process looked up or changed.
 *
 * Why: every Read, Write, Execute or Observe sent through the server looks its client's
 * registration up by endpoint first; with Redis that is a network round trip per request, which
 * at one request in flight costs about as much as the request itself. Writes still go to the
 * shared store first (it alone decides races between processes: an update racing with an expiry,
 * two processes registering one endpoint); the copy only saves reads.
 */
export class CachedRegistrationStore implements RegistrationStore {
  readonly #inner: RegistrationStore;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** By endpoint, oldest first (Map keeps insertion order; a refresh re-inserts). */
  readonly #byEndpoint = new Map<string, Entry>();
  readonly #endpointOfId = new Map<string, string>();
  /**
   * Bumped by every eviction: a store answer that was under way while something was evicted may
   * be older than what evicted it, so it is returned but not kept.
   */
  #epoch = 0;

  constructor(inner: RegistrationStore, options: RegistrationCacheOptions = {}) {
    this.#inner = inner;
    this.#ttlMs = options.ttlMs ?? 1000;
    this.#maxEntries = options.maxEntries ?? 100_000;
    this.#now = options.now ?? Date.now;
    if (!(this.#ttlMs >= 0)) throw new RangeError('ttlMs must be ≥ 0');
    if (!(Number.isInteger(this.#maxEntries) && this.#maxEntries >= 1)) {
      throw new RangeError('maxEntries must be an integer ≥ 1');
    }
  }

  /** Registrations held locally (fresh or not). */
  get size(): number {
    return this.#byEndpoint.size;
  }

  /** Forgets the local copy of an endpoint's registration: another process changed it. */
  evict(endpoint: string): void {
    this.#epoch++;
    const e = this.#byEndpoint.get(endpoint);
    if (e === undefined) return;
    this.#byEndpoint.delete(endpoint);
    if (this.#endpointOfId.get(e.registration.id) === endpoint) {
      this.#endpointOfId.delete(e.registration.id);
    }
  }

  /** Forgets the local copy of a registration by id: another process removed it. */
  evictId(id: string): void {
    const endpoint = this.#endpointOfId.get(id);
    if (endpoint !== undefined) this.evict(endpoint);
    else this.#epoch++;
  }

  /** Forgets every local copy (the events that keep them right may have been missed). */
  evictAll(): void {
    this.#epoch++;
    this.#byEndpoint.clear();
    this.#endpointOfId.clear();
  }

  async add(registration: Registration): Promise<Registration | undefined> {
    this.evict(registration.endpoint);
    const epoch = this.#epoch;
    const replaced = await this.#inner.add(registration);
    this.#keep(registration, epoch);
    return replaced;
  }

  async update(
    id: string,
    change: (current: Registration) => Registration,
  ): Promise<{ readonly before: Registration; readonly after: Registration } | undefined> {
    const endpoint = this.#endpointOfId.get(id);
    if (endpoint !== undefined) this.evict(endpoint);
    const epoch = this.#epoch;
    const result = await this.#inner.update(id, change);
    if (result !== undefined) this.#keep(result.after, epoch);
    return result;
  }

  async remove(id: string): Promise<Registration | undefined> {
    const endpoint = this.#endpointOfId.get(id);
    if (endpoint !== undefined) this.evict(endpoint);
    const removed = await this.#inner.remove(id);
    if (removed !== undefined) this.evict(removed.endpoint);
    return removed;
  }

  async getById(id: string): Promise<Registration | undefined> {
    const endpoint = this.#endpointOfId.get(id);
    const cached = endpoint === undefined ? undefined : this.#fresh(endpoint);
    if (cached !== undefined && cached.id === id) return cached;
    const epoch = this.#epoch;
    const reg = await this.#inner.getById(id);
    if (reg !== undefined) this.#keep(reg, epoch);
    return reg;
  }

  async getByEndpoint(endpoint: string): Promise<Registration | undefined> {
    const cached = this.#fresh(endpoint);
    if (cached !== undefined) return cached;
    const epoch = this.#epoch;
    const reg = await this.#inner.getByEndpoint(endpoint);
    // Not cached when absent: a device registering through another process is found at once.
    if (reg !== undefined) this.#keep(reg, epoch);
    return reg;
  }

  async getByPeer(peer: string): Promise<Registration | undefined> {
    const epoch = this.#epoch;
    const reg = await this.#inner.getByPeer?.(peer);
    if (reg !== undefined) this.#keep(reg, epoch);
    return reg;
  }

  list(): Promise<readonly Registration[]> {
    return this.#inner.list();
  }

  async removeExpired(now: number): Promise<readonly Registration[]> {
    const expired = await this.#inner.removeExpired(now);
    for (const r of expired) this.evict(r.endpoint);
    return expired;
  }

  nextExpiry(): Promise<number | undefined> {
    return this.#inner.nextExpiry();
  }

  close(): Promise<void> {
    this.evictAll();
    return this.#inner.close();
  }

  #fresh(endpoint: string): Registration | undefined {
    const e = this.#byEndpoint.get(endpoint);
    if (e === undefined) return undefined;
    const now = this.#now();
    // A registration past its lifetime is the store's to expire, not ours to hand out.
    if (e.until <= now || e.registration.expiresAt <= now) {
      this.evict(endpoint);
      return undefined;
    }
    return e.registration;
  }

  /** Keeps `reg` unless something was evicted since `epoch` (the store's answer began then). */
  #keep(reg: Registration, epoch: number): void {
    if (epoch !== this.#epoch) return;
    const old = this.#byEndpoint.get(reg.endpoint);
    if (old !== undefined) {
      this.#byEndpoint.delete(reg.endpoint);
      if (this.#endpointOfId.get(old.registration.id) === reg.endpoint) {
        this.#endpointOfId.delete(old.registration.id);
      }
    } else if (this.#byEndpoint.size >= this.#maxEntries) {
      const oldest = this.#byEndpoint.keys().next().value;
      if (oldest !== undefined) this.evict(oldest);
    }
    this.#byEndpoint.set(reg.endpoint, { registration: reg, until: this.#now() + this.#ttlMs });
    this.#endpointOfId.set(reg.id, reg.endpoint);
  }
}
