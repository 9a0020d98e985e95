import type { Registration } from './registration.js';
import type { RegistrationStore } from './registration-store.js';

/**
 * A binary min-heap of `(expiresAt, id)` pairs kept in two parallel arrays, so an entry costs a
 * double and a pointer to the id string the registration already holds (no object per entry,
 * no copy of the registration).
 *
 * Entries are never removed from the middle: an entry is *live* only while the store still holds
 * a registration with that id whose `expiresAt` equals the entry's time. Removal, replacement and
 * an Update that moves `expiresAt` just leave the old entry behind (lazy deletion); stale entries
 * are dropped when they reach the top, and the heap is rebuilt from the live registrations when
 * stale entries outnumber live ones, so its size stays within about twice the registrations held.
 */
class ExpiryHeap {
  private times: number[] = [];
  private ids: string[] = [];

  get size(): number {
    return this.times.length;
  }

  push(time: number, id: string): void {
    const times = this.times;
    const ids = this.ids;
    let i = times.length;
    times.push(time);
    ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent]!;
      if (pt <= time) break;
      times[i] = pt;
      ids[i] = ids[parent]!;
      i = parent;
    }
    times[i] = time;
    ids[i] = id;
  }

  /** Time of the top entry; undefined when empty. */
  peekTime(): number | undefined {
    return this.times[0];
  }

  peekId(): string | undefined {
    return this.ids[0];
  }

  pop(): void {
    const times = this.times;
    const ids = this.ids;
    const lastTime = times.pop();
    const lastId = ids.pop();
    if (times.length === 0 || lastTime === undefined || lastId === undefined) return;
    this.siftDown(0, lastTime, lastId);
  }

  /** Replaces the contents with these pairs (same length) and restores the heap order in O(n). */
  rebuild(times: number[], ids: string[]): void {
    this.times = times;
    this.ids = ids;
    for (let i = (times.length >> 1) - 1; i >= 0; i--) this.siftDown(i, times[i]!, ids[i]!);
  }

  clear(): void {
    this.times = [];
    this.ids = [];
  }

  private siftDown(start: number, time: number, id: string): void {
    const times = this.times;
    const ids = this.ids;
    const n = times.length;
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && times[child + 1]! < times[child]!) child++;
      const ct = times[child]!;
      if (ct >= time) break;
      times[i] = ct;
      ids[i] = ids[child]!;
      i = child;
    }
    times[i] = time;
    ids[i] = id;
  }
}

function checkExpiry(reg: Registration): void {
  if (!Number.isFinite(reg.expiresAt)) {
    throw new TypeError(
      `registration ${JSON.stringify(reg.id)} has a non-finite expiresAt (${reg.expiresAt})`,
    );
  }
}

/** Heap entries allowed beyond twice the live registrations before a rebuild. */
const COMPACT_SLACK = 1024;

/**
 * Registrations in process memory: the default store of a single server process.
 *
 * Two maps (by id and by endpoint) hold the same `Registration` objects, so a registration is
 * kept once whatever the number of indexes; an expiry min-heap makes `nextExpiry` O(1) amortized
 * and `removeExpired` O(k log n) for k expired registrations. Registrations are stored as given
 * (the interface's `Registration` is readonly; callers must not mutate what they pass in).
 *
 * Every method runs to completion synchronously before its promise settles, so `update` is atomic
 * with respect to every other call in this process.
 */
export class InMemoryRegistrationStore implements RegistrationStore {
  private readonly byId = new Map<string, Registration>();
  private readonly byEndpoint = new Map<string, Registration>();
  private readonly heap = new ExpiryHeap();

  /** How many registrations are held (for metrics and tests). */
  get size(): number {
    return this.byId.size;
  }

  async add(registration: Registration): Promise<Registration | undefined> {
    checkExpiry(registration);
    const clash = this.byId.get(registration.id);
    if (clash !== undefined && clash.endpoint !== registration.endpoint) {
      throw new TypeError(
        `registration id ${JSON.stringify(registration.id)} is already used by endpoint ${JSON.stringify(clash.endpoint)}`,
      );
    }
    const previous = this.byEndpoint.get(registration.endpoint);
    if (previous !== undefined) this.byId.delete(previous.id);
    this.byId.set(registration.id, registration);
    this.byEndpoint.set(registration.endpoint, registration);
    this.schedule(registration);
    return previous;
  }

  async update(
    id: string,
    change: (current: Registration) => Registration,
  ): Promise<{ readonly before: Registration; readonly after: Registration } | undefined> {
    const before = this.byId.get(id);
    if (before === undefined) return undefined;
    const after = change(before);
    if (after.id !== before.id || after.endpoint !== before.endpoint) {
      throw new TypeError(
        `a registration update must keep id and endpoint (${JSON.stringify(before.id)}, ${JSON.stringify(before.endpoint)}), got (${JSON.stringify(after.id)}, ${JSON.stringify(after.endpoint)})`,
      );
    }
    checkExpiry(after);
    this.byId.set(id, after);
    this.byEndpoint.set(after.endpoint, after);
    // The heap entry of `before` stays valid while the expiry time is unchanged.
    if (after.expiresAt !== before.expiresAt) this.schedule(after);
    return { before, after };
  }

  async remove(id: string): Promise<Registration | undefined> {
    return this.removeNow(id);
  }

  async getById(id: string): Promise<Registration | undefined> {
    return this.byId.get(id);
  }

  async getByEndpoint(endpoint: string): Promise<Registration | undefined> {
    return this.byEndpoint.get(endpoint);
  }

  async list(): Promise<readonly Registration[]> {
    return Array.from(this.byId.values());
  }

  async removeExpired(now: number): Promise<readonly Registration[]> {
    const expired: Registration[] = [];
    const heap = this.heap;
    for (;;) {
      const time = heap.peekTime();
      if (time === undefined || !(time <= now)) break;
      const id = heap.peekId()!;
      heap.pop();
      const reg = this.byId.get(id);
      // A stale entry (removed, replaced, or moved by an Update) is simply dropped. Removing the
      // registration here makes any duplicate live entry stale, so each is returned once.
      if (reg !== undefined && reg.expiresAt === time) {
        this.removeNow(id);
        expired.push(reg);
      }
    }
    return expired;
  }

  async nextExpiry(): Promise<number | undefined> {
    const heap = this.heap;
    for (;;) {
      const time = heap.peekTime();
      if (time === undefined) return undefined;
      const reg = this.byId.get(heap.peekId()!);
      if (reg !== undefined && reg.expiresAt === time) return time;
      heap.pop();
    }
  }

  async close(): Promise<void> {
    this.byId.clear();
    this.byEndpoint.clear();
    this.heap.clear();
  }

  private removeNow(id: string): Registration | undefined {
    const reg = this.byId.get(id);
    if (reg === undefined) return undefined;
    this.byId.delete(id);
    if (this.byEndpoint.get(reg.endpoint) === reg) this.byEndpoint.delete(reg.endpoint);
    return reg;
  }

  private schedule(reg: Registration): void {
    this.heap.push(reg.expiresAt, reg.id);
    if (this.heap.size > 2 * this.byId.size + COMPACT_SLACK) this.compact();
  }

  /** Rebuilds the heap with exactly one entry per registration held. */
  private compact(): void {
    const times: number[] = [];
    const ids: string[] = [];
    for (const reg of this.byId.values()) {
      times.push(reg.expiresAt);
      ids.push(reg.id);
    }
    this.heap.rebuild(times, ids);
  }
}
