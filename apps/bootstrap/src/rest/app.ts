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
 *
 * Errors are JSON `{ "error", "message", "field"?, "coapCode"? }`. With `token` set, every
 * `/api/*` and `/metrics` request needs `Authorization: Bearer <token>` (`/api/events` also takes
 * `?access_token=`, as browsers' EventSource cannot set headers); `/health` stays open. Configs
 * are shown with their keys (in hex): this API is for the operators who set them.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { TimedValue } from '@lwm2m-ts/codecs';
import { LwM2mError, type TypedValue } from '@lwm2m-ts/core';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { BootstrapConfigError } from '../config.js';
import type { BootstrapEvents } from '../events.js';
import type { BootstrapServer } from '../server.js';
import {
  formatMetrics,
  HttpRequestCounter,
  METRICS_CONTENT_TYPE,
  statsMetrics,
} from './metrics.js';
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

class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const HTTP_NAMES: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
};

function errorToJson(err: unknown): { status: number; body: object; internal: boolean } {
  if (err instanceof RestError) {
    return { status: err.status, body: { error: err.code, message: err.message }, internal: false };
  }
  if (err instanceof LwM2mError) {
    return {
      status: err.httpStatus,
      body: {
        error: err.name,
        message: err.message,
        ...(err instanceof BootstrapConfigError && { field: err.field }),
        coapCode: err.coapCode,
      },
      internal: err.httpStatus >= 500,
    };
  }
  const e = err as { statusCode?: unknown; message?: unknown };
  if (typeof e === 'object' && e !== null && typeof e.statusCode === 'number') {
    if (e.statusCode >= 400 && e.statusCode < 500) {
      return {
        status: e.statusCode,
        body: {
          error: HTTP_NAMES[e.statusCode] ?? 'BadRequest',
          message: typeof e.message === 'string' ? e.message : 'bad request',
        },
        internal: false,
      };
    }
  }
  return {
    status: 500,
    body: { error: 'InternalError', message: 'internal error (see the server log)' },
    internal: true,
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

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
function subscribe(server: BootstrapServer, hub: SseHub): () => void {
  const listeners: { [K in keyof BootstrapEvents]?: (...a: BootstrapEvents[K]) => void } = {
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
  };
  const emitter = server as unknown as {
    on(n: string, l: (...a: unknown[]) => void): unknown;
    off(n: string, l: (...a: unknown[]) => void): unknown;
  };
  for (const [name, l] of Object.entries(listeners)) {
    emitter.on(name, l as (...a: unknown[]) => void);
  }
  return () => {
    for (const [name, l] of Object.entries(listeners)) {
      emitter.off(name, l as (...a: unknown[]) => void);
    }
  };
}

type EpRequest = FastifyRequest<{ Params: { ep: string } }>;

export function createRestApi(
  server: BootstrapServer,
  options: RestApiOptions = {},
): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const app = (
    options.logger === undefined
      ? Fastify({ logger: false, bodyLimit })
      : Fastify({ loggerInstance: options.logger, bodyLimit })
  ) as FastifyInstance;
  const hub = new SseHub({ heartbeatMs: options.sseHeartbeatMs ?? 15_000 });
  const unsubscribe = subscribe(server, hub);
  const http = new HttpRequestCounter();

  if (options.token !== undefined && options.token !== '') {
    const expected = digest(options.token);
    app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      const route = req.routeOptions.url;
      // Decided on the matched route, so an encoded path cannot slip past; unmatched URLs too.
      const open = route !== undefined && route !== '/metrics' && !route.startsWith('/api');
      if (open) return;
      const header = req.headers.authorization;
      let given: string | undefined;
      if (typeof header === 'string' && /^Bearer /i.test(header)) given = header.slice(7).trim();
      if (given === undefined && route === '/api/events') {
        const t = (req.query as Record<string, unknown> | undefined)?.access_token;
        if (typeof t === 'string') given = t;
      }
      if (given === undefined || !timingSafeEqual(digest(given), expected)) {
        reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="lwm2m-bootstrap"')
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
    http.record(req.method, reply.statusCode);
  });

  app.setErrorHandler((err, req, reply) => {
    const { status, body, internal } = errorToJson(err);
    if (internal) req.log.error({ err }, 'request failed');
    return reply.code(status).send(body);
  });

  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({
      error: 'NotFound',
      message: `no route for ${req.method} ${req.url.split('?', 1)[0]}`,
    }),
  );

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
      ...statsMetrics(server.stats()),
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

  return app;
}
