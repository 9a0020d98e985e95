import { initialRetransmitTimeout, type Timing } from './timing.js';

/**
 * CON retransmission with exponential back-off (RFC 7252 §4.2) for the messages this layer sends
 * itself (notifications). Why not node-coap's RetrySend: it reads the process-global timing, and
 * it only reports failure after EXCHANGE_LIFETIME (247 s by default) through a timer that is not
 * unref'd; a server must drop an observer whose CON notification goes unacknowledged after
 * MAX_TRANSMIT_WAIT (RFC 7641 §4.5), and `close()` must leave no timer behind.
 */
export class Retransmitter {
  private timer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private timeout: number;

  constructor(
    private send: () => void,
    private readonly timing: Timing,
    private readonly onGiveUp: () => void,
  ) {
    this.timeout = initialRetransmitTimeout(timing);
  }

  get active(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    this.send();
    this.arm();
  }

  /**
   * Sends `send` instead of the message in flight, keeping the retransmission counter and timeout
   * (RFC 7641 §4.5.2: a newer notification takes over from an unacknowledged older one).
   */
  replace(send: () => void): void {
    this.send = send;
    this.send();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      if (this.attempts >= this.timing.maxRetransmit) {
        this.timer = undefined;
        this.onGiveUp();
        return;
      }
      this.attempts++;
      this.timeout *= 2;
      this.send();
      this.arm();
    }, this.timeout);
  }
}
