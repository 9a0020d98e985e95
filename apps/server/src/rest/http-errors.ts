import {
  LwM2mError,
  type ResponseCode,
  ResponseCode as ResponseCodes,
  responseCodeToHttpStatus,
} from '@lwm2m-ts/core';

/**
 * The JSON of every error answer:
 * `{ "error": "<name>", "message": "...", "coapCode"?: "4.04" }`.
 *
 * `error` is, by where the failure comes from:
 * - the class name of an `LwM2mError` the server raised (`UnknownClientError`, `TimeoutError`,
 *   `InvalidPathError`, `InvalidValueError`, `QueueFullError`, `BadClientResponseError`…),
 *   with its `coapCode`;
 * - the CoAP code's name when the device answered with an error code (`NOT_FOUND`,
 *   `METHOD_NOT_ALLOWED`…), with `coapCode` and the device's diagnostic payload as `message`;
 * - `BadRequest`, `NotFound`, `Unauthorized`, `MethodNotAllowed`, `UnsupportedMediaType`,
 *   `PayloadTooLarge` or `InternalError` for HTTP-level failures.
 */
export interface ErrorJson {
  readonly error: string;
  readonly message: string;
  readonly coapCode?: string;
}

/** An HTTP-level failure of the REST layer itself. */
export class RestError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'RestError';
    this.status = status;
    this.code = code;
  }
}

const CODE_NAMES = new Map<string, string>(
  Object.entries(ResponseCodes).map(([name, code]) => [code, name]),
);

/** The device answered a request with an error code (`{ ok: false }`). */
export class ClientAnswerError extends Error {
  readonly coapCode: ResponseCode;
  readonly diagnostic: string | undefined;

  constructor(coapCode: ResponseCode, diagnostic: string | undefined, operation: string) {
    const name = CODE_NAMES.get(coapCode) ?? coapCode;
    super(
      diagnostic !== undefined && diagnostic !== ''
        ? `${operation}: the client answered ${coapCode} ${name}: ${diagnostic}`
        : `${operation}: the client answered ${coapCode} ${name}`,
    );
    this.name = 'ClientAnswerError';
    this.coapCode = coapCode;
    this.diagnostic = diagnostic;
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

/** Status and JSON body for any error thrown while handling a request. */
export function errorToJson(err: unknown): { status: number; body: ErrorJson; internal: boolean } {
  if (err instanceof RestError) {
    return { status: err.status, body: { error: err.code, message: err.message }, internal: false };
  }
  if (err instanceof ClientAnswerError) {
    return {
      status: responseCodeToHttpStatus(err.coapCode),
      body: {
        error: CODE_NAMES.get(err.coapCode) ?? 'ClientError',
        message: err.message,
        coapCode: err.coapCode,
      },
      internal: false,
    };
  }
  if (err instanceof LwM2mError) {
    return {
      status: err.httpStatus,
      body: { error: err.name, message: err.message, coapCode: err.coapCode },
      internal: err.httpStatus >= 500 && err.coapCode === '5.00',
    };
  }
  // Fastify's own errors (bad JSON, wrong content type, body too large, validation) carry a 4xx.
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
