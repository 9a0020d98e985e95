import { InvalidAttributeError } from './errors.js';
import type { Link, LinkAttribute } from './link-format.js';
import type { PathLevel } from './path.js';

/**
 * <NOTIFICATION> class attributes (Core TS 1.2 §5.1.2, Table 5.1.2-2): the ones a server sets
 * with Write-Attributes (Core TS 1.2 §6.3.4) or in an Observe's query, and a client reports in
 * Discover responses (Core TS 1.2 §6.3.2).
 *
 * | Name    | Meaning                       | Value                        |
 * |---------|-------------------------------|------------------------------|
 * | `pmin`  | minimum period                | integer seconds ≥ 0          |
 * | `pmax`  | maximum period (0 = none)     | integer seconds ≥ 0          |
 * | `gt`    | greater-than threshold        | float                        |
 * | `lt`    | less-than threshold           | float                        |
 * | `st`    | step                          | float ≥ 0                    |
 * | `epmin` | minimum evaluation period     | integer seconds ≥ 0          |
 * | `epmax` | maximum evaluation period     | integer seconds ≥ 0          |
 * | `edge`  | 0 = falling edge, 1 = rising  | `0` or `1`                   |
 * | `con`   | confirmable notifications     | `0` or `1`                   |
 * | `hqmax` | maximum historical queue      | integer ≥ 0                  |
 *
 * `edge` and `con` stay `0 | 1` as on the wire: `edge` picks a transition rather than switching
 * something on, so a boolean would read wrongly. Integers must be safe integers.
 *
 * Numbers on the wire: the table's grammar is `1*DIGIT` for integers and
 * `1*DIGIT ["." 1*DIGIT]` for floats. Parsing also takes a leading `-` and an exponent
 * (`gt=-5.5`, `lt=1e3`), since thresholds may be negative and peers write both; formatting
 * writes plain decimals without an exponent (`1e21` → `1000000000000000000000`), which
 * parse back to the same number.
 */
export interface WriteAttributes {
  readonly pmin?: number;
  readonly pmax?: number;
  readonly gt?: number;
  readonly lt?: number;
  readonly st?: number;
  readonly epmin?: number;
  readonly epmax?: number;
  readonly edge?: 0 | 1;
  readonly con?: 0 | 1;
  readonly hqmax?: number;
}

export type WriteAttributeName = keyof WriteAttributes;

/**
 * A Write-Attributes request: a value sets the attribute, `null` unsets it (`?pmin` with no
 * value; Core TS 1.2 §6.3.4), absent leaves it as it is.
 */
export type AttributeUpdate = {
  readonly [K in WriteAttributeName]?: WriteAttributes[K] | null;
};

/** Where an attribute is assigned (Core TS 1.2 §5.1.1). */
export type AttributeLevel = Exclude<PathLevel, 'root'>;

export interface AttributeContext {
  readonly level: AttributeLevel;
  /** Whether the target resource is numeric (integer, unsigned, float); unknown when absent. */
  readonly resourceIsNumeric?: boolean;
  /** Whether the target resource is boolean; unknown when absent. */
  readonly resourceIsBoolean?: boolean;
  /**
   * Accept a `pmax` below `pmin`. Core TS 1.2 §5.1.2 tells a client to ignore such a pmax
   * rather than reject it, so a client applying a server's request sets this; a server
   * checking what it is about to send leaves it off.
   */
  readonly allowPmaxBelowPmin?: boolean;
}

type ValueKind = 'seconds' | 'count' | 'float' | 'step' | 'bit';

const KINDS: Readonly<Record<WriteAttributeName, ValueKind>> = {
  pmin: 'seconds',
  pmax: 'seconds',
  gt: 'float',
  lt: 'float',
  st: 'step',
  epmin: 'seconds',
  epmax: 'seconds',
  edge: 'bit',
  con: 'bit',
  hqmax: 'count',
};

const EXPECTED: Readonly<Record<ValueKind, string>> = {
  seconds: 'a whole number of seconds ≥ 0',
  count: 'an integer ≥ 0',
  float: 'a decimal number',
  step: 'a decimal number ≥ 0',
  bit: '0 or 1',
};

/** Attribute names in the order of Table 5.1.2-2; formatting uses this order. */
export const WRITE_ATTRIBUTE_NAMES: readonly WriteAttributeName[] = Object.freeze([
  'pmin',
  'pmax',
  'gt',
  'lt',
  'st',
  'epmin',
  'epmax',
  'edge',
  'con',
  'hqmax',
]);

export function isWriteAttributeName(name: string): name is WriteAttributeName {
  return Object.hasOwn(KINDS, name);
}

// Unambiguous patterns: each character can match only one way, so matching is linear.
const INTEGER_TEXT = /^\d+$/;
const FLOAT_TEXT = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function isValidValue(kind: ValueKind, v: unknown): v is number {
  if (typeof v !== 'number') return false;
  switch (kind) {
    case 'seconds':
    case 'count':
      return Number.isSafeInteger(v) && v >= 0;
    case 'float':
      return Number.isFinite(v);
    case 'step':
      return Number.isFinite(v) && v >= 0;
    case 'bit':
      return v === 0 || v === 1;
  }
}

function checkValue(name: WriteAttributeName, v: unknown): number {
  const kind = KINDS[name];
  if (!isValidValue(kind, v)) {
    throw new InvalidAttributeError(
      `${name} value ${typeof v === 'number' ? v : JSON.stringify(v)} is not ${EXPECTED[kind]}`,
    );
  }
  return v;
}

/** Parses the wire text of a value; `source` is the whole parameter, for the message. */
function parseValue(name: WriteAttributeName, text: string, source: string): number {
  const kind = KINDS[name];
  const bad = (why = `expected ${EXPECTED[kind]}`) =>
    new InvalidAttributeError(
      `invalid ${name} value ${JSON.stringify(text)} in "${source}": ${why}`,
    );
  if (text === '') throw bad(`empty value (write "${name}" without "=" to unset it)`);
  if (kind === 'float' || kind === 'step') {
    if (!FLOAT_TEXT.test(text)) throw bad();
    const n = Number(text);
    if (!Number.isFinite(n)) throw bad('out of range');
    if (kind === 'step' && n < 0) throw bad();
    return n === 0 ? 0 : n; // -0 → 0
  }
  if (kind === 'bit') {
    if (text !== '0' && text !== '1') throw bad(); // Table 5.1.2-2: "0" / "1"
    return Number(text);
  }
  if (!INTEGER_TEXT.test(text)) throw bad();
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw bad('out of range');
  return n;
}

/** Decimal text without an exponent; `Number()` of it is exactly `n` again. */
function plainDecimal(n: number): string {
  const s = String(n);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const sign = s.startsWith('-') ? '-' : '';
  const mantissa = s.slice(sign.length, e);
  const exponent = Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  const point = (dot < 0 ? mantissa.length : dot) + exponent;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function checkKnownKeys(obj: object, what: string): void {
  for (const key of Object.keys(obj)) {
    if (!isWriteAttributeName(key)) {
      throw new InvalidAttributeError(
        `unknown attribute "${key}" in ${what} (expected one of ${WRITE_ATTRIBUTE_NAMES.join(', ')})`,
      );
    }
  }
}

/**
 * Parses Write-Attributes (or Observe) query parameters: either a query string
 * (`pmin=10&pmax=60&gt=5`, an optional leading `?` is skipped) or the CoAP Uri-Query option
 * values (`['pmin=10', 'pmax=60']`). A name without `=` unsets that attribute. Values are taken
 * as written, without percent-decoding, as CoAP options carry them (RFC 7252 §6.5). Unknown or
 * repeated names, empty parameters and malformed values throw `InvalidAttributeError`.
 */
export function parseAttributeQuery(query: string | readonly string[]): AttributeUpdate {
  let params: readonly string[];
  if (typeof query === 'string') {
    const q = query.startsWith('?') ? query.slice(1) : query;
    params = q === '' ? [] : q.split('&');
  } else {
    params = query;
  }
  const out: Partial<Record<WriteAttributeName, number | null>> = {};
  for (const param of params) {
    if (param === '') {
      throw new InvalidAttributeError(`empty parameter in query ${JSON.stringify(query)}`);
    }
    const eq = param.indexOf('=');
    const name = eq < 0 ? param : param.slice(0, eq);
    if (!isWriteAttributeName(name)) {
      // Only <NOTIFICATION> attributes are writable (Core TS 1.2 §6.3.4); `dim`, `ver`… are not.
      throw new InvalidAttributeError(
        `unknown attribute "${name}" in "${param}" (expected one of ${WRITE_ATTRIBUTE_NAMES.join(', ')})`,
      );
    }
    if (Object.hasOwn(out, name)) {
      throw new InvalidAttributeError(`attribute "${name}" appears more than once in the query`);
    }
    out[name] = eq < 0 ? null : parseValue(name, param.slice(eq + 1), param);
  }
  return Object.freeze(out) as AttributeUpdate;
}

/**
 * The Uri-Query option values of an update, in the order of `WRITE_ATTRIBUTE_NAMES`:
 * `name=value` to set, a bare `name` to unset. Throws `InvalidAttributeError` for unknown
 * names or values outside an attribute's type.
 */
export function formatAttributeQuery(update: AttributeUpdate): string[] {
  checkKnownKeys(update, 'attribute update');
  const out: string[] = [];
  for (const name of WRITE_ATTRIBUTE_NAMES) {
    const v = update[name];
    if (v === undefined) continue;
    out.push(v === null ? name : `${name}=${plainDecimal(checkValue(name, v))}`);
  }
  return out;
}

/** `formatAttributeQuery` joined as a query string: `pmin=10&pmax=60` (no leading `?`). */
export function formatAttributeQueryString(update: AttributeUpdate): string {
  return formatAttributeQuery(update).join('&');
}

/**
 * Applies an update to the attributes currently set at one level: values replace, `null`
 * removes, absent keeps. Returns a new frozen object; does not validate (see
 * `validateAttributes`, or `applyAttributeUpdate` for both).
 */
export function mergeAttributes(
  current: WriteAttributes,
  update: AttributeUpdate,
): WriteAttributes {
  checkKnownKeys(update, 'attribute update');
  const out: Partial<Record<WriteAttributeName, number>> = {};
  for (const name of WRITE_ATTRIBUTE_NAMES) {
    const u = update[name];
    const v = u === undefined ? current[name] : u;
    if (v !== undefined && v !== null) out[name] = v;
  }
  return Object.freeze(out) as WriteAttributes;
}

const RESOURCE_LEVELS: ReadonlySet<AttributeLevel> = new Set(['resource', 'resourceInstance']);

/**
 * Checks a complete set of attributes for one level (after merging an update into what is
 * already set, so rules spanning two requests are caught too). Throws `InvalidAttributeError`:
 *
 * - each value must fit its type (table above);
 * - `gt`, `lt`, `st` only at resource or resource-instance level, and not on a resource known
 *   to be non-numeric; `edge` likewise, on a resource known to be boolean (Table 5.1.2-2
 *   "Assignation Level" and "Apply Condition");
 * - `lt < gt`, and `lt + 2 × st < gt` when `st` is set too (Core TS 1.2 §5.1.2, which says a
 *   Write-Attributes breaking them MUST be rejected);
 * - `pmin ≤ pmax` unless `pmax` is 0 ("pmax MUST be ignored") or `allowPmaxBelowPmin` is set.
 *   Table 5.1.2-2 asks for pmax "greater than or equal to" pmin, so equal periods are valid;
 * - `epmin < epmax` (Core TS 1.2 §5.1.2: "the epmin value must be less than the epmax value").
 */
export function validateAttributes(attrs: WriteAttributes, context: AttributeContext): void {
  checkKnownKeys(attrs, 'attributes');
  for (const name of WRITE_ATTRIBUTE_NAMES) {
    if (attrs[name] !== undefined) checkValue(name, attrs[name]);
  }
  const { pmin, pmax, gt, lt, st, epmin, epmax, edge } = attrs;
  const atResource = RESOURCE_LEVELS.has(context.level);

  for (const name of ['gt', 'lt', 'st'] as const) {
    if (attrs[name] === undefined) continue;
    if (!atResource) {
      throw new InvalidAttributeError(
        `${name} can only be set on a resource or resource instance, not at ${context.level} level`,
      );
    }
    if (context.resourceIsNumeric === false) {
      throw new InvalidAttributeError(`${name} only applies to numeric resources`);
    }
  }
  if (edge !== undefined) {
    if (!atResource) {
      throw new InvalidAttributeError(
        `edge can only be set on a resource or resource instance, not at ${context.level} level`,
      );
    }
    if (context.resourceIsBoolean === false) {
      throw new InvalidAttributeError('edge only applies to boolean resources');
    }
  }
  if (lt !== undefined && gt !== undefined) {
    if (!(lt < gt)) throw new InvalidAttributeError(`lt (${lt}) must be less than gt (${gt})`);
    if (st !== undefined && !(lt + 2 * st < gt)) {
      throw new InvalidAttributeError(
        `lt + 2 × st (${lt} + 2 × ${st}) must be less than gt (${gt})`,
      );
    }
  }
  if (pmin !== undefined && pmax !== undefined && pmax !== 0 && pmax < pmin) {
    if (!context.allowPmaxBelowPmin) {
      throw new InvalidAttributeError(`pmax (${pmax}) must not be less than pmin (${pmin})`);
    }
  }
  if (epmin !== undefined && epmax !== undefined && !(epmin < epmax)) {
    throw new InvalidAttributeError(`epmin (${epmin}) must be less than epmax (${epmax})`);
  }
}

/** `mergeAttributes` then `validateAttributes` on the result, which is returned. */
export function applyAttributeUpdate(
  current: WriteAttributes,
  update: AttributeUpdate,
  context: AttributeContext,
): WriteAttributes {
  const merged = mergeAttributes(current, update);
  validateAttributes(merged, context);
  return merged;
}

/**
 * The notification attributes among a link's parameters, as a Discover response carries them
 * (`</3/0/7>;dim=2;gt=50;lt=42.2` → `{ gt: 50, lt: 42.2 }`). Other parameters (`dim`, `ver`,
 * `rt`…) are ignored. Quoted and unquoted values are read alike. A notification attribute
 * without a value or given twice throws `InvalidAttributeError`.
 */
export function attributesFromLink(l: Link): WriteAttributes {
  const out: Partial<Record<WriteAttributeName, number>> = {};
  for (const [name, value] of l.attributes) {
    if (!isWriteAttributeName(name)) continue;
    if (value.kind === 'flag') {
      throw new InvalidAttributeError(`attribute "${name}" of link <${l.uri}> has no value`);
    }
    if (Object.hasOwn(out, name)) {
      throw new InvalidAttributeError(
        `attribute "${name}" appears more than once in link <${l.uri}>`,
      );
    }
    out[name] = parseValue(name, value.value, `<${l.uri}>;${name}=${value.value}`);
  }
  return Object.freeze(out) as WriteAttributes;
}

/**
 * Link parameters for a set of attributes, as a client lists them in a Discover response:
 * unquoted values in the order of `WRITE_ATTRIBUTE_NAMES`. Throws `InvalidAttributeError` for a
 * value outside its attribute's type.
 */
export function attributesToLinkParams(attrs: WriteAttributes): LinkAttribute[] {
  checkKnownKeys(attrs, 'attributes');
  const out: LinkAttribute[] = [];
  for (const name of WRITE_ATTRIBUTE_NAMES) {
    const v = attrs[name];
    if (v === undefined) continue;
    const value = Object.freeze({
      kind: 'token',
      value: plainDecimal(checkValue(name, v)),
    } as const);
    out.push(Object.freeze([name, value] as const));
  }
  return out;
}
