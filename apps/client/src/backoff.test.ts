import { describe, expect, it } from 'vitest';
import { Backoff, DEFAULT_RETRY_POLICY, type RetryPolicy, SPEC_RETRY_POLICY } from './backoff.js';

function drain(b: Backoff, max = 50): number[] {
  const out: number[] = [];
  for (let i = 0; i < max; i++) {
    const d = b.next();
    if (d === undefined) break;
    out.push(d);
  }
  return out;
}

describe('Backoff', () => {
  it('follows the spec: retry timer × 2^(n−1) within a sequence, then give up after one sequence', () => {
    // 5 attempts: 4 waits of 60, 120, 240, 480 s; sequence retry count 1 → done.
    expect(drain(new Backoff(SPEC_RETRY_POLICY))).toEqual([60_000, 120_000, 240_000, 480_000]);
  });

  it('waits the sequence delay × 2^(s−1) between sequences', () => {
    const policy: RetryPolicy = {
      retryCount: 3,
      retryTimer: 10,
      sequenceDelay: 1000,
      sequenceRetryCount: 3,
      maxDelay: Number.POSITIVE_INFINITY,
      jitter: 0,
    };
    expect(drain(new Backoff(policy))).toEqual([10, 20, 1000, 10, 20, 2000, 10, 20]);
  });

  it('caps every wait at maxDelay and never ends by default', () => {
    const b = new Backoff({ ...DEFAULT_RETRY_POLICY, jitter: 0 });
    const waits = drain(b, 40);
    expect(waits).toHaveLength(40);
    expect(waits.slice(0, 5)).toEqual([1000, 2000, 4000, 8000, 30_000]);
    expect(Math.max(...waits)).toBe(300_000);
  });

  it('applies jitter within [1 − jitter, 1] of the wait', () => {
    const low = new Backoff({ ...DEFAULT_RETRY_POLICY, jitter: 0.5 }, () => 1);
    expect(low.next()).toBe(500);
    const high = new Backoff({ ...DEFAULT_RETRY_POLICY, jitter: 0.5 }, () => 0);
    expect(high.next()).toBe(1000);
  });

  it('reports its position and starts over on reset', () => {
    const b = new Backoff({ ...DEFAULT_RETRY_POLICY, jitter: 0, retryCount: 2 });
    expect(b.position()).toEqual({ attempt: 1, sequence: 1 });
    b.next();
    expect(b.position()).toEqual({ attempt: 2, sequence: 1 });
    b.next();
    expect(b.position()).toEqual({ attempt: 1, sequence: 2 });
    b.reset();
    expect(b.position()).toEqual({ attempt: 1, sequence: 1 });
    expect(b.next()).toBe(1000);
  });

  it('refuses nonsense policies', () => {
    expect(() => new Backoff({ ...DEFAULT_RETRY_POLICY, retryCount: 0 })).toThrow(RangeError);
    expect(() => new Backoff({ ...DEFAULT_RETRY_POLICY, jitter: 2 })).toThrow(RangeError);
    expect(() => new Backoff({ ...DEFAULT_RETRY_POLICY, retryTimer: -1 })).toThrow(RangeError);
    expect(() => new Backoff({ ...DEFAULT_RETRY_POLICY, sequenceRetryCount: 0 })).toThrow(
      RangeError,
    );
  });
});
