import { LinkFormatError } from './errors.js';

/**
 * CoRE link format (RFC 6690) as LwM2M uses it: Register/Update payloads (Core TS 1.2 §6.2) and
 * Discover responses (Core TS 1.2 §6.3.2), e.g.
 * `</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>;ver=1.1` or `</3/0/7>;dim=2;gt=50;lt=42.2`.
 *
 * A parsed document keeps exactly what was written, so `formatLinkFormat(parseLinkFormat(s))`
 * only drops insignificant whitespace and needless escapes:
 *
 * - each attribute value records how it was written: an unquoted token (`ct=110`), a quoted
 *   string (`rt="oma.lwm2m"`, unescaped) or a flag with no value (`;obs`);
 * - attributes stay in document order, and an attribute name may repeat (RFC 6690 §2 allows
 *   e.g. several `rt`), so they are an ordered list of `[name, value]` entries, not a map.
 *   `getLinkAttribute` returns the first occurrence, `getLinkAttributes` all of them;
 * - names are kept and matched as written; LwM2M only uses lowercase names.
 *
 * The parser is a single forward scan (no backtracking regexes), so its time is linear in the
 * input. It is strict where RFC 6690 §2 is, and tolerant only of whitespace (SP, HTAB, CR, LF)
 * at the ends of the document and around the `,` and `;` delimiters, which some devices and
 * the spec's own examples (`</1>, </1/0>`) put there. An empty document has no links; an empty
 * link (a leading, doubled or trailing `,`) is an error, since the grammar has no empty
 * link-value and accepting one would hide a truncated payload.
 */

/** How one attribute value was written. `value` is unescaped for quoted strings. */
export type LinkAttributeValue =
  | { readonly kind: 'token'; readonly value: string }
  | { readonly kind: 'quoted'; readonly value: string }
  | { readonly kind: 'flag' };

/** One `;name[=value]` link parameter. */
export type LinkAttribute = readonly [name: string, value: LinkAttributeValue];

export interface Link {
  /** The URI-Reference between `<` and `>`, as written (LwM2M: a path such as `/3/0`). */
  readonly uri: string;
  /** Parameters in document order; names may repeat. */
  readonly attributes: readonly LinkAttribute[];
}

const FLAG: LinkAttributeValue = Object.freeze({ kind: 'flag' });

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function charTable(chars: string): Uint8Array {
  const table = new Uint8Array(128);
  for (const c of chars) table[c.charCodeAt(0)] = 1;
  return table;
}

// RFC 6690 §2 ptokenchar: what an unquoted value may contain.
const PTOKEN_CHARS = charTable(`${ALNUM}!#$%&'()*+-./:<=>?@[]^_\`{|}~`);
// RFC 5988 §5 parmname (RFC 5987 attr-char); a trailing `*` marks an ext-name-star (`title*`).
const PARMNAME_CHARS = charTable(`${ALNUM}!#$&+-.^_\`|~`);

// Only the link-format relation-type and string parameters are quoted when the builder gets a
// plain string, matching how RFC 6690 §2 and Core TS 1.2 write them (`rt="oma.lwm2m"`).
const QUOTED_BY_DEFAULT: ReadonlySet<string> = new Set([
  'rt',
  'if',
  'rel',
  'rev',
  'anchor',
  'title',
]);

const SP = 0x20;
const HTAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const DQUOTE = 0x22;
const COMMA = 0x2c;
const SEMI = 0x3b;
const LT = 0x3c;
const EQ = 0x3d;
const GT = 0x3e;
const STAR = 0x2a;
const BACKSLASH = 0x5c;

function isWhitespace(c: number): boolean {
  return c === SP || c === HTAB || c === LF || c === CR;
}

/** C0 controls and DEL; HTAB is allowed in quoted strings (RFC 2616 §2.2 LWS). */
function isControl(c: number): boolean {
  return (c < 0x20 && c !== HTAB) || c === 0x7f;
}

function inTable(table: Uint8Array, c: number): boolean {
  return c < 128 && table[c] === 1;
}

function isPtoken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!inTable(PTOKEN_CHARS, s.charCodeAt(i))) return false;
  return true;
}

/** A readable, bounded excerpt of `text` around `at` for error messages (input may be 1 MB). */
function near(text: string, at: number): string {
  const from = Math.max(0, at - 16);
  const to = Math.min(text.length, at + 16);
  const head = from > 0 ? '…' : '';
  const tail = to < text.length ? '…' : '';
  return `near ${JSON.stringify(head + text.slice(from, to) + tail)}`;
}

function describeChar(text: string, at: number): string {
  return at < text.length ? JSON.stringify(text[at]) : 'end of input';
}

class Parser {
  pos = 0;
  constructor(readonly text: string) {}

  fail(at: number, problem: string): LinkFormatError {
    return new LinkFormatError(`${problem} at offset ${at}, ${near(this.text, at)}`);
  }

  code(at: number): number {
    return at < this.text.length ? this.text.charCodeAt(at) : -1;
  }

  skipWhitespace(): void {
    while (this.pos < this.text.length && isWhitespace(this.text.charCodeAt(this.pos))) this.pos++;
  }

  parseDocument(): Link[] {
    const links: Link[] = [];
    this.skipWhitespace();
    if (this.pos === this.text.length) return links;
    for (;;) {
      links.push(this.parseLink());
      // parseLink stops at end of input or at a ',' (whitespace already skipped).
      if (this.pos === this.text.length) return links;
      const comma = this.pos;
      this.pos++;
      this.skipWhitespace();
      if (this.pos === this.text.length) {
        throw this.fail(comma, 'trailing "," with no link after it');
      }
    }
  }

  parseLink(): Link {
    const start = this.pos;
    if (this.code(start) !== LT) {
      const what =
        this.code(start) === COMMA ? 'empty link (extra ",")' : 'expected "<" to start a link';
      throw this.fail(start, `${what}, found ${describeChar(this.text, start)}`);
    }
    const uri = this.parseUri();
    const attributes: LinkAttribute[] = [];
    for (;;) {
      this.skipWhitespace();
      const c = this.code(this.pos);
      if (c === -1 || c === COMMA) break;
      if (c !== SEMI) {
        throw this.fail(
          this.pos,
          `expected ";" or "," after link <${uri}>, found ${describeChar(this.text, this.pos)}`,
        );
      }
      this.pos++;
      this.skipWhitespace();
      attributes.push(this.parseAttribute(uri));
    }
    return Object.freeze({ uri, attributes: Object.freeze(attributes) });
  }

  /** `<` URI-Reference `>`; a URI-Reference has no `<`, `>`, `"` or whitespace (RFC 3986 §2). */
  parseUri(): string {
    const open = this.pos;
    const text = this.text;
    for (let i = open + 1; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === GT) {
        this.pos = i + 1;
        return text.slice(open + 1, i);
      }
      if (c === LT || c === DQUOTE || isWhitespace(c) || isControl(c)) {
        throw this.fail(
          i,
          `${describeChar(text, i)} is not allowed in the URI of the link starting at offset ${open} (missing ">"?)`,
        );
      }
    }
    throw this.fail(open, 'unterminated URI: no ">" after "<"');
  }

  parseAttribute(uri: string): LinkAttribute {
    const text = this.text;
    const start = this.pos;
    let end = start;
    while (end < text.length && inTable(PARMNAME_CHARS, text.charCodeAt(end))) end++;
    if (end > start && this.code(end) === STAR) end++;
    if (end === start) {
      const c = this.code(start);
      const problem =
        c === -1 || c === SEMI || c === COMMA || c === EQ
          ? `empty attribute name in link <${uri}>`
          : `${describeChar(text, start)} cannot start an attribute name in link <${uri}>`;
      throw this.fail(start, problem);
    }
    const name = text.slice(start, end);
    const next = this.code(end);
    this.pos = end;
    if (next === EQ) {
      this.pos++;
      const value = this.code(this.pos) === DQUOTE ? this.parseQuoted(name) : this.parseToken(name);
      return Object.freeze([name, value] as const);
    }
    if (next !== -1 && next !== SEMI && next !== COMMA && !isWhitespace(next)) {
      throw this.fail(end, `${describeChar(text, end)} is not allowed in attribute name "${name}"`);
    }
    return Object.freeze([name, FLAG] as const);
  }

  /** RFC 6690 §2 ptoken: runs to the next delimiter, which must follow directly. */
  parseToken(name: string): LinkAttributeValue {
    const text = this.text;
    const start = this.pos;
    let end = start;
    while (end < text.length && inTable(PTOKEN_CHARS, text.charCodeAt(end))) end++;
    const next = this.code(end);
    if (next !== -1 && next !== SEMI && next !== COMMA && !isWhitespace(next)) {
      throw this.fail(
        end,
        `${describeChar(text, end)} is not allowed in the unquoted value of "${name}" (quote the value)`,
      );
    }
    if (end === start) throw this.fail(start, `missing value after "${name}="`);
    this.pos = end;
    return Object.freeze({ kind: 'token', value: text.slice(start, end) });
  }

  /** RFC 2616 §2.2 quoted-string: `\x` stands for `x`; the value must not hold control chars. */
  parseQuoted(name: string): LinkAttributeValue {
    const text = this.text;
    const open = this.pos;
    let value = '';
    let chunk = open + 1;
    for (let i = open + 1; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === DQUOTE) {
        value += text.slice(chunk, i);
        this.pos = i + 1;
        const next = this.code(this.pos);
        if (next !== -1 && next !== SEMI && next !== COMMA && !isWhitespace(next)) {
          throw this.fail(
            this.pos,
            `expected ";" or "," after the quoted value of "${name}", found ${describeChar(text, this.pos)}`,
          );
        }
        return Object.freeze({ kind: 'quoted', value });
      }
      if (c === BACKSLASH) {
        value += text.slice(chunk, i);
        i++;
        if (i === text.length) break;
        if (isControl(text.charCodeAt(i))) {
          throw this.fail(i, `control character in the quoted value of "${name}"`);
        }
        chunk = i;
      } else if (isControl(c)) {
        throw this.fail(i, `control character in the quoted value of "${name}"`);
      }
    }
    throw this.fail(open, `unterminated quoted value of "${name}"`);
  }
}

/**
 * Parses an application/link-format document (RFC 6690 §2). Throws `LinkFormatError` naming the
 * problem, its offset and an excerpt of the input. The result is deeply frozen.
 */
export function parseLinkFormat(text: string): Link[] {
  return new Parser(text).parseDocument();
}

function checkUri(uri: string): void {
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c === LT || c === GT || c === DQUOTE || isWhitespace(c) || isControl(c)) {
      throw new LinkFormatError(
        `link URI ${JSON.stringify(uri)} contains ${JSON.stringify(uri[i])}, which cannot appear between "<" and ">"`,
      );
    }
  }
}

function checkName(name: string, uri: string): void {
  const last = name.length - 1;
  let ok = name.length > 0 && !(last === 0 && name.charCodeAt(0) === STAR);
  for (let i = 0; ok && i < name.length; i++) {
    const c = name.charCodeAt(i);
    ok = inTable(PARMNAME_CHARS, c) || (i === last && c === STAR);
  }
  if (!ok) {
    throw new LinkFormatError(
      `attribute name ${JSON.stringify(name)} of link <${uri}> is not a valid RFC 6690 parameter name`,
    );
  }
}

function checkQuotable(value: string, name: string, uri: string): void {
  for (let i = 0; i < value.length; i++) {
    if (isControl(value.charCodeAt(i))) {
      throw new LinkFormatError(
        `value ${JSON.stringify(value)} of "${name}" in link <${uri}> contains a control character`,
      );
    }
  }
}

function formatLink(l: Link): string {
  checkUri(l.uri);
  let out = `<${l.uri}>`;
  for (const [name, value] of l.attributes) {
    checkName(name, l.uri);
    out += `;${name}`;
    if (value.kind === 'flag') continue;
    // A "token" that is not a valid ptoken (empty, spaces, quotes…) is quoted so the output
    // stays parseable; it then parses back as kind "quoted".
    if (value.kind === 'token' && isPtoken(value.value)) {
      out += `=${value.value}`;
    } else {
      checkQuotable(value.value, name, l.uri);
      out += `="${value.value.replace(/["\\]/g, '\\$&')}"`;
    }
  }
  return out;
}

/**
 * Writes links in canonical form: no whitespace, `,` between links, values quoted when they
 * were quoted or are not a ptoken, with `"` and `\` escaped. Throws `LinkFormatError` for a
 * URI, name or value that no link-format text can carry.
 */
export function formatLinkFormat(links: readonly Link[]): string {
  return links.map(formatLink).join(',');
}

/**
 * Builds a link from plain values, in the order given: `true` is a flag (`;obs`), `false` is
 * left out, a number is a token (`ct=11543`), and a string is a token when it is a valid
 * ptoken (`ver=1.1`) except for `rt`, `if`, `rel`, `rev`, `anchor` and `title`, which are
 * quoted as RFC 6690 and LwM2M write them (`rt="oma.lwm2m"`). Build `Link` objects directly
 * for repeated names or explicit quoting.
 */
export function link(
  uri: string,
  attrs: Readonly<Record<string, string | number | boolean>> = {},
): Link {
  checkUri(uri);
  const attributes: LinkAttribute[] = [];
  for (const [name, v] of Object.entries(attrs)) {
    checkName(name, uri);
    let value: LinkAttributeValue;
    if (v === false) continue;
    if (v === true) {
      value = FLAG;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) {
        throw new LinkFormatError(
          `value ${v} of "${name}" in link <${uri}> is not a finite number`,
        );
      }
      value = { kind: 'token', value: String(v) };
    } else {
      checkQuotable(v, name, uri);
      const quoted = QUOTED_BY_DEFAULT.has(name) || !isPtoken(v);
      value = { kind: quoted ? 'quoted' : 'token', value: v };
    }
    attributes.push(Object.freeze([name, Object.freeze(value)] as const));
  }
  return Object.freeze({ uri, attributes: Object.freeze(attributes) });
}

function plain(value: LinkAttributeValue): string | true {
  return value.kind === 'flag' ? true : value.value;
}

/** The first value of attribute `name`: its text, `true` for a flag, or undefined. */
export function getLinkAttribute(l: Link, name: string): string | true | undefined {
  for (const [n, v] of l.attributes) if (n === name) return plain(v);
  return undefined;
}

/** Every value of attribute `name`, in document order (RFC 6690 §2 allows repeats). */
export function getLinkAttributes(l: Link, name: string): (string | true)[] {
  const out: (string | true)[] = [];
  for (const [n, v] of l.attributes) if (n === name) out.push(plain(v));
  return out;
}
