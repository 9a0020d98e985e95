import { createHash } from 'node:crypto';

/** What resuming a session needs (RFC 5246 §7.3, §7.4.1.2). */
export interface CachedSession {
  readonly master: Buffer;
  readonly suite: number;
  readonly extendedMasterSecret: boolean;
  readonly identity: string;
  /** SHA-256 of the PSK, so a resumption is refused once the key changed or was removed. */
  readonly keyDigest: Buffer;
}

export function keyDigest(key: Uint8Array): Buffer {
  return createHash('sha256').update(key).digest();
}

/**
 * Sessions that may be resumed by session ID, bounded in count and age. The oldest entry goes
 * first when full (Map order is insertion order).
 */
export class SessionCache {
  readonly #entries = new Map<string, { session: CachedSession; expires: number }>();
  readonly #max: number;
  readonly #lifetimeMs: number;
  readonly #now: () => number;

  constructor(options: { maxEntries: number; lifetimeMs: number; now?: () => number }) {
    this.#max = options.maxEntries;
    this.#lifetimeMs = options.lifetimeMs;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(id: Uint8Array): CachedSession | undefined {
    const key = Buffer.from(id).toString('hex');
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if (e.expires <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.session;
  }

  set(id: Uint8Array, session: CachedSession): void {
    const key = Buffer.from(id).toString('hex');
    this.#entries.delete(key);
    while (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { session, expires: this.#now() + this.#lifetimeMs });
  }

  delete(id: Uint8Array): void {
    this.#entries.delete(Buffer.from(id).toString('hex'));
  }
}
