import {
  type DataType,
  DecodeError,
  EncodeError,
  type LwM2mPath,
  type ResourceModel,
  type TypedValue,
  timeToSeconds,
  typedValue,
  type ValueByType,
} from '@lwm2m-ts/core';
import { decodeUtf8, encodeUtf8 } from './text.js';
import { checkValueForModel, typeWireValue, type WireValue } from './wire-value.js';

const FORMAT = 'CBOR';

// application/cbor (content format 60, Core TS 1.2 §7.4.3): one value of a single resource or
// resource instance as one CBOR data item (RFC 8949). The types map as Core TS 1.2 Appendix C,
// Table C.2 says. The few bytes are written and read by hand: a general CBOR library would
// accept (and have to be fenced off from) arrays, maps and tags that this format never carries.

/** A decoded CBOR data item, before the model types it. */
type Item =
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'bytes'; readonly value: Uint8Array }
  | { readonly kind: 'text'; readonly value: string }
  | { readonly kind: 'bool'; readonly value: boolean };

/** A data item with its tag (0 or 1, RFC 8949 §3.4.1/§3.4.2) and the offset where it starts. */
interface Tagged {
  readonly item: Item;
  readonly tag: 0 | 1 | undefined;
  readonly offset: number;
}

// ---------------------------------------------------------------------------------------------
// Per-type table: how each data type is written, and which wire value a CBOR item gives it.

type Fail = (why: string) => never;

interface TypeCodec<T extends DataType> {
  encode(value: ValueByType[T]): Uint8Array;
  /** The wire value `typeWireValue` then checks against the model; `fail` throws. */
  wire(item: Item, fail: Fail): WireValue;
}

const TYPES: { readonly [T in DataType]: TypeCodec<T> } = {
  integer: { encode: encodeInt, wire: numberWire },
  unsigned: { encode: encodeInt, wire: numberWire },
  float: { encode: encodeFloat, wire: numberWire },
  // Time: Table C.2 allows an integer or a date/time string (RFC 7049 §2.4.1, now RFC 8949
  // §3.4.1-2). Written as tag 1 + integer seconds: a self-describing epoch time. Read from a
  // plain or tag 1 integer, or a tag 0 RFC 3339 string (converted in `readTime`).
  time: { encode: (v) => Uint8Array.of(0xc1, ...encodeInt(timeToSeconds(v))), wire: numberWire },
  boolean: {
    encode: (v) => Uint8Array.of(v ? 0xf5 : 0xf4),
    wire: (item, fail) =>
      item.kind === 'bool' ? { kind: 'boolean', value: item.value } : fail(`a ${item.kind} item`),
  },
  string: { encode: encodeText, wire: textWire },
  corelnk: { encode: encodeText, wire: textWire },
  opaque: {
    encode: (v) => withPayload(2, v),
    wire: (item, fail) =>
      item.kind === 'bytes' ? { kind: 'bytes', value: item.value } : fail(`a ${item.kind} item`),
  },
  // Objlnk: the text string "objectId:instanceId", its text form (Table C.2, §7.3).
  objlnk: {
    encode: (v) => encodeText(`${v.objectId}:${v.instanceId}`),
    wire: (item, fail) => {
      if (item.kind !== 'text') return fail(`a ${item.kind} item`);
      const m = /^(\d{1,5}):(\d{1,5})$/.exec(item.value);
      const objectId = Number(m?.[1]);
      const instanceId = Number(m?.[2]);
      if (m === null || objectId > 65535 || instanceId > 65535) {
        return fail(`"${item.value}" is not an Objlnk "objectId:instanceId"`);
      }
      return { kind: 'objlnk', value: { objectId, instanceId } };
    },
  },
};

function numberWire(item: Item, fail: Fail): WireValue {
  if (item.kind === 'int' || item.kind === 'float') return { kind: 'number', value: item.value };
  return fail(`a ${item.kind} item`);
}

function textWire(item: Item, fail: Fail): WireValue {
  return item.kind === 'text' ? { kind: 'string', value: item.value } : fail(`a ${item.kind} item`);
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Encodes one value as a CBOR data item: Integer/Unsigned as major type 0/1 in the shortest
 * argument (the whole 64-bit ranges included), Float as the shortest of half/single/double that
 * holds it exactly (RFC 8949 §4.2.2 preferred serialization), Boolean as true/false, String and
 * Corelnk as text strings, Opaque as a byte string, Time as tag 1 + integer seconds, Objlnk as
 * the text string "obj:inst".
 */
export function encodeCbor(value: TypedValue): Uint8Array {
  checkValueForModel(value, undefined, { format: FORMAT, path: 'value' });
  if (value.type === 'float' && !Number.isFinite(value.value)) {
    throw new EncodeError(`float ${value.value} is not finite`, { format: FORMAT });
  }
  return (TYPES[value.type] as TypeCodec<DataType>).encode(value.value);
}

const TWO_32 = 2 ** 32;

/** The head of a data item (RFC 8949 §3): major type and argument in the shortest form. */
function head(major: number, arg: number | bigint): Uint8Array {
  const mt = major << 5;
  const n = typeof arg === 'bigint' && arg <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(arg) : arg;
  const out: number[] = [];
  if (typeof n === 'number' && n < 24) out.push(mt | n);
  else if (typeof n === 'number' && n < 0x100) out.push(mt | 24, n);
  else if (typeof n === 'number' && n < 0x10000) out.push(mt | 25, n >> 8, n & 0xff);
  else if (typeof n === 'number' && n < TWO_32) {
    out.push(mt | 26, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  } else {
    const big = BigInt(n);
    out.push(mt | 27);
    for (let shift = 56n; shift >= 0n; shift -= 8n) out.push(Number((big >> shift) & 0xffn));
  }
  return Uint8Array.from(out);
}

function withPayload(major: number, payload: Uint8Array): Uint8Array {
  const h = head(major, payload.length);
  const out = new Uint8Array(h.length + payload.length);
  out.set(h);
  out.set(payload, h.length);
  return out;
}

/** Major type 0 for n ≥ 0, major type 1 (argument -1 - n) below: the full 64-bit ranges. */
function encodeInt(v: bigint): Uint8Array {
  return v >= 0n ? head(0, v) : head(1, -1n - v);
}

function encodeText(s: string): Uint8Array {
  return withPayload(3, encodeUtf8(s));
}

const scratch = new DataView(new ArrayBuffer(8));

/** The shortest of half, single and double that holds `v` exactly (RFC 8949 §4.2.2). */
function encodeFloat(v: number): Uint8Array {
  const half = toHalf(v);
  if (half !== undefined) return Uint8Array.of(0xf9, half >> 8, half & 0xff);
  const single = Math.fround(v) === v;
  const out = new Uint8Array(single ? 5 : 9);
  const view = new DataView(out.buffer);
  out[0] = single ? 0xfa : 0xfb;
  if (single) view.setFloat32(1, v);
  else view.setFloat64(1, v);
  return out;
}

/** The IEEE 754 half-precision bits of `v` when `v` is exactly representable so, else undefined. */
function toHalf(v: number): number | undefined {
  if (Math.fround(v) !== v) return undefined;
  scratch.setFloat32(0, v);
  const bits = scratch.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0) return mant === 0 ? sign : undefined; // ±0; float32 subnormals are below half's
  const e = exp - 127;
  if (e >= -14 && e <= 15) {
    return (mant & 0x1fff) === 0 ? sign | ((e + 15) << 10) | (mant >>> 13) : undefined;
  }
  if (e >= -24 && e < -14) {
    // Half subnormal: value = frac × 2^-24, frac = (1.mant × 2^23) >> (-(e + 1)).
    const full = 0x800000 | mant;
    const shift = -(e + 1);
    return (full & ((1 << shift) - 1)) === 0 ? sign | (full >>> shift) : undefined;
  }
  return undefined;
}

function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes one CBOR data item as the value of `resource` (its model; `path` only names the value
 * in errors). Refused: trailing bytes, arrays and maps (a single value is expected), tags other
 * than 0/1 (and the self-described-CBOR prefix 55799), null/undefined/other simple values,
 * non-finite floats, and any item that does not fit the model's type (`typeWireValue`). Without a
 * model (or for an executable resource) the item's own kind decides: integers become Integer
 * (Unsigned beyond 2^63 - 1), floats Float, tagged times Time, text String, bytes Opaque.
 */
export function decodeCbor(
  bytes: Uint8Array,
  resource?: ResourceModel,
  path?: LwM2mPath,
): TypedValue {
  const where = path === undefined ? 'value' : path.toString();
  try {
    const reader: Reader = { bytes, pos: 0 };
    const tagged = readTagged(reader);
    if (reader.pos !== bytes.length) {
      fail(reader.pos, `${bytes.length - reader.pos} bytes after the value`);
    }
    return typeItem(tagged, resource, where);
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    // Safety net: nothing but DecodeError leaves a decoder.
    throw new DecodeError(`cannot decode: ${e instanceof Error ? e.message : String(e)}`, {
      format: FORMAT,
      cause: e,
    });
  }
}

function fail(offset: number, message: string): never {
  throw new DecodeError(message, { format: FORMAT, offset });
}

function typeItem(t: Tagged, resource: ResourceModel | undefined, where: string): TypedValue {
  const { item, tag, offset } = t;
  const type = resource === undefined || resource.type === 'none' ? undefined : resource.type;
  const failHere: Fail = (why) => fail(offset, `${where}: ${why}`);
  if (tag !== undefined) {
    if (type !== undefined && type !== 'time') {
      failHere(`a tag ${tag} time where the model says ${type}`);
    }
    return typeWireValue(readTime(t, failHere), type === undefined ? TIME_RESOURCE : resource, {
      format: FORMAT,
      offset,
      path: where,
    });
  }
  if (type === undefined) {
    // No model: the CBOR major type is the only type information there is.
    if (item.kind === 'float') {
      if (!Number.isFinite(item.value)) failHere(`float ${item.value} is not finite`);
      return typedValue('float', item.value);
    }
    return typeWireValue(anyWire(item), undefined, { format: FORMAT, offset, path: where });
  }
  const wire = TYPES[type].wire(item, (why) => failHere(`${why} where the model says ${type}`));
  return typeWireValue(wire, resource, { format: FORMAT, offset, path: where });
}

/** Types a tagged time when no model does: the tag says what the number is. */
const TIME_RESOURCE: ResourceModel = {
  id: 0,
  name: 'tagged time',
  operations: 'R',
  multiple: false,
  mandatory: false,
  type: 'time',
};

function anyWire(item: Item): WireValue {
  switch (item.kind) {
    case 'int':
    case 'float':
      return { kind: 'number', value: item.value };
    case 'text':
      return { kind: 'string', value: item.value };
    case 'bytes':
      return { kind: 'bytes', value: item.value };
    case 'bool':
      return { kind: 'boolean', value: item.value };
  }
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Tag 1: epoch seconds (integer or float); tag 0: an RFC 3339 date/time string. */
function readTime(t: Tagged, fail: Fail): WireValue {
  const { item, tag } = t;
  if (tag === 1) {
    if (item.kind !== 'int' && item.kind !== 'float') {
      return fail(`tag 1 holds a ${item.kind} item, not a number`);
    }
    return { kind: 'number', value: item.value };
  }
  if (item.kind !== 'text') return fail(`tag 0 holds a ${item.kind} item, not a text string`);
  const m = RFC3339.exec(item.value);
  if (m === null) return fail(`"${item.value}" is not an RFC 3339 date/time`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const [oh, om] = [Number(m[10] ?? 0), Number(m[11] ?? 0)];
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); // not Date.UTC: it maps years 0-99 to 1900-1999
  if (
    date.getUTCFullYear() !== y ||
    date.getUTCMonth() !== mo - 1 ||
    date.getUTCDate() !== d ||
    h > 23 ||
    mi > 59 ||
    s > 60 || // 60: a leap second (RFC 3339 §5.7)
    oh > 23 ||
    om > 59
  ) {
    return fail(`"${item.value}" is not a valid date/time`);
  }
  date.setUTCHours(h, mi, s);
  const offsetMinutes = m[8] !== undefined ? 0 : (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  const ms = date.getTime();
  const fraction = m[7] === undefined ? 0 : Number(m[7]);
  return { kind: 'number', value: (ms - offsetMinutes * 60_000) / 1000 + fraction };
}

interface Reader {
  readonly bytes: Uint8Array;
  pos: number;
}

const INDEFINITE = -1;

/** An optional 55799 prefix (RFC 8949 §3.4.6), an optional tag 0 or 1, then one data item. */
function readTagged(r: Reader): Tagged {
  if (r.bytes.length === 0) fail(0, 'empty payload: expected one CBOR data item');
  let tag: 0 | 1 | undefined;
  let start: number | undefined; // where the value begins: its tag, if any, else the item
  for (;;) {
    const offset = r.pos;
    const ib = byteAt(r, 'a data item');
    if (ib >> 5 !== 6) {
      r.pos = offset;
      return { item: readItem(r), tag, offset: start ?? offset };
    }
    r.pos++;
    const t = readArgument(r, ib, offset);
    if (t === INDEFINITE) fail(offset, 'a tag cannot have additional information 31');
    if (t === 55799 && offset === 0) continue;
    if (tag !== undefined) fail(offset, 'a tag inside a tag');
    if (t !== 0 && t !== 1) fail(offset, `tag ${t} is not a value LwM2M carries`);
    tag = t;
    start = offset;
  }
}

function byteAt(r: Reader, what: string): number {
  const b = r.bytes[r.pos];
  if (b === undefined) fail(r.pos, `truncated: ${what} expected`);
  return b;
}

/**
 * The argument of the head whose initial byte `ib` was just read (RFC 8949 §3): a number when it
 * is a safe integer, a bigint beyond, INDEFINITE for additional information 31.
 */
function readArgument(r: Reader, ib: number, offset: number): number | bigint {
  const ai = ib & 0x1f;
  if (ai < 24) return ai;
  if (ai === 31) return INDEFINITE;
  if (ai > 27) fail(offset, `reserved additional information ${ai}`);
  const n = 1 << (ai - 24);
  if (r.pos + n > r.bytes.length) fail(offset, `truncated: the head needs ${n} more bytes`);
  const b = r.bytes;
  const p = r.pos;
  r.pos += n;
  if (n === 1) return b[p]!;
  if (n === 2) return (b[p]! << 8) | b[p + 1]!;
  const hi = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  if (n === 4) return hi;
  const lo = ((b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!) >>> 0;
  return hi < 0x200000 ? hi * TWO_32 + lo : (BigInt(hi) << 32n) | BigInt(lo);
}

function readItem(r: Reader): Item {
  const offset = r.pos;
  const ib = r.bytes[r.pos++]!;
  const major = ib >> 5;
  if (major === 7) return readSimple(r, ib, offset);
  const arg = readArgument(r, ib, offset);
  switch (major) {
    case 0:
    case 1: {
      if (arg === INDEFINITE) fail(offset, 'an integer cannot have an indefinite length');
      const n = BigInt(arg);
      return { kind: 'int', value: major === 0 ? n : -1n - n };
    }
    case 2:
    case 3: {
      if (arg === INDEFINITE) {
        const bytes = readChunks(r, major);
        if (major === 2) return { kind: 'bytes', value: bytes };
        return { kind: 'text', value: decodeUtf8(bytes, FORMAT, 0, bytes.length, 'text string') };
      }
      const start = readString(r, arg, offset);
      if (major === 2)
        return { kind: 'bytes', value: new Uint8Array(r.bytes.subarray(start, r.pos)) };
      // Decoded in place, so an error names the offset of the bad byte in the payload.
      return { kind: 'text', value: decodeUtf8(r.bytes, FORMAT, start, r.pos, 'text string') };
    }
    case 4:
    case 5:
      return fail(
        offset,
        `${major === 4 ? 'an array' : 'a map'}: this format carries one single value, not a container`,
      );
    default:
      return fail(offset, 'a tag where a value was expected');
  }
}

/**
 * Skips a definite-length string's bytes and returns where they start; the length is checked
 * against the input first, so a huge claimed length allocates nothing.
 */
function readString(r: Reader, len: number | bigint, offset: number): number {
  const left = r.bytes.length - r.pos;
  if (typeof len === 'bigint' || len > left) {
    fail(offset, `string length ${len} runs past the end (${left} bytes left)`);
  }
  const start = r.pos;
  r.pos += len;
  return start;
}

/**
 * An indefinite-length string (RFC 8949 §3.2.3): definite-length chunks of the same major type
 * up to the break byte. Text chunks must each be valid UTF-8.
 */
function readChunks(r: Reader, major: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const at = r.pos;
    const ib = byteAt(r, 'a chunk or the break byte');
    r.pos++;
    if (ib === 0xff) break;
    if (ib >> 5 !== major)
      fail(at, `a chunk of major type ${ib >> 5} inside a string of major type ${major}`);
    const len = readArgument(r, ib, at);
    if (len === INDEFINITE)
      fail(at, 'an indefinite-length chunk inside an indefinite-length string');
    const start = readString(r, len, at);
    // Each text chunk is UTF-8 on its own (RFC 8949 §3.2.3).
    if (major === 3) decodeUtf8(r.bytes, FORMAT, start, r.pos, 'text chunk');
    chunks.push(r.bytes.subarray(start, r.pos));
    total += r.pos - start;
  }
  const out = new Uint8Array(total);
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

/** Major type 7: false, true, half/single/double floats; other simple values are refused. */
function readSimple(r: Reader, ib: number, offset: number): Item {
  const ai = ib & 0x1f;
  if (ai === 20 || ai === 21) return { kind: 'bool', value: ai === 21 };
  if (ai >= 25 && ai <= 27) {
    const n = 1 << (ai - 24);
    if (r.pos + n > r.bytes.length)
      fail(offset, `truncated: a ${n * 8}-bit float needs ${n} bytes`);
    const view = new DataView(r.bytes.buffer, r.bytes.byteOffset + r.pos, n);
    r.pos += n;
    const value =
      n === 2 ? fromHalf(view.getUint16(0)) : n === 4 ? view.getFloat32(0) : view.getFloat64(0);
    return { kind: 'float', value };
  }
  if (ai === 22) fail(offset, 'null is not a value');
  if (ai === 23) fail(offset, 'undefined is not a value');
  if (ai === 31) fail(offset, 'a break byte outside an indefinite-length string');
  if (ai === 24) {
    const v = r.bytes[r.pos];
    if (v === undefined) fail(offset, 'truncated: simple value expected');
    fail(offset, `simple value ${v} is not a value LwM2M carries`);
  }
  if (ai > 27) fail(offset, `reserved additional information ${ai}`);
  return fail(offset, `simple value ${ai} is not a value LwM2M carries`);
}
