/**
 * Write-Attributes form (Core TS 1.2 §5.1.2): each attribute left as it is, set, or unset
 * (`null`), checked before anything is sent.
 */
import type { LinkAttributeValue } from './model';

export type AttributeKind = 'seconds' | 'count' | 'float' | 'step' | 'bit';

export interface AttributeInfo {
  readonly name: string;
  readonly label: string;
  readonly kind: AttributeKind;
  /** Only for numeric resources (gt, lt, st) or only for boolean ones (edge). */
  readonly only?: 'numeric' | 'boolean';
  /** LwM2M version that introduced it. */
  readonly since: '1.0' | '1.1' | '1.2';
}

export const ATTRIBUTES: readonly AttributeInfo[] = [
  { name: 'pmin', label: 'Minimum period (s)', kind: 'seconds', since: '1.0' },
  { name: 'pmax', label: 'Maximum period (s)', kind: 'seconds', since: '1.0' },
  { name: 'gt', label: 'Greater than', kind: 'float', only: 'numeric', since: '1.0' },
  { name: 'lt', label: 'Less than', kind: 'float', only: 'numeric', since: '1.0' },
  { name: 'st', label: 'Step', kind: 'step', only: 'numeric', since: '1.0' },
  { name: 'epmin', label: 'Minimum evaluation period (s)', kind: 'seconds', since: '1.1' },
  { name: 'epmax', label: 'Maximum evaluation period (s)', kind: 'seconds', since: '1.1' },
  { name: 'edge', label: 'Edge (0 falling, 1 rising)', kind: 'bit', only: 'boolean', since: '1.2' },
  { name: 'con', label: 'Confirmable (0 or 1)', kind: 'bit', since: '1.2' },
  { name: 'hqmax', label: 'Historical queue maximum', kind: 'count', since: '1.2' },
];

export interface AttributeField {
  readonly text: string;
  readonly unset: boolean;
}

export type AttributeForm = Readonly<Record<string, AttributeField>>;

export type AttributeResult =
  | { readonly ok: true; readonly update: Readonly<Record<string, number | null>> }
  | { readonly ok: false; readonly errors: Readonly<Record<string, string>> };

function parseOne(kind: AttributeKind, text: string): number | string {
  const t = text.trim();
  switch (kind) {
    case 'seconds':
    case 'count': {
      if (!/^\d{1,15}$/.test(t)) return 'a whole number, 0 or more';
      return Number(t);
    }
    case 'float':
    case 'step': {
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return 'a number, e.g. 20.5';
      const n = Number(t);
      if (!Number.isFinite(n)) return 'a finite number';
      if (kind === 'step' && n < 0) return 'a number, 0 or more';
      return n;
    }
    case 'bit':
      if (t === '0' || t === '1') return Number(t);
      return '0 or 1';
  }
}

/** The request body for the form, or what is wrong with it (by attribute name). */
export function attributeUpdate(form: AttributeForm): AttributeResult {
  const update: Record<string, number | null> = {};
  const errors: Record<string, string> = {};
  for (const a of ATTRIBUTES) {
    const f = form[a.name];
    if (f === undefined) continue;
    if (f.unset) {
      update[a.name] = null;
      continue;
    }
    if (f.text.trim() === '') continue;
    const v = parseOne(a.kind, f.text);
    if (typeof v === 'string') errors[a.name] = `expected ${v}`;
    else update[a.name] = v;
  }
  const pmin = update.pmin;
  const pmax = update.pmax;
  if (typeof pmin === 'number' && typeof pmax === 'number' && pmax !== 0 && pmax < pmin) {
    errors.pmax = 'must be 0 (none) or at least the minimum period';
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, update };
}

/** Attributes a Discover reported, as the form's starting text. */
export function formFromDiscovered(
  attributes: Readonly<Record<string, LinkAttributeValue>> | undefined,
): Record<string, AttributeField> {
  const form: Record<string, AttributeField> = {};
  for (const a of ATTRIBUTES) {
    const v = attributes?.[a.name];
    const text =
      typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '';
    form[a.name] = { text, unset: false };
  }
  return form;
}

/** Discover attributes worth showing next to a path (`dim`, `pmin`, `ver`…), as "name=value". */
export function attributeChips(
  attributes: Readonly<Record<string, LinkAttributeValue>> | undefined,
): string[] {
  if (attributes === undefined) return [];
  return Object.entries(attributes).map(([name, v]) => {
    const vs = Array.isArray(v) ? v : [v];
    return vs.map((x) => (x === true ? name : `${name}=${x}`)).join(' ');
  });
}
