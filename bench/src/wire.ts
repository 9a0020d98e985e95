/**
 * Just enough of the CoAP message format (RFC 7252 §3) for the raw load generators: they send
 * pre-encoded Register, Update and notification datagrams and read the few fields of the answers
 * they need, without any CoAP stack of their own (the server is what is measured).
 */

export const CON = 0;
export const NON = 1;
export const ACK = 2;
export const RST = 3;

export const Opt = {
  OBSERVE: 6,
  LOCATION_PATH: 8,
  URI_PATH: 11,
  CONTENT_FORMAT: 12,
  URI_QUERY: 15,
  ACCEPT: 17,
} as const;

export interface WireOption {
  readonly number: number;
  readonly value: Buffer;
}

export interface WireMessage {
  readonly type: number;
  /** Code byte: class << 5 | detail (2.01 = 0x41). */
  readonly code: number;
  readonly messageId: number;
  readonly token: Buffer;
  readonly options: readonly WireOption[];
  readonly payload: Buffer;
}

/** `c.dd` → code byte. */
export function code(s: string): number {
  const [c, d] = s.split('.');
  return (Number(c) << 5) | Number(d);
}

export function uint(n: number): Buffer {
  if (n === 0) return Buffer.alloc(0);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from(bytes);
}

export function readUint(b: Buffer): number {
  let v = 0;
  for (const x of b) v = v * 256 + x;
  return v;
}

function nibble(v: number): [number, Buffer] {
  if (v < 13) return [v, Buffer.alloc(0)];
  if (v < 269) return [13, Buffer.from([v - 13])];
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v - 269);
  return [14, b];
}

/** Encodes a message; options are sorted by number here. */
export function encode(m: {
  type: number;
  code: number;
  messageId: number;
  token?: Buffer;
  options?: readonly WireOption[];
  payload?: Buffer;
}): Buffer {
  const token = m.token ?? Buffer.alloc(0);
  const parts: Buffer[] = [
    Buffer.from([
      0x40 | (m.type << 4) | token.length,
      m.code,
      m.messageId >> 8,
      m.messageId & 0xff,
    ]),
    token,
  ];
  const options = [...(m.options ?? [])].sort((a, b) => a.number - b.number);
  let last = 0;
  for (const o of options) {
    const [d, dx] = nibble(o.number - last);
    const [l, lx] = nibble(o.value.length);
    parts.push(Buffer.from([(d << 4) | l]), dx, lx, o.value);
    last = o.number;
  }
  if (m.payload !== undefined && m.payload.length > 0) parts.push(Buffer.from([0xff]), m.payload);
  return Buffer.concat(parts);
}

/** Parses a well-formed message (the server's answers); undefined for anything else. */
export function parse(buf: Buffer): WireMessage | undefined {
  if (buf.length < 4 || buf[0]! >> 6 !== 1) return undefined;
  const type = (buf[0]! >> 4) & 3;
  const tkl = buf[0]! & 15;
  const token = buf.subarray(4, 4 + tkl);
  const options: WireOption[] = [];
  let i = 4 + tkl;
  let number = 0;
  while (i < buf.length && buf[i] !== 0xff) {
    let d = buf[i]! >> 4;
    let l = buf[i]! & 15;
    i++;
    if (d === 13) d = 13 + buf[i++]!;
    else if (d === 14) {
      d = 269 + buf.readUInt16BE(i);
      i += 2;
    }
    if (l === 13) l = 13 + buf[i++]!;
    else if (l === 14) {
      l = 269 + buf.readUInt16BE(i);
      i += 2;
    }
    number += d;
    options.push({ number, value: buf.subarray(i, i + l) });
    i += l;
  }
  const payload = i < buf.length ? buf.subarray(i + 1) : Buffer.alloc(0);
  return { type, code: buf[1]!, messageId: buf.readUInt16BE(2), token, options, payload };
}

export function optionsOf(m: WireMessage, number: number): Buffer[] {
  return m.options.filter((o) => o.number === number).map((o) => o.value);
}

/** A Register request (Core TS 1.2 §6.2.1) as a client sends it. */
export function registerRequest(opts: {
  messageId: number;
  token: Buffer;
  endpoint: string;
  lifetime: number;
  version?: string;
  links?: string;
}): Buffer {
  const q = (s: string) => ({ number: Opt.URI_QUERY, value: Buffer.from(s) });
  return encode({
    type: CON,
    code: code('0.02'),
    messageId: opts.messageId,
    token: opts.token,
    options: [
      { number: Opt.URI_PATH, value: Buffer.from('rd') },
      { number: Opt.CONTENT_FORMAT, value: uint(40) },
      q(`ep=${opts.endpoint}`),
      q(`lt=${opts.lifetime}`),
      q(`lwm2m=${opts.version ?? '1.1'}`),
      q('b=U'),
    ],
    payload: Buffer.from(opts.links ?? '</1/0>,</3/0>,</3303/0>'),
  });
}

/** An Update (`POST /rd/<id>`), empty: it only refreshes the lifetime. */
export function updateRequest(opts: { messageId: number; token: Buffer; id: string }): Buffer {
  return encode({
    type: CON,
    code: code('0.02'),
    messageId: opts.messageId,
    token: opts.token,
    options: [
      { number: Opt.URI_PATH, value: Buffer.from('rd') },
      { number: Opt.URI_PATH, value: Buffer.from(opts.id) },
    ],
  });
}
