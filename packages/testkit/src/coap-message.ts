/**
 * A minimal, dependency-free CoAP (RFC 7252) message encoder and strict decoder, for building
 * datagrams by hand in tests (pings, fuzz bases) and checking what a peer answered. It is not the
 * project's CoAP stack: it checks the wire format only, not option semantics.
 */

export type CoapType = 'CON' | 'NON' | 'ACK' | 'RST';
const TYPES: readonly CoapType[] = ['CON', 'NON', 'ACK', 'RST'];

/** Some option numbers (RFC 7252, 7641, 7959, 8613, 9175). */
export const CoapOptionNumber = {
  IfMatch: 1,
  UriHost: 3,
  ETag: 4,
  IfNoneMatch: 5,
  Observe: 6,
  UriPort: 7,
  LocationPath: 8,
  Oscore: 9,
  UriPath: 11,
  ContentFormat: 12,
  MaxAge: 14,
  UriQuery: 15,
  Accept: 17,
  LocationQuery: 20,
  Block2: 23,
  Block1: 27,
  Size2: 28,
  ProxyUri: 35,
  ProxyScheme: 39,
  Size1: 60,
  RequestTag: 292,
} as const;

export interface CoapOption {
  number: number;
  /** Bytes as given; a string is UTF-8; a number is an unsigned integer in the fewest bytes. */
  value: Uint8Array | string | number;
}

export interface CoapMessageSpec {
  /** Default `'CON'`. */
  type?: CoapType;
  /** `'0.01'` / `'2.05'` or the raw byte; default `'0.01'` (GET). */
  code?: string | number;
  /** Default 0. */
  messageId?: number;
  token?: Uint8Array;
  options?: readonly CoapOption[];
  payload?: Uint8Array | string;
}

export interface CoapMessage {
  version: number;
  type: CoapType;
  /** `c.dd`, e.g. `'2.05'`. */
  code: string;
  messageId: number;
  token: Uint8Array;
  options: Array<{ number: number; value: Uint8Array }>;
  payload: Uint8Array;
}

/** Thrown by {@link decodeCoapMessage} for a message format error. */
export class CoapFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CoapFormatError';
  }
}

/** `'2.05'` → 0x45; numbers pass through. */
export function coapCode(code: string | number): number {
  if (typeof code === 'number') {
    if (!Number.isInteger(code) || code < 0 || code > 255) throw new RangeError(`bad code ${code}`);
    return code;
  }
  const m = /^([0-7])\.(\d\d)$/.exec(code);
  if (!m || Number(m[2]) > 31) throw new RangeError(`bad code ${code}`);
  return (Number(m[1]) << 5) | Number(m[2]);
}

/** 0x45 → `'2.05'`. */
export function formatCoapCode(code: number): string {
  return `${code >> 5}.${String(code & 0x1f).padStart(2, '0')}`;
}

function uintBytes(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`option value ${value} is not a uint32`);
  }
  const bytes: number[] = [];
  for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Uint8Array.from(bytes);
}

function optionValue(value: CoapOption['value']): Uint8Array {
  if (typeof value === 'number') return uintBytes(value);
  if (typeof value === 'string') return new TextEncoder().encode(value);
  return value;
}

function nibble(n: number): { nib: number; ext: number[] } {
  if (n < 13) return { nib: n, ext: [] };
  if (n < 269) return { nib: 13, ext: [n - 13] };
  if (n <= 65535 + 269) return { nib: 14, ext: [(n - 269) >> 8, (n - 269) & 0xff] };
  throw new RangeError(`option delta/length ${n} is too large`);
}

/** Encodes one option header + value (delta from the previous option number). */
export function encodeOption(delta: number, value: Uint8Array): Uint8Array {
  const d = nibble(delta);
  const l = nibble(value.length);
  return Uint8Array.from([(d.nib << 4) | l.nib, ...d.ext, ...l.ext, ...value]);
}

/** Encodes a well-formed CoAP message (options are sorted by number, stable). */
export function encodeCoapMessage(spec: CoapMessageSpec = {}): Uint8Array {
  const type = TYPES.indexOf(spec.type ?? 'CON');
  if (type < 0) throw new RangeError(`bad type ${spec.type}`);
  const token = spec.token ?? new Uint8Array(0);
  if (token.length > 8) throw new RangeError('token longer than 8 bytes');
  const messageId = spec.messageId ?? 0;
  if (!Number.isInteger(messageId) || messageId < 0 || messageId > 0xffff) {
    throw new RangeError(`bad message id ${messageId}`);
  }
  const parts: Uint8Array[] = [
    Uint8Array.from([
      0x40 | (type << 4) | token.length,
      coapCode(spec.code ?? '0.01'),
      messageId >> 8,
      messageId & 0xff,
    ]),
    token,
  ];
  const options = [...(spec.options ?? [])]
    .map((o, i) => ({ ...o, i }))
    .sort((a, b) => a.number - b.number || a.i - b.i);
  let previous = 0;
  for (const o of options) {
    if (!Number.isInteger(o.number) || o.number < 0 || o.number > 65535) {
      throw new RangeError(`bad option number ${o.number}`);
    }
    parts.push(encodeOption(o.number - previous, optionValue(o.value)));
    previous = o.number;
  }
  const payload =
    typeof spec.payload === 'string' ? new TextEncoder().encode(spec.payload) : spec.payload;
  if (payload !== undefined && payload.length > 0) parts.push(Uint8Array.of(0xff), payload);
  return concatBytes(parts);
}

/** Uri-Path options for `/a/b` (empty segments dropped). */
export function uriPathOptions(path: string): CoapOption[] {
  return path
    .split('/')
    .filter((s) => s.length > 0)
    .map((s) => ({ number: CoapOptionNumber.UriPath, value: s }));
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Decodes a datagram strictly by RFC 7252 §3 and §4.1; throws {@link CoapFormatError} on any
 * message format error (the cases an endpoint must reject or silently ignore).
 */
export function decodeCoapMessage(bytes: Uint8Array): CoapMessage {
  if (bytes.length < 4) throw new CoapFormatError(`datagram of ${bytes.length} bytes: no header`);
  const version = bytes[0]! >> 6;
  if (version !== 1) throw new CoapFormatError(`version ${version}`);
  const type = TYPES[(bytes[0]! >> 4) & 3]!;
  const tkl = bytes[0]! & 0x0f;
  if (tkl > 8) throw new CoapFormatError(`token length ${tkl}`);
  const code = bytes[1]!;
  const messageId = (bytes[2]! << 8) | bytes[3]!;
  if (code === 0 && (bytes.length !== 4 || tkl !== 0)) {
    throw new CoapFormatError('empty message (0.00) with bytes after the message id');
  }
  if (bytes.length < 4 + tkl) throw new CoapFormatError('token truncated');
  const token = bytes.slice(4, 4 + tkl);
  const options: CoapMessage['options'] = [];
  let at = 4 + tkl;
  let number = 0;
  let payload = new Uint8Array(0);
  const ext = (nib: number, what: string): number => {
    if (nib < 13) return nib;
    if (nib === 13) {
      if (at + 1 > bytes.length) throw new CoapFormatError(`${what} extension truncated`);
      return bytes[at++]! + 13;
    }
    if (nib === 14) {
      if (at + 2 > bytes.length) throw new CoapFormatError(`${what} extension truncated`);
      const v = ((bytes[at]! << 8) | bytes[at + 1]!) + 269;
      at += 2;
      return v;
    }
    throw new CoapFormatError(`${what} nibble 15 is reserved`);
  };
  while (at < bytes.length) {
    const head = bytes[at++]!;
    if (head === 0xff) {
      if (at === bytes.length) throw new CoapFormatError('payload marker with no payload');
      payload = bytes.slice(at);
      break;
    }
    number += ext(head >> 4, 'option delta');
    const length = ext(head & 0x0f, 'option length');
    if (number > 65535) throw new CoapFormatError(`option number ${number} > 65535`);
    if (at + length > bytes.length) throw new CoapFormatError(`option ${number} value truncated`);
    options.push({ number, value: bytes.slice(at, at + length) });
    at += length;
  }
  return { version, type, code: formatCoapCode(code), messageId, token, options, payload };
}
