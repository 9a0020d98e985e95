/**
 * CoapEndpoint: one UDP (or DTLS) socket that serves requests and sends requests to any peer
 * from the same address and port, as LwM2M needs in both directions.
 *
 * The common exchanges are the endpoint's own: a request that is not block-wise and does not
 * register an observation, answered within the piggyback window with a response that fits in one
 * message, is answered here (request-fast-path.ts), and a request that does not register or
 * cancel an observation is sent, retransmitted and completed here, Block2 downloads included
 * (direct-exchange.ts). node-coap does the rest, and is only built when first needed: its Server
 * answers the other requests (Block2 slicing and caching, separate CON responses and their
 * retransmission, the first response of an observation) and its Agent sends Observe registrations
 * and cancellations. This class sits between them and the socket and adds what they lack for
 * LwM2M:
 *
 * - one reader for the socket that routes each datagram to the server, the agent, an
 *   observation, or answers it itself (node-coap's server and agent on one socket both read every
 *   datagram and cannot tell whose an ACK is);
 * - strict parsing and RFC 7252 rejection of malformed datagrams (wire.ts);
 * - message-id deduplication for the whole exchange (node-coap's server runs a duplicate CON's
 *   handler again until its response is cached, and always for separate responses);
 * - one message-id space for everything sent from the socket;
 * - per-endpoint transmission parameters (node-coap's are process-global: timing.ts);
 * - Block1 in both directions (node-coap's agent segments wrongly, its server keys by token:
 *   block1.ts), block-size negotiation, a body-size cap;
 * - observe in both directions with RFC 7641 semantics (observe-server.ts, observe-client.ts);
 * - replies go to the sender's address (node-coap's error replies go to its port on localhost).
 */
import { randomFillSync } from 'node:crypto';
import type dgram from 'node:dgram';
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import {
  EntityTooLargeError,
  isResponseCode,
  isSuccessCode,
  LwM2mError,
  type ResponseCode,
  ServiceUnavailableError,
  TimeoutError,
} from '@lwm2m-ts/core';
import { Block1Reassembler } from './block1.js';
import { MessageIdMap } from './dedup-cache.js';
import { isDiagnostic, truncateDiagnostic } from './diagnostic.js';
import {
  type DirectRequest,
  type ExchangeSpec,
  isDirect,
  METHOD_CODES,
  requestOptions,
  withBlock2,
} from './direct-exchange.js';
import {
  EndpointClosedError,
  PeerResetError,
  RequestAbortedError,
  TokenInUseError,
  UnexpectedResponseError,
} from './errors.js';
import type {
  ClientObservation,
  CoapLogger,
  CoapMethod,
  CoapOption,
  CoapRequest,
  CoapResponse,
  IncomingResponse,
  OutgoingRequest,
  Peer,
  RequestContext,
  RequestHandler,
  UnknownNotification,
  UnknownNotificationHandler,
} from './message.js';
import {
  type AgentInternals,
  type AgentRequest,
  block2CacheKey,
  createAgent,
  createServer,
  forgetBlock2Body,
  type NodeCoapResponse,
  registerLwm2mFormats,
  type ServerInternals,
  VirtualSocket,
} from './node-coap.js';
import { type ClientObservationHost, ClientObservationImpl } from './observe-client.js';
import { type ObservationHost, ServerObservationImpl } from './observe-server.js';
import {
  BLOCK_SIZES,
  type BlockSize,
  type BlockValue,
  blockSizeOf,
  decodeBlock,
  decodeUint,
  encodeBlock,
  encodeUint,
  nodeCoapOptionName,
  OptionNumber,
  szxOf,
} from './options.js';
import { type PiggybackEntry, PiggybackWindow } from './piggyback-window.js';
import {
  fastPathRequest,
  fitsOneMessage,
  NODE_COAP_BLOCKWISE_FROM,
  NODE_COAP_MAX_REQUEST,
  NODE_COAP_MAX_RESPONSE,
  responseOptions,
} from './request-fast-path.js';
import type { Retransmitter } from './retransmit.js';
import { initialRetransmitTimeout, makeTiming, type Timing, withTiming } from './timing.js';
import {
  checkOptions,
  codeByte,
  codeString,
  EMPTY,
  encodeMessage,
  isParseFailure,
  type MalformedReason,
  MessageType,
  optionValue,
  type Packet,
  type ParsedMessage,
  parseMessage,
  peekHeader,
  toPacket,
} from './wire.js';

export interface EndpointOptions {
  /**
   * A bound or unbound UDP socket, or a DTLS socket that extends `dgram.Socket` (its `message`
   * events may carry `rinfo.identity`, which becomes `Peer.identity`). Default: a new socket.
   */
  readonly socket?: dgram.Socket;
  /** Default 'udp4' (or the given socket's type). */
  readonly type?: 'udp4' | 'udp6';
  /** Bind address when the endpoint binds: default '0.0.0.0' (udp4) or '::' (udp6). */
  readonly address?: string;
  /** Bind port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Close the socket in `close()`: default true when the endpoint created it, false for a given socket. */
  readonly closeSocket?: boolean;
  /** RFC 7252 §4.8 ACK_TIMEOUT in seconds (default 2). */
  readonly ackTimeout?: number;
  /** RFC 7252 §4.8 ACK_RANDOM_FACTOR (default 1.5). */
  readonly ackRandomFactor?: number;
  /** RFC 7252 §4.8 MAX_RETRANSMIT (default 4). */
  readonly maxRetransmit?: number;
  /** Block size for Block2 responses we serve and Block1 uploads we send (default 1024). */
  readonly blockSize?: BlockSize;
  /** Largest reassembled Block1 body (4.13 beyond) and Block2 download (EntityTooLargeError). Default 8 MiB. */
  readonly maxBodySize?: number;
  /** A Block1 upload with no block for this long is dropped (ms). Default EXCHANGE_LIFETIME. */
  readonly blockTransferTimeout?: number;
  /** A handler slower than this (ms) gets an empty ACK first and a separate response (RFC 7252 §5.2.2). Default 1000. */
  readonly piggybackTimeout?: number;
  /** Every n-th notification is CON (RFC 7641 §4.5). Default 20. */
  readonly observeConEvery?: number;
  /** Default `timeout` of outgoing requests (ms). Default 30 000. */
  readonly requestTimeout?: number;
  readonly handler?: RequestHandler;
  /**
   * Asked about a notification (CON or NON response with Observe) whose token matches nothing
   * here, before it is answered with RST: another process of a cluster may hold the observation
   * (see `UnknownNotificationHandler`). Without it, such notifications get RST at once.
   */
  readonly unknownNotification?: UnknownNotificationHandler;
  readonly logger?: CoapLogger;
}

/** Counters since the endpoint started. */
export interface EndpointStats {
  /** Datagrams received. */
  readonly received: number;
  /** Datagrams rejected as malformed (the 'malformed' event). */
  readonly malformed: number;
  /** Duplicate CON/NON messages answered from the cache or dropped. */
  readonly duplicates: number;
  /** Requests answered 4.02 for an unrecognised critical option. */
  readonly badOptions: number;
  /** Responses with an unknown token, answered with RST. */
  readonly unknownTokens: number;
  /** Notifications with an unknown token that `unknownNotification` accepted. */
  readonly claimedNotifications: number;
  /** Empty CONs (pings) answered with RST. */
  readonly pings: number;
}

type EndpointEvents = {
  error: [Error];
  malformed: [Peer, MalformedReason];
};

type Outgoing =
  | { readonly kind: 'agent'; readonly exchange: Exchange }
  | { readonly kind: 'server' }
  | { readonly kind: 'observation'; readonly obs: ServerObservationImpl };

interface DedupEntry {
  /** The ACK/RST (or piggybacked response) we sent for the message: re-sent for duplicates. */
  reply: Buffer | undefined;
}

/** A notification with an unknown token while `unknownNotification` decides about it. */
interface Claim {
  readonly tokenHex: string;
  readonly controller: AbortController;
  timer: NodeJS.Timeout | undefined;
  /** Messages with the token waiting for the decision (the first one first) and their dedup entries. */
  readonly waiting: {
    readonly msg: ParsedMessage;
    readonly rinfo: dgram.RemoteInfo;
    readonly entry: DedupEntry;
  }[];
  /** Undefined while waiting; false once RST went out (the hook may still be running). */
  decided: boolean | undefined;
  /** The observation the hook adopted for the token while waiting. */
  adopted: ClientObservationImpl | undefined;
}

/** What the server-side request listener needs about the request node-coap is handling. */
interface Serving {
  readonly request: CoapRequest;
  readonly msg: ParsedMessage;
  readonly rinfo: dgram.RemoteInfo;
  readonly block1Echo: BlockValue | undefined;
  /** A follow-up block node-coap answers from its body cache: the code it must carry (fixCachedBlockCode). */
  readonly cachedBlockCode: number | undefined;
  /** The response, when the handler already ran on the fast path (node-coap only sends it). */
  readonly precomputed: Precomputed | undefined;
  responded: boolean;
}

interface Precomputed {
  readonly response: CoapResponse;
  /** The empty ACK went out already: node-coap sends the response as a separate CON. */
  readonly separate: boolean;
}

/** A request being answered on the fast path (request-fast-path.ts). */
interface DirectServing extends PiggybackEntry {
  readonly msg: ParsedMessage;
  readonly rinfo: dgram.RemoteInfo;
  readonly request: CoapRequest;
  readonly dedup: DedupEntry;
  /** The piggyback window closed and the empty ACK went out: the response goes separately. */
  acked: boolean;
}

interface Exchange {
  readonly token: Buffer;
  readonly tokenHex: string;
  readonly peer: Peer;
  readonly observeRegistration: boolean;
  /** Sent by the endpoint itself (direct-exchange.ts), not by node-coap's agent. */
  direct: DirectRequest | undefined;
  req: AgentRequest | undefined;
  /** Message ids of the CONs sent for it to `peer` (routes in `outgoing`). */
  readonly keys: number[];
  /** Block 0 of a Block2 response: its code and options are the reassembled response's. */
  firstBlock: ParsedMessage | undefined;
  acked: boolean;
  done: boolean;
  deadline: number;
  timer: NodeJS.Timeout | undefined;
  waitTimer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  resolve: (r: IncomingResponse) => void;
  reject: (e: Error) => void;
}

const METHODS: readonly (CoapMethod | undefined)[] = [
  undefined,
  'GET',
  'POST',
  'PUT',
  'DELETE',
  'FETCH',
  'PATCH',
  'iPATCH',
];

/** node-coap's MAX_RTT (2 × MAX_LATENCY + PROCESSING_DELAY, s): how long its agent waits for the answer to a NON. */
const NODE_COAP_MAX_RTT_MS = 202_000;
const DEFAULT_MAX_BODY = 8 * 1024 * 1024;
const DEDUP_MAX_ENTRIES = 20_000;
const MAX_BLOCK1_TRANSFERS = 256;
/** Malformed-input warnings remembered (once per peer and reason) before the memory is reset. */
const WARN_ONCE_LIMIT = 1000;
const NOOP = (): void => {};
/**
 * Random bytes for tokens, shared by every endpoint of the process: filled 8 KB at a time, so a
 * fleet of thousands of endpoints does not pay a random-number call and an allocation each.
 */
const tokenBytes = { pool: Buffer.allocUnsafeSlow(8 * 1024), at: 8 * 1024 };
const CODE_2_05 = 0x45;
const NOT_FOUND: CoapResponse = { code: '4.04' };
const NO_OBSERVATION = (): undefined => undefined;

export class CoapEndpoint extends EventEmitter<EndpointEvents> {
  private readonly socket: dgram.Socket;
  private readonly ownsSocket: boolean;
  private readonly closeSocket: boolean;
  private readonly type: 'udp4' | 'udp6';
  private readonly bindAddress: string;
  private readonly bindPort: number;
  private readonly timing: Timing;
  private readonly blockSize: BlockSize;
  private readonly maxBodySize: number;
  private readonly requestTimeout: number;
  private readonly conEvery: number;
  private readonly logger: CoapLogger | undefined;
  private readonly piggybackTimeout: number;
  /** node-coap's server and agent, created when first needed (most endpoints never need them). */
  private nodeServer: ServerInternals | undefined;
  private nodeAgent: AgentInternals | undefined;
  /** Requests on the fast path whose handler is still running, until the piggyback window closes. */
  private readonly piggyback: PiggybackWindow<DirectServing>;
  private readonly block1: Block1Reassembler;
  private handler: RequestHandler | undefined;
  private unknownNotification: UnknownNotificationHandler | undefined;
  /** Unknown-token notifications being decided, by token (kept until the hook settles). */
  private readonly claims = new Map<string, Claim>();

  private state: 'new' | 'listening' | 'closing' | 'closed' = 'new';
  private listening: Promise<{ address: string; port: number }> | undefined;
  private closing: Promise<void> | undefined;
  private localAddress: { address: string; port: number; family: string } | undefined;

  /** Replies to (and ids of) messages received, per (address, port, message id) (§4.5). */
  private readonly dedup: MessageIdMap<DedupEntry>;
  /** Who sent each outgoing CON (and NON notification), so its ACK/RST finds its way back. */
  private readonly outgoing: MessageIdMap<Outgoing>;
  private readonly exchanges = new Map<string, Exchange>();
  private readonly clientObservations = new Map<string, ClientObservationImpl>();
  private readonly serverObservations = new Map<string, ServerObservationImpl>();
  private readonly pendingResponses = new Set<NodeCoapResponse>();
  private readonly orphanRetransmitters = new Set<Retransmitter>();
  private readonly warned = new Set<string>();
  private serving: Serving | undefined;
  private messageId = Math.floor(Math.random() * 0x10000);
  private sequence = 1;
  private readonly counters = {
    received: 0,
    malformed: 0,
    duplicates: 0,
    badOptions: 0,
    unknownTokens: 0,
    claimedNotifications: 0,
    pings: 0,
  };
  private serverObservationHost: ObservationHost | undefined;
  private clientHost: ClientObservationHost | undefined;

  constructor(options: EndpointOptions = {}) {
    super();
    registerLwm2mFormats();
    const blockSize = options.blockSize ?? 1024;
    if (!BLOCK_SIZES.includes(blockSize)) {
      throw new RangeError(`blockSize must be one of ${BLOCK_SIZES.join(', ')}, got ${blockSize}`);
    }
    this.blockSize = blockSize;
    this.timing = makeTiming(options.ackTimeout, options.ackRandomFactor, options.maxRetransmit);
    this.dedup = new MessageIdMap(this.timing.exchangeLifetime * 1000, DEDUP_MAX_ENTRIES);
    this.outgoing = new MessageIdMap(this.timing.exchangeLifetime * 1000, DEDUP_MAX_ENTRIES);
    this.maxBodySize = positive('maxBodySize', options.maxBodySize ?? DEFAULT_MAX_BODY);
    this.requestTimeout = positive('requestTimeout', options.requestTimeout ?? 30_000);
    this.conEvery = Math.max(1, Math.floor(options.observeConEvery ?? 20));
    this.logger = options.logger;
    this.handler = options.handler;
    this.unknownNotification = options.unknownNotification;
    this.ownsSocket = options.socket === undefined;
    this.closeSocket = options.closeSocket ?? this.ownsSocket;
    const givenType = (options.socket as { type?: unknown } | undefined)?.type;
    this.type = options.type ?? (givenType === 'udp6' || givenType === 'udp4' ? givenType : 'udp4');
    this.socket = options.socket ?? createSocket(this.type);
    this.bindAddress = options.address ?? (this.type === 'udp6' ? '::' : '0.0.0.0');
    this.bindPort = options.port ?? 0;
    this.block1 = new Block1Reassembler({
      maxBodySize: this.maxBodySize,
      preferredSzx: szxOf(blockSize),
      timeoutMs: options.blockTransferTimeout ?? this.timing.exchangeLifetime * 1000,
      maxTransfers: MAX_BLOCK1_TRANSFERS,
    });

    this.piggybackTimeout = positive('piggybackTimeout', options.piggybackTimeout ?? 1000);
    this.piggyback = new PiggybackWindow(this.piggybackTimeout, (s) => this.sendEmptyAck(s));
  }

  /** What server-side observations need from the endpoint (made when the first one starts). */
  private get observationHost(): ObservationHost {
    this.serverObservationHost ??= {
      timing: this.timing,
      conEvery: this.conEvery,
      blockSize: this.blockSize,
      nextSequence: () => this.nextSequence(),
      nextMessageId: () => this.nextMessageId(),
      sendTo: (peer, buf) => this.sendRaw(buf, peer.port, peer.address),
      track: (peer, mid, obs, confirmable) =>
        this.outgoing.set(
          peer.address,
          peer.port,
          mid,
          { kind: 'observation', obs },
          (confirmable ? this.timing.exchangeLifetime : this.timing.nonLifetime) * 1000,
        ),
      untrack: (peer, mid) => this.outgoing.delete(peer.address, peer.port, mid),
      removed: (obs) => {
        if (this.serverObservations.get(obs.key) === obs) this.serverObservations.delete(obs.key);
      },
      adopt: (r) => this.orphanRetransmitters.add(r),
      release: (r) => this.orphanRetransmitters.delete(r),
    };
    return this.serverObservationHost;
  }

  /** What client-side observations need from the endpoint (made when the first one starts). */
  private get clientObservationHost(): ClientObservationHost {
    this.clientHost ??= {
      exchange: (peer, request, token, observe) =>
        this.exchange(
          peer,
          this.specOf(request, token, observe),
          this.deadlineOf(request),
          request.signal,
        ),
      forget: (obs) => {
        const hex = obs.token.toString('hex');
        if (this.clientObservations.get(hex) === obs) this.clientObservations.delete(hex);
      },
    };
    return this.clientHost;
  }

  /** node-coap's server, created on first use: requests the fast path does not answer. */
  private get server(): ServerInternals {
    if (this.nodeServer !== undefined) return this.nodeServer;
    // The server's sends are told apart from the agent's so their ACKs can be routed back.
    const socket = new VirtualSocket(
      this.type,
      (buf, port, address, cb) => this.sendFromServer(buf, port, address, cb),
      this.addressOf,
    );
    // The server's LRU reply cache and block caches take their lifetime from the timing in force
    // when they are built.
    const server = withTiming(this.timing, () => createServer(socket, this.piggybackTimeout));
    server.on('request', (_req: unknown, res: NodeCoapResponse) => this.onServerRequest(res));
    server.on('error', (err: Error) => this.reportError(err));
    this.nodeServer = server;
    return server;
  }

  /** node-coap's agent, created on first use: Observe registrations and cancellations. */
  private get agent(): AgentInternals {
    if (this.nodeAgent !== undefined) return this.nodeAgent;
    const socket = new VirtualSocket(
      this.type,
      (buf, port, address, cb) => this.sendFromAgent(buf, port, address, cb),
      this.addressOf,
    );
    const agent = createAgent(socket);
    agent.on('error', (err: Error) => this.reportError(err));
    // node-coap's agent draws message ids from its own counter while the server's separate
    // responses draw from coap-packet's: two independent sequences on one socket collide, and an
    // ACK could then be matched to the wrong message. Everything we send uses one counter.
    agent._nextMessageId = () => this.nextMessageId();
    this.nodeAgent = agent;
    return agent;
  }

  private readonly addressOf = () => {
    const a = this.address();
    return { address: a.address, port: a.port, family: a.family };
  };

  /** Binds the socket (unless it is bound already) and starts serving. Idempotent. */
  listen(): Promise<{ address: string; port: number }> {
    if (this.state === 'closing' || this.state === 'closed') {
      return Promise.reject(new EndpointClosedError());
    }
    this.listening ??= this.start();
    return this.listening;
  }

  address(): { address: string; port: number; family: string } {
    if (this.localAddress === undefined) {
      const a = this.socket.address();
      this.localAddress = { address: a.address, port: a.port, family: a.family };
    }
    return this.localAddress;
  }

  /**
   * The request handler. Without one, every request is answered 4.04. A handler that throws an
   * LwM2mError is answered with its `coapCode` and its message as diagnostic payload (RFC 7252
   * §5.5.2); any other throw is answered 5.00 (without details) and logged. A diagnostic (a
   * 4.xx/5.xx payload without Content-Format, thrown or returned) goes in one message, cut to one
   * block with '…' when longer (diagnostic.ts); other responses over `blockSize` go block-wise.
   */
  setHandler(handler: RequestHandler | undefined): void {
    this.handler = handler;
  }

  /** Replaces the `unknownNotification` option (undefined: RST at once, as without it). */
  setUnknownNotificationHandler(handler: UnknownNotificationHandler | undefined): void {
    this.unknownNotification = handler;
  }

  /** Counters since the endpoint started. */
  stats(): EndpointStats {
    return { ...this.counters };
  }

  /**
   * Sends a request from the endpoint's socket (listening first if needed) and resolves with the
   * response, whatever its code. Rejects with TimeoutError (no answer in time, or no ACK within
   * MAX_TRANSMIT_WAIT), PeerResetError (RST), EntityTooLargeError (download over maxBodySize),
   * RequestAbortedError (signal) or EndpointClosedError.
   */
  async request(peer: Peer, req: OutgoingRequest): Promise<IncomingResponse> {
    if (this.state !== 'listening') await this.listen();
    const resolved = this.resolvePeer(peer);
    const target = resolved instanceof Promise ? await resolved : resolved;
    const deadline = this.deadlineOf(req);
    const payload = req.payload;
    if (payload !== undefined && payload.length > this.blockSize) {
      return this.upload(target, req, payload, deadline);
    }
    return this.exchange(target, this.specOf(req, this.newToken()), deadline, req.signal);
  }

  /**
   * Registers an observation (GET/FETCH with Observe=0, RFC 7641 §3.1) and resolves once the
   * first response establishes it. Rejects with UnexpectedResponseError (carrying the response)
   * when the answer is not 2.xx or has no Observe option (the resource is not observable), and
   * as `request()` does otherwise.
   */
  async observe(peer: Peer, req: OutgoingRequest): Promise<ClientObservation> {
    if (this.state !== 'listening') await this.listen();
    const target = await this.resolvePeer(peer);
    const token = this.newToken();
    const first = await this.exchange(
      target,
      this.specOf(req, token, 0),
      this.deadlineOf(req),
      req.signal,
    );
    if (!isSuccessCode(first.code)) {
      throw new UnexpectedResponseError(`observe refused with ${first.code}`, first);
    }
    if (first.observe === undefined) {
      throw new UnexpectedResponseError('response has no Observe option: not observable', first);
    }
    if (this.state !== 'listening') throw new EndpointClosedError();
    const obs = new ClientObservationImpl(this.clientObservationHost, target, req, token, first);
    this.clientObservations.set(token.toString('hex'), obs);
    return obs;
  }

  /**
   * Takes on an observation this endpoint did not register (another process of a cluster did,
   * with the same token): from now on notifications with `token` are matched here and delivered
   * to the returned observation, as for one `observe()` made. Meant for `unknownNotification`:
   * adopted there, the notification asked about is delivered to it too (so `first` is that
   * notification, and the sequence of RFC 7641 §3.4 starts with it). `request` is the
   * registration request as it was sent (path, query, accept, FETCH body): `cancel()` (proactive:
   * GET/FETCH with Observe=1 and the token, RFC 7641 §3.6) and `reregister()` send it, from this
   * endpoint's socket, to where the notifications come from; `cancel('reactive')` forgets the
   * token. Throws EndpointClosedError when not listening, TokenInUseError when a request or
   * observation of this endpoint uses the token, RangeError for a token over 8 bytes.
   */
  adoptObservation(
    peer: Peer,
    request: OutgoingRequest,
    token: Uint8Array,
    first: IncomingResponse,
  ): ClientObservation {
    if (this.state !== 'listening') throw new EndpointClosedError();
    if (token.length > 8) throw new RangeError(`a token is 0–8 bytes, got ${token.length}`);
    const t = Buffer.from(token); // a copy: the caller's bytes may change
    const hex = t.toString('hex');
    if (this.exchanges.has(hex) || this.clientObservations.has(hex)) throw new TokenInUseError(hex);
    const obs = new ClientObservationImpl(
      this.clientObservationHost,
      peer,
      request,
      t,
      first,
      false,
    );
    this.clientObservations.set(hex, obs);
    const claim = this.claims.get(hex);
    if (claim?.decided === false) {
      // Adopted too late: the peer got RST and dropped the observation (RFC 7641 §3.6). Ended
      // after the caller has attached its listeners, so it hears why.
      queueMicrotask(() => obs.end('cancelled'));
    } else if (claim !== undefined) {
      claim.adopted = obs;
    }
    return obs;
  }

  /**
   * Cancels observations (both ways), rejects pending requests with EndpointClosedError, clears
   * every timer, and closes the socket if the endpoint owns it. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ---------------------------------------------------------------------------------------------
  // Socket

  private async start(): Promise<{ address: string; port: number }> {
    // A socket we created is not bound yet (and asking an unbound one throws, which is slow).
    if (this.ownsSocket || !isBound(this.socket)) {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        this.socket.once('error', onError);
        this.socket.bind(this.bindPort, this.bindAddress, () => {
          this.socket.off('error', onError);
          resolve();
        });
      });
    }
    if (this.state !== 'new') throw new EndpointClosedError();
    this.socket.on('message', this.onMessage);
    this.socket.on('error', this.onSocketError);
    this.socket.on('close', this.onSocketClose);
    this.state = 'listening';
    const a = this.address();
    return { address: a.address, port: a.port };
  }

  private readonly onSocketError = (err: Error): void => this.reportError(err);

  private readonly onSocketClose = (): void => {
    // Someone else closed a socket we were given: nothing can be sent any more.
    if (this.state === 'listening') void this.close();
  };

  private reportError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.logger?.warn({ err }, 'coap endpoint error');
  }

  private sendRaw(
    buf: Buffer,
    port: number,
    address: string,
    cb?: (e: Error | null) => void,
  ): void {
    if (this.state !== 'listening') return;
    try {
      this.socket.send(buf, port, address, cb);
    } catch (err) {
      // dgram throws synchronously for a closed socket or a bad address.
      if (cb !== undefined) cb(err as Error);
      else this.reportError(err as Error);
    }
  }

  /** Sends from node-coap's server: remember replies for deduplication and our CONs for their ACKs. */
  private sendFromServer(
    buf: Buffer,
    port: number,
    address: string,
    cb?: (e: Error | null) => void,
  ): void {
    const h = peekHeader(buf);
    if (h !== undefined) {
      this.fixCachedBlockCode(buf, h);
      if (h.type === MessageType.ACK || h.type === MessageType.RST) {
        const d = this.dedup.get(address, port, h.messageId);
        // A copy of the bytes only: node-coap hangs its retransmission helper on the Buffer it
        // sends (`buf.sender`), which holds the response, its request and their streams (~5 KB),
        // and the dedup entry lives EXCHANGE_LIFETIME (247 s) — up to 20,000 of them under load.
        if (d !== undefined) d.reply = Buffer.from(buf);
        if (this.serving !== undefined) this.serving.responded = true;
      } else if (h.type === MessageType.CON) {
        this.outgoing.set(
          address,
          port,
          h.messageId,
          { kind: 'server' },
          this.timing.exchangeLifetime * 1000,
        );
      }
      if (h.type !== MessageType.CON) {
        this.dropReplyCacheEntry(`${address}:${port}/${h.messageId}${h.token.toString('hex')}`);
      }
    }
    this.sendRaw(buf, port, address, cb);
  }

  /**
   * node-coap answers a follow-up Block2 request from its body cache with its default code 2.05,
   * whatever the code of the response the body belongs to: a 2.04 or 4.xx sent block-wise turned
   * into 2.05 from block 1 on, and a requester that takes the code from the last block (node-coap's
   * agent does) saw 2.05. RFC 7959 §2.2: every block of a response carries its code. The code is
   * remembered with the cached body (fixBlock2Cache) and put back here, in the header's code byte
   * (RFC 7252 §3: always the second byte), before the message is sent or cached for duplicates.
   */
  private fixCachedBlockCode(buf: Buffer, h: { code: number; token: Buffer }): void {
    const s = this.serving;
    if (s?.cachedBlockCode === undefined || h.code !== CODE_2_05) return;
    if (!h.token.equals(s.msg.token)) return;
    buf[1] = s.cachedBlockCode;
  }

  /**
   * node-coap's server keeps every ACK and NON it sends in its reply cache for EXCHANGE_LIFETIME,
   * each with a live 202-second timer, only to replay them for duplicates; our deduplication
   * does that already, and under load the entries and timers pile up (hundreds of thousands).
   * Drop the entry once node-coap has finished sending (it arms the timer after the socket send
   * returns, hence the microtask); its dispose hook clears the timer. CON entries stay: they are
   * how node-coap stops retransmitting a separate response when the ACK comes.
   */
  private dropReplyCacheEntry(key: string): void {
    queueMicrotask(() => this.server._lru.delete(key));
  }

  /** Sends from node-coap's agent: a CON's message id is routed back to its exchange. */
  private sendFromAgent(
    buf: Buffer,
    port: number,
    address: string,
    cb?: (e: Error | null) => void,
  ): void {
    const h = peekHeader(buf);
    if (h !== undefined && h.type === MessageType.CON && h.code !== 0) {
      const ex = this.exchanges.get(h.token.toString('hex'));
      // (The agent sends to the exchange's peer: its routes are kept by message id alone.)
      if (ex !== undefined && !ex.done) {
        const mid = h.messageId;
        if (!ex.keys.includes(mid)) {
          // node-coap keeps one retransmission helper for all Block2 follow-ups of a request and
          // never resets its back-off: after one lost block every later block would start with a
          // doubled timeout. A new message id starts from ACK_TIMEOUT again (RFC 7252 §4.2); the
          // helper arms its timer right after this send returns, so setting it here takes effect.
          if (ex.keys.length > 0 && ex.req !== undefined) {
            ex.req.sender._currentTime = initialRetransmitTimeout(this.timing);
          }
          this.routeMessageId(ex, address, port, mid);
        }
      }
    }
    this.sendRaw(buf, port, address, cb);
  }

  // ---------------------------------------------------------------------------------------------
  // Incoming datagrams

  private readonly onMessage = (buf: Buffer, rinfo: dgram.RemoteInfo): void => {
    if (this.state !== 'listening') return;
    this.counters.received++;
    try {
      const msg = parseMessage(buf);
      if (isParseFailure(msg)) {
        this.malformed(rinfo, msg.reason, msg.type === MessageType.CON ? msg.messageId : undefined);
        return;
      }
      if (msg.code === 0) this.onEmpty(msg, rinfo);
      else {
        const cls = msg.code >> 5;
        if (cls === 0) this.onRequest(msg, rinfo);
        else if (cls === 2 || cls === 4 || cls === 5) this.onResponse(msg, rinfo);
        // §3/§12.1: classes 1, 3, 6 and 7 are reserved.
        else {
          this.malformed(
            rinfo,
            'reserved-code-class',
            msg.type === MessageType.CON ? msg.messageId : undefined,
          );
        }
      }
    } catch (err) {
      // A bug here must not stop the endpoint from serving the next datagram.
      this.logger?.warn(
        { err, peer: `${rinfo.address}:${rinfo.port}` },
        'coap: failed to process a datagram',
      );
    }
  };

  /** Rejects a malformed message: RST for a CON whose message id could be read (§4.2), else silence (§4.3). */
  private malformed(rinfo: dgram.RemoteInfo, reason: MalformedReason, conMessageId?: number): void {
    this.counters.malformed++;
    const peer = peerOf(rinfo);
    this.warnOnce(peer, reason, 'coap: malformed message rejected');
    if (this.listenerCount('malformed') > 0) this.emit('malformed', peer, reason);
    if (conMessageId !== undefined) this.sendRst(conMessageId, rinfo);
  }

  private warnOnce(peer: Peer, reason: string, msg: string): void {
    if (this.logger === undefined) return;
    const key = `${peer.address}:${peer.port}|${reason}`;
    if (this.warned.has(key)) return;
    if (this.warned.size >= WARN_ONCE_LIMIT) this.warned.clear();
    this.warned.add(key);
    this.logger.warn({ peer: `${peer.address}:${peer.port}`, reason }, msg);
  }

  private sendRst(messageId: number, rinfo: dgram.RemoteInfo): Buffer {
    const rst = encodeMessage({ type: MessageType.RST, code: 0, messageId });
    this.sendRaw(rst, rinfo.port, rinfo.address);
    return rst;
  }

  private onEmpty(msg: ParsedMessage, rinfo: dgram.RemoteInfo): void {
    if (msg.type === MessageType.CON) {
      // §4.3: an empty CON is a "ping", answered with RST.
      this.counters.pings++;
      this.sendRst(msg.messageId, rinfo);
      return;
    }
    if (msg.type === MessageType.NON) {
      this.malformed(rinfo, 'empty-non');
      return;
    }
    const owner = this.outgoing.get(rinfo.address, rinfo.port, msg.messageId);
    if (owner === undefined) return; // §4.2: unexpected ACK/RST are ignored.
    const reset = msg.type === MessageType.RST;
    if (owner.kind === 'agent') {
      const ex = owner.exchange;
      if (reset) {
        this.fail(ex, new PeerResetError(`${ex.peer.address}:${ex.peer.port} answered with RST`));
        return;
      }
      ex.acked = true;
      this.clearTransmitWait(ex);
      const d = ex.direct;
      if (d !== undefined) {
        // Stop retransmitting and wait for the separate response (an ACK for an earlier block's
        // message id changes nothing, as in node-coap's agent).
        if (d.messageId === msg.messageId) d.retransmitAt = 0;
        return;
      }
      // The agent stops retransmitting and waits for the separate response.
      this.agent._handle(toPacket(msg), rinfo, this.address());
      return;
    }
    this.outgoing.delete(rinfo.address, rinfo.port, msg.messageId);
    if (owner.kind === 'observation') {
      if (reset) owner.obs.onReset(msg.messageId);
      else owner.obs.onAck(msg.messageId);
      return;
    }
    // A separate CON response of node-coap's server: its reply cache stops the retransmission.
    this.server._handle(toPacket(msg), rinfo);
  }

  // ---------------------------------------------------------------------------------------------
  // Serving requests

  private onRequest(msg: ParsedMessage, rinfo: dgram.RemoteInfo): void {
    if (msg.type === MessageType.ACK || msg.type === MessageType.RST) {
      this.malformed(rinfo, 'request-in-ack-or-rst');
      return;
    }
    const con = msg.type === MessageType.CON;
    const seen = this.dedup.get(rinfo.address, rinfo.port, msg.messageId);
    if (seen !== undefined) {
      // §4.5: a duplicate CON gets the same ACK/response again; a duplicate NON is dropped. A CON
      // whose handler is still running is not answered yet (the peer will retransmit).
      this.counters.duplicates++;
      if (con && seen.reply !== undefined) this.sendRaw(seen.reply, rinfo.port, rinfo.address);
      return;
    }
    const entry: DedupEntry = { reply: undefined };
    this.dedup.set(
      rinfo.address,
      rinfo.port,
      msg.messageId,
      entry,
      (con ? this.timing.exchangeLifetime : this.timing.nonLifetime) * 1000,
    );

    const problem = checkOptions(msg);
    if (problem !== undefined) {
      // §5.4.1: an unrecognised critical option: 4.02 for a CON, a NON is dropped.
      this.counters.badOptions++;
      this.warnOnce(
        peerOf(rinfo),
        `bad-option-${problem.number}`,
        'coap: request with an unrecognised critical option',
      );
      if (con) this.reply(msg, rinfo, '4.02', [], `unrecognised critical option ${problem.number}`);
      return;
    }
    const method = METHODS[msg.code & 0x1f];
    if (method === undefined || msg.code >> 5 !== 0) {
      this.reply(msg, rinfo, '4.05', [], `unknown method ${codeString(msg.code)}`); // §5.8
      return;
    }
    if (
      optionValue(msg, OptionNumber.PROXY_URI) !== undefined ||
      optionValue(msg, OptionNumber.PROXY_SCHEME) !== undefined
    ) {
      this.reply(msg, rinfo, '5.05', [], 'this endpoint is not a proxy'); // §5.7.2
      return;
    }
    if (method === 'FETCH' && optionValue(msg, OptionNumber.CONTENT_FORMAT) === undefined) {
      this.reply(msg, rinfo, '4.15', [], 'FETCH needs a Content-Format'); // RFC 8132 §2
      return;
    }

    let payload = msg.payload;
    let block1Echo: BlockValue | undefined;
    const b1raw = optionValue(msg, OptionNumber.BLOCK1);
    if (b1raw !== undefined) {
      const b1 = decodeBlock(b1raw);
      if (b1 === undefined) {
        this.reply(msg, rinfo, '4.00', [], 'malformed Block1 option');
        return;
      }
      const size1raw = optionValue(msg, OptionNumber.SIZE1);
      const outcome = this.block1.offer(
        this.transferKey(msg, rinfo),
        b1,
        msg.payload,
        size1raw === undefined ? undefined : decodeUint(size1raw),
      );
      if (outcome.kind === 'continue') {
        // §2.3: 2.31 Continue acknowledges the block (with a smaller SZX to negotiate down).
        this.reply(msg, rinfo, '2.31', [
          { number: OptionNumber.BLOCK1, value: encodeBlock(outcome.block) },
        ]);
        return;
      }
      if (outcome.kind === 'error') {
        const opts: CoapOption[] = [];
        if (outcome.size1 !== undefined)
          opts.push({ number: OptionNumber.SIZE1, value: encodeUint(outcome.size1) });
        this.reply(msg, rinfo, outcome.code, opts, outcome.message);
        return;
      }
      payload = outcome.payload;
      block1Echo = outcome.block;
    }
    this.serve(msg, rinfo, method, payload, block1Echo, entry);
  }

  /** RFC 7959 §2.5 / RFC 9175 §3.3: one body is identified by peer, method, URI and Request-Tag, not by token. */
  private transferKey(msg: ParsedMessage, rinfo: dgram.RemoteInfo): string {
    const parts = [`${rinfo.address}:${rinfo.port}`, String(msg.code)];
    for (let k = 0; k < msg.numbers.length; k++) {
      const n = msg.numbers[k];
      if (
        n === OptionNumber.URI_PATH ||
        n === OptionNumber.URI_QUERY ||
        n === OptionNumber.REQUEST_TAG
      ) {
        parts.push(`${n}=${msg.values[k]!.toString('hex')}`);
      }
    }
    return parts.join('|');
  }

  /** Answers a request ourselves: piggybacked on the ACK for a CON, as a NON for a NON (§5.2). */
  private reply(
    msg: ParsedMessage,
    rinfo: dgram.RemoteInfo,
    code: ResponseCode,
    options: readonly CoapOption[],
    diagnostic?: string,
  ): void {
    const con = msg.type === MessageType.CON;
    const buf = encodeMessage({
      type: con ? MessageType.ACK : MessageType.NON,
      code: codeByte(code),
      messageId: con ? msg.messageId : this.nextMessageId(),
      token: msg.token,
      options,
      ...(diagnostic !== undefined ? { payload: Buffer.from(diagnostic) } : {}),
    });
    if (con) {
      const d = this.dedup.get(rinfo.address, rinfo.port, msg.messageId);
      if (d !== undefined) d.reply = buf;
    }
    this.sendRaw(buf, rinfo.port, rinfo.address);
  }

  private serve(
    msg: ParsedMessage,
    rinfo: dgram.RemoteInfo,
    method: CoapMethod,
    payload: Buffer,
    block1Echo: BlockValue | undefined,
    entry: DedupEntry,
  ): void {
    const request = buildRequest(msg, method, payload, peerOf(rinfo), block1Echo !== undefined);
    if (request.observe === 1) this.deregister(request, rinfo);
    if (fastPathRequest(msg, request.observe, block1Echo !== undefined)) {
      this.serveDirectly(msg, rinfo, request, entry);
    } else {
      this.serveByNodeCoap(msg, rinfo, request, block1Echo, undefined);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The fast path (request-fast-path.ts)

  private serveDirectly(
    msg: ParsedMessage,
    rinfo: dgram.RemoteInfo,
    request: CoapRequest,
    dedup: DedupEntry,
  ): void {
    // node-coap forgets the Block2 body it keeps for a token when a request for block 0 (or
    // without Block2) comes with that token: so does the fast path, when node-coap keeps any.
    if (this.nodeServer !== undefined) forgetBlock2Body(this.nodeServer, msg.token, rinfo);
    const s: DirectServing = {
      msg,
      rinfo,
      request,
      dedup,
      acked: false,
      done: false,
      deadline: 0,
    };
    const handler = this.handler;
    let result: CoapResponse | Promise<CoapResponse>;
    if (handler === undefined) result = NOT_FOUND;
    else {
      try {
        result = handler(request, { request, observe: NO_OBSERVATION });
      } catch (err) {
        result = this.errorResponse(err);
      }
    }
    if (isPromise(result)) {
      // A CON whose handler has not answered within the window gets an empty ACK (sendEmptyAck).
      if (msg.type === MessageType.CON) this.piggyback.add(s);
      result.then(
        (r) => this.answerDirectly(s, r),
        (err: unknown) => this.answerDirectly(s, this.errorResponse(err)),
      );
    } else {
      this.answerDirectly(s, result);
    }
  }

  /** The piggyback window of a fast-path CON closed: an empty ACK now, the response later (§5.2.2). */
  private sendEmptyAck(s: DirectServing): void {
    if (this.state !== 'listening') return;
    s.acked = true;
    const ack = encodeMessage({ type: MessageType.ACK, code: 0, messageId: s.msg.messageId });
    s.dedup.reply = ack;
    this.sendRaw(ack, s.rinfo.port, s.rinfo.address);
  }

  private answerDirectly(s: DirectServing, given: CoapResponse): void {
    s.done = true;
    if (this.state !== 'listening') return;
    try {
      this.sendDirectAnswer(s, this.validResponse(given));
    } catch (err) {
      // A response that cannot be encoded (a payload or option value that is no Uint8Array, a
      // message over node-coap's limit): 5.00 instead, as the node-coap path answers it.
      this.logger?.warn({ err }, 'coap: response could not be sent');
      if (s.msg.type === MessageType.CON && !s.acked) this.reply(s.msg, s.rinfo, '5.00', []);
      else this.sendNon500(s.msg, s.rinfo);
    }
  }

  private sendDirectAnswer(s: DirectServing, response: CoapResponse): void {
    let payload = toBuffer(response.payload);
    if (isDiagnostic(response)) {
      payload = truncateDiagnostic(payload, Math.min(this.blockSize, NODE_COAP_BLOCKWISE_FROM - 1));
    } else if (!fitsOneMessage(payload.length, this.blockSize)) {
      // Block2: node-coap slices the body and keeps it for the follow-up requests.
      this.serveByNodeCoap(s.msg, s.rinfo, s.request, undefined, {
        response,
        separate: s.acked,
      });
      return;
    }
    if (s.acked) {
      // A separate CON response, retransmitted until acknowledged: node-coap's.
      this.serveByNodeCoap(s.msg, s.rinfo, s.request, undefined, { response, separate: true });
      return;
    }
    const { msg, rinfo } = s;
    const con = msg.type === MessageType.CON;
    const buf = encodeMessage({
      type: con ? MessageType.ACK : MessageType.NON,
      code: codeByte(response.code),
      messageId: con ? msg.messageId : this.nextMessageId(),
      token: msg.token,
      options: responseOptions(response),
      payload,
    });
    if (buf.length > NODE_COAP_MAX_RESPONSE) {
      throw new Error(`Max packet size is ${NODE_COAP_MAX_RESPONSE}: current is ${buf.length}`);
    }
    if (con) s.dedup.reply = buf;
    this.sendRaw(buf, rinfo.port, rinfo.address);
  }

  // ---------------------------------------------------------------------------------------------
  // The node-coap path

  private serveByNodeCoap(
    msg: ParsedMessage,
    rinfo: dgram.RemoteInfo,
    request: CoapRequest,
    block1Echo: BlockValue | undefined,
    precomputed: Precomputed | undefined,
  ): void {
    // node-coap must see neither Block1 (it would reassemble again, by token) nor Observe=0 (its
    // ObserveWriteStream cannot do what observe-server.ts does); the handler sees both.
    const skip = new Set<number>();
    if (block1Echo !== undefined) {
      skip.add(OptionNumber.BLOCK1);
      skip.add(OptionNumber.SIZE1);
    }
    if (request.observe === 0) skip.add(OptionNumber.OBSERVE);
    const packet: Packet = toPacket(msg, skip.size > 0 ? skip : undefined);
    packet.payload = Buffer.isBuffer(request.payload) ? request.payload : toBuffer(request.payload);
    const serving: Serving = {
      request,
      msg,
      rinfo,
      block1Echo,
      cachedBlockCode: this.cachedBlockCode(msg, rinfo),
      precomputed,
      responded: false,
    };
    this.serving = serving;
    try {
      // node-coap emits 'request' synchronously from here (onServerRequest picks up `serving`),
      // or answers a Block2 follow-up from its cache without calling the handler.
      withTiming(this.timing, () => this.server._handle(packet, rinfo));
    } catch (err) {
      this.logger?.warn({ err }, 'coap: node-coap failed on a request');
      if (!serving.responded) this.reply(msg, rinfo, '5.00', []);
    } finally {
      this.serving = undefined;
    }
  }

  /**
   * The code of the cached response node-coap will answer this request from (a Block2 request for
   * block 1 or later whose body it holds), when that code is not node-coap's default 2.05.
   */
  private cachedBlockCode(msg: ParsedMessage, rinfo: dgram.RemoteInfo): number | undefined {
    const b2raw = optionValue(msg, OptionNumber.BLOCK2);
    if (b2raw === undefined) return undefined;
    const b2 = decodeBlock(b2raw);
    if (b2 === undefined || b2.num < 1) return undefined;
    const key = block2CacheKey(msg.token, rinfo);
    const code = key === undefined ? undefined : this.server._block2Cache.get(key)?.code;
    return code === CODE_2_05 ? undefined : code;
  }

  /** RFC 7641 §3.6: GET with Observe=1 removes the peer's observation (same token, else same path). */
  private deregister(request: CoapRequest, rinfo: dgram.RemoteInfo): void {
    const peerKey = `${rinfo.address}:${rinfo.port}`;
    const byToken = this.serverObservations.get(
      `${peerKey}/${Buffer.from(request.token).toString('hex')}`,
    );
    if (byToken !== undefined) {
      byToken.end('deregistered');
      return;
    }
    const path = request.path.join('/');
    for (const obs of [...this.serverObservations.values()]) {
      if (obs.key.startsWith(`${peerKey}/`) && obs.path === path) obs.end('deregistered');
    }
  }

  private onServerRequest(res: NodeCoapResponse): void {
    const serving = this.serving;
    this.serving = undefined;
    if (serving === undefined) return; // cannot happen: every _handle call sets it
    // node-coap emits 'error' on the response when encoding fails or a separate CON response is
    // never acknowledged; without a listener that would throw out of a timer.
    res.on('error', (err: Error) => this.onResponseError(serving, res, err));
    const { request } = serving;
    const precomputed = serving.precomputed;
    if (precomputed !== undefined) {
      if (precomputed.separate) separateFromNow(res);
      this.respond(serving, res, precomputed.response, undefined);
      return;
    }
    let observation: ServerObservationImpl | undefined;
    const ctx: RequestContext = {
      request,
      observe: () => {
        if (request.observe !== 0 || (request.method !== 'GET' && request.method !== 'FETCH')) {
          return undefined;
        }
        if (observation === undefined) {
          const token = Buffer.from(request.token);
          const peerKey = `${serving.rinfo.address}:${serving.rinfo.port}`;
          observation = new ServerObservationImpl(
            this.observationHost,
            request.peer,
            token,
            `${peerKey}/${token.toString('hex')}`,
            request.path.join('/'),
          );
        }
        return observation;
      },
    };
    const handler = this.handler;
    if (handler === undefined) {
      this.respond(serving, res, { code: '4.04' }, undefined);
      return;
    }
    let result: CoapResponse | Promise<CoapResponse>;
    try {
      result = handler(request, ctx);
    } catch (err) {
      result = this.errorResponse(err);
    }
    if (isPromise(result)) {
      this.pendingResponses.add(res);
      result.then(
        (r) => this.respond(serving, res, r, observation),
        (err: unknown) => this.respond(serving, res, this.errorResponse(err), observation),
      );
    } else {
      this.respond(serving, res, result, observation);
    }
  }

  private errorResponse(err: unknown): CoapResponse {
    if (err instanceof LwM2mError) {
      return { code: err.coapCode, payload: Buffer.from(err.message) };
    }
    this.logger?.warn({ err }, 'coap: request handler failed');
    return { code: '5.00' };
  }

  private respond(
    serving: Serving,
    res: NodeCoapResponse,
    response: CoapResponse,
    observation: ServerObservationImpl | undefined,
  ): void {
    this.pendingResponses.delete(res);
    if (this.state !== 'listening') {
      observation?.end('endpoint-closed');
      return;
    }
    response = this.validResponse(response);
    const observing =
      observation !== undefined && !observation.cancelled && isSuccessCode(response.code);
    if (observation !== undefined && !observing) observation.end('error-response');
    if (observing) {
      const old = this.serverObservations.get(observation.key);
      if (old !== undefined && old !== observation) old.end('replaced'); // RFC 7641 §4.1
      this.serverObservations.set(observation.key, observation);
    }
    try {
      res.statusCode = response.code;
      this.setResponseOptions(res, response);
      if (observing) res.setOption('Observe', encodeUint(this.nextSequence()));
      if (serving.block1Echo !== undefined) {
        // RFC 7959 §2.3: the final response echoes the last block's Block1 (M=0).
        res.setOption('Block1', encodeBlock(serving.block1Echo));
      }
      let payload = toBuffer(response.payload);
      if (isDiagnostic(response)) {
        // A diagnostic goes in one message, cut to fit (diagnostic.ts says why), and without
        // Block2: node-coap would otherwise answer a request carrying Block2 with a block of it
        // (and for block 1 or later with 4.02 instead of the handler's code).
        payload = truncateDiagnostic(payload, this.diagnosticLimit(serving.msg));
        this.withoutBlock2(res);
      } else if (payload.length > this.blockSize) this.preferBlockSize(res);
      // Separate responses and responses to NON requests get a new message id: from our counter
      // (node-coap would use coap-packet's, or re-use the NON request's own id).
      if (!res._packet.ack) res._packet.messageId = this.nextMessageId();
      withTiming(this.timing, () => res.end(payload));
      serving.responded = true;
      this.fixBlock2Cache(res, response.code);
    } catch (err) {
      this.onResponseError(serving, res, err as Error);
      return;
    }
    if (observing) observation.activate();
  }

  /** The handler's response, or 5.00 when it returned something that is not one. */
  private validResponse(response: CoapResponse): CoapResponse {
    if (
      response === null ||
      typeof response !== 'object' ||
      typeof response.code !== 'string' ||
      !isResponseCode(response.code)
    ) {
      this.logger?.warn({ response }, 'coap: request handler returned no valid response');
      return { code: '5.00' };
    }
    return response;
  }

  private setResponseOptions(res: NodeCoapResponse, response: CoapResponse): void {
    if (response.contentFormat !== undefined) {
      res.setOption('Content-Format', encodeUint(response.contentFormat));
    }
    if (response.locationPath !== undefined && response.locationPath.length > 0) {
      res.setOption(
        'Location-Path',
        response.locationPath.map((s) => Buffer.from(s)),
      );
    }
    if (response.options !== undefined && response.options.length > 0) {
      const grouped = new Map<string, Buffer[]>();
      for (const o of response.options) {
        const name = nodeCoapOptionName(o.number);
        const list = grouped.get(name);
        if (list === undefined) grouped.set(name, [toBuffer(o.value)]);
        else list.push(toBuffer(o.value));
      }
      for (const [name, values] of grouped)
        res.setOption(name, values.length === 1 ? values[0]! : values);
    }
  }

  /**
   * node-coap's server slices a response block-wise only from 1024 bytes (a module constant) or
   * when the request asked with Block2. To serve our configured block size, a request without a
   * Block2 option (or asking for bigger blocks) is given one asking for block 0 at our size
   * (RFC 7959 §2.4: the server may choose a smaller size than the client's).
   */
  private preferBlockSize(res: NodeCoapResponse): void {
    if (res._request.options === undefined) res._request.options = [];
    const options = res._request.options;
    const szx = szxOf(this.blockSize);
    const k = options.findIndex((o) => o.name === 'Block2');
    if (k < 0) {
      options.push({ name: 'Block2', value: encodeBlock({ num: 0, more: false, szx }) });
      return;
    }
    const b = decodeBlock(options[k]!.value);
    if (b !== undefined && b.num === 0 && b.szx > szx) {
      options[k] = { name: 'Block2', value: encodeBlock({ num: 0, more: false, szx }) };
    }
  }

  /**
   * The largest diagnostic we send: our block size, the block size the request asked for with
   * Block2 if smaller (RFC 7959 §2.4: the client's preference is a limit), and below the 1024 bytes
   * from which node-coap's server slices a payload into blocks by itself.
   */
  private diagnosticLimit(msg: ParsedMessage): number {
    let limit = Math.min(this.blockSize, NODE_COAP_BLOCKWISE_FROM - 1);
    const b2raw = optionValue(msg, OptionNumber.BLOCK2);
    const b2 = b2raw === undefined ? undefined : decodeBlock(b2raw);
    if (b2 !== undefined) limit = Math.min(limit, blockSizeOf(b2.szx));
    return limit;
  }

  /** node-coap's server slices a response when the request carries Block2: hide it from node-coap. */
  private withoutBlock2(res: NodeCoapResponse): void {
    const options = res._request.options;
    if (options?.some((o) => o.name === 'Block2')) {
      res._request.options = options.filter((o) => o.name !== 'Block2');
    }
  }

  /**
   * node-coap caches a block-wise response's body for the follow-up requests, with the response
   * options it saw when the handler returned synchronously; for an async handler it keeps none,
   * so later blocks would lack Content-Format. Give the cache entry the options of block 0
   * (without the per-block ones, and without Observe: RFC 7959 §2.6), and its response code
   * (node-coap would answer the follow-ups 2.05: fixCachedBlockCode).
   */
  private fixBlock2Cache(res: NodeCoapResponse, code: ResponseCode): void {
    if (res._cachekey === undefined) return;
    const entry = this.server._block2Cache.get(res._cachekey);
    if (entry === null || entry === undefined) return;
    entry.code = codeByte(code);
    entry.options = (res._packet.options ?? []).filter(
      (o) =>
        o.name !== 'Block2' &&
        o.name !== 'ETag' &&
        o.name !== 'Size2' &&
        o.name !== 'Observe' &&
        o.name !== 'Block1',
    );
  }

  private onResponseError(serving: Serving, res: NodeCoapResponse, err: Error): void {
    if (serving.responded) {
      this.logger?.debug?.({ err }, 'coap: separate response not acknowledged');
      return;
    }
    serving.responded = true;
    this.logger?.warn({ err }, 'coap: response could not be sent');
    if (res._packet.ack) this.reply(serving.msg, serving.rinfo, '5.00', []);
    else this.sendNon500(serving.msg, serving.rinfo);
  }

  private sendNon500(msg: ParsedMessage, rinfo: dgram.RemoteInfo): void {
    const buf = encodeMessage({
      type: MessageType.NON,
      code: codeByte('5.00'),
      messageId: this.nextMessageId(),
      token: msg.token,
    });
    this.sendRaw(buf, rinfo.port, rinfo.address);
  }

  // ---------------------------------------------------------------------------------------------
  // Responses to our requests

  private onResponse(msg: ParsedMessage, rinfo: dgram.RemoteInfo): void {
    const problem = checkOptions(msg);
    if (msg.type === MessageType.ACK) {
      // §5.4.1: a piggybacked response with an unrecognised critical option is rejected (ignored).
      if (problem !== undefined) return;
      const owner = this.outgoing.get(rinfo.address, rinfo.port, msg.messageId);
      if (owner?.kind !== 'agent') return; // not ours (any more): §4.2 ignore
      // A CON gets one piggybacked response: later ACKs with this message id are duplicates
      // (§4.5), or late answers to a Block2 block already received. node-coap's agent would not
      // find their message id any more and match them by token, which stays the same for every
      // block: it appended the block's payload again (a corrupt body) and cancelled the
      // retransmission of the next block's request. Forget the route once the answer is handed on.
      this.outgoing.delete(rinfo.address, rinfo.port, msg.messageId);
      this.toAgent(owner.exchange, msg, rinfo, false);
      return;
    }
    if (msg.type === MessageType.RST) {
      this.malformed(rinfo, 'rst-with-content'); // §4.1: RST is always Empty
      return;
    }
    const con = msg.type === MessageType.CON;
    if (problem !== undefined) {
      if (con) this.sendRst(msg.messageId, rinfo);
      return;
    }
    const seen = this.dedup.get(rinfo.address, rinfo.port, msg.messageId);
    if (seen !== undefined) {
      this.counters.duplicates++;
      if (con && seen.reply !== undefined) this.sendRaw(seen.reply, rinfo.port, rinfo.address);
      return;
    }
    const tokenHex = msg.token.toString('hex');
    const ex = this.exchanges.get(tokenHex);
    const ttl = (con ? this.timing.exchangeLifetime : this.timing.nonLifetime) * 1000;
    if (ex === undefined && this.claims.size > 0) {
      const claim = this.claims.get(tokenHex);
      if (claim !== undefined && claim.decided === undefined) {
        // The next notification of the observation being decided about follows that decision.
        const entry: DedupEntry = { reply: undefined };
        this.dedup.set(rinfo.address, rinfo.port, msg.messageId, entry, ttl);
        claim.waiting.push({ msg, rinfo, entry });
        return;
      }
    }
    const obs = ex === undefined ? this.clientObservations.get(tokenHex) : undefined;
    if (ex === undefined && obs === undefined) {
      const hook = this.unknownNotification;
      if (hook !== undefined && !this.claims.has(tokenHex)) {
        const observe = optionValue(msg, OptionNumber.OBSERVE);
        if (observe !== undefined) {
          this.claim(msg, rinfo, tokenHex, decodeUint(observe), ttl, hook);
          return;
        }
      }
      // §5.3.2: a response we cannot match is rejected; for a notification of an observation we
      // dropped this is the reactive cancel (RFC 7641 §3.6).
      this.counters.unknownTokens++;
      const rst = this.sendRst(msg.messageId, rinfo);
      this.dedup.set(
        rinfo.address,
        rinfo.port,
        msg.messageId,
        { reply: con ? rst : undefined },
        ttl,
      );
      return;
    }
    let ack: Buffer | undefined;
    if (con) {
      // We ACK separate responses and CON notifications ourselves (the agent is handed them as
      // NON, see toAgent).
      ack = encodeMessage({ type: MessageType.ACK, code: 0, messageId: msg.messageId });
      this.sendRaw(ack, rinfo.port, rinfo.address);
    }
    this.dedup.set(rinfo.address, rinfo.port, msg.messageId, { reply: ack }, ttl);
    if (ex !== undefined) this.toAgent(ex, msg, rinfo, true);
    else if (obs !== undefined) this.notification(obs, msg, rinfo);
  }

  /**
   * Asks `unknownNotification` about a notification with an unknown token. Its duplicates are
   * ignored meanwhile (the dedup entry has no reply yet) and later notifications with the token
   * wait for the same decision; the wait is bounded by ACK_TIMEOUT (RFC 7252 §4.8), after which
   * RST goes out as without the hook, before the peer's retransmissions pile up.
   */
  private claim(
    msg: ParsedMessage,
    rinfo: dgram.RemoteInfo,
    tokenHex: string,
    observe: number,
    ttl: number,
    hook: UnknownNotificationHandler,
  ): void {
    const entry: DedupEntry = { reply: undefined };
    this.dedup.set(rinfo.address, rinfo.port, msg.messageId, entry, ttl);
    const claim: Claim = {
      tokenHex,
      controller: new AbortController(),
      timer: undefined,
      waiting: [{ msg, rinfo, entry }],
      decided: undefined,
      adopted: undefined,
    };
    this.claims.set(tokenHex, claim);
    claim.timer = setTimeout(() => this.decide(claim, false), this.timing.ackTimeout * 1000);
    const notification: UnknownNotification = {
      ...incomingResponse(msg, msg.payload, peerOf(rinfo)),
      token: Buffer.from(msg.token),
      observe,
      confirmable: msg.type === MessageType.CON,
    };
    let answer: boolean | Promise<boolean>;
    try {
      answer = hook(notification, claim.controller.signal);
    } catch (err) {
      answer = Promise.reject(err);
    }
    Promise.resolve(answer).then(
      (ok) => this.settle(claim, ok === true),
      (err: unknown) => {
        this.logger?.warn({ err }, 'coap: unknownNotification handler failed');
        this.settle(claim, false);
      },
    );
  }

  /** The hook answered (maybe after the bound). */
  private settle(claim: Claim, ok: boolean): void {
    if (this.claims.get(claim.tokenHex) === claim) this.claims.delete(claim.tokenHex);
    this.decide(claim, ok);
  }

  /** ACKs (true) or resets (false) the waiting notifications; once per claim. */
  private decide(claim: Claim, ok: boolean): void {
    if (claim.decided !== undefined) return;
    claim.decided = ok;
    clearTimeout(claim.timer);
    claim.timer = undefined;
    if (ok) {
      if (this.claims.get(claim.tokenHex) === claim) this.claims.delete(claim.tokenHex);
    } else {
      claim.controller.abort();
      // The peer gets RST and drops its side (RFC 7641 §3.6): ours cannot live on.
      claim.adopted?.end('cancelled');
    }
    const waiting = claim.waiting.splice(0);
    if (this.state !== 'listening') return;
    const obs = ok ? this.clientObservations.get(claim.tokenHex) : undefined;
    for (const { msg, rinfo, entry } of waiting) {
      const con = msg.type === MessageType.CON;
      if (ok) {
        this.counters.claimedNotifications++;
        if (con) {
          entry.reply = encodeMessage({ type: MessageType.ACK, code: 0, messageId: msg.messageId });
          this.sendRaw(entry.reply, rinfo.port, rinfo.address);
        }
        if (obs !== undefined) this.notification(obs, msg, rinfo);
      } else {
        this.counters.unknownTokens++;
        const rst = this.sendRst(msg.messageId, rinfo);
        if (con) entry.reply = rst;
      }
    }
  }

  /** Hands a response to node-coap's agent, which completes the exchange (fetching Block2 blocks). */
  private toAgent(
    ex: Exchange,
    msg: ParsedMessage,
    rinfo: dgram.RemoteInfo,
    separate: boolean,
  ): void {
    if (ex.done) return;
    ex.acked = true;
    this.clearTransmitWait(ex);
    const b2raw = optionValue(msg, OptionNumber.BLOCK2);
    let b2: BlockValue | undefined;
    if (b2raw !== undefined) {
      b2 = decodeBlock(b2raw);
      if (b2 === undefined) {
        this.fail(ex, new ServiceUnavailableError('peer sent a malformed Block2 option'));
        return;
      }
      if (b2.num === 0) ex.firstBlock = msg;
      if (b2.more) {
        const next = (b2.num + 1) * blockSizeOf(b2.szx);
        if (next >= this.maxBodySize) {
          this.fail(
            ex,
            new EntityTooLargeError(`Block2 response exceeds ${this.maxBodySize} bytes`),
          );
          return;
        }
        // RFC 7959 §2.6: the follow-up requests for the rest of a notification carry no Observe.
        if (ex.observeRegistration && ex.req !== undefined) {
          const options = ex.req._packet.options;
          if (options !== undefined)
            ex.req._packet.options = options.filter((o) => o.name !== 'Observe');
        }
      }
    }
    if (ex.direct !== undefined) {
      this.completeDirectly(ex, msg, rinfo, separate, b2);
      return;
    }
    const packet: Packet & { source?: ParsedMessage } = toPacket(msg);
    packet.source = msg;
    if (separate) {
      // The agent looks a response up by message id first, but a separate response's id is from
      // the peer's id space and may equal one of the agent's own: hand it over as a NON with an
      // id that matches nothing, so the token decides (we already sent the ACK).
      packet.confirmable = false;
      packet.messageId = -1;
    }
    withTiming(this.timing, () => this.agent._handle(packet, rinfo, this.address()));
  }

  private notification(
    obs: ClientObservationImpl,
    msg: ParsedMessage,
    rinfo: dgram.RemoteInfo,
  ): void {
    const peer = peerOf(rinfo);
    const b2raw = optionValue(msg, OptionNumber.BLOCK2);
    const b2 = b2raw === undefined ? undefined : decodeBlock(b2raw);
    if (b2 === undefined || !b2.more || b2.num !== 0) {
      obs.deliver(incomingResponse(msg, msg.payload, peer));
      return;
    }
    // RFC 7959 §2.6: a notification too big for one message brings its first block; fetch the rest
    // with a plain GET (no Observe) and deliver the whole once complete.
    const size = blockSizeOf(b2.szx);
    const r = obs.request;
    const spec: ExchangeSpec = {
      ...this.specOf(
        { method: r.method === 'FETCH' ? 'FETCH' : 'GET', ...pick(r) },
        this.newToken(),
      ),
      block2: { num: 1, more: false, szx: b2.szx },
    };
    this.exchange(peer, spec, Date.now() + this.requestTimeout, undefined).then(
      (rest) => {
        const whole = Buffer.concat([msg.payload.subarray(0, size), Buffer.from(rest.payload)]);
        obs.deliver(incomingResponse(msg, whole, peer));
      },
      (err: unknown) =>
        this.logger?.debug?.({ err }, 'coap: could not fetch the rest of a notification'),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Sending requests

  private deadlineOf(req: OutgoingRequest): number {
    return Date.now() + (req.timeout ?? this.requestTimeout);
  }

  private specOf(req: OutgoingRequest, token: Buffer, observe?: 0 | 1): ExchangeSpec {
    return {
      method: req.method,
      path: normalizePath(req.path),
      query: req.query ?? [],
      payload: req.payload,
      contentFormat: req.contentFormat,
      accept: req.accept,
      confirmable: req.confirmable !== false,
      options: req.options ?? [],
      token,
      ...(observe !== undefined ? { observe } : {}),
    };
  }

  /**
   * Block1 upload (RFC 7959 §2.3, §2.5): one block per exchange, each waiting for 2.31 Continue;
   * a smaller SZX in the answer is adopted for the rest (block-size negotiation), a 4.13 with a
   * smaller Block1 SZX restarts at that size (§2.9.3). All blocks carry Size1 and one Request-Tag
   * (RFC 9175) and, for servers that reassemble by token, one token.
   */
  private async upload(
    peer: Peer,
    req: OutgoingRequest,
    payload: Uint8Array,
    deadline: number,
  ): Promise<IncomingResponse> {
    const token = this.newToken();
    const requestTag = this.newToken().subarray(0, 4);
    let szx = szxOf(this.blockSize);
    let offset = 0;
    let restarted = false;
    for (;;) {
      const size = blockSizeOf(szx);
      const num = offset / size;
      const more = offset + size < payload.length;
      const chunk = payload.subarray(offset, offset + size);
      const spec: ExchangeSpec = {
        ...this.specOf(req, token),
        payload: chunk,
        block1: { num, more, szx },
        size1: payload.length,
        requestTag,
      };
      const res = await this.exchange(peer, spec, deadline, req.signal);
      const b1raw = res.options.find((o) => o.number === OptionNumber.BLOCK1)?.value;
      const b1 = b1raw === undefined ? undefined : decodeBlock(b1raw);
      if (res.code === '4.13' && b1 !== undefined && b1.szx < szx && num === 0 && !restarted) {
        restarted = true;
        szx = b1.szx;
        offset = 0;
        continue;
      }
      if (res.code !== '2.31' || !more) return res;
      if (b1 !== undefined && b1.num !== num) return res; // acknowledged another block: give up, show it
      offset += chunk.length;
      if (b1 !== undefined && b1.szx < szx) szx = b1.szx; // offset is a multiple of the smaller size
    }
  }

  /** One exchange through node-coap's agent. */
  private exchange(
    peer: Peer,
    spec: ExchangeSpec,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<IncomingResponse> {
    if (this.state !== 'listening') return Promise.reject(new EndpointClosedError());
    if (signal?.aborted) return Promise.reject(new RequestAbortedError(signal.reason));
    return new Promise<IncomingResponse>((resolve, reject) => {
      const tokenHex = spec.token.toString('hex');
      const ex: Exchange = {
        token: spec.token,
        tokenHex,
        peer,
        observeRegistration: spec.observe === 0,
        direct: undefined,
        req: undefined,
        keys: [],
        firstBlock: undefined,
        acked: false,
        done: false,
        deadline,
        timer: undefined,
        waitTimer: undefined,
        signal,
        onAbort: undefined,
        resolve,
        reject,
      };
      this.exchanges.set(tokenHex, ex);
      if (signal !== undefined) {
        ex.onAbort = () => this.fail(ex, new RequestAbortedError(signal.reason));
        signal.addEventListener('abort', ex.onAbort, { once: true });
      }
      if (isDirect(spec)) {
        const now = Date.now();
        // As node-coap's agent: the answer to a NON is waited for MAX_RTT at most.
        const rttLimited = !spec.confirmable && deadline - now > NODE_COAP_MAX_RTT_MS;
        ex.direct = {
          code: METHOD_CODES[spec.method],
          confirmable: spec.confirmable,
          options: requestOptions(spec, this.blockSize),
          expiresAt: rttLimited ? now + NODE_COAP_MAX_RTT_MS : deadline,
          rttLimited,
          buf: EMPTY,
          messageId: -1,
          retransmitAt: 0,
          timeout: 0,
          attempts: 0,
          onSent: (err) => {
            if (err) this.fail(ex, sendError(err));
          },
          chunks: undefined,
          received: 0,
        };
        this.transmitDirectly(ex, toBuffer(spec.payload), false);
        return;
      }
      ex.timer = setTimeout(
        () =>
          this.fail(ex, new TimeoutError(`no response from ${peer.address}:${peer.port} in time`)),
        Math.max(0, deadline - Date.now()),
      );
      let req: AgentRequest;
      try {
        req = withTiming(this.timing, () =>
          this.agent.request({
            hostname: peer.address,
            port: peer.port,
            method: spec.method,
            confirmable: spec.confirmable,
            token: spec.token,
            retrySend: this.timing.maxRetransmit,
            options: this.agentOptions(spec),
          }),
        );
      } catch (err) {
        this.fail(ex, asError(err));
        return;
      }
      ex.req = req;
      req.on(
        'response',
        (res: {
          _packet: Packet & { source?: ParsedMessage };
          payload: Buffer;
          rsinfo: dgram.RemoteInfo;
        }) => {
          if (ex.done) return;
          const source = res._packet.source;
          if (source === undefined || res._packet.code === '0.00') {
            this.fail(ex, new PeerResetError(`${peer.address}:${peer.port} answered with RST`));
            return;
          }
          const response = incomingResponse(
            this.headOf(ex, source),
            res._packet.payload,
            peerOf(res.rsinfo),
          );
          this.finish(ex);
          resolve(response);
        },
      );
      req.on('error', (err: Error) => this.fail(ex, sendError(err)));
      req.on('timeout', () =>
        this.fail(ex, new TimeoutError(`no response from ${peer.address}:${peer.port}`)),
      );
      try {
        withTiming(this.timing, () => req.end(toBuffer(spec.payload)));
      } catch (err) {
        this.fail(ex, sendError(asError(err)));
      }
    });
  }

  /**
   * Sends the message of a direct exchange (direct-exchange.ts): the request, or the request for
   * the next Block2 block, each with a new message id and a fresh back-off (RFC 7252 §4.2). As
   * node-coap's agent does, a CON is retransmitted until acknowledged, a NON request is sent once,
   * and a follow-up block request is retransmitted whatever its type.
   */
  private transmitDirectly(ex: Exchange, payload: Buffer, followUp: boolean): void {
    const d = ex.direct!;
    d.retransmitAt = 0;
    const messageId = this.nextMessageId();
    const buf = encodeMessage({
      type: d.confirmable ? MessageType.CON : MessageType.NON,
      code: d.code,
      messageId,
      token: ex.token,
      options: d.options,
      payload,
    });
    if (buf.length > NODE_COAP_MAX_REQUEST) {
      this.fail(
        ex,
        sendError(
          new Error(`Max packet size is ${NODE_COAP_MAX_REQUEST}: current is ${buf.length}`),
        ),
      );
      return;
    }
    d.buf = buf;
    d.messageId = messageId;
    const { address, port } = ex.peer;
    if (d.confirmable) {
      this.routeMessageId(ex, address, port, messageId);
    }
    if (d.confirmable || followUp) {
      d.timeout = initialRetransmitTimeout(this.timing);
      d.attempts = 0;
      d.retransmitAt = Date.now() + d.timeout;
    }
    this.sendRaw(buf, port, address, d.onSent);
    if (!ex.done) this.armDirect(ex); // (a send that failed at once has failed the exchange)
  }

  /**
   * One timer per direct exchange, for whichever comes first: the next retransmission or the
   * end of the wait. Stopping the retransmission (an ACK, a response) only clears `retransmitAt`;
   * the timer then finds nothing to send and waits on for the end.
   */
  private armDirect(ex: Exchange): void {
    const d = ex.direct!;
    const due = d.retransmitAt !== 0 && d.retransmitAt < d.expiresAt ? d.retransmitAt : d.expiresAt;
    if (ex.timer !== undefined) clearTimeout(ex.timer);
    ex.timer = setTimeout(this.onDirectTimer, Math.max(0, due - Date.now()), ex);
  }

  private readonly onDirectTimer = (ex: Exchange): void => {
    ex.timer = undefined;
    if (ex.done) return;
    const d = ex.direct!;
    const now = Date.now();
    if (now >= d.expiresAt) {
      const { address, port } = ex.peer;
      this.fail(
        ex,
        new TimeoutError(
          d.rttLimited
            ? `no response from ${address}:${port}`
            : `no response from ${address}:${port} in time`,
        ),
      );
      return;
    }
    if (d.retransmitAt !== 0 && now >= d.retransmitAt) {
      // RFC 7252 §4.2: MAX_RETRANSMIT retransmissions, the timeout doubled each time.
      if (d.attempts < this.timing.maxRetransmit) {
        d.attempts++;
        d.timeout *= 2;
        d.retransmitAt = now + d.timeout;
        this.sendRaw(d.buf, ex.peer.port, ex.peer.address, d.onSent);
        if (ex.done) return;
      } else {
        d.retransmitAt = 0;
      }
    }
    this.armDirect(ex);
  };

  /** A response to a direct exchange: the whole answer, or a Block2 block and the next request. */
  private completeDirectly(
    ex: Exchange,
    msg: ParsedMessage,
    rinfo: dgram.RemoteInfo,
    separate: boolean,
    b2: BlockValue | undefined,
  ): void {
    const d = ex.direct!;
    // As node-coap's agent: a piggybacked response with another token is not ours.
    if (!separate && !msg.token.equals(ex.token)) return;
    d.retransmitAt = 0;
    let payload = msg.payload;
    if (b2 !== undefined) {
      if (b2.more) {
        // RFC 7959 §2.4: ask for the next block, same token, no payload (as node-coap's agent).
        if (d.chunks === undefined) d.chunks = [];
        d.chunks.push(msg.payload);
        d.received += msg.payload.length;
        try {
          withBlock2(d.options, { num: b2.num + 1, more: false, szx: b2.szx });
        } catch (err) {
          this.fail(ex, sendError(asError(err)));
          return;
        }
        this.transmitDirectly(ex, EMPTY, true);
        return;
      }
      if (d.chunks !== undefined) {
        d.chunks.push(msg.payload);
        payload = Buffer.concat(d.chunks, d.received + msg.payload.length);
      }
    }
    const response = incomingResponse(this.headOf(ex, msg), payload, peerOf(rinfo));
    this.finish(ex);
    ex.resolve(response);
  }

  /**
   * Whose code and options a response gets: a Block2 body reassembled by node-coap's agent is
   * handed over with the last block, but RFC 7959 §2.2 makes the code (and the options, such as
   * Content-Format) those of the response the blocks belong to, which block 0 brought. Peers do
   * not always repeat them: node-coap's server (before our fix, and elsewhere) answers every block
   * after the first 2.05, so a block-wise 4.04 or 2.04 was reported as 2.05; RFC 7959 §2.6 leaves
   * Observe out of the later blocks. A last message without Block2 (an error answering a
   * follow-up request) is a response of its own and is taken as it is.
   */
  private headOf(ex: Exchange, last: ParsedMessage): ParsedMessage {
    const first = ex.firstBlock;
    if (first === undefined || first === last) return last;
    if (optionValue(last, OptionNumber.BLOCK2) === undefined) return last;
    if (first.code !== last.code) {
      this.logger?.debug?.(
        {
          peer: `${ex.peer.address}:${ex.peer.port}`,
          first: codeString(first.code),
          last: codeString(last.code),
        },
        "coap: Block2 blocks with different codes; the first block's code is kept",
      );
    }
    return first;
  }

  private agentOptions(spec: ExchangeSpec): Record<string, Buffer | Buffer[]> {
    const o: Record<string, Buffer | Buffer[]> = {};
    // Extra options by number: numeric names keep node-coap from acting on them.
    for (const x of spec.options) {
      const name = String(x.number);
      const prev = o[name];
      const v = toBuffer(x.value);
      o[name] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    if (spec.path.length > 0) o['Uri-Path'] = spec.path.map((s) => Buffer.from(s));
    if (spec.query.length > 0) o['Uri-Query'] = spec.query.map((s) => Buffer.from(s));
    if (spec.contentFormat !== undefined) o['Content-Format'] = encodeUint(spec.contentFormat);
    if (spec.accept !== undefined) o.Accept = encodeUint(spec.accept);
    if (spec.observe !== undefined) o.Observe = encodeUint(spec.observe);
    // Block1 under its number, not its name: node-coap's agent starts its own segmentation when
    // it sees an option named 'Block1' (and reads the block size from the wrong bits).
    if (spec.block1 !== undefined) o[String(OptionNumber.BLOCK1)] = encodeBlock(spec.block1);
    if (spec.size1 !== undefined) o.Size1 = encodeUint(spec.size1);
    if (spec.requestTag !== undefined) o[String(OptionNumber.REQUEST_TAG)] = spec.requestTag;
    const block2 =
      spec.block2 ??
      // RFC 7959 §2.4: ask for our block size from the start (only when it is not the default,
      // so peers that do not know Block2, a critical option, are not bothered).
      (this.blockSize < 1024 && (spec.method === 'GET' || spec.method === 'FETCH')
        ? { num: 0, more: false, szx: szxOf(this.blockSize) }
        : undefined);
    if (block2 !== undefined) o.Block2 = encodeBlock(block2);
    return o;
  }

  /** A CON of `ex` went out with `messageId`: its ACK or RST finds the exchange (§4.2). */
  private routeMessageId(ex: Exchange, address: string, port: number, messageId: number): void {
    ex.keys.push(messageId);
    this.outgoing.set(
      address,
      port,
      messageId,
      { kind: 'agent', exchange: ex },
      this.timing.exchangeLifetime * 1000,
    );
    this.armTransmitWait(ex);
  }

  /** MAX_TRANSMIT_WAIT without an ACK or a response: the peer is not there (RFC 7252 §4.8.2). */
  private armTransmitWait(ex: Exchange): void {
    ex.acked = false;
    this.clearTransmitWait(ex);
    const wait = this.timing.maxTransmitWait * 1000;
    if (Date.now() + wait >= ex.deadline) return; // the overall timeout comes first anyway
    ex.waitTimer = setTimeout(() => {
      if (!ex.acked) {
        this.fail(ex, new TimeoutError(`${ex.peer.address}:${ex.peer.port} did not acknowledge`));
      }
    }, wait);
  }

  private clearTransmitWait(ex: Exchange): void {
    if (ex.waitTimer !== undefined) clearTimeout(ex.waitTimer);
    ex.waitTimer = undefined;
  }

  private fail(ex: Exchange, err: Error): void {
    if (ex.done) return;
    this.finish(ex);
    ex.reject(err);
  }

  /** Releases everything an exchange holds: timers, routes, and the agent's bookkeeping. */
  private finish(ex: Exchange): void {
    ex.done = true;
    clearTimeout(ex.timer);
    this.clearTransmitWait(ex);
    if (ex.signal !== undefined && ex.onAbort !== undefined) {
      ex.signal.removeEventListener('abort', ex.onAbort);
    }
    if (this.exchanges.get(ex.tokenHex) === ex) this.exchanges.delete(ex.tokenHex);
    if (ex.direct !== undefined) ex.direct.retransmitAt = 0;
    const { address, port } = ex.peer;
    for (const mid of ex.keys) {
      const o = this.outgoing.get(address, port, mid);
      if (o?.kind === 'agent' && o.exchange === ex) this.outgoing.delete(address, port, mid);
    }
    const req = ex.req;
    if (req !== undefined) {
      // The agent keeps requests in its maps until a piggybacked answer (never for a separate
      // one) and its retransmission timers until then: drop them now. A no-op 'error' listener
      // stays, as a late socket callback may still report an error.
      req.sender.removeAllListeners();
      req.sender.on('error', NOOP);
      req.sender.reset();
      const mid = req._packet.messageId;
      if (mid !== undefined && this.agent._msgIdToReq.get(mid) === req)
        this.agent._msgIdToReq.delete(mid);
      if (this.agent._tkToReq.get(ex.tokenHex) === req) this.agent._tkToReq.delete(ex.tokenHex);
    }
  }

  /** IP literals as they are (IPv6 in the socket's compressed form); host names through DNS. */
  private resolvePeer(peer: Peer): Peer | Promise<Peer> {
    const kind = isIP(peer.address);
    if (kind === 6 && !peer.address.includes('%')) {
      // Routing keys compare addresses as text: use the form the socket reports (compressed).
      const canonical = new URL(`coap://[${peer.address}]`).hostname.slice(1, -1);
      return canonical === peer.address ? peer : { ...peer, address: canonical };
    }
    if (kind !== 0) return peer; // IPv4, or IPv6 with a zone id (kept as given)
    return lookup(peer.address, { family: this.type === 'udp6' ? 6 : 4 }).then(({ address }) => ({
      ...peer,
      address,
    }));
  }

  // ---------------------------------------------------------------------------------------------
  // Ids

  private nextMessageId(): number {
    this.messageId = (this.messageId + 1) & 0xffff;
    return this.messageId;
  }

  /** RFC 7641 §4.4: one increasing 24-bit sequence for all observations of this endpoint. */
  private nextSequence(): number {
    const s = this.sequence;
    this.sequence = (this.sequence + 1) & 0xffffff;
    return s;
  }

  /** 8 random bytes (RFC 7252 §5.3.1), unique among live exchanges and observations. */
  private newToken(): Buffer {
    for (;;) {
      const bytes = tokenBytes;
      if (bytes.at >= bytes.pool.length) {
        randomFillSync(bytes.pool);
        bytes.at = 0;
      }
      const t = Buffer.from(bytes.pool.subarray(bytes.at, bytes.at + 8));
      bytes.at += 8;
      const hex = t.toString('hex');
      if (!this.exchanges.has(hex) && !this.clientObservations.has(hex)) return t;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Close

  private async shutdown(): Promise<void> {
    this.state = 'closing';
    // (Empty collections are left alone: clearing one allocates, and most are empty here.)
    if (this.exchanges.size > 0) {
      for (const ex of [...this.exchanges.values()]) this.fail(ex, new EndpointClosedError());
    }
    if (this.claims.size > 0) {
      for (const claim of this.claims.values()) {
        clearTimeout(claim.timer);
        claim.decided ??= false;
        claim.waiting.length = 0;
        claim.controller.abort();
      }
      this.claims.clear();
    }
    if (this.clientObservations.size > 0) {
      for (const obs of [...this.clientObservations.values()]) obs.end('closed');
    }
    if (this.serverObservations.size > 0) {
      for (const obs of [...this.serverObservations.values()]) obs.end('endpoint-closed');
    }
    if (this.orphanRetransmitters.size > 0) {
      for (const r of this.orphanRetransmitters) r.stop();
      this.orphanRetransmitters.clear();
    }
    if (this.pendingResponses.size > 0) {
      for (const res of this.pendingResponses) {
        // A handler still running: node-coap's timer would send an empty ACK later.
        if (res._ackTimer !== null) clearTimeout(res._ackTimer);
      }
      this.pendingResponses.clear();
    }
    // Fast-path handlers still running: no empty ACK any more.
    this.piggyback.clear();
    this.block1.clear();
    this.dedup.clear();
    this.outgoing.clear();
    // The server's close clears its reply cache, whose entries hold retransmission timers.
    this.nodeServer?.close();
    const agent = this.nodeAgent;
    if (agent !== undefined) {
      for (const req of agent._msgIdToReq.values()) {
        (req as AgentRequest).sender.reset();
      }
      agent._msgIdToReq.clear();
      agent._tkToReq.clear();
    }
    this.socket.off('message', this.onMessage);
    this.socket.off('error', this.onSocketError);
    this.socket.off('close', this.onSocketClose);
    if (this.closeSocket) {
      await new Promise<void>((resolve) => {
        try {
          this.socket.close(() => resolve());
        } catch {
          resolve(); // already closed
        }
      });
    }
    this.state = 'closed';
  }
}

// -----------------------------------------------------------------------------------------------

/**
 * Puts a node-coap response in the state its piggyback timer leaves it in once it has sent the
 * empty ACK (outgoing_message.js): no longer an ACK but a CON, with a message id still to be given.
 * The endpoint sent that ACK itself (the fast path's window), so node-coap's timer must not.
 */
function separateFromNow(res: NodeCoapResponse): void {
  if (res._ackTimer !== null) clearTimeout(res._ackTimer);
  res._ackTimer = null;
  res._packet.confirmable = true;
  res._packet.ack = false;
  delete res._packet.messageId;
}

function isBound(socket: dgram.Socket): boolean {
  try {
    socket.address();
    return true;
  } catch {
    return false;
  }
}

function positive(name: string, v: number): number {
  if (!(v > 0) || !Number.isFinite(v))
    throw new RangeError(`${name} must be a positive number, got ${v}`);
  return v;
}

function peerOf(rinfo: dgram.RemoteInfo): Peer {
  // The DTLS hook: a DTLS socket passes the peer's identity in the remote info (issue 6).
  const identity = (rinfo as { identity?: unknown }).identity;
  return typeof identity === 'string'
    ? { address: rinfo.address, port: rinfo.port, identity }
    : { address: rinfo.address, port: rinfo.port };
}

function buildRequest(
  msg: ParsedMessage,
  method: CoapMethod,
  payload: Buffer,
  peer: Peer,
  reassembled: boolean,
): CoapRequest {
  const options: CoapOption[] = [];
  const path: string[] = [];
  const query: string[] = [];
  let contentFormat: number | undefined;
  let accept: number | undefined;
  let observe: number | undefined;
  for (let k = 0; k < msg.numbers.length; k++) {
    const n = msg.numbers[k]!;
    const v = msg.values[k]!;
    if (reassembled && (n === OptionNumber.BLOCK1 || n === OptionNumber.SIZE1)) continue;
    options.push({ number: n, value: v });
    if (n === OptionNumber.URI_PATH) path.push(v.toString('utf8'));
    else if (n === OptionNumber.URI_QUERY) query.push(v.toString('utf8'));
    else if (n === OptionNumber.CONTENT_FORMAT) contentFormat = decodeUint(v);
    else if (n === OptionNumber.ACCEPT) accept = decodeUint(v);
    else if (n === OptionNumber.OBSERVE) observe = decodeUint(v);
  }
  return {
    method,
    path,
    query,
    payload,
    ...(contentFormat !== undefined ? { contentFormat } : {}),
    ...(accept !== undefined ? { accept } : {}),
    ...(observe !== undefined ? { observe } : {}),
    token: msg.token,
    confirmable: msg.type === MessageType.CON,
    peer,
    options,
  };
}

function incomingResponse(msg: ParsedMessage, payload: Buffer, peer: Peer): IncomingResponse {
  const rawCode = codeString(msg.code);
  const options: CoapOption[] = [];
  const locationPath: string[] = [];
  let contentFormat: number | undefined;
  let observe: number | undefined;
  for (let k = 0; k < msg.numbers.length; k++) {
    const n = msg.numbers[k]!;
    const v = msg.values[k]!;
    options.push({ number: n, value: v });
    if (n === OptionNumber.LOCATION_PATH) locationPath.push(v.toString('utf8'));
    else if (n === OptionNumber.CONTENT_FORMAT) contentFormat = decodeUint(v);
    else if (n === OptionNumber.OBSERVE) observe = decodeUint(v);
  }
  return {
    code: mapCode(rawCode),
    rawCode,
    payload,
    ...(contentFormat !== undefined ? { contentFormat } : {}),
    locationPath,
    options,
    ...(observe !== undefined ? { observe } : {}),
    peer,
  };
}

/** RFC 7252 §5.9: an unknown code is treated as the generic code of its class. */
function mapCode(raw: string): ResponseCode {
  if (isResponseCode(raw)) return raw;
  if (raw.startsWith('4.')) return '4.00';
  if (raw.startsWith('5.')) return '5.00';
  return '2.05';
}

function normalizePath(path: readonly string[] | string | undefined): readonly string[] {
  if (path === undefined) return [];
  if (typeof path === 'string') return path.split('/').filter((s) => s !== '');
  return path;
}

function pick(r: OutgoingRequest): Omit<OutgoingRequest, 'method'> {
  return {
    ...(r.path !== undefined ? { path: r.path } : {}),
    ...(r.query !== undefined ? { query: r.query } : {}),
    ...(r.accept !== undefined ? { accept: r.accept } : {}),
    ...(r.contentFormat !== undefined && r.method === 'FETCH'
      ? { contentFormat: r.contentFormat }
      : {}),
    ...(r.method === 'FETCH' && r.payload !== undefined ? { payload: r.payload } : {}),
  };
}

function toBuffer(v: Uint8Array | undefined): Buffer {
  if (v === undefined) return Buffer.alloc(0);
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** node-coap's send failures as errors with a CoAP code. */
function sendError(err: Error): Error {
  if (err instanceof LwM2mError) return err;
  if (/Max packet size/.test(err.message)) {
    return new EntityTooLargeError(`request does not fit in one message: ${err.message}`, {
      cause: err,
    });
  }
  return new ServiceUnavailableError(`could not send: ${err.message}`, { cause: err });
}
