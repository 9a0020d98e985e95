/**
 * Queue mode on the device side (Core TS 1.2, "Queue Mode Operation"): after its last message
 * exchange the client stays reachable for an awake time (at least MAX_TRANSMIT_WAIT,
 * RFC 7252 §4.8.2: 93 s with the default parameters) and then goes offline until it has
 * something to send — the next Update, a Send or a notification — when the server hands over
 * the requests it queued meanwhile.
 *
 * Offline is emulated at the socket: while asleep, incoming requests (and CoAP pings) are
 * dropped before the CoAP endpoint sees them, as if the radio were off, so the server gets no
 * answer and keeps queuing. Responses, ACKs and RSTs still pass (nothing of ours is pending
 * when we fall asleep, and a late ACK must not be answered with RST). Sending any request or
 * notification wakes the client first. This works on the plain UDP socket and on the DTLS
 * socket alike, since both deliver plaintext CoAP through `emit('message')` and take it through
 * `send`.
 */
import type dgram from 'node:dgram';

/** RFC 7252 §4.8.2 MAX_TRANSMIT_WAIT with the default transmission parameters, in ms. */
export const MAX_TRANSMIT_WAIT_MS = 93_000;

export interface QueueModeOptions {
  /** How long to stay reachable after the last exchange (ms). Default MAX_TRANSMIT_WAIT. */
  readonly awakeTime?: number;
  readonly onSleep: () => void;
  readonly onWake: () => void;
}

const TYPE_CON = 0;
const TYPE_NON = 1;

/** The message type and code of a CoAP datagram, or undefined when it is too short. */
function header(buf: Uint8Array): { type: number; code: number } | undefined {
  if (buf.length < 4) return undefined;
  return { type: (buf[0]! >> 4) & 0x03, code: buf[1]! };
}

/** A request (class 0, code ≠ 0) or an empty CON (ping, RFC 7252 §4.3). */
function isRequestOrPing(h: { type: number; code: number }): boolean {
  return (h.code !== 0 && h.code >> 5 === 0) || (h.code === 0 && h.type === TYPE_CON);
}

export class QueueModeGate {
  private readonly awakeTime: number;
  private asleep = false;
  private timer: NodeJS.Timeout | undefined;
  private installed = true;
  private readonly originalEmit: dgram.Socket['emit'];
  private readonly originalSend: dgram.Socket['send'];

  constructor(
    private readonly socket: dgram.Socket,
    private readonly options: QueueModeOptions,
  ) {
    const awakeTime = options.awakeTime ?? MAX_TRANSMIT_WAIT_MS;
    if (!(awakeTime > 0) || !Number.isFinite(awakeTime)) {
      throw new RangeError(`awakeTime must be a positive number of ms, got ${awakeTime}`);
    }
    this.awakeTime = awakeTime;
    // The endpoint subscribes to 'message' and calls send(): both are intercepted on this one
    // socket object, which the client owns (transport.ts made it).
    this.originalEmit = socket.emit;
    this.originalSend = socket.send;
    const gate = this;
    socket.emit = function (this: dgram.Socket, event: string | symbol, ...args: unknown[]) {
      if (event === 'message' && gate.installed && !gate.onIncoming(args[0])) return false;
      return (gate.originalEmit as (...a: unknown[]) => boolean).call(this, event, ...args);
    } as dgram.Socket['emit'];
    socket.send = function (this: dgram.Socket, ...args: unknown[]) {
      if (gate.installed) gate.onOutgoing(args[0]);
      return (gate.originalSend as (...a: unknown[]) => void).apply(this, args);
    } as dgram.Socket['send'];
  }

  get sleeping(): boolean {
    return this.asleep;
  }

  /** Starts the awake timer (after the registration, or at any time to stay awake longer). */
  touch(): void {
    if (!this.installed || this.asleep) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.sleep(), this.awakeTime);
  }

  /** Wakes up now (before sending), restarting the awake time. */
  wake(): void {
    if (!this.installed) return;
    if (this.asleep) {
      this.asleep = false;
      this.options.onWake();
    }
    this.touch();
  }

  /** Stops the timer and lets every datagram through again; the socket is left as it was. */
  dispose(): void {
    if (!this.installed) return;
    this.installed = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.asleep = false;
    this.socket.emit = this.originalEmit;
    this.socket.send = this.originalSend;
  }

  private sleep(): void {
    this.timer = undefined;
    if (!this.installed || this.asleep) return;
    this.asleep = true;
    this.options.onSleep();
  }

  /** False to drop the datagram. */
  private onIncoming(msg: unknown): boolean {
    if (!(msg instanceof Uint8Array)) return true;
    const h = header(msg);
    if (h === undefined) return true; // malformed: the endpoint deals with it
    if (this.asleep) return !isRequestOrPing(h);
    this.touch();
    return true;
  }

  private onOutgoing(msg: unknown): void {
    if (!(msg instanceof Uint8Array)) return;
    const h = header(msg);
    if (h === undefined) return;
    // Our own requests and notifications (CON or NON) are what brings a device back online;
    // ACKs and RSTs answer something received while awake.
    if (h.type === TYPE_CON || h.type === TYPE_NON) this.wake();
    else this.touch();
  }
}
