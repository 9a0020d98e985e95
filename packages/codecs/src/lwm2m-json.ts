import { DecodeError, EncodeError, type LwM2mPath, timeToSeconds } from '@lwm2m-ts/core';
import { type CodecOptions, resourceModelAt, type TimedValue } from './content.js';
import {
  base64Decode,
  base64Encode,
  isFloatSyntax,
  type JsonMember,
  type JsonValue,
  jsonFloat,
  jsonNumberValue,
  member,
  readJson,
} from './json-text.js';
import {
  checkValueAt,
  FLOAT_HINT,
  formatObjectLink,
  idsText,
  parseObjectLink,
  pathOfName,
} from './senml.js';
import { typeWireValue, type WireValue } from './wire-value.js';

/**
 * LwM2M JSON, content format 11543 `application/vnd.oma.lwm2m+json` (legacy 1543): the LwM2M 1.0
 * format (Core TS 1.0 §6.4.4, kept in Core TS 1.1.1 §7.4.7 for compatibility):
 *
 * ```
 * {"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"6/0","v":1}]}
 * ```
 *
 * `bn` is the request path and each `n` is relative to it; `e` holds the entries. Values: `v`
 * (number: Integer, Unsigned Integer, Float, Time), `bv` (Boolean), `ov` (Objlnk,
 * `"objectId:instanceId"`), `sv` (String, Corelnk, and Opaque as base64). `bt` is a base time
 * and `t` an entry's time relative to it.
 *
 * Decoding: without `bn`, names are relative to the request path (as in the 1.0 examples that
 * omit it) unless they start with `/`. A name resolving outside the request path is refused.
 * Opaque in `sv` is read in either base64 alphabet, padded or not; written as RFC 4648 §4
 * base64 with padding. Unknown members are ignored.
 */
export const LWM2M_JSON_FORMAT = 'LwM2M JSON';
const FORMAT = LWM2M_JSON_FORMAT;
const textEncoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/**
 * Encodes values under the request path `path`. Names are relative to `bn` = the request path
 * (`"/3/0/"`, `n: "6/0"`); when every value sits at the request path itself (a single resource,
 * or the history of one), `bn` is that path and entries have no name. Times: when every value
 * has one, `bt` is the first time and entries carry the difference as `t`; otherwise each timed
 * entry carries its time in `t`.
 */
export function encodeLwm2mJson(
  path: LwM2mPath,
  values: readonly TimedValue[],
  options: CodecOptions = {},
): Uint8Array {
  let atPath = 0;
  let timed = 0;
  for (const tv of values) {
    const p = tv.path;
    if (!path.contains(p)) {
      throw new EncodeError(`${p} lies outside the request path ${path}`, { format: FORMAT });
    }
    if (p.ids.length < 3) {
      throw new EncodeError(`${p}: entries are resources or resource instances`, {
        format: FORMAT,
      });
    }
    checkValueAt(tv.value, resourceModelAt(options.model, p), FORMAT, p);
    if (tv.time !== undefined) {
      if (!Number.isFinite(tv.time)) {
        throw new EncodeError(`${p}: time ${tv.time} is not a finite number`, { format: FORMAT });
      }
      timed++;
    }
    if (p.ids.length === path.ids.length) atPath++;
  }
  const named = values.length === 0 || atPath === 0;
  if (!named && atPath < values.length) {
    throw new EncodeError(`a value at ${path} itself cannot be sent with values below it`, {
      format: FORMAT,
    });
  }
  // One `bt` for the whole payload: usable when every value has a time and every difference
  // adds back exactly.
  let baseTime: number | undefined;
  if (timed > 0 && timed === values.length) {
    const bt = values[0]!.time!;
    if (values.every((tv) => bt + (tv.time! - bt) === tv.time)) baseTime = bt;
  }

  const bn = named ? (path.isRoot() ? '/' : `${path}/`) : path.toString();
  let s = `{"bn":${JSON.stringify(bn)}`;
  if (baseTime !== undefined) s += `,"bt":${String(baseTime)}`;
  s += ',"e":[';
  const depth = path.ids.length;
  for (let i = 0; i < values.length; i++) {
    const tv = values[i]!;
    let e = '';
    // Relative to bn; under the root bn "/" the name is the path without its leading slash.
    if (named)
      e += `,"n":"${depth === 0 ? idsText(tv.path.ids, 0).slice(1) : idsText(tv.path.ids, depth)}"`;
    e += valueMember(tv);
    if (tv.time !== undefined) {
      const t = baseTime === undefined ? tv.time : tv.time - baseTime;
      if (baseTime === undefined || t !== 0) e += `,"t":${String(t)}`;
    }
    s += `${i > 0 ? ',' : ''}{${e.slice(1)}}`;
  }
  return textEncoder.encode(`${s}]}`);
}

function valueMember(tv: TimedValue): string {
  const v = tv.value;
  switch (v.type) {
    case 'string':
    case 'corelnk':
      return `,"sv":${JSON.stringify(v.value)}`;
    case 'opaque':
      return `,"sv":"${base64Encode(v.value, false)}"`;
    case 'integer':
    case 'unsigned':
      return `,"v":${v.value.toString()}`;
    case 'float':
      return `,"v":${jsonFloat(v.value)}`;
    case 'time':
      return `,"v":${timeToSeconds(v.value)}`;
    case 'boolean':
      return `,"bv":${v.value}`;
    case 'objlnk':
      return `,"ov":"${formatObjectLink(v.value)}"`;
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

function fail(message: string, offset: number): never {
  throw new DecodeError(message, { format: FORMAT, offset });
}

function kindName(v: JsonValue): string {
  return v.kind === 'array' || v.kind === 'object' ? `an ${v.kind}` : `a ${v.kind}`;
}

/**
 * Decodes a payload answering (or carried by) a request on `path` into timed values, typed with
 * the model. Refuses entries that resolve outside `path` or above resource level, entries with
 * no value or two, and values the model does not allow.
 */
export function decodeLwm2mJson(
  bytes: Uint8Array,
  path: LwM2mPath,
  options: CodecOptions = {},
): TimedValue[] {
  // Object → entry array → entry: depth 3 (4 lets a nested value fail as a type error).
  const doc = readJson(bytes, { format: FORMAT, maxDepth: 4 });
  if (doc.kind !== 'object') fail(`the payload is a JSON object, not ${kindName(doc)}`, doc.offset);
  const bnMember = member(doc, 'bn');
  const btMember = member(doc, 'bt');
  const eMember = member(doc, 'e');
  let bn: string | undefined;
  if (bnMember !== undefined) {
    if (bnMember.value.kind !== 'string') fail('"bn" must be a string', bnMember.value.offset);
    bn = bnMember.value.value;
  }
  let bt: number | undefined;
  if (btMember !== undefined) bt = finite(btMember, 'bt');
  if (eMember === undefined) fail('no "e" (entry array)', doc.offset);
  const entries = eMember.value;
  if (entries.kind !== 'array')
    fail(`"e" must be an array, not ${kindName(entries)}`, entries.offset);

  const relativeBase = path.isRoot() ? '/' : `${path}/`;
  const out: TimedValue[] = [];
  for (let i = 0; i < entries.items.length; i++) {
    const entry = entries.items[i]!;
    if (entry.kind !== 'object')
      fail(`entry ${i} is ${kindName(entry)}, not an object`, entry.offset);
    out.push(decodeEntry(entry.members, entry.offset, i, bn, bt, path, relativeBase, options));
  }
  return out;
}

function finite(m: JsonMember, what: string): number {
  if (m.value.kind !== 'number') fail(`"${what}" must be a number`, m.value.offset);
  const n = Number(m.value.text);
  if (!Number.isFinite(n)) fail(`"${what}" is out of range`, m.value.offset);
  return n;
}

function decodeEntry(
  members: readonly JsonMember[],
  offset: number,
  index: number,
  bn: string | undefined,
  bt: number | undefined,
  request: LwM2mPath,
  relativeBase: string,
  options: CodecOptions,
): TimedValue {
  const where = `entry ${index}`;
  let n: string | undefined;
  let t: number | undefined;
  let valueMember: JsonMember | undefined;
  for (const m of members) {
    switch (m.name) {
      case 'n':
        if (m.value.kind !== 'string') fail(`${where}: "n" must be a string`, m.value.offset);
        n = m.value.value;
        break;
      case 't':
        t = finite(m, 't');
        break;
      case 'v':
      case 'bv':
      case 'ov':
      case 'sv':
        if (valueMember !== undefined) fail(`${where}: more than one value member`, m.offset);
        valueMember = m;
        break;
      default:
        break;
    }
  }
  // Core TS 1.0 §6.4.4: the name is appended to the base name.
  let name: string;
  if (bn !== undefined) name = bn + (n ?? '');
  else if (n === undefined) name = request.toString();
  else name = n.startsWith('/') ? n : relativeBase + n;
  let path: LwM2mPath;
  try {
    path = pathOfName(name);
  } catch (e) {
    return fail(`${where}: name "${name}" is not an LwM2M path: ${(e as Error).message}`, offset);
  }
  if (!request.contains(path))
    fail(`${where}: ${path} lies outside the request path ${request}`, offset);
  if (path.ids.length < 3) fail(`${where}: ${path} is not a resource or resource instance`, offset);
  if (valueMember === undefined) fail(`${where}: no value (v, bv, ov or sv)`, offset);

  const resource = resourceModelAt(options.model, path);
  const v = valueMember.value;
  const bad = (want: string): never =>
    fail(`${where}: "${valueMember.name}" must be ${want}, not ${kindName(v)}`, v.offset);
  let wire: WireValue;
  let type = resource?.type;
  switch (valueMember.name) {
    case 'v':
      if (v.kind !== 'number') return bad('a number');
      wire = { kind: 'number', value: jsonNumberValue(v.text) };
      // A float-looking number keeps its float type when no model says otherwise.
      if ((type === undefined || type === 'none') && isFloatSyntax(v.text)) type = 'float';
      break;
    case 'bv':
      if (v.kind !== 'boolean') return bad('a boolean');
      wire = { kind: 'boolean', value: v.value };
      break;
    case 'ov': {
      if (v.kind !== 'string') return bad('a string');
      const link = parseObjectLink(v.value);
      if (link === undefined)
        fail(`${where}: "ov" "${v.value}" is not objectId:instanceId`, v.offset);
      wire = { kind: 'objlnk', value: link };
      break;
    }
    default: {
      if (v.kind !== 'string') return bad('a string');
      if (type === 'opaque') {
        // Core TS 1.0 §6.4.4: an Opaque resource's value is base64 in "sv".
        const bytes = base64Decode(v.value);
        if (bytes === undefined)
          fail(`${where}: "sv" of an Opaque resource is not base64`, v.offset);
        wire = { kind: 'bytes', value: bytes };
      } else wire = { kind: 'string', value: v.value };
    }
  }
  const value = typeWireValue(wire, type === resource?.type ? resource : FLOAT_HINT, {
    format: FORMAT,
    offset: v.offset,
    path: `${where} (${name})`,
  });
  const time = bt === undefined ? t : bt + (t ?? 0);
  return time === undefined ? { path, value } : { path, value, time };
}
