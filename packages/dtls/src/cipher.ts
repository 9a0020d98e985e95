import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
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
 * The additional data of RFC 5246 §6.2.3.3 / the MAC input of §6.2.3.1, with DTLS's 8-byte
 * epoch + sequence number in place of TLS's implicit sequence number (RFC 6347 §4.1.2.1).
 */
function additionalData(
  type: number,
  version: number,
  epoch: number,
  seq: number,
  length: number,
): Buffer {
  const ad = Buffer.allocUnsafe(13);
  ad.writeUInt16BE(epoch, 0);
  ad.writeUIntBE(seq, 2, 6);
  ad[8] = type;
  ad.writeUInt16BE(version, 9);
  ad.writeUInt16BE(length, 11);
  return ad;
}

const EXPLICIT_NONCE_LENGTH = 8;

/** AES-CCM and AES-GCM (RFC 6655 §3, RFC 5288 §3): nonce = 4-byte salt + 8-byte explicit nonce. */
class AeadProtection implements RecordProtection {
  readonly suite: CipherSuiteName;
  readonly maxOverhead: number;
  readonly #algorithm: 'aes-128-ccm' | 'aes-128-gcm';
  readonly #key: Buffer;
  readonly #salt: Buffer;
  readonly #tagLength: number;

  constructor(p: SuiteParams, key: Buffer, salt: Buffer) {
    this.suite = p.name;
    this.#algorithm = p.kind === 'ccm' ? 'aes-128-ccm' : 'aes-128-gcm';
    this.#key = key;
    this.#salt = salt;
    this.#tagLength = p.tagLength;
    this.maxOverhead = EXPLICIT_NONCE_LENGTH + p.tagLength;
  }

  seal(type: number, version: number, epoch: number, seq: number, plaintext: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(EXPLICIT_NONCE_LENGTH + plaintext.length + this.#tagLength);
    // The explicit nonce is the record's epoch and sequence number (RFC 6655 §3): never reused.
    out.writeUInt16BE(epoch, 0);
    out.writeUIntBE(seq, 2, 6);
    const nonce = Buffer.concat([this.#salt, out.subarray(0, EXPLICIT_NONCE_LENGTH)]);
    const aad = additionalData(type, version, epoch, seq, plaintext.length);
    const cipher =
      this.#algorithm === 'aes-128-ccm'
        ? createCipheriv('aes-128-ccm', this.#key, nonce, { authTagLength: this.#tagLength })
        : createCipheriv('aes-128-gcm', this.#key, nonce, { authTagLength: this.#tagLength });
    cipher.setAAD(aad, { plaintextLength: plaintext.length });
    let at = EXPLICIT_NONCE_LENGTH + cipher.update(plaintext).copy(out, EXPLICIT_NONCE_LENGTH);
    at += cipher.final().copy(out, at);
    cipher.getAuthTag().copy(out, at);
    return out;
  }

  open(
    type: number,
    version: number,
    epoch: number,
    seq: number,
    fragment: Uint8Array,
  ): Buffer | undefined {
    const length = fragment.length - EXPLICIT_NONCE_LENGTH - this.#tagLength;
    if (length < 0) return undefined;
    const frag = Buffer.from(fragment.buffer, fragment.byteOffset, fragment.length);
    const nonce = Buffer.concat([this.#salt, frag.subarray(0, EXPLICIT_NONCE_LENGTH)]);
    const decipher =
      this.#algorithm === 'aes-128-ccm'
        ? createDecipheriv('aes-128-ccm', this.#key, nonce, { authTagLength: this.#tagLength })
        : createDecipheriv('aes-128-gcm', this.#key, nonce, { authTagLength: this.#tagLength });
    decipher.setAuthTag(frag.subarray(frag.length - this.#tagLength));
    decipher.setAAD(additionalData(type, version, epoch, seq, length), {
      plaintextLength: length,
    });
    try {
      const plain = decipher.update(
        frag.subarray(EXPLICIT_NONCE_LENGTH, EXPLICIT_NONCE_LENGTH + length),
      );
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

  constructor(p: SuiteParams, macKey: Buffer, key: Buffer) {
    this.suite = p.name;
    this.#macKey = macKey;
    this.#key = key;
  }

  #mac(type: number, version: number, epoch: number, seq: number, content: Uint8Array): Buffer {
    return createHmac('sha256', this.#macKey)
      .update(additionalData(type, version, epoch, seq, content.length))
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
  if (p.kind === 'cbc') {
    return {
      read: new CbcProtection(p, clientMac, clientKey),
      write: new CbcProtection(p, serverMac, serverKey),
    };
  }
  return {
    read: new AeadProtection(p, clientKey, clientIv),
    write: new AeadProtection(p, serverKey, serverIv),
  };
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
