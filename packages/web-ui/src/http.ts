/**
 * JSON calls to the REST API of the page's own origin, shared by both pages. An optional bearer
 * token is kept in sessionStorage; a 401 from the API (not from a device) tells the listeners to
 * ask for one.
 */
import { ApiError, type ErrorBody, needsToken } from './errors';

let tokenKey = 'lwm2m-server.token';

/** The sessionStorage key of the token: one per kind of page (server, bootstrap server). */
export function setTokenKey(key: string): void {
  tokenKey = key;
}

function storage(): Storage | undefined {
  try {
    return globalThis.sessionStorage;
  } catch {
    return undefined;
  }
}

export function getToken(): string | undefined {
  return storage()?.getItem(tokenKey) ?? undefined;
}

export function setToken(token: string | undefined): void {
  const s = storage();
  if (s === undefined) return;
  if (token === undefined || token === '') s.removeItem(tokenKey);
  else s.setItem(tokenKey, token);
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
  /** Sees the headers of a successful answer (e.g. `x-total-count`). */
  readonly onHeaders?: (headers: Headers) => void;
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
  options.onHeaders?.(res.headers);
  return json as T;
}

/** The URL of an event stream (EventSource cannot send headers: the token goes in the query). */
export function eventsPath(path: string): string {
  const token = getToken();
  return token === undefined ? path : `${path}?access_token=${encodeURIComponent(token)}`;
}
