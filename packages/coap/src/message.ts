import type { ResponseCode } from '@lwm2m-ts/core';

/** CoAP request methods (RFC 7252 §5.8, RFC 8132 for FETCH/PATCH/iPATCH). */
export type CoapMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'FETCH' | 'PATCH' | 'iPATCH';

/** Who a message came from or goes to. */
export interface Peer {
  readonly address: string;
  readonly port: number;
  /**
   * DTLS PSK identity (or another security identity) of the peer. Set from the `identity` field
   * of the remote info a DTLS socket passes with each `message` event; plain UDP has none.
   */
  readonly identity?: string;
}

/** One option as it is on the wire: its number (RFC 7252 §5.10) and raw value. */
export interface CoapOption {
  readonly number: number;
  readonly value: Uint8Array;
}

/** A request as a handler receives it. */
export interface CoapRequest {
  readonly method: CoapMethod;
  /** Uri-Path segments, decoded as UTF-8 (`['rd', '5a3f']`). */
  readonly path: readonly string[];
  /** Uri-Query values (`['ep=dev1', 'lt=300']`). */
  readonly query: readonly string[];
  /** The whole body: Block1 transfers are already reassembled. */
  readonly payload: Uint8Array;
  readonly contentFormat?: number;
  readonly accept?: number;
  /** Observe option: 0 = register, 1 = deregister (RFC 7641 §2). */
  readonly observe?: number;
  readonly token: Uint8Array;
  readonly confirmable: boolean;
  readonly peer: Peer;
  /** Every option as received, in wire order. */
  readonly options: readonly CoapOption[];
}

/** What a handler returns, and what a notification carries. */
export interface CoapResponse {
  readonly code: ResponseCode;
  readonly payload?: Uint8Array;
  readonly contentFormat?: number;
  /** Location-Path segments (`['rd', 'abc']`). */
  readonly locationPath?: readonly string[];
  /** Any other options; do not put Content-Format, Location-Path, Observe or Block options here. */
  readonly options?: readonly CoapOption[];
}

/** A response as `request()` resolves it, and as notifications arrive. */
export interface IncomingResponse {
  /**
   * The response code. A code that RFC 7252/7959 do not register is mapped to the generic code of
   * its class as RFC 7252 §5.9 asks (`4.xx` → `4.00`, `5.xx` → `5.00`; `2.xx` → `2.05`, as core has
   * no `2.00`); `rawCode` keeps what was on the wire.
   */
  readonly code: ResponseCode;
  /** The code as received, `c.dd`. */
  readonly rawCode: string;
  /** The whole body (Block2 transfers are already reassembled). */
  readonly payload: Uint8Array;
  readonly contentFormat?: number;
  readonly locationPath: readonly string[];
  readonly options: readonly CoapOption[];
  /** The Observe option (notification sequence number), when present. */
  readonly observe?: number;
  /** Where the response came from. */
  readonly peer: Peer;
}

/**
 * A notification (a CON or NON response with an Observe option) whose token matches no request
 * and no observation of the endpoint: what `EndpointOptions.unknownNotification` is asked about.
 */
export interface UnknownNotification extends IncomingResponse {
  readonly token: Uint8Array;
  /** The Observe option: the notification's sequence number (RFC 7641 §3.4). */
  readonly observe: number;
  /** A CON notification is ACKed when accepted, a NON one needs no answer. */
  readonly confirmable: boolean;
}

/**
 * Decides about a notification with an unknown token: true accepts it (a CON is ACKed), false
 * answers RST as without the hook (RFC 7641 §3.6: the peer then cancels its observation).
 * `signal` aborts when the endpoint stops waiting (after ACK_TIMEOUT, or at close): RST went out,
 * so the hook should not take the observation on any more. The notification is delivered to an
 * observation the hook adopted (`CoapEndpoint.adoptObservation`) for its token.
 */
export type UnknownNotificationHandler = (
  notification: UnknownNotification,
  signal: AbortSignal,
) => boolean | Promise<boolean>;

/** A request to send with `CoapEndpoint.request()` or `observe()`. */
export interface OutgoingRequest {
  readonly method: CoapMethod;
  /** Path segments, or a `/3/0/1` string (split on `/`, empty segments dropped). */
  readonly path?: readonly string[] | string;
  readonly query?: readonly string[];
  /** Bodies bigger than the endpoint's block size go block-wise with Block1 (RFC 7959 §2.5). */
  readonly payload?: Uint8Array;
  readonly contentFormat?: number;
  readonly accept?: number;
  /** Default true. */
  readonly confirmable?: boolean;
  /** Overall time limit in ms for the whole call, all blocks included. Default 30 000. */
  readonly timeout?: number;
  /** Extra options; Uri-Path, Uri-Query, Content-Format, Accept, Observe and Block options are set from the fields above. */
  readonly options?: readonly CoapOption[];
  readonly signal?: AbortSignal;
}

/** Options of a single `ServerObservation.notify()` call. */
export interface NotifyOptions {
  /** Force a CON (true) or NON (false) notification; default: CON every `observeConEvery`-th. */
  readonly confirmable?: boolean;
}

/** Why a server-side observation ended. */
export type ObservationEndReason =
  | 'reset' // the client answered a notification with RST (RFC 7641 §3.6)
  | 'deregistered' // GET with Observe=1 (RFC 7641 §3.6)
  | 'timeout' // a CON notification was never acknowledged (RFC 7641 §4.5)
  | 'replaced' // a new registration with the same token from the same peer (RFC 7641 §4.1)
  | 'error-response' // a notification with a non-2.xx code ended it (RFC 7641 §4.2)
  | 'closed' // close() on the observation
  | 'endpoint-closed'; // the endpoint closed

/** Serving one observation: the handler accepts an observe=0 GET/FETCH with `ctx.observe()`. */
export interface ServerObservation {
  /**
   * Sends a notification with the next sequence number. NON by default, CON every
   * `observeConEvery` notifications and at least once a day (RFC 7641 §4.5), or as `options` say;
   * while a CON is unacknowledged the next one is CON too and replaces it (§4.5.2). A non-2.xx
   * code is sent CON and ends the observation (RFC 7641 §4.2). Does nothing once the
   * observation is cancelled. Payloads up to the endpoint's block size (or 1024 bytes) go in one
   * message; a bigger one sends its first block with Block2 and the client fetches the rest
   * (RFC 7959 §2.6).
   */
  notify(response: CoapResponse, options?: NotifyOptions): void;
  readonly cancelled: boolean;
  /** Why it ended; undefined while active. */
  readonly endReason: ObservationEndReason | undefined;
  /** Aborted when the observation ends, for whatever reason; `signal.reason` is an `ObservationEndedError`. */
  readonly signal: AbortSignal;
  /** Ends the observation on the server side without telling the client (send a 4.04 notification first to tell it). */
  close(): void;
}

export interface RequestContext {
  readonly request: CoapRequest;
  /**
   * Accepts the observation this request asks for (Observe=0 on GET/FETCH). It starts when the
   * handler returns a 2.xx response (that response is the first notification); with any other
   * code it is cancelled. Undefined when the request does not ask to observe.
   */
  observe(): ServerObservation | undefined;
}

export type RequestHandler = (
  request: CoapRequest,
  ctx: RequestContext,
) => CoapResponse | Promise<CoapResponse>;

/** Why a client-side observation ended. */
export type ClientObservationEndReason = 'cancelled' | 'timeout' | 'error' | 'closed';

export interface ClientObservation extends AsyncIterable<IncomingResponse> {
  /** The response that established the observation. */
  readonly first: IncomingResponse;
  readonly token: Uint8Array;
  /** True once ended; `endReason` says why. */
  readonly ended: boolean;
  readonly endReason: ClientObservationEndReason | undefined;
  on(event: 'notification', listener: (n: IncomingResponse) => void): this;
  on(event: 'end', listener: (reason: ClientObservationEndReason) => void): this;
  once(event: 'notification', listener: (n: IncomingResponse) => void): this;
  once(event: 'end', listener: (reason: ClientObservationEndReason) => void): this;
  off(event: 'notification', listener: (n: IncomingResponse) => void): this;
  off(event: 'end', listener: (reason: ClientObservationEndReason) => void): this;
  /**
   * proactive (default): GET with Observe=1 and the same token (RFC 7641 §3.6), resolved when
   * answered (or failed; the observation ends either way). reactive: forget the token, so the
   * next notification is answered with RST.
   */
  cancel(mode?: 'reactive' | 'proactive'): Promise<void>;
  /** Re-registers (GET Observe=0 with the same token, RFC 7641 §3.3.1); the answer is delivered as a notification. */
  reregister(): Promise<void>;
}

/** pino-compatible logger subset. */
export interface CoapLogger {
  warn(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}
