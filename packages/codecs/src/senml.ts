import {
  DecodeError,
  EncodeError,
  LwM2mPath,
  type ObjectLink,
  type ResourceModel,
  type TypedValue,
  timeToSeconds,
} from '@lwm2m-ts/core';
import { type CodecOptions, resourceModelAt, type TimedValue } from './content.js';
import { checkValueForModel, typeWireValue, type WireValue } from './wire-value.js';

/**
 * The SenML data model (RFC 8428) shared by SenML JSON (content format 110) and SenML CBOR (112),
 * with the rules LwM2M adds (Core TS 1.2 §7.4.6 SenML JSON, §7.4.7 SenML CBOR; §7.4.5 and
 * §7.4.6 in Core TS 1.1.1):
 *
 * - the resolved name (base name + name, RFC 8428 §4.5.1) is an LwM2M path, `/3/0/1` or
 *   `/3/0/7/0`; LwM2M sends `bn: "/3/0/"` and `n: "1"`, or a full path in `n`;
 * - a value record is a resource or a resource instance; `v` carries Integer, Unsigned Integer,
 *   Float and Time (seconds), `vs` String and Corelnk, `vb` Boolean, `vd` Opaque, and the LwM2M
 *   field `vlo` an Objlnk as `"objectId:instanceId"`;
 * - Read-Composite and Observe-Composite requests carry records with a name and no value, the
 *   paths to read (`[{"n":"/3/0/1"},{"n":"/1/0"}]`, Core TS 1.2 §6.3.8 and §7.4.6): those are
 *   read by `resolveSenmlPaths`, never by `resolveSenml`.
 *
 * Times follow RFC 8428 §4.5.3: base time + time, both in seconds; a record with neither has no
 * time (`TimedValue.time` is absent, "now").
 */
export interface SenmlRecord {
  /** Base name, prepended to this and every later record's name. */
  readonly bn?: string;
  /** Base time (seconds), added to this and every later record's time. */
  readonly bt?: number;
  /** Base version (RFC 8428 §4.4); 10 when absent. Versions above 10 are refused. */
  readonly bver?: number;
  /** Base value, added to this and every later record's `v` (RFC 8428 §4.6). */
  readonly bv?: number | bigint;
  readonly n?: string;
  /** Time (seconds), relative to the base time. */
  readonly t?: number;
  /** Numeric value; a bigint when it is an integer beyond 2^53 (64-bit values stay exact). */
  readonly v?: number | bigint;
  /** Set when `v` was written as a float (JSON `1.0`): a decode without a model keeps it a float. */
  readonly vFloat?: boolean;
  readonly vs?: string;
  readonly vb?: boolean;
  readonly vd?: Uint8Array;
  /** LwM2M Objlnk value, `"objectId:instanceId"` (Core TS 1.2 §7.4.6). */
  readonly vlo?: string;
  /** Sum (RFC 8428 §4.2): LwM2M has no use for it; tolerated next to a value, refused alone. */
  readonly s?: number | bigint;
}

/** A record under construction (decoders fill one field at a time). */
export type MutableSenmlRecord = { -readonly [K in keyof SenmlRecord]: SenmlRecord[K] };

/** The SenML version this implementation understands (RFC 8428 §4.4). */
export const SENML_VERSION = 10;

/** Where records came from, for errors: the format and each record's byte offset. */
export interface SenmlSource {
  readonly format: string;
  readonly offsets?: readonly number[] | undefined;
}

function recordError(
  format: string,
  index: number,
  offset: number | undefined,
  message: string,
): DecodeError {
  return new DecodeError(
    `record ${index}: ${message}`,
    offset === undefined ? { format } : { format, offset },
  );
}

/**
 * Parses a resolved name as an LwM2M path. Names are scanned by hand (no regex, no split) and
 * `LwM2mPath.parse` runs only to explain a name that is not a canonical path. Paths are
 * immutable, so parsed names are remembered across calls: a server decodes the same few names
 * over and over. Only canonical paths (at most 24 characters) are kept, at most 4096 of them.
 */
export function pathOfName(name: string): LwM2mPath {
  let path = pathCache.get(name);
  if (path !== undefined) return path;
  path = scanPath(name) ?? LwM2mPath.parse(name);
  if (pathCache.size >= PATH_CACHE_SIZE) pathCache.clear();
  pathCache.set(name, path);
  return path;
}

const PATH_CACHE_SIZE = 4096;
const pathCache = new Map<string, LwM2mPath>();

/** `/3/0/1` for ids [3, 0, 1] from `from` on (`from` > 0: `0/1`, relative, no leading slash). */
export function idsText(ids: readonly number[], from: number): string {
  let s = from === 0 ? `/${ids[0]}` : `${ids[from]}`;
  for (let i = from + 1; i < ids.length; i++) s += `/${ids[i]}`;
  return s;
}

function scanPath(name: string): LwM2mPath | undefined {
  const len = name.length;
  if (len === 0 || name.charCodeAt(0) !== 0x2f) return undefined;
  if (len === 1) return LwM2mPath.ROOT;
  const ids: number[] = [];
  let i = 1;
  for (;;) {
    const start = i;
    let id = 0;
    while (i < len) {
      const c = name.charCodeAt(i);
      if (c === 0x2f) break;
      if (c < 0x30 || c > 0x39) return undefined;
      id = id * 10 + (c - 0x30);
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 5 || id > 65535) return undefined;
    if (digits > 1 && name.charCodeAt(start) === 0x30) return undefined;
    if (ids.push(id) > 4) return undefined;
    if (i === len) break;
    i++;
    if (i === len) return undefined;
  }
  return LwM2mPath.of(...ids);
}

/** Parses an Objlnk's text form `objectId:instanceId` (Core TS 1.2 Appendix C), ids 0..65535. */
export function parseObjectLink(text: string): ObjectLink | undefined {
  const colon = text.indexOf(':');
  const objectId = decimalId(text, 0, colon);
  const instanceId = decimalId(text, colon + 1, text.length);
  if (colon < 0 || objectId < 0 || instanceId < 0) return undefined;
  return { objectId, instanceId };
}

function decimalId(text: string, from: number, to: number): number {
  if (to - from < 1 || to - from > 5) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + (c - 0x30);
  }
  return n > 65535 ? -1 : n;
}

export function formatObjectLink(link: ObjectLink): string {
  return `${link.objectId}:${link.instanceId}`;
}

/**
 * A stand-in resource model that types a number written as a float (`v: 1.0`) as Float when no
 * model is known, so a float survives an untyped round trip through SenML JSON.
 */
export const FLOAT_HINT: ResourceModel = Object.freeze({
  id: 0,
  name: 'float',
  operations: 'RW',
  multiple: false,
  mandatory: false,
  type: 'float',
});

function isIntegral(n: number | bigint): boolean {
  return typeof n === 'bigint' || Number.isInteger(n);
}

/** Base value + value (RFC 8428 §4.6): exact when both are integers, a double otherwise. */
function addValues(base: number | bigint, v: number | bigint): number | bigint {
  if (isIntegral(base) && isIntegral(v)) {
    if (typeof base === 'number' && typeof v === 'number') {
      const sum = base + v;
      if (Number.isSafeInteger(sum)) return sum;
    }
    return BigInt(base) + BigInt(v);
  }
  return Number(base) + Number(v);
}

function checkVersion(
  r: SenmlRecord,
  format: string,
  index: number,
  offset: number | undefined,
): void {
  const bver = r.bver;
  if (bver === undefined) return;
  if (!Number.isInteger(bver) || bver < 1) {
    throw recordError(format, index, offset, `bver ${bver} is not a positive integer`);
  }
  // RFC 8428 §4.4: a reader MUST NOT use a pack whose version is newer than it understands.
  if (bver > SENML_VERSION) {
    throw recordError(
      format,
      index,
      offset,
      `SenML version ${bver} is newer than ${SENML_VERSION}`,
    );
  }
}

/*
 * Resolved names, by base name and then name: a base name's names are looked up without
 * concatenating and hashing `bn + n` for every record. Only names that parse as paths are kept
 * (so keys are short), at most 4096 in all.
 */
const NAME_CACHE_SIZE = 4096;
const namesByBase = new Map<string, Map<string, LwM2mPath>>();
let cachedNames = 0;
const NO_NAMES: ReadonlyMap<string, LwM2mPath> = new Map();

function namesUnder(baseName: string): ReadonlyMap<string, LwM2mPath> {
  return namesByBase.get(baseName) ?? NO_NAMES;
}

function resolveName(
  baseName: string,
  r: SenmlRecord,
  format: string,
  index: number,
  offset: number | undefined,
): LwM2mPath {
  const path = parseName(nameOf(baseName, r, format, index, offset), format, index, offset);
  if (cachedNames >= NAME_CACHE_SIZE) {
    namesByBase.clear();
    cachedNames = 0;
  }
  let names = namesByBase.get(baseName);
  if (names === undefined) {
    names = new Map();
    namesByBase.set(baseName, names);
  }
  names.set(r.n ?? '', path);
  cachedNames++;
  return path;
}

function nameOf(
  baseName: string,
  r: SenmlRecord,
  format: string,
  index: number,
  offset: number | undefined,
): string {
  const name = r.n === undefined ? baseName : baseName + r.n;
  if (name === '') {
    throw recordError(format, index, offset, 'no name: bn and n are both empty or absent');
  }
  return name;
}

function parseName(
  name: string,
  format: string,
  index: number,
  offset: number | undefined,
): LwM2mPath {
  try {
    return pathOfName(name);
  } catch (e) {
    throw recordError(
      format,
      index,
      offset,
      `name "${name}" is not an LwM2M path: ${(e as Error).message}`,
    );
  }
}

/**
 * Resolves records (RFC 8428 §4.6) into timed values, typing each with the model
 * (`typeWireValue`): a value the model does not allow is a `DecodeError`, as is a record with no
 * value or two, a name that is not a resource or resource-instance path, a time that is not
 * finite and a version above 10. Base name, base time and base value carry over to later records.
 */
export function resolveSenml(
  records: readonly SenmlRecord[],
  src: SenmlSource,
  options: CodecOptions = {},
): TimedValue[] {
  const resolver = new SenmlResolver(src.format, options);
  for (let i = 0; i < records.length; i++) resolver.add(records[i]!, i, src.offsets?.[i]);
  return resolver.values;
}

/**
 * `resolveSenml` one record at a time, so a reader can resolve each record as soon as it has
 * read it (and reuse one record object): the record is not kept.
 */
export class SenmlResolver {
  readonly values: TimedValue[] = [];
  private readonly model: CodecOptions['model'];
  private baseName = '';
  private baseTime: number | undefined;
  private baseValue: number | bigint | undefined;
  private names = namesUnder('');

  constructor(
    private readonly format: string,
    options: CodecOptions = {},
  ) {
    this.model = options.model;
  }

  add(r: SenmlRecord, index: number, offset: number | undefined): void {
    const format = this.format;
    if (r.bver !== undefined) checkVersion(r, format, index, offset);
    if (r.bn !== undefined && r.bn !== this.baseName) {
      this.baseName = r.bn;
      this.names = namesUnder(r.bn);
    }
    if (r.bt !== undefined) {
      if (!Number.isFinite(r.bt))
        throw recordError(format, index, offset, `bt ${r.bt} is not a finite number`);
      this.baseTime = r.bt;
    }
    if (r.bv !== undefined) this.baseValue = r.bv;
    const baseName = this.baseName;
    let path = this.names.get(r.n ?? '');
    if (path === undefined) {
      path = resolveName(baseName, r, format, index, offset);
      this.names = namesUnder(baseName);
    }
    if (path.ids.length < 3) {
      throw recordError(
        format,
        index,
        offset,
        `"${baseName + (r.n ?? '')}" is not a resource or resource instance path`,
      );
    }

    let wire: WireValue | undefined;
    let fields = 0;
    let floatHint = false;
    if (r.v !== undefined) {
      fields++;
      floatHint = r.vFloat === true;
      const v = this.baseValue === undefined ? r.v : addValues(this.baseValue, r.v);
      if (typeof v === 'number' && !Number.isInteger(v)) floatHint = true;
      wire = { kind: 'number', value: v };
    }
    if (r.vs !== undefined) {
      fields++;
      wire = { kind: 'string', value: r.vs };
    }
    if (r.vb !== undefined) {
      fields++;
      wire = { kind: 'boolean', value: r.vb };
    }
    if (r.vd !== undefined) {
      fields++;
      wire = { kind: 'bytes', value: r.vd };
    }
    if (r.vlo !== undefined) {
      fields++;
      const link = parseObjectLink(r.vlo);
      if (link === undefined) {
        throw recordError(
          format,
          index,
          offset,
          `vlo "${r.vlo}" is not objectId:instanceId (0..65535 each)`,
        );
      }
      wire = { kind: 'objlnk', value: link };
    }
    if (wire === undefined) {
      const name = baseName + (r.n ?? '');
      throw recordError(
        format,
        index,
        offset,
        r.s === undefined
          ? `${name}: no value (v, vs, vb, vd or vlo); records without a value are Read-Composite paths`
          : `${name}: a sum without a value has no LwM2M meaning`,
      );
    }
    if (fields > 1)
      throw recordError(
        format,
        index,
        offset,
        `${baseName + (r.n ?? '')}: more than one value field`,
      );

    const t = r.t;
    if (t !== undefined && !Number.isFinite(t))
      throw recordError(format, index, offset, `t ${t} is not a finite number`);
    const resource = resourceModelAt(this.model, path) ?? (floatHint ? FLOAT_HINT : undefined);
    let value: TypedValue;
    try {
      value = typeWireValue(wire, resource, { format, offset, path: '' });
    } catch {
      // Again, to name the record in the error (built only when there is one).
      value = typeWireValue(wire, resource, {
        format,
        offset,
        path: `record ${index} (${baseName + (r.n ?? '')})`,
      });
    }
    const time = this.baseTime === undefined ? t : this.baseTime + (t ?? 0);
    this.values.push(time === undefined ? { path, value } : { path, value, time });
  }
}

/**
 * Resolves the records of a Read-Composite or Observe-Composite request (Core TS 1.2 §6.3.8,
 * and Observe-Composite in §6.4): each names a path (any level, `/` included) and carries no value. Times and units
 * (RFC 8790 §3.1 allows them in a Fetch pack) are ignored.
 */
export function resolveSenmlPaths(records: readonly SenmlRecord[], src: SenmlSource): LwM2mPath[] {
  const out: LwM2mPath[] = [];
  let baseName = '';
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const offset = src.offsets?.[i];
    checkVersion(r, src.format, i, offset);
    if (r.bn !== undefined) baseName = r.bn;
    const name = nameOf(baseName, r, src.format, i, offset);
    if (
      r.v !== undefined ||
      r.vs !== undefined ||
      r.vb !== undefined ||
      r.vd !== undefined ||
      r.vlo !== undefined ||
      r.s !== undefined
    ) {
      throw recordError(
        src.format,
        i,
        offset,
        `${name}: a path record of a composite request carries no value`,
      );
    }
    out.push(parseName(name, src.format, i, offset));
  }
  return out;
}

/** Records naming each path in full, as the spec's composite requests do: `[{n: "/3/0/1"}]`. */
export function senmlPathRecords(paths: readonly LwM2mPath[]): SenmlRecord[] {
  return paths.map((p) => ({ n: p.toString() }));
}

/**
 * How timed values are laid out as records, decided once for a whole pack by `planSenml`:
 *
 * - names: the longest path prefix shared by all values becomes the base name of the first
 *   record (`bn: "/3/0/"`, `n: "0"`, `n: "6/0"`, as the Core TS 1.2 §7.4.6 examples), the
 *   whole path when all values share one path (a history: `bn: "/3303/0/5700"` and no `n`), and
 *   no base name when the values share no object (`n: "/3/0/0"`, `n: "/1/0/1"`);
 * - times: see `SenmlTimes`.
 */
export interface SenmlPlan {
  /** How many leading ids of every path make up the base name (0: no base name). */
  readonly prefix: number;
  /** Every value has the same path: `bn` is that path and records have no `n`. */
  readonly onePath: boolean;
  /** Every value has a time (`bt` and relative `t`), rather than some or none. */
  readonly allTimed: boolean;
}

/**
 * Checks every value against the model (`checkValueForModel`; a float must be finite, a time a
 * finite number, a path a resource or resource instance) and plans the records' names.
 */
export function planSenml(
  values: readonly TimedValue[],
  format: string,
  options: CodecOptions = {},
): SenmlPlan {
  if (values.length === 0) return { prefix: 0, onePath: false, allTimed: false };
  const model = options.model;
  const first = values[0]!.path.ids;
  let prefix = first.length;
  let minLength = first.length;
  let sameLength = true;
  let timed = 0;
  for (const tv of values) {
    const path = tv.path;
    const ids = path.ids;
    if (ids.length < 3) {
      throw new EncodeError(
        `${path}: SenML carries values of resources and resource instances only`,
        { format },
      );
    }
    checkValueAt(tv.value, resourceModelAt(model, path), format, path);
    if (tv.time !== undefined) {
      if (typeof tv.time !== 'number' || !Number.isFinite(tv.time)) {
        throw new EncodeError(`${path}: time ${tv.time} is not a finite number`, { format });
      }
      timed++;
    }
    if (ids.length !== first.length) sameLength = false;
    if (ids.length < minLength) minLength = ids.length;
    let k = 0;
    const m = Math.min(prefix, ids.length);
    while (k < m && ids[k] === first[k]) k++;
    prefix = k;
  }
  const onePath = sameLength && prefix === first.length;
  // A value's own path cannot also be the base of names below it: keep `n` non-empty.
  if (!onePath && prefix >= minLength) prefix = minLength - 1;
  return { prefix, onePath, allTimed: timed === values.length };
}

/**
 * The time fields of successive records (RFC 8428 §4.5.3). When every value has a time, `bt` is
 * the first value's time and later records carry `t` relative to it (none when equal; a new `bt`
 * when the difference would not add back to the exact time). When only some have one, each
 * timed record carries its time as `t` and there is no `bt`, so untimed records stay untimed.
 */
export class SenmlTimes {
  /** The current record's `bt` and `t`, set by `next`. */
  bt: number | undefined;
  t: number | undefined;
  private base: number | undefined;

  constructor(private readonly allTimed: boolean) {}

  next(time: number | undefined): void {
    this.bt = undefined;
    this.t = undefined;
    if (time === undefined) return;
    if (!this.allTimed) this.t = time;
    else if (this.base === undefined) this.bt = this.base = time;
    else if (time !== this.base) {
      const t = time - this.base;
      if (this.base + t === time) this.t = t;
      else this.bt = this.base = time;
    }
  }
}

/** Builds the records for timed values (checked and laid out by `planSenml`). */
export function senmlRecordsOf(
  values: readonly TimedValue[],
  format: string,
  options: CodecOptions = {},
): SenmlRecord[] {
  const { prefix, onePath, allTimed } = planSenml(values, format, options);
  const out: SenmlRecord[] = [];
  const times = new SenmlTimes(allTimed);
  for (let i = 0; i < values.length; i++) {
    const tv = values[i]!;
    const r = emptyRecord();
    if (i === 0) {
      const first = tv.path.ids;
      if (onePath) r.bn = idsText(first, 0);
      else if (prefix > 0) r.bn = `${idsText(first.slice(0, prefix), 0)}/`;
    }
    if (!onePath) r.n = idsText(tv.path.ids, prefix);
    times.next(tv.time);
    r.bt = times.bt;
    r.t = times.t;
    setValue(r, tv);
    out.push(r);
  }
  return out;
}

/** A record with every field present (undefined when absent): one object shape for all. */
export function emptyRecord(): MutableSenmlRecord {
  return {
    bn: undefined,
    bt: undefined,
    bver: undefined,
    bv: undefined,
    n: undefined,
    t: undefined,
    v: undefined,
    vFloat: undefined,
    vs: undefined,
    vb: undefined,
    vd: undefined,
    vlo: undefined,
    s: undefined,
  };
}

/**
 * `checkValueForModel`, with the path text built only for an error: the check runs once per
 * value and the text would cost more than the check.
 */
export function checkValueAt(
  value: TypedValue,
  resource: ResourceModel | undefined,
  format: string,
  path: LwM2mPath,
): void {
  try {
    checkValueForModel(value, resource, { format, path: '' });
  } catch (e) {
    checkValueForModel(value, resource, { format, path: path.toString() });
    throw e;
  }
}

function setValue(r: MutableSenmlRecord, tv: TimedValue): void {
  const v = tv.value;
  switch (v.type) {
    case 'string':
    case 'corelnk':
      r.vs = v.value;
      break;
    case 'integer':
    case 'unsigned':
      r.v = v.value;
      break;
    case 'float':
      r.v = v.value;
      r.vFloat = true;
      break;
    case 'time':
      // Core TS 1.2 Appendix C: Time is seconds since 1970 in `v`.
      r.v = timeToSeconds(v.value);
      break;
    case 'boolean':
      r.vb = v.value;
      break;
    case 'opaque':
      r.vd = v.value;
      break;
    case 'objlnk':
      r.vlo = formatObjectLink(v.value);
      break;
  }
}
