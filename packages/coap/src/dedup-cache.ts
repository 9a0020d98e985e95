/**
 * A map keyed by (peer address, peer port, message id) whose entries expire: the endpoint's
 * deduplication cache (RFC 7252 §4.5: a duplicate CON within EXCHANGE_LIFETIME gets the same
 * reply again, a duplicate NON is dropped) and its routes from a message id we sent to whoever
 * waits for its ACK or RST.
 *
 * Why not a Map keyed by an `address:port/mid` string (as the endpoint had): every datagram
 * builds a new key string, which V8 must flatten, hash and compare in full on each lookup,
 * several lookups per exchange; that cost more than parsing the datagram. Here the key
 * is a small integer made of a hash of the address and port and the message id. Peers whose
 * hashes collide and that use the same message id at the same time share a key: the entries of
 * one key form a short chain, told apart by address and port.
 *
 * Expiry in two generations: new entries go into `current`; every `periodMs` (or when
 * `current` holds half of `maxEntries` entries) `current` becomes `previous` and the old
 * `previous` is dropped whole. An entry lives at least its ttl (≤ periodMs) and at most twice
 * the period; exact expiry is checked on read. O(1), no timers, bounded under floods.
 */
import { randomBytes } from 'node:crypto';

interface Slot<V> {
  readonly address: string;
  readonly port: number;
  value: V;
  readonly expires: number;
  next: Slot<V> | undefined;
}

/** Seeds the hash per process, so that nobody can pick addresses that all share one key. */
const SEED = randomBytes(4).readUInt32BE(0);
/** Entries one key holds at most (a longer chain loses its oldest): lookups stay O(1). */
const MAX_CHAIN = 8;

/**
 * The numeric key of (address, port, message id): 14 bits of a seeded FNV-1a hash of the
 * address's UTF-16 code units and the port, then the 16 bits of the message id. Under 2^30, so
 * V8 keeps it a small integer (no number object per lookup).
 */
export function messageKey(address: string, port: number, messageId: number): number {
  let h = (0x811c9dc5 ^ SEED) | 0;
  for (let i = 0; i < address.length; i++) {
    h ^= address.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h = Math.imul(h ^ port, 0x01000193);
  return (((h ^ (h >>> 14)) & 0x3fff) << 16) | (messageId & 0xffff);
}

export class MessageIdMap<V> {
  private current = new Map<number, Slot<V>>();
  private previous = new Map<number, Slot<V>>();
  /** Entries in each generation (a key may hold several). */
  private currentCount = 0;
  private previousCount = 0;
  private rotatedAt: number;

  constructor(
    private readonly periodMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {
    this.rotatedAt = now();
  }

  /** Entries held, both generations (expired ones not yet dropped included). */
  get size(): number {
    return this.currentCount + this.previousCount;
  }

  get(address: string, port: number, messageId: number): V | undefined {
    const key = messageKey(address, port, messageId);
    let s = find(this.current.get(key), address, port);
    if (s === undefined) {
      s = find(this.previous.get(key), address, port);
      if (s === undefined) return undefined;
    }
    if (s.expires <= this.now()) {
      this.deleteKey(key, address, port);
      return undefined;
    }
    return s.value;
  }

  /** Adds an entry living `ttlMs` (at most the period); replacing a value keeps its expiry. */
  set(address: string, port: number, messageId: number, value: V, ttlMs: number): void {
    const key = messageKey(address, port, messageId);
    const now = this.now();
    const old =
      find(this.current.get(key), address, port) ?? find(this.previous.get(key), address, port);
    if (old !== undefined && old.expires > now) {
      old.value = value;
      return;
    }
    if (old !== undefined) this.deleteKey(key, address, port);
    if (now - this.rotatedAt >= this.periodMs || this.currentCount * 2 >= this.maxEntries) {
      this.previous = this.current;
      this.previousCount = this.currentCount;
      this.current = new Map();
      this.currentCount = 0;
      this.rotatedAt = now;
    }
    const head = this.current.get(key);
    const slot: Slot<V> = {
      address,
      port,
      value,
      expires: now + Math.min(ttlMs, this.periodMs),
      next: head,
    };
    this.current.set(key, slot);
    this.currentCount++;
    if (head !== undefined) this.currentCount -= trim(slot);
  }

  delete(address: string, port: number, messageId: number): void {
    this.deleteKey(messageKey(address, port, messageId), address, port);
  }

  clear(): void {
    if (this.current.size > 0) this.current.clear();
    if (this.previous.size > 0) this.previous.clear();
    this.currentCount = 0;
    this.previousCount = 0;
  }

  private deleteKey(key: number, address: string, port: number): void {
    if (unlink(this.current, key, address, port)) this.currentCount--;
    if (unlink(this.previous, key, address, port)) this.previousCount--;
  }
}

function find<V>(head: Slot<V> | undefined, address: string, port: number): Slot<V> | undefined {
  let s = head;
  while (s !== undefined && (s.port !== port || s.address !== address)) s = s.next;
  return s;
}

/** Removes the entry of (address, port) from the chain of `key`; true when there was one. */
function unlink<V>(map: Map<number, Slot<V>>, key: number, address: string, port: number): boolean {
  const head = map.get(key);
  if (head === undefined) return false;
  if (head.port === port && head.address === address) {
    if (head.next === undefined) map.delete(key);
    else map.set(key, head.next);
    return true;
  }
  for (let prev = head, s = head.next; s !== undefined; prev = s, s = s.next) {
    if (s.port === port && s.address === address) {
      prev.next = s.next;
      return true;
    }
  }
  return false;
}

/** Cuts a chain after MAX_CHAIN entries; the number of entries cut. */
function trim<V>(head: Slot<V>): number {
  let s: Slot<V> = head;
  for (let n = 1; n < MAX_CHAIN; n++) {
    if (s.next === undefined) return 0;
    s = s.next;
  }
  let cut = 0;
  for (let x = s.next; x !== undefined; x = x.next) cut++;
  s.next = undefined;
  return cut;
}
