import { describe, expect, it } from 'vitest';
import { createRng, deriveSeed } from './prng.js';

describe('createRng', () => {
  it('repeats the same sequence for the same seed', () => {
    const a = createRng(42);
    const b = createRng(42);
    const xs = Array.from({ length: 100 }, () => a.next());
    const ys = Array.from({ length: 100 }, () => b.next());
    expect(xs).toEqual(ys);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('differs between seeds', () => {
    expect(createRng(1).next()).not.toBe(createRng(2).next());
    expect(deriveSeed(7, 0)).not.toBe(deriveSeed(7, 1));
  });

  it('is roughly uniform', () => {
    const rng = createRng(3);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) buckets[rng.int(10)]! += 1;
    for (const n of buckets) expect(n).toBeGreaterThan(850);
    expect(rng.bytes(5)).toHaveLength(5);
    const r = rng.range(3, 4);
    expect(r === 3 || r === 4).toBe(true);
    expect(() => rng.int(0)).toThrow(RangeError);
  });
});
