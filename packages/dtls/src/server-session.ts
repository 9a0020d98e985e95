import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { TimeoutError } from '@lwm2m-ts/core';
import {
  type CipherSuiteName,
  cipherSuiteName,
  deriveEpochKeys,
  type RecordProtection,
} from './cipher.js';
import {
  AlertDescription,
  AlertLevel,
  ContentType,
  DTLS_1_2,
  ExtensionType,
  HANDSHAKE_HEADER_LENGTH,
  HandshakeType,
  MAX_PLAINTEXT_LENGTH,
  MAX_SEQUENCE_NUMBER,
  RECORD_HEADER_LENGTH,
  TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
} from './constants.js';
import { DtlsAlertError, DtlsError } from './errors.js';
import {
  type ClientHello,
  encodeHandshake,
  encodePskIdentity,
  encodeServerHello,
  FINISHED_LENGTH,
  finishedVerifyData,
  fragmentHandshake,
  type HandshakeMessage,
  HandshakeReassembler,
  masterSecret,
  parseHandshakeFragments,
  parsePskIdentity,
  pskPremasterSecret,
} from './handshake.js';
import { type DropReason, type DtlsRecord, encodeRecord, ReplayWindow } from './record.js';
import { type CachedSession, keyDigest, type SessionCache } from './session-cache.js';
import type { DtlsPeer, DtlsSessionInfo, PskLookup, SessionEndReason } from './types.js';

/** Why a handshake failed: an alert sent or received, or no progress in time. */
export type HandshakeFailure = DtlsAlertError | TimeoutError;

/** Settings every session of one server shares. */
export interface SessionSettings {
  readonly psk: PskLookup;
  readonly identityHint: Buffer | undefined;
  /** Cipher suite numbers in the server's order of preference. */
  readonly cipherSuites: readonly number[];
  readonly requireExtendedMasterSecret: boolean;
  readonly maxDatagramSize: number;
  readonly retransmitMs: number;
  readonly maxRetransmitMs: number;
  readonly handshakeTimeoutMs: number;
}

/** What a session needs from the server that owns it. */
export interface SessionHost {
  readonly settings: SessionSettings;
  /** Sessions that can be resumed (RFC 5246 §7.3); undefined when resumption is off. */
  readonly cache: SessionCache | undefined;
  now(): number;
  sendDatagram(peer: DtlsPeer, datagram: Buffer): void;
  drop(reason: DropReason): void;
  alertSent(): void;
  alertReceived(): void;
  established(session: ServerSession): void;
  applicationData(session: ServerSession, data: Buffer): void;
  /** The session is over; `error` is set when a handshake failed. */
  ended(session: ServerSession, reason: SessionEndReason, error?: HandshakeFailure): void;
}

type State =
  | 'start'
  | 'awaitClientKeyExchange'
  | 'lookup'
  | 'awaitChangeCipherSpec'
  | 'awaitFinished'
  | 'established'
  | 'closed';

type FlightItem =
  | { readonly kind: 'handshake'; readonly epoch: number; readonly message: HandshakeMessage }
  | { readonly kind: 'ccs'; readonly epoch: number };

/** Records of the next epoch kept while its ChangeCipherSpec is still missing (reordering). */
const MAX_FUTURE_RECORDS = 8;
/** Records kept while an async PSK lookup is pending (a client repeating its flight adds more). */
const MAX_QUEUED_RECORDS = 32;

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/**
 * The server side of one peer's DTLS 1.2 PSK association (RFC 6347): the handshake after a
 * valid cookie (ServerHello … Finished), then application data in epoch 1, alerts both ways,
 * and retransmission of the server's flights (RFC 6347 §4.2.4).
 */
export class ServerSession {
  readonly peer: DtlsPeer;
  #state: State = 'start';
  readonly #host: SessionHost;
  readonly #hello: ClientHello;
  readonly #reassembler: HandshakeReassembler;
  /** Handshake messages in the single-fragment form of RFC 6347 §4.2.6, from the cookie hello. */
  readonly #transcript: Buffer[] = [];
  #nextSendSeq: number;
  readonly #serverRandom = randomBytes(32);
  #suite = 0;
  #extendedMasterSecret = false;
  #identity: string | undefined;
  #master: Buffer | undefined;
  #pendingKeys: { read: RecordProtection; write: RecordProtection } | undefined;
  #readEpoch = 0;
  #readKeys: RecordProtection | undefined;
  #writeEpoch = 0;
  #writeKeys: RecordProtection | undefined;
  readonly #writeSeq = [0, 0];
  readonly #windows = [new ReplayWindow(), new ReplayWindow()];
  #lastFlight: FlightItem[] = [];
  /** The client has proved it has our final flight (sent application data): no retransmits. */
  #finalFlightAcked = false;
  #retransmitWanted = false;
  #timer: NodeJS.Timeout | undefined;
  #timeoutMs: number;
  #deadline: NodeJS.Timeout | undefined;
  #queue: DtlsRecord[] | undefined;
  #future: DtlsRecord[] = [];
  #wasEstablished = false;
  /** Our session_id: random for a full handshake when resumption is on, else empty. */
  #sessionId: Buffer = Buffer.alloc(0);
  #resumed = false;
  #keyDigest: Buffer | undefined;
  #extensions: [number, Buffer][] = [];
  lastActivity: number;

  constructor(
    host: SessionHost,
    peer: DtlsPeer,
    hello: ClientHello,
    helloMessage: HandshakeMessage,
    helloRecordSeq: number,
  ) {
    this.#host = host;
    this.peer = peer;
    this.#hello = hello;
    this.#reassembler = new HandshakeReassembler(helloMessage.messageSeq + 1);
    this.#nextSendSeq = helloMessage.messageSeq;
    this.#transcript.push(
      encodeHandshake(helloMessage.msgType, helloMessage.messageSeq, helloMessage.body),
    );
    this.#windows[0]!.accept(helloRecordSeq);
    // The HelloVerifyRequest echoed the first hello's record number (RFC 6347 §4.2.1); going on
    // past this hello's keeps ours above it even for a client that repeated its record number.
    this.#writeSeq[0] = helloRecordSeq + 1;
    this.#timeoutMs = host.settings.retransmitMs;
    this.lastActivity = host.now();
  }

  get identity(): string | undefined {
    return this.#identity;
  }

  get isEstablished(): boolean {
    return this.#state === 'established';
  }

  /** True once the handshake finished, even after the session closed. */
  get wasEstablished(): boolean {
    return this.#wasEstablished;
  }

  /** Fixed once the handshake is done: built once then, not per record. */
  #info: DtlsSessionInfo | undefined;

  get info(): DtlsSessionInfo {
    if (this.#info !== undefined) return this.#info;
    const info: DtlsSessionInfo = Object.freeze({
      ...this.peer,
      identity: this.#identity ?? '',
      cipherSuite: cipherSuiteName(this.#suite) as CipherSuiteName,
      extendedMasterSecret: this.#extendedMasterSecret,
      resumed: this.#resumed,
    });
    if (this.#wasEstablished) this.#info = info;
    return info;
  }

  /** True when this session resumed a cached one (the abbreviated handshake). */
  get resumed(): boolean {
    return this.#resumed;
  }

  /** True for a copy of the ClientHello that started this session (a retransmission). */
  isSameHello(hello: ClientHello): boolean {
    return this.#hello.random.equals(hello.random) && this.#hello.cookie.equals(hello.cookie);
  }

  /** Negotiates from the ClientHello and sends the server's first flight. */
  start(): void {
    const s = this.#host.settings;
    this.#deadline = setTimeout(() => this.#timedOut(), s.handshakeTimeoutMs);
    this.#deadline.unref();
    const h = this.#hello;
    // DTLS versions count down: 0xfefd (1.2) is newer than 0xfeff (1.0) (RFC 6347 §4.1).
    if (h.clientVersion > DTLS_1_2) {
      this.#fail(AlertDescription.PROTOCOL_VERSION, 'the client offers no DTLS 1.2');
      return;
    }
    if (!h.compressionMethods.includes(0)) {
      this.#fail(AlertDescription.ILLEGAL_PARAMETER, 'null compression not offered');
      return;
    }
    const extensions: [number, Buffer][] = [];
    const reneg = h.extensions.get(ExtensionType.RENEGOTIATION_INFO);
    // RFC 5746 §3.6: an initial hello's renegotiation_info must be empty; answer it empty.
    if (reneg !== undefined && !(reneg.length === 1 && reneg[0] === 0)) {
      this.#fail(AlertDescription.HANDSHAKE_FAILURE, 'non-empty renegotiation_info');
      return;
    }
    if (reneg !== undefined || h.cipherSuites.includes(TLS_EMPTY_RENEGOTIATION_INFO_SCSV)) {
      extensions.push([ExtensionType.RENEGOTIATION_INFO, Buffer.from([0])]);
    }
    // RFC 7627 §5.1: echo an empty extended_master_secret when offered.
    if (h.extensions.has(ExtensionType.EXTENDED_MASTER_SECRET)) {
      this.#extendedMasterSecret = true;
      extensions.push([ExtensionType.EXTENDED_MASTER_SECRET, Buffer.alloc(0)]);
    } else if (s.requireExtendedMasterSecret) {
      this.#fail(AlertDescription.HANDSHAKE_FAILURE, 'extended master secret required');
      return;
    }
    this.#extensions = extensions;
    const cached = this.#resumable();
    if (cached === undefined) {
      this.#fullHandshake();
      return;
    }
    // Resume only while the identity still has the same key: a removed or changed key ends
    // resumption too.
    this.#lookup(cached.identity, (key) => {
      if (key !== undefined && keyDigest(key).equals(cached.keyDigest)) this.#resume(cached);
      else this.#fullHandshake();
    });
  }

  /**
   * The cached session the hello asks to resume, if it may be: same suite still offered and
   * enabled, and the same extended-master-secret choice (RFC 7627 §5.3: never resume across it).
   */
  #resumable(): CachedSession | undefined {
    const h = this.#hello;
    const cache = this.#host.cache;
    if (cache === undefined || h.sessionId.length === 0) return undefined;
    const c = cache.get(h.sessionId);
    if (
      c === undefined ||
      !h.cipherSuites.includes(c.suite) ||
      !this.#host.settings.cipherSuites.includes(c.suite) ||
      c.extendedMasterSecret !== this.#extendedMasterSecret
    ) {
      return undefined;
    }
    return c;
  }

  #message(msgType: number, body: Buffer): HandshakeMessage {
    const message = { msgType, messageSeq: this.#nextSendSeq++, body };
    this.#transcript.push(encodeHandshake(msgType, message.messageSeq, body));
    return message;
  }

  #serverHello(): HandshakeMessage {
    return this.#message(
      HandshakeType.SERVER_HELLO,
      encodeServerHello({
        random: this.#serverRandom,
        sessionId: this.#sessionId,
        cipherSuite: this.#suite,
        extensions: this.#extensions,
      }),
    );
  }

  /** ServerHello, [ServerKeyExchange], ServerHelloDone (RFC 5246 §7.3, RFC 4279 §2). */
  #fullHandshake(): void {
    const s = this.#host.settings;
    const suite = s.cipherSuites.find((id) => this.#hello.cipherSuites.includes(id));
    if (suite === undefined) {
      this.#fail(AlertDescription.HANDSHAKE_FAILURE, 'no common PSK cipher suite');
      return;
    }
    this.#suite = suite;
    // A session_id only when the session can be resumed (RFC 5246 §7.4.1.3).
    if (this.#host.cache !== undefined) this.#sessionId = randomBytes(32);
    const flight: FlightItem[] = [{ kind: 'handshake', epoch: 0, message: this.#serverHello() }];
    // RFC 4279 §2: ServerKeyExchange only carries the hint; omitted without one.
    if (s.identityHint !== undefined) {
      const ske = this.#message(
        HandshakeType.SERVER_KEY_EXCHANGE,
        encodePskIdentity(s.identityHint),
      );
      flight.push({ kind: 'handshake', epoch: 0, message: ske });
    }
    const done = this.#message(HandshakeType.SERVER_HELLO_DONE, Buffer.alloc(0));
    flight.push({ kind: 'handshake', epoch: 0, message: done });
    this.#state = 'awaitClientKeyExchange';
    this.#sendFlight(flight);
    this.#armTimer();
  }

  /**
   * The abbreviated handshake (RFC 5246 §7.3): ServerHello with the client's session_id,
   * ChangeCipherSpec, Finished; new keys from the cached master secret and the new randoms.
   */
  #resume(cached: CachedSession): void {
    this.#resumed = true;
    this.#suite = cached.suite;
    this.#identity = cached.identity;
    this.#master = cached.master;
    this.#sessionId = Buffer.from(this.#hello.sessionId);
    const keys = deriveEpochKeys(this.#suite, this.#master, this.#hello.random, this.#serverRandom);
    const hello = this.#serverHello();
    const verify = finishedVerifyData(this.#master, 'server finished', this.#hash());
    const finished = this.#message(HandshakeType.FINISHED, verify);
    this.#writeKeys = keys.write;
    this.#pendingKeys = keys;
    this.#state = 'awaitChangeCipherSpec';
    this.#sendFlight([
      { kind: 'handshake', epoch: 0, message: hello },
      { kind: 'ccs', epoch: 0 },
      { kind: 'handshake', epoch: 1, message: finished },
    ]);
    this.#armTimer();
  }

  /** Handles the records of one datagram. */
  handleRecords(records: readonly DtlsRecord[]): void {
    if (this.#queue !== undefined) {
      this.#enqueue(records);
      return;
    }
    this.#retransmitWanted = false;
    for (const r of records) {
      if (this.#closed()) return;
      if (this.#pendingQueue() !== undefined) {
        this.#enqueue([r]); // a PSK lookup started on an earlier record of this datagram
        continue;
      }
      this.#handleRecord(r);
    }
    if (this.#retransmitWanted && !this.#closed()) {
      this.#retransmitWanted = false;
      this.#resendFlight();
    }
  }

  /** Seals one application data record and returns the datagram to send. */
  sealApplicationData(data: Uint8Array): Buffer {
    if (this.#state !== 'established' || this.#writeKeys === undefined) {
      throw new DtlsError('NO_SESSION', 'the DTLS handshake with this peer has not finished');
    }
    if (data.length > MAX_PLAINTEXT_LENGTH) {
      throw new DtlsError('MESSAGE_TOO_LARGE', `${data.length} bytes exceed one DTLS record`);
    }
    return this.#record(ContentType.APPLICATION_DATA, 1, data);
  }

  /** Ends the session; sends close_notify first when asked and possible. */
  close(reason: SessionEndReason, notify: boolean): void {
    if (this.#state === 'closed') return;
    if (notify) this.#sendAlert(AlertLevel.WARNING, AlertDescription.CLOSE_NOTIFY);
    this.#end(reason);
  }

  /** A method, not a field test, so narrowing does not survive calls that may close. */
  #closed(): boolean {
    return this.#state === 'closed';
  }

  #pendingQueue(): DtlsRecord[] | undefined {
    return this.#queue;
  }

  /** Keeps records for after the pending lookup, a bounded number of them. */
  #enqueue(records: readonly DtlsRecord[]): void {
    const queue = this.#queue!;
    for (const r of records) {
      if (queue.length < MAX_QUEUED_RECORDS) queue.push(r);
      else this.#host.drop('unexpected');
    }
  }

  #end(reason: SessionEndReason, error?: HandshakeFailure): void {
    this.#state = 'closed';
    // RFC 5246 §7.2.2: a session ended by a fatal alert must not be resumed.
    if (reason === 'alert' && this.#sessionId.length > 0) this.#host.cache?.delete(this.#sessionId);
    this.#master = undefined;
    clearTimeout(this.#timer);
    clearTimeout(this.#deadline);
    this.#lastFlight = [];
    this.#queue = undefined;
    this.#future = [];
    this.#host.ended(this, reason, error);
  }

  #fail(alert: number, detail: string, cause?: unknown): void {
    if (this.#state === 'closed') return;
    this.#sendAlert(AlertLevel.FATAL, alert);
    this.#end('alert', new DtlsAlertError(alert, 'sent', detail, { cause }));
  }

  #timedOut(): void {
    if (this.#state === 'established' || this.#state === 'closed') return;
    const ms = this.#host.settings.handshakeTimeoutMs;
    this.#end('timeout', new TimeoutError(`DTLS handshake not finished in ${ms} ms`));
  }

  #handleRecord(r: DtlsRecord): void {
    const handshaking = this.#state !== 'established';
    let keys: RecordProtection | undefined;
    if (r.epoch === this.#readEpoch) {
      keys = this.#readKeys;
    } else if (r.epoch === 0 && !this.#finalFlightAcked) {
      keys = undefined; // the client retransmitting its last epoch-0 flight (RFC 6347 §4.2.4)
    } else if (r.epoch === this.#readEpoch + 1 && handshaking) {
      // Next-epoch records that overtook the ChangeCipherSpec: keep a few (RFC 6347 §4.1).
      if (this.#future.length < MAX_FUTURE_RECORDS) this.#future.push(r);
      else this.#host.drop('epoch');
      return;
    } else {
      this.#host.drop('epoch');
      return;
    }
    const window = this.#windows[r.epoch]!;
    if (!window.check(r.seq)) {
      this.#host.drop('replay');
      return;
    }
    let plaintext: Buffer | undefined = r.fragment;
    if (keys !== undefined) {
      plaintext = keys.open(r.type, r.version, r.epoch, r.seq, r.fragment);
      if (plaintext === undefined) {
        this.#host.drop('badMac');
        // A client Finished that fails authentication means the keys differ: a wrong PSK.
        if (this.#state === 'awaitFinished' && r.type === ContentType.HANDSHAKE) {
          this.#fail(
            AlertDescription.BAD_RECORD_MAC,
            'the client Finished failed to decrypt (wrong PSK?)',
          );
        }
        return;
      }
    }
    window.accept(r.seq);
    this.lastActivity = this.#host.now();
    switch (r.type) {
      case ContentType.HANDSHAKE:
        this.#onHandshakeRecord(r.epoch, plaintext);
        break;
      case ContentType.CHANGE_CIPHER_SPEC:
        this.#onChangeCipherSpec(r.epoch, plaintext);
        break;
      case ContentType.ALERT:
        this.#onAlert(r.epoch, plaintext);
        break;
      case ContentType.APPLICATION_DATA:
        if (this.#state === 'established' && r.epoch === 1) {
          this.#finalFlightAcked = true;
          this.#lastFlight = [];
          this.#host.applicationData(this, plaintext);
        } else {
          this.#host.drop('unexpected');
        }
        break;
    }
  }

  #onHandshakeRecord(epoch: number, data: Buffer): void {
    const fragments = parseHandshakeFragments(data);
    if (fragments === undefined) {
      this.#host.drop('badHandshake');
      if (this.#state !== 'established') {
        this.#fail(AlertDescription.DECODE_ERROR, 'malformed handshake record');
      }
      return;
    }
    for (const f of fragments) {
      if (this.#state === 'closed') return;
      if (
        this.#state === 'established' &&
        epoch === 1 &&
        f.msgType === HandshakeType.CLIENT_HELLO
      ) {
        // RFC 5746 §4.4 / RFC 5246 §7.2.2: this server does not renegotiate.
        this.#sendAlert(AlertLevel.WARNING, AlertDescription.NO_RENEGOTIATION);
        continue;
      }
      const result = this.#reassembler.add(f);
      if (result.kind === 'old') {
        // The client did not get our last flight and repeats its own (RFC 6347 §4.2.4).
        if (!this.#finalFlightAcked) this.#retransmitWanted = true;
        continue;
      }
      if (result.kind === 'invalid') {
        this.#host.drop('badHandshake');
        continue;
      }
      for (const m of result.messages) {
        if (this.#closed()) return;
        this.#onHandshakeMessage(epoch, m);
      }
    }
  }

  #onHandshakeMessage(epoch: number, m: HandshakeMessage): void {
    if (this.#state === 'awaitClientKeyExchange' && epoch === 0) {
      if (m.msgType !== HandshakeType.CLIENT_KEY_EXCHANGE) {
        this.#fail(AlertDescription.UNEXPECTED_MESSAGE, `handshake message ${m.msgType}`);
        return;
      }
      const identity = parsePskIdentity(m.body);
      if (identity === undefined) {
        this.#fail(AlertDescription.DECODE_ERROR, 'malformed ClientKeyExchange');
        return;
      }
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#transcript.push(encodeHandshake(m.msgType, m.messageSeq, m.body));
      this.#identity = identity.toString('utf8');
      this.#lookup(this.#identity, (key) => this.#withKey(key));
      return;
    }
    if (this.#state === 'awaitFinished' && epoch === 1 && m.msgType === HandshakeType.FINISHED) {
      this.#onFinished(m);
      return;
    }
    this.#fail(AlertDescription.UNEXPECTED_MESSAGE, `handshake message ${m.msgType} out of order`);
  }

  /**
   * Runs the PSK lookup, then `next` with its answer. While an async lookup is pending, the
   * records that arrive wait in a queue and are handled afterwards, in order.
   */
  #lookup(identity: string, next: (key: Uint8Array | undefined) => void): void {
    this.#state = 'lookup';
    let result: ReturnType<PskLookup>;
    try {
      result = this.#host.settings.psk(identity, this.peer);
    } catch (err) {
      this.#fail(AlertDescription.INTERNAL_ERROR, 'the PSK lookup threw', err);
      return;
    }
    if (!isPromiseLike(result)) {
      next(result);
      return;
    }
    this.#queue = [];
    result.then(
      (key) => {
        if (this.#state !== 'lookup') return;
        const queued = this.#queue ?? [];
        this.#queue = undefined;
        next(key);
        if (queued.length > 0 && !this.#closed()) this.handleRecords(queued);
      },
      (err: unknown) => {
        if (this.#state !== 'lookup') return;
        this.#queue = undefined;
        this.#fail(AlertDescription.INTERNAL_ERROR, 'the PSK lookup failed', err);
      },
    );
  }

  #withKey(key: Uint8Array | undefined): void {
    if (key !== undefined && !(key instanceof Uint8Array)) {
      this.#fail(AlertDescription.INTERNAL_ERROR, 'the PSK lookup returned no Uint8Array');
      return;
    }
    if (key === undefined || key.length === 0) {
      this.#fail(
        AlertDescription.UNKNOWN_PSK_IDENTITY,
        `unknown PSK identity ${JSON.stringify(this.#identity)}`,
      );
      return;
    }
    if (key.length > 0xffff) {
      this.#fail(AlertDescription.INTERNAL_ERROR, 'PSK longer than 65535 bytes');
      return;
    }
    if (this.#host.cache !== undefined) this.#keyDigest = keyDigest(key);
    const premaster = pskPremasterSecret(key);
    const sessionHash = this.#extendedMasterSecret ? this.#hash() : undefined;
    const hello = this.#hello;
    this.#master = masterSecret(premaster, hello.random, this.#serverRandom, sessionHash);
    premaster.fill(0);
    this.#pendingKeys = deriveEpochKeys(
      this.#suite,
      this.#master,
      hello.random,
      this.#serverRandom,
    );
    this.#state = 'awaitChangeCipherSpec';
  }

  #onChangeCipherSpec(epoch: number, data: Buffer): void {
    if (this.#state === 'awaitChangeCipherSpec' && epoch === 0) {
      if (data.length !== 1 || data[0] !== 1) {
        this.#fail(AlertDescription.DECODE_ERROR, 'malformed ChangeCipherSpec');
        return;
      }
      this.#readEpoch = 1;
      this.#readKeys = this.#pendingKeys!.read;
      this.#state = 'awaitFinished';
      const future = this.#future;
      this.#future = [];
      for (const r of future) {
        if (this.#state !== 'awaitFinished') break;
        this.#handleRecord(r);
      }
      return;
    }
    if (this.#state === 'established' && !this.#finalFlightAcked) {
      this.#retransmitWanted = true; // part of the client's repeated final flight
      return;
    }
    this.#host.drop('unexpected');
  }

  #onFinished(m: HandshakeMessage): void {
    const master = this.#master!;
    const expected = finishedVerifyData(master, 'client finished', this.#hash());
    if (m.body.length !== FINISHED_LENGTH || !timingSafeEqual(m.body, expected)) {
      this.#fail(AlertDescription.DECRYPT_ERROR, 'the client Finished does not verify');
      return;
    }
    this.#transcript.push(encodeHandshake(m.msgType, m.messageSeq, m.body));
    this.#state = 'established';
    this.#wasEstablished = true;
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#resumed) {
      // The client's Finished ends an abbreviated handshake: nothing left to send or repeat.
      this.#pendingKeys = undefined;
      this.#transcript.length = 0;
      this.#lastFlight = [];
      this.#finalFlightAcked = true;
      this.#host.established(this);
      return;
    }
    const verify = finishedVerifyData(master, 'server finished', this.#hash());
    const finished = this.#message(HandshakeType.FINISHED, verify);
    this.#writeKeys = this.#pendingKeys!.write;
    this.#pendingKeys = undefined;
    this.#transcript.length = 0;
    if (this.#host.cache !== undefined && this.#sessionId.length > 0) {
      this.#host.cache.set(this.#sessionId, {
        master,
        suite: this.#suite,
        extendedMasterSecret: this.#extendedMasterSecret,
        identity: this.#identity ?? '',
        keyDigest: this.#keyDigest!,
      });
    }
    this.#master = undefined;
    // The final flight has no timer: it is repeated only when the client repeats (§4.2.4).
    this.#sendFlight([
      { kind: 'ccs', epoch: 0 },
      { kind: 'handshake', epoch: 1, message: finished },
    ]);
    this.#host.established(this);
  }

  #onAlert(epoch: number, data: Buffer): void {
    if (data.length !== 2) {
      this.#host.drop('malformed');
      return;
    }
    // Unauthenticated epoch-0 alerts only count while the handshake is also unauthenticated.
    if (epoch === 0 && this.#state === 'established') {
      this.#host.drop('epoch');
      return;
    }
    this.#host.alertReceived();
    const level = data[0]!;
    const description = data[1]!;
    if (description === AlertDescription.CLOSE_NOTIFY) {
      // RFC 5246 §7.2.1: answer close_notify with close_notify.
      const wasEstablished = this.#state === 'established';
      if (wasEstablished) this.#sendAlert(AlertLevel.WARNING, AlertDescription.CLOSE_NOTIFY);
      this.#end(
        wasEstablished ? 'close_notify' : 'alert',
        wasEstablished
          ? undefined
          : new DtlsAlertError(description, 'received', 'close_notify during the handshake'),
      );
      return;
    }
    if (level === AlertLevel.FATAL) {
      this.#end(
        'alert',
        this.#state === 'established'
          ? undefined
          : new DtlsAlertError(description, 'received', 'the client aborted the handshake'),
      );
    }
    // Warning alerts other than close_notify (e.g. no_renegotiation) change nothing.
  }

  #sendAlert(level: number, description: number): void {
    this.#host.alertSent();
    const body = Buffer.from([level, description]);
    this.#host.sendDatagram(this.peer, this.#record(ContentType.ALERT, this.#writeEpoch, body));
  }

  /** SHA-256 over the transcript so far (RFC 5246 §7.4.9 with RFC 6347 §4.2.6). */
  #hash(): Buffer {
    const h = createHash('sha256');
    for (const m of this.#transcript) h.update(m);
    return h.digest();
  }

  /** One record in `epoch`, sealed when that epoch has keys, with the next sequence number. */
  #record(type: number, epoch: number, plaintext: Uint8Array): Buffer {
    const seq = this.#writeSeq[epoch]!;
    if (seq > MAX_SEQUENCE_NUMBER) {
      throw new DtlsError('NO_SESSION', 'sequence numbers exhausted: a new handshake is needed');
    }
    this.#writeSeq[epoch] = seq + 1;
    const keys = epoch === 0 ? undefined : this.#writeKeys;
    return keys === undefined
      ? encodeRecord(type, DTLS_1_2, epoch, seq, plaintext)
      : keys.sealRecord(type, DTLS_1_2, epoch, seq, plaintext);
  }

  #sendFlight(items: FlightItem[]): void {
    this.#lastFlight = items;
    this.#transmit(items);
  }

  #resendFlight(): void {
    if (this.#lastFlight.length > 0) this.#transmit(this.#lastFlight);
  }

  /**
   * Encodes a flight into records (new sequence numbers each time, RFC 6347 §4.2.4), cuts
   * handshake messages to fit `maxDatagramSize` (§4.2.3), and packs records into datagrams.
   */
  #transmit(items: readonly FlightItem[]): void {
    const max = this.#host.settings.maxDatagramSize;
    const records: Buffer[] = [];
    for (const item of items) {
      if (item.kind === 'ccs') {
        records.push(this.#record(ContentType.CHANGE_CIPHER_SPEC, item.epoch, Buffer.from([1])));
        if (item.epoch === 0) this.#writeEpoch = 1;
        continue;
      }
      const overhead = item.epoch === 0 ? 0 : (this.#writeKeys?.maxOverhead ?? 0);
      const room = max - RECORD_HEADER_LENGTH - HANDSHAKE_HEADER_LENGTH - overhead;
      const m = item.message;
      for (const piece of fragmentHandshake(m.msgType, m.messageSeq, m.body, room)) {
        records.push(this.#record(ContentType.HANDSHAKE, item.epoch, piece));
      }
    }
    let datagram: Buffer[] = [];
    let size = 0;
    for (const r of records) {
      if (size > 0 && size + r.length > max) {
        this.#host.sendDatagram(this.peer, Buffer.concat(datagram));
        datagram = [];
        size = 0;
      }
      datagram.push(r);
      size += r.length;
    }
    if (size > 0) this.#host.sendDatagram(this.peer, Buffer.concat(datagram));
  }

  /** True while the server's last flight is unanswered and must be repeated on a timer. */
  #awaitingClientFlight(): boolean {
    const st = this.#state;
    return (
      st === 'awaitClientKeyExchange' ||
      (this.#resumed && (st === 'awaitChangeCipherSpec' || st === 'awaitFinished'))
    );
  }

  /** The flight timer of RFC 6347 §4.2.4.1: doubles on every expiry up to the maximum. */
  #armTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (!this.#awaitingClientFlight()) return;
      this.#resendFlight();
      this.#timeoutMs = Math.min(this.#timeoutMs * 2, this.#host.settings.maxRetransmitMs);
      this.#armTimer();
    }, this.#timeoutMs);
    this.#timer.unref();
  }
}
