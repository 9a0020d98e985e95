/**
 * A scriptable DTLS 1.2 PSK client for tests, built on this package's record and handshake
 * code. Every step is explicit so tests can drop, repeat, reorder or corrupt datagrams.
 */
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { CipherSuite, deriveClientEpochKeys, type RecordProtection } from './cipher.js';
import {
  ContentType,
  DTLS_1_0,
  DTLS_1_2,
  ExtensionType,
  HandshakeType,
  TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
} from './constants.js';
import {
  encodeClientHello,
  encodeHandshake,
  encodePskIdentity,
  finishedVerifyData,
  fragmentHandshake,
  type HandshakeMessage,
  HandshakeReassembler,
  masterSecret,
  parseHandshakeFragments,
  parseHelloVerifyRequest,
  parseServerHello,
  pskPremasterSecret,
} from './handshake.js';
import { encodeRecord, parseRecords } from './record.js';

export interface TestClientOptions {
  identity: string | Buffer;
  key: string | Buffer;
  cipherSuites?: readonly number[];
  extendedMasterSecret?: boolean;
  renegotiationScsv?: boolean;
  clientVersion?: number;
  /** Fragment size for the client's own handshake messages. */
  fragmentSize?: number;
}

export interface ReceivedRecord {
  type: number;
  epoch: number;
  seq: number;
  plaintext: Buffer | undefined;
}

export class TestClient {
  readonly socket = dgram.createSocket('udp4');
  readonly sent: Buffer[] = [];
  readonly options: TestClientOptions;
  serverPort = 0;
  suite = 0;
  hint: Buffer | undefined;
  serverExtensions: ReadonlyMap<number, Buffer> = new Map();
  alerts: { level: number; description: number; epoch: number }[] = [];
  /** Incoming datagrams for which this returns true are lost. */
  dropFilter: ((datagram: Buffer) => boolean) | undefined;
  readonly #inbox: Buffer[] = [];
  #waiter: (() => void) | undefined;
  clientRandom = randomBytes(32);
  serverRandom: Buffer = Buffer.alloc(32);
  readonly #transcript: Buffer[] = [];
  #reassembler = new HandshakeReassembler(0);
  readonly writeSeq = [0, 0];
  #writeEpoch = 0;
  #messageSeq = 0;
  #keys: { read: RecordProtection; write: RecordProtection } | undefined;
  #master: Buffer | undefined;
  cookie: Buffer = Buffer.alloc(0);
  /** The session_id the server gave; offered again by {@link resumeHandshake}. */
  sessionId: Buffer = Buffer.alloc(0);
  #offerSessionId: Buffer = Buffer.alloc(0);
  helloBody: Buffer = Buffer.alloc(0);

  constructor(options: TestClientOptions) {
    this.options = options;
    this.socket.on('message', (m) => {
      if (this.dropFilter?.(m)) return;
      this.#inbox.push(m);
      this.#waiter?.();
    });
  }

  /** Forgets the association and starts over on the same socket (a rebooted device). */
  restart(): void {
    this.clientRandom = randomBytes(32);
    this.writeSeq[0] = 0;
    this.writeSeq[1] = 0;
    this.#writeEpoch = 0;
    this.#messageSeq = 0;
    this.#offerSessionId = Buffer.alloc(0);
    this.#keys = undefined;
    this.#master = undefined;
    this.#reassembler = new HandshakeReassembler(0);
    this.#transcript.length = 0;
    this.#inbox.length = 0;
  }

  async open(serverPort: number): Promise<this> {
    this.serverPort = serverPort;
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    return this;
  }

  get port(): number {
    return this.socket.address().port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  sendRaw(datagram: Buffer): void {
    this.sent.push(datagram);
    this.socket.send(datagram, this.serverPort, '127.0.0.1');
  }

  /** The next datagram from the server, or undefined after `timeoutMs`. */
  async nextDatagram(timeoutMs = 2000): Promise<Buffer | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.#inbox.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
    return this.#inbox.shift();
  }

  /** Decodes a datagram's records, opening epoch-1 ones once keys exist. */
  decode(datagram: Buffer): ReceivedRecord[] {
    return parseRecords(datagram, () => {}).map((r) => {
      let plaintext: Buffer | undefined = r.fragment;
      if (r.epoch === 1)
        plaintext = this.#keys?.read.open(r.type, r.version, r.epoch, r.seq, r.fragment);
      if (r.type === ContentType.ALERT && plaintext?.length === 2) {
        this.alerts.push({ level: plaintext[0]!, description: plaintext[1]!, epoch: r.epoch });
      }
      return { type: r.type, epoch: r.epoch, seq: r.seq, plaintext };
    });
  }

  /** Waits for a record matching `pred`, decoding everything that arrives meanwhile. */
  async waitFor(
    pred: (r: ReceivedRecord) => boolean,
    timeoutMs = 2000,
  ): Promise<ReceivedRecord | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const d = await this.nextDatagram(deadline - Date.now());
      if (d === undefined) return undefined;
      const hit = this.decode(d).find(pred);
      if (hit) return hit;
    }
  }

  /** Waits for an alert record (any epoch). */
  async waitForAlert(
    timeoutMs = 2000,
  ): Promise<{ level: number; description: number } | undefined> {
    const r = await this.waitFor((x) => x.type === ContentType.ALERT, timeoutMs);
    return r?.plaintext?.length === 2
      ? { level: r.plaintext[0]!, description: r.plaintext[1]! }
      : undefined;
  }

  #helloBody(cookie: Buffer): Buffer {
    const o = this.options;
    const suites = [...(o.cipherSuites ?? [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8])];
    if (o.renegotiationScsv) suites.push(TLS_EMPTY_RENEGOTIATION_INFO_SCSV);
    const extensions: [number, Buffer][] = [];
    if (o.extendedMasterSecret ?? true)
      extensions.push([ExtensionType.EXTENDED_MASTER_SECRET, Buffer.alloc(0)]);
    const h: Parameters<typeof encodeClientHello>[0] = {
      random: this.clientRandom,
      sessionId: this.#offerSessionId,
      cookie,
      cipherSuites: suites,
      extensions,
    };
    if (o.clientVersion !== undefined) h.clientVersion = o.clientVersion;
    return encodeClientHello(h);
  }

  /** Record for epoch `epoch` with the next sequence number (sealed in epoch 1). */
  record(type: number, epoch: number, plaintext: Buffer): Buffer {
    const seq = this.writeSeq[epoch]!;
    this.writeSeq[epoch] = seq + 1;
    const fragment =
      epoch === 0 ? plaintext : this.#keys!.write.seal(type, DTLS_1_2, epoch, seq, plaintext);
    return encodeRecord(
      type,
      epoch === 0 && type === ContentType.HANDSHAKE && this.#messageSeq === 0 ? DTLS_1_0 : DTLS_1_2,
      epoch,
      seq,
      fragment,
    );
  }

  /** Sends the first ClientHello and returns the cookie of the HelloVerifyRequest. */
  async helloVerify(): Promise<Buffer> {
    const body = this.#helloBody(Buffer.alloc(0));
    this.sendRaw(
      this.record(ContentType.HANDSHAKE, 0, encodeHandshake(HandshakeType.CLIENT_HELLO, 0, body)),
    );
    this.#messageSeq = 1;
    const r = await this.waitFor((x) => x.type === ContentType.HANDSHAKE);
    const f = r?.plaintext && parseHandshakeFragments(r.plaintext)?.[0];
    if (!f || f.msgType !== HandshakeType.HELLO_VERIFY_REQUEST)
      throw new Error('no HelloVerifyRequest');
    this.cookie = parseHelloVerifyRequest(f.body) ?? Buffer.alloc(0);
    return this.cookie;
  }

  /** The ClientHello with the cookie, as a datagram (not sent). */
  helloWithCookie(): Buffer {
    this.helloBody = this.#helloBody(this.cookie);
    const msg = encodeHandshake(HandshakeType.CLIENT_HELLO, 1, this.helloBody);
    this.#transcript.length = 0;
    this.#transcript.push(msg);
    this.#reassembler = new HandshakeReassembler(1);
    this.#messageSeq = 2;
    return this.record(ContentType.HANDSHAKE, 0, msg);
  }

  /** Feeds server datagrams until ServerHelloDone; true when it came. */
  async readServerFlight(timeoutMs = 2000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const d = await this.nextDatagram(deadline - Date.now());
      if (d === undefined) return false;
      for (const r of this.decode(d)) {
        if (r.type !== ContentType.HANDSHAKE || r.epoch !== 0 || !r.plaintext) continue;
        for (const f of parseHandshakeFragments(r.plaintext) ?? []) {
          const res = this.#reassembler.add(f);
          if (res.kind !== 'messages') continue;
          for (const m of res.messages) {
            this.#transcript.push(encodeHandshake(m.msgType, m.messageSeq, m.body));
            if (this.#onServerMessage(m)) return true;
          }
        }
      }
    }
  }

  #onServerMessage(m: HandshakeMessage): boolean {
    if (m.msgType === HandshakeType.SERVER_HELLO) {
      const sh = parseServerHello(m.body);
      if (!sh) throw new Error('bad ServerHello');
      this.serverRandom = sh.random;
      this.sessionId = sh.sessionId;
      this.suite = sh.cipherSuite;
      this.serverExtensions = sh.extensions;
    } else if (m.msgType === HandshakeType.SERVER_KEY_EXCHANGE) {
      this.hint = m.body.subarray(2);
    }
    return m.msgType === HandshakeType.SERVER_HELLO_DONE;
  }

  #hash(): Buffer {
    const h = createHash('sha256');
    for (const m of this.#transcript) h.update(m);
    return h.digest();
  }

  /**
   * Builds flight 5 (ClientKeyExchange, ChangeCipherSpec, Finished) as records; each handshake
   * message is cut at `fragmentSize`. Returns the records, one per entry, not yet sent.
   */
  keyExchangeRecords(): Buffer[] {
    const o = this.options;
    const identity = typeof o.identity === 'string' ? Buffer.from(o.identity) : o.identity;
    const key = typeof o.key === 'string' ? Buffer.from(o.key) : o.key;
    const size = o.fragmentSize ?? 1000;
    const records: Buffer[] = [];
    const cke = encodePskIdentity(identity);
    const ckeSeq = this.#messageSeq++;
    this.#transcript.push(encodeHandshake(HandshakeType.CLIENT_KEY_EXCHANGE, ckeSeq, cke));
    for (const piece of fragmentHandshake(HandshakeType.CLIENT_KEY_EXCHANGE, ckeSeq, cke, size)) {
      records.push(this.record(ContentType.HANDSHAKE, 0, piece));
    }
    const ems = this.serverExtensions.has(ExtensionType.EXTENDED_MASTER_SECRET);
    this.#master = masterSecret(
      pskPremasterSecret(key),
      this.clientRandom,
      this.serverRandom,
      ems ? this.#hash() : undefined,
    );
    this.#keys = deriveClientEpochKeys(
      this.suite,
      this.#master,
      this.clientRandom,
      this.serverRandom,
    );
    records.push(this.record(ContentType.CHANGE_CIPHER_SPEC, 0, Buffer.from([1])));
    this.#writeEpoch = 1;
    const verify = finishedVerifyData(this.#master, 'client finished', this.#hash());
    const finSeq = this.#messageSeq++;
    this.#transcript.push(encodeHandshake(HandshakeType.FINISHED, finSeq, verify));
    for (const piece of fragmentHandshake(HandshakeType.FINISHED, finSeq, verify, size)) {
      records.push(this.record(ContentType.HANDSHAKE, 1, piece));
    }
    return records;
  }

  /** Waits for the server's ChangeCipherSpec and a Finished that verifies. */
  async readServerFinished(timeoutMs = 2000): Promise<boolean> {
    const expected = finishedVerifyData(this.#master!, 'server finished', this.#hash());
    const r = await this.waitFor(
      (x) => x.type === ContentType.HANDSHAKE && x.epoch === 1 && x.plaintext !== undefined,
      timeoutMs,
    );
    const f = r?.plaintext && parseHandshakeFragments(r.plaintext)?.[0];
    return f !== undefined && f.msgType === HandshakeType.FINISHED && f.body.equals(expected);
  }

  /** The whole handshake; resolves true when the server's Finished verifies. */
  async handshake(): Promise<boolean> {
    await this.helloVerify();
    this.sendRaw(this.helloWithCookie());
    if (!(await this.readServerFlight())) return false;
    this.sendRaw(Buffer.concat(this.keyExchangeRecords()));
    return this.readServerFinished();
  }

  /**
   * Starts over on the same socket offering the last session_id (RFC 5246 §7.3). True when the
   * server resumed: ServerHello echoing the id, its CCS and a Finished that verifies; then the
   * client's CCS and Finished are sent. False when the server chose a full handshake.
   */
  async resumeHandshake(): Promise<boolean> {
    const master = this.#master!;
    const id = this.sessionId;
    this.restart();
    this.#offerSessionId = id;
    await this.helloVerify();
    this.sendRaw(this.helloWithCookie());
    let expected: Buffer | undefined;
    for (;;) {
      const d = await this.nextDatagram();
      if (d === undefined) return false;
      for (const r of parseRecords(d, () => {})) {
        if (r.epoch === 0 && r.type === ContentType.HANDSHAKE) {
          for (const f of parseHandshakeFragments(r.fragment) ?? []) {
            const res = this.#reassembler.add(f);
            if (res.kind !== 'messages') continue;
            for (const m of res.messages) {
              this.#transcript.push(encodeHandshake(m.msgType, m.messageSeq, m.body));
              this.#onServerMessage(m);
              if (m.msgType !== HandshakeType.SERVER_HELLO) return false;
              if (!this.sessionId.equals(id)) return false;
              this.#master = master;
              this.#keys = deriveClientEpochKeys(
                this.suite,
                master,
                this.clientRandom,
                this.serverRandom,
              );
              expected = finishedVerifyData(master, 'server finished', this.#hash());
            }
          }
        } else if (r.epoch === 1 && r.type === ContentType.HANDSHAKE && this.#keys && expected) {
          const plain = this.#keys.read.open(r.type, r.version, r.epoch, r.seq, r.fragment);
          const f = plain && parseHandshakeFragments(plain)?.[0];
          if (!f || f.msgType !== HandshakeType.FINISHED || !f.body.equals(expected)) return false;
          this.#transcript.push(encodeHandshake(f.msgType, f.messageSeq, f.body));
          this.#messageSeq = 2;
          const ccs = this.record(ContentType.CHANGE_CIPHER_SPEC, 0, Buffer.from([1]));
          this.#writeEpoch = 1;
          const verify = finishedVerifyData(master, 'client finished', this.#hash());
          const fin = this.record(
            ContentType.HANDSHAKE,
            1,
            encodeHandshake(HandshakeType.FINISHED, 2, verify),
          );
          this.sendRaw(Buffer.concat([ccs, fin]));
          return true;
        }
      }
    }
  }

  /** One application data record (epoch 1) as a datagram, sent unless `send` is false. */
  sendApp(data: Buffer | string, send = true): Buffer {
    const d = this.record(ContentType.APPLICATION_DATA, 1, Buffer.from(data));
    if (send) this.sendRaw(d);
    return d;
  }

  /** An alert in the client's current write epoch. */
  sendAlert(level: number, description: number): void {
    this.sendRaw(
      this.record(ContentType.ALERT, this.#writeEpoch, Buffer.from([level, description])),
    );
  }

  /** The next application data plaintext from the server. */
  async nextApp(timeoutMs = 2000): Promise<Buffer | undefined> {
    const r = await this.waitFor(
      (x) => x.type === ContentType.APPLICATION_DATA && x.epoch === 1,
      timeoutMs,
    );
    return r?.plaintext;
  }
}
