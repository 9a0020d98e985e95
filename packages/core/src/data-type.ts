import { InvalidValueError } from './errors.js';

/**
 * The data types of Core TS 1.2 Appendix C and their TypeScript representations:
 *
 * | LwM2M type       | `DataType`   | TypeScript                     |
 * |------------------|--------------|--------------------------------|
 * | String           | `string`     | `string`                       |
 * | Integer          | `integer`    | `bigint` (signed 64-bit)       |
 * | Unsigned Integer | `unsigned`   | `bigint` (unsigned 64-bit)     |
 * | Float            | `float`      | `number` (IEEE 754 double)     |
 * | Boolean          | `boolean`    | `boolean`                      |
 * | Opaque           | `opaque`     | `Uint8Array`                   |
 * | Time             | `time`       | `Date` (whole seconds on wire) |
 * | Objlnk           | `objlnk`     | `{ objectId, instanceId }`     |
 * | Corelnk          | `corelnk`    | `string` (RFC 6690 text)       |
 *
 * Integers are always `bigint` so a value never silently loses precision between a device and a
 * REST client; helpers accept `number` where a caller builds values by hand. Time is a `Date`
 * because users read it as a point in time; encoders send whole seconds since 1970 (Appendix C),
 * so sub-second parts are dropped on the wire. The model's type "none" (executable resources)
 * has no value and is not a `DataType`.
 */
export interface ValueByType {
  string: string;
  integer: bigint;
  unsigned: bigint;
  float: number;
  boolean: boolean;
  opaque: Uint8Array;
  time: Date;
  objlnk: ObjectLink;
  corelnk: string;
}

export type DataType = keyof ValueByType;

/** A resource's type in an object model: a data type, or `none` for executable resources. */
export type ResourceType = DataType | 'none';

/** An Objlnk value: a reference to an object instance (`65535:65535` is the null link). */
export interface ObjectLink {
  readonly objectId: number;
  readonly instanceId: number;
}

/** A value with its type, as a discriminated union: narrowing on `type` types `value`. */
export type TypedValue = {
  [T in DataType]: { readonly type: T; readonly value: ValueByType[T] };
}[DataType];

export const DATA_TYPES: readonly DataType[] = Object.freeze([
  'string',
  'integer',
  'unsigned',
  'float',
  'boolean',
  'opaque',
  'time',
  'objlnk',
  'corelnk',
]);

export function isDataType(s: string): s is DataType {
  return (DATA_TYPES as readonly string[]).includes(s);
}

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
export const UINT64_MAX = 2n ** 64n - 1n;
const MAX_ID = 65535;

function isId(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_ID;
}

/** True when `value` is a valid representation of `type` (ranges included). */
export function isValueOfType<T extends DataType>(
  type: T,
  value: unknown,
): value is ValueByType[T] {
  switch (type) {
    case 'string':
    case 'corelnk':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'bigint' && value >= INT64_MIN && value <= INT64_MAX;
    case 'unsigned':
      return typeof value === 'bigint' && value >= 0n && value <= UINT64_MAX;
    case 'float':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'opaque':
      return value instanceof Uint8Array;
    case 'time':
      return value instanceof Date && !Number.isNaN(value.getTime());
    case 'objlnk': {
      const link = value as ObjectLink | null;
      return (
        typeof link === 'object' && link !== null && isId(link.objectId) && isId(link.instanceId)
      );
    }
    default:
      return false;
  }
}

/** Builds a checked `TypedValue`; integers may be given as safe-integer numbers. */
export function typedValue<T extends DataType>(
  type: T,
  value: ValueByType[T] | (T extends 'integer' | 'unsigned' ? number : never),
): TypedValue {
  let v: unknown = value;
  if ((type === 'integer' || type === 'unsigned') && typeof v === 'number') {
    if (!Number.isSafeInteger(v)) {
      throw new InvalidValueError(`${String(v)} is not a safe integer for type ${type}`);
    }
    v = BigInt(v);
  }
  if (!isValueOfType(type, v)) {
    throw new InvalidValueError(`${describe(v)} is not a valid ${type} value`);
  }
  if (type === 'objlnk') {
    const link = v as ObjectLink;
    v = Object.freeze({ objectId: link.objectId, instanceId: link.instanceId });
  }
  return Object.freeze({ type, value: v }) as TypedValue;
}

function describe(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `Uint8Array(${v.length})`;
  if (v instanceof Date) return `Date(${v.getTime()})`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Seconds since 1970 of a Time value, as LwM2M sends it (floored). */
export function timeToSeconds(date: Date): bigint {
  return BigInt(Math.floor(date.getTime() / 1000));
}

export function timeFromSeconds(seconds: bigint | number): Date {
  const ms = Number(seconds) * 1000;
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) {
    throw new InvalidValueError(`${String(seconds)} s is outside the range of a Date`);
  }
  return date;
}

const DECIMAL_INTEGER = /^[+-]?\d+$/;
const DECIMAL_FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The text form of a value, as text/plain carries it (Core TS 1.2 §7.3): decimal numbers,
 * booleans as `0`/`1`, time as seconds since 1970, Objlnk as `obj:inst`, Opaque as base64.
 */
export function valueToText(v: TypedValue): string {
  switch (v.type) {
    case 'string':
    case 'corelnk':
      return v.value;
    case 'integer':
    case 'unsigned':
      return v.value.toString();
    case 'float':
      return Number.isInteger(v.value) && Math.abs(v.value) < 1e21
        ? v.value.toFixed(1)
        : String(v.value);
    case 'boolean':
      return v.value ? '1' : '0';
    case 'opaque':
      return Buffer.from(v.value.buffer, v.value.byteOffset, v.value.byteLength).toString('base64');
    case 'time':
      return timeToSeconds(v.value).toString();
    case 'objlnk':
      return `${v.value.objectId}:${v.value.instanceId}`;
  }
}

/** Parses the text form of `valueToText`; throws `InvalidValueError` naming the problem. */
export function valueFromText(type: DataType, text: string): TypedValue {
  const bad = (why: string) => new InvalidValueError(`"${text}" is not a valid ${type}: ${why}`);
  switch (type) {
    case 'string':
    case 'corelnk':
      return typedValue(type, text);
    case 'integer':
    case 'unsigned':
    case 'time': {
      if (!DECIMAL_INTEGER.test(text)) throw bad('expected a decimal integer');
      const n = BigInt(text);
      if (type === 'time') return typedValue('time', timeFromSeconds(n));
      if (!isValueOfType(type, n)) throw bad('out of range');
      return typedValue(type, n);
    }
    case 'float': {
      if (!DECIMAL_FLOAT.test(text)) throw bad('expected a decimal number');
      return typedValue('float', Number(text));
    }
    case 'boolean':
      if (text === '1') return typedValue('boolean', true);
      if (text === '0') return typedValue('boolean', false);
      throw bad('expected 0 or 1');
    case 'opaque': {
      const compact = text.replace(/\s+/g, '');
      if (!BASE64.test(compact) || compact.length % 4 === 1) throw bad('expected base64');
      return typedValue('opaque', new Uint8Array(Buffer.from(compact, 'base64')));
    }
    case 'objlnk': {
      const m = /^(\d{1,5}):(\d{1,5})$/.exec(text);
      if (!m) throw bad('expected objectId:instanceId');
      return typedValue('objlnk', { objectId: Number(m[1]), instanceId: Number(m[2]) });
    }
  }
}

/**
 * Converts a value to another data type where the conversion is lossless or well defined
 * (number ↔ number within range, time ↔ integer seconds, anything ↔ its text form, boolean ↔
 * 0/1). Throws `InvalidValueError` when the value does not fit the target type.
 */
export function convertValue(v: TypedValue, to: DataType): TypedValue {
  if (v.type === to) return v;
  if (to === 'string' || to === 'corelnk') {
    return typedValue(to, v.type === 'opaque' ? new TextDecoder().decode(v.value) : valueToText(v));
  }
  switch (v.type) {
    case 'string':
    case 'corelnk':
      if (to === 'opaque') return typedValue('opaque', new TextEncoder().encode(v.value));
      return valueFromText(to, v.value);
    case 'integer':
    case 'unsigned':
      return fromBigint(v.value, to, v);
    case 'time':
      return fromBigint(timeToSeconds(v.value), to, v);
    case 'boolean':
      if (to === 'float') return typedValue('float', v.value ? 1 : 0);
      return fromBigint(v.value ? 1n : 0n, to, v);
    case 'float':
      if (Number.isInteger(v.value)) return fromBigint(BigInt(v.value), to, v);
      break;
    default:
      break;
  }
  throw new InvalidValueError(`cannot convert ${v.type} to ${to}`);
}

function fromBigint(n: bigint, to: DataType, from: TypedValue): TypedValue {
  switch (to) {
    case 'integer':
    case 'unsigned':
      if (!isValueOfType(to, n)) throw new InvalidValueError(`${n} is out of range for ${to}`);
      return typedValue(to, n);
    case 'float':
      return typedValue('float', Number(n));
    case 'time':
      return typedValue('time', timeFromSeconds(n));
    case 'boolean':
      if (n === 0n || n === 1n) return typedValue('boolean', n === 1n);
      throw new InvalidValueError(`${n} is not a boolean (0 or 1)`);
    default:
      throw new InvalidValueError(`cannot convert ${from.type} to ${to}`);
  }
}
