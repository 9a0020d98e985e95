import {
  type DataType,
  DecodeError,
  EncodeError,
  type LwM2mNode,
  type LwM2mObjectInstance,
  type LwM2mPath,
  type LwM2mResource,
  type LwM2mResourceInstance,
  lwm2mObject,
  multipleResource,
  nodeLevel,
  type ObjectModel,
  objectInstance,
  type ResourceModel,
  resourceInstance,
  singleResource,
  type TypedValue,
  timeFromSeconds,
  timeToSeconds,
  type ValueByType,
} from '@lwm2m-ts/core';
import type { CodecOptions } from './content.js';
import { decodeUtf8, encodeUtf8 } from './text.js';
import { checkValueForModel } from './wire-value.js';

const FORMAT = 'TLV';

// OMA TLV, content format 11542: Core TS 1.2 §7.4.5, Table 7.4.5-1 (§7.4.4 in 1.1.1, §6.4.3
// in 1.0; unchanged since). Bits 7-6 of the type byte say what the TLV holds.
const OBJECT_INSTANCE = 0b00;
const RESOURCE_INSTANCE = 0b01;
const MULTIPLE_RESOURCE = 0b10;
const RESOURCE = 0b11;
const KIND_NAMES = ['Object Instance', 'Resource Instance', 'Multiple Resource', 'Resource'];
const an = (kind: number): string => `${kind === OBJECT_INSTANCE ? 'an' : 'a'} ${KIND_NAMES[kind]}`;

/** The largest value a 24-bit length field can announce (§7.4.5: at most 16.7 MB). */
const MAX_LENGTH = 0xffffff;

// ---------------------------------------------------------------------------------------------
// Values (Core TS 1.2 Appendix C, "TLV Format" column): one table, encode and decode side by side.

type Fail = (why: string) => never;

interface ValueCodec<T extends DataType> {
  encode(value: ValueByType[T]): Uint8Array;
  /**
   * Decodes `bytes[start, end)`, the value at `where`; calls `fail` (which throws) when the bytes
   * are not a `T`.
   */
  decode(bytes: Uint8Array, start: number, end: number, fail: Fail, where: string): ValueByType[T];
}

const VALUES: { readonly [T in DataType]: ValueCodec<T> } = {
  string: {
    encode: encodeUtf8,
    decode: (bytes, start, end, _fail, where) => decodeUtf8(bytes, FORMAT, start, end, where),
  },
  corelnk: {
    encode: encodeUtf8,
    decode: (bytes, start, end, _fail, where) => decodeUtf8(bytes, FORMAT, start, end, where),
  },
  integer: {
    encode: (v) => encodeInt(v, true),
    decode: (bytes, start, end, fail) => decodeInt(bytes, start, end, true, fail),
  },
  // Unsigned Integer (LwM2M 1.1+): 1, 2, 4 or 8 bytes read as unsigned, so 2^64 - 1 fits.
  unsigned: {
    encode: (v) => encodeInt(v, false),
    decode: (bytes, start, end, fail) => decodeInt(bytes, start, end, false, fail),
  },
  // Float: 4 or 8 bytes IEEE 754; 4 only when the value survives the narrowing unchanged.
  float: {
    encode: (v) => {
      const narrow = Math.fround(v) === v;
      const out = new Uint8Array(narrow ? 4 : 8);
      const view = new DataView(out.buffer);
      if (narrow) view.setFloat32(0, v);
      else view.setFloat64(0, v);
      return out;
    },
    decode: (bytes, start, end, fail) => {
      const view = viewOf(bytes, start, end);
      const len = end - start;
      const v = len === 4 ? view.getFloat32(0) : len === 8 ? view.getFloat64(0) : undefined;
      if (v === undefined) return fail(`a Float has 4 or 8 bytes, not ${len}`);
      if (!Number.isFinite(v)) return fail(`float ${v} is not finite`);
      return v;
    },
  },
  boolean: {
    encode: (v) => Uint8Array.of(v ? 1 : 0),
    decode: (bytes, start, end, fail) => {
      if (end - start !== 1) return fail(`a Boolean has 1 byte, not ${end - start}`);
      const b = bytes[start]!;
      if (b > 1) return fail(`Boolean byte ${b} is neither 0 nor 1`);
      return b === 1;
    },
  },
  // Time: an Integer of seconds since 1970.
  time: {
    encode: (v) => encodeInt(timeToSeconds(v), true),
    decode: (bytes, start, end, fail) => {
      const seconds = decodeInt(bytes, start, end, true, fail);
      try {
        return timeFromSeconds(seconds);
      } catch {
        return fail(`${seconds} seconds is out of range for a Time`);
      }
    },
  },
  // Objlnk: 16-bit Object ID then 16-bit Object Instance ID.
  objlnk: {
    encode: (v) => {
      const out = new Uint8Array(4);
      const view = new DataView(out.buffer);
      view.setUint16(0, v.objectId);
      view.setUint16(2, v.instanceId);
      return out;
    },
    decode: (bytes, start, end, fail) => {
      if (end - start !== 4) return fail(`an Objlnk has 4 bytes, not ${end - start}`);
      const view = viewOf(bytes, start, end);
      return { objectId: view.getUint16(0), instanceId: view.getUint16(2) };
    },
  },
  opaque: {
    encode: (v) => v,
    decode: (bytes, start, end) => new Uint8Array(bytes.subarray(start, end)),
  },
};

const INT8 = 2n ** 7n;
const INT16 = 2n ** 15n;
const INT32 = 2n ** 31n;

/** Two's complement (or unsigned) big-endian in the smallest of 1, 2, 4, 8 bytes. */
function encodeInt(v: bigint, signed: boolean): Uint8Array {
  const len = signed
    ? v >= -INT8 && v < INT8
      ? 1
      : v >= -INT16 && v < INT16
        ? 2
        : v >= -INT32 && v < INT32
          ? 4
          : 8
    : v < 2n * INT8
      ? 1
      : v < 2n * INT16
        ? 2
        : v < 2n * INT32
          ? 4
          : 8;
  const out = new Uint8Array(len);
  const view = new DataView(out.buffer);
  if (len === 8) {
    if (signed) view.setBigInt64(0, v);
    else view.setBigUint64(0, v);
    return out;
  }
  const n = Number(v);
  if (len === 1) view.setUint8(0, n & 0xff);
  else if (len === 2) view.setUint16(0, n & 0xffff);
  else view.setUint32(0, n >>> 0);
  return out;
}

function decodeInt(
  bytes: Uint8Array,
  start: number,
  end: number,
  signed: boolean,
  fail: Fail,
): bigint {
  const view = viewOf(bytes, start, end);
  switch (end - start) {
    case 1:
      return BigInt(signed ? view.getInt8(0) : view.getUint8(0));
    case 2:
      return BigInt(signed ? view.getInt16(0) : view.getUint16(0));
    case 4:
      return BigInt(signed ? view.getInt32(0) : view.getUint32(0));
    case 8:
      return signed ? view.getBigInt64(0) : view.getBigUint64(0);
    default:
      return fail(`an integer has 1, 2, 4 or 8 bytes, not ${end - start}`);
  }
}

function viewOf(bytes: Uint8Array, start: number, end: number): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset + start, end - start);
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Encodes `node`, which lives at `path`, as OMA TLV (Core TS 1.2 §7.4.5): at object level a
 * sequence of Object Instance TLVs (the spec requires them whenever the request names no
 * instance), at instance level a sequence of Resource / Multiple Resource TLVs, at resource level
 * one Resource or Multiple Resource TLV (a multiple resource always gets its Multiple Resource
 * TLV, even with 0 or 1 instances), at resource-instance level one Resource Instance TLV.
 * With a model, every value must have its resource's type and multiplicity.
 */
export function encodeTlv(
  path: LwM2mPath,
  node: LwM2mNode,
  options: CodecOptions = {},
): Uint8Array {
  const [objectId, instanceId, resourceId] = path.ids;
  if (objectId === undefined) {
    throw new EncodeError('a TLV payload needs an object, instance or resource path, not /', {
      format: FORMAT,
    });
  }
  if (nodeLevel(node) !== path.level || node.id !== path.ids[path.ids.length - 1]) {
    throw new EncodeError(`a ${node.kind} with id ${node.id} does not live at ${path}`, {
      format: FORMAT,
    });
  }
  const model = options.model?.get(objectId);
  const base = `/${objectId}`;
  switch (node.kind) {
    case 'object':
      return concat(
        node.instances.map((inst) =>
          tlv(OBJECT_INSTANCE, inst.id, encodeInstance(model, `${base}/${inst.id}`, inst), base),
        ),
      );
    case 'instance':
      return encodeInstance(model, `${base}/${instanceId}`, node);
    case 'singleResource':
    case 'multipleResource':
      return encodeResource(model, `${base}/${instanceId}`, node);
    case 'resourceInstance': {
      const where = `${base}/${instanceId}/${resourceId}`;
      const res = model?.resources.get(resourceId!);
      if (res !== undefined && !res.multiple) {
        throw new EncodeError(`${where}: the model says the resource is single`, {
          format: FORMAT,
        });
      }
      return encodeResourceInstance(res, where, node);
    }
  }
}

function encodeInstance(
  model: ObjectModel | undefined,
  where: string,
  inst: LwM2mObjectInstance,
): Uint8Array {
  return concat(inst.resources.map((r) => encodeResource(model, where, r)));
}

function encodeResource(
  model: ObjectModel | undefined,
  instancePath: string,
  node: LwM2mResource,
): Uint8Array {
  const where = `${instancePath}/${node.id}`;
  const res = model?.resources.get(node.id);
  const multiple = node.kind === 'multipleResource';
  if (res !== undefined && res.multiple !== multiple) {
    throw new EncodeError(
      `${where}: a ${multiple ? 'multiple' : 'single'} resource where the model says ${res.multiple ? 'multiple' : 'single'}`,
      { format: FORMAT },
    );
  }
  if (node.kind === 'multipleResource') {
    const content = concat(node.instances.map((ri) => encodeResourceInstance(res, where, ri)));
    return tlv(MULTIPLE_RESOURCE, node.id, content, where);
  }
  return tlv(RESOURCE, node.id, encodeValue(node, res, where), where);
}

function encodeResourceInstance(
  res: ResourceModel | undefined,
  resourcePath: string,
  node: LwM2mResourceInstance,
): Uint8Array {
  const where = `${resourcePath}/${node.id}`;
  return tlv(RESOURCE_INSTANCE, node.id, encodeValue(node, res, where), where);
}

function encodeValue(v: TypedValue, res: ResourceModel | undefined, where: string): Uint8Array {
  const value = { type: v.type, value: v.value } as TypedValue;
  checkValueForModel(value, res, { format: FORMAT, path: where });
  if (value.type === 'float' && !Number.isFinite(value.value)) {
    throw new EncodeError(`${where}: float ${value.value} is not finite`, { format: FORMAT });
  }
  return (VALUES[value.type] as ValueCodec<DataType>).encode(value.value);
}

/** One TLV: the smallest identifier and length forms that hold `id` and `value.length`. */
function tlv(kind: number, id: number, value: Uint8Array, where: string): Uint8Array {
  const len = value.length;
  if (len > MAX_LENGTH) {
    throw new EncodeError(`${where}: ${len} bytes exceed the 24-bit TLV length`, {
      format: FORMAT,
    });
  }
  const idBytes = id > 0xff ? 2 : 1;
  const lenBytes = len < 8 ? 0 : len <= 0xff ? 1 : len <= 0xffff ? 2 : 3;
  const out = new Uint8Array(1 + idBytes + lenBytes + len);
  out[0] = (kind << 6) | (idBytes === 2 ? 0x20 : 0) | (lenBytes << 3) | (lenBytes === 0 ? len : 0);
  let p = 1;
  if (idBytes === 2) out[p++] = id >> 8;
  out[p++] = id & 0xff;
  for (let k = lenBytes - 1; k >= 0; k--) out[p++] = (len >> (8 * k)) & 0xff;
  out.set(value, p);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** A TLV header as read: its kind (bits 7-6), id, where it starts and where its value lies. */
interface Tlv {
  readonly kind: number;
  readonly id: number;
  readonly offset: number;
  readonly start: number;
  readonly end: number;
}

function fail(offset: number, message: string): never {
  throw new DecodeError(message, { format: FORMAT, offset });
}

/**
 * Reads the sibling TLVs in `bytes[start, end)`. Every length is checked against the bytes that
 * are really there before anything is read or allocated, so a header claiming 16 MB in a short
 * buffer fails at once. Two siblings with one id are refused: the node model has no place for both.
 */
function readTlvs(bytes: Uint8Array, start: number, end: number): Tlv[] {
  const out: Tlv[] = [];
  let pos = start;
  while (pos < end) {
    const type = bytes[pos]!;
    const kind = type >> 6;
    const idBytes = type & 0x20 ? 2 : 1;
    const lenBytes = (type >> 3) & 0b11;
    let p = pos + 1;
    if (p + idBytes + lenBytes > end) {
      fail(pos, `${KIND_NAMES[kind]} TLV header is cut short (${end - pos} bytes left)`);
    }
    const id = idBytes === 2 ? (bytes[p]! << 8) | bytes[p + 1]! : bytes[p]!;
    p += idBytes;
    let len = lenBytes === 0 ? type & 0b111 : 0;
    for (let k = 0; k < lenBytes; k++) len = len * 256 + bytes[p++]!;
    if (len > end - p) {
      fail(
        pos,
        `${KIND_NAMES[kind]} TLV ${id}: length ${len} runs past the end (${end - p} bytes left)`,
      );
    }
    for (const sibling of out) {
      if (sibling.id === id)
        fail(pos, `${KIND_NAMES[kind]} TLV id ${id} appears twice at one level`);
    }
    out.push({ kind, id, offset: pos, start: p, end: p + len });
    pos = p + len;
  }
  return out;
}

interface Ctx {
  readonly bytes: Uint8Array;
  readonly model: ObjectModel | undefined;
  readonly objectId: number;
}

/**
 * Decodes an OMA TLV payload (Core TS 1.2 §7.4.5) that stands for the node at `path`. Types come
 * from `options.model`: TLV carries none, so without a model, or for a resource the model does
 * not know (or an executable one), values decode as Opaque.
 *
 * Accepted besides the canonical forms, as real clients send them and the spec does not forbid
 * them: below object level, the payload may be wrapped in the TLVs of the levels above it (an
 * Object Instance TLV around the resources of `/3/0` or around the resource of `/3/0/1`; a
 * Multiple Resource TLV around the one Resource Instance TLV of `/3/0/6/1`), but only when the
 * wrapping ids are the path's ids. Any id that contradicts the path is refused.
 */
export function decodeTlv(
  bytes: Uint8Array,
  path: LwM2mPath,
  options: CodecOptions = {},
): LwM2mNode {
  try {
    return decodeAt(bytes, path, options);
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    // Safety net: nothing but DecodeError leaves a decoder.
    throw new DecodeError(`cannot decode: ${e instanceof Error ? e.message : String(e)}`, {
      format: FORMAT,
      cause: e,
    });
  }
}

function decodeAt(bytes: Uint8Array, path: LwM2mPath, options: CodecOptions): LwM2mNode {
  const [o, i, r, ri] = path.ids;
  if (o === undefined) fail(0, 'a TLV payload needs an object, instance or resource path, not /');
  const ctx: Ctx = { bytes, model: options.model?.get(o), objectId: o };
  let tlvs = readTlvs(bytes, 0, bytes.length);
  if (i === undefined) {
    return lwm2mObject(
      o,
      tlvs.map((t) => {
        if (t.kind !== OBJECT_INSTANCE) {
          fail(t.offset, `${an(t.kind)} TLV where /${o} holds Object Instance TLVs`);
        }
        return decodeInstance(ctx, t.id, t);
      }),
    );
  }
  const instancePath = `/${o}/${i}`;
  tlvs = unwrap(bytes, tlvs, OBJECT_INSTANCE, i, instancePath);
  if (r === undefined) return decodeResources(ctx, instancePath, i, tlvs);
  const resourcePath = `${instancePath}/${r}`;
  if (ri === undefined) {
    const t = single(tlvs, resourcePath);
    if (t.kind !== RESOURCE && t.kind !== MULTIPLE_RESOURCE) {
      fail(t.offset, `${an(t.kind)} TLV where ${resourcePath} needs a Resource TLV`);
    }
    checkId(t, r, resourcePath);
    return decodeResource(ctx, instancePath, t);
  }
  const res = ctx.model?.resources.get(r);
  tlvs = unwrap(bytes, tlvs, MULTIPLE_RESOURCE, r, resourcePath);
  const t = single(tlvs, `${resourcePath}/${ri}`);
  if (t.kind !== RESOURCE_INSTANCE) {
    fail(t.offset, `${an(t.kind)} TLV where ${resourcePath}/${ri} needs a Resource Instance TLV`);
  }
  checkId(t, ri, `${resourcePath}/${ri}`);
  if (res !== undefined && !res.multiple) {
    fail(t.offset, `${resourcePath} is single in the model: it has no resource instances`);
  }
  return decodeResourceInstance(ctx, res, resourcePath, t);
}

/** When `tlvs` is one TLV of `kind` (a wrapper), checks its id and returns what it holds. */
function unwrap(bytes: Uint8Array, tlvs: Tlv[], kind: number, id: number, where: string): Tlv[] {
  if (tlvs.length !== 1 || tlvs[0]!.kind !== kind) return tlvs;
  const t = tlvs[0]!;
  checkId(t, id, where);
  return readTlvs(bytes, t.start, t.end);
}

function single(tlvs: readonly Tlv[], where: string): Tlv {
  if (tlvs.length === 0) fail(0, `no TLV for ${where}`);
  if (tlvs.length > 1) fail(tlvs[1]!.offset, `${where} is one node but the payload has more TLVs`);
  return tlvs[0]!;
}

function checkId(t: Tlv, expected: number, where: string): void {
  if (t.id !== expected) {
    fail(t.offset, `${KIND_NAMES[t.kind]} TLV id ${t.id} contradicts the path ${where}`);
  }
}

function decodeInstance(ctx: Ctx, id: number, t: Tlv): LwM2mObjectInstance {
  const where = `/${ctx.objectId}/${id}`;
  return decodeResources(ctx, where, id, readTlvs(ctx.bytes, t.start, t.end));
}

function decodeResources(
  ctx: Ctx,
  where: string,
  id: number,
  tlvs: readonly Tlv[],
): LwM2mObjectInstance {
  return objectInstance(
    id,
    tlvs.map((t) => {
      if (t.kind !== RESOURCE && t.kind !== MULTIPLE_RESOURCE) {
        fail(t.offset, `${an(t.kind)} TLV inside ${where}, which holds resources`);
      }
      return decodeResource(ctx, where, t);
    }),
  );
}

function decodeResource(ctx: Ctx, instancePath: string, t: Tlv): LwM2mResource {
  const where = `${instancePath}/${t.id}`;
  const res = ctx.model?.resources.get(t.id);
  const multiple = t.kind === MULTIPLE_RESOURCE;
  if (res !== undefined && res.multiple !== multiple) {
    fail(
      t.offset,
      `${where}: a ${KIND_NAMES[t.kind]} TLV but the model says the resource is ${res.multiple ? 'multiple' : 'single'}`,
    );
  }
  const type = typeOf(res);
  if (!multiple) return singleResource(t.id, type, decodeValue(ctx, type, where, t) as never);
  const instances = readTlvs(ctx.bytes, t.start, t.end).map((ri) => {
    if (ri.kind !== RESOURCE_INSTANCE) {
      fail(ri.offset, `${an(ri.kind)} TLV inside ${where}, which holds resource instances`);
    }
    return decodeResourceInstance(ctx, res, where, ri);
  });
  return multipleResource(t.id, type, instances);
}

function decodeResourceInstance(
  ctx: Ctx,
  res: ResourceModel | undefined,
  resourcePath: string,
  t: Tlv,
): LwM2mResourceInstance {
  const type = typeOf(res);
  const value = decodeValue(ctx, type, `${resourcePath}/${t.id}`, t);
  return resourceInstance(t.id, type, value as never);
}

function typeOf(res: ResourceModel | undefined): DataType {
  return res === undefined || res.type === 'none' ? 'opaque' : res.type;
}

function decodeValue(ctx: Ctx, type: DataType, where: string, t: Tlv): ValueByType[DataType] {
  return VALUES[type].decode(
    ctx.bytes,
    t.start,
    t.end,
    (why) => fail(t.offset, `${where}: ${why}`),
    where,
  );
}
