import {
  DecodeError,
  EncodeError,
  LwM2mPath,
  type ResourceModel,
  type TypedValue,
  timeFromSeconds,
  timeToSeconds,
  typedValue,
} from '@lwm2m-ts/core';
import { type CodecOptions, resourceModelAt, type TimedValue } from './content.js';
import { checkValueForModel, typeWireValue, type WireValue } from './wire-value.js';

/**
 * LwM2M CBOR, content format 11544 `application/vnd.oma.lwm2m+cbor` (Core TS 1.2 §7.4.4): the
 * object tree as nested CBOR maps keyed by ids (object, instance, resource, resource instance),
 * values at the leaves. A key is an unsigned integer id or an array of ids standing for a chain
 * of levels (`{[3, 0]: {0: "Open Mobile Alliance"}}`). It carries no timestamps: Send and
 * notifications with history use SenML.
 *
 * The CBOR is read and written by hand rather than with cbor-x: cbor-x decodes `1.0` and `1` to
 * the same number (without a model the major type must decide float vs integer), silently keeps
 * the last of two equal map keys (a repeated leaf must be refused), and reports no byte offsets.
 * This format needs only major types 0–5, 7 and tag 1, which is little code.
 */

const FORMAT = 'LwM2M CBOR';
const MAX_ID = 65535;
const MAX_DEPTH = 4;

export interface Lwm2mCborOptions extends CodecOptions {
  /**
   * Where the payload's ids start. Core TS 1.2 §7.4.4: "Except when used for a Write or Create
   * operation, the IDs inside the top-level payload MUST start with the Object ID", so a Write or
   * Create payload may be relative to the request path. Default: the root (absolute ids).
   */
  readonly base?: LwM2mPath | undefined;
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

interface TreeNode {
  value?: TypedValue;
  children?: Map<number, TreeNode>;
}

/**
 * Encodes leaf values (resource or resource-instance paths) as one LwM2M CBOR map; values from
 * several objects make a composite payload. Deterministic: keys ascend numerically, maps and
 * strings have definite lengths, integers and floats take their shortest exact form (RFC 8949
 * §4.2.1). A level with exactly one child is folded into its parent's key as an id array, so a
 * chain of single children becomes one key (`{[3, 0, 1]: "x"}`, `{[3, 0]: {0: …, 1: …}}`); a key
 * is a plain id when its node is a value or has several children.
 */
export function encodeLwm2mCbor(
  values: readonly TimedValue[],
  options: Lwm2mCborOptions = {},
): Uint8Array {
  const base = options.base ?? LwM2mPath.ROOT;
  const root = new Map<number, TreeNode>();
  for (const v of values) {
    const where = String(v.path);
    if (v.time !== undefined) {
      throw encodeError(`${where}: LwM2M CBOR carries no timestamps (Core TS 1.2 §7.4.4)`);
    }
    const ids = v.path.ids;
    if (ids.length < 3) throw encodeError(`${where}: values live at resource level or below`);
    if (!base.isAncestorOf(v.path)) {
      throw encodeError(`${where} does not lie below the payload base ${base}`);
    }
    const resource = resourceModelAt(options.model, v.path);
    checkValueForModel(v.value, resource, { format: FORMAT, path: where });
    checkMultiplicity(resource, ids.length, (why) => encodeError(`${where}: ${why}`));
    if (v.value.type === 'float' && !Number.isFinite(v.value.value)) {
      throw encodeError(`${where}: float ${v.value.value} is not finite`);
    }
    let level = root;
    for (let i = base.ids.length; i < ids.length; i++) {
      const id = ids[i]!;
      let node = level.get(id);
      if (node === undefined) {
        node = {};
        level.set(id, node);
      }
      if (i === ids.length - 1) {
        if (node.value !== undefined || node.children !== undefined) {
          throw encodeError(`${where} is given twice or also has values below it`);
        }
        node.value = v.value;
      } else {
        if (node.value !== undefined) {
          throw encodeError(`${LwM2mPath.of(...ids.slice(0, i + 1))} is both a value and a parent`);
        }
        node.children ??= new Map();
        level = node.children;
      }
    }
  }
  const out = new Writer();
  writeTree(out, root);
  return out.finish();
}

function writeTree(out: Writer, level: Map<number, TreeNode>): void {
  const keys = [...level.keys()].sort((a, b) => a - b);
  out.head(5, keys.length);
  for (const key of keys) {
    const chain = [key];
    let node = level.get(key)!;
    while (node.children !== undefined && node.children.size === 1) {
      const [id, child] = node.children.entries().next().value!;
      chain.push(id);
      node = child;
    }
    if (chain.length === 1) {
      out.head(0, key);
    } else {
      out.head(4, chain.length);
      for (const id of chain) out.head(0, id);
    }
    if (node.value !== undefined) writeValue(out, node.value);
    else writeTree(out, node.children!);
  }
}

// Core TS 1.2 §7.4.4 data types: String/Corelnk text (major 3), Integer major 0/1, Unsigned
// major 0, Float major 7, Boolean simple 20/21, Opaque byte string (major 2), Time as integer
// seconds, Objlnk the text "objectId:instanceId".
function writeValue(out: Writer, v: TypedValue): void {
  switch (v.type) {
    case 'string':
    case 'corelnk':
      out.text(v.value);
      return;
    case 'integer':
    case 'unsigned':
      out.integer(v.value);
      return;
    case 'time':
      out.integer(timeToSeconds(v.value));
      return;
    case 'float':
      out.float(v.value);
      return;
    case 'boolean':
      out.u8(v.value ? 0xf5 : 0xf4);
      return;
    case 'opaque':
      out.head(2, v.value.length);
      out.bytes(v.value);
      return;
    case 'objlnk':
      out.text(`${v.value.objectId}:${v.value.instanceId}`);
      return;
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class Writer {
  #buf = new Uint8Array(64);
  #view = new DataView(this.#buf.buffer);
  #len = 0;

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  u8(b: number): void {
    this.#reserve(1);
    this.#buf[this.#len++] = b;
  }

  bytes(b: Uint8Array): void {
    this.#reserve(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  /** A major type with its argument in the shortest form (RFC 8949 §3). */
  head(major: number, arg: number | bigint): void {
    const m = major << 5;
    if (typeof arg === 'number' && arg < 24) {
      this.u8(m | arg);
    } else if (typeof arg === 'number' && arg < 0x100) {
      this.u8(m | 24);
      this.u8(arg);
    } else if (typeof arg === 'number' && arg < 0x10000) {
      this.#reserve(3);
      this.#buf[this.#len] = m | 25;
      this.#view.setUint16(this.#len + 1, arg);
      this.#len += 3;
    } else if (typeof arg === 'number' && arg < 0x100000000) {
      this.#reserve(5);
      this.#buf[this.#len] = m | 26;
      this.#view.setUint32(this.#len + 1, arg);
      this.#len += 5;
    } else {
      const big = BigInt(arg);
      if (big < 0x100000000n) {
        this.head(major, Number(big));
        return;
      }
      this.#reserve(9);
      this.#buf[this.#len] = m | 27;
      this.#view.setBigUint64(this.#len + 1, big);
      this.#len += 9;
    }
  }

  integer(v: bigint): void {
    if (v >= 0n) this.head(0, v);
    else this.head(1, -1n - v);
  }

  text(s: string): void {
    if (LONE_SURROGATE.test(s)) {
      throw encodeError('a string with a lone UTF-16 surrogate has no UTF-8 form');
    }
    const b = utf8Encoder.encode(s);
    this.head(3, b.length);
    this.bytes(b);
  }

  /** The shortest of half, single and double precision that holds `v` exactly (RFC 8949 §4.2.2). */
  float(v: number): void {
    const half = toHalf(v);
    if (half !== undefined) {
      this.#reserve(3);
      this.#buf[this.#len] = 0xf9;
      this.#view.setUint16(this.#len + 1, half);
      this.#len += 3;
    } else if (Math.fround(v) === v) {
      this.#reserve(5);
      this.#buf[this.#len] = 0xfa;
      this.#view.setFloat32(this.#len + 1, v);
      this.#len += 5;
    } else {
      this.#reserve(9);
      this.#buf[this.#len] = 0xfb;
      this.#view.setFloat64(this.#len + 1, v);
      this.#len += 9;
    }
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

const f32 = new DataView(new ArrayBuffer(4));

/** The IEEE 754 half-precision bits of a finite `v`, when `v` fits exactly; else undefined. */
function toHalf(v: number): number | undefined {
  if (Math.fround(v) !== v) return undefined;
  f32.setFloat32(0, v);
  const bits = f32.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0) return mant === 0 ? sign : undefined; // ±0, or a float32 subnormal (too small)
  if (exp === 0xff) return undefined;
  const e = exp - 127;
  if (e >= -14 && e <= 15) {
    return (mant & 0x1fff) === 0 ? sign | ((e + 15) << 10) | (mant >>> 13) : undefined;
  }
  if (e >= -24 && e < -14) {
    // Half subnormal: m × 2^-24 with the significand 1.mant × 2^e.
    const significand = 0x800000 | mant;
    const shift = -(e + 1);
    return (significand & ((1 << shift) - 1)) === 0 ? sign | (significand >>> shift) : undefined;
  }
  return undefined;
}

function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function encodeError(message: string): EncodeError {
  return new EncodeError(message, { format: FORMAT });
}

/** A single resource has no instances and a multiple resource no value of its own (§6.1). */
function checkMultiplicity(
  resource: ResourceModel | undefined,
  depth: number,
  fail: (why: string) => Error,
): void {
  if (resource === undefined) return;
  if (resource.multiple && depth === 3) {
    throw fail('the model says the resource is multiple: values go at resource instances');
  }
  if (!resource.multiple && depth === 4) {
    throw fail('the model says the resource is single: it has no resource instances');
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/** A leaf as read from the wire, before the model types it. */
interface WireLeaf {
  readonly wire: WireValue;
  /** Major type 7 float: without a model it is a Float even when integral. */
  readonly float: boolean;
  /** Tag 1 (RFC 8949 §3.4.2 epoch time): without a model it is a Time. */
  readonly time: boolean;
}

/**
 * Decodes an LwM2M CBOR payload into the full path and value of every leaf, in path order.
 * Values are typed with the model when it has the resource (mismatches are refused), otherwise
 * by their CBOR type: unsigned/negative integers → Integer (Unsigned above 2^63-1), floats →
 * Float, text → String, byte strings → Opaque, booleans → Boolean, tag 1 → Time. Keys may mix
 * plain ids and id arrays at will; definite and indefinite lengths are both accepted.
 *
 * Refused with a `DecodeError`: anything but one map at the top, keys that are not ids in
 * 0..65535 or non-empty arrays of them, two equal keys in one map, paths longer than 4 ids,
 * values above resource level, the same leaf twice (through any keys), a path that is both a
 * value and a map, null/undefined (Read-Composite request paths carry no value), tags other
 * than 1, and trailing bytes. Nesting is bounded by the 4 path levels and no allocation exceeds
 * the input's size.
 */
export function decodeLwm2mCbor(bytes: Uint8Array, options: Lwm2mCborOptions = {}): TimedValue[] {
  try {
    return new Parser(bytes, options).parse();
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(`unexpected failure: ${e instanceof Error ? e.message : String(e)}`, {
      format: FORMAT,
      cause: e,
    });
  }
}

const BREAK = 0xff;

class Parser {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #options: Lwm2mCborOptions;
  #pos = 0;
  readonly #leaves = new Set<string>();
  /** Paths that have something below them: maps and the ancestors of leaves. */
  readonly #inner = new Set<string>();
  readonly #out: TimedValue[] = [];

  constructor(bytes: Uint8Array, options: Lwm2mCborOptions) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#options = options;
  }

  parse(): TimedValue[] {
    if (this.#bytes.length === 0) throw this.#fail('empty payload: expected a CBOR map', 0);
    const base = this.#options.base ?? LwM2mPath.ROOT;
    const start = this.#pos;
    const head = this.#head();
    if (head.major !== 5) {
      throw this.#fail(`the payload must be a map, not ${describeMajor(head.major)}`, start);
    }
    this.#map([...base.ids], head.arg, start);
    if (this.#pos !== this.#bytes.length) {
      throw this.#fail(
        `${this.#bytes.length - this.#pos} bytes after the top-level map`,
        this.#pos,
      );
    }
    return this.#out.sort((a, b) => LwM2mPath.compare(a.path, b.path));
  }

  /** The entries of a map whose head was just read (`count` undefined: indefinite length). */
  #map(path: readonly number[], count: number | bigint | undefined, start: number): void {
    if (count !== undefined && !this.#fits(count, 2)) {
      throw this.#fail(
        `a map claims ${count} entries but only ${this.#left()} bytes remain`,
        start,
      );
    }
    // RFC 8949 §5.6: a map with two equal keys is not valid CBOR. `3` and `[3]` differ as keys
    // (and then merge as paths, like `[3, 0]` and `[3, 0, 1]` do).
    const keys = new Set<string>();
    for (let i = 0; count === undefined || i < Number(count); i++) {
      if (count === undefined && this.#peekBreak()) {
        this.#pos++;
        return;
      }
      const keyAt = this.#pos;
      const { ids, array } = this.#key();
      const keyText = array ? `[${ids.join(',')}]` : String(ids[0]);
      if (keys.has(keyText)) throw this.#fail(`duplicate map key ${keyText}`, keyAt);
      keys.add(keyText);
      const full = [...path, ...ids];
      if (full.length > MAX_DEPTH) {
        throw this.#fail(`path /${full.join('/')} has more than ${MAX_DEPTH} ids`, keyAt);
      }
      const valueAt = this.#pos;
      const head = this.#head();
      if (head.major === 5) {
        if (full.length === MAX_DEPTH) {
          throw this.#fail(`/${full.join('/')}: a map below resource-instance level`, valueAt);
        }
        this.#markInner(full, valueAt);
        this.#map(full, head.arg, valueAt);
      } else {
        const leaf = this.#value(head, valueAt);
        this.#addLeaf(full, leaf, valueAt);
      }
    }
  }

  /** A key: an id, or a non-empty array of ids (a chain of levels). */
  #key(): { ids: number[]; array: boolean } {
    const start = this.#pos;
    const head = this.#head();
    if (head.major === 0) return { ids: [this.#id(head.arg, start)], array: false };
    if (head.major === 4) {
      const count = head.arg;
      if (count !== undefined && (typeof count === 'bigint' || count > MAX_DEPTH)) {
        throw this.#fail(`a key array of ${count} ids: a path has at most ${MAX_DEPTH}`, start);
      }
      const ids: number[] = [];
      for (let i = 0; count === undefined || i < count; i++) {
        if (count === undefined && this.#peekBreak()) {
          this.#pos++;
          break;
        }
        if (ids.length === MAX_DEPTH) {
          throw this.#fail(`a key array of more than ${MAX_DEPTH} ids`, start);
        }
        const at = this.#pos;
        const item = this.#head();
        if (item.major !== 0) {
          throw this.#fail(`a key array holds ${describeMajor(item.major)}, not an id`, at);
        }
        ids.push(this.#id(item.arg, at));
      }
      if (ids.length === 0) throw this.#fail('an empty key array', start);
      return { ids, array: true };
    }
    if (head.major === 3) {
      throw this.#fail('a text key (an LwM2M Gateway prefix) is not supported', start);
    }
    throw this.#fail(
      `a key must be an id or an array of ids, not ${describeMajor(head.major)}`,
      start,
    );
  }

  #id(arg: number | bigint | undefined, at: number): number {
    if (typeof arg !== 'number' || arg > MAX_ID) {
      throw this.#fail(`id ${arg ?? '(indefinite)'} is not in 0..${MAX_ID}`, at);
    }
    return arg;
  }

  /** A value item whose head was just read (anything but a map). */
  #value(head: Head, at: number): WireLeaf {
    const plain = (wire: WireValue): WireLeaf => ({ wire, float: false, time: false });
    switch (head.major) {
      case 0:
        return plain({ kind: 'number', value: this.#defined(head, at) });
      case 1: {
        // -1 - n, as a number while it is a safe integer (n up to 2^64 - 1 arrives as a bigint).
        const n = this.#defined(head, at);
        const value = -1n - BigInt(n);
        return plain({
          kind: 'number',
          value: value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value,
        });
      }
      case 2:
        return plain({ kind: 'bytes', value: this.#string(2, head.arg, at) });
      case 3:
        return plain({ kind: 'string', value: this.#utf8(this.#string(3, head.arg, at), at) });
      case 4:
        throw this.#fail('an array is not a value (only keys may be arrays)', at);
      case 6: {
        if (head.arg !== 1) throw this.#fail(`tag ${head.arg} is not supported`, at);
        const innerAt = this.#pos;
        const inner = this.#head();
        if (inner.major === 0 || inner.major === 1) {
          return { ...this.#value(inner, innerAt), time: true };
        }
        if (inner.major === 7 && inner.float !== undefined) {
          return { wire: { kind: 'number', value: inner.float }, float: false, time: true };
        }
        throw this.#fail(`tag 1 (epoch time) holds ${describeMajor(inner.major)}`, innerAt);
      }
      case 7:
        if (head.float !== undefined) {
          return { wire: { kind: 'number', value: head.float }, float: true, time: false };
        }
        switch (head.info) {
          case 20:
            return plain({ kind: 'boolean', value: false });
          case 21:
            return plain({ kind: 'boolean', value: true });
          case 22:
            throw this.#fail('null has no value (it only names a path in composite requests)', at);
          case 23:
            throw this.#fail('undefined is not a value', at);
          case 31:
            throw this.#fail('a break outside an indefinite-length item', at);
          default:
            throw this.#fail(`simple value ${head.arg} is not a value`, at);
        }
      default:
        throw this.#fail(`unexpected ${describeMajor(head.major)}`, at);
    }
  }

  #addLeaf(ids: readonly number[], leaf: WireLeaf, at: number): void {
    if (ids.length < 3) {
      throw this.#fail(`/${ids.join('/')}: a value above resource level`, at);
    }
    const key = ids.join('/');
    if (this.#leaves.has(key)) throw this.#fail(`/${key} is given twice`, at);
    if (this.#inner.has(key)) throw this.#fail(`/${key} is both a value and a parent`, at);
    for (let n = 1; n < ids.length; n++) {
      const prefix = ids.slice(0, n).join('/');
      if (this.#leaves.has(prefix)) {
        throw this.#fail(`/${prefix} is both a value and a parent`, at);
      }
      this.#inner.add(prefix);
    }
    this.#leaves.add(key);
    const path = LwM2mPath.of(...ids);
    const resource = resourceModelAt(this.#options.model, path);
    checkMultiplicity(resource, ids.length, (why) => this.#fail(`${path}: ${why}`, at));
    this.#out.push({ path, value: this.#type(leaf, resource, path, at) });
  }

  #markInner(ids: readonly number[], at: number): void {
    for (let n = 1; n <= ids.length; n++) {
      const prefix = ids.slice(0, n).join('/');
      if (this.#leaves.has(prefix)) {
        throw this.#fail(`/${prefix} is both a value and a parent`, at);
      }
    }
    this.#inner.add(ids.join('/'));
  }

  #type(
    leaf: WireLeaf,
    resource: ResourceModel | undefined,
    path: LwM2mPath,
    at: number,
  ): TypedValue {
    const where = { format: FORMAT, offset: at, path: String(path) };
    const untyped = resource === undefined || resource.type === 'none';
    const { wire } = leaf;
    if (untyped && wire.kind === 'number' && (leaf.time || leaf.float)) {
      const n = Number(wire.value);
      if (leaf.float && !leaf.time) {
        if (!Number.isFinite(n)) throw this.#fail(`${path}: float ${n} is not finite`, at);
        return typedValue('float', n);
      }
      if (!Number.isInteger(n)) throw this.#fail(`${path}: time ${n} is not whole seconds`, at);
      try {
        if (!Number.isSafeInteger(n)) throw new RangeError();
        return typedValue('time', timeFromSeconds(n));
      } catch {
        throw this.#fail(`${path}: ${n} seconds is out of range for a Time`, at);
      }
    }
    if (resource?.type === 'objlnk' && wire.kind === 'string') {
      return typeWireValue(
        { kind: 'objlnk', value: this.#objlnk(wire.value, path, at) },
        resource,
        where,
      );
    }
    return typeWireValue(wire, resource, where);
  }

  /** Objlnk travels as the text "objectId:instanceId" (Core TS 1.2 §7.4.4, Appendix C). */
  #objlnk(text: string, path: LwM2mPath, at: number): { objectId: number; instanceId: number } {
    const m = /^(\d{1,5}):(\d{1,5})$/.exec(text);
    const objectId = Number(m?.[1]);
    const instanceId = Number(m?.[2]);
    if (m === null || objectId > MAX_ID || instanceId > MAX_ID) {
      throw this.#fail(
        `${path}: "${text.slice(0, 40)}" is not an Objlnk (objectId:instanceId)`,
        at,
      );
    }
    return { objectId, instanceId };
  }

  // --- CBOR items --------------------------------------------------------------------------

  #head(): Head {
    const start = this.#pos;
    if (start >= this.#bytes.length) throw this.#fail('truncated: expected another item', start);
    const initial = this.#bytes[this.#pos++]!;
    const major = initial >>> 5;
    const info = initial & 0x1f;
    if (info < 24) return { major, info, arg: info };
    if (info === 31) {
      if (major === 0 || major === 1 || major === 6) {
        throw this.#fail(`${describeMajor(major)} cannot have an indefinite length`, start);
      }
      return { major, info, arg: undefined };
    }
    if (info > 27) throw this.#fail(`reserved additional information ${info}`, start);
    const size = 1 << (info - 24);
    if (this.#left() < size) throw this.#fail('truncated: the item head runs past the end', start);
    const at = this.#pos;
    this.#pos += size;
    if (major === 7) {
      switch (info) {
        case 24: {
          const simple = this.#bytes[at]!;
          if (simple < 32) throw this.#fail(`simple value ${simple} in two bytes`, start);
          return { major, info, arg: simple };
        }
        case 25:
          return { major, info, arg: undefined, float: fromHalf(this.#view.getUint16(at)) };
        case 26:
          return { major, info, arg: undefined, float: this.#view.getFloat32(at) };
        default:
          return { major, info, arg: undefined, float: this.#view.getFloat64(at) };
      }
    }
    switch (info) {
      case 24:
        return { major, info, arg: this.#bytes[at]! };
      case 25:
        return { major, info, arg: this.#view.getUint16(at) };
      case 26:
        return { major, info, arg: this.#view.getUint32(at) };
      default: {
        const big = this.#view.getBigUint64(at);
        return { major, info, arg: big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big };
      }
    }
  }

  #defined(head: Head, at: number): number | bigint {
    if (head.arg === undefined) throw this.#fail('an integer without a value', at);
    return head.arg;
  }

  /** The content of a byte or text string (major 2 or 3), definite or made of chunks. */
  #string(major: 2 | 3, length: number | bigint | undefined, start: number): Uint8Array {
    if (length !== undefined) return this.#take(length, start);
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      if (this.#peekBreak()) {
        this.#pos++;
        break;
      }
      const at = this.#pos;
      const chunk = this.#head();
      if (chunk.major !== major || chunk.arg === undefined) {
        throw this.#fail(
          `a chunk of an indefinite ${describeMajor(major)} is not a definite one`,
          at,
        );
      }
      const bytes = this.#take(chunk.arg, at);
      chunks.push(bytes);
      total += bytes.length;
    }
    const out = new Uint8Array(total);
    let offset = 0;
    for (const c of chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }

  /** `length` bytes copied out of the input, refused before allocating if they are not there. */
  #take(length: number | bigint, start: number): Uint8Array {
    if (!this.#fits(length, 1)) {
      throw this.#fail(
        `a string of ${length} bytes runs past the end (${this.#left()} left)`,
        start,
      );
    }
    const n = Number(length);
    // A copy, as a plain Uint8Array even when the input is a Buffer (whose slice is a view).
    const out = new Uint8Array(this.#bytes.subarray(this.#pos, this.#pos + n));
    this.#pos += n;
    return out;
  }

  #utf8(bytes: Uint8Array, at: number): string {
    try {
      return utf8Decoder.decode(bytes);
    } catch (e) {
      throw new DecodeError('a text string that is not valid UTF-8', {
        format: FORMAT,
        offset: at,
        cause: e,
      });
    }
  }

  #peekBreak(): boolean {
    if (this.#pos >= this.#bytes.length) {
      throw this.#fail('truncated: an indefinite-length item has no break', this.#pos);
    }
    return this.#bytes[this.#pos] === BREAK;
  }

  #left(): number {
    return this.#bytes.length - this.#pos;
  }

  /** True when `count` items of at least `size` bytes each can still be in the input. */
  #fits(count: number | bigint, size: number): boolean {
    return typeof count === 'number' && count * size <= this.#left();
  }

  #fail(message: string, offset: number): DecodeError {
    return new DecodeError(message, { format: FORMAT, offset });
  }
}

interface Head {
  readonly major: number;
  /** The low 5 bits of the initial byte. */
  readonly info: number;
  /** The argument; undefined for indefinite lengths and floats. */
  readonly arg: number | bigint | undefined;
  /** Major type 7 with a half, single or double float. */
  readonly float?: number;
}

function describeMajor(major: number): string {
  return (
    [
      'an unsigned integer',
      'a negative integer',
      'a byte string',
      'a text string',
      'an array',
      'a map',
      'a tag',
      'a simple value or float',
    ][major] ?? `major type ${major}`
  );
}
