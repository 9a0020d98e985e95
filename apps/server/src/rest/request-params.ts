import { InvalidPathError, LwM2mPath } from '@lwm2m-ts/core';
import { RestError } from './http-errors.js';
import { FORMAT_NAMES } from './json-shapes.js';

export type Query = Readonly<Record<string, string | string[] | undefined>>;

/** One query parameter; a repeated one is a 400. */
export function queryParam(query: Query | undefined, name: string): string | undefined {
  const v = query?.[name];
  if (Array.isArray(v))
    throw new RestError(400, 'BadRequest', `query parameter "${name}" is repeated`);
  return v;
}

/** True when the parameter is there, with or without a value (`?discover`, `?discover=1`). */
export function queryFlag(query: Query | undefined, name: string): boolean {
  const v = queryParam(query, name);
  if (v === undefined) return false;
  if (v === '' || v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new RestError(
    400,
    'BadRequest',
    `query parameter "${name}" must be true/false, got "${v}"`,
  );
}

/** Longest `?timeout=` accepted: an hour (a request may wait for a sleeping client). */
export const MAX_TIMEOUT_MS = 3_600_000;

/** `?timeout=ms`: a whole number of ms in 1..3 600 000. */
export function parseTimeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d{1,7}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= MAX_TIMEOUT_MS)) {
    throw new RestError(
      400,
      'BadRequest',
      `timeout must be a whole number of milliseconds in 1..${MAX_TIMEOUT_MS}, got "${text}"`,
    );
  }
  return n;
}

/**
 * `?format=`: a name (`tlv`, `senml-json`, `senml-cbor`, `lwm2m-json`, `lwm2m-cbor`, `text`,
 * `opaque`, `cbor`) or a content-format number.
 */
export function parseFormat(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const named = FORMAT_NAMES[text.toLowerCase()];
  if (named !== undefined) return named;
  if (/^\d{1,5}$/.test(text) && Number(text) <= 65535) return Number(text);
  throw new RestError(
    400,
    'BadRequest',
    `format must be one of ${Object.keys(FORMAT_NAMES).join(', ')} or a content-format number, got "${text}"`,
  );
}

/** The LwM2M path of the `*` part of a route (`3/0/1` → `/3/0/1`). */
export function parsePath(star: string): LwM2mPath {
  const path = LwM2mPath.parse(`/${star}`);
  if (path.isRoot()) {
    throw new InvalidPathError(
      'the path must name at least an object (e.g. /api/clients/dev/3/0/0)',
    );
  }
  return path;
}

/** A decimal id in 0..65535 from a URL segment. */
export function parseDecimalId(text: string, what: string): number {
  if (!/^(0|[1-9]\d{0,4})$/.test(text) || Number(text) > 65535) {
    throw new RestError(400, 'BadRequest', `${what} must be a number in 0..65535, got "${text}"`);
  }
  return Number(text);
}

/** Largest `?limit=` of `GET /api/clients`. */
export const MAX_LIST_LIMIT = 10_000;

/** Fields `GET /api/clients?sort=` orders by. */
export const CLIENT_SORT_FIELDS = [
  'endpoint',
  'lwm2mVersion',
  'binding',
  'state',
  'lastUpdate',
  'registeredAt',
  'expiresAt',
  'lifetime',
] as const;
export type ClientSortField = (typeof CLIENT_SORT_FIELDS)[number];

/** Paging, search and order of `GET /api/clients`. */
export interface ClientListQuery {
  /** Rows to answer; undefined: all from `offset` on. */
  readonly limit: number | undefined;
  readonly offset: number;
  /** Lower-case text the endpoint must contain; '' for every client. */
  readonly q: string;
  readonly sort: ClientSortField;
  readonly descending: boolean;
}

function wholeNumber(query: Query, name: string, max: number): number | undefined {
  const text = queryParam(query, name);
  if (text === undefined) return undefined;
  const n = /^\d{1,10}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n <= max)) {
    throw new RestError(
      400,
      'BadRequest',
      `${name} must be a whole number in 0..${max}, got "${text}"`,
    );
  }
  return n;
}

/**
 * `?limit=&offset=&q=&sort=&order=` of `GET /api/clients`; undefined when none of them is there
 * (the whole list, as before paging existed).
 */
export function parseClientListQuery(query: Query | undefined): ClientListQuery | undefined {
  const q = query ?? {};
  const names = ['limit', 'offset', 'q', 'sort', 'order'];
  if (!names.some((n) => q[n] !== undefined)) return undefined;
  const limit = wholeNumber(q, 'limit', MAX_LIST_LIMIT);
  const offset = wholeNumber(q, 'offset', 1e9) ?? 0;
  const search = queryParam(q, 'q') ?? '';
  const sort = queryParam(q, 'sort') ?? 'endpoint';
  if (!(CLIENT_SORT_FIELDS as readonly string[]).includes(sort)) {
    throw new RestError(
      400,
      'BadRequest',
      `sort must be one of ${CLIENT_SORT_FIELDS.join(', ')}, got "${sort}"`,
    );
  }
  const order = queryParam(q, 'order') ?? 'asc';
  if (order !== 'asc' && order !== 'desc') {
    throw new RestError(400, 'BadRequest', `order must be "asc" or "desc", got "${order}"`);
  }
  return {
    limit,
    offset,
    q: search.toLowerCase(),
    sort: sort as ClientSortField,
    descending: order === 'desc',
  };
}
