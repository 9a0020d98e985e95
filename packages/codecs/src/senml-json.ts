import { DecodeError, type LwM2mPath } from '@lwm2m-ts/core';
import type { CodecOptions, TimedValue } from './content.js';
import {
  base64Decode,
  base64Encode,
  isFloatSyntax,
  type JsonMember,
  type JsonValue,
  jsonFloat,
  jsonNumberValue,
  readJson,
} from './json-text.js';
import {
  emptyRecord,
  resolveSenml,
  resolveSenmlPaths,
  type SenmlRecord,
  type SenmlSource,
  senmlPathRecords,
  senmlRecordsOf,
} from './senml.js';

/**
 * SenML JSON, content format 110 `application/senml+json` (RFC 8428 §5; LwM2M: Core TS 1.2
 * §7.4.6): an array of records such as
 * `[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"9","v":95}]`.
 *
 * Numbers are read exactly (`json-text.ts`): a 64-bit integer is a bigint, never a rounded
 * double. Opaque `vd` is written as base64url without padding (RFC 8428 §5) and read in either
 * base64 alphabet with or without padding. Float values are written so they read back as the
 * same double, integral ones with `.0` so an untyped reader still sees a float.
 */
export const SENML_JSON_FORMAT = 'SenML JSON';
const FORMAT = SENML_JSON_FORMAT;
const encoder = new TextEncoder();

export function encodeSenmlJson(values: readonly TimedValue[], options?: CodecOptions): Uint8Array {
  return encoder.encode(writeRecords(senmlRecordsOf(values, FORMAT, options)));
}

export function decodeSenmlJson(bytes: Uint8Array, options?: CodecOptions): TimedValue[] {
  const { records, src } = readRecords(bytes);
  return resolveSenml(records, src, options);
}

/** The paths of a Read-Composite / Observe-Composite request: `[{"n":"/3/0/1"},{"n":"/1/0"}]`. */
export function encodeSenmlJsonPaths(paths: readonly LwM2mPath[]): Uint8Array {
  return encoder.encode(writeRecords(senmlPathRecords(paths)));
}

export function decodeSenmlJsonPaths(bytes: Uint8Array): LwM2mPath[] {
  const { records, src } = readRecords(bytes);
  return resolveSenmlPaths(records, src);
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

function writeRecords(records: readonly SenmlRecord[]): string {
  let s = '[';
  for (let i = 0; i < records.length; i++) {
    if (i > 0) s += ',';
    s += writeRecord(records[i]!);
  }
  return `${s}]`;
}

/** Fields in the order of the spec's examples: bn, bt, n, value, t. */
function writeRecord(r: SenmlRecord): string {
  let s = '';
  if (r.bn !== undefined) s += `,"bn":${JSON.stringify(r.bn)}`;
  if (r.bt !== undefined) s += `,"bt":${String(r.bt)}`;
  if (r.n !== undefined) s += `,"n":${JSON.stringify(r.n)}`;
  if (r.v !== undefined) {
    s += `,"v":${typeof r.v === 'bigint' ? r.v.toString() : r.vFloat ? jsonFloat(r.v) : String(r.v)}`;
  }
  if (r.vs !== undefined) s += `,"vs":${JSON.stringify(r.vs)}`;
  if (r.vb !== undefined) s += `,"vb":${r.vb}`;
  if (r.vd !== undefined) s += `,"vd":"${base64Encode(r.vd, true)}"`;
  if (r.vlo !== undefined) s += `,"vlo":${JSON.stringify(r.vlo)}`;
  if (r.t !== undefined) s += `,"t":${String(r.t)}`;
  return `{${s.slice(1)}}`;
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

function fail(message: string, offset: number): never {
  throw new DecodeError(message, { format: FORMAT, offset });
}

function readRecords(bytes: Uint8Array): { records: SenmlRecord[]; src: SenmlSource } {
  // A pack is an array of flat objects: depth 2, and 3 lets a nested value be named in a type
  // error instead of a nesting one.
  const doc = readJson(bytes, { format: FORMAT, maxDepth: 3 });
  if (doc.kind !== 'array') fail(`a SenML pack is a JSON array, not ${kindName(doc)}`, doc.offset);
  const records: SenmlRecord[] = [];
  const offsets: number[] = [];
  for (let i = 0; i < doc.items.length; i++) {
    const item = doc.items[i]!;
    if (item.kind !== 'object')
      fail(`record ${i} is ${kindName(item)}, not an object`, item.offset);
    records.push(recordOf(item.members, i));
    offsets.push(item.offset);
  }
  return { records, src: { format: FORMAT, offsets } };
}

function kindName(v: JsonValue): string {
  return v.kind === 'array' || v.kind === 'object' ? `an ${v.kind}` : `a ${v.kind}`;
}

const VALUE_FIELDS = new Set(['v', 'vs', 'vb', 'vd', 'vlo', 's']);

function recordOf(members: readonly JsonMember[], index: number): SenmlRecord {
  const r = emptyRecord();
  for (const { name, value, offset } of members) {
    const want = (kind: JsonValue['kind']): never =>
      fail(
        value.kind === 'null' && VALUE_FIELDS.has(name)
          ? `record ${index}: "${name}" is null: removing a value is SenML-ETCH (RFC 8790 §3.2), not SenML JSON`
          : `record ${index}: "${name}" must be a ${kind}, not ${kindName(value)}`,
        value.offset,
      );
    const number = (): number | bigint => {
      if (value.kind !== 'number') return want('number');
      return jsonNumberValue(value.text);
    };
    const double = (): number => {
      if (value.kind !== 'number') return want('number');
      const n = Number(value.text);
      if (!Number.isFinite(n)) fail(`record ${index}: "${name}" is out of range`, value.offset);
      return n;
    };
    const text = (): string => (value.kind === 'string' ? value.value : want('string'));
    // RFC 8428 §5 / Table 4: the JSON labels and their types.
    switch (name) {
      case 'bn':
        r.bn = text();
        break;
      case 'bt':
        r.bt = double();
        break;
      case 'bver':
        r.bver = double();
        break;
      case 'bv':
        r.bv = number();
        break;
      case 'n':
        r.n = text();
        break;
      case 't':
        r.t = double();
        break;
      case 'v':
        r.v = number();
        if (value.kind === 'number' && isFloatSyntax(value.text)) r.vFloat = true;
        break;
      case 'vs':
        r.vs = text();
        break;
      case 'vb':
        if (value.kind !== 'boolean') return want('boolean');
        r.vb = value.value;
        break;
      case 'vd': {
        const bytes = base64Decode(text());
        if (bytes === undefined) fail(`record ${index}: "vd" is not base64url`, value.offset);
        r.vd = bytes;
        break;
      }
      case 'vlo':
        r.vlo = text();
        break;
      case 's':
        r.s = number();
        break;
      // Units, base sum and update time mean nothing to LwM2M; their types are still checked.
      case 'u':
      case 'bu':
        text();
        break;
      case 'bs':
      case 'ut':
        number();
        break;
      default:
        // RFC 8428 §4.4: a field whose name ends in "_" must be understood, else the pack is
        // refused; other unknown fields are extensions a reader may ignore.
        if (name.endsWith('_')) {
          fail(`record ${index}: must-understand field "${name}" is not supported`, offset);
        }
    }
  }
  return r;
}
