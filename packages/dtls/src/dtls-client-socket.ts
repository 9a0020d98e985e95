import dgram from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';
import { TimeoutError } from '@lwm2m-ts/core';
import { dtls } from 'node-dtls-client';
import { type RecordProtection, recordProtection } from './cipher.js';
import {
  AlertDescription,
  ContentType,
  HandshakeType,
  MAX_PLAINTEXT_LENGTH,
  MAX_SEQUENCE_NUMBER,
  RECORD_HEADER_LENGTH,
} from './constants.js';
import { DtlsDgramSocket, positive, type SendCallback } from './dgram-socket.js';
import { DtlsAlertError, DtlsError } from './errors.js';
import { parseRecords } from './record.js';

/**
 * The PSK suites node-dtls-client 2.0.3 can negotiate (its own default offer, weakest first).
 * It lists more names, but cannot do their key exchange (RSA, DH, DHE-PSK, RSA-PSK).
 */
export const DTLS_CLIENT_CIPHER_SUITES = [
  'TLS_PSK_WITH_3DES_EDE_CBC_SHA',
  'TLS_PSK_WITH_AES_128_CBC_SHA',
  'TLS_PSK_WITH_AES_256_CBC_SHA',
  'TLS_PSK_WITH_AES_128_CBC_SHA256',
  'TLS_PSK_WITH_AES_256_CBC_SHA384',
  'TLS_PSK_WITH_AES_128_GCM_SHA256',
  'TLS_PSK_WITH_AES_256_GCM_SHA384',
  'TLS_PSK_WITH_AES_128_CCM',
  'TLS_PSK_WITH_AES_256_CCM',
  'TLS_PSK_WITH_AES_128_CCM_8',
  'TLS_PSK_WITH_AES_256_CCM_8',
] as const satisfies readonly NonNullable<dtls.Options['ciphers']>[number][];

export type DtlsClientCipherSuite = (typeof DTLS_CLIENT_CIPHER_SUITES)[number];

/**
 * What the client offers unless told otherwise: the four suites the server side has, in its
 * order — CCM_8 (LwM2M's mandatory suite) first, CBC_SHA256 (LwM2M's other one) last.
 */
export const DEFAULT_CLIENT_CIPHER_SUITES: readonly DtlsClientCipherSuite[] = [
  'TLS_PSK_WITH_AES_128_CCM_8',
  'TLS_PSK_WITH_AES_128_GCM_SHA256',
  'TLS_PSK_WITH_AES_128_CCM',
  'TLS_PSK_WITH_AES_128_CBC_SHA256',
];

/** Options of {@link DtlsClientSocket}. Times are in milliseconds. */
export interface DtlsClientSocketOptions {
  readonly type: 'udp4' | 'udp6';
  /** The server: an IP address, or a host name resolved at each handshake. */
  readonly address: string;
  /** The server's DTLS port (5684 for LwM2M). */
  readonly port: number;
  /** The PSK identity (ASCII: node-dtls-client sends it as such) and its key. */
  readonly psk: { readonly identity: string; readonly key: Uint8Array };
  /**
   * How long one handshake may take in all, retries included (default 10 000). Past it the
   * socket emits `error` with core's `TimeoutError`.
   */
  readonly handshakeTimeoutMs?: number;
  /**
   * Fresh handshakes after one times out (default 2). node-dtls-client does not retransmit a
   * lost flight, so a retry starts over with a new ClientHello; each attempt gets twice the time
   * of the one before, all within `handshakeTimeoutMs` (1/7, 2/7 and 4/7 of it by default).
   * Alerts are not retried: a wrong key stays wrong.
   */
  readonly retries?: number;
  /** Suites offered, in order of preference; default {@link DEFAULT_CLIENT_CIPHER_SUITES}. */
  readonly cipherSuites?: readonly DtlsClientCipherSuite[];
  /**
   * When to take the session for forgotten and handshake again by itself. A server that lost
   * its sessions (restarted) drops our records without a word (RFC 6347 §4.1.2.7; neither ours
   * nor libcoap's answers them), so the only sign is silence: at a send, once `sends` sends in
   * a row got nothing back from the server and the first of them is at least `silentMs` old,
   * the session ends (`sessionEnd` 'unanswered') and this send waits for a new one. Default
   * `{ sends: 3, silentMs: 4000 }`: with CoAP's default timing (ACK_TIMEOUT 2 s, RFC 7252
   * §4.8) the fourth transmission of a CON goes over the new session. Traffic that expects no
   * answer (NON only) may cause a spare handshake. `false`: only `reconnect()` does this.
   */
  readonly reconnectWhenUnanswered?:
    | false
    | { readonly sends?: number; readonly silentMs?: number };
  readonly reuseAddr?: boolean;
  readonly ipv6Only?: boolean;
  readonly recvBufferSize?: number;
  readonly sendBufferSize?: number;
}

/**
 * `idle`: no session and nothing open (before the first handshake, after a failed one, after the
 * server ended the session); `handshaking`; `connected`; `closed` (after `close()`).
 */
export type DtlsClientState = 'idle' | 'handshaking' | 'connected' | 'closed';

/** Why the client's session ended (the `sessionEnd` event). */
export type DtlsClientSessionEndReason =
  /** The server sent close_notify; the next `send` or `connect()` starts a new handshake. */
  | 'close_notify'
  /** The server sent a fatal alert; a new handshake has started already. */
  | 'alert'
  /** `reconnect()` was called. */
  | 'reconnect'
  /**
   * Sends went unanswered (see `reconnectWhenUnanswered`): the server has likely forgotten the
   * session. A new handshake has started; the send that noticed waits for it.
   */
  | 'unanswered'
  /** `close()` was called. */
  | 'closed'
  /** The UDP socket failed (also emitted as `error`). */
  | 'error';

/** Counters since the socket was created. */
export interface DtlsClientStats {
  /** Handshakes started, retries included. */
  handshakeAttempts: number;
  handshakesCompleted: number;
  /** Handshakes given up on (an alert, the timeout, a socket error): each one an `error`. */
  handshakesFailed: number;
  /** Calls to `reconnect()`, and reconnections after a fatal alert or unanswered sends. */
  reconnects: number;
  /** Datagrams dropped because they did not come from the server's address and port. */
  foreignDatagrams: number;
  /** Datagrams node-dtls-client threw on (malformed handshake messages), dropped. */
  malformedDatagrams: number;
  /** Datagrams of an earlier session that arrived during a handshake, dropped. */
  staleDatagrams: number;
  /** Handshakes moved to another free port: the one bind(0) learnt was taken meanwhile. */
  rebinds: number;
}

/** Typed listeners for this socket's events. */
export interface DtlsClientSocketEvents {
  /** A decrypted datagram from the server; `size` is the plaintext length. */
  message: (msg: Buffer, rinfo: dgram.RemoteInfo) => void;
  /** A handshake finished (the first one, and each one after a reconnection). */
  connect: () => void;
  /** The local port is known: after `bind()`, or after the first handshake binds one. */
  listening: () => void;
  sessionEnd: (reason: DtlsClientSessionEndReason, error?: Error) => void;
  close: () => void;
  error: (err: Error) => void;
}

/** The private parts of node-dtls-client 2.0.3's `dtls.Socket` this class needs. */
interface NodeDtlsInternals {
  readonly udp: dgram.Socket;
  killConnection(err?: Error): void;
}

/**
 * The parts of node-dtls-client 2.0.3's record layer (`socket.recordLayer`) that the
 * application-data path takes over once its handshake is done; checked at run time.
 */
interface NodeDtlsRecordLayer {
  readonly readEpochNr: number;
  readonly writeEpochNr: number;
  readonly epochs: readonly NodeDtlsEpoch[];
}

interface NodeDtlsEpoch {
  /** The last sequence number sent in this epoch; node-dtls-client pre-increments it. */
  writeSequenceNumber: number;
  readonly connectionState: {
    readonly cipherSuite?: { readonly id?: unknown };
    readonly protocolVersion?: { readonly major?: unknown; readonly minor?: unknown };
    readonly key_material?: Readonly<Record<string, unknown>>;
  };
  readonly antiReplayWindow: {
    mayReceive(seq: number): boolean;
    markAsReceived(seq: number): void;
  };
}

/**
 * Application data of an established session, sealed and opened here rather than in
 * node-dtls-client (whose per-record cost is several times ours: a struct serializer, random
 * explicit nonces, a cipher object per record). The sequence numbers and the replay window stay
 * node-dtls-client's own objects, so the records it still sends (close_notify) and reads
 * (alerts, anything unusual) keep one numbering and one window with ours.
 */
interface FastPath {
  readonly epoch: number;
  readonly version: number;
  readonly state: NodeDtlsEpoch;
  readonly write: RecordProtection;
  readonly read: RecordProtection;
}

interface Connection {
  readonly socket: dtls.Socket;
  readonly udp: dgram.Socket;
  /** The server's ChangeCipherSpec has arrived: epoch-1 records may be this session's. */
  changeCipherSpec: boolean;
  /** Set once connected, when node-dtls-client's state is as expected and the suite ours. */
  fast: FastPath | undefined;
}

interface Queued {
  readonly data: Buffer;
  readonly callback: SendCallback | undefined;
  /** A destination to check once the server's host name is resolved. */
  readonly address: string | undefined;
}

type UserEvent = keyof DtlsClientSocketEvents;

/** Alert names as node-dtls-client prints them (RFC 5246 §7.2, RFC 4279, RFC 8446). */
const ALERT_NUMBERS: Readonly<Record<string, number>> = {
  ...Object.fromEntries(Object.entries(AlertDescription).map(([n, v]) => [n.toLowerCase(), v])),
  decryption_failed_RESERVED: 21,
  decompression_failure: 30,
  no_certificate_RESERVED: 41,
  bad_certificate: 42,
  unsupported_certificate: 43,
  certificate_revoked: 44,
  certificate_expired: 45,
  certificate_unknown: 46,
  unknown_ca: 48,
  access_denied: 49,
  export_restriction_RESERVED: 60,
  unrecognized_name: 112,
  bad_certificate_status_response: 113,
  certificate_required: 116,
  no_application_protocol: 120,
};

/** IPv6 addresses in the compressed form dgram reports; anything else as it is. */
function canonical(address: string): string {
  return isIP(address) === 6 ? new URL(`http://[${address}]`).hostname.slice(1, -1) : address;
}

/** Our record protection for node-dtls-client's negotiated epoch, or undefined to leave it be. */
function takeOver(socket: dtls.Socket): FastPath | undefined {
  const layer = (socket as unknown as { recordLayer?: Partial<NodeDtlsRecordLayer> }).recordLayer;
  const epoch = layer?.writeEpochNr;
  if (
    layer === undefined ||
    typeof epoch !== 'number' ||
    epoch < 1 ||
    layer.readEpochNr !== epoch ||
    !Array.isArray(layer.epochs)
  ) {
    return undefined;
  }
  const state = layer.epochs[epoch] as Partial<NodeDtlsEpoch> | undefined;
  const cs = state?.connectionState;
  const km = cs?.key_material;
  const window = state?.antiReplayWindow;
  const { major, minor } = cs?.protocolVersion ?? {};
  if (
    state === undefined ||
    typeof state.writeSequenceNumber !== 'number' ||
    typeof cs?.cipherSuite?.id !== 'number' ||
    typeof major !== 'number' ||
    typeof minor !== 'number' ||
    km === undefined ||
    typeof window?.mayReceive !== 'function' ||
    typeof window.markAsReceived !== 'function'
  ) {
    return undefined;
  }
  const part = (name: string): Uint8Array | undefined => {
    const v = km[name];
    return v instanceof Uint8Array ? v : undefined;
  };
  const suite = cs.cipherSuite.id;
  const [cMac, cKey, cIv] = ['client_write_MAC_key', 'client_write_key', 'client_write_IV'].map(
    part,
  );
  const [sMac, sKey, sIv] = ['server_write_MAC_key', 'server_write_key', 'server_write_IV'].map(
    part,
  );
  if (!cMac || !cKey || !cIv || !sMac || !sKey || !sIv) return undefined;
  const write = recordProtection(suite, { macKey: cMac, key: cKey, iv: cIv });
  const read = recordProtection(suite, { macKey: sMac, key: sKey, iv: sIv });
  if (write === undefined || read === undefined) return undefined;
  // ProtocolVersion keeps DTLS's one's-complement bytes as negative numbers (~1, ~2).
  const version = ((major & 0xff) << 8) | (minor & 0xff);
  return { epoch, version, state: state as NodeDtlsEpoch, write, read };
}

function internalsOf(socket: dtls.Socket): NodeDtlsInternals {
  const s = socket as unknown as Partial<NodeDtlsInternals>;
  if (!(s.udp instanceof dgram.Socket) || typeof s.killConnection !== 'function') {
    throw new Error('node-dtls-client changed: dtls.Socket has no udp or killConnection (2.0.3)');
  }
  return s as NodeDtlsInternals;
}

/**
 * A DTLS 1.2 PSK client that is a `dgram.Socket` talking to one server: `send` encrypts to it,
 * `message` carries what it sends back, decrypted. The DTLS work is node-dtls-client's; this
 * class gives it dgram's shape (so node-coap and `@lwm2m-ts/coap` run on it), a bound local
 * address and port, handshake retries within a deadline, and sessions that come back.
 *
 * - `connect()` or the first `send` starts the handshake; sends made meanwhile wait for it and
 *   go out in order. `connect` is emitted when it is done.
 * - A handshake that fails (a fatal alert, `handshakeTimeoutMs`, a socket error) emits `error`
 *   (`DtlsAlertError`, core's `TimeoutError`, or the socket's error) and fails the waiting sends'
 *   callbacks; the socket is then idle with nothing open, and the next `send` tries again.
 * - `reconnect()` ends the session (close_notify) and starts a fresh handshake from the same
 *   local port. A server that lost its sessions (restarted) silently drops our records; the
 *   socket takes repeated unanswered sends for that sign and reconnects by itself at the next
 *   send (`reconnectWhenUnanswered`), so CoAP's retransmissions get through. A fatal alert from
 *   the server on an established session reconnects at once; close_notify from the server
 *   leaves the socket idle until the next `send`.
 * - Once connected, application data is sealed and opened here with this package's record
 *   protection, not by node-dtls-client, whose per-record cost was the larger part of a CoAP
 *   round trip's DTLS cost. The handshake, alerts and close_notify stay its work.
 * - `close()` sends close_notify, closes the UDP socket and clears every timer.
 *
 * How it is a dgram.Socket: as {@link DtlsServerSocket}, it extends `dgram.Socket` and never
 * binds the inherited handle. node-dtls-client makes a UDP socket per session; `bind(port,
 * address)` checks the address is free (a socket bound and closed at once) and pins it, and
 * each session's socket binds there again, so the source port stays the same across
 * reconnections. Without `bind()` the first session's ephemeral port is pinned the same way.
 */
export class DtlsClientSocket extends DtlsDgramSocket<DtlsClientSocketEvents> {
  protected readonly role = 'client';
  readonly #type: 'udp4' | 'udp6';
  readonly #family: 'IPv4' | 'IPv6';
  readonly #host: string;
  readonly #port: number;
  readonly #identity: string;
  readonly #key: Buffer;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #cipherSuites: DtlsClientCipherSuite[];
  readonly #unansweredLimit: { readonly sends: number; readonly silentMs: number } | undefined;
  /** Sends in this session since the server last sent us anything, and when the first went. */
  #unanswered = 0;
  #firstUnansweredAt = 0;
  readonly #udpOptions: Partial<dgram.SocketOptions>;
  #state: DtlsClientState | 'closing' = 'idle';
  #conn: Connection | undefined;
  #serverIp: string | undefined;
  /** The pinned local address (undefined: all interfaces) and port. */
  #local: { readonly address: string | undefined; readonly port: number } | undefined;
  #probe: dgram.Socket | undefined;
  /** The pinned port came from a bind to port 0 (any free port), not from the caller. */
  #anyPort = false;
  #queue: Queued[] = [];
  /** One connect/reconnect run: its attempts share a deadline. */
  #run = 0;
  /** Attempts started in the current run. */
  #attempts = 0;
  #deadline = 0;
  /** How far the current run's handshakes got: for the timeout's message. */
  #progress: 'none' | 'answered' | 'serverHello' = 'none';
  /** The description of a plaintext alert seen in the current attempt. */
  #lastAlert: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #refed = true;
  readonly #stats: DtlsClientStats = {
    handshakeAttempts: 0,
    handshakesCompleted: 0,
    handshakesFailed: 0,
    reconnects: 0,
    foreignDatagrams: 0,
    malformedDatagrams: 0,
    staleDatagrams: 0,
    rebinds: 0,
  };

  constructor(options: DtlsClientSocketOptions) {
    super({ type: options.type });
    if (options.type !== 'udp4' && options.type !== 'udp6') {
      throw new DtlsError('INVALID_ARGUMENT', `type must be udp4 or udp6, got ${options.type}`);
    }
    if (typeof options.address !== 'string' || options.address === '') {
      throw new DtlsError('INVALID_ARGUMENT', 'address (the server) must be a non-empty string');
    }
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 0xffff) {
      throw new DtlsError('INVALID_ARGUMENT', `invalid server port ${String(options.port)}`);
    }
    const { identity, key } = options.psk ?? {};
    // node-dtls-client writes the identity with Buffer.from(identity, 'ascii').
    if (typeof identity !== 'string' || !/^[\x20-\x7e]{1,65535}$/.test(identity)) {
      throw new DtlsError(
        'INVALID_ARGUMENT',
        'psk.identity must be 1 to 65535 printable ASCII characters',
      );
    }
    if (!(key instanceof Uint8Array) || key.length === 0 || key.length > 0xffff) {
      throw new DtlsError('INVALID_ARGUMENT', 'psk.key must be a Uint8Array of 1 to 65535 bytes');
    }
    const suites = options.cipherSuites ?? DEFAULT_CLIENT_CIPHER_SUITES;
    const known: readonly string[] = DTLS_CLIENT_CIPHER_SUITES;
    if (suites.length === 0 || !suites.every((s) => known.includes(s))) {
      throw new DtlsError('INVALID_ARGUMENT', `unsupported cipher suite in ${suites.join(', ')}`);
    }
    const retries = options.retries ?? 2;
    if (!Number.isInteger(retries) || retries < 0 || retries > 10) {
      throw new DtlsError('INVALID_ARGUMENT', `retries must be an integer 0 to 10, got ${retries}`);
    }
    this.#type = options.type;
    this.#family = options.type === 'udp6' ? 'IPv6' : 'IPv4';
    this.#host = options.address;
    this.#port = options.port;
    this.#identity = identity;
    this.#key = Buffer.from(key);
    this.#timeoutMs = positive('handshakeTimeoutMs', options.handshakeTimeoutMs, 10_000);
    this.#retries = retries;
    this.#cipherSuites = [...suites];
    const when = options.reconnectWhenUnanswered;
    if (when === false) {
      this.#unansweredLimit = undefined;
    } else {
      const sends = when?.sends ?? 3;
      if (!Number.isInteger(sends) || sends < 1) {
        throw new DtlsError(
          'INVALID_ARGUMENT',
          `reconnectWhenUnanswered.sends must be a positive integer, got ${sends}`,
        );
      }
      const silentMs = positive('reconnectWhenUnanswered.silentMs', when?.silentMs, 4000);
      this.#unansweredLimit = { sends, silentMs };
    }
    const udp: Partial<dgram.SocketOptions> = {};
    if (options.reuseAddr !== undefined) udp.reuseAddr = options.reuseAddr;
    if (options.ipv6Only !== undefined) udp.ipv6Only = options.ipv6Only;
    if (options.recvBufferSize !== undefined) udp.recvBufferSize = options.recvBufferSize;
    if (options.sendBufferSize !== undefined) udp.sendBufferSize = options.sendBufferSize;
    this.#udpOptions = udp;
  }

  /** Where the session is; `closed` from the moment `close()` is called. */
  get state(): DtlsClientState {
    return this.#state === 'closing' ? 'closed' : this.#state;
  }

  /** Counters: handshake attempts, completions, failures, reconnections, dropped datagrams. */
  stats(): DtlsClientStats {
    return { ...this.#stats };
  }

  /**
   * Starts the handshake unless there is a session or one is under way; `callback` runs on
   * `connect`. A port or address other than the server's throws `DtlsError` `WRONG_PEER`
   * (dgram's `connect(port, address)` form is accepted for the server's own).
   */
  override connect(callback?: () => void): void;
  override connect(port: number, address?: string, callback?: () => void): void;
  override connect(port: number, callback: () => void): void;
  override connect(...args: unknown[]): void {
    const callback = typeof args.at(-1) === 'function' ? (args.pop() as () => void) : undefined;
    const [port, address] = args;
    if (port !== undefined && port !== this.#port) throw this.#wrongPeer(port, address);
    if (address !== undefined && this.#destination(address) === 'wrong') {
      throw this.#wrongPeer(port, address);
    }
    if (this.#state === 'closing' || this.#state === 'closed') throw closedError();
    if (callback !== undefined) {
      if (this.#state === 'connected') process.nextTick(callback);
      else this.once('connect', callback);
    }
    this.#startHandshake();
  }

  /**
   * Ends the session (close_notify, when there is one) and starts a fresh handshake from the same
   * local port; `callback` runs on `connect`. Sends made meanwhile wait for the new session. Does
   * nothing new while a handshake is under way. Throws `SOCKET_CLOSED` after `close()`.
   */
  reconnect(callback?: () => void): void {
    if (this.#state === 'closing' || this.#state === 'closed') throw closedError();
    if (callback !== undefined) this.once('connect', callback);
    if (this.#state === 'handshaking') return;
    this.#renew('reconnect');
  }

  /** Ends the session, if there is one, with close_notify, and starts a new handshake. */
  #renew(reason: 'reconnect' | 'unanswered'): void {
    this.#stats.reconnects++;
    const conn = this.#conn;
    if (this.#state === 'connected' && conn !== undefined) {
      this.#state = 'handshaking';
      // From inside send(), the event waits for the next tick like the socket's others.
      if (reason === 'reconnect') this.emit('sessionEnd', reason);
      else this.#defer('sessionEnd', reason);
      this.#abandon(conn, true, () => {
        if (this.#state === 'handshaking' && this.#conn === undefined) this.#beginRun();
      });
      return;
    }
    this.#startHandshake();
  }

  override bind(port?: number, address?: string, callback?: () => void): this;
  override bind(port?: number, callback?: () => void): this;
  override bind(callback?: () => void): this;
  override bind(options: dgram.BindOptions, callback?: () => void): this;
  override bind(...args: unknown[]): this {
    if (this.#state === 'closing' || this.#state === 'closed') throw closedError();
    if (this.#local !== undefined || this.#probe !== undefined || this.#state !== 'idle') {
      throw new DtlsError('ALREADY_BOUND', 'the DTLS client socket is bound already');
    }
    const callback = typeof args.at(-1) === 'function' ? (args.pop() as () => void) : undefined;
    let [port, address] = args;
    if (typeof port === 'object' && port !== null) {
      ({ port, address } = port as dgram.BindOptions);
    }
    port ??= 0;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 0xffff) {
      throw new DtlsError('INVALID_ARGUMENT', `invalid local port ${String(port)}`);
    }
    if (address !== undefined && typeof address !== 'string') {
      throw new DtlsError('INVALID_ARGUMENT', `invalid local address ${String(address)}`);
    }
    if (callback !== undefined) this.once('listening', callback);
    // Check the address is free and learn the port now; each session's socket binds there.
    const probe = dgram.createSocket({ type: this.#type, ...this.#udpOptions });
    this.#probe = probe;
    probe.on('error', (err) => {
      try {
        probe.close();
      } catch {
        // closed already
      }
      if (this.#probe !== probe) return;
      this.#probe = undefined;
      if (this.#state === 'handshaking') {
        // A send or connect() was waiting for the bind: it fails with it.
        this.#state = 'idle';
        this.#failQueued(err);
      }
      this.emit('error', err);
    });
    probe.bind(port, address || undefined, () => {
      if (this.#probe !== probe) return;
      const bound = probe.address();
      this.#probe = undefined;
      probe.close();
      this.#local = { address: address ? bound.address : undefined, port: bound.port };
      this.#anyPort = port === 0;
      this.emit('listening');
      if (this.#state === 'handshaking' && this.#conn === undefined) this.#beginRun();
    });
    if (!this.#refed) probe.unref();
    return this;
  }

  /**
   * The local address: the session's socket's, else the pinned one. Throws `NOT_BOUND` before
   * `bind()` and before the first handshake has bound a port.
   */
  override address(): ReturnType<dgram.Socket['address']> {
    const udp = this.#conn?.udp;
    if (udp !== undefined) {
      try {
        return udp.address();
      } catch {
        // Binding right now: fall back to the pinned address.
      }
    }
    if (this.#local !== undefined) {
      return {
        address: this.#local.address ?? (this.#family === 'IPv6' ? '::' : '0.0.0.0'),
        family: this.#family,
        port: this.#local.port,
      };
    }
    throw new DtlsError('NOT_BOUND', 'the DTLS client socket is not bound: bind() or connect()');
  }

  /** The server, while there is a session; `NO_SESSION` otherwise. */
  override remoteAddress(): ReturnType<dgram.Socket['remoteAddress']> {
    if (this.#state !== 'connected' || this.#serverIp === undefined) {
      throw new DtlsError('NO_SESSION', 'the DTLS client socket has no session now');
    }
    return { address: this.#serverIp, family: this.#family, port: this.#port };
  }

  override disconnect(): void {
    throw this.unsupported('disconnect (use close() or reconnect())');
  }

  /**
   * Sends close_notify when there is a session, closes the UDP socket, clears every timer and
   * fails the sends still waiting for a handshake (`SOCKET_CLOSED`). Emits `close` once.
   */
  override close(callback?: () => void): this {
    if (this.#state === 'closed') {
      if (callback !== undefined) process.nextTick(callback);
      return this;
    }
    if (callback !== undefined) this.once('close', callback);
    if (this.#state === 'closing') return this;
    const wasConnected = this.#state === 'connected';
    this.#state = 'closing';
    this.#run++;
    this.#clearTimer();
    if (this.#probe !== undefined) {
      this.#probe.close();
      this.#probe = undefined;
    }
    // (The error only when something waits: building one captures a stack, every close.)
    if (this.#queue.length > 0) this.#failQueued(closedError());
    const finish = (): void => {
      this.#state = 'closed';
      super.close();
    };
    const conn = this.#conn;
    if (conn === undefined) {
      finish();
      return this;
    }
    if (wasConnected) this.emit('sessionEnd', 'closed');
    this.#abandon(conn, wasConnected, finish);
    return this;
  }

  override ref(): this {
    this.#refed = true;
    this.#conn?.udp.ref();
    this.#probe?.ref();
    this.#timer?.ref();
    return this;
  }

  override unref(): this {
    this.#refed = false;
    this.#conn?.udp.unref();
    this.#probe?.unref();
    this.#timer?.unref();
    return this;
  }

  protected override udpSocket(): dgram.Socket | undefined {
    return this.#conn?.udp;
  }

  protected override sendPlaintext(
    data: Buffer,
    port: unknown,
    address: unknown,
    callback: SendCallback | undefined,
  ): void {
    if (this.#state === 'closing' || this.#state === 'closed') {
      this.failSend(closedError(), callback);
      return;
    }
    if (address !== undefined && address !== null && typeof address !== 'string') {
      this.failSend(
        new DtlsError('INVALID_ARGUMENT', `invalid address ${String(address)}`),
        callback,
      );
      return;
    }
    const verdict = address ? this.#destination(address) : 'ok';
    if ((port !== undefined && port !== this.#port) || verdict === 'wrong') {
      this.failSend(this.#wrongPeer(port, address), callback);
      return;
    }
    if (data.length > MAX_PLAINTEXT_LENGTH) {
      this.failSend(
        new DtlsError(
          'MESSAGE_TOO_LARGE',
          `${data.length} bytes do not fit one DTLS record (${MAX_PLAINTEXT_LENGTH})`,
        ),
        callback,
      );
      return;
    }
    if (this.#state === 'connected' && verdict === 'ok') {
      if (!this.#forgotten()) {
        this.#sendNow(data, callback);
        return;
      }
      this.#renew('unanswered'); // this send is queued below, for the new session
    }
    this.#queue.push({
      data,
      callback,
      address: verdict === 'later' ? (address as string) : undefined,
    });
    this.#startHandshake();
  }

  // ---------------------------------------------------------------------------------------------
  // Handshakes

  #startHandshake(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'handshaking';
    this.#beginRun();
  }

  /** A connect or reconnect: resolve the server, then attempts until one succeeds or time is up. */
  #beginRun(): void {
    if (this.#probe !== undefined) return; // bind() is under way: it calls again when bound
    const run = ++this.#run;
    this.#attempts = 0;
    this.#progress = 'none';
    this.#deadline = performance.now() + this.#timeoutMs;
    if (isIP(this.#host) !== 0) {
      this.#serverIp = canonical(this.#host);
      this.#attemptHandshake();
      return;
    }
    this.#arm(this.#timeoutMs, () => this.#handshakeFailed(this.#timeoutError()));
    dnsLookup(this.#host, { family: this.#family === 'IPv6' ? 6 : 4 }, (err, ip) => {
      if (run !== this.#run || this.#state !== 'handshaking') return;
      this.#clearTimer();
      if (err) {
        this.#handshakeFailed(err);
        return;
      }
      this.#serverIp = canonical(ip);
      this.#attemptHandshake();
    });
  }

  #attemptHandshake(): void {
    const remaining = this.#deadline - performance.now();
    if (remaining <= 0) {
      this.#handshakeFailed(this.#timeoutError());
      return;
    }
    // Doubling shares of the whole timeout: T/7, 2T/7, 4T/7 with two retries.
    const n = this.#attempts++;
    const share = (this.#timeoutMs * 2 ** n) / (2 ** (this.#retries + 1) - 1);
    const wait = n >= this.#retries ? remaining : Math.min(remaining, share);
    this.#stats.handshakeAttempts++;
    this.#lastAlert = undefined;
    let conn: Connection;
    try {
      conn = this.#open();
    } catch (err) {
      this.#handshakeFailed(err as Error);
      return;
    }
    this.#conn = conn;
    this.#arm(Math.max(1, wait), () => {
      if (this.#conn !== conn) return;
      this.#abandon(conn, false);
      if (this.#attempts > this.#retries) this.#handshakeFailed(this.#timeoutError());
      else this.#attemptHandshake();
    });
  }

  /** Creates node-dtls-client's socket for one handshake and the session that follows. */
  #open(): Connection {
    const options: dtls.Options & Partial<dgram.SocketOptions> = {
      ...this.#udpOptions,
      type: this.#type,
      address: this.#serverIp!,
      port: this.#port,
      psk: { [this.#identity]: this.#key },
      // Its own timer is a backstop only: ours decides, and kills the socket first.
      timeout: this.#timeoutMs + 1000,
      ciphers: this.#cipherSuites,
    };
    const local = this.#local;
    if (local !== undefined && local.port !== 0) options.listenPort = local.port;
    if (local?.address !== undefined) {
      // node-dtls-client binds with `bind(listenPort)`, i.e. to all interfaces: dgram resolves
      // that wildcard through the socket's lookup function, which answers the local address.
      const wildcard = this.#type === 'udp6' ? '::' : '0.0.0.0';
      const bindTo = local.address;
      options.lookup = ((hostname: string, how: unknown, cb: LookupCallback) => {
        if (hostname === wildcard) process.nextTick(cb, null, bindTo, isIP(bindTo));
        else dnsLookup(hostname, how as number, cb);
      }) as dgram.SocketOptions['lookup'];
    }
    const socket = dtls.createSocket(options);
    const { udp } = internalsOf(socket);
    const conn: Connection = { socket, udp, changeCipherSpec: false, fast: undefined };
    // Datagrams go through a filter first: only the server's count, and node-dtls-client's
    // exceptions on malformed handshake messages must not escape into the event loop.
    const handlers = udp.listeners('message') as ((msg: Buffer, rinfo: dgram.RemoteInfo) => void)[];
    udp.removeAllListeners('message');
    udp.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => {
      if (rinfo.port !== this.#port || canonical(rinfo.address) !== this.#serverIp) {
        this.#stats.foreignDatagrams++;
        return;
      }
      if (conn.fast !== undefined && this.#state === 'connected' && this.#conn === conn) {
        if (this.#openFast(conn.fast, msg, rinfo)) return;
      } else if (this.#state === 'handshaking' && !this.#inspect(conn, msg)) {
        this.#stats.staleDatagrams++;
        return;
      }
      for (const handler of handlers) {
        try {
          handler.call(udp, msg, rinfo);
        } catch {
          this.#stats.malformedDatagrams++;
        }
      }
    });
    udp.once('listening', () => {
      if (this.#conn !== conn) return;
      const pinned = this.#local === undefined;
      this.#local = { address: this.#local?.address, port: udp.address().port };
      if (pinned) this.#defer('listening');
    });
    if (!this.#refed) udp.unref();
    socket.on('connected', () => this.#connected(conn));
    socket.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => {
      if (this.#conn !== conn || this.#state !== 'connected') return;
      this.#unanswered = 0;
      const info = { address: rinfo.address, family: rinfo.family, port: rinfo.port };
      this.#defer('message', msg, { ...info, size: msg.length });
    });
    socket.on('error', (err: Error) => this.#innerError(conn, err));
    socket.on('close', () => this.#innerClosed(conn));
    return conn;
  }

  /**
   * Notes how far a handshake got, from the plaintext records, for a clearer error; false for a
   * datagram of a previous session (only records of epoch 1 or later before the server's
   * ChangeCipherSpec). After `reconnect()` the server's answer to our close_notify reaches the
   * new socket on the same port, and node-dtls-client, fed that, misses the new Finished.
   */
  #inspect(conn: Connection, datagram: Buffer): boolean {
    let current = false;
    for (const r of parseRecords(datagram, () => {})) {
      if (r.epoch !== 0) {
        current ||= conn.changeCipherSpec;
        continue;
      }
      current = true;
      if (r.type === ContentType.CHANGE_CIPHER_SPEC) {
        conn.changeCipherSpec = true;
      } else if (r.type === ContentType.HANDSHAKE) {
        if (r.fragment[0] === HandshakeType.SERVER_HELLO) this.#progress = 'serverHello';
        else if (this.#progress === 'none') this.#progress = 'answered';
      } else if (r.type === ContentType.ALERT && r.fragment.length === 2) {
        this.#lastAlert = r.fragment[1];
      }
    }
    return current;
  }

  #connected(conn: Connection): void {
    if (this.#conn !== conn || this.#state !== 'handshaking') return;
    this.#clearTimer();
    conn.fast = takeOver(conn.socket);
    this.#unanswered = 0;
    this.#state = 'connected';
    this.#stats.handshakesCompleted++;
    this.#defer('connect');
    for (const q of this.#queue.splice(0)) {
      if (q.address !== undefined && this.#destination(q.address) !== 'ok') {
        this.failSend(this.#wrongPeer(this.#port, q.address), q.callback);
      } else if (this.#state === 'connected') {
        this.#sendNow(q.data, q.callback);
      } else {
        this.#queue.push(q);
      }
    }
  }

  /** node-dtls-client emits `error` only once it has closed its UDP socket. */
  #innerError(conn: Connection, err: Error): void {
    if (this.#conn !== conn) return;
    this.#conn = undefined;
    if (
      this.#state === 'handshaking' &&
      this.#anyPort &&
      (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
    ) {
      // bind(0) learnt a free port from a probe socket, closed it, and another socket took the
      // port before this session's socket could bind it. Nobody was told that port but us: take
      // any free port instead and try again within the same handshake time.
      this.#anyPort = false;
      this.#local = { address: this.#local?.address, port: 0 };
      this.#stats.rebinds++;
      this.#abandon(conn, false);
      this.#attempts = Math.max(0, this.#attempts - 1);
      this.#attemptHandshake();
      return;
    }
    const error = this.#translate(err);
    if (this.#state === 'handshaking') {
      this.#handshakeFailed(error);
      return;
    }
    if (this.#state !== 'connected') return;
    this.#state = 'idle';
    if (error instanceof DtlsAlertError && error.direction === 'received') {
      // The server ended the session with a fatal alert: it will not take our records any more.
      this.#stats.reconnects++;
      this.#defer('sessionEnd', 'alert', error);
      this.#startHandshake();
      return;
    }
    this.#defer('sessionEnd', 'error', error);
    this.#defer('error', error);
  }

  /** node-dtls-client closes its socket by itself after the server's close_notify. */
  #innerClosed(conn: Connection): void {
    if (this.#conn !== conn) return;
    this.#conn = undefined;
    if (this.#state === 'connected') {
      this.#state = 'idle';
      this.#defer('sessionEnd', 'close_notify');
    } else if (this.#state === 'handshaking') {
      this.#handshakeFailed(
        new DtlsAlertError(
          AlertDescription.CLOSE_NOTIFY,
          'received',
          `${this.#peerText()}: the server closed the handshake`,
        ),
      );
    }
  }

  #handshakeFailed(error: Error): void {
    this.#clearTimer();
    if (this.#conn !== undefined) this.#abandon(this.#conn, false);
    this.#run++;
    this.#state = 'idle';
    this.#stats.handshakesFailed++;
    this.#failQueued(error);
    this.#defer('error', error);
  }

  /** node-dtls-client reports everything as a plain Error: give alerts their number. */
  #translate(err: Error): Error {
    const received = /^received fatal alert: (\w+)$/.exec(err.message);
    if (received !== null) {
      const alert = ALERT_NUMBERS[received[1]!] ?? this.#lastAlert;
      if (alert !== undefined) {
        return new DtlsAlertError(alert, 'received', this.#alertDetail(alert), { cause: err });
      }
    }
    if (err.message === 'DTLS handshake failed') {
      return new DtlsAlertError(
        AlertDescription.DECRYPT_ERROR,
        'sent',
        `${this.#peerText()}: the server's Finished does not verify (a wrong PSK?)`,
        { cause: err },
      );
    }
    if (/key exchange not implemented/.test(err.message)) {
      return new DtlsAlertError(
        AlertDescription.HANDSHAKE_FAILURE,
        'sent',
        `${this.#peerText()}: ${err.message}`,
        { cause: err },
      );
    }
    if (/timed out/.test(err.message)) return this.#timeoutError();
    return err;
  }

  #alertDetail(alert: number): string {
    const what = this.#state === 'handshaking' ? 'handshake failed' : 'session ended';
    const hint =
      alert === AlertDescription.BAD_RECORD_MAC || alert === AlertDescription.DECRYPT_ERROR
        ? ' (a wrong PSK?)'
        : alert === AlertDescription.UNKNOWN_PSK_IDENTITY
          ? ` (the server does not know identity '${this.#identity}')`
          : alert === AlertDescription.HANDSHAKE_FAILURE
            ? ' (no common cipher suite, or a required extension missing?)'
            : '';
    return `${this.#peerText()}: ${what}${hint}`;
  }

  #timeoutError(): TimeoutError {
    const why =
      this.#progress === 'serverHello'
        ? 'the server answered the ClientHello but not the Finished: a wrong PSK or identity ' +
          '(OpenSSL and GnuTLS drop what they cannot decrypt), or datagrams lost'
        : this.#progress === 'answered'
          ? 'the server answered, but sent no ServerHello'
          : 'no answer from the server';
    return new TimeoutError(
      `DTLS handshake ${this.#peerText()} not finished within ${this.#timeoutMs} ms ` +
        `(${this.#attempts} attempt${this.#attempts === 1 ? '' : 's'}): ${why}`,
    );
  }

  #peerText(): string {
    return `with ${this.#host}:${this.#port} as '${this.#identity}'`;
  }

  // ---------------------------------------------------------------------------------------------
  // Plumbing

  /** True when enough sends went unanswered for long enough (`reconnectWhenUnanswered`). */
  #forgotten(): boolean {
    const limit = this.#unansweredLimit;
    return (
      limit !== undefined &&
      this.#unanswered >= limit.sends &&
      performance.now() - this.#firstUnansweredAt >= limit.silentMs
    );
  }

  /**
   * A datagram that is one application-data record of the current epoch (what a server sends
   * in an established session): checked against the replay window (RFC 6347 §4.1.2.6), opened,
   * and emitted at once. False for anything else, which goes to node-dtls-client.
   */
  #openFast(fast: FastPath, msg: Buffer, rinfo: dgram.RemoteInfo): boolean {
    if (
      msg.length < RECORD_HEADER_LENGTH ||
      msg[0] !== ContentType.APPLICATION_DATA ||
      msg[1] !== 0xfe ||
      msg.readUInt16BE(3) !== fast.epoch ||
      msg.readUInt16BE(11) !== msg.length - RECORD_HEADER_LENGTH
    ) {
      return false;
    }
    const seq = msg.readUIntBE(5, 6);
    // Replays and records that fail authentication are dropped silently (RFC 6347 §4.1.2.7).
    if (!fast.state.antiReplayWindow.mayReceive(seq)) return true;
    const version = msg.readUInt16BE(1);
    const fragment = msg.subarray(RECORD_HEADER_LENGTH);
    const plaintext = fast.read.open(
      ContentType.APPLICATION_DATA,
      version,
      fast.epoch,
      seq,
      fragment,
    );
    if (plaintext === undefined) return true;
    fast.state.antiReplayWindow.markAsReceived(seq);
    this.#unanswered = 0;
    this.emit('message', plaintext, {
      address: rinfo.address,
      family: rinfo.family,
      port: rinfo.port,
      size: plaintext.length,
    });
    return true;
  }

  #sendNow(data: Buffer, callback: SendCallback | undefined): void {
    const conn = this.#conn!;
    if (this.#unanswered++ === 0) this.#firstUnansweredAt = performance.now();
    const fast = conn.fast;
    if (fast !== undefined) {
      this.#sendFast(conn, fast, data, callback);
      return;
    }
    try {
      conn.socket.send(data, (err) => {
        if (err) {
          if (callback !== undefined) callback(err, 0);
          else this.emit('error', err);
        } else {
          callback?.(null, data.length);
        }
      });
    } catch (err) {
      this.failSend(err as Error, callback);
    }
  }

  #sendFast(
    conn: Connection,
    fast: FastPath,
    data: Buffer,
    callback: SendCallback | undefined,
  ): void {
    const seq = fast.state.writeSequenceNumber + 1;
    if (seq > MAX_SEQUENCE_NUMBER) {
      this.failSend(
        new DtlsError('NO_SESSION', 'sequence numbers exhausted: reconnect()'),
        callback,
      );
      return;
    }
    fast.state.writeSequenceNumber = seq;
    const record = fast.write.sealRecord(
      ContentType.APPLICATION_DATA,
      fast.version,
      fast.epoch,
      seq,
      data,
    );
    const size = data.length;
    try {
      conn.udp.send(record, this.#port, this.#serverIp, (err) => {
        if (err) {
          if (callback !== undefined) callback(err, 0);
          else this.emit('error', err);
        } else {
          callback?.(null, size);
        }
      });
    } catch (err) {
      this.failSend(err as Error, callback);
    }
  }

  /**
   * Lets go of a session's socket: with close_notify first (node-dtls-client's close), or at
   * once. `then` runs when the UDP socket is closed.
   */
  #abandon(conn: Connection, notify: boolean, then?: () => void): void {
    if (this.#conn === conn) this.#conn = undefined;
    const kill = (): void => internalsOf(conn.socket).killConnection();
    if (!notify) {
      kill();
      then?.();
      return;
    }
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(guard);
      kill();
      then?.();
    };
    // The close_notify send always calls back; the guard is for a socket that never does.
    const guard = setTimeout(finish, 200);
    if (!this.#refed) guard.unref();
    try {
      conn.socket.close(finish);
    } catch {
      finish();
    }
  }

  /** 'ok', 'wrong', or 'later' when the server's host name is not resolved yet. */
  #destination(address: unknown): 'ok' | 'wrong' | 'later' {
    if (typeof address !== 'string') return 'wrong';
    if (address === this.#host) return 'ok';
    const ip = canonical(address);
    if (this.#serverIp !== undefined) return ip === this.#serverIp ? 'ok' : 'wrong';
    if (isIP(this.#host) !== 0) return ip === canonical(this.#host) ? 'ok' : 'wrong';
    return isIP(address) !== 0 ? 'later' : 'wrong';
  }

  #wrongPeer(port: unknown, address: unknown): DtlsError {
    return new DtlsError(
      'WRONG_PEER',
      `this DTLS client socket talks to ${this.#host}:${this.#port} only, not to ` +
        `${String(address ?? this.#host)}:${String(port ?? this.#port)}`,
    );
  }

  #failQueued(error: Error): void {
    for (const q of this.#queue.splice(0)) {
      if (q.callback !== undefined) process.nextTick(q.callback, error, 0);
    }
  }

  #arm(ms: number, fn: () => void): void {
    this.#clearTimer();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      fn();
    }, ms);
    if (!this.#refed) this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Emits on the next tick: node-dtls-client calls us from inside its own handlers (some in a
   * try/catch that would take a listener's exception for a handshake failure), and `connect`
   * must come before the messages it buffered during the handshake. Nothing after `close()`.
   */
  #defer<E extends UserEvent>(event: E, ...args: Parameters<DtlsClientSocketEvents[E]>): void {
    process.nextTick(() => {
      if (this.#state === 'closing' || this.#state === 'closed') return;
      this.emit(event, ...args);
    });
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

function closedError(): DtlsError {
  return new DtlsError('SOCKET_CLOSED', 'the DTLS client socket is closed');
}
