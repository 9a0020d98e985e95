/** Calls to the LwM2M server's REST API (same origin), on `call` of http.ts. */
import { call, eventsPath } from './http';
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

/** One page of `GET /api/clients` and how many registrations match in all. */
export interface ClientPage {
  readonly rows: Registration[];
  readonly total: number;
}

export interface PageQuery {
  readonly limit: number;
  readonly offset?: number;
  /** Text the endpoint contains. */
  readonly q?: string;
  readonly sort?: string;
  readonly descending?: boolean;
}

/** A value of a composite write. */
export interface PathInput {
  readonly path: string;
  readonly value: JsonValue;
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
  /** One page, searched and sorted by the server (`x-total-count` gives the total). */
  clientPage: async (p: PageQuery): Promise<ClientPage> => {
    let total = Number.NaN;
    const rows = await call<Registration[]>('GET', '/api/clients', {
      query: {
        limit: String(p.limit),
        offset: p.offset ? String(p.offset) : undefined,
        q: p.q || undefined,
        sort: p.sort,
        order: p.descending ? 'desc' : undefined,
      },
      onHeaders: (h) => {
        total = Number(h.get('x-total-count') ?? Number.NaN);
      },
    });
    return { rows, total: Number.isNaN(total) ? rows.length : total };
  },
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
  writeComposite: (ep: string, values: readonly PathInput[], o: DmOptions = {}) =>
    call<StatusAnswer>('POST', clientUrl(ep, '/composite'), {
      body: { operation: 'write', values },
      query: dmQuery(o),
    }),
  observeComposite: (ep: string, paths: readonly string[], o: DmOptions = {}) =>
    call<CompositeAnswer & { observation: Observation }>('POST', clientUrl(ep, '/composite'), {
      body: { operation: 'observe', paths },
      query: dmQuery(o),
    }),
  security: () => call<SecurityEntry[]>('GET', '/api/security/clients'),
  putSecurity: (entry: SecurityEntry) =>
    call<SecurityEntry>('PUT', `/api/security/clients/${enc(entry.endpoint)}`, { body: entry }),
  deleteSecurity: (ep: string) => call<undefined>('DELETE', `/api/security/clients/${enc(ep)}`),
};

/** The URL of the server's event stream (with the token, if any). */
export function eventsUrl(): string {
  return eventsPath('/api/events');
}

export { type CallOptions, call, getToken, onTokenChange, onUnauthorized, setToken } from './http';
