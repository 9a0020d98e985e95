/**
 * Retry timing of the registration procedure (Core TS 1.2 §6.2.1, with the Communication Retry
 * resources of the Server object, /1/x/17–20, added in 1.1): attempts are grouped in
 * communication sequences. Within a sequence the wait before retry n is Communication Retry
 * Timer × 2^(n−1); once Communication Retry Count attempts failed, the next sequence starts
 * after Communication Sequence Delay Timer × 2^(s−1), and after Communication Sequence Retry
 * Count sequences the registration has failed.
 *
 * The spec's defaults (5 attempts, 60 s, 24 h, 1 sequence) suit a battery device; an emulator
 * or a load test wants to find its server again within seconds, so `DEFAULT_RETRY_POLICY` is
 * shorter and never gives up. Values the server object holds replace them (see
 * server-account.ts). Every delay gets some random jitter so a fleet that lost its server does
 * not come back in lock-step.
 */

export interface RetryPolicy {
  /** Communication Retry Count (/1/x/17): attempts in one communication sequence (≥ 1). */
  readonly retryCount: number;
  /** Communication Retry Timer (/1/x/18), in ms: the wait before the first retry of a sequence. */
  readonly retryTimer: number;
  /** Communication Sequence Delay Timer (/1/x/19), in ms: the wait before the second sequence. */
  readonly sequenceDelay: number;
  /**
   * Communication Sequence Retry Count (/1/x/20): sequences before the registration is given up
   * (`Infinity`: never).
   */
  readonly sequenceRetryCount: number;
  /** No wait is longer than this (ms), however many attempts failed. */
  readonly maxDelay: number;
  /** 0..1: each wait is scaled by a random factor in [1 − jitter, 1]. */
  readonly jitter: number;
}

/** The spec's defaults (Core TS 1.2 §6.2.1), for devices that want exactly the spec's timing. */
export const SPEC_RETRY_POLICY: RetryPolicy = Object.freeze({
  retryCount: 5,
  retryTimer: 60_000,
  sequenceDelay: 86_400_000,
  sequenceRetryCount: 1,
  maxDelay: Number.POSITIVE_INFINITY,
  jitter: 0,
});

/** What the client uses when the server object does not say: 1 s, 2 s, 4 s, 8 s, then 30 s, 60 s … capped at 5 min. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  retryCount: 5,
  retryTimer: 1000,
  sequenceDelay: 30_000,
  sequenceRetryCount: Number.POSITIVE_INFINITY,
  maxDelay: 300_000,
  jitter: 0.2,
});

/** Checks a policy (user input or object 1 values), throwing RangeError on nonsense. */
export function checkRetryPolicy(policy: RetryPolicy): RetryPolicy {
  const { retryCount, retryTimer, sequenceDelay, sequenceRetryCount, maxDelay, jitter } = policy;
  if (!(Number.isInteger(retryCount) && retryCount >= 1)) {
    throw new RangeError(`retryCount must be an integer ≥ 1, got ${retryCount}`);
  }
  if (!(sequenceRetryCount >= 1) || Number.isNaN(sequenceRetryCount)) {
    throw new RangeError(`sequenceRetryCount must be ≥ 1, got ${sequenceRetryCount}`);
  }
  for (const [name, v] of [
    ['retryTimer', retryTimer],
    ['sequenceDelay', sequenceDelay],
    ['maxDelay', maxDelay],
  ] as const) {
    if (!(v >= 0)) throw new RangeError(`${name} must be ≥ 0 ms, got ${v}`);
  }
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`jitter must be in 0..1, got ${jitter}`);
  return policy;
}

/** Where a back-off stands: the attempt within the sequence and the sequence, both from 1. */
export interface BackoffPosition {
  readonly attempt: number;
  readonly sequence: number;
}

/**
 * One registration attempt series. Call `next()` after each failed attempt: it returns how long
 * to wait before the next one, or undefined when the policy is used up.
 */
export class Backoff {
  private attempt = 1;
  private sequence = 1;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly random: () => number = Math.random,
  ) {
    checkRetryPolicy(policy);
  }

  /** The attempt about to be made (or just made) and its sequence. */
  position(): BackoffPosition {
    return { attempt: this.attempt, sequence: this.sequence };
  }

  next(): number | undefined {
    const p = this.policy;
    let base: number;
    if (this.attempt < p.retryCount) {
      base = p.retryTimer * 2 ** (this.attempt - 1);
      this.attempt++;
    } else if (this.sequence < p.sequenceRetryCount) {
      base = p.sequenceDelay * 2 ** (this.sequence - 1);
      this.sequence++;
      this.attempt = 1;
    } else {
      return undefined;
    }
    const capped = Math.min(base, p.maxDelay);
    return Math.round(capped * (1 - p.jitter * this.random()));
  }

  reset(): void {
    this.attempt = 1;
    this.sequence = 1;
  }
}
