import { describe, expect, it } from 'vitest';
import { MessageIdMap, messageKey } from './dedup-cache.js';

/** Addresses whose key collides with `address`'s for `port` and `mid` (found by trying). */
function collisions(address: string, port: number, mid: number, count: number): string[] {
  const key = messageKey(address, port, mid);
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    const a = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    if (a !== address && messageKey(a, port, mid) === key) out.push(a);
  }
  return out;
}

describe('MessageIdMap', () => {
  it('keeps entries apart by address, port and message id', () => {
    const m = new MessageIdMap<string>(1000, 100);
    m.set('127.0.0.1', 5683, 1, 'a', 1000);
    m.set('127.0.0.1', 5684, 1, 'b', 1000);
    m.set('127.0.0.1', 5683, 2, 'c', 1000);
    m.set('::1', 5683, 1, 'd', 1000);
    expect(m.get('127.0.0.1', 5683, 1)).toBe('a');
    expect(m.get('127.0.0.1', 5684, 1)).toBe('b');
    expect(m.get('127.0.0.1', 5683, 2)).toBe('c');
    expect(m.get('::1', 5683, 1)).toBe('d');
    expect(m.get('127.0.0.2', 5683, 1)).toBeUndefined();
    m.delete('127.0.0.1', 5683, 1);
    expect(m.get('127.0.0.1', 5683, 1)).toBeUndefined();
    expect(m.get('127.0.0.1', 5684, 1)).toBe('b');
    expect(m.size).toBe(3);
    m.clear();
    expect(m.size).toBe(0);
    expect(m.get('::1', 5683, 1)).toBeUndefined();
  });

  it('makes keys that are small integers', () => {
    for (const [a, p, mid] of [
      ['127.0.0.1', 65535, 65535],
      ['2001:db8::1', 1, 0],
      ['', 0, 0],
    ] as const) {
      const k = messageKey(a, p, mid);
      expect(Number.isInteger(k)).toBe(true);
      expect(k).toBeGreaterThanOrEqual(0);
      expect(k).toBeLessThan(2 ** 30);
    }
  });

  it('expires entries after their ttl; replacing a value keeps the expiry', () => {
    let now = 0;
    const m = new MessageIdMap<string>(1000, 100, () => now);
    m.set('a', 1, 1, 'x', 100);
    now = 50;
    m.set('a', 1, 1, 'y', 100);
    expect(m.get('a', 1, 1)).toBe('y');
    now = 100;
    expect(m.get('a', 1, 1)).toBeUndefined();
    expect(m.size).toBe(0);
    // A ttl over the period is cut to the period.
    m.set('a', 1, 2, 'z', 10_000);
    now = 1099;
    expect(m.get('a', 1, 2)).toBe('z');
    now = 1100;
    expect(m.get('a', 1, 2)).toBeUndefined();
  });

  it('drops the older generation whole, by time and by count', () => {
    let now = 0;
    const m = new MessageIdMap<number>(1000, 10, () => now);
    for (let i = 0; i < 5; i++) m.set('p', 1, i, i, 1000);
    // Half of maxEntries in the current generation: the next set starts a new one.
    m.set('p', 1, 5, 5, 1000);
    expect(m.get('p', 1, 0)).toBe(0); // in the previous generation, still there
    for (let i = 6; i < 10; i++) m.set('p', 1, i, i, 1000);
    m.set('p', 1, 10, 10, 1000); // rotates again: entries 0–4 are gone
    expect(m.get('p', 1, 0)).toBeUndefined();
    expect(m.get('p', 1, 5)).toBe(5);
    expect(m.size).toBeLessThanOrEqual(10);
    now = 1000;
    m.set('p', 1, 11, 11, 1000); // the period passed: rotates
    expect(m.get('p', 1, 10)).toBeUndefined(); // expired anyway (ttl 1000)
    expect(m.get('p', 1, 11)).toBe(11);
  });

  it('tells peers whose keys collide apart, and bounds a chain', () => {
    const m = new MessageIdMap<string>(10_000, 1000);
    const others = collisions('192.0.2.1', 5683, 7, 10);
    m.set('192.0.2.1', 5683, 7, 'first', 10_000);
    for (const a of others) m.set(a, 5683, 7, a, 10_000);
    // Only the newest 8 of one key are kept.
    const kept = [...others.slice(-8)];
    for (const a of kept) expect(m.get(a, 5683, 7)).toBe(a);
    expect(m.get('192.0.2.1', 5683, 7)).toBeUndefined();
    expect(m.size).toBe(8);
    // Deleting from the middle of a chain leaves the rest.
    m.delete(kept[3]!, 5683, 7);
    expect(m.get(kept[3]!, 5683, 7)).toBeUndefined();
    expect(m.get(kept[2]!, 5683, 7)).toBe(kept[2]);
    expect(m.get(kept[4]!, 5683, 7)).toBe(kept[4]);
    expect(m.size).toBe(7);
  });
});
