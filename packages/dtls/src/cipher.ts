import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { AesCcm } from './ccm.js';
import { prf } from './prf.js';

/** The PSK cipher suites this package implements, with their IANA numbers. */
export const CipherSuite = {
  /** RFC 6655 §4: AES-128 in CCM with an 8-byte tag; the LwM2M and CoAP (RFC 7252) default. */
  TLS_PSK_WITH_AES_128_CCM_8: 0xc0a8,
  /** RFC 6655 §4: AES-128 in CCM with a 16-byte tag. */
  TLS_PSK_WITH_AES_128_CCM: 0xc0a4,
  /** RFC 5487 §3.1: AES-128 in GCM. */
  TLS_PSK_WITH_AES_128_GCM_SHA256: 0x00a8,
  /** RFC 5487 §3.2: AES-128-CBC with HMAC-SHA256, MAC-then-encrypt; LwM2M's other suite. */
  TLS_PSK_WITH_AES_128_CBC_SHA256: 0x00ae,
} as const;
export type CipherSuiteName = keyof typeof CipherSuite;
export type CipherSuiteId = (typeof CipherSuite)[CipherSuiteName];

/**
 * The server's default preference: the AEAD suites first (CCM_8 leads because it is what LwM2M
 * and CoAP clients expect), CBC_SHA256 last because MAC-then-encrypt is the weakest of the four.
 */
export const DEFAULT_CIPHER_SUITES: readonly CipherSuiteName[] = [
  'TLS_PSK_WITH_AES_128_CCM_8',
  'TLS_PSK_WITH_AES_128_GCM_SHA256',
  'TLS_PSK_WITH_AES_128_CCM',
  'TLS_PSK_WITH_AES_128_CBC_SHA256',
];

interface SuiteParams {
  readonly name: CipherSuiteName;
  readonly id: CipherSuiteId;
  readonly kind: 'ccm' | 'gcm' | 'cbc';
  readonly macKeyLength: number;
  readonly encKeyLength: number;
  readonly fixedIvLength: number;
  readonly tagLength: number;
}

const SUITES: ReadonlyMap<number, SuiteParams> = new Map(
  (
    [
      ['TLS_PSK_WITH_AES_128_CCM_8', 'ccm', 0, 16, 4, 8],
      ['TLS_PSK_WITH_AES_128_CCM', 'ccm', 0, 16, 4, 16],
      ['TLS_PSK_WITH_AES_128_GCM_SHA256', 'gcm', 0, 16, 4, 16],
      ['TLS_PSK_WITH_AES_128_CBC_SHA256', 'cbc', 32, 16, 0, 32],
    ] as const
  ).map(([name, kind, macKeyLength, encKeyLength, fixedIvLength, tagLength]) => [
    CipherSuite[name],
    { name, id: CipherSuite[name], kind, macKeyLength, encKeyLength, fixedIvLength, tagLength },
  ]),
);

export function cipherSuiteName(id: number): CipherSuiteName | undefined {
  return SUITES.get(id)?.name;
}

export function isCipherSuiteName(name: string): name is CipherSuiteName {
  return Object.hasOwn(CipherSuite, name);
}

/** Protects (seals) or checks and decrypts (opens) the fragments of one direction of one epoch. */
export interface RecordProtection {
  readonly suite: CipherSuiteName;
  /** Largest number of bytes a sealed fragment adds to its plaintext. */
  readonly maxOverhead: number;
  seal(type: number, version: number, epoch: number, seq: number, plaintext: Uint8Array): Buffer;
  /**
   * The whole record: the 13-byte header of RFC 6347 §4.1 and the sealed fragment, in one
   * buffer (no copy of the fragment into a second one).
   */
  sealRecord(
    type: number,
    version: number,
    epoch: number,
    seq: number,
    plaintext: Uint8Array,
  ): Buffer;
  /** The plaintext, or undefined when the fragment is malformed or fails authentication. */
  open(
    type: number,
    version: number,
    epoch: number,
    seq: number,
    fragment: Uint8Array,
  ): Buffer | undefined;
}

/**
 * Writes the additional data of RFC 5246 §6.2.3.3 / the MAC input of §6.2.3.1 into `ad`, with
 * DTLS's 8-byte epoch + sequence number in place of TLS's implicit sequence number
 * (RFC 6347 §4.1.2.1). Epoch and sequence number are also the record header's bytes 3–10.
 */
function additionalData(
  ad: Buffer,
  type: number,
  version: number,
  epoch: number,
  seq: number,
  length: number,
): Buffer {
  ad.writeUInt16BE(epoch, 0);
  ad.writeUIntBE(seq, 2, 6);
  ad[8] = type;
  ad.writeUInt16BE(version, 9);
  ad.writeUInt16BE(length, 11);
  return ad;
}

/** The record header (RFC 6347 §4.1) of a `length`-byte fragment, at the start of `out`. */
function writeHeader(
  out: Buffer,
  type: number,
  version: number,
  epoch: number,
  seq: number,
  length: number,
): void {
  out[0] = type;
  out.writeUInt16BE(version, 1);
  out.writeUInt16BE(epoch, 3);
  out.writeUIntBE(seq, 5, 6);
  out.writeUInt16BE(length, 11);
}

const HEADER = 13;
const EXPLICIT_NONCE_LENGTH = 8;
const SALT_LENGTH = 4;

/**
 * The AEAD suites (RFC 6655 §3, RFC 5288 §3): nonce = 4-byte salt (the fixed IV) + 8-byte
 * explicit nonce, which is the record's epoch and sequence number, so never reused. The nonce
 * and additional-data buffers are kept per instance: both ciphers copy them.
 */
abstract class AeadProtection implements RecordProtection {
  readonly suite: CipherSuiteName;
  readonly maxOverhead: number;
  protected readonly tagLength: number;
  /** salt ‖ explicit nonce; the salt part is written once. */
  protected readonly nonce = Buffer.alloc(SALT_LENGTH + EXPLICIT_NONCE_LENGTH);
  protected readonly ad = Buffer.alloc(13);

  constructor(p: SuiteParams, salt: Buffer) {
    this.suite = p.name;
    this.tagLength = p.tagLength;
    this.maxOverhead = EXPLICIT_NONCE_LENGTH + p.tagLength;
    salt.copy(this.nonce, 0, 0, SALT_LENGTH);
  }

  /** Encrypts `plaintext` into `out` at `at`: ciphertext then tag. `nonce` and `ad` are set. */
  protected abstract encrypt(plaintext: Uint8Array, out: Buffer, at: number): void;
  /** Opens the `length` bytes at `src[start]` and the tag after them. `nonce` and `ad` are set. */
  protected abstract decrypt(src: Uint8Array, start: number, length: number): Buffer | undefined;

  seal(type: number, version: number, epoch: number, seq: number, plaintext: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(this.maxOverhead + plaintext.length);
    this.#sealAt(out, 0, type, version, epoch, seq, plaintext);
    return out;
  }

  sealRecord(
    type: number,
    version: number,
    epoch: number,
    seq: number,
    plaintext: Uint8Array,
  ): Buffer {
    const length = this.maxOverhead + plaintext.length;
    const out = Buffer.allocUnsafe(HEADER + length);
    writeHeader(out, type, version, epoch, seq, length);
    this.#sealAt(out, HEADER, type, version, epoch, seq, plaintext);
    return out;
  }

  #sealAt(
    out: Buffer,
    at: number,
    type: number,
    version: number,
    epoch: number,
    seq: number,
    plaintext: Uint8Array,
  ): void {
    const ad = additionalData(this.ad, type, version, epoch, seq, plaintext.length);
    // The explicit nonce is the additional data's first 8 bytes: epoch ‖ sequence number.
    const nonce = this.nonce;
    for (let i = 0; i < EXPLICIT_NONCE_LENGTH; i++) {
      nonce[SALT_LENGTH + i] = ad[i]!;
      out[at + i] = ad[i]!;
    }
    this.encrypt(plaintext, out, at + EXPLICIT_NONCE_LENGTH);
  }

  open(
    type: number,
    version: number,
    epoch: number,
    seq: number,
    fragment: Uint8Array,
  ): Buffer | undefined {
    const length = fragment.length - EXPLICIT_NONCE_LENGTH - this.tagLength;
    if (length < 0) return undefined;
    const nonce = this.nonce;
    for (let i = 0; i < EXPLICIT_NONCE_LENGTH; i++) nonce[SALT_LENGTH + i] = fragment[i]!;
    additionalData(this.ad, type, version, epoch, seq, length);
    return this.decrypt(fragment, EXPLICIT_NONCE_LENGTH, length);
  }
}

/** AES-CCM (RFC 6655) on {@link AesCcm}: one pair of ciphers per direction and epoch. */
class CcmProtection extends AeadProtection {
  readonly #ccm: AesCcm;

  constructor(p: SuiteParams, key: Buffer, salt: Buffer) {
    super(p, salt);
    this.#ccm = new AesCcm(key, p.tagLength);
  }

  protected encrypt(plaintext: Uint8Array, out: Buffer, at: number): void {
    this.#ccm.seal(this.nonce, this.ad, plaintext, out, at);
  }

  protected decrypt(src: Uint8Array, start: number, length: number): Buffer | undefined {
    return this.#ccm.open(this.nonce, this.ad, src, start, length);
  }
}

/** AES-GCM (RFC 5288) on node:crypto, a cipher object per record (GCM's nonce is fixed at creation). */
class GcmProtection extends AeadProtection {
  readonly #key: Buffer;

  constructor(p: SuiteParams, key: Buffer, salt: Buffer) {
    super(p, salt);
    this.#key = key;
  }

  protected encrypt(plaintext: Uint8Array, out: Buffer, at: number): void {
    const cipher = createCipheriv('aes-128-gcm', this.#key, this.nonce, {
      authTagLength: this.tagLength,
    });
    cipher.setAAD(this.ad, { plaintextLength: plaintext.length });
    at += cipher.update(plaintext).copy(out, at);
    at += cipher.final().copy(out, at);
    cipher.getAuthTag().copy(out, at);
  }

  protected decrypt(src: Uint8Array, start: number, length: number): Buffer | undefined {
    const ciphertext = src.subarray(start, start + length);
    const tag = src.subarray(start + length, start + length + this.tagLength);
    const decipher = createDecipheriv('aes-128-gcm', this.#key, this.nonce, {
      authTagLength: this.tagLength,
    });
    decipher.setAuthTag(tag);
    decipher.setAAD(this.ad, { plaintextLength: ciphertext.length });
    try {
      const plain = decipher.update(ciphertext);
      const rest = decipher.final();
      return rest.length === 0 ? plain : Buffer.concat([plain, rest]);
    } catch {
      return undefined; // authentication failed
    }
  }
}

const BLOCK = 16;
const MAC_LENGTH = 32;

/**
 * AES-128-CBC with HMAC-SHA256, MAC-then-encrypt with an explicit IV (RFC 5246 §6.2.3.2).
 * Padding is checked without branching on its bytes and the MAC is computed even when the
 * padding is bad, to keep timing differences small (the Lucky Thirteen mitigation of
 * RFC 5246 §6.2.3.2, note; DTLS also drops bad records silently, RFC 6347 §4.1.2.7).
 */
class CbcProtection implements RecordProtection {
  readonly suite: CipherSuiteName;
  readonly maxOverhead = BLOCK + MAC_LENGTH + BLOCK;
  readonly #macKey: Buffer;
  readonly #key: Buffer;
  readonly #ad = Buffer.alloc(13);

  constructor(p: SuiteParams, macKey: Buffer, key: Buffer) {
    this.suite = p.name;
    this.#macKey = macKey;
    this.#key = key;
  }

  #mac(type: number, version: number, epoch: number, seq: number, content: Uint8Array): Buffer {
    return createHmac('sha256', this.#macKey)
      .update(additionalData(this.#ad, type, version, epoch, seq, content.length))
      .update(content)
      .digest();
  }

  seal(type: number, version: number, epoch: number, seq: number, plaintext: Uint8Array): Buffer {
    const mac = this.#mac(type, version, epoch, seq, plaintext);
    const unpadded = plaintext.length + MAC_LENGTH + 1;
    const pad = (BLOCK - (unpadded % BLOCK)) % BLOCK;
    const data = Buffer.allocUnsafe(unpadded + pad);
    data.set(plaintext, 0);
    mac.copy(data, plaintext.length);
    data.fill(pad, plaintext.length + MAC_LENGTH);
    const iv = randomBytes(BLOCK);
    const cipher = createCipheriv('aes-128-cbc', this.#key, iv).setAutoPadding(false);
    return Buffer.concat([iv, cipher.update(data), cipher.final()]);
  }

  sealRecord(
    type: number,
    version: number,
    epoch: number,
    seq: number,
    plaintext: Uint8Array,
  ): Buffer {
    const fragment = this.seal(type, version, epoch, seq, plaintext);
    const out = Buffer.allocUnsafe(HEADER + fragment.length);
    writeHeader(out, type, version, epoch, seq, fragment.length);
    fragment.copy(out, HEADER);
    return out;
  }

  open(
    type: number,
    version: number,
    epoch: number,
    seq: number,
    fragment: Uint8Array,
  ): Buffer | undefined {
    const n = fragment.length - BLOCK;
    // At least one block holding the MAC and the padding length byte.
    if (n < MAC_LENGTH + BLOCK || n % BLOCK !== 0) return undefined;
    const frag = Buffer.from(fragment.buffer, fragment.byteOffset, fragment.length);
    const decipher = createDecipheriv('aes-128-cbc', this.#key, frag.subarray(0, BLOCK));
    decipher.setAutoPadding(false);
    const data = Buffer.concat([decipher.update(frag.subarray(BLOCK)), decipher.final()]);
    const padLength = data[n - 1]!;
    // good stays 1 only if every one of the padLength + 1 trailing bytes equals padLength and
    // the padding leaves room for the MAC; the loop always covers the same 256 bytes.
    let good = padLength + 1 + MAC_LENGTH <= n ? 1 : 0;
    for (let i = 1; i <= 256; i++) {
      const inPad = i <= padLength + 1 ? 1 : 0;
      const byte = i <= n ? data[n - i]! : padLength;
      good &= 1 - (inPad & ((byte ^ padLength) !== 0 ? 1 : 0));
    }
    const contentLength = good === 1 ? n - padLength - 1 - MAC_LENGTH : n - 1 - MAC_LENGTH;
    const content = data.subarray(0, contentLength);
    const expected = this.#mac(type, version, epoch, seq, content);
    const macOk = timingSafeEqual(
      expected,
      data.subarray(contentLength, contentLength + MAC_LENGTH),
    );
    return good === 1 && macOk ? content : undefined;
  }
}

/** Both directions' protection for one epoch, from the server's point of view. */
export interface EpochKeys {
  /** Opens what the client sends. */
  readonly read: RecordProtection;
  /** Seals what the server sends. */
  readonly write: RecordProtection;
}

/**
 * Derives the key block (RFC 5246 §6.3) and builds both directions' protection:
 * client MAC key, server MAC key, client key, server key, client IV, server IV.
 */
export function deriveEpochKeys(
  suiteId: number,
  masterSecret: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
): EpochKeys {
  const p = SUITES.get(suiteId);
  if (p === undefined) throw new RangeError(`unsupported cipher suite 0x${suiteId.toString(16)}`);
  const total = 2 * (p.macKeyLength + p.encKeyLength + p.fixedIvLength);
  const block = prf(
    masterSecret,
    'key expansion',
    Buffer.concat([serverRandom, clientRandom]),
    total,
  );
  let at = 0;
  const take = (n: number): Buffer => {
    const b = block.subarray(at, at + n);
    at += n;
    return b;
  };
  const clientMac = take(p.macKeyLength);
  const serverMac = take(p.macKeyLength);
  const clientKey = take(p.encKeyLength);
  const serverKey = take(p.encKeyLength);
  const clientIv = take(p.fixedIvLength);
  const serverIv = take(p.fixedIvLength);
  return {
    read: protection(p, clientMac, clientKey, clientIv),
    write: protection(p, serverMac, serverKey, serverIv),
  };
}

function protection(p: SuiteParams, macKey: Buffer, key: Buffer, iv: Buffer): RecordProtection {
  if (p.kind === 'cbc') return new CbcProtection(p, macKey, key);
  if (p.kind === 'ccm') return new CcmProtection(p, key, iv);
  return new GcmProtection(p, key, iv);
}

/**
 * One direction's protection from key material derived elsewhere (RFC 5246 §6.3's key block
 * parts): how the client socket takes over the record layer of a session node-dtls-client has
 * negotiated. Undefined for a suite this package does not implement, or keys of the wrong size.
 */
export function recordProtection(
  suiteId: number,
  keys: { readonly macKey: Uint8Array; readonly key: Uint8Array; readonly iv: Uint8Array },
): RecordProtection | undefined {
  const p = SUITES.get(suiteId);
  if (
    p === undefined ||
    keys.macKey.length !== p.macKeyLength ||
    keys.key.length !== p.encKeyLength ||
    keys.iv.length !== p.fixedIvLength
  ) {
    return undefined;
  }
  return protection(p, Buffer.from(keys.macKey), Buffer.from(keys.key), Buffer.from(keys.iv));
}

/**
 * The client's view of the same keys (reads what the server writes and vice versa): used by
 * tests and by anything that plays the client side over this record layer.
 */
export function deriveClientEpochKeys(
  suiteId: number,
  masterSecret: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
): EpochKeys {
  const k = deriveEpochKeys(suiteId, masterSecret, clientRandom, serverRandom);
  return { read: k.write, write: k.read };
}
