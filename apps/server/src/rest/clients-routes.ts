/**
 * `/api/clients…`: registrations and device management.
 *
 * | Route                                         | Operation                                   |
 * |-----------------------------------------------|---------------------------------------------|
 * | `GET /api/clients`                            | list registrations (paging: see below)      |
 * | `GET /api/clients/:ep`                        | one registration                            |
 * | `GET /api/clients/:ep/<path>`                 | Read (`?format=`, `?timeout=`)              |
 * | `GET /api/clients/:ep/<path>?discover`        | Discover                                    |
 * | `PUT /api/clients/:ep/<path>`                 | Write (replace) instance/resource/res. inst.|
 * | `POST /api/clients/:ep/<object>`              | Create `{ "id"?, "resources": [...] }`      |
 * | `POST /api/clients/:ep/<instance>`            | Write (partial update) `{ "resources" }`    |
 * | `POST /api/clients/:ep/<resource>`            | Execute; args as a text/plain body or `{ "args" }` |
 * | `DELETE /api/clients/:ep/<path>`              | Delete                                      |
 * | `PUT /api/clients/:ep/<path>/attributes`      | Write-Attributes `{ "pmin": 10, "gt": null }` (null unsets) |
 * | `POST /api/clients/:ep/<path>/observe`        | Observe                                     |
 * | `DELETE /api/clients/:ep/<path>/observe`      | Cancel observation(s) of the path (`?mode=reactive`) |
 * | `GET /api/clients/:ep/observations`           | observations held for the client            |
 * | `DELETE /api/clients/:ep/observations/:id`    | cancel one observation by id                |
 * | `POST /api/clients/:ep/composite`             | `{ "operation": "read"|"write"|"observe"|"cancel-observe", "paths", "values" }` |
 *
 * `GET /api/clients` answers every registration, sorted by endpoint. For large fleets it takes
 * `?limit=N` (0..10 000 rows), `?offset=M` (rows to skip), `?q=text` (the endpoint contains it,
 * ignoring case), `?sort=endpoint|lwm2mVersion|binding|state|lastUpdate|registeredAt|expiresAt|
 * lifetime` (default endpoint; ties by endpoint) and `?order=asc|desc`: with any of them the body
 * is the same array, cut to the page, and the `x-total-count` header says how many registrations
 * match `q` in all (`?limit=0` asks for the count only). A bad value is a 400 naming the parameter.
 *
 * Every answer of a device operation has `status` (the CoAP code the client answered):
 * Read `{ status, content, format }`, Discover `{ status, links }`, Create `{ status, location? }`,
 * Observe `{ status, observation, content, format }`, composite read/observe `{ status, values,
 * format }`, cancel `{ cancelled: n }`, the rest `{ status }`.
 */

import { listenTo } from '@lwm2m-ts/app-kit';
import {
  formatAttributeQuery,
  InvalidValueError,
  type LwM2mPath,
  type ObjectModel,
  objectInstance,
  LwM2mPath as Path,
  responseCodeToHttpStatus,
} from '@lwm2m-ts/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { UnknownClientError } from '../errors.js';
import type { ServerEvents } from '../events.js';
import type { DmResponse, RequestOptions } from '../operations.js';
import type { Registration } from '../registration.js';
import { ClientAnswerError, RestError } from './http-errors.js';
import { formatLabel, linkToJson, observationToJson, registrationToJson } from './json-shapes.js';
import {
  createFromJson,
  nodeToJson,
  pathValuesFromJson,
  resourcesFromJson,
  toJsonValues,
  writeNodeFromJson,
} from './json-values.js';
import {
  type ClientListQuery,
  parseClientListQuery,
  parseFormat,
  parsePath,
  parseTimeout,
  type Query,
  queryFlag,
  queryParam,
} from './request-params.js';
import type { RestApiServer } from './server-api.js';

type EpRequest = FastifyRequest<{
  Params: { ep: string; '*'?: string; id?: string };
  Querystring: Query;
}>;

/** Throws `ClientAnswerError` for a refusal; returns the success answer. */
function ok<T extends object>(
  res: DmResponse<T>,
  operation: string,
): Extract<DmResponse<T>, { ok: true }> {
  if (!res.ok) throw new ClientAnswerError(res.code, res.diagnostic, operation);
  return res as Extract<DmResponse<T>, { ok: true }>;
}

/** Request options from the query, with a signal that aborts when the HTTP client goes away. */
function requestOptions(req: EpRequest, reply: FastifyReply): RequestOptions {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('the HTTP client went away'));
  });
  const timeout = parseTimeout(queryParam(req.query, 'timeout'));
  const format = parseFormat(queryParam(req.query, 'format'));
  return {
    ...(timeout === undefined ? {} : { timeout }),
    ...(format === undefined ? {} : { format }),
    signal: controller.signal,
  };
}

function cancelMode(req: EpRequest): 'proactive' | 'reactive' | undefined {
  const mode = queryParam(req.query, 'mode');
  if (mode === undefined || mode === 'proactive' || mode === 'reactive') return mode;
  throw new RestError(400, 'BadRequest', `mode must be "proactive" or "reactive", got "${mode}"`);
}

function statusOf(code: Parameters<typeof responseCodeToHttpStatus>[0]): number {
  return responseCodeToHttpStatus(code);
}

function methodNotAllowed(method: string, what: string, allow: string): RestError {
  return new RestError(
    405,
    'MethodNotAllowed',
    `${method} is not allowed on ${what} (allowed: ${allow})`,
    { allow },
  );
}

/** Splits `3/0/9/observe` into the path and the `observe`/`attributes` suffix. */
function splitSuffix(star: string): { path: string; suffix: 'observe' | 'attributes' | undefined } {
  for (const suffix of ['observe', 'attributes'] as const) {
    if (star.endsWith(`/${suffix}`)) return { path: star.slice(0, -suffix.length - 1), suffix };
  }
  return { path: star, suffix: undefined };
}

export function registerClientRoutes(app: FastifyInstance, server: RestApiServer): void {
  async function registration(ep: string): Promise<Registration> {
    const reg = await server.getRegistration(ep);
    if (reg === undefined) throw new UnknownClientError(`no client is registered as "${ep}"`);
    return reg;
  }

  async function modelOf(ep: string, objectId: number): Promise<ObjectModel | undefined> {
    return server.modelsFor(await registration(ep)).get(objectId);
  }

  // Only queue-mode clients have a queue state: the others need no lookup (it is a scan of the
  // server's clients, too slow to make for each of 100,000).
  const queueOf = (r: Registration) => (r.queueMode ? server.queueState(r.endpoint) : undefined);
  // To sort by state, which queue-mode clients sleep, followed from the server's events (one
  // `queueState` per client would be quadratic in the fleet).
  const asleep = new Set<string>();
  const stopFollowing = listenTo<ServerEvents>(server, {
    sleeping: ({ registration }) => asleep.add(registration.endpoint),
    awake: ({ registration }) => asleep.delete(registration.endpoint),
    registered: ({ registration }) => asleep.delete(registration.endpoint),
    deregistered: ({ registration }) => asleep.delete(registration.endpoint),
  });
  app.addHook('onClose', async () => stopFollowing());
  const isAsleep = (r: Registration) => r.queueMode && asleep.has(r.endpoint);

  app.get('/api/clients', async (req: FastifyRequest<{ Querystring: Query }>, reply) => {
    const list = parseClientListQuery(req.query);
    const regs = await server.listRegistrations();
    if (list === undefined) {
      return [...regs].sort(byEndpoint).map((r) => registrationToJson(r, queueOf(r)));
    }
    const matching = list.q === '' ? regs : regs.filter((r) => hasText(r.endpoint, list.q));
    reply.header('x-total-count', String(matching.length));
    if (list.limit === 0 || list.offset >= matching.length) return [];
    return pageOf(matching, list, isAsleep).map((r) => registrationToJson(r, queueOf(r)));
  });

  app.get('/api/clients/:ep', async (req: EpRequest) => {
    const reg = await registration(req.params.ep);
    return registrationToJson(reg, server.queueState(reg.endpoint));
  });

  app.get('/api/clients/:ep/observations', async (req: EpRequest) => {
    await registration(req.params.ep);
    const list = await server.listObservations(req.params.ep);
    return list.map(observationToJson);
  });

  app.delete('/api/clients/:ep/observations/:id', async (req: EpRequest, reply) => {
    const id = req.params.id ?? '';
    const mode = cancelMode(req);
    const n = await server.cancelObservation(req.params.ep, id, {
      ...requestOptions(req, reply),
      ...(mode === undefined ? {} : { mode }),
    });
    if (n === 0)
      throw new RestError(404, 'NotFound', `no observation "${id}" of "${req.params.ep}"`);
    return { cancelled: n };
  });

  app.post('/api/clients/:ep/composite', async (req: EpRequest, reply) => {
    const ep = req.params.ep;
    const body = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new InvalidValueError(
        'expected { "operation": "read"|"write"|"observe"|"cancel-observe", "paths": [...], "values": [...] }',
      );
    }
    const b = body as Record<string, unknown>;
    const opts = requestOptions(req, reply);
    const paths = (): string[] => {
      if (!Array.isArray(b.paths) || b.paths.length === 0) {
        throw new InvalidValueError('"paths" must be a non-empty array of paths like "/3/0/0"');
      }
      return b.paths.map((p, i) => {
        if (typeof p !== 'string') throw new InvalidValueError(`paths[${i}] must be a string`);
        return Path.parse(p).toString();
      });
    };
    switch (b.operation) {
      case 'read': {
        const res = ok(await server.readComposite(ep, paths(), opts), 'Read-Composite');
        reply.status(statusOf(res.code));
        return {
          status: res.code,
          values: toJsonValues(res.values),
          format: formatLabel(res.contentFormat),
        };
      }
      case 'write': {
        const reg = await registration(ep);
        const models = server.modelsFor(reg);
        const values = pathValuesFromJson(b.values, (id) => models.get(id));
        const res = ok(await server.writeComposite(ep, values, opts), 'Write-Composite');
        reply.status(statusOf(res.code));
        return { status: res.code };
      }
      case 'observe': {
        const res = ok(await server.observeComposite(ep, paths(), opts), 'Observe-Composite');
        reply.status(statusOf(res.code));
        return {
          status: res.code,
          observation: observationToJson(res.observation),
          values: toJsonValues(res.values),
          format: formatLabel(res.contentFormat),
        };
      }
      case 'cancel-observe': {
        let id: string;
        if (typeof b.id === 'string') {
          id = b.id;
        } else {
          const wanted = [...new Set(paths())].sort();
          const list = await server.listObservations(ep);
          const match = list.find(
            (o) =>
              o.composite &&
              JSON.stringify([...new Set(o.paths.map((p) => Path.parse(p).toString()))].sort()) ===
                JSON.stringify(wanted),
          );
          if (match === undefined) {
            throw new RestError(
              404,
              'NotFound',
              `no composite observation of ${wanted.join(', ')}`,
            );
          }
          id = match.id;
        }
        const mode = cancelMode(req);
        const n = await server.cancelObservation(ep, id, {
          ...opts,
          ...(mode === undefined ? {} : { mode }),
        });
        if (n === 0) throw new RestError(404, 'NotFound', `no observation "${id}"`);
        return { cancelled: n };
      }
      default:
        throw new InvalidValueError(
          `"operation" must be "read", "write", "observe" or "cancel-observe", got ${JSON.stringify(b.operation ?? null)}`,
        );
    }
  });

  app.route({
    method: ['GET', 'PUT', 'POST', 'DELETE'],
    url: '/api/clients/:ep/*',
    handler: async (req: EpRequest, reply) => {
      const ep = req.params.ep;
      const { path: pathText, suffix } = splitSuffix(req.params['*'] ?? '');
      const path = parsePath(pathText);
      const p = path.toString();
      const opts = requestOptions(req, reply);
      const method = req.method;

      if (suffix === 'observe') {
        if (method === 'POST') {
          const res = ok(await server.observe(ep, p, opts), `Observe ${p}`);
          reply.status(statusOf(res.code));
          return {
            status: res.code,
            observation: observationToJson(res.observation),
            content: nodeToJson(res.content),
            format: formatLabel(res.contentFormat),
          };
        }
        if (method === 'DELETE') {
          const mode = cancelMode(req);
          const n = await server.cancelObservation(ep, p, {
            ...opts,
            ...(mode === undefined ? {} : { mode }),
          });
          if (n === 0) throw new RestError(404, 'NotFound', `no observation of ${p} on "${ep}"`);
          return { cancelled: n };
        }
        throw methodNotAllowed(method, `${p}/observe`, 'POST, DELETE');
      }

      if (suffix === 'attributes') {
        if (method !== 'PUT') throw methodNotAllowed(method, `${p}/attributes`, 'PUT');
        const body = req.body;
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          throw new InvalidValueError(
            `${p}: expected an object of attributes, e.g. { "pmin": 10, "pmax": 60, "gt": null }`,
          );
        }
        // Checks names and value types (InvalidAttributeError, 400) before anything is sent.
        formatAttributeQuery(body as Record<string, never>);
        const res = ok(
          await server.writeAttributes(ep, p, body as Record<string, never>, opts),
          `Write-Attributes ${p}`,
        );
        reply.status(statusOf(res.code));
        return { status: res.code };
      }

      switch (method) {
        case 'GET': {
          if (queryFlag(req.query, 'discover')) {
            const res = ok(await server.discover(ep, p, opts), `Discover ${p}`);
            reply.status(statusOf(res.code));
            return { status: res.code, links: res.links.map(linkToJson) };
          }
          const res = ok(await server.read(ep, p, opts), `Read ${p}`);
          reply.status(statusOf(res.code));
          return {
            status: res.code,
            content: nodeToJson(res.content),
            format: formatLabel(res.contentFormat),
          };
        }
        case 'PUT': {
          const node = writeNodeFromJson(path, req.body, await modelOf(ep, path.objectId!));
          const res = ok(
            await server.write(ep, p, node, { ...opts, mode: 'replace' }),
            `Write ${p}`,
          );
          reply.status(statusOf(res.code));
          return { status: res.code };
        }
        case 'POST':
          return post(req, reply, ep, path, opts);
        case 'DELETE': {
          const res = ok(await server.delete(ep, p, opts), `Delete ${p}`);
          reply.status(statusOf(res.code));
          return { status: res.code };
        }
        default:
          throw methodNotAllowed(method, p, 'GET, PUT, POST, DELETE');
      }
    },
  });

  async function post(
    req: EpRequest,
    reply: FastifyReply,
    ep: string,
    path: LwM2mPath,
    opts: RequestOptions,
  ): Promise<unknown> {
    const p = path.toString();
    switch (path.level) {
      case 'object': {
        const { instanceId, resources } = createFromJson(
          path,
          req.body,
          await modelOf(ep, path.objectId!),
        );
        const res = ok(
          await server.create(ep, path.objectId!, resources, {
            ...opts,
            ...(instanceId === undefined ? {} : { instanceId }),
          }),
          `Create ${p}`,
        );
        reply.status(statusOf(res.code));
        return {
          status: res.code,
          ...(res.location === undefined ? {} : { location: res.location }),
        };
      }
      case 'instance': {
        const resources = resourcesFromJson(path, req.body, await modelOf(ep, path.objectId!));
        const node = objectInstance(path.instanceId!, resources);
        const res = ok(
          await server.write(ep, p, node, { ...opts, mode: 'update' }),
          `Write (update) ${p}`,
        );
        reply.status(statusOf(res.code));
        return { status: res.code };
      }
      case 'resource': {
        const args = executeArgs(req.body, p);
        const res = ok(await server.execute(ep, p, args, opts), `Execute ${p}`);
        reply.status(statusOf(res.code));
        return { status: res.code };
      }
      default:
        throw methodNotAllowed('POST', `resource instance ${p}`, 'GET, PUT, DELETE');
    }
  }
}

function byEndpoint(a: Registration, b: Registration): number {
  return a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0;
}

function hasText(endpoint: string, lowerCase: string): boolean {
  return endpoint.toLowerCase().includes(lowerCase);
}

type IsAsleep = (r: Registration) => boolean;

function sortKey(r: Registration, field: ClientListQuery['sort'], isAsleep: IsAsleep) {
  switch (field) {
    case 'state':
      return !r.queueMode ? 'online' : isAsleep(r) ? 'sleeping' : 'awake';
    case 'endpoint':
    case 'lwm2mVersion':
    case 'binding':
    case 'lastUpdate':
    case 'registeredAt':
    case 'expiresAt':
    case 'lifetime':
      return r[field];
  }
}

/** The registrations of one page: sorted by `list.sort` (ties by endpoint), then cut. */
function pageOf(
  regs: readonly Registration[],
  list: ClientListQuery,
  isAsleep: IsAsleep,
): Registration[] {
  const dir = list.descending ? -1 : 1;
  // Keys computed once per registration, not once per comparison.
  const keyed = regs.map((r) => ({ r, k: sortKey(r, list.sort, isAsleep) }));
  keyed.sort((a, b) => {
    const c = a.k < b.k ? -1 : a.k > b.k ? 1 : 0;
    return c !== 0 ? c * dir : byEndpoint(a.r, b.r);
  });
  const end = list.limit === undefined ? keyed.length : list.offset + list.limit;
  return keyed.slice(list.offset, end).map((x) => x.r);
}

/** Execute arguments: a text/plain body, `{ "args": "..." }`, or nothing. */
function executeArgs(body: unknown, p: string): string | undefined {
  if (body === undefined || body === null || body === '') return undefined;
  if (typeof body === 'string') return body;
  if (typeof body === 'object' && !Array.isArray(body)) {
    const args = (body as Record<string, unknown>).args;
    if (args === undefined) return undefined;
    if (typeof args === 'string') return args;
  }
  throw new InvalidValueError(
    `${p}: Execute takes its arguments as a text/plain body or as { "args": "0='v',1" }`,
  );
}
