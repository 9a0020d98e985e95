import {
  DecodeError,
  EncodeError,
  type LwM2mPath,
  type TypedValue,
  timeToSeconds,
} from '@lwm2m-ts/core';
import type { CodecOptions, TimedValue } from './content.js';
import {
  emptyRecord,
  formatObjectLink,
  type MutableSenmlRecord,
  planSenml,
  resolveSenmlPaths,
  type SenmlRecord,
  SenmlResolver,
  SenmlTimes,
  senmlPathRecords,
} from './senml.js';

/**
 * SenML CBOR, content format 112 `application/senml+cbor` (RFC 8428 §6; LwM2M: Core TS 1.2
 * §7.4.7): the SenML JSON records as CBOR maps with integer labels (bver −1, bn −2, bt −3,
 * bu −4, bv −5, bs −6, n 0, u 1, v 2, vs 3, vb 4, s 5, t 6, ut 7, vd 8) and the LwM2M Objlnk value
 * under the text key `"vlo"`; Opaque values are byte strings.
 *
 * The CBOR is read and written here rather than with cbor-x, which was measured and found to
 * fit SenML badly: it writes a `Map` (the only way to get integer keys) inside its own tag 259
 * unless told not to, reads `1.0` and `1` as the same number (without a model the major type
 * must decide Float vs Integer), keeps the last of two equal keys silently, reports no byte
 * offsets, acts on its own extension tags (shared references, record structures, packed
 * values, RegExp) unless a scan refuses them first, and has no shortest-lossless float width;
 * its `Map`s plus that scan also took several times the time budget (2× cbor-x packing the
 * same data as a plain array). SenML needs major types 0–5 and 7 and tags 0–4, little code.
 *
 * Writing is deterministic: definite lengths, integers in their shortest form (RFC 8949 §4.2.1),
 * floats as the shortest of half, single or double precision that keeps the exact value
 * (RFC 8949 §4.2.2; an integral Float stays a float, `3.0` → `f9 4200`), record keys in the
 * order of the spec's examples: bn, bt, n, value, t.
 *
 * Reading accepts any valid encoding of those items (non-shortest lengths, indefinite-length
 * arrays and maps, half floats, bignums, decimal fractions, Time as a tag 0/1 date), and ignores
 * labels SenML does not define whatever they hold. It refuses indefinite-length strings,
 * invalid UTF-8, a label given twice in a record, and nesting deeper than 4 levels in an
 * ignored field. Every error carries the byte offset.
 */
export const SENML_CBOR_FORMAT = 'SenML CBOR';
const FORMAT = SENML_CBOR_FORMAT;

/**
 * Encodes timed values as one pack (names and times laid out by `planSenml`). The result is a
 * view into a shared slab when small (see `copyOut`).
 */
export function encodeSenmlCbor(values: readonly TimedValue[], options?: CodecOptions): Uint8Array {
  const { prefix, onePath, allTimed } = planSenml(values, FORMAT, options);
  const times = new SenmlTimes(allTimed);
  at = 0;
  head(4, values.length);
  for (let i = 0; i < values.length; i++) {
    const tv = values[i]!;
    const ids = tv.path.ids;
    times.next(tv.time);
    const bn = i === 0 && (onePath || prefix > 0);
    const bt = times.bt;
    const t = times.t;
    head(5, 1 + +bn + +(bt !== undefined) + +!onePath + +(t !== undefined));
    // Written straight from the path's ids: no name strings are built.
    if (bn) {
      out[at++] = KEY_BN;
      writePath(ids, 0, onePath ? ids.length : prefix, !onePath);
    }
    if (bt !== undefined) {
      room(1);
      out[at++] = KEY_BT;
      writeNumber(bt);
    }
    if (!onePath) {
      room(1);
      out[at++] = KEY_N;
      writePath(ids, prefix, ids.length, false);
    }
    writeValue(tv.value);
    if (t !== undefined) {
      room(1);
      out[at++] = KEY_T;
      writeNumber(t);
    }
  }
  return copyOut(out, 0, at);
}

export function decodeSenmlCbor(bytes: Uint8Array, options?: CodecOptions): TimedValue[] {
  // Each record is resolved as soon as it is read, into one reused record object.
  const resolver = new SenmlResolver(FORMAT, options);
  const r = emptyRecord();
  const count = openPack(bytes);
  for (let i = 0; count < 0 ? !atBreak() : i < count; i++) {
    const offset = pos;
    readRecord(i, r);
    const next = pos;
    resolver.add(r, i, offset);
    // The model provider is caller code: should it decode too, the cursor is restored.
    src = bytes;
    end = bytes.length;
    pos = next;
  }
  closePack();
  return resolver.values;
}

/** The paths of a Read-Composite / Observe-Composite request: `[{0: "/3/0/1"}, {0: "/1/0"}]`. */
export function encodeSenmlCborPaths(paths: readonly LwM2mPath[]): Uint8Array {
  return writeRecords(senmlPathRecords(paths));
}

export function decodeSenmlCborPaths(bytes: Uint8Array): LwM2mPath[] {
  const records: SenmlRecord[] = [];
  const offsets: number[] = [];
  const count = openPack(bytes);
  for (let i = 0; count < 0 ? !atBreak() : i < count; i++) {
    offsets.push(pos);
    records.push(readRecord(i, emptyRecord()));
  }
  closePack();
  return resolveSenmlPaths(records, { format: FORMAT, offsets });
}

// RFC 8428 §6, Table 6: labels as their one-byte CBOR encodings.
const KEY_BN = 0x21; // -2
const KEY_BT = 0x22; // -3
const KEY_N = 0x00;
const KEY_V = 0x02;
const KEY_VS = 0x03;
const KEY_VB = 0x04;
const KEY_T = 0x06;
const KEY_VD = 0x08;

// ---------------------------------------------------------------------------------------------
// Writing: one growable buffer, reused (encoding is synchronous), copied out at the end.
// ---------------------------------------------------------------------------------------------

let out = new Uint8Array(512);
let outView = new DataView(out.buffer);
let at = 0;
const textEncoder = new TextEncoder();
const f32 = new DataView(new ArrayBuffer(4));

function room(n: number): void {
  if (at + n <= out.length) return;
  let size = out.length * 2;
  while (size < at + n) size *= 2;
  const bigger = new Uint8Array(size);
  bigger.set(out.subarray(0, at));
  out = bigger;
  outView = new DataView(bigger.buffer);
}

/** An item head with a non-negative argument up to 2^53, in its shortest form. */
function head(major: number, n: number): void {
  room(9);
  const m = major << 5;
  if (n < 24) out[at++] = m | n;
  else if (n < 0x100) {
    out[at++] = m | 24;
    out[at++] = n;
  } else if (n < 0x10000) {
    out[at++] = m | 25;
    out[at++] = n >> 8;
    out[at++] = n & 0xff;
  } else if (n < 0x100000000) {
    out[at++] = m | 26;
    outView.setUint32(at, n);
    at += 4;
  } else {
    out[at++] = m | 27;
    outView.setUint32(at, Math.floor(n / 0x100000000));
    outView.setUint32(at + 4, n >>> 0);
    at += 8;
  }
}

const SAFE = 2n ** 53n;

function writeBigint(n: bigint): void {
  // Values are checked 64-bit integers (Integer or Unsigned Integer, or Time seconds).
  const major = n < 0n ? 1 : 0;
  const arg = n < 0n ? -1n - n : n;
  if (arg < SAFE) head(major, Number(arg));
  else {
    room(9);
    out[at++] = (major << 5) | 27;
    outView.setBigUint64(at, arg);
    at += 8;
  }
}

/** A number that is an integer as an integer (safe range), anything else as a float. */
function writeNumber(n: number): void {
  if (Number.isSafeInteger(n) && !Object.is(n, -0)) head(n < 0 ? 1 : 0, n < 0 ? -1 - n : n);
  else writeFloat(n);
}

/** The shortest IEEE 754 width that holds `n` exactly (RFC 8949 §4.2.2). */
function writeFloat(n: number): void {
  room(9);
  if (Math.fround(n) === n || Number.isNaN(n)) {
    const half = halfBits(n);
    if (half >= 0) {
      out[at++] = 0xf9;
      out[at++] = half >> 8;
      out[at++] = half & 0xff;
    } else {
      out[at++] = 0xfa;
      outView.setFloat32(at, n);
      at += 4;
    }
  } else {
    out[at++] = 0xfb;
    outView.setFloat64(at, n);
    at += 8;
  }
}

/** The binary16 bits of a float32-exact `n`, or -1 when a half cannot hold it exactly. */
function halfBits(n: number): number {
  f32.setFloat32(0, n);
  const bits = f32.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0) return mant === 0 ? sign : -1; // ±0; float32 subnormals are below any half
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : -1; // ±Infinity
  const e = exp - 127;
  if (e > 15) return -1;
  if (e >= -14) {
    // A normal half keeps 10 of the 23 mantissa bits.
    if ((mant & 0x1fff) !== 0) return -1;
    return sign | ((e + 15) << 10) | (mant >> 13);
  }
  // A subnormal half is m × 2^-24 with m < 1024.
  if (e < -24) return -1;
  const significand = mant | 0x800000;
  const shift = -e - 1;
  if ((significand & ((1 << shift) - 1)) !== 0) return -1;
  return sign | (significand >> shift);
}

function writeText(s: string): void {
  const start = at;
  const len = s.length;
  head(3, len);
  room(len);
  const o = out;
  let a = at;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      // Not ASCII: UTF-8 is longer than the string; write it again, encoded.
      at = start;
      checkUnicode(s, i);
      const bytes = textEncoder.encode(s);
      head(3, bytes.length);
      writeBytes(bytes);
      return;
    }
    o[a++] = c;
  }
  at = a;
}

/**
 * The text `/3/0/` of ids [from, to): with a leading slash when `from` is 0 (a full path or a
 * base name), and a trailing one for a base name.
 */
function writePath(ids: readonly number[], from: number, to: number, trailingSlash: boolean): void {
  let len = (from === 0 ? 1 : 0) + (trailingSlash ? 1 : 0) + (to - from - 1);
  for (let i = from; i < to; i++) len += digits(ids[i]!);
  head(3, len);
  room(len);
  const o = out;
  let a = at;
  if (from === 0) o[a++] = 0x2f;
  for (let i = from; i < to; i++) {
    if (i > from) o[a++] = 0x2f;
    let id = ids[i]!;
    const d = digits(id);
    for (let j = a + d - 1; j >= a; j--) {
      o[j] = 0x30 + (id % 10);
      id = (id / 10) | 0;
    }
    a += d;
  }
  if (trailingSlash) o[a++] = 0x2f;
  at = a;
}

function digits(id: number): number {
  return id < 10 ? 1 : id < 100 ? 2 : id < 1000 ? 3 : id < 10000 ? 4 : 5;
}

function writeValue(v: TypedValue): void {
  room(1);
  switch (v.type) {
    case 'string':
    case 'corelnk':
      out[at++] = KEY_VS;
      writeText(v.value);
      break;
    case 'integer':
    case 'unsigned':
      out[at++] = KEY_V;
      writeBigint(v.value);
      break;
    case 'float':
      out[at++] = KEY_V;
      writeFloat(v.value);
      break;
    case 'time':
      // Core TS 1.2 Appendix C: Time is seconds since 1970.
      out[at++] = KEY_V;
      writeBigint(timeToSeconds(v.value));
      break;
    case 'boolean':
      room(2);
      out[at++] = KEY_VB;
      out[at++] = v.value ? 0xf5 : 0xf4;
      break;
    case 'opaque':
      out[at++] = KEY_VD;
      head(2, v.value.length);
      writeBytes(v.value);
      break;
    case 'objlnk':
      room(4);
      out[at++] = 0x63; // text(3) "vlo"
      out[at++] = 0x76;
      out[at++] = 0x6c;
      out[at++] = 0x6f;
      writeText(formatObjectLink(v.value));
      break;
  }
}

/**
 * Refuses a string with a lone surrogate: UTF-8 cannot carry it (RFC 8949 §3.1 wants valid
 * UTF-8) and TextEncoder would silently write U+FFFD instead.
 */
function checkUnicode(s: string, from: number): void {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = s.charCodeAt(i + 1);
    if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
    else {
      throw new EncodeError(`a string with a lone surrogate at index ${i} is not Unicode text`, {
        format: FORMAT,
      });
    }
  }
}

function writeBytes(bytes: Uint8Array): void {
  room(bytes.length);
  out.set(bytes, at);
  at += bytes.length;
}

function writeRecords(records: readonly SenmlRecord[]): Uint8Array {
  at = 0;
  head(4, records.length);
  for (const r of records) {
    const fields =
      +(r.bn !== undefined) +
      +(r.bt !== undefined) +
      +(r.n !== undefined) +
      +(r.v !== undefined) +
      +(r.vs !== undefined) +
      +(r.vb !== undefined) +
      +(r.vd !== undefined) +
      +(r.vlo !== undefined) +
      +(r.t !== undefined);
    head(5, fields);
    if (r.bn !== undefined) {
      out[at++] = KEY_BN;
      writeText(r.bn);
    }
    if (r.bt !== undefined) {
      room(1);
      out[at++] = KEY_BT;
      writeNumber(r.bt);
    }
    if (r.n !== undefined) {
      room(1);
      out[at++] = KEY_N;
      writeText(r.n);
    }
    if (r.v !== undefined) {
      room(1);
      out[at++] = KEY_V;
      if (typeof r.v === 'bigint') writeBigint(r.v);
      else if (r.vFloat) writeFloat(r.v);
      else writeNumber(r.v);
    }
    if (r.vs !== undefined) {
      room(1);
      out[at++] = KEY_VS;
      writeText(r.vs);
    }
    if (r.vb !== undefined) {
      room(2);
      out[at++] = KEY_VB;
      out[at++] = r.vb ? 0xf5 : 0xf4;
    }
    if (r.vd !== undefined) {
      room(1);
      out[at++] = KEY_VD;
      head(2, r.vd.length);
      writeBytes(r.vd);
    }
    if (r.vlo !== undefined) {
      room(4);
      out[at++] = 0x63; // text(3) "vlo"
      out[at++] = 0x76;
      out[at++] = 0x6c;
      out[at++] = 0x6f;
      writeText(r.vlo);
    }
    if (r.t !== undefined) {
      room(1);
      out[at++] = KEY_T;
      writeNumber(r.t);
    }
  }
  return copyOut(out, 0, at);
}

/*
 * Typed arrays over 64 bytes get their own off-heap buffer, which costs V8 ~0.5–1 µs (more than
 * encoding a composite value). Small results are therefore views into a shared 8 KiB slab, as
 * Node's Buffer pool does: read them through byteOffset/byteLength, not their whole `.buffer`.
 */
const SLAB_SIZE = 8192;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabUsed = 0;

function copyOut(from: Uint8Array, start: number, stop: number): Uint8Array {
  const n = stop - start;
  if (n > SLAB_SIZE >> 3) return from.slice(start, stop);
  if (slabUsed + n > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabUsed = 0;
  }
  const view = new Uint8Array(slab, slabUsed, n);
  view.set(from.subarray(start, stop));
  slabUsed = (slabUsed + n + 7) & ~7;
  return view;
}

// ---------------------------------------------------------------------------------------------
// Reading: a cursor over the input (decoding is synchronous).
// ---------------------------------------------------------------------------------------------

let src: Uint8Array = new Uint8Array(0);
let pos = 0;
let end = 0;
/** Set by `readNumber` when the number was written as a float (major type 7, or tag 4). */
let wasFloat = false;
const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Deepest nesting inside an ignored field (tag 4 arrays are read directly, not skipped). */
const MAX_SKIP_DEPTH = 4;

function fail(message: string, offset: number): never {
  throw new DecodeError(message, { format: FORMAT, offset });
}

/** Starts reading `bytes` as a pack: the record count, or -1 for an indefinite-length array. */
function openPack(bytes: Uint8Array): number {
  src = bytes;
  pos = 0;
  end = bytes.length;
  if (end === 0) fail('empty input: expected a CBOR array', 0);
  if (bytes[0]! >> 5 !== 4) fail(`a SenML pack is a CBOR array, not ${itemName(bytes[0]!)}`, 0);
  return readLength();
}

function closePack(): void {
  if (pos !== end) fail(`unexpected data after the CBOR array (${end - pos} bytes)`, pos);
}

/** The argument of the head at `pos` for a length (major 2–5): -1 when indefinite. */
function readLength(): number {
  const start = pos;
  const ib = src[pos++]!;
  const ai = ib & 0x1f;
  let n: number;
  if (ai < 24) n = ai;
  else if (ai === 31) {
    const major = ib >> 5;
    if (major === 2 || major === 3) fail('indefinite-length strings are not supported', start);
    return -1;
  } else n = readArgument(ai, start);
  // Every array item takes a byte and every map entry two: refuse counts the input cannot hold
  // before anything is allocated for them.
  const major = ib >> 5;
  const least = major === 5 ? n * 2 : n;
  if (least > end - pos) {
    const what =
      major === 2 ? 'byte string' : major === 3 ? 'text string' : major === 4 ? 'array' : 'map';
    fail(`${what} of length ${n} runs past the end of the input`, start);
  }
  return n;
}

/** The 1-, 2-, 4- or 8-byte argument after a head at `start` (as a number, exact below 2^53). */
function readArgument(ai: number, start: number): number {
  if (ai > 27) fail(`reserved additional information ${ai}`, start);
  const size = 1 << (ai - 24);
  if (pos + size > end) fail('truncated item head', start);
  const p = pos;
  pos += size;
  const b = src;
  if (size === 1) return b[p]!;
  if (size === 2) return (b[p]! << 8) | b[p + 1]!;
  const high = b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  if (size === 4) return high;
  return (
    high * 0x100000000 +
    (b[p + 4]! * 0x1000000 + ((b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!))
  );
}

function atBreak(): boolean {
  if (pos >= end) fail('truncated: an indefinite-length item has no break', pos);
  if (src[pos] !== 0xff) return false;
  pos++;
  return true;
}

function itemName(ib: number): string {
  switch (ib >> 5) {
    case 0:
    case 1:
      return 'an integer';
    case 2:
      return 'a byte string';
    case 3:
      return 'a text string';
    case 4:
      return 'an array';
    case 5:
      return 'a map';
    case 6:
      return 'a tag';
    default:
      if (ib === 0xf4 || ib === 0xf5) return 'a boolean';
      if (ib === 0xf6) return 'null';
      if (ib >= 0xf9 && ib <= 0xfb) return 'a float';
      return 'a simple value';
  }
}

// Labels as codes: the RFC 8428 Table 6 integer label, and 9 for the LwM2M text key "vlo".
const L_BS = -6;
const L_BV = -5;
const L_BU = -4;
const L_BT = -3;
const L_BN = -2;
const L_BVER = -1;
const L_N = 0;
const L_U = 1;
const L_V = 2;
const L_VS = 3;
const L_VB = 4;
const L_S = 5;
const L_T = 6;
const L_UT = 7;
const L_VD = 8;
const L_VLO = 9;
/** A label SenML does not define: the field is skipped. */
const L_UNKNOWN = 100;

const LABEL_NAMES = [
  'bs',
  'bv',
  'bu',
  'bt',
  'bn',
  'bver',
  'n',
  'u',
  'v',
  'vs',
  'vb',
  's',
  't',
  'ut',
  'vd',
  'vlo',
];

function labelName(label: number): string {
  return LABEL_NAMES[label + 6]!;
}

/** Reads the record at `pos` into `r` (every field of `r` is set). */
function readRecord(index: number, r: MutableSenmlRecord): SenmlRecord {
  const start = pos;
  if (pos >= end) fail('truncated: expected a record', pos);
  const ib = src[pos]!;
  if (ib >> 5 !== 5) fail(`record ${index} is ${itemName(ib)}, not a map`, start);
  const count = readLength();
  r.bn = undefined;
  r.bt = undefined;
  r.bver = undefined;
  r.bv = undefined;
  r.n = undefined;
  r.t = undefined;
  r.v = undefined;
  r.vFloat = undefined;
  r.vs = undefined;
  r.vb = undefined;
  r.vd = undefined;
  r.vlo = undefined;
  r.s = undefined;
  let seen = 0;
  for (let k = 0; count < 0 ? !atBreak() : k < count; k++) {
    const keyAt = pos;
    const label = readKey(index);
    if (label === L_UNKNOWN) {
      skipItem(0);
      continue;
    }
    const bit = 1 << (label + 6);
    if ((seen & bit) !== 0) fail(`record ${index}: "${labelName(label)}" is given twice`, keyAt);
    seen |= bit;
    const valueAt = pos;
    if (pos >= end) fail(`record ${index}: truncated: "${labelName(label)}" has no value`, pos);
    switch (label) {
      case L_BN:
        r.bn = readText(index, label);
        break;
      case L_N:
        r.n = readText(index, label);
        break;
      case L_VS:
        r.vs = readText(index, label);
        break;
      case L_VLO:
        r.vlo = readText(index, label);
        break;
      case L_U:
      case L_BU:
        readText(index, label);
        break;
      case L_V:
        r.v = readNumber(index, label);
        if (wasFloat) r.vFloat = true;
        break;
      case L_BV:
        r.bv = readNumber(index, label);
        break;
      case L_S:
        r.s = readNumber(index, label);
        break;
      case L_BS:
      case L_UT:
        readNumber(index, label);
        break;
      case L_BT:
        r.bt = Number(readNumber(index, label));
        break;
      case L_T:
        r.t = Number(readNumber(index, label));
        break;
      case L_BVER:
        r.bver = Number(readNumber(index, label));
        break;
      case L_VB: {
        const b = src[pos];
        if (b !== 0xf4 && b !== 0xf5) wrongType(index, label, 'a boolean', valueAt);
        pos++;
        r.vb = b === 0xf5;
        break;
      }
      default: {
        // L_VD
        if (src[pos]! >> 5 !== 2) wrongType(index, label, 'a byte string', valueAt);
        const n = readLength();
        r.vd = copyOut(src, pos, pos + n);
        pos += n;
      }
    }
  }
  return r;
}

/** The label code of the key at `pos` (`L_UNKNOWN` for one SenML does not define). */
function readKey(index: number): number {
  const start = pos;
  if (pos >= end) fail(`record ${index}: truncated: expected a key`, pos);
  const ib = src[pos]!;
  const major = ib >> 5;
  if (major === 0 || major === 1) {
    pos++;
    const ai = ib & 0x1f;
    const n = ai < 24 ? ai : readArgument(ai, start);
    const label = major === 0 ? n : -1 - n;
    return label >= -6 && label <= 8 ? label : L_UNKNOWN;
  }
  if (major === 3) {
    const key = readText(index, L_UNKNOWN);
    if (key === 'vlo') return L_VLO;
    // RFC 8428 §4.4: a field whose name ends in "_" must be understood, else the pack is refused;
    // other unknown fields are extensions a reader may ignore.
    if (key.endsWith('_'))
      fail(`record ${index}: must-understand field "${key}" is not supported`, start);
    return L_UNKNOWN;
  }
  return fail(
    `record ${index}: a key must be an integer label or a text name, not ${itemName(ib)}`,
    start,
  );
}

function wrongType(index: number, label: number, want: string, offset: number): never {
  const ib = src[offset]!;
  const name = label === L_UNKNOWN ? 'key' : labelName(label);
  if (
    ib === 0xf6 &&
    (label === L_V || label === L_VS || label === L_VB || label === L_VD || label === L_VLO)
  ) {
    fail(
      `record ${index}: "${name}" is null: removing a value is SenML-ETCH (RFC 8790 §3.2), not SenML CBOR`,
      offset,
    );
  }
  return fail(`record ${index}: "${name}" must be ${want}, not ${itemName(ib)}`, offset);
}

function readText(index: number, label: number): string {
  const start = pos;
  if (src[pos]! >> 5 !== 3) wrongType(index, label, 'a text string', start);
  const n = readLength();
  const from = pos;
  const to = pos + n;
  pos = to;
  return n <= INTERN_MAX ? internedText(from, to, start) : decodeUtf8(from, to, start);
}

/*
 * Short strings (names, paths, units, most values) repeat from one payload to the next, and
 * building a string from bytes costs ~100 ns. A direct-mapped cache keyed by the bytes returns
 * the string built last time (already hashed for the path cache's lookups).
 */
const INTERN_MAX = 32;
const INTERN_SLOTS = 1024;
const internBytes: (Uint8Array | undefined)[] = new Array(INTERN_SLOTS).fill(undefined);
const internStrings: string[] = new Array(INTERN_SLOTS).fill('');

function internedText(from: number, to: number, start: number): string {
  const b = src;
  let h = to - from;
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    if (c >= 0x80) return decodeUtf8(from, to, start);
    h = (Math.imul(h, 31) + c) | 0;
  }
  const slot = (h ^ (h >>> 10)) & (INTERN_SLOTS - 1);
  const known = internBytes[slot];
  if (known !== undefined && known.length === to - from) {
    let same = true;
    for (let i = 0; i < known.length; i++) {
      if (known[i] !== b[from + i]) {
        same = false;
        break;
      }
    }
    if (same) return internStrings[slot]!;
  }
  const s = String.fromCharCode.apply(null, b.subarray(from, to) as unknown as number[]);
  internBytes[slot] = b.slice(from, to);
  internStrings[slot] = s;
  return s;
}

function decodeUtf8(from: number, to: number, start: number): string {
  try {
    return utf8.decode(src.subarray(from, to));
  } catch {
    return fail('text string is not valid UTF-8', start);
  }
}

/**
 * A number (RFC 8428 §6: an integer, a float, a bignum or a decimal fraction): integers beyond
 * 2^53 as exact bigints. Sets `wasFloat` when written as a float.
 */
const scratchBytes = new Uint8Array(8);
const scratch = new DataView(scratchBytes.buffer);

function readNumber(index: number, label: number): number | bigint {
  const start = pos;
  const ib = src[pos]!;
  const major = ib >> 5;
  const ai = ib & 0x1f;
  wasFloat = false;
  if (major === 0 || major === 1) {
    pos++;
    if (ai < 24) return major === 0 ? ai : -1 - ai;
    if (ai === 27) {
      if (pos + 8 > end) fail('truncated item head', start);
      for (let i = 0; i < 8; i++) scratchBytes[i] = src[pos + i]!;
      const big = scratch.getBigUint64(0);
      pos += 8;
      const n = major === 0 ? big : -1n - big;
      return n >= -SAFE && n < SAFE ? Number(n) : n;
    }
    const n = readArgument(ai, start);
    return major === 0 ? n : -1 - n;
  }
  if (major === 7 && ai >= 25 && ai <= 27) {
    pos++;
    const size = 1 << (ai - 24);
    if (pos + size > end) fail('truncated float', start);
    // Copied into one scratch view: a DataView per float was the decoder's top allocation.
    for (let i = 0; i < size; i++) scratchBytes[i] = src[pos + i]!;
    pos += size;
    wasFloat = true;
    if (ai === 25) return halfToNumber(scratch.getUint16(0));
    return ai === 26 ? scratch.getFloat32(0) : scratch.getFloat64(0);
  }
  if (ib === 0xc2 || ib === 0xc3) {
    // Tags 2 and 3 (RFC 8949 §3.4.3): a bignum's bytes; beyond 16 bytes no LwM2M type holds it.
    pos++;
    if (pos >= end || src[pos]! >> 5 !== 2)
      fail(`record ${index}: a bignum needs a byte string`, start);
    const n = readLength();
    if (n > 16)
      fail(`record ${index}: "${labelName(label)}" bignum of ${n} bytes is out of range`, start);
    let big = 0n;
    for (let i = 0; i < n; i++) big = (big << 8n) | BigInt(src[pos + i]!);
    pos += n;
    const value = ib === 0xc2 ? big : -1n - big;
    return value >= -SAFE && value < SAFE ? Number(value) : value;
  }
  if (ib === 0xc4) return readDecimalFraction(index, label, start);
  if (ib === 0xc1 || ib === 0xc0) return readDateTime(index, label, start);
  return wrongType(index, label, 'a number', start);
}

/**
 * Tags 1 (epoch seconds) and 0 (RFC 3339 text), as seconds: Core TS 1.1.1 §7.4.6 lets a Time
 * value be "an unsigned integer or a date/time string (RFC 7049 §2.4.1)".
 */
function readDateTime(index: number, label: number, start: number): number | bigint {
  const tag = src[pos++];
  if (pos >= end) fail('truncated date/time', start);
  const ib = src[pos]!;
  if (tag === 0xc1) {
    if (ib >> 5 === 6) fail(`record ${index}: a date/time tag holds a plain number`, start);
    return readNumber(index, label);
  }
  const text = readText(index, label);
  const ms = RFC3339.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) fail(`record ${index}: "${text}" is not an RFC 3339 date/time`, start);
  const seconds = ms / 1000;
  wasFloat = !Number.isInteger(seconds);
  return seconds;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Tag 4 (RFC 8949 §3.4.4): [exponent, mantissa], the value mantissa × 10^exponent. */
function readDecimalFraction(index: number, label: number, start: number): number | bigint {
  pos++;
  if (pos >= end || src[pos] !== 0x82) {
    fail(`record ${index}: a decimal fraction is an array of two integers`, start);
  }
  pos++;
  const exponentAt = pos;
  if (pos >= end) fail('truncated decimal fraction', start);
  const exponent = readNumber(index, label);
  const exponentFloat = wasFloat;
  const mantissaAt = pos;
  if (pos >= end) fail('truncated decimal fraction', start);
  if (src[mantissaAt] === 0xc4) fail(`record ${index}: nested decimal fraction`, mantissaAt);
  const mantissa = readNumber(index, label);
  if (
    wasFloat ||
    exponentFloat ||
    typeof exponent !== 'number' ||
    !Number.isInteger(exponent) ||
    Math.abs(exponent) > 400
  ) {
    fail(`record ${index}: a decimal fraction needs integer parts and a sane exponent`, exponentAt);
  }
  if (exponent >= 0 && exponent <= 20) {
    const value = BigInt(mantissa) * 10n ** BigInt(exponent);
    wasFloat = false;
    return value >= -SAFE && value < SAFE ? Number(value) : value;
  }
  // Reparsed as decimal text: the nearest double, correctly rounded.
  wasFloat = true;
  return Number(`${mantissa}e${exponent}`);
}

/** 2^(e − 25) for a half's exponent field e (1..30): the weight of its 11-bit significand. */
const HALF_SUBNORMAL = 2 ** -24;
const HALF_SCALE = Array.from({ length: 31 }, (_, e) => 2 ** (e - 25));

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * HALF_SUBNORMAL;
  if (exp === 31) return mant === 0 ? sign * Infinity : Number.NaN;
  return sign * (1024 + mant) * HALF_SCALE[exp]!;
}

/** Skips one well-formed item of any type (an ignored extension field). */
function skipItem(depth: number): void {
  const start = pos;
  if (pos >= end) fail('truncated: expected an item', pos);
  const ib = src[pos]!;
  const major = ib >> 5;
  const ai = ib & 0x1f;
  if (major === 7) {
    pos++;
    if (ai === 31) fail('break outside an indefinite-length item', start);
    if (ai >= 24) readArgument(ai, start);
    return;
  }
  if (major <= 1) {
    pos++;
    if (ai >= 24) readArgument(ai, start);
    return;
  }
  if (major === 6) {
    pos++;
    if (ai >= 24) readArgument(ai, start);
    if (depth >= MAX_SKIP_DEPTH) fail(`nesting deeper than ${MAX_SKIP_DEPTH} levels`, start);
    skipItem(depth + 1);
    return;
  }
  const n = readLength();
  if (major <= 3) {
    pos += n;
    return;
  }
  if (depth >= MAX_SKIP_DEPTH) fail(`nesting deeper than ${MAX_SKIP_DEPTH} levels`, start);
  const items = major === 5 ? n * 2 : n;
  if (n < 0) {
    let count = 0;
    while (!atBreak()) {
      skipItem(depth + 1);
      count++;
    }
    if (major === 5 && count % 2 !== 0) fail('map with a key and no value', start);
    return;
  }
  for (let i = 0; i < items; i++) skipItem(depth + 1);
}
