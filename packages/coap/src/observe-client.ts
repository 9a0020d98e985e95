/**
 * The client side of an observation (RFC 7641 §3): notifications in order, cancellation.
 *
 * Why not node-coap's ObserveReadStream: it passes on only payloads (the options of each
 * notification are copied onto the stream object and overwritten by the next one), and its agent
 * keeps the token, so a cancelled observation's notifications would still be matched. Here the
 * endpoint routes notifications by token to this object; once the token is forgotten, the next
 * notification is answered with RST (reactive cancel, §3.6).
 */
import { EventEmitter } from 'node:events';
import { isSuccessCode, TimeoutError } from '@lwm2m-ts/core';
import type {
  ClientObservation,
  ClientObservationEndReason,
  IncomingResponse,
  OutgoingRequest,
  Peer,
} from './message.js';

export interface ClientObservationHost {
  /** Sends `request` with the observation's token and Observe option `observe`. */
  exchange(
    peer: Peer,
    request: OutgoingRequest,
    token: Buffer,
    observe: 0 | 1,
  ): Promise<IncomingResponse>;
  /** Stops routing the token to the observation. */
  forget(obs: ClientObservationImpl): void;
}

type Events = {
  notification: [IncomingResponse];
  end: [ClientObservationEndReason];
};

/** RFC 7641 §3.4: 2^23 and 128 seconds. */
const HALF_SEQUENCE_SPACE = 1 << 23;
const REORDER_WINDOW_MS = 128_000;
/** Notifications kept for an async iterator that is not reading; older ones are dropped. */
const QUEUE_LIMIT = 1000;

export class ClientObservationImpl extends EventEmitter<Events> implements ClientObservation {
  private lastSeq: number | undefined;
  private lastTime = 0;
  private reason: ClientObservationEndReason | undefined;
  private readonly queue: IncomingResponse[] = [];
  private readonly waiters: ((r: IteratorResult<IncomingResponse>) => void)[] = [];
  private iterated = false;
  private current: Peer;

  constructor(
    private readonly host: ClientObservationHost,
    peer: Peer,
    /** The registration request (re-sent to re-register and, with Observe=1, to cancel). */
    readonly request: OutgoingRequest,
    readonly token: Buffer,
    readonly first: IncomingResponse,
    /**
     * false for an adopted observation (`CoapEndpoint.adoptObservation`): `first` is the
     * notification that made it ours and is delivered as well, so the sequence (§3.4) starts with
     * the next notification delivered instead of after `first`.
     */
    firstIsRegistration = true,
  ) {
    super();
    this.current = peer;
    this.lastSeq = firstIsRegistration ? first.observe : undefined;
    this.lastTime = Date.now();
  }

  get ended(): boolean {
    return this.reason !== undefined;
  }

  get endReason(): ClientObservationEndReason | undefined {
    return this.reason;
  }

  /** Where notifications come from now (a NAT may have moved the peer). */
  get peer(): Peer {
    return this.current;
  }

  /** A notification routed here by token (from any address: devices behind NAT move, DESIGN.md flow 5). */
  deliver(n: IncomingResponse): void {
    if (this.reason !== undefined) return;
    this.current = n.peer;
    if (!isSuccessCode(n.code)) {
      // §3.2: a non-2.xx notification ends the observation.
      this.push(n);
      this.end('error');
      return;
    }
    if (n.observe === undefined) {
      // §3.2: a 2.xx without Observe: the server removed us from its list.
      this.push(n);
      this.end('cancelled');
      return;
    }
    if (!this.fresh(n.observe)) return;
    this.push(n);
  }

  async cancel(mode: 'reactive' | 'proactive' = 'proactive'): Promise<void> {
    if (this.reason !== undefined) return;
    this.host.forget(this);
    this.end('cancelled');
    if (mode === 'reactive') return;
    try {
      // §3.6: GET with Observe=1, the same token and the same options as the registration.
      await this.host.exchange(this.current, withoutPayload(this.request), this.token, 1);
    } catch {
      // The observation is gone locally either way; further notifications are answered with RST.
    }
  }

  async reregister(): Promise<void> {
    if (this.reason !== undefined) return;
    let res: IncomingResponse;
    try {
      res = await this.host.exchange(this.current, this.request, this.token, 0);
    } catch (err) {
      this.host.forget(this);
      this.end(err instanceof TimeoutError ? 'timeout' : 'error');
      throw err;
    }
    // The answer is a fresh notification (§3.3.1); it starts a new sequence (§3.4 does not
    // compare across registrations).
    if (res.observe !== undefined) this.lastSeq = undefined;
    this.deliver(res);
  }

  /** Ends the observation locally (the endpoint calls it on close). */
  end(reason: ClientObservationEndReason): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.host.forget(this);
    for (const w of this.waiters.splice(0)) w({ done: true, value: undefined });
    this.emit('end', reason);
  }

  [Symbol.asyncIterator](): AsyncIterator<IncomingResponse> {
    this.iterated = true;
    return {
      next: () => {
        const n = this.queue.shift();
        if (n !== undefined) return Promise.resolve({ done: false, value: n });
        if (this.reason !== undefined) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => this.waiters.push(resolve));
      },
      // Leaving a for-await loop early cancels the observation.
      return: async () => {
        await this.cancel();
        return { done: true, value: undefined };
      },
    };
  }

  private push(n: IncomingResponse): void {
    this.lastTime = Date.now();
    const w = this.waiters.shift();
    if (w !== undefined) w({ done: false, value: n });
    else if (this.iterated || this.listenerCount('notification') === 0) {
      // Kept for an iterator (current, or one started later); event-only users keep nothing.
      this.queue.push(n);
      if (this.queue.length > QUEUE_LIMIT) this.queue.shift();
    }
    this.emit('notification', n);
  }

  /** RFC 7641 §3.4: is V2 newer than the last accepted V1 (or has T1 + 128 s passed)? */
  private fresh(v2: number): boolean {
    const v1 = this.lastSeq;
    const now = Date.now();
    const ok =
      v1 === undefined ||
      (v1 < v2 && v2 - v1 < HALF_SEQUENCE_SPACE) ||
      (v1 > v2 && v1 - v2 > HALF_SEQUENCE_SPACE) ||
      now > this.lastTime + REORDER_WINDOW_MS;
    if (ok) this.lastSeq = v2;
    return ok;
  }
}

function withoutPayload(r: OutgoingRequest): OutgoingRequest {
  if (r.payload === undefined) return r;
  const { payload: _payload, ...rest } = r;
  return rest;
}
