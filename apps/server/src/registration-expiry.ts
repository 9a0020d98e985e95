/**
 * Lifetime expiry (Core TS 1.2 §6.2.1: a registration whose lifetime passes is removed). One
 * timer for the earliest expiry in the store, re-armed after each run. Apart from `LwM2mServer`
 * because it needs only the small `RegistrationExpiryContext` below.
 */
import type { DeregistrationReason } from './events.js';
import type { Registration } from './registration.js';
import type { RegistrationStore } from './registration-store.js';

const DEFAULT_LIFETIME_CEILING = 0x7fff_ffff; // setTimeout's limit, in ms
/** When expiry failed (a shared store unreachable), how soon it is tried again. */
const EXPIRY_RETRY_MS = 1000;

/** What expiry uses of the server. */
export interface RegistrationExpiryContext {
  readonly registrations: RegistrationStore;
  readonly counters: { expirations: number };
  readonly logger: { warn(obj: object, msg: string): void } | undefined;
  /** False once the server is closing: no timer is set any more. */
  accepting(): boolean;
  /** The server serves: after a run the next expiry is looked up in the store. */
  started(): boolean;
  /** A registration is gone: end its observations and queued requests, then say so. */
  ended(reg: Registration, reason: DeregistrationReason): Promise<void>;
}

export class RegistrationExpiry {
  readonly #ctx: RegistrationExpiryContext;
  #timer: NodeJS.Timeout | undefined;
  #at = Number.POSITIVE_INFINITY;

  constructor(ctx: RegistrationExpiryContext) {
    this.#ctx = ctx;
  }

  /** Makes sure expiry runs by `at` (a timer set for later is moved earlier). */
  schedule(at: number): void {
    if (at >= this.#at || !this.#ctx.accepting()) return;
    clearTimeout(this.#timer);
    this.#at = at;
    const delay = Math.min(Math.max(at - Date.now(), 0) + 1, DEFAULT_LIFETIME_CEILING);
    this.#timer = setTimeout(() => void this.#expire(), delay);
  }

  /** Schedules the earliest expiry the store knows of. */
  async arm(): Promise<void> {
    const next = await this.#ctx.registrations.nextExpiry();
    if (next !== undefined) this.schedule(next);
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  async #expire(): Promise<void> {
    const ctx = this.#ctx;
    this.#at = Number.POSITIVE_INFINITY;
    this.#timer = undefined;
    try {
      const expired = await ctx.registrations.removeExpired(Date.now());
      for (const reg of expired) {
        ctx.counters.expirations++;
        await ctx.ended(reg, 'expired');
      }
    } catch (err) {
      ctx.logger?.warn({ err }, 'registration expiry failed');
      this.schedule(Date.now() + EXPIRY_RETRY_MS); // the store may be back by then
    }
    if (ctx.started()) {
      await this.arm().catch(() => this.schedule(Date.now() + EXPIRY_RETRY_MS));
    }
  }
}
