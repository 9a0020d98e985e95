/**
 * The message format (RFC 7252 §3), read strictly.
 *
 * Why this exists next to node-coap: its codec (coap-packet) is lenient — it accepts token
 * lengths 9–14, option values that run past the end of the datagram, a payload marker with no
 * payload, and option values of any length — and node-coap then trips over them later (e.g. a
 * 4-byte Block2 value makes the agent emit an unhandled error). Every incoming datagram is read
 * here once: malformed ones are rejected per RFC 7252 §4.2/§4.3 before node-coap sees them, and
 * well-formed ones are handed to node-coap's server and agent as already-parsed packets (their
 * `_handle` methods), so nothing is parsed twice. The encoder writes what the endpoint sends
 * itself: RST, empty ACKs, 2.31 Continue, 4.xx for bad requests, notifications, the responses of
 * the fast path (request-fast-path.ts) and the requests it sends without node-coap's agent
 * (direct-exchange.ts); node-coap encodes the rest.
 */
import { isCritical, nodeCoapOptionName, optionSpec } from './options.js';

export const MessageType = { CON: 0, NON: 1, ACK: 2, RST: 3 } as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** An option as node-coap (coap-packet) represents it. */
export interface NodeCoapOption {
  name: string;
  value: Buffer;
}

/** A parsed message, shaped so node-coap's `_handle` methods accept it as their packet. */
export interface Packet {
  code: string;
  confirmable: boolean;
  reset: boolean;
  ack: boolean;
  messageId: number;
  token: Buffer;
  options: NodeCoapOption[];
  payload: Buffer;
}

export interface ParsedMessage {
  readonly type: MessageType;
  /** The code byte (class << 5 | detail). */
  readonly code: number;
  readonly messageId: number;
  readonly token: Buffer;
  /** Option numbers and raw values, in wire order (values are views into the datagram). */
  readonly numbers: number[];
  readonly values: Buffer[];
  readonly payload: Buffer;
}

export type MalformedReason =
  | 'truncated-header'
  | 'bad-version'
  | 'bad-token-length'
  | 'truncated-token'
  | 'bad-option-delta'
  | 'bad-option-length'
  | 'truncated-option'
  | 'empty-payload-after-marker'
  | 'empty-message-with-content'
  | 'empty-non'
  | 'request-in-ack-or-rst'
  | 'rst-with-content'
  | 'reserved-code-class'
  | 'bad-option-value'
  | 'unknown-critical-option'
  | 'bad-block-option';

export interface ParseFailure {
  readonly reason: MalformedReason;
  /** Set when the header could be read (so a CON can be rejected with RST). */
  readonly type?: MessageType;
  readonly messageId?: number;
}

export function isParseFailure(r: ParsedMessage | ParseFailure): r is ParseFailure {
  return (r as ParseFailure).reason !== undefined;
}

/** Reads one datagram; never throws. */
export function parseMessage(buf: Buffer): ParsedMessage | ParseFailure {
  if (buf.length < 4) return { reason: 'truncated-header' };
  const b0 = buf[0]!;
  if (b0 >> 6 !== 1) return { reason: 'bad-version' };
  const type = ((b0 >> 4) & 3) as MessageType;
  const tkl = b0 & 0x0f;
  const code = buf[1]!;
  const messageId = buf.readUInt16BE(2);
  const head = { type, messageId };
  // RFC 7252 §3: token lengths 9–15 are reserved and a message format error.
  if (tkl > 8) return { reason: 'bad-token-length', ...head };
  if (4 + tkl > buf.length) return { reason: 'truncated-token', ...head };
  if (code === 0) {
    // §4.1: an Empty message has TKL 0 and nothing after the message id.
    if (tkl !== 0 || buf.length !== 4) return { reason: 'empty-message-with-content', ...head };
    return {
      type,
      code,
      messageId,
      token: EMPTY,
      numbers: [],
      values: [],
      payload: EMPTY,
    };
  }
  const token = buf.subarray(4, 4 + tkl);
  const numbers: number[] = [];
  const values: Buffer[] = [];
  let i = 4 + tkl;
  let number = 0;
  let payload = EMPTY;
  while (i < buf.length) {
    const byte = buf[i]!;
    if (byte === 0xff) {
      // §3: a marker followed by a zero-length payload is a format error.
      if (i + 1 >= buf.length) return { reason: 'empty-payload-after-marker', ...head };
      payload = buf.subarray(i + 1);
      break;
    }
    i++;
    let delta = byte >> 4;
    let length = byte & 0x0f;
    if (delta === 15) return { reason: 'bad-option-delta', ...head };
    if (length === 15) return { reason: 'bad-option-length', ...head };
    if (delta === 13) {
      if (i + 1 > buf.length) return { reason: 'truncated-option', ...head };
      delta = buf[i]! + 13;
      i += 1;
    } else if (delta === 14) {
      if (i + 2 > buf.length) return { reason: 'truncated-option', ...head };
      delta = buf.readUInt16BE(i) + 269;
      i += 2;
    }
    if (length === 13) {
      if (i + 1 > buf.length) return { reason: 'truncated-option', ...head };
      length = buf[i]! + 13;
      i += 1;
    } else if (length === 14) {
      if (i + 2 > buf.length) return { reason: 'truncated-option', ...head };
      length = buf.readUInt16BE(i) + 269;
      i += 2;
    }
    if (i + length > buf.length) return { reason: 'truncated-option', ...head };
    number += delta;
    if (number > 0xffff) return { reason: 'bad-option-delta', ...head };
    numbers.push(number);
    values.push(buf.subarray(i, i + length));
    i += length;
  }
  return { type, code, messageId, token, numbers, values, payload };
}

export interface OptionProblem {
  readonly number: number;
  readonly critical: boolean;
}

/**
 * RFC 7252 §5.4.1/§5.4.3/§5.4.5: unknown options, values of a bad length and repeated
 * non-repeatable options are "unrecognised": critical ones reject the message, elective ones are
 * dropped. Returns the first critical problem, and removes elective ones from `msg` in place.
 */
export function checkOptions(msg: ParsedMessage): OptionProblem | undefined {
  let drop: number[] | undefined;
  let prev = -1;
  for (let k = 0; k < msg.numbers.length; k++) {
    const n = msg.numbers[k]!;
    const spec = optionSpec(n);
    const bad =
      spec === undefined ||
      msg.values[k]!.length < spec.minLength ||
      msg.values[k]!.length > spec.maxLength ||
      (!spec.repeatable && n === prev);
    prev = n;
    if (!bad) continue;
    if (isCritical(n)) return { number: n, critical: true };
    if (drop === undefined) drop = [];
    drop.push(k);
  }
  if (drop !== undefined) {
    for (let j = drop.length - 1; j >= 0; j--) {
      msg.numbers.splice(drop[j]!, 1);
      msg.values.splice(drop[j]!, 1);
    }
  }
  return undefined;
}

/** The first value of an option, or undefined. */
export function optionValue(msg: ParsedMessage, number: number): Buffer | undefined {
  const k = msg.numbers.indexOf(number);
  return k < 0 ? undefined : msg.values[k];
}

export function optionValues(msg: ParsedMessage, number: number): Buffer[] {
  const out: Buffer[] = [];
  for (let k = 0; k < msg.numbers.length; k++) {
    if (msg.numbers[k] === number) out.push(msg.values[k]!);
  }
  return out;
}

/** "c.dd" for a code byte. */
export function codeString(code: number): string {
  const detail = code & 0x1f;
  return `${code >> 5}.${detail < 10 ? '0' : ''}${detail}`;
}

export function codeByte(code: string): number {
  const dot = code.indexOf('.');
  return (Number(code.slice(0, dot)) << 5) | Number(code.slice(dot + 1));
}

/** The packet object node-coap's `_handle` methods take. Options are fresh objects (node-coap rewrites their values). */
export function toPacket(msg: ParsedMessage, skip?: ReadonlySet<number>): Packet {
  const options: NodeCoapOption[] = [];
  for (let k = 0; k < msg.numbers.length; k++) {
    const n = msg.numbers[k]!;
    if (skip?.has(n)) continue;
    options.push({ name: nodeCoapOptionName(n), value: msg.values[k]! });
  }
  return {
    code: codeString(msg.code),
    confirmable: msg.type === MessageType.CON,
    reset: msg.type === MessageType.RST,
    ack: msg.type === MessageType.ACK,
    messageId: msg.messageId,
    token: msg.token,
    options,
    payload: msg.payload,
  };
}

/** Reads type, code, message id and token of a datagram we are about to send. */
export interface Header {
  readonly type: MessageType;
  readonly code: number;
  readonly messageId: number;
  readonly token: Buffer;
}

export function peekHeader(buf: Buffer, offset = 0): Header | undefined {
  if (buf.length - offset < 4) return undefined;
  const b0 = buf[offset]!;
  const tkl = b0 & 0x0f;
  if (tkl > 8 || offset + 4 + tkl > buf.length) return undefined;
  return {
    type: ((b0 >> 4) & 3) as MessageType,
    code: buf[offset + 1]!,
    messageId: buf.readUInt16BE(offset + 2),
    token: buf.subarray(offset + 4, offset + 4 + tkl),
  };
}

export interface OutMessage {
  readonly type: MessageType;
  readonly code: number;
  readonly messageId: number;
  readonly token?: Uint8Array;
  /** Sorted or not; sorted here by number (stable, so repeated options keep their order). */
  readonly options?: readonly { readonly number: number; readonly value: Uint8Array }[];
  readonly payload?: Uint8Array;
}

/** Encodes a message (RFC 7252 §3). */
export function encodeMessage(m: OutMessage): Buffer {
  const token = m.token ?? EMPTY;
  if (token.length > 8) throw new RangeError('token longer than 8 bytes');
  const options = m.options === undefined ? NO_OPTIONS : inOrder(m.options);
  const payload = m.payload ?? EMPTY;
  let size = 4 + token.length + (payload.length > 0 ? 1 + payload.length : 0);
  let prev = 0;
  for (const o of options) {
    size += 1 + extLen(o.number - prev) + extLen(o.value.length) + o.value.length;
    prev = o.number;
  }
  const out = Buffer.allocUnsafe(size);
  out[0] = 0x40 | (m.type << 4) | token.length;
  out[1] = m.code;
  out.writeUInt16BE(m.messageId, 2);
  out.set(token, 4);
  let i = 4 + token.length;
  prev = 0;
  for (const o of options) {
    const delta = o.number - prev;
    prev = o.number;
    const len = o.value.length;
    const at = i++;
    const dn = nibble(delta);
    const ln = nibble(len);
    out[at] = (dn << 4) | ln;
    i = writeExt(out, i, dn, delta);
    i = writeExt(out, i, ln, len);
    out.set(o.value, i);
    i += len;
  }
  if (payload.length > 0) {
    out[i++] = 0xff;
    out.set(payload, i);
  }
  return out;
}

type OutOption = { readonly number: number; readonly value: Uint8Array };
const NO_OPTIONS: readonly OutOption[] = [];

/**
 * The options sorted by number, stable (repeated options keep their order): the array itself
 * when it is in order already (the usual case, and no copy then), else a sorted copy.
 */
function inOrder(options: readonly OutOption[]): readonly OutOption[] {
  let k = 1;
  while (k < options.length && options[k - 1]!.number <= options[k]!.number) k++;
  if (k >= options.length) return options;
  const out = options.slice();
  if (out.length > 32) return out.sort((a, b) => a.number - b.number); // stable too
  // Insertion sort: stable, and option lists are short.
  for (let i = k; i < out.length; i++) {
    const o = out[i]!;
    let j = i - 1;
    while (j >= 0 && out[j]!.number > o.number) {
      out[j + 1] = out[j]!;
      j--;
    }
    out[j + 1] = o;
  }
  return out;
}

function extLen(v: number): number {
  return v < 13 ? 0 : v < 269 ? 1 : 2;
}

function nibble(v: number): number {
  return v < 13 ? v : v < 269 ? 13 : 14;
}

function writeExt(out: Buffer, i: number, n: number, v: number): number {
  if (n === 13) {
    out[i] = v - 13;
    return i + 1;
  }
  if (n === 14) {
    out.writeUInt16BE(v - 269, i);
    return i + 2;
  }
  return i;
}

export const EMPTY: Buffer = Buffer.alloc(0);
