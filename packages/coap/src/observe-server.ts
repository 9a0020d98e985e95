/**
 * The server side of an observation (RFC 7641 §4): notifications with sequence numbers, CON
 * every so often, cancellation by RST, deregistration, CON timeout and endpoint close.
 *
 * Why notifications are sent here and not by node-coap's ObserveWriteStream: that stream sends
 * every notification with the registration's message type (always CON for a CON registration,
 * and a malformed ACK-typed one for a NON registration), restarts sequence numbers at 1 for each
 * registration, never sends a large notification block-wise, answers a slow registration with no
 * empty ACK, and a RST only cancels it for CON notifications. The first response still goes
 * through node-coap (piggybacked or separate, Block2), with our Observe option added.
 */
import { isSuccessCode } from '@lwm2m-ts/core';
import { isDiagnostic, truncateDiagnostic } from './diagnostic.js';
import { ObservationEndedError } from './errors.js';
import type {
  CoapResponse,
  NotifyOptions,
  ObservationEndReason,
  Peer,
  ServerObservation,
} from './message.js';
import { encodeBlock, encodeUint, OptionNumber } from './options.js';
import { Retransmitter } from './retransmit.js';
import type { Timing } from './timing.js';
import { codeByte, encodeMessage, MessageType } from './wire.js';

/** What an observation needs from its endpoint. */
export interface ObservationHost {
  readonly timing: Timing;
  readonly conEvery: number;
  readonly blockSize: number;
  nextSequence(): number;
  nextMessageId(): number;
  /** Sends a datagram to the peer (through the endpoint's socket). */
  sendTo(peer: Peer, buf: Buffer): void;
  /** Routes ACK/RST for (peer, message id) to this observation until it is untracked or expires. */
  track(peer: Peer, messageId: number, obs: ServerObservationImpl, confirmable: boolean): void;
  untrack(peer: Peer, messageId: number): void;
  /** Removes the observation from the endpoint's list. */
  removed(obs: ServerObservationImpl): void;
  /** Retransmissions that outlive their observation (a final non-2.xx notification) until acknowledged. */
  adopt(r: Retransmitter): void;
  release(r: Retransmitter): void;
}

/** A day: at least one CON notification that often (RFC 7641 §4.5). */
const CON_AT_LEAST_EVERY_MS = 24 * 3600 * 1000;
/** Notifications up to this size go in one message whatever the block size (RFC 7252 §4.6). */
const SINGLE_MESSAGE_PAYLOAD = 1024;

interface InFlight {
  messageId: number;
  readonly retransmitter: Retransmitter;
}

export class ServerObservationImpl implements ServerObservation {
  private readonly controller = new AbortController();
  private state: 'pending' | 'active' | 'ended' = 'pending';
  private reason: ObservationEndReason | undefined;
  private sent = 0;
  private lastConAt = Date.now();
  /** The CON notification awaiting its ACK. */
  private inFlight: InFlight | undefined;
  /** The final (non-2.xx) notification, retransmitted after the observation ended. */
  private final: InFlight | undefined;
  private queued: { response: CoapResponse; options?: NotifyOptions } | undefined;

  constructor(
    private readonly host: ObservationHost,
    readonly peer: Peer,
    readonly token: Buffer,
    /** `${address}:${port}/${token hex}` */
    readonly key: string,
    /** Uri-Path joined with '/', to match a deregistration that uses another token. */
    readonly path: string,
  ) {}

  get cancelled(): boolean {
    return this.state === 'ended';
  }

  get endReason(): ObservationEndReason | undefined {
    return this.reason;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get active(): boolean {
    return this.state === 'active';
  }

  /** Called by the endpoint once the first response (with Observe) went out. */
  activate(): void {
    if (this.state !== 'pending') return;
    this.state = 'active';
    this.lastConAt = Date.now();
    const q = this.queued;
    this.queued = undefined;
    if (q !== undefined) this.notify(q.response, q.options);
  }

  notify(response: CoapResponse, options?: NotifyOptions): void {
    if (this.state === 'ended') return;
    if (this.state === 'pending') {
      // The first response has not gone out yet: keep the newest state for right after it.
      this.queued = options === undefined ? { response } : { response, options };
      return;
    }
    const success = isSuccessCode(response.code);
    this.sent++;
    const now = Date.now();
    // A non-2.xx notification is CON so the client surely learns the observation ended; while a
    // CON is unacknowledged the next one takes its place as CON (RFC 7641 §4.5.2: one CON at a time).
    const con =
      !success ||
      this.inFlight !== undefined ||
      (options?.confirmable ??
        (this.sent % this.host.conEvery === 0 || now - this.lastConAt >= CON_AT_LEAST_EVERY_MS));
    if (con) this.lastConAt = now;
    const messageId = this.host.nextMessageId();
    const buf = this.encode(response, success, con, messageId);
    const send = () => this.host.sendTo(this.peer, buf);
    this.host.track(this.peer, messageId, this, con);
    if (!con) {
      send();
      return;
    }
    if (this.inFlight !== undefined) {
      this.host.untrack(this.peer, this.inFlight.messageId);
      this.inFlight.messageId = messageId;
      this.inFlight.retransmitter.replace(send);
    } else {
      const inFlight = {
        messageId,
        retransmitter: new Retransmitter(send, this.host.timing, () => this.giveUp(inFlight)),
      };
      this.inFlight = inFlight;
      inFlight.retransmitter.start();
    }
    if (!success) {
      // RFC 7641 §4.2: a non-2.xx notification ends the observation. Its retransmission goes on
      // (held by the endpoint, so close() still stops it) until acknowledged.
      this.final = this.inFlight;
      this.inFlight = undefined;
      this.host.adopt(this.final.retransmitter);
      this.end('error-response');
    }
  }

  close(): void {
    this.end('closed');
  }

  /** ACK for a notification (RFC 7641 §4.5). */
  onAck(messageId: number): void {
    this.host.untrack(this.peer, messageId);
    if (this.inFlight?.messageId === messageId) {
      this.inFlight.retransmitter.stop();
      this.inFlight = undefined;
    } else if (this.final?.messageId === messageId) {
      this.final.retransmitter.stop();
      this.host.release(this.final.retransmitter);
      this.final = undefined;
    }
  }

  /** RST for a notification: the client is no longer interested (RFC 7641 §3.6). */
  onReset(messageId: number): void {
    if (this.final?.messageId === messageId) {
      this.onAck(messageId); // the client has heard of the end either way
      return;
    }
    this.host.untrack(this.peer, messageId);
    this.end('reset');
  }

  end(reason: ObservationEndReason): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.reason = reason;
    this.queued = undefined;
    if (this.inFlight !== undefined) {
      this.inFlight.retransmitter.stop();
      this.host.untrack(this.peer, this.inFlight.messageId);
      this.inFlight = undefined;
    }
    this.host.removed(this);
    this.controller.abort(new ObservationEndedError(reason));
  }

  private giveUp(which: InFlight): void {
    this.host.untrack(this.peer, which.messageId);
    if (which === this.final) {
      this.host.release(which.retransmitter);
      this.final = undefined;
      return;
    }
    this.inFlight = undefined;
    this.end('timeout');
  }

  private encode(
    response: CoapResponse,
    success: boolean,
    con: boolean,
    messageId: number,
  ): Buffer {
    const opts: { number: number; value: Uint8Array }[] = [];
    // §4.2: a non-2.xx notification carries no Observe option.
    if (success)
      opts.push({ number: OptionNumber.OBSERVE, value: encodeUint(this.host.nextSequence()) });
    if (response.contentFormat !== undefined) {
      opts.push({ number: OptionNumber.CONTENT_FORMAT, value: encodeUint(response.contentFormat) });
    }
    for (const o of response.options ?? []) opts.push(o);
    let payload = response.payload;
    const single = Math.max(SINGLE_MESSAGE_PAYLOAD, this.host.blockSize);
    if (payload !== undefined && isDiagnostic(response)) {
      // The final error notification's diagnostic goes in one message (diagnostic.ts says why).
      payload = truncateDiagnostic(payload, single);
    } else if (payload !== undefined && payload.length > single) {
      // RFC 7959 §2.6: send the first block; the client GETs the rest with Block2 (no Observe).
      const size = this.host.blockSize;
      opts.push({
        number: OptionNumber.BLOCK2,
        value: encodeBlock({ num: 0, more: true, szx: Math.log2(size) - 4 }),
      });
      opts.push({ number: OptionNumber.SIZE2, value: encodeUint(payload.length) });
      opts.push({ number: OptionNumber.ETAG, value: etagOf(payload) });
      payload = payload.subarray(0, size);
    }
    return encodeMessage({
      type: con ? MessageType.CON : MessageType.NON,
      code: codeByte(response.code),
      messageId,
      token: this.token,
      options: opts,
      ...(payload !== undefined ? { payload } : {}),
    });
  }
}

/**
 * ETag of a representation sent block-wise (RFC 7959 §2.4): the 2-byte XOR fold node-coap's
 * server uses for the Block2 responses it slices, so the first block of a large notification (sent
 * here) and the blocks the client then fetches (served by node-coap) carry the same tag.
 */
export function etagOf(payload: Uint8Array): Buffer {
  let a = 0;
  let b = 0;
  for (let i = 0; i < payload.length; i += 2) {
    a ^= payload[i]!;
    b ^= payload[i + 1] ?? 0;
  }
  return Buffer.of(a, b);
}
