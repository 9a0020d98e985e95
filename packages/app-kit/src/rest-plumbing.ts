/**
 * What both REST APIs do before their routes: a fastify instance with a body limit and the
 * caller's logger, bearer-token checks on `/api*` and `/metrics`, every error as JSON
 * `{ "error", "message", "coapCode"? }` with its HTTP status, and a JSON 404 for unknown routes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { LwM2mError } from '@lwm2m-ts/core';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';

/**
 * The JSON of every error answer: `error` is the `LwM2mError` class name (with its `coapCode`)
 * or an HTTP-level name (`BadRequest`, `NotFound`, `Unauthorized`, `MethodNotAllowed`,
 * `UnsupportedMediaType`, `PayloadTooLarge`, `InternalError` …). An app may add fields.
 */
export interface ErrorJson {
  readonly error: string;
  readonly message: string;
  readonly coapCode?: string;
  readonly [field: string]: unknown;
}

/** How an error is answered; `internal` ones (bugs, not bad input) are logged as errors. */
export interface ErrorAnswer {
  readonly status: number;
  readonly body: ErrorJson;
  readonly internal: boolean;
}

/** An app's own mapping, tried first; undefined leaves the error to `errorToJson`. */
export type ErrorMapper = (err: unknown) => ErrorAnswer | undefined;

/** An HTTP-level failure of the REST layer itself, with extra headers (e.g. `allow`) to send. */
export class RestError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = 'RestError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

const HTTP_NAMES: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
};

/**
 * Status and JSON body for any error thrown while handling a request: `mapError`'s answer when
 * it gives one; a `RestError`'s status and code; an `LwM2mError`'s `httpStatus`, class name and
 * `coapCode` (internal only for 5.00); fastify's own 4xx errors (bad JSON, wrong content type,
 * body too large, validation); anything else 500 without details.
 */
export function errorToJson(err: unknown, mapError?: ErrorMapper): ErrorAnswer {
  const mapped = mapError?.(err);
  if (mapped !== undefined) return mapped;
  if (err instanceof RestError) {
    return { status: err.status, body: { error: err.code, message: err.message }, internal: false };
  }
  if (err instanceof LwM2mError) {
    return {
      status: err.httpStatus,
      body: { error: err.name, message: err.message, coapCode: err.coapCode },
      internal: err.httpStatus >= 500 && err.coapCode === '5.00',
    };
  }
  const e = err as { statusCode?: unknown; message?: unknown; validation?: unknown };
  if (typeof e === 'object' && e !== null) {
    const status = typeof e.statusCode === 'number' ? e.statusCode : e.validation ? 400 : 0;
    if (status >= 400 && status < 500) {
      return {
        status,
        body: {
          error: HTTP_NAMES[status] ?? 'BadRequest',
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

/**
 * Whether a request needs the token: decided on the route it matched (so an encoded path such as
 * `/%61pi/clients` cannot slip past), and on unmatched URLs too; `/health` and any other route
 * outside `/api` and `/metrics` stay open.
 */
function needsAuth(route: string | undefined): boolean {
  if (route === undefined) return true;
  return route === '/api' || route.startsWith('/api/') || route === '/metrics';
}

export interface RestAppOptions {
  /** Bearer token every `/api*` and `/metrics` request must carry; none or empty: open. */
  readonly token?: string | undefined;
  /** `realm` of the `www-authenticate` header of a 401, e.g. `lwm2m-server`. */
  readonly realm: string;
  /** A pino logger (or any fastify-compatible one); none: fastify logs nothing. */
  readonly logger?: FastifyBaseLogger | undefined;
  /** Largest request body in bytes. Default 1 MiB. */
  readonly bodyLimit?: number | undefined;
  /** The app's own error answers, tried before the common ones. */
  readonly mapError?: ErrorMapper | undefined;
}

/**
 * A fastify instance with the common plumbing installed, for the app to add its routes to:
 *
 * - with `token`: `Authorization: Bearer <token>` on `/api*` and `/metrics`, compared in
 *   constant time (both sides hashed); `GET /api/events` also takes `?access_token=`, since
 *   browsers' EventSource cannot set headers; 401 JSON with `www-authenticate` otherwise;
 * - errors as `errorToJson` says (a `RestError`'s headers sent along), internal ones logged;
 * - 404 `{ "error": "NotFound", "message": "no route for GET /x" }` for unknown routes.
 */
export function createRestApp(options: RestAppOptions): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const app = (
    options.logger === undefined
      ? Fastify({ logger: false, bodyLimit })
      : Fastify({ loggerInstance: options.logger, bodyLimit })
  ) as FastifyInstance;

  if (options.token !== undefined && options.token !== '') {
    const expected = digest(options.token);
    app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      const route = req.routeOptions.url;
      if (!needsAuth(route)) return;
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
          .header('www-authenticate', `Bearer realm="${options.realm}"`)
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

  app.setErrorHandler((err, req, reply) => {
    const { status, body, internal } = errorToJson(err, options.mapError);
    if (internal) req.log.error({ err }, 'request failed');
    if (err instanceof RestError && err.headers !== undefined) reply.headers(err.headers);
    return reply.code(status).send(body);
  });

  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({
      error: 'NotFound',
      message: `no route for ${req.method} ${req.url.split('?', 1)[0]}`,
    }),
  );

  return app;
}
