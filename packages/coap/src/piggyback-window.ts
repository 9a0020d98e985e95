/**
 * The piggyback window of requests whose handler is still running (RFC 7252 §5.2.2): a CON
 * request not answered within `windowMs` gets an empty ACK, and its response goes separately.
 *
 * Why one timer per endpoint and not one per request: nearly every handler answers long before
 * the window closes, so a timer per request is armed and cancelled for nothing, thousands of
 * times a second under load. Every entry has the same window, so the entries expire in the order
 * they were added: one FIFO queue and one timer for its head do. An entry answered in time is
 * marked `done` and dropped from the queue when it reaches the head. The timer is armed only
 * while something waits, and `clear()` (the endpoint's close) stops it.
 */
export interface PiggybackEntry {
  /** Set when the response went out (or will not): the window no longer matters. */
  done: boolean;
  /** When the window closes (Date.now() ms); set by `add`. */
  deadline: number;
}

export class PiggybackWindow<E extends PiggybackEntry> {
  private queue: (E | undefined)[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly windowMs: number,
    /** Called once for an entry whose window closed before it was done. */
    private readonly expired: (entry: E) => void,
  ) {}

  /** Entries waiting (done ones not yet dropped included). */
  get size(): number {
    return this.queue.length - this.head;
  }

  add(entry: E): void {
    this.dropDone();
    entry.deadline = Date.now() + this.windowMs;
    this.queue.push(entry);
    if (this.timer === undefined) this.timer = setTimeout(this.fire, this.windowMs);
  }

  /** Stops the timer and forgets every entry (nothing expires any more). */
  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
    this.head = 0;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = Date.now();
    while (this.head < this.queue.length) {
      const e = this.queue[this.head]!;
      if (!e.done && e.deadline > now) {
        this.timer = setTimeout(this.fire, e.deadline - now);
        break;
      }
      this.queue[this.head++] = undefined;
      if (!e.done) {
        e.done = true;
        this.expired(e);
      }
    }
    this.compact();
  };

  private dropDone(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.done) {
      this.queue[this.head++] = undefined;
    }
    this.compact();
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      if (this.head > 0) {
        this.queue.length = 0;
        this.head = 0;
      }
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
