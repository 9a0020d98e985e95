import { describe, expect, it } from 'vitest';
import { keyDigest, SessionCache } from './session-cache.js';

const entry = (identity: string) => ({
  master: Buffer.alloc(48, 1),
  suite: 0xc0a8,
  extendedMasterSecret: true,
  identity,
  keyDigest: keyDigest(Buffer.from('k')),
});

describe('SessionCache', () => {
  it('returns entries until they expire', () => {
    let now = 0;
    const cache = new SessionCache({ maxEntries: 10, lifetimeMs: 100, now: () => now });
    cache.set(Buffer.from([1]), entry('a'));
    now = 99;
    expect(cache.get(Buffer.from([1]))?.identity).toBe('a');
    now = 100;
    expect(cache.get(Buffer.from([1]))).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('drops the oldest entry when full and forgets deleted ones', () => {
    const cache = new SessionCache({ maxEntries: 2, lifetimeMs: 1000 });
    cache.set(Buffer.from([1]), entry('a'));
    cache.set(Buffer.from([2]), entry('b'));
    cache.set(Buffer.from([3]), entry('c'));
    expect(cache.get(Buffer.from([1]))).toBeUndefined();
    expect(cache.get(Buffer.from([2]))?.identity).toBe('b');
    cache.delete(Buffer.from([2]));
    expect(cache.get(Buffer.from([2]))).toBeUndefined();
    expect(cache.size).toBe(1);
  });
});
