import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ClientHello } from './handshake.js';

/** Cookie length: a full HMAC-SHA256; DTLS 1.2 allows up to 255 bytes (RFC 6347 §4.2.1). */
export const COOKIE_LENGTH = 32;

/**
 * Stateless cookies for HelloVerifyRequest (RFC 6347 §4.2.1):
 * HMAC-SHA256(secret, client address, port, and the ClientHello's fixed fields). The secret
 * rotates every `rotateMs`; a cookie made with the previous secret is still accepted, so a
 * rotation between a HelloVerifyRequest and the client's answer costs nothing.
 */
export class CookieFactory {
  #current = randomBytes(32);
  #previous = randomBytes(32);
  #rotatedAt: number;
  readonly #rotateMs: number;
  readonly #now: () => number;

  constructor(options?: { rotateMs?: number; now?: () => number }) {
    this.#rotateMs = options?.rotateMs ?? 60_000;
    this.#now = options?.now ?? Date.now;
    this.#rotatedAt = this.#now();
  }

  #rotate(): void {
    const now = this.#now();
    const elapsed = now - this.#rotatedAt;
    if (elapsed < this.#rotateMs) return;
    // Past two periods the current secret is stale too: forget both.
    this.#previous = elapsed < 2 * this.#rotateMs ? this.#current : randomBytes(32);
    this.#current = randomBytes(32);
    this.#rotatedAt = now;
  }

  make(address: string, port: number, hello: ClientHello): Buffer {
    this.#rotate();
    return cookieMac(this.#current, address, port, hello);
  }

  /** True when the hello carries the cookie made for this address, port and hello. */
  verify(address: string, port: number, hello: ClientHello): boolean {
    if (hello.cookie.length !== COOKIE_LENGTH) return false;
    this.#rotate();
    const current = timingSafeEqual(cookieMac(this.#current, address, port, hello), hello.cookie);
    const previous = timingSafeEqual(cookieMac(this.#previous, address, port, hello), hello.cookie);
    return current || previous;
  }
}

function cookieMac(secret: Buffer, address: string, port: number, hello: ClientHello): Buffer {
  const fixed = Buffer.allocUnsafe(6);
  fixed.writeUInt16BE(port, 0);
  fixed.writeUInt16BE(hello.clientVersion, 2);
  fixed.writeUInt16BE(Buffer.byteLength(address), 4);
  // Every variable-length field is length-prefixed so no two inputs encode alike.
  return createHmac('sha256', secret)
    .update(fixed)
    .update(address)
    .update(hello.random)
    .update(Buffer.from([hello.sessionId.length]))
    .update(hello.sessionId)
    .update(Buffer.from([hello.cipherSuitesRaw.length >> 8, hello.cipherSuitesRaw.length & 0xff]))
    .update(hello.cipherSuitesRaw)
    .update(Buffer.from([hello.compressionMethods.length]))
    .update(hello.compressionMethods)
    .digest();
}
