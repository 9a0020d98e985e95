/**
 * A small seeded pseudo-random generator (mulberry32): the same seed gives the same sequence on
 * every run and machine, so lossy-network and fuzz tests are reproducible. Not for cryptography.
 */
export interface Rng {
  /** The seed this generator started from (normalised to an unsigned 32-bit integer). */
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n) (n ≥ 1). */
  int(n: number): number;
  /** An integer in [min, max] inclusive. */
  range(min: number, max: number): number;
  /** `n` random bytes. */
  bytes(n: number): Uint8Array;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
}

/** Creates a generator from any number (it is folded to 32 bits). */
export function createRng(seed: number): Rng {
  const start = normaliseSeed(seed);
  let state = start;
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => {
    if (!Number.isInteger(n) || n < 1)
      throw new RangeError(`int(n) needs an integer n >= 1, got ${n}`);
    return Math.floor(next() * n);
  };
  return {
    seed: start,
    next,
    int,
    range: (min, max) => min + int(max - min + 1),
    bytes: (n) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = int(256);
      return out;
    },
    pick: (items) => {
      if (items.length === 0) throw new RangeError('pick() needs a non-empty array');
      return items[int(items.length)]!;
    },
  };
}

/** Derives an independent seed from a base seed and a stream number (e.g. one per direction). */
export function deriveSeed(seed: number, stream: number): number {
  let h = normaliseSeed(seed) ^ Math.imul(stream + 1, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function normaliseSeed(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  // Fold the integer and fractional parts so 1.5 and 1 differ.
  const whole = Math.trunc(seed);
  const frac = Math.round((seed - whole) * 0x100000000);
  return (whole ^ Math.imul(frac, 0x27d4eb2d)) >>> 0;
}
