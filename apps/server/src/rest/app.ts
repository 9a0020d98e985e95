/**
 * The server's REST API on fastify: `createRestApi(server, options)` builds it; the caller
 * `listen()`s (the CLI on 127.0.0.1:8080 by default).
 *
 * Routes (details and JSON shapes in clients-routes.ts, security-routes.ts, json-values.ts,
 * json-shapes.ts, sse.ts, metrics.ts):
 *
 * - `/api/clients…`: registrations, Read/Write/Execute/Create/Delete/Discover/Write-Attributes,
 *   Observe/Cancel, composite operations
 * - `/api/security/clients[/:ep]`: PSK / no-sec entries
 * - `GET /api/objectspecs`, `GET /api/objectspecs/:id?version=`: the object models the server knows
 * - `GET /api/events[?ep=]`: server-sent events
 * - `GET /metrics`: Prometheus text; `GET /health`: `{ "status": "ok" }`
 *
 * Errors are JSON `{ "error", "message", "coapCode"? }` (http-errors.ts). With `token` set, every
 * `/api/*` and `/metrics` request needs `Authorization: Bearer <token>`; `/api/events` also takes
 * `?access_token=<token>`, since browsers' EventSource cannot set headers. `/health` stays open.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { registerClientRoutes } from './clients-routes.js';
import { errorToJson, RestError } from './http-errors.js';
import { objectModelToJson } from './json-shapes.js';
import {
  formatMetrics,
  HttpRequestCounter,
  METRICS_CONTENT_TYPE,
  type Metric,
  statsMetrics,
} from './metrics.js';
import { parseDecimalId, type Query, queryParam } from './request-params.js';
import { registerSecurityRoutes } from './security-routes.js';
import type { RestApiServer } from './server-api.js';
import { SseHub } from './sse.js';

export interface RestApiOptions {
  /** Bearer token every `/api/*` and `/metrics` request must carry; none: open. */
  readonly token?: string | undefined;
  /** A pino logger (or any fastify-compatible one); none: fastify logs nothing. */
  readonly logger?: FastifyBaseLogger | undefined;
  /** Interval of the SSE heartbeat comment (ms). Default 15 000. */
  readonly sseHeartbeatMs?: number | undefined;
  /** Largest request body in bytes. Default 1 MiB. */
  readonly bodyLimit?: number | undefined;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Compares in time independent of where the strings differ (both are hashed to 32 bytes). */
function tokenMatches(given: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), expected);
}

/**
 * Whether a request needs the token: decided on the route it matched (so an encoded path such as
 * `/%61pi/clients` cannot slip past), and on unmatched URLs too; `/health` and any other route
 * outside `/api` and `/metrics` stay open.
 */
function needsAuth(route: string | undefined): boolean {
  if (route === undefined) return true;
  return route === '/api' || route.startsWith('/api/') || route === '/metrics';
}

export function createRestApi(
  server: RestApiServer,
  options: RestApiOptions = {},
): FastifyInstance {
  const app = (
    options.logger === undefined
      ? Fastify({ logger: false, bodyLimit: options.bodyLimit ?? 1024 * 1024 })
      : Fastify({ loggerInstance: options.logger, bodyLimit: options.bodyLimit ?? 1024 * 1024 })
  ) as FastifyInstance;

  const hub = new SseHub(server, {
    heartbeatMs: options.sseHeartbeatMs ?? 15_000,
    onError: (err, where) => app.log.warn({ err }, `${where} failed`),
  });
  const httpCounter = new HttpRequestCounter();

  if (options.token !== undefined && options.token !== '') {
    const expected = digest(options.token);
    app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      const route = req.routeOptions.url;
      if (!needsAuth(route)) return;
      const header = req.headers.authorization;
      let given: string | undefined;
      if (typeof header === 'string' && /^Bearer /i.test(header)) given = header.slice(7).trim();
      if (given === undefined && route === '/api/events') {
        const q = req.query as Query | undefined;
        const t = q?.access_token;
        if (typeof t === 'string') given = t;
      }
      if (given === undefined || !tokenMatches(given, expected)) {
        reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="lwm2m-server"')
          .send({
            error: 'Unauthorized',
            message:
              given === undefined
                ? 'this API needs an "Authorization: Bearer <token>" header'
                : 'wrong bearer token',
          });
        return reply;
      }
    });
  }

  app.addHook('onResponse', async (req, reply) => {
    httpCounter.record(req.method, reply.statusCode);
  });

  app.setErrorHandler((err, req, reply) => {
    const { status, body, internal } = errorToJson(err);
    if (internal) req.log.error({ err }, 'request failed');
    if (err instanceof RestError && status === 405) {
      const allow = /\(allowed: ([^)]*)\)/.exec(err.message)?.[1];
      if (allow) reply.header('allow', allow);
    }
    return reply.code(status).send(body);
  });

  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({
      error: 'NotFound',
      message: `no route for ${req.method} ${req.url.split('?', 1)[0]}`,
    }),
  );

  app.addHook('preClose', async () => {
    hub.close();
  });

  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/metrics', async (_req, reply) => {
    const regs = await server.listRegistrations();
    const own: Metric[] = [
      {
        name: 'lwm2m_registrations',
        help: 'Clients registered now.',
        type: 'gauge',
        samples: [{ value: regs.length }],
      },
      {
        name: 'lwm2m_sse_clients',
        help: 'Open /api/events streams.',
        type: 'gauge',
        samples: [{ value: hub.size }],
      },
      httpCounter.metric(),
    ];
    const reserved = new Set(own.map((m) => m.name));
    const text = formatMetrics([...own, ...statsMetrics(server.stats(), reserved)]);
    return reply.type(METRICS_CONTENT_TYPE).send(text);
  });

  app.get('/api/events', (req: FastifyRequest<{ Querystring: Query }>, reply) => {
    const ep = queryParam(req.query, 'ep');
    reply.hijack();
    hub.add(reply.raw, ep === '' ? undefined : ep);
  });

  app.get('/api/objectspecs', async () => [...server.registry.models()].map(objectModelToJson));

  app.get(
    '/api/objectspecs/:id',
    async (req: FastifyRequest<{ Params: { id: string }; Querystring: Query }>) => {
      const id = parseDecimalId(req.params.id, 'object id');
      const version = queryParam(req.query, 'version');
      const model = server.registry.get(id, version === '' ? undefined : version);
      if (model === undefined) {
        const known = server.registry.versions(id);
        throw new RestError(
          404,
          'NotFound',
          known.length === 0
            ? `object ${id} is not known to this server`
            : `object ${id} has no version ${version} here (known: ${known.join(', ')})`,
        );
      }
      return objectModelToJson(model);
    },
  );

  registerClientRoutes(app, server);
  registerSecurityRoutes(app, server);
  return app;
}
