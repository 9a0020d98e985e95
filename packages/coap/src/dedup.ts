/**
 * A map whose entries expire, for message-id deduplication and ACK routing.
 *
 * Two generations: new entries go into `current`; every `periodMs` (or when `current` holds half
 * of `maxEntries`) `current` becomes `previous` and the old `previous` is dropped whole. An entry
 * thus lives at least `periodMs` (give every entry a ttl ≤ periodMs) and at most twice that, and
 * exact expiry is checked on read. Everything is O(1) and there are no timers, so it never keeps
 * the process alive; the cap bounds memory under floods (by shortening how long ids are kept).
 */
export class ExpiringMap<V> {
  private current = new Map<string, { value: V; expires: number }>();
  private previous = new Map<string, { value: V; expires: number }>();
  private rotatedAt: number;

  constructor(
    private readonly periodMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {
    this.rotatedAt = now();
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  get(key: string): V | undefined {
    const e = this.current.get(key) ?? this.previous.get(key);
    if (e === undefined) return undefined;
    if (e.expires <= this.now()) {
      this.delete(key);
      return undefined;
    }
    return e.value;
  }

  /** Adds an entry living `ttlMs` (at most the period); replacing a value keeps its expiry. */
  set(key: string, value: V, ttlMs: number): void {
    const now = this.now();
    const old = this.current.get(key) ?? this.previous.get(key);
    if (old !== undefined && old.expires > now) {
      old.value = value;
      return;
    }
    if (now - this.rotatedAt >= this.periodMs || this.current.size * 2 >= this.maxEntries) {
      this.previous = this.current;
      this.current = new Map();
      this.rotatedAt = now;
    }
    this.current.set(key, { value, expires: now + Math.min(ttlMs, this.periodMs) });
  }

  delete(key: string): void {
    this.current.delete(key);
    this.previous.delete(key);
  }

  clear(): void {
    this.current.clear();
    this.previous.clear();
  }
}
