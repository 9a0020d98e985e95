/**
 * Calls to the server's REST API (same origin). An optional bearer token is kept in
 * sessionStorage; a 401 from the API (not from a device) tells the listeners to ask for one.
 */
import { ApiError, type ErrorBody, needsToken } from './errors';
import type {
  DiscoverLink,
  JsonNode,
  JsonValue,
  ObjectSpec,
  Observation,
  Registration,
  SecurityEntry,
  TimedValue,
} from './model';

const TOKEN_KEY = 'lwm2m-server.token';

function storage(): Storage | undefined {
  try {
    return globalThis.sessionStorage;
  } catch {
    return undefined;
  }
}

export function getToken(): string | undefined {
  return storage()?.getItem(TOKEN_KEY) ?? undefined;
}

export function setToken(token: string | undefined): void {
  const s = storage();
  if (s === undefined) return;
  if (token === undefined || token === '') s.removeItem(TOKEN_KEY);
  else s.setItem(TOKEN_KEY, token);
  for (const l of tokenListeners) l();
}

const tokenListeners = new Set<() => void>();
const unauthorizedListeners = new Set<() => void>();

/** Called when the token changes. */
export function onTokenChange(listener: () => void): () => void {
  tokenListeners.add(listener);
  return () => tokenListeners.delete(listener);
}

/** Called when the API answers 401 (a token is needed, or the one given is wrong). */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export interface CallOptions {
  readonly body?: unknown;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
}

/** One API call; JSON in and out. Throws `ApiError` (status 0 when the server is unreachable). */
export async function call<T>(method: string, url: string, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = getToken();
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) q.set(k, v);
  const qs = q.toString();
  let res: Response;
  try {
    res = await fetch(qs === '' ? url : `${url}?${qs}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (err) {
    if (options.signal?.aborted) throw err;
    throw new ApiError(0, {}, 'the server cannot be reached');
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const errBody: ErrorBody =
      typeof json === 'object' && json !== null
        ? (json as ErrorBody)
        : { message: text.slice(0, 200) };
    if (needsToken(res.status, errBody)) for (const l of unauthorizedListeners) l();
    throw new ApiError(res.status, errBody);
  }
  return json as T;
}

const enc = encodeURIComponent;
const clientUrl = (ep: string, path = '') => `/api/clients/${enc(ep)}${path}`;

/** Options of every device operation: `?format=` and `?timeout=`. */
export interface DmOptions {
  readonly format?: string | undefined;
  readonly timeout?: number | undefined;
}

function dmQuery(o: DmOptions, extra: Record<string, string> = {}) {
  return {
    ...extra,
    ...(o.format ? { format: o.format } : {}),
    ...(o.timeout ? { timeout: String(o.timeout) } : {}),
  };
}

export interface ReadAnswer {
  readonly status: string;
  readonly content: JsonNode;
  readonly format: string;
}
export interface ObserveAnswer extends ReadAnswer {
  readonly observation: Observation;
}
export interface CompositeAnswer {
  readonly status: string;
  readonly values: TimedValue[];
  readonly format: string;
}
export interface StatusAnswer {
  readonly status: string;
  readonly location?: string;
}

export type AttributeUpdate = Readonly<Record<string, number | boolean | null>>;

/** A resource to Write/Create: `{ id, value }` or `{ id, values }`. */
export interface ResourceInput {
  readonly id: number;
  readonly value?: JsonValue;
  readonly values?: Readonly<Record<string, JsonValue>>;
}

export const api = {
  clients: () => call<Registration[]>('GET', '/api/clients'),
  client: (ep: string) => call<Registration>('GET', clientUrl(ep)),
  objectSpecs: () => call<ObjectSpec[]>('GET', '/api/objectspecs'),
  read: (ep: string, path: string, o: DmOptions = {}) =>
    call<ReadAnswer>('GET', clientUrl(ep, path), { query: dmQuery(o) }),
  discover: (ep: string, path: string, o: DmOptions = {}) =>
    call<{ status: string; links: DiscoverLink[] }>('GET', clientUrl(ep, path), {
      query: dmQuery({ timeout: o.timeout }, { discover: '' }),
    }),
  /** Write (replace) of a resource: `{ value }` or `{ values }`. */
  write: (ep: string, path: string, body: Omit<ResourceInput, 'id'>, o: DmOptions = {}) =>
    call<StatusAnswer>('PUT', clientUrl(ep, path), { body, query: dmQuery(o) }),
  execute: (ep: string, path: string, args: string, o: DmOptions = {}) =>
    call<StatusAnswer>('POST', clientUrl(ep, path), {
      body: args === '' ? {} : { args },
      query: dmQuery({ timeout: o.timeout }),
    }),
  create: (
    ep: string,
    objectPath: string,
    body: { id?: number; resources: ResourceInput[] },
    o: DmOptions = {},
  ) => call<StatusAnswer>('POST', clientUrl(ep, objectPath), { body, query: dmQuery(o) }),
  delete: (ep: string, path: string, o: DmOptions = {}) =>
    call<StatusAnswer>('DELETE', clientUrl(ep, path), { query: dmQuery({ timeout: o.timeout }) }),
  writeAttributes: (ep: string, path: string, attributes: AttributeUpdate, o: DmOptions = {}) =>
    call<StatusAnswer>('PUT', clientUrl(ep, `${path}/attributes`), {
      body: attributes,
      query: dmQuery({ timeout: o.timeout }),
    }),
  observe: (ep: string, path: string, o: DmOptions = {}) =>
    call<ObserveAnswer>('POST', clientUrl(ep, `${path}/observe`), { body: {}, query: dmQuery(o) }),
  cancelObserve: (ep: string, path: string, o: DmOptions = {}) =>
    call<{ cancelled: number }>('DELETE', clientUrl(ep, `${path}/observe`), {
      query: dmQuery({ timeout: o.timeout }),
    }),
  observations: (ep: string) => call<Observation[]>('GET', clientUrl(ep, '/observations')),
  cancelObservation: (ep: string, id: string) =>
    call<{ cancelled: number }>('DELETE', clientUrl(ep, `/observations/${enc(id)}`)),
  readComposite: (ep: string, paths: readonly string[], o: DmOptions = {}) =>
    call<CompositeAnswer>('POST', clientUrl(ep, '/composite'), {
      body: { operation: 'read', paths },
      query: dmQuery(o),
    }),
  security: () => call<SecurityEntry[]>('GET', '/api/security/clients'),
  putSecurity: (entry: SecurityEntry) =>
    call<SecurityEntry>('PUT', `/api/security/clients/${enc(entry.endpoint)}`, { body: entry }),
  deleteSecurity: (ep: string) => call<undefined>('DELETE', `/api/security/clients/${enc(ep)}`),
};

/** The URL of the event stream (EventSource cannot send headers: the token goes in the query). */
export function eventsUrl(): string {
  const token = getToken();
  return token === undefined ? '/api/events' : `/api/events?access_token=${enc(token)}`;
}
