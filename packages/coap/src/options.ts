/**
 * Option numbers and their properties (RFC 7252 §5.10 Table 4, RFC 7641, RFC 7959 §2.1, RFC 9175),
 * block-option values (RFC 7959 §2.2) and the uint encoding of option values (RFC 7252 §3.2).
 */

export const OptionNumber = {
  IF_MATCH: 1,
  URI_HOST: 3,
  ETAG: 4,
  IF_NONE_MATCH: 5,
  OBSERVE: 6,
  URI_PORT: 7,
  LOCATION_PATH: 8,
  OSCORE: 9,
  URI_PATH: 11,
  CONTENT_FORMAT: 12,
  MAX_AGE: 14,
  URI_QUERY: 15,
  HOP_LIMIT: 16,
  ACCEPT: 17,
  Q_BLOCK1: 19,
  LOCATION_QUERY: 20,
  BLOCK2: 23,
  BLOCK1: 27,
  SIZE2: 28,
  Q_BLOCK2: 31,
  PROXY_URI: 35,
  PROXY_SCHEME: 39,
  SIZE1: 60,
  ECHO: 252,
  NO_RESPONSE: 258,
  REQUEST_TAG: 292,
} as const;

interface OptionSpec {
  /** node-coap's (coap-packet's) name for the option, used when handing packets to node-coap. */
  readonly name: string;
  readonly repeatable: boolean;
  readonly minLength: number;
  readonly maxLength: number;
}

/**
 * The options this endpoint recognises (RFC 7252 §5.4.1: an unrecognised critical option in a
 * CON request is answered 4.02). OSCORE and Q-Block are not implemented, so they are left out on
 * purpose and a request carrying them gets 4.02.
 */
const SPECS: ReadonlyMap<number, OptionSpec> = new Map<number, OptionSpec>([
  [1, { name: 'If-Match', repeatable: true, minLength: 0, maxLength: 8 }],
  [3, { name: 'Uri-Host', repeatable: false, minLength: 1, maxLength: 255 }],
  [4, { name: 'ETag', repeatable: true, minLength: 1, maxLength: 8 }],
  [5, { name: 'If-None-Match', repeatable: false, minLength: 0, maxLength: 0 }],
  [6, { name: 'Observe', repeatable: false, minLength: 0, maxLength: 3 }],
  [7, { name: 'Uri-Port', repeatable: false, minLength: 0, maxLength: 2 }],
  [8, { name: 'Location-Path', repeatable: true, minLength: 0, maxLength: 255 }],
  [11, { name: 'Uri-Path', repeatable: true, minLength: 0, maxLength: 255 }],
  [12, { name: 'Content-Format', repeatable: false, minLength: 0, maxLength: 2 }],
  [14, { name: 'Max-Age', repeatable: false, minLength: 0, maxLength: 4 }],
  [15, { name: 'Uri-Query', repeatable: true, minLength: 0, maxLength: 255 }],
  [16, { name: 'Hop-Limit', repeatable: false, minLength: 1, maxLength: 1 }],
  [17, { name: 'Accept', repeatable: false, minLength: 0, maxLength: 2 }],
  [20, { name: 'Location-Query', repeatable: true, minLength: 0, maxLength: 255 }],
  [23, { name: 'Block2', repeatable: false, minLength: 0, maxLength: 3 }],
  [27, { name: 'Block1', repeatable: false, minLength: 0, maxLength: 3 }],
  [28, { name: 'Size2', repeatable: false, minLength: 0, maxLength: 4 }],
  [35, { name: 'Proxy-Uri', repeatable: false, minLength: 1, maxLength: 1034 }],
  [39, { name: 'Proxy-Scheme', repeatable: false, minLength: 1, maxLength: 255 }],
  [60, { name: 'Size1', repeatable: false, minLength: 0, maxLength: 4 }],
  [252, { name: '252', repeatable: false, minLength: 0, maxLength: 40 }],
  [258, { name: 'No-Response', repeatable: false, minLength: 0, maxLength: 1 }],
  [292, { name: '292', repeatable: true, minLength: 0, maxLength: 8 }],
]);

/** RFC 7252 §5.4.1: odd option numbers are critical. */
export function isCritical(number: number): boolean {
  return (number & 1) === 1;
}

export function optionSpec(number: number): OptionSpec | undefined {
  return SPECS.get(number);
}

/** The name node-coap uses for an option number (its numeric string when it has none). */
export function nodeCoapOptionName(number: number): string {
  return SPECS.get(number)?.name ?? String(number);
}

/** RFC 7252 §3.2 uint: big-endian, shortest form (0 is the empty string). */
export function encodeUint(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`option value ${value} is not a 32-bit unsigned integer`);
  }
  if (value === 0) return Buffer.alloc(0);
  if (value < 0x100) return Buffer.of(value);
  if (value < 0x10000) return Buffer.of(value >>> 8, value & 0xff);
  if (value < 0x1000000) return Buffer.of(value >>> 16, (value >>> 8) & 0xff, value & 0xff);
  return Buffer.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

const SHARED_UINTS = new Map<number, Buffer>();

/**
 * encodeUint for values that recur (content formats): one Buffer per value, shared. Only for
 * option values that are copied into a message and never handed out or modified.
 */
export function sharedUint(value: number): Buffer {
  let b = SHARED_UINTS.get(value);
  if (b === undefined) {
    b = encodeUint(value);
    if (SHARED_UINTS.size < 256) SHARED_UINTS.set(value, b);
  }
  return b;
}

export function decodeUint(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) n = n * 256 + b;
  return n;
}

/** A Block1/Block2 value (RFC 7959 §2.2): block number, more flag, size exponent (size = 2^(szx+4)). */
export interface BlockValue {
  readonly num: number;
  readonly more: boolean;
  readonly szx: number;
}

/** Undefined when the value is malformed (longer than 3 bytes, or SZX 7, which is reserved). */
export function decodeBlock(bytes: Uint8Array): BlockValue | undefined {
  if (bytes.length > 3) return undefined;
  const v = decodeUint(bytes);
  const szx = v & 7;
  if (szx === 7) return undefined;
  return { num: v >>> 4, more: (v & 8) !== 0, szx };
}

export function encodeBlock(block: BlockValue): Buffer {
  if (block.num > 0xfffff) throw new RangeError(`block number ${block.num} exceeds 2^20 - 1`);
  return encodeUint(block.num * 16 + (block.more ? 8 : 0) + block.szx);
}

export function blockSizeOf(szx: number): number {
  return 1 << (szx + 4);
}

export function szxOf(size: number): number {
  return Math.log2(size) - 4;
}

export const BLOCK_SIZES = [16, 32, 64, 128, 256, 512, 1024] as const;
export type BlockSize = (typeof BLOCK_SIZES)[number];
