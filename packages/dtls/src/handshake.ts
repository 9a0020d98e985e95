import { DTLS_1_0, DTLS_1_2, HANDSHAKE_HEADER_LENGTH } from './constants.js';
import { prf } from './prf.js';

/** One handshake fragment as carried in a record (RFC 6347 §4.2.2). */
export interface HandshakeFragment {
  readonly msgType: number;
  /** Length of the whole message body. */
  readonly length: number;
  readonly messageSeq: number;
  readonly fragmentOffset: number;
  readonly body: Buffer;
}

/** A reassembled handshake message. */
export interface HandshakeMessage {
  readonly msgType: number;
  readonly messageSeq: number;
  readonly body: Buffer;
}

/**
 * Splits a handshake record's plaintext into fragments; a record may carry several
 * (RFC 5246 §6.2.1). Undefined when a header or a fragment does not fit, or a fragment lies
 * outside its message.
 */
export function parseHandshakeFragments(data: Buffer): HandshakeFragment[] | undefined {
  const out: HandshakeFragment[] = [];
  let at = 0;
  while (at < data.length) {
    if (data.length - at < HANDSHAKE_HEADER_LENGTH) return undefined;
    const msgType = data[at]!;
    const length = data.readUIntBE(at + 1, 3);
    const messageSeq = data.readUInt16BE(at + 4);
    const fragmentOffset = data.readUIntBE(at + 6, 3);
    const fragmentLength = data.readUIntBE(at + 9, 3);
    const start = at + HANDSHAKE_HEADER_LENGTH;
    if (start + fragmentLength > data.length || fragmentOffset + fragmentLength > length) {
      return undefined;
    }
    out.push({
      msgType,
      length,
      messageSeq,
      fragmentOffset,
      body: data.subarray(start, start + fragmentLength),
    });
    at = start + fragmentLength;
  }
  return out;
}

function header(
  msgType: number,
  length: number,
  messageSeq: number,
  offset: number,
  fragmentLength: number,
): Buffer {
  const h = Buffer.allocUnsafe(HANDSHAKE_HEADER_LENGTH);
  h[0] = msgType;
  h.writeUIntBE(length, 1, 3);
  h.writeUInt16BE(messageSeq, 4);
  h.writeUIntBE(offset, 6, 3);
  h.writeUIntBE(fragmentLength, 9, 3);
  return h;
}

/**
 * A whole message as one fragment: how it goes into the handshake hash (RFC 6347 §4.2.6) and
 * on the wire when it fits.
 */
export function encodeHandshake(msgType: number, messageSeq: number, body: Uint8Array): Buffer {
  return Buffer.concat([header(msgType, body.length, messageSeq, 0, body.length), body]);
}

/** Cuts a message into fragments of at most `maxFragment` body bytes, each with its header. */
export function fragmentHandshake(
  msgType: number,
  messageSeq: number,
  body: Uint8Array,
  maxFragment: number,
): Buffer[] {
  const size = Math.max(1, maxFragment);
  if (body.length <= size) return [encodeHandshake(msgType, messageSeq, body)];
  const out: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += size) {
    const piece = body.subarray(offset, Math.min(body.length, offset + size));
    out.push(
      Buffer.concat([header(msgType, body.length, messageSeq, offset, piece.length), piece]),
    );
  }
  return out;
}

/** What {@link HandshakeReassembler.add} made of a fragment. */
export type ReassemblyResult =
  /** Messages now complete, in message_seq order (may be empty while waiting for more). */
  | { readonly kind: 'messages'; readonly messages: HandshakeMessage[] }
  /** A fragment of a message already processed: the peer is retransmitting its last flight. */
  | { readonly kind: 'old' }
  /** Inconsistent with earlier fragments, too large, or too far ahead. */
  | { readonly kind: 'invalid' };

interface Partial {
  readonly msgType: number;
  readonly body: Buffer;
  readonly have: Uint8Array;
  missing: number;
}

/**
 * Reassembles fragmented handshake messages and releases them in message_seq order
 * (RFC 6347 §4.2.2–4.2.3): fragments may overlap, arrive in any order or be repeated; messages
 * ahead of the next expected one wait (up to `maxAhead` messages).
 */
export class HandshakeReassembler {
  #next: number;
  readonly #pending = new Map<number, Partial>();
  readonly #maxLength: number;
  readonly #maxAhead: number;

  constructor(nextSeq: number, options?: { maxMessageLength?: number; maxAhead?: number }) {
    this.#next = nextSeq;
    this.#maxLength = options?.maxMessageLength ?? 16384;
    this.#maxAhead = options?.maxAhead ?? 8;
  }

  /** The message_seq the peer's next new message must carry. */
  get nextSeq(): number {
    return this.#next;
  }

  add(f: HandshakeFragment): ReassemblyResult {
    if (f.messageSeq < this.#next) return { kind: 'old' };
    if (f.messageSeq >= this.#next + this.#maxAhead || f.length > this.#maxLength) {
      return { kind: 'invalid' };
    }
    let p = this.#pending.get(f.messageSeq);
    if (p === undefined) {
      p = {
        msgType: f.msgType,
        body: Buffer.alloc(f.length),
        have: new Uint8Array(f.length),
        missing: f.length,
      };
      this.#pending.set(f.messageSeq, p);
    } else if (p.msgType !== f.msgType || p.body.length !== f.length) {
      return { kind: 'invalid' };
    }
    for (let i = 0; i < f.body.length; i++) {
      const at = f.fragmentOffset + i;
      if (p.have[at] === 0) {
        p.have[at] = 1;
        p.body[at] = f.body[i]!;
        p.missing--;
      }
    }
    const messages: HandshakeMessage[] = [];
    for (;;) {
      const head = this.#pending.get(this.#next);
      if (head === undefined || head.missing > 0) break;
      this.#pending.delete(this.#next);
      messages.push({ msgType: head.msgType, messageSeq: this.#next, body: head.body });
      this.#next++;
    }
    return { kind: 'messages', messages };
  }
}

/** A byte reader that records the first decoding failure instead of throwing. */
class Reader {
  at = 0;
  ok = true;
  constructor(readonly data: Buffer) {}

  get remaining(): number {
    return this.data.length - this.at;
  }

  u8(): number {
    if (this.remaining < 1) return this.#fail(0);
    return this.data[this.at++]!;
  }

  u16(): number {
    if (this.remaining < 2) return this.#fail(0);
    const v = this.data.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }

  bytes(n: number): Buffer {
    if (this.remaining < n) return this.#fail(Buffer.alloc(0));
    const b = this.data.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }

  /** A vector with a 1- or 2-byte length prefix (RFC 5246 §4.3). */
  vector(lengthBytes: 1 | 2): Buffer {
    const n = lengthBytes === 1 ? this.u8() : this.u16();
    return this.bytes(n);
  }

  #fail<T>(v: T): T {
    this.ok = false;
    this.at = this.data.length;
    return v;
  }
}

/** The fields of a ClientHello this server uses (RFC 6347 §4.2.1, RFC 5246 §7.4.1.2). */
export interface ClientHello {
  readonly clientVersion: number;
  readonly random: Buffer;
  readonly sessionId: Buffer;
  readonly cookie: Buffer;
  readonly cipherSuites: readonly number[];
  readonly compressionMethods: Buffer;
  /** Extension type → its data; a duplicate type makes the hello invalid. */
  readonly extensions: ReadonlyMap<number, Buffer>;
  /** The raw cipher_suites vector, for the cookie. */
  readonly cipherSuitesRaw: Buffer;
}

/** Parses a ClientHello body; undefined when it is malformed. */
export function parseClientHello(body: Buffer): ClientHello | undefined {
  const r = new Reader(body);
  const clientVersion = r.u16();
  const random = r.bytes(32);
  const sessionId = r.vector(1);
  const cookie = r.vector(1);
  const cipherSuitesRaw = r.vector(2);
  const compressionMethods = r.vector(1);
  const extensions = new Map<number, Buffer>();
  if (r.ok && r.remaining > 0) {
    const ext = new Reader(r.vector(2));
    while (ext.ok && ext.remaining > 0) {
      const type = ext.u16();
      const data = ext.vector(2);
      if (!ext.ok || extensions.has(type)) return undefined;
      extensions.set(type, data);
    }
    if (!ext.ok) return undefined;
  }
  if (
    !r.ok ||
    r.remaining !== 0 ||
    sessionId.length > 32 ||
    cipherSuitesRaw.length < 2 ||
    cipherSuitesRaw.length % 2 !== 0 ||
    compressionMethods.length < 1
  ) {
    return undefined;
  }
  const cipherSuites: number[] = [];
  for (let i = 0; i < cipherSuitesRaw.length; i += 2) {
    cipherSuites.push(cipherSuitesRaw.readUInt16BE(i));
  }
  return {
    clientVersion,
    random,
    sessionId,
    cookie,
    cipherSuites,
    compressionMethods,
    extensions,
    cipherSuitesRaw,
  };
}

/** Encodes a ClientHello body (used by tests and by anything playing the client side). */
export function encodeClientHello(h: {
  clientVersion?: number;
  random: Uint8Array;
  sessionId?: Uint8Array;
  cookie?: Uint8Array;
  cipherSuites: readonly number[];
  extensions?: ReadonlyArray<readonly [number, Uint8Array]>;
}): Buffer {
  const suites = Buffer.alloc(2 + 2 * h.cipherSuites.length);
  suites.writeUInt16BE(2 * h.cipherSuites.length, 0);
  h.cipherSuites.forEach((s, i) => {
    suites.writeUInt16BE(s, 2 + 2 * i);
  });
  const sessionId = h.sessionId ?? new Uint8Array(0);
  const cookie = h.cookie ?? new Uint8Array(0);
  const parts: Uint8Array[] = [
    u16(h.clientVersion ?? DTLS_1_2),
    h.random,
    Buffer.from([sessionId.length]),
    sessionId,
    Buffer.from([cookie.length]),
    cookie,
    suites,
    Buffer.from([1, 0]),
  ];
  if (h.extensions !== undefined) parts.push(encodeExtensions(h.extensions));
  return Buffer.concat(parts);
}

function u16(v: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(v, 0);
  return b;
}

function vector16(data: Uint8Array): Buffer {
  return Buffer.concat([u16(data.length), data]);
}

function encodeExtensions(list: ReadonlyArray<readonly [number, Uint8Array]>): Buffer {
  return vector16(
    Buffer.concat(list.map(([type, data]) => Buffer.concat([u16(type), vector16(data)]))),
  );
}

/** HelloVerifyRequest body (RFC 6347 §4.2.1): server_version is DTLS 1.0 as the RFC advises. */
export function encodeHelloVerifyRequest(cookie: Uint8Array): Buffer {
  return Buffer.concat([u16(DTLS_1_0), Buffer.from([cookie.length]), cookie]);
}

/** Parses a HelloVerifyRequest body into its cookie. */
export function parseHelloVerifyRequest(body: Buffer): Buffer | undefined {
  const r = new Reader(body);
  r.u16();
  const cookie = r.vector(1);
  return r.ok && r.remaining === 0 ? cookie : undefined;
}

/** ServerHello body (RFC 5246 §7.4.1.3); extensions are omitted when there are none. */
export function encodeServerHello(h: {
  random: Uint8Array;
  sessionId: Uint8Array;
  cipherSuite: number;
  extensions: ReadonlyArray<readonly [number, Uint8Array]>;
}): Buffer {
  const parts: Uint8Array[] = [
    u16(DTLS_1_2),
    h.random,
    Buffer.from([h.sessionId.length]),
    h.sessionId,
    u16(h.cipherSuite),
    Buffer.from([0]),
  ];
  if (h.extensions.length > 0) parts.push(encodeExtensions(h.extensions));
  return Buffer.concat(parts);
}

/** The parts of a ServerHello a client needs (tests). */
export interface ServerHello {
  readonly serverVersion: number;
  readonly random: Buffer;
  readonly sessionId: Buffer;
  readonly cipherSuite: number;
  readonly extensions: ReadonlyMap<number, Buffer>;
}

export function parseServerHello(body: Buffer): ServerHello | undefined {
  const r = new Reader(body);
  const serverVersion = r.u16();
  const random = r.bytes(32);
  const sessionId = r.vector(1);
  const cipherSuite = r.u16();
  r.u8();
  const extensions = new Map<number, Buffer>();
  if (r.ok && r.remaining > 0) {
    const ext = new Reader(r.vector(2));
    while (ext.ok && ext.remaining > 0) {
      const type = ext.u16();
      extensions.set(type, ext.vector(2));
    }
    if (!ext.ok) return undefined;
  }
  if (!r.ok || r.remaining !== 0) return undefined;
  return { serverVersion, random, sessionId, cipherSuite, extensions };
}

/** PSK identity hint or identity: a 2-byte-length vector (RFC 4279 §2). */
export function encodePskIdentity(identity: Uint8Array): Buffer {
  return vector16(identity);
}

/** Parses ServerKeyExchange / ClientKeyExchange of plain PSK: the whole body is one vector. */
export function parsePskIdentity(body: Buffer): Buffer | undefined {
  const r = new Reader(body);
  const identity = r.vector(2);
  return r.ok && r.remaining === 0 ? identity : undefined;
}

/**
 * The PSK premaster secret (RFC 4279 §2): N zero bytes for the "other secret" of plain PSK,
 * each half prefixed by its 2-byte length N.
 */
export function pskPremasterSecret(psk: Uint8Array): Buffer {
  const n = psk.length;
  const out = Buffer.alloc(4 + 2 * n);
  out.writeUInt16BE(n, 0);
  out.writeUInt16BE(n, 2 + n);
  out.set(psk, 4 + n);
  return out;
}

/** verify_data length of Finished for every suite here (RFC 5246 §7.4.9). */
export const FINISHED_LENGTH = 12;

/**
 * The master secret (RFC 5246 §8.1), or with `sessionHash` the extended master secret of
 * RFC 7627 §4: PRF(pre_master_secret, "extended master secret", session_hash).
 */
export function masterSecret(
  premaster: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  sessionHash?: Uint8Array,
): Buffer {
  return sessionHash === undefined
    ? prf(premaster, 'master secret', Buffer.concat([clientRandom, serverRandom]), 48)
    : prf(premaster, 'extended master secret', sessionHash, 48);
}

/** Finished verify_data (RFC 5246 §7.4.9): PRF(master_secret, label, Hash(handshake_messages)). */
export function finishedVerifyData(
  master: Uint8Array,
  label: 'client finished' | 'server finished',
  handshakeHash: Uint8Array,
): Buffer {
  return prf(master, label, handshakeHash, FINISHED_LENGTH);
}
