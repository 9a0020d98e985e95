import { TimeoutError } from '@lwm2m-ts/core';
import { QueueFullError } from './errors.js';

/** One request waiting for a sleeping client: `run` gets the time it has left. */
interface Waiting {
  readonly run: (timeoutMs: number) => Promise<unknown>;
  readonly deadline: number;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
  readonly timer: NodeJS.Timeout;
  readonly cleanup: () => void;
}

export interface RequestQueueOptions {
  /** Most requests that may wait for one sleeping client. */
  readonly maxQueued: number;
  /**
   * How long a queue-mode client is taken to listen after it last talked to us. Core TS 1.2 §6.3
   * has the client stay awake at least MAX_TRANSMIT_WAIT (93 s with the RFC 7252 defaults).
   */
  readonly awakeTimeMs: number;
  readonly onAwake: () => void;
  readonly onSleeping: () => void;
}

/**
 * Queue mode for one registration (Core TS 1.2 §6.3, the Queue Mode of the device management
 * interface): while the client is awake, requests go at once; while it sleeps they wait, bounded,
 * and go in order the next time it talks to us (Register, Update, Notify, Send), or fail with a
 * TimeoutError when their time runs out first.
 */
export class RequestQueue {
  #awake = true;
  #awakeTimer: NodeJS.Timeout | undefined;
  readonly #waiting: Waiting[] = [];
  #draining = false;
  #closed = false;

  constructor(private readonly options: RequestQueueOptions) {
    this.#armSleep();
  }

  get awake(): boolean {
    return this.#awake;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  /** The client talked to us: it listens for the next `awakeTimeMs`; waiting requests go now. */
  wake(): void {
    if (this.#closed) return;
    const wasAsleep = !this.#awake;
    this.#awake = true;
    this.#armSleep();
    if (wasAsleep) this.options.onAwake();
    void this.#drain();
  }

  /** A request to the client timed out: take it as asleep until it talks again. */
  sleep(): void {
    if (this.#closed || !this.#awake) return;
    this.#awake = false;
    clearTimeout(this.#awakeTimer);
    this.options.onSleeping();
  }

  /** Runs `run` now when the client is awake, else when it wakes; rejects on timeout or when full. */
  submit<T>(
    run: (timeoutMs: number) => Promise<T>,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<T> {
    if (this.#awake && !this.#draining && this.#waiting.length === 0) return run(timeoutMs);
    if (this.#waiting.length >= this.options.maxQueued) {
      return Promise.reject(
        new QueueFullError(
          `the client is sleeping and ${this.#waiting.length} requests already wait for it`,
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        this.#remove(entry);
        reject(signal?.reason);
      };
      const entry: Waiting = {
        run: run as (timeoutMs: number) => Promise<unknown>,
        deadline: Date.now() + timeoutMs,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: setTimeout(() => {
          this.#remove(entry);
          reject(
            new TimeoutError(
              `the client is sleeping (queue mode) and did not wake up within ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs),
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(entry);
    });
  }

  /** Fails every waiting request with `error` (the registration went away) and stops the timers. */
  close(error: Error): void {
    this.#closed = true;
    clearTimeout(this.#awakeTimer);
    for (const w of this.#waiting.splice(0)) {
      clearTimeout(w.timer);
      w.cleanup();
      w.reject(error);
    }
  }

  #remove(entry: Waiting): void {
    const i = this.#waiting.indexOf(entry);
    if (i >= 0) this.#waiting.splice(i, 1);
    clearTimeout(entry.timer);
    entry.cleanup();
  }

  #armSleep(): void {
    clearTimeout(this.#awakeTimer);
    this.#awakeTimer = setTimeout(() => this.sleep(), this.options.awakeTimeMs);
    this.#awakeTimer.unref();
  }

  // One at a time: a constrained device that just woke up gets its requests in order.
  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#awake && !this.#closed && this.#waiting.length > 0) {
        const entry = this.#waiting.shift()!;
        clearTimeout(entry.timer);
        entry.cleanup();
        const left = entry.deadline - Date.now();
        if (left <= 0) {
          entry.reject(new TimeoutError('the request timed out while the client was sleeping'));
          continue;
        }
        try {
          entry.resolve(await entry.run(left));
        } catch (err) {
          entry.reject(err);
        }
      }
    } finally {
      this.#draining = false;
    }
  }
}
