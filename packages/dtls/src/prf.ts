import { createHmac } from 'node:crypto';

/**
 * P_SHA256 (RFC 5246 §5): HMAC-SHA256 expansion of `secret` over `seed` to `length` bytes.
 * A(0) = seed, A(i) = HMAC(secret, A(i-1)), output = HMAC(secret, A(1) + seed) + ...
 */
export function pSha256(secret: Uint8Array, seed: Uint8Array, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let a: Buffer = createHmac('sha256', secret).update(seed).digest();
  let filled = 0;
  while (filled < length) {
    const block = createHmac('sha256', secret).update(a).update(seed).digest();
    filled += block.copy(out, filled, 0, Math.min(block.length, length - filled));
    if (filled < length) a = createHmac('sha256', secret).update(a).digest();
  }
  return out;
}

/** The TLS 1.2 PRF with SHA-256 (RFC 5246 §5): P_SHA256(secret, label + seed). */
export function prf(secret: Uint8Array, label: string, seed: Uint8Array, length: number): Buffer {
  return pSha256(secret, Buffer.concat([Buffer.from(label, 'latin1'), seed]), length);
}
