/**
 * Diagnostic payloads of error responses (RFC 7252 §5.5.2) go in one message.
 *
 * RFC 7959 §2.2 lets Block2 carry any response, errors included, and then every block carries
 * the response's code. We still never send a diagnostic block-wise: it is "a brief
 * human-readable diagnostic message" (§5.5.2), not a representation worth a multi-round-trip
 * transfer; a peer that fetches the rest with a new token makes the handler fail again for every
 * block; a block-wise response needs an ETag (RFC 7959 §2.4), which RFC 7252 §5.10.6.1 defines
 * for representations, not for error responses; and many constrained clients (and Californium)
 * do not reassemble error responses at all. So a diagnostic longer than a block is cut, at a
 * UTF-8 character boundary, with "…" marking the cut. Error responses that carry a
 * Content-Format are representations (e.g. problem details) and still go block-wise.
 */
import type { CoapResponse } from './message.js';
import { OptionNumber } from './options.js';

/** '…' in UTF-8: marks a diagnostic that was cut. */
const ELLIPSIS = Buffer.from('\u2026');

/** A 4.xx/5.xx response without Content-Format: its payload is a diagnostic (RFC 7252 §5.5.2). */
export function isDiagnostic(response: CoapResponse): boolean {
  const cls = response.code.charAt(0);
  if (cls !== '4' && cls !== '5') return false;
  if (response.contentFormat !== undefined) return false;
  return !(response.options ?? []).some((o) => o.number === OptionNumber.CONTENT_FORMAT);
}

/** At most `limit` bytes, cut before a UTF-8 continuation byte and ending in '…' when cut. */
export function truncateDiagnostic(payload: Uint8Array, limit: number): Buffer {
  const buf = Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (buf.length <= limit) return buf;
  let end = Math.max(0, limit - ELLIPSIS.length);
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return Buffer.concat([buf.subarray(0, end), ELLIPSIS]);
}
