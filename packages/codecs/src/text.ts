import {
  type DataType,
  DecodeError,
  EncodeError,
  type LwM2mPath,
  type TypedValue,
  valueFromText,
  valueToText,
} from '@lwm2m-ts/core';
import { checkValueForModel } from './wire-value.js';

const FORMAT = 'text/plain';

const encoder = new TextEncoder();
// `ignoreBOM`: a leading U+FEFF is part of the value, not a byte-order mark to strip, so strings
// survive a round trip unchanged.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Decodes `bytes[start, end)` as UTF-8, refusing malformed sequences (Core TS 1.2 Appendix C:
 * strings are UTF-8; a lossy decode would hand the application a string the peer never sent).
 * The `DecodeError` names `format` and the offset of the first bad byte.
 */
export function decodeUtf8(
  bytes: Uint8Array,
  format: string,
  start = 0,
  end = bytes.length,
  what = 'string',
): string {
  try {
    return decoder.decode(bytes.subarray(start, end));
  } catch (cause) {
    const at = firstInvalidUtf8(bytes, start, end);
    throw new DecodeError(`${what} is not valid UTF-8`, { format, offset: at, cause });
  }
}

/** Offset of the first byte that breaks UTF-8 (RFC 3629 §4), or `start` if none is found. */
function firstInvalidUtf8(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) n = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      if (b === 0xe0) lo = 0xa0; // overlong
      if (b === 0xed) hi = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      if (b === 0xf0) lo = 0x90; // overlong
      if (b === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || i + k >= end) return i;
      if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return start;
}

/**
 * text/plain (content format 0, Core TS 1.2 §7.4.1): one value in its text form (§7.3 and
 * Appendix C: decimal numbers, Boolean `0`/`1`, Time as seconds since 1970, Objlnk `obj:inst`,
 * Opaque as base64 since LwM2M 1.1).
 */
export function encodeText(value: TypedValue): Uint8Array {
  checkValueForModel(value, undefined, { format: FORMAT, path: 'value' });
  if (value.type === 'float' && !Number.isFinite(value.value)) {
    throw new EncodeError(`float ${value.value} is not finite`, { format: FORMAT });
  }
  return encoder.encode(valueToText(value));
}

/** Parses a text/plain payload as a value of `type`; `path` only names the value in errors. */
export function decodeText(bytes: Uint8Array, type: DataType, path?: LwM2mPath): TypedValue {
  const where = path === undefined ? '' : `${path}: `;
  const text = decodeUtf8(bytes, FORMAT, 0, bytes.length, `${where}text`);
  let value: TypedValue;
  try {
    value = valueFromText(type, text);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new DecodeError(`${where}${why}`, { format: FORMAT, offset: 0, cause });
  }
  if (value.type === 'float' && !Number.isFinite(value.value)) {
    throw new DecodeError(`${where}"${text}" is not a finite float`, { format: FORMAT, offset: 0 });
  }
  return value;
}
