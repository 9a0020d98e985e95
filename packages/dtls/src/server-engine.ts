import { ContentType, DTLS_1_0, HandshakeType } from './constants.js';
import { CookieFactory } from './cookie.js';
import { DtlsError } from './errors.js';
import {
  encodeHandshake,
  encodeHelloVerifyRequest,
  parseClientHello,
  parseHandshakeFragments,
} from './handshake.js';
import {
  DROP_REASONS,
  type DropReason,
  type DtlsRecord,
  encodeRecord,
  parseRecords,
} from './record.js';
import {
  type HandshakeFailure,
  ServerSession,
  type SessionHost,
  type SessionSettings,
} from './server-session.js';
import { SessionCache } from './session-cache.js';
import type { DtlsPeer, DtlsSessionInfo, SessionEndReason } from './types.js';

/** Counters of one server since it was created. */
export interface DtlsServerStats {
  /** Established sessions now. */
  readonly sessionsLive: number;
  /** Handshakes past the cookie exchange and not finished yet. */
  readonly handshakesInProgress: number;
  readonly handshakesCompleted: number;
  /** Of the completed handshakes, those that resumed a session (abbreviated handshakes). */
  readonly sessionsResumed: number;
  /** Failed handshakes: alerts sent or received, timeouts. */
  readonly handshakesFailed: number;
  /** HelloVerifyRequests sent (ClientHellos without a valid cookie; no state kept). */
  readonly helloVerifyRequests: number;
  /** Sessions ended for idleness or to make room (`maxSessions`). */
  readonly sessionsEvicted: number;
  readonly alertsSent: number;
  readonly alertsReceived: number;
  /** Records dropped without an answer, by reason. */
  readonly recordsDropped: Readonly<Record<DropReason, number>>;
}

/** Engine settings: the session settings plus the table's limits. */
export interface EngineSettings extends SessionSettings {
  readonly maxSessions: number;
  readonly idleTimeoutMs: number;
  readonly cookieRotateMs: number;
  /** Resumable sessions kept; undefined turns resumption off. */
  readonly sessionCache: { readonly maxEntries: number; readonly lifetimeMs: number } | undefined;
}

/** What the engine reports to the socket that carries it. */
export interface EngineEvents {
  send(datagram: Buffer, peer: DtlsPeer): void;
  message(data: Buffer, session: DtlsSessionInfo): void;
  session(info: DtlsSessionInfo): void;
  handshakeError(error: HandshakeFailure, peer: DtlsPeer & { readonly identity?: string }): void;
  sessionEnd(info: DtlsPeer & { readonly identity?: string }, reason: SessionEndReason): void;
}

function peerKey(address: string, port: number): string {
  return `${port}|${address}`;
}

/**
 * The transport-free core of the DTLS server: stateless cookie exchange for every new
 * ClientHello (RFC 6347 §4.2.1), the session table keyed by address and port, idle eviction,
 * the cap, and the counters. The socket feeds it datagrams and carries what it sends.
 */
export class DtlsServerEngine {
  readonly #settings: EngineSettings;
  readonly #events: EngineEvents;
  readonly #sessions = new Map<string, ServerSession>();
  readonly #cookies: CookieFactory;
  readonly #host: SessionHost;
  readonly #dropped: Record<DropReason, number>;
  #sweeper: NodeJS.Timeout | undefined;
  #live = 0;
  #completed = 0;
  #resumed = 0;
  #failed = 0;
  #hvr = 0;
  #evicted = 0;
  #alertsSent = 0;
  #alertsReceived = 0;

  constructor(settings: EngineSettings, events: EngineEvents) {
    this.#settings = settings;
    this.#events = events;
    this.#cookies = new CookieFactory({ rotateMs: settings.cookieRotateMs });
    this.#dropped = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<
      DropReason,
      number
    >;
    const cache =
      settings.sessionCache === undefined ? undefined : new SessionCache(settings.sessionCache);
    this.#host = {
      settings,
      cache,
      now: Date.now,
      sendDatagram: (peer, datagram) => events.send(datagram, peer),
      drop: (reason) => {
        this.#dropped[reason]++;
      },
      alertSent: () => {
        this.#alertsSent++;
      },
      alertReceived: () => {
        this.#alertsReceived++;
      },
      established: (session) => {
        this.#live++;
        this.#completed++;
        if (session.resumed) this.#resumed++;
        events.session(session.info);
      },
      applicationData: (session, data) => events.message(data, session.info),
      ended: (session, reason, error) => this.#ended(session, reason, error),
    };
  }

  /** Starts the idle sweep; the socket calls it once listening. */
  start(): void {
    if (this.#sweeper !== undefined) return;
    const every = Math.min(10_000, Math.max(50, Math.floor(this.#settings.idleTimeoutMs / 4)));
    this.#sweeper = setInterval(() => this.#sweep(), every);
    this.#sweeper.unref();
  }

  stats(): DtlsServerStats {
    return {
      sessionsLive: this.#live,
      handshakesInProgress: this.#sessions.size - this.#live,
      handshakesCompleted: this.#completed,
      sessionsResumed: this.#resumed,
      handshakesFailed: this.#failed,
      helloVerifyRequests: this.#hvr,
      sessionsEvicted: this.#evicted,
      alertsSent: this.#alertsSent,
      alertsReceived: this.#alertsReceived,
      recordsDropped: { ...this.#dropped },
    };
  }

  /** The established session of a peer, if any. */
  session(address: string, port: number): DtlsSessionInfo | undefined {
    const s = this.#sessions.get(peerKey(address, port));
    return s?.isEstablished ? s.info : undefined;
  }

  /** Every established session. */
  sessions(): DtlsSessionInfo[] {
    return [...this.#sessions.values()].filter((s) => s.isEstablished).map((s) => s.info);
  }

  handleDatagram(datagram: Buffer, peer: DtlsPeer): void {
    const records = parseRecords(datagram, (reason) => {
      this.#dropped[reason]++;
    });
    const key = peerKey(peer.address, peer.port);
    let session = this.#sessions.get(key);
    let forSession: DtlsRecord[] = [];
    for (const r of records) {
      if (
        r.epoch === 0 &&
        r.type === ContentType.HANDSHAKE &&
        r.fragment[0] === HandshakeType.CLIENT_HELLO
      ) {
        if (session !== undefined && forSession.length > 0) {
          session.handleRecords(forSession);
          forSession = [];
        }
        const routed = this.#onClientHello(r, peer, session);
        if (routed) {
          forSession.push(r);
        } else {
          session = this.#sessions.get(key);
        }
        continue;
      }
      if (session === undefined) this.#dropped.noSession++;
      else forSession.push(r);
    }
    if (session !== undefined && forSession.length > 0) session.handleRecords(forSession);
  }

  /**
   * A ClientHello in epoch 0. Answers it statelessly with a HelloVerifyRequest unless its
   * cookie is valid; a valid one starts a session (replacing the peer's old one, RFC 6347
   * §4.2.8). True when the record is a copy of the hello that started the peer's current
   * session and belongs to that session.
   */
  #onClientHello(r: DtlsRecord, peer: DtlsPeer, session: ServerSession | undefined): boolean {
    const fragments = parseHandshakeFragments(r.fragment);
    const f = fragments?.[0];
    // A hello must arrive whole: reassembling it would need state before the cookie check.
    if (
      fragments === undefined ||
      fragments.length !== 1 ||
      f === undefined ||
      f.fragmentOffset !== 0 ||
      f.body.length !== f.length
    ) {
      this.#dropped.badHandshake++;
      return false;
    }
    const hello = parseClientHello(f.body);
    if (hello === undefined) {
      this.#dropped.badHandshake++;
      return false;
    }
    if (session?.isSameHello(hello)) {
      if (session.isEstablished) {
        this.#dropped.replay++; // a late copy of the hello of a finished handshake
        return false;
      }
      return true;
    }
    if (!this.#cookies.verify(peer.address, peer.port, hello)) {
      // RFC 6347 §4.2.1: echo the hello's record sequence number; message_seq follows §4.2.2.
      const cookie = this.#cookies.make(peer.address, peer.port, hello);
      const body = encodeHelloVerifyRequest(cookie);
      const message = encodeHandshake(HandshakeType.HELLO_VERIFY_REQUEST, f.messageSeq, body);
      this.#hvr++;
      this.#events.send(encodeRecord(ContentType.HANDSHAKE, DTLS_1_0, 0, r.seq, message), peer);
      return false;
    }
    if (session !== undefined) session.close('replaced', false);
    if (this.#sessions.size >= this.#settings.maxSessions) this.#makeRoom();
    const fresh = new ServerSession(
      this.#host,
      peer,
      hello,
      { msgType: f.msgType, messageSeq: f.messageSeq, body: f.body },
      r.seq,
    );
    this.#sessions.set(peerKey(peer.address, peer.port), fresh);
    fresh.start();
    return false;
  }

  /** Seals one application data record for the peer's established session. */
  seal(data: Uint8Array, address: string, port: number): Buffer {
    const s = this.#sessions.get(peerKey(address, port));
    if (s === undefined || !s.isEstablished) {
      throw new DtlsError('NO_SESSION', `no DTLS session with ${address}:${port}`);
    }
    return s.sealApplicationData(data);
  }

  /** Ends every session, sending close_notify to the established ones. */
  closeAll(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    for (const s of [...this.#sessions.values()]) s.close('closed', s.isEstablished);
  }

  /** Ends one peer's session (close_notify when established). */
  closeSession(address: string, port: number): boolean {
    const s = this.#sessions.get(peerKey(address, port));
    if (s === undefined) return false;
    s.close('closed', s.isEstablished);
    return true;
  }

  #ended(session: ServerSession, reason: SessionEndReason, error?: HandshakeFailure): void {
    const key = peerKey(session.peer.address, session.peer.port);
    if (this.#sessions.get(key) === session) this.#sessions.delete(key);
    const identity = session.identity;
    const who = identity === undefined ? { ...session.peer } : { ...session.peer, identity };
    if (session.wasEstablished) {
      this.#live--;
      this.#events.sessionEnd(who, reason);
    } else if (reason !== 'replaced' && reason !== 'closed' && reason !== 'evicted') {
      this.#failed++;
      if (error !== undefined) this.#events.handshakeError(error, who);
    }
  }

  #sweep(): void {
    const limit = Date.now() - this.#settings.idleTimeoutMs;
    for (const s of [...this.#sessions.values()]) {
      if (s.isEstablished && s.lastActivity < limit) {
        this.#evicted++;
        s.close('idle', false);
      }
    }
  }

  /** The table is full: forget the session that was quiet longest (half-open ones first). */
  #makeRoom(): void {
    let victim: ServerSession | undefined;
    for (const s of this.#sessions.values()) {
      if (
        victim === undefined ||
        (!s.isEstablished && victim.isEstablished) ||
        (s.isEstablished === victim.isEstablished && s.lastActivity < victim.lastActivity)
      ) {
        victim = s;
      }
    }
    if (victim !== undefined) {
      this.#evicted++;
      victim.close('evicted', false);
    }
  }
}
