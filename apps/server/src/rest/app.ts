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
 * - `PUT|DELETE /api/packages/:name`: firmware packages served at `/fw/<name>` (pull mode)
 * - `GET /api/objectspecs`, `GET /api/objectspecs/:id?version=`: the object models the server knows
 * - `GET /api/events[?ep=]`: server-sent events
 * - `GET /metrics`: Prometheus text; `GET /health`: `{ "status": "ok" }`
 *
 * Errors are JSON `{ "error", "message", "coapCode"? }` (http-errors.ts). With `token` set, every
 * `/api/*` and `/metrics` request needs `Authorization: Bearer <token>`; `/api/events` also takes
 * `?access_token=<token>`, since browsers' EventSource cannot set headers. `/health` stays open.
 * The token check, error answers and 404s are app-kit's `createRestApp`.
 */

import { createRestApp, SseHub } from '@lwm2m-ts/app-kit';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import { registerClientRoutes } from './clients-routes.js';
import { clientAnswerError, RestError } from './http-errors.js';
import { objectModelToJson } from './json-shapes.js';
import {
  formatMetrics,
  HttpRequestCounter,
  METRICS_CONTENT_TYPE,
  type Metric,
  statsMetrics,
} from './metrics.js';
import { registerPackageRoutes } from './packages-routes.js';
import { parseDecimalId, type Query, queryParam } from './request-params.js';
import { registerSecurityRoutes } from './security-routes.js';
import type { RestApiServer } from './server-api.js';
import { type SseEventName, streamServerEvents } from './sse.js';
import { registerWebRoutes } from './web-routes.js';

export interface RestApiOptions {
  /** Bearer token every `/api/*` and `/metrics` request must carry; none: open. */
  readonly token?: string | undefined;
  /** A pino logger (or any fastify-compatible one); none: fastify logs nothing. */
  readonly logger?: FastifyBaseLogger | undefined;
  /** Interval of the SSE heartbeat comment (ms). Default 15 000. */
  readonly sseHeartbeatMs?: number | undefined;
  /** Largest request body in bytes. Default 1 MiB. */
  readonly bodyLimit?: number | undefined;
  /** Serve the web page (`@lwm2m-ts/web-ui`) at `/`. Default true. */
  readonly web?: boolean | undefined;
}

export function createRestApi(
  server: RestApiServer,
  options: RestApiOptions = {},
): FastifyInstance {
  const app = createRestApp({
    token: options.token,
    realm: 'lwm2m-server',
    logger: options.logger,
    bodyLimit: options.bodyLimit,
    mapError: clientAnswerError,
  });
  const hub = new SseHub<SseEventName>({ heartbeatMs: options.sseHeartbeatMs ?? 15_000 });
  const unsubscribe = streamServerEvents(server, hub, (err, where) =>
    app.log.warn({ err }, `${where} failed`),
  );
  const httpCounter = new HttpRequestCounter();

  app.addHook('onResponse', async (req, reply) => {
    httpCounter.record(req.method, reply.statusCode);
  });

  app.addHook('preClose', async () => {
    unsubscribe();
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
  registerPackageRoutes(app, server);
  if (options.web !== false) registerWebRoutes(app);
  return app;
}
