/**
 * Typed values between what a person types or reads and what the REST API takes and gives
 * (apps/server/src/rest/json-values.ts): integers beyond 2^53 as decimal strings, opaque as
 * base64, time as ISO-8601, object links as "3:0".
 */
import type { DataType, JsonValue, ResourceSpec } from './model';

export type Parsed =
  | { readonly ok: true; readonly value: JsonValue }
  | { readonly ok: false; readonly error: string };

export type OpaqueEncoding = 'hex' | 'base64';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const fail = (error: string): Parsed => ({ ok: false, error });
const ok = (value: JsonValue): Parsed => ({ ok: true, value });

// ---------------------------------------------------------------------------------------------
// Bytes

/** `"0a FF:10"` → bytes (spaces, colons and a leading 0x are allowed); `undefined` when not hex. */
export function hexToBytes(text: string): Uint8Array | undefined {
  const clean = text.replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(clean)) return undefined;
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Standard base64 with padding (whitespace ignored); `undefined` when it is not base64. */
export function base64ToBytes(text: string): Uint8Array | undefined {
  const clean = text.replace(/\s/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) return undefined;
  try {
    const bin = atob(clean);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Time

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** A Date as the value of `<input type="datetime-local" step="1">`, in the browser's zone. */
export function toDateTimeLocal(date: Date): string {
  return (
    `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;
const ZONED_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * A time typed by a person: a `datetime-local` value (local time), an ISO-8601 date-time with a
 * zone, or a whole number of seconds since 1970. Returns ISO-8601 in UTC.
 */
export function parseTime(text: string): Parsed {
  const t = text.trim();
  if (t === '') return fail('enter a date and time');
  let date: Date | undefined;
  const local = LOCAL_DATE_TIME.exec(t);
  if (local) {
    const [, y, mo, d, h, mi, s] = local.map(Number) as number[];
    date = new Date(y!, mo! - 1, d!, h!, mi!, Number.isNaN(s) ? 0 : s!);
    if (date.getMonth() !== mo! - 1 || date.getDate() !== d!) date = undefined;
  } else if (ZONED_DATE_TIME.test(t)) {
    date = new Date(t);
  } else if (/^-?\d{1,12}$/.test(t)) {
    date = new Date(Number(t) * 1000);
  }
  if (date === undefined || Number.isNaN(date.getTime())) {
    return fail('expected a date and time (e.g. 2024-05-01T12:00:00) or seconds since 1970');
  }
  return ok(date.toISOString());
}

// ---------------------------------------------------------------------------------------------
// Parsing input

export interface ParseOptions {
  readonly range?: { readonly min: number; readonly max: number } | undefined;
  readonly enumeration?: readonly string[] | undefined;
  /** How opaque input is written. Default hex. */
  readonly encoding?: OpaqueEncoding | undefined;
}

function parseInteger(t: string, unsigned: boolean, o: ParseOptions): Parsed {
  if (!/^[+-]?\d{1,20}$/.test(t)) return fail('expected a whole number, e.g. 42');
  const n = BigInt(t);
  if (unsigned && n < 0n) return fail('expected a number of 0 or more');
  if (!unsigned && (n < INT64_MIN || n > INT64_MAX)) return fail('out of the signed 64-bit range');
  if (unsigned && n > UINT64_MAX) return fail('out of the unsigned 64-bit range');
  if (o.range && (n < BigInt(Math.ceil(o.range.min)) || n > BigInt(Math.floor(o.range.max)))) {
    return fail(`must be between ${o.range.min} and ${o.range.max}`);
  }
  return ok(n >= -SAFE && n <= SAFE ? Number(n) : n.toString());
}

function parseFloatValue(t: string, o: ParseOptions): Parsed {
  if (t === 'NaN' || t === 'Infinity' || t === '-Infinity') return ok(t);
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t))
    return fail('expected a number, e.g. 21.5');
  const n = Number(t);
  if (!Number.isFinite(n)) return fail('the number is too large');
  if (o.range && (n < o.range.min || n > o.range.max)) {
    return fail(`must be between ${o.range.min} and ${o.range.max}`);
  }
  return ok(n);
}

/**
 * What a person typed for a value of `type`, as the JSON the REST API takes, or why it is not
 * one. Text is taken as it is (no trimming) for string types; other types ignore outer spaces.
 */
export function parseValue(type: DataType, text: string, options: ParseOptions = {}): Parsed {
  const t = text.trim();
  switch (type) {
    case 'string':
    case 'corelnk':
      if (options.enumeration && options.enumeration.length > 0) {
        if (!options.enumeration.includes(text)) {
          return fail(`must be one of ${options.enumeration.join(', ')}`);
        }
      }
      return ok(text);
    case 'integer':
    case 'unsigned':
      return parseInteger(t, type === 'unsigned', options);
    case 'float':
      return parseFloatValue(t, options);
    case 'boolean':
      if (t === 'true' || t === '1') return ok(true);
      if (t === 'false' || t === '0') return ok(false);
      return fail('expected true or false');
    case 'opaque': {
      const bytes = options.encoding === 'base64' ? base64ToBytes(t) : hexToBytes(t);
      if (bytes === undefined) {
        return fail(
          options.encoding === 'base64'
            ? 'expected base64 (A–Z, a–z, 0–9, +, / and = padding)'
            : 'expected hexadecimal bytes, two digits each (e.g. 0a1b2c)',
        );
      }
      return ok(bytesToBase64(bytes));
    }
    case 'time':
      return parseTime(t);
    case 'objlnk': {
      const m = /^(\d{1,5}):(\d{1,5})$/.exec(t);
      if (!m || Number(m[1]) > 65535 || Number(m[2]) > 65535) {
        return fail('expected an object link objectId:instanceId, e.g. 3:0');
      }
      return ok(`${Number(m[1])}:${Number(m[2])}`);
    }
  }
}

/** The validation options a resource's model implies. */
export function optionsFor(
  spec: ResourceSpec | undefined,
  encoding?: OpaqueEncoding,
): ParseOptions {
  return {
    range: spec?.range,
    enumeration: spec?.type === 'string' ? spec.enumeration : undefined,
    encoding,
  };
}

// ---------------------------------------------------------------------------------------------
// Showing values

/** A value as text for a person (opaque in hex, time in the browser's zone). */
export function formatValue(type: DataType, value: JsonValue): string {
  switch (type) {
    case 'opaque': {
      const bytes = typeof value === 'string' ? base64ToBytes(value) : undefined;
      if (bytes === undefined) return String(value);
      if (bytes.length === 0) return '(0 bytes)';
      const hex = bytesToHex(bytes.subarray(0, 32));
      return `${hex}${bytes.length > 32 ? '…' : ''} (${bytes.length} byte${bytes.length === 1 ? '' : 's'})`;
    }
    case 'time': {
      const d = typeof value === 'string' ? new Date(value) : new Date(Number(value) * 1000);
      return Number.isNaN(d.getTime()) ? String(value) : d.toLocaleString();
    }
    case 'boolean':
      return value === true ? 'true' : value === false ? 'false' : String(value);
    default:
      return String(value);
  }
}

/** A value as the text an editor starts from (the inverse of `parseValue`). */
export function toInputText(
  type: DataType,
  value: JsonValue | undefined,
  encoding: OpaqueEncoding = 'hex',
): string {
  if (value === undefined) return '';
  if (type === 'opaque' && typeof value === 'string') {
    if (encoding === 'base64') return value;
    const bytes = base64ToBytes(value);
    return bytes === undefined ? '' : bytesToHex(bytes);
  }
  if (type === 'time' && typeof value === 'string') {
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? '' : toDateTimeLocal(d);
  }
  return String(value);
}

/** The numeric value of a JSON value, for charts; `undefined` when not a finite number. */
export function numericValue(type: DataType, value: JsonValue): number | undefined {
  if (type !== 'integer' && type !== 'unsigned' && type !== 'float') return undefined;
  const n =
    typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Execute arguments (Core TS 1.2 §5.4.5): `0`, `0='v'`, `0='a',1`; empty is none. */
export function checkExecuteArgs(text: string): string | undefined {
  if (text === '') return undefined;
  if (/^\d(='[^']*')?(,\d(='[^']*')?)*$/.test(text)) return undefined;
  return "arguments look like 0 or 0='value', separated by commas (digits 0–9 name them)";
}

/** Duration in words: 90 → "1 min 30 s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  if (s < 86400)
    return `${Math.floor(s / 3600)} h${s % 3600 >= 60 ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
  return `${Math.floor(s / 86400)} d${s % 86400 >= 3600 ? ` ${Math.floor((s % 86400) / 3600)} h` : ''}`;
}

/** "12 s ago", "3 min ago", "in 5 min" relative to `now`. */
export function formatRelative(ms: number, now: number): string {
  if (!Number.isFinite(ms)) return '—';
  const d = Math.round((now - ms) / 1000);
  if (Math.abs(d) < 2) return 'just now';
  return d > 0 ? `${formatDuration(d)} ago` : `in ${formatDuration(-d)}`;
}
