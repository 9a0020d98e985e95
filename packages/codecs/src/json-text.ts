import { DecodeError } from '@lwm2m-ts/core';

/**
 * A strict JSON reader (RFC 8259) for the JSON content formats (SenML JSON, LwM2M JSON). Unlike
 * `JSON.parse` it keeps numbers as their source text, so a 64-bit integer such as
 * 9007199254740993 reaches the object model exactly instead of as the nearest double; it reports
 * the byte offset of every error, bounds the nesting depth (no stack overflow on hostile input)
 * and runs in time linear in the input. Object members keep their order; a repeated member name
 * is refused, since which of the two values counts would be a guess (RFC 8259 §4).
 */
export type JsonValue =
  | { readonly kind: 'null'; readonly offset: number }
  | { readonly kind: 'boolean'; readonly value: boolean; readonly offset: number }
  | { readonly kind: 'number'; readonly text: string; readonly offset: number }
  | { readonly kind: 'string'; readonly value: string; readonly offset: number }
  | { readonly kind: 'array'; readonly items: readonly JsonValue[]; readonly offset: number }
  | { readonly kind: 'object'; readonly members: readonly JsonMember[]; readonly offset: number };

export interface JsonMember {
  readonly name: string;
  /** Byte offset of the member's name. */
  readonly offset: number;
  readonly value: JsonValue;
}

export interface JsonReadOptions {
  /** The content format named in errors. */
  readonly format: string;
  /** Deepest nesting of arrays and objects accepted (default 16). */
  readonly maxDepth?: number;
}

const DEFAULT_MAX_DEPTH = 16;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads one JSON text from UTF-8 bytes; throws `DecodeError` (with the byte offset) on any error. */
export function readJson(bytes: Uint8Array, options: JsonReadOptions): JsonValue {
  const reader = new JsonReader(bytes, options.format, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  return reader.document();
}

class JsonReader {
  private pos = 0;

  constructor(
    private readonly b: Uint8Array,
    private readonly format: string,
    private readonly maxDepth: number,
  ) {}

  fail(message: string, offset: number = this.pos): never {
    throw new DecodeError(message, { format: this.format, offset });
  }

  document(): JsonValue {
    // RFC 8259 §8.1: a parser MAY ignore a byte order mark.
    if (this.b[0] === 0xef && this.b[1] === 0xbb && this.b[2] === 0xbf) this.pos = 3;
    this.ws();
    if (this.pos >= this.b.length) this.fail('empty input: expected a JSON value');
    const value = this.value(0);
    this.ws();
    if (this.pos < this.b.length) this.fail(`unexpected ${this.describe()} after the JSON value`);
    return value;
  }

  private ws(): void {
    const b = this.b;
    let p = this.pos;
    while (p < b.length) {
      const c = b[p]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    this.pos = p;
  }

  private describe(): string {
    if (this.pos >= this.b.length) return 'end of input';
    const c = this.b[this.pos]!;
    return c >= 0x20 && c < 0x7f ? `"${String.fromCharCode(c)}"` : `byte 0x${c.toString(16)}`;
  }

  private value(depth: number): JsonValue {
    const start = this.pos;
    switch (this.b[start]) {
      case 0x7b: // {
        return this.object(depth + 1);
      case 0x5b: // [
        return this.array(depth + 1);
      case 0x22: // "
        return { kind: 'string', value: this.string(), offset: start };
      case 0x74: // t
        this.literal('true');
        return { kind: 'boolean', value: true, offset: start };
      case 0x66: // f
        this.literal('false');
        return { kind: 'boolean', value: false, offset: start };
      case 0x6e: // n
        this.literal('null');
        return { kind: 'null', offset: start };
      default:
        return { kind: 'number', text: this.number(), offset: start };
    }
  }

  private literal(word: string): void {
    const b = this.b;
    for (let i = 0; i < word.length; i++) {
      if (b[this.pos + i] !== word.charCodeAt(i)) this.fail(`invalid literal: expected ${word}`);
    }
    this.pos += word.length;
  }

  private object(depth: number): JsonValue {
    const start = this.pos;
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth} levels`);
    this.pos++;
    const members: JsonMember[] = [];
    const names = new Set<string>();
    this.ws();
    if (this.b[this.pos] === 0x7d) {
      this.pos++;
      return { kind: 'object', members, offset: start };
    }
    for (;;) {
      this.ws();
      const offset = this.pos;
      if (this.b[offset] !== 0x22) this.fail(`expected a member name, got ${this.describe()}`);
      const name = this.string();
      if (names.has(name)) this.fail(`member "${name}" is given twice`, offset);
      names.add(name);
      this.ws();
      if (this.b[this.pos] !== 0x3a) this.fail(`expected ":", got ${this.describe()}`);
      this.pos++;
      this.ws();
      members.push({ name, offset, value: this.value(depth) });
      this.ws();
      const c = this.b[this.pos];
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x7d) {
        this.pos++;
        return { kind: 'object', members, offset: start };
      }
      this.fail(`expected "," or "}", got ${this.describe()}`);
    }
  }

  private array(depth: number): JsonValue {
    const start = this.pos;
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth} levels`);
    this.pos++;
    const items: JsonValue[] = [];
    this.ws();
    if (this.b[this.pos] === 0x5d) {
      this.pos++;
      return { kind: 'array', items, offset: start };
    }
    for (;;) {
      this.ws();
      if (this.pos >= this.b.length) this.fail('unterminated array', start);
      items.push(this.value(depth));
      this.ws();
      const c = this.b[this.pos];
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x5d) {
        this.pos++;
        return { kind: 'array', items, offset: start };
      }
      this.fail(`expected "," or "]", got ${this.describe()}`);
    }
  }

  /** RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, returned as text. */
  private number(): string {
    const b = this.b;
    const start = this.pos;
    let p = start;
    if (b[p] === 0x2d) p++;
    const digits = (): void => {
      const from = p;
      while (p < b.length && b[p]! >= 0x30 && b[p]! <= 0x39) p++;
      if (p === from) {
        this.pos = p;
        this.fail(p === start ? `unexpected ${this.describe()}` : 'malformed number', start);
      }
    };
    if (b[p] === 0x30) p++;
    else digits();
    if (b[p] === 0x2e) {
      p++;
      digits();
    }
    if (b[p] === 0x65 || b[p] === 0x45) {
      p++;
      if (b[p] === 0x2b || b[p] === 0x2d) p++;
      digits();
    }
    this.pos = p;
    return latin1(b, start, p);
  }

  /** A string starting at the opening quote; leaves `pos` after the closing quote. */
  private string(): string {
    const b = this.b;
    const open = this.pos;
    const start = open + 1;
    let p = start;
    let ascii = true;
    let escapes = false;
    for (;;) {
      if (p >= b.length) this.fail('unterminated string', open);
      const c = b[p]!;
      if (c === 0x22) break;
      if (c === 0x5c) {
        escapes = true;
        p += 2;
        continue;
      }
      if (c < 0x20) this.fail('control character in a string (RFC 8259 §7 wants it escaped)', p);
      if (c >= 0x80) ascii = false;
      p++;
    }
    this.pos = p + 1;
    if (!escapes) return ascii ? latin1(b, start, p) : this.utf8(start, p);
    return this.unescape(start, p);
  }

  private utf8(from: number, to: number): string {
    try {
      return utf8.decode(this.b.subarray(from, to));
    } catch {
      return this.fail('invalid UTF-8 in a string', from);
    }
  }

  private unescape(from: number, to: number): string {
    const b = this.b;
    let out = '';
    let run = from;
    let p = from;
    while (p < to) {
      if (b[p] !== 0x5c) {
        p++;
        continue;
      }
      if (run < p) out += this.utf8(run, p);
      const e = b[p + 1];
      switch (e) {
        case 0x22:
          out += '"';
          break;
        case 0x5c:
          out += '\\';
          break;
        case 0x2f:
          out += '/';
          break;
        case 0x62:
          out += '\b';
          break;
        case 0x66:
          out += '\f';
          break;
        case 0x6e:
          out += '\n';
          break;
        case 0x72:
          out += '\r';
          break;
        case 0x74:
          out += '\t';
          break;
        case 0x75: {
          let code = 0;
          for (let i = 2; i < 6; i++) {
            const h = p + i < to ? hexDigit(b[p + i]!) : -1;
            if (h < 0) this.fail('\\u escape needs four hex digits', p);
            code = code * 16 + h;
          }
          out += String.fromCharCode(code);
          p += 4;
          break;
        }
        default:
          this.fail('invalid escape sequence', p);
      }
      p += 2;
      run = p;
    }
    if (run < to) out += this.utf8(run, to);
    return out;
  }
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** ASCII bytes to a string without a decoder call (short member names and numbers dominate). */
function latin1(b: Uint8Array, from: number, to: number): string {
  if (to - from > 64)
    return Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('latin1');
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** The member named `name`, if present. */
export function member(
  obj: { readonly members: readonly JsonMember[] },
  name: string,
): JsonMember | undefined {
  for (const m of obj.members) if (m.name === name) return m;
  return undefined;
}

/** True when a JSON number's text has a fraction or exponent (`1.0`, `1e3`): written as a float. */
export function isFloatSyntax(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e || c === 0x65 || c === 0x45) return true;
  }
  return false;
}

/**
 * The value of a JSON number's text: integers in the safe range as numbers, larger ones of up to
 * 20 digits (every 64-bit integer) as exact bigints, everything else as the nearest double (which
 * may be ±Infinity for `1e999`: callers check).
 */
export function jsonNumberValue(text: string): number | bigint {
  if (isFloatSyntax(text)) return Number(text);
  const n = Number(text);
  if (Number.isSafeInteger(n)) return n;
  // Digits beyond 20 cannot be a 64-bit integer; BigInt() of a huge digit string is not linear.
  const digits = text.charCodeAt(0) === 0x2d ? text.length - 1 : text.length;
  return digits <= 20 ? BigInt(text) : n;
}

/**
 * JSON text of a finite double that reads back as the same double; integral values keep a
 * `.0` so a reader without a model still sees a float (as `valueToText` does).
 */
export function jsonFloat(n: number): string {
  if (Object.is(n, -0)) return '-0.0';
  return Number.isInteger(n) && Math.abs(n) < 1e21 ? n.toFixed(1) : String(n);
}

/**
 * Decodes base64 in either alphabet (RFC 4648 §4 `+/` or §5 `-_`), with or without padding;
 * undefined when the text is not base64 (a stray character, misplaced or excess `=`, or a
 * length no encoding produces). Checked by hand: Node's decoder skips what it does not know.
 */
export function base64Decode(text: string): Uint8Array | undefined {
  let len = text.length;
  let pad = 0;
  while (len > 0 && text.charCodeAt(len - 1) === 0x3d) {
    len--;
    pad++;
  }
  if (pad > 2 || (pad > 0 && text.length % 4 !== 0) || len % 4 === 1) return undefined;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    const ok =
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x30 && c <= 0x39) ||
      c === 0x2b ||
      c === 0x2f ||
      c === 0x2d ||
      c === 0x5f;
    if (!ok) return undefined;
  }
  // A copy: Buffer.from may hand out a slice of Node's shared pool.
  return new Uint8Array(Buffer.from(text.slice(0, len), 'base64'));
}

/** Base64 of bytes: RFC 4648 §5 base64url without padding when `url`, else §4 with padding. */
export function base64Encode(bytes: Uint8Array, url: boolean): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(
    url ? 'base64url' : 'base64',
  );
}
