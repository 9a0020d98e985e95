/**
 * The bootstrap server's REST API on fastify: `createRestApi(server, options)` builds it; the
 * caller `listen()`s (the CLI on 127.0.0.1:8081 by default).
 *
 * - `GET /api/bootstrap` → `{ "<endpoint>": config, ... }`
 * - `GET /api/bootstrap/:ep` → config (404 when none)
 * - `PUT /api/bootstrap/:ep` with a config → the stored (normalized) config, 201 when new, 200
 *   when it replaced one; 400 `{ "error": "BootstrapConfigError", "field": "servers[0].uri", … }`
 *   for an invalid one; 409 when another endpoint has the same `bootstrapCredentials.identity`
 * - `DELETE /api/bootstrap/:ep` → 204 (404 when none)
 * - `GET /api/events[?ep=]`: server-sent events `bootstrap-started`, `step-done`,
 *   `bootstrap-finished`, `bootstrap-failed`, `dm-server-handoff`, `coap-error`
 * - `GET /metrics`: Prometheus text; `GET /health`: `{ "status": "ok" }`
 * - `GET /` (and `/configs/…`, `/new`, `/assets/…`): the web page (web-routes.ts); `web: false`
 *   leaves it out
 *
 * Errors are JSON `{ "error", "message", "field"?, "coapCode"? }`. With `token` set, every
 * `/api/*` and `/metrics` request needs `Authorization: Bearer <token>` (`/api/events` also takes
 * `?access_token=`, as browsers' EventSource cannot set headers); `/health` stays open. Configs
 * are shown with their keys (in hex): this API is for the operators who set them.
 */
import {
  createRestApp,
  type ErrorMapper,
  formatMetrics,
  HttpRequestCounter,
  listenTo,
  METRICS_CONTENT_TYPE,
  RestError,
  SseHub,
  statsMetrics,
} from '@lwm2m-ts/app-kit';
import type { TimedValue } from '@lwm2m-ts/codecs';
import type { TypedValue } from '@lwm2m-ts/core';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import { BootstrapConfigError } from '../config.js';
import type { BootstrapServer } from '../server.js';
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
  /** Serve the web page (`@lwm2m-ts/web-ui`'s bootstrap page) at `/`. Default true. */
  readonly web?: boolean | undefined;
}

type SseEventName =
  | 'bootstrap-started'
  | 'step-done'
  | 'bootstrap-finished'
  | 'bootstrap-failed'
  | 'dm-server-handoff'
  | 'coap-error';

/** An invalid configuration: 400 with the `field` it is about. */
const configError: ErrorMapper = (err) =>
  err instanceof BootstrapConfigError
    ? {
        status: err.httpStatus,
        body: { error: err.name, message: err.message, field: err.field, coapCode: err.coapCode },
        internal: false,
      }
    : undefined;

/** A typed value as JSON: integers as numbers (decimal strings beyond 2^53), opaque as hex. */
function valueToJson(v: TypedValue): string | number | boolean {
  switch (v.type) {
    case 'integer':
    case 'unsigned':
      return v.value >= BigInt(Number.MIN_SAFE_INTEGER) &&
        v.value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(v.value)
        : v.value.toString();
    case 'opaque':
      return Buffer.from(v.value).toString('hex');
    case 'time':
      return v.value.toISOString();
    case 'objlnk':
      return `${v.value.objectId}:${v.value.instanceId}`;
    default:
      return v.value;
  }
}

function valuesToJson(values: readonly TimedValue[]) {
  return values.map((v) => ({
    path: `${v.path}`,
    type: v.value.type,
    value: valueToJson(v.value),
  }));
}

/** One SSE event per server event; `values` (Bootstrap-Read) made JSON-safe. */
function subscribe(server: BootstrapServer, hub: SseHub<SseEventName>): () => void {
  return listenTo(server, {
    bootstrapStarted: (e) => hub.send('bootstrap-started', e.endpoint, e),
    stepDone: (e) =>
      hub.send('step-done', e.endpoint, {
        ...e,
        ...(e.values !== undefined && { values: valuesToJson(e.values) }),
      }),
    bootstrapFinished: (e) => hub.send('bootstrap-finished', e.endpoint, e),
    bootstrapFailed: (e) => hub.send('bootstrap-failed', e.endpoint, e),
    dmServerHandoff: (e) => hub.send('dm-server-handoff', e.endpoint, e),
    coapError: (e) => hub.send('coap-error', e.endpoint, e),
  });
}

type EpRequest = FastifyRequest<{ Params: { ep: string } }>;

export function createRestApi(
  server: BootstrapServer,
  options: RestApiOptions = {},
): FastifyInstance {
  const app = createRestApp({
    token: options.token,
    realm: 'lwm2m-bootstrap',
    logger: options.logger,
    bodyLimit: options.bodyLimit,
    mapError: configError,
  });
  const hub = new SseHub<SseEventName>({ heartbeatMs: options.sseHeartbeatMs ?? 15_000 });
  const unsubscribe = subscribe(server, hub);
  const http = new HttpRequestCounter('lwm2m_bootstrap_http_requests_total');

  app.addHook('onResponse', async (req, reply) => {
    http.record(req.method, reply.statusCode);
  });

  app.addHook('preClose', async () => {
    unsubscribe();
    hub.close();
  });

  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/metrics', async (_req, reply) => {
    const configs = await server.listConfigs();
    const text = formatMetrics([
      {
        name: 'lwm2m_bootstrap_configs',
        help: 'Endpoints with a bootstrap configuration.',
        type: 'gauge',
        samples: [{ value: configs.length }],
      },
      {
        name: 'lwm2m_bootstrap_sse_clients',
        help: 'Open /api/events streams.',
        type: 'gauge',
        samples: [{ value: hub.size }],
      },
      http.metric(),
      ...statsMetrics(server.stats(), {
        prefix: 'lwm2m_bootstrap_',
        subject: 'Bootstrap server',
        gauges: new Set(['sessions']),
      }),
    ]);
    return reply.type(METRICS_CONTENT_TYPE).send(text);
  });

  app.get('/api/events', (req: FastifyRequest<{ Querystring: Record<string, unknown> }>, reply) => {
    const ep = req.query.ep;
    reply.hijack();
    hub.add(reply.raw, typeof ep === 'string' && ep !== '' ? ep : undefined);
  });

  app.get('/api/bootstrap', async () => {
    const out: Record<string, unknown> = {};
    for (const { endpoint, config } of await server.listConfigs()) out[endpoint] = config;
    return out;
  });

  app.get('/api/bootstrap/:ep', async (req: EpRequest) => {
    const config = await server.getConfig(req.params.ep);
    if (config === undefined) {
      throw new RestError(404, 'NotFound', `no bootstrap configuration for "${req.params.ep}"`);
    }
    return config;
  });

  app.put('/api/bootstrap/:ep', async (req: EpRequest, reply) => {
    if (req.body === undefined || req.body === null) {
      throw new RestError(400, 'BadRequest', 'the body must be a JSON bootstrap configuration');
    }
    const { config, created } = await server.putConfig(req.params.ep, req.body);
    reply.status(created ? 201 : 200);
    return config;
  });

  app.delete('/api/bootstrap/:ep', async (req: EpRequest, reply) => {
    if (!(await server.deleteConfig(req.params.ep))) {
      throw new RestError(404, 'NotFound', `no bootstrap configuration for "${req.params.ep}"`);
    }
    return reply.status(204).send();
  });

  if (options.web !== false) registerWebRoutes(app);
  return app;
}
