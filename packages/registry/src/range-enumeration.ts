/**
 * Reading a DDF `RangeEnumeration` (Core TS 1.2 Appendix D). The element is free text: real
 * registry files hold `0..100`, `1-65534`, `0,1,2`, `ON;OFF`, labelled lists such as
 * `0: RELEASED` / `1: PRESSED`, but also prose, units (`0..255 bytes`) and mixes (`0..3, 99`).
 * Only forms that can be read one way are parsed; everything else stays raw text only.
 */
export interface ParsedRangeEnumeration {
  readonly range?: { readonly min: number; readonly max: number };
  readonly enumeration?: readonly string[];
}

const NUMBER = String.raw`[+-]?\d+(?:\.\d+)?`;
// `..` is the usual separator; `...` and `-` occur in real files for the same meaning.
const RANGE = new RegExp(String.raw`^(${NUMBER})\s*(?:\.{2,3}|-)\s*(${NUMBER})$`);
const TOKEN = /^[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)?$/;
const LABELLED = /^(\d+)\s*:\s*\S/;

export function parseRangeEnumeration(text: string): ParsedRangeEnumeration {
  const raw = text.trim();
  if (raw === '') return {};
  const range = parseRange(raw);
  if (range) return { range };
  const enumeration = parseList(raw) ?? parseLabelled(raw);
  return enumeration ? { enumeration } : {};
}

function parseRange(raw: string): { min: number; max: number } | undefined {
  const m = RANGE.exec(raw);
  if (!m) return undefined;
  const min = toNumber(m[1]!);
  const max = toNumber(m[2]!);
  // A reversed range (`-30..-120` exists) cannot be read one way.
  if (min === undefined || max === undefined || min > max) return undefined;
  return { min, max };
}

/** The number a token denotes, unless it is an integer a double cannot hold exactly. */
function toNumber(token: string): number | undefined {
  const n = Number(token);
  if (!Number.isFinite(n)) return undefined;
  if (!token.includes('.') && !Number.isSafeInteger(n)) return undefined;
  return n;
}

/** `0,1,2`, `5, 10, 15` or `ON;OFF`: one kind of separator, at least two plain tokens. */
function parseList(raw: string): string[] | undefined {
  const hasComma = raw.includes(',');
  const hasSemicolon = raw.includes(';');
  if (hasComma === hasSemicolon) return undefined;
  const items = raw.split(hasComma ? ',' : ';').map((s) => s.trim());
  if (items.length < 2 || !items.every((s) => TOKEN.test(s))) return undefined;
  return items;
}

/** One `value: label` per line (IPSO objects), e.g. `0: RELEASED\n1: PRESSED`. */
function parseLabelled(raw: string): string[] | undefined {
  const lines = raw.split(/\r?\n/).map((s) => s.trim());
  if (lines.length < 2) return undefined;
  const values: string[] = [];
  for (const line of lines) {
    const m = LABELLED.exec(line);
    if (!m) return undefined;
    values.push(m[1]!);
  }
  return values;
}
