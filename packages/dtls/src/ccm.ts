import { type Cipher, createCipheriv } from 'node:crypto';

const BLOCK = 16;
const ZERO_IV = Buffer.alloc(BLOCK);

/**
 * AES-CCM (RFC 3610) built from two ciphers made once per key: AES-CBC with a zero IV for the
 * CBC-MAC (§2.2) and AES-ECB for the CTR key stream (§2.3). node:crypto's own `aes-*-ccm` needs
 * a new cipher object per record (the nonce is fixed at creation), and creating one costs more
 * than sealing a CoAP-sized record; here a record costs two `update` calls.
 *
 * The CBC cipher is never finalised, so its chaining value carries over from one call to the
 * next: XORing the last output block into B_0 cancels it, and each MAC starts from a zero IV as
 * §2.2 asks. Not reentrant; one instance serves one direction of one epoch.
 */
export class AesCcm {
  readonly tagLength: number;
  readonly #cbc: Cipher;
  readonly #ecb: Cipher;
  /** The CBC cipher's chaining value: its last output block. */
  readonly #chain = new Uint8Array(BLOCK);
  /** Scratch for the MAC input (B_0, the encoded additional data, the padded message). */
  #macInput = new Uint8Array(8 * BLOCK);
  /** Scratch for the counter blocks A_0 … A_n. */
  #counters = new Uint8Array(8 * BLOCK);
  /** Views of the scratch buffers by block count, made once: `update` takes exact lengths. */
  #macViews: Uint8Array[] = [];
  #counterViews: Uint8Array[] = [];

  /** `key`: 16, 24 or 32 bytes; `tagLength`: M of §2, an even number 4 to 16. */
  constructor(key: Uint8Array, tagLength: number) {
    if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
      throw new RangeError(`AES-CCM key of ${key.length} bytes`);
    }
    if (tagLength < 4 || tagLength > 16 || tagLength % 2 !== 0) {
      throw new RangeError(`AES-CCM tag length ${tagLength}`);
    }
    const bits = key.length * 8;
    this.tagLength = tagLength;
    this.#cbc = createCipheriv(`aes-${bits}-cbc`, key, ZERO_IV).setAutoPadding(false);
    this.#ecb = createCipheriv(`aes-${bits}-ecb`, key, null).setAutoPadding(false);
  }

  /**
   * Encrypts `plaintext` and writes the ciphertext followed by the tag into `out` at `at`
   * (`plaintext.length + tagLength` bytes). `nonce`: 7 to 13 bytes; `aad` under 65,280 bytes.
   */
  seal(
    nonce: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
    at: number,
  ): void {
    const n = plaintext.length;
    const t = this.#mac(nonce, aad, plaintext, 0, n);
    const s = this.#keyStream(nonce, n);
    for (let i = 0; i < n; i++) out[at + i] = plaintext[i]! ^ s[BLOCK + i]!;
    // §2.3: U = T XOR first-M-bytes(S_0).
    for (let i = 0; i < this.tagLength; i++) out[at + n + i] = t[i]! ^ s[i]!;
  }

  /**
   * Opens the `length` bytes of ciphertext at `src[start]`, followed by the tag: the plaintext,
   * or undefined when `src` is too short or the tag does not verify. Offsets, not views: a
   * Buffer view per record costs more than the bytes it spares.
   */
  open(
    nonce: Uint8Array,
    aad: Uint8Array,
    src: Uint8Array,
    start: number,
    length: number,
  ): Buffer | undefined {
    const m = this.tagLength;
    if (start < 0 || length < 0 || start + length + m > src.length) return undefined;
    const s = this.#keyStream(nonce, length);
    const plaintext = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) plaintext[i] = src[start + i]! ^ s[BLOCK + i]!;
    const t = this.#mac(nonce, aad, plaintext, 0, length);
    // §2.5: compare in time independent of where the tags differ.
    const tag = start + length;
    let diff = 0;
    for (let i = 0; i < m; i++) diff |= t[i]! ^ s[i]! ^ src[tag + i]!;
    if (diff !== 0) {
      plaintext.fill(0);
      return undefined;
    }
    return plaintext;
  }

  /**
   * CBC-MAC over B_0, the length-prefixed additional data and the message (§2.2): the last
   * output block, whose first M bytes are T. Valid until the next call.
   */
  #mac(nonce: Uint8Array, aad: Uint8Array, src: Uint8Array, start: number, n: number): Uint8Array {
    const L = 15 - nonce.length;
    if (L < 2 || L > 8) throw new RangeError(`AES-CCM nonce of ${nonce.length} bytes`);
    if (aad.length >= 0xff00) throw new RangeError('AES-CCM additional data too long');
    if (L < 4 && n >= 2 ** (8 * L)) throw new RangeError('AES-CCM message too long for L');
    const aadBlocks = aad.length === 0 ? 0 : Math.ceil((2 + aad.length) / BLOCK);
    const blocks = 1 + aadBlocks + Math.ceil(n / BLOCK);
    const size = BLOCK * blocks;
    if (this.#macInput.length < size) {
      this.#macInput = new Uint8Array(size);
      this.#macViews = [];
    }
    const b = this.#macInput;
    const chain = this.#chain;
    // B_0: Flags = 64·Adata + 8·M' + L', nonce, l(m) in L bytes; XORed with the chaining value.
    b[0] = (aad.length > 0 ? 0x40 : 0) | (((this.tagLength - 2) / 2) << 3) | (L - 1);
    for (let i = 0; i < nonce.length; i++) b[1 + i] = nonce[i]!;
    for (let i = 0, len = n; i < L; i++, len = Math.floor(len / 256)) b[15 - i] = len & 0xff;
    for (let i = 0; i < BLOCK; i++) b[i]! ^= chain[i]!;
    let at = BLOCK;
    if (aad.length > 0) {
      b[at] = aad.length >>> 8;
      b[at + 1] = aad.length & 0xff;
      for (let i = 0; i < aad.length; i++) b[at + 2 + i] = aad[i]!;
      at += 2 + aad.length;
      const end = BLOCK * (1 + aadBlocks);
      while (at < end) b[at++] = 0;
    }
    for (let i = 0; i < n; i++) b[at + i] = src[start + i]!;
    for (let i = at + n; i < size; i++) b[i] = 0;
    let view = this.#macViews[blocks];
    if (view === undefined) {
      view = b.subarray(0, size);
      this.#macViews[blocks] = view;
    }
    const x = this.#cbc.update(view);
    if (x.length !== size) throw new Error('AES-CBC returned a short block run');
    for (let i = 0, j = size - BLOCK; i < BLOCK; i++, j++) chain[i] = x[j]!;
    return chain;
  }

  /** S_0 … S_k (§2.3): the ECB encryption of A_i = Flags(L') ‖ nonce ‖ i, for `n` bytes. */
  #keyStream(nonce: Uint8Array, n: number): Buffer {
    const L = 15 - nonce.length;
    if (L < 2 || L > 8) throw new RangeError(`AES-CCM nonce of ${nonce.length} bytes`);
    const blocks = 1 + Math.ceil(n / BLOCK);
    const size = BLOCK * blocks;
    if (this.#counters.length < size) {
      this.#counters = new Uint8Array(size);
      this.#counterViews = [];
    }
    const a = this.#counters;
    for (let i = 0, at = 0; i < blocks; i++, at += BLOCK) {
      a[at] = L - 1;
      for (let k = 0; k < nonce.length; k++) a[at + 1 + k] = nonce[k]!;
      for (let k = 0, c = i; k < L; k++, c = Math.floor(c / 256)) a[at + 15 - k] = c & 0xff;
    }
    let view = this.#counterViews[blocks];
    if (view === undefined) {
      view = a.subarray(0, size);
      this.#counterViews[blocks] = view;
    }
    return this.#ecb.update(view);
  }
}
