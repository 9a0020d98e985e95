import dgram from 'node:dgram';
import {
  CipherSuite,
  type CipherSuiteName,
  DEFAULT_CIPHER_SUITES,
  isCipherSuiteName,
} from './cipher.js';
import { DtlsDgramSocket, positive, type SendCallback } from './dgram-socket.js';
import { DtlsError } from './errors.js';
import { DtlsServerEngine, type DtlsServerStats } from './server-engine.js';
import type { HandshakeFailure } from './server-session.js';
import type { DtlsPeer, DtlsSessionInfo, PskLookup, SessionEndReason } from './types.js';

/** Options of {@link DtlsServerSocket}. Times are in milliseconds. */
export interface DtlsServerSocketOptions {
  readonly type: 'udp4' | 'udp6';
  /** Finds the key of a PSK identity; undefined for an unknown identity. */
  readonly psk: PskLookup;
  /** Sent in ServerKeyExchange (RFC 4279 §2); omitted when unset. */
  readonly identityHint?: string | Uint8Array;
  /** Suites in order of preference; default CCM_8, GCM, CCM, CBC_SHA256. */
  readonly cipherSuites?: readonly CipherSuiteName[];
  /** Refuse clients that do not offer RFC 7627's extended master secret (default false). */
  readonly requireExtendedMasterSecret?: boolean;
  /** Most sessions and half-open handshakes kept at once (default 10,000). */
  readonly maxSessions?: number;
  /** A session with no authenticated record for this long is forgotten (default 30 min). */
  readonly idleTimeoutMs?: number;
  /** A handshake must finish within this after its cookie exchange (default 30 s). */
  readonly handshakeTimeoutMs?: number;
  /** First flight retransmission timeout, doubled on each expiry (default 1 s, RFC 6347 §4.2.4.1). */
  readonly retransmitMs?: number;
  /** Ceiling of the doubling retransmission timeout (default 60 s). */
  readonly maxRetransmitMs?: number;
  /** How often the cookie secret rotates; the previous one stays valid (default 60 s). */
  readonly cookieRotateMs?: number;
  /** Largest datagram the server sends during a handshake (default 1400; min 128). */
  readonly maxDatagramSize?: number;
  /**
   * Session resumption by session ID (RFC 5246 §7.3): how many sessions to remember and for how
   * long (default 10,000 for 24 h); `false` turns it off.
   */
  readonly sessionCache?: false | { readonly maxEntries?: number; readonly lifetimeMs?: number };
  readonly reuseAddr?: boolean;
  readonly ipv6Only?: boolean;
  readonly recvBufferSize?: number;
  readonly sendBufferSize?: number;
}

/** What `message` listeners get: dgram's remote info plus the peer's PSK identity. */
export interface DtlsRemoteInfo extends dgram.RemoteInfo {
  readonly identity: string;
}

/**
 * A DTLS 1.2 PSK server that is a `dgram.Socket`: `bind`, `address`, `send`, `close` and the
 * `message` event work as on a UDP socket, on plaintext. Incoming datagrams are decrypted,
 * `message` carries the peer's PSK identity in `rinfo.identity`, and `send` encrypts to the
 * peer's session (an error when there is none).
 *
 * How it is a dgram.Socket: the class extends `dgram.Socket` itself, so `instanceof` holds and
 * node-coap sends its replies through it. The inherited UDP handle is never bound (libuv opens
 * no file descriptor for an unbound UDP handle); the wire traffic goes through a private inner
 * socket, and every method that touches the network is overridden to use it (the part shared
 * with DtlsClientSocket is DtlsDgramSocket, in dgram-socket.ts). Multicast and
 * `connect` make no sense for a DTLS server and throw `DtlsError` with code `UNSUPPORTED`.
 */
export class DtlsServerSocket extends DtlsDgramSocket<DtlsServerSocketEvents> {
  protected readonly role = 'server';
  readonly #udp: dgram.Socket;
  readonly #engine: DtlsServerEngine;
  readonly #family: 'IPv4' | 'IPv6';
  #pendingSends = 0;
  #drained: (() => void) | undefined;
  #closing = false;

  constructor(options: DtlsServerSocketOptions) {
    super({ type: options.type });
    if (typeof options.psk !== 'function') {
      throw new DtlsError('INVALID_ARGUMENT', 'options.psk must be a lookup function');
    }
    const names = options.cipherSuites ?? DEFAULT_CIPHER_SUITES;
    if (names.length === 0 || !names.every(isCipherSuiteName)) {
      throw new DtlsError('INVALID_ARGUMENT', `unknown cipher suite in ${names.join(', ')}`);
    }
    const hint = options.identityHint;
    this.#family = options.type === 'udp6' ? 'IPv6' : 'IPv4';
    this.#engine = new DtlsServerEngine(
      {
        psk: options.psk,
        identityHint:
          hint === undefined
            ? undefined
            : typeof hint === 'string'
              ? Buffer.from(hint)
              : Buffer.from(hint),
        cipherSuites: names.map((n) => CipherSuite[n]),
        requireExtendedMasterSecret: options.requireExtendedMasterSecret ?? false,
        maxSessions: positive('maxSessions', options.maxSessions, 10_000),
        idleTimeoutMs: positive('idleTimeoutMs', options.idleTimeoutMs, 30 * 60_000),
        handshakeTimeoutMs: positive('handshakeTimeoutMs', options.handshakeTimeoutMs, 30_000),
        retransmitMs: positive('retransmitMs', options.retransmitMs, 1000),
        maxRetransmitMs: positive('maxRetransmitMs', options.maxRetransmitMs, 60_000),
        cookieRotateMs: positive('cookieRotateMs', options.cookieRotateMs, 60_000),
        maxDatagramSize: Math.max(128, positive('maxDatagramSize', options.maxDatagramSize, 1400)),
        sessionCache:
          options.sessionCache === false
            ? undefined
            : {
                maxEntries: positive(
                  'sessionCache.maxEntries',
                  options.sessionCache?.maxEntries,
                  10_000,
                ),
                lifetimeMs: positive(
                  'sessionCache.lifetimeMs',
                  options.sessionCache?.lifetimeMs,
                  86_400_000,
                ),
              },
      },
      {
        send: (datagram, peer) => this.#sendRaw(datagram, peer.port, peer.address),
        message: (data, s) => {
          const rinfo: DtlsRemoteInfo = {
            address: s.address,
            family: s.family,
            port: s.port,
            size: data.length,
            identity: s.identity,
          };
          this.emit('message', data, rinfo);
        },
        session: (info) => this.emit('session', info),
        handshakeError: (error, peer) => this.emit('handshakeError', error, peer),
        sessionEnd: (info, reason) => this.emit('sessionEnd', info, reason),
      },
    );
    const udpOptions: dgram.SocketOptions = { type: options.type };
    if (options.reuseAddr !== undefined) udpOptions.reuseAddr = options.reuseAddr;
    if (options.ipv6Only !== undefined) udpOptions.ipv6Only = options.ipv6Only;
    if (options.recvBufferSize !== undefined) udpOptions.recvBufferSize = options.recvBufferSize;
    if (options.sendBufferSize !== undefined) udpOptions.sendBufferSize = options.sendBufferSize;
    this.#udp = dgram.createSocket(udpOptions);
    this.#udp.on('message', (msg, rinfo) => {
      if (this.#closing) return;
      this.#engine.handleDatagram(msg, {
        address: rinfo.address,
        port: rinfo.port,
        family: rinfo.family,
      });
    });
    this.#udp.on('listening', () => {
      this.#engine.start();
      this.emit('listening');
    });
    this.#udp.on('error', (err) => this.emit('error', err));
  }

  /** Counters: handshakes, sessions, alerts and dropped records by reason. */
  stats(): DtlsServerStats {
    return this.#engine.stats();
  }

  /** The established session with a peer, if there is one. */
  session(address: string, port: number): DtlsSessionInfo | undefined {
    return this.#engine.session(address, port);
  }

  /** Every established session. */
  sessions(): DtlsSessionInfo[] {
    return this.#engine.sessions();
  }

  /** Ends one peer's session, with close_notify when it was established. */
  closeSession(address: string, port: number): boolean {
    return this.#engine.closeSession(address, port);
  }

  override bind(port?: number, address?: string, callback?: () => void): this;
  override bind(port?: number, callback?: () => void): this;
  override bind(callback?: () => void): this;
  override bind(options: dgram.BindOptions, callback?: () => void): this;
  override bind(...args: unknown[]): this {
    const last = args.at(-1);
    if (typeof last === 'function') {
      args.pop();
      this.once('listening', last as () => void);
    }
    (this.#udp.bind as (...a: unknown[]) => dgram.Socket)(...args);
    return this;
  }

  override address(): ReturnType<dgram.Socket['address']> {
    return this.#udp.address();
  }

  protected override udpSocket(): dgram.Socket {
    return this.#udp;
  }

  protected override sendPlaintext(
    data: Buffer,
    port: unknown,
    address: unknown,
    cb: SendCallback | undefined,
  ): void {
    const fail = (err: Error): void => this.failSend(err, cb);
    if (this.#closing) {
      fail(new DtlsError('SOCKET_CLOSED', 'the DTLS socket is closed'));
      return;
    }
    if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0 || port > 0xffff) {
      fail(new DtlsError('INVALID_ARGUMENT', `invalid port ${String(port)}`));
      return;
    }
    const host = this.#resolve(address);
    let datagram: Buffer;
    try {
      datagram = this.#engine.seal(data, host, port);
    } catch (err) {
      fail(err as Error);
      return;
    }
    const size = data.length;
    this.#sendRaw(
      datagram,
      port,
      host,
      cb === undefined ? undefined : (err) => cb(err, err === null ? size : 0),
    );
  }

  /** Sends close_notify to every established session, then closes the socket. */
  override close(callback?: () => void): this {
    if (callback !== undefined) this.once('close', callback);
    if (this.#closing) return this;
    this.#closing = true;
    this.#engine.closeAll();
    const finish = (): void => {
      this.#drained = undefined;
      clearTimeout(guard);
      this.#udp.close();
      super.close();
    };
    // Let the close_notify datagrams leave before the socket goes away.
    const guard = setTimeout(finish, 200);
    if (this.#pendingSends === 0) finish();
    else this.#drained = finish;
    return this;
  }

  override ref(): this {
    this.#udp.ref();
    return this;
  }

  override unref(): this {
    this.#udp.unref();
    return this;
  }

  override connect(_port: number, _address?: string | (() => void), _callback?: () => void): void {
    throw this.unsupported('connect');
  }

  override disconnect(): void {
    throw this.unsupported('disconnect');
  }

  override remoteAddress(): never {
    throw this.unsupported('remoteAddress');
  }

  /** dgram sends to localhost when no address is given; sessions are keyed by IP address. */
  #resolve(address: unknown): string {
    if (typeof address !== 'string' || address === '' || address === 'localhost') {
      return this.#family === 'IPv6' ? '::1' : '127.0.0.1';
    }
    return address;
  }

  #sendRaw(
    datagram: Buffer,
    port: number,
    address: string,
    cb?: (err: Error | null) => void,
  ): void {
    this.#pendingSends++;
    try {
      this.#udp.send(datagram, port, address, (err) => {
        this.#sent();
        if (cb !== undefined) cb(err ?? null);
        else if (err) this.emit('error', err);
      });
    } catch (err) {
      this.#sent();
      if (cb !== undefined) process.nextTick(cb, err as Error);
    }
  }

  #sent(): void {
    this.#pendingSends--;
    if (this.#pendingSends === 0) this.#drained?.();
  }
}

/** Typed listeners for the events this socket adds to dgram's. */
export interface DtlsServerSocketEvents {
  message: (msg: Buffer, rinfo: DtlsRemoteInfo) => void;
  session: (info: DtlsSessionInfo) => void;
  handshakeError: (
    error: HandshakeFailure,
    peer: DtlsPeer & { readonly identity?: string },
  ) => void;
  sessionEnd: (info: DtlsPeer & { readonly identity?: string }, reason: SessionEndReason) => void;
  listening: () => void;
  close: () => void;
  error: (err: Error) => void;
}
