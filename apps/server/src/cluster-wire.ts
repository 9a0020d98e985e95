/**
 * The JSON form of server events relayed between the processes of a cluster (cluster.ts): events
 * carry values JSON has no type for (bigint integers, opaque bytes, times, paths, NaN), so those
 * travel as one-key tagged objects and come back as what they were.
 *
 * | value | on the wire |
 * |---|---|
 * | `bigint` | `{ "$big": "-12" }` |
 * | `Uint8Array` (and `Buffer`) | `{ "$bytes": "<base64>" }` |
 * | `Date` | `{ "$date": <ms since 1970> }` |
 * | `LwM2mPath` | `{ "$path": "/3/0/1" }` |
 * | `NaN`, `±Infinity` | `{ "$num": "NaN" }` |
 *
 * A key of a plain object that starts with `$` gets one more `$` on the wire, so no data (a
 * registration's `extraParameters`, say) can pass for a tag.
 */
import { LwM2mPath } from '@lwm2m-ts/core';

const TAGS = new Set(['$big', '$bytes', '$date', '$path', '$num']);

/** `value` as plain JSON data (see the table above); `undefined` members are left out. */
export function toWire(value: unknown): unknown {
  switch (typeof value) {
    case 'bigint':
      return { $big: value.toString() };
    case 'number':
      return Number.isFinite(value) ? value : { $num: String(value) };
    case 'string':
    case 'boolean':
      return value;
    case 'object': {
      if (value === null) return null;
      if (value instanceof Uint8Array) {
        return {
          $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'),
        };
      }
      if (value instanceof Date) return { $date: value.getTime() };
      if (value instanceof LwM2mPath) return { $path: value.toString() };
      if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : toWire(v)));
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
        out[k.startsWith('$') ? `$${k}` : k] = toWire(v);
      }
      return out;
    }
    default:
      return undefined;
  }
}

/** The value `toWire` was given (objects and arrays as plain, unfrozen copies). */
export function fromWire(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(fromWire);
  const entries = Object.entries(value);
  if (entries.length === 1) {
    const [tag, v] = entries[0]!;
    if (TAGS.has(tag)) return fromTag(tag, v);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) out[k.startsWith('$$') ? k.slice(1) : k] = fromWire(v);
  return out;
}

function fromTag(tag: string, v: unknown): unknown {
  switch (tag) {
    case '$big':
      if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
      break;
    case '$bytes':
      if (typeof v === 'string') return new Uint8Array(Buffer.from(v, 'base64'));
      break;
    case '$date':
      if (typeof v === 'number') return new Date(v);
      break;
    case '$path':
      if (typeof v === 'string') return LwM2mPath.parse(v);
      break;
    case '$num':
      if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return Number(v);
      break;
  }
  throw new TypeError(`bad ${tag} value on the wire: ${JSON.stringify(v)}`);
}
