/**
 * The server's error answers (`createRestApp` in app-kit does the common part). The JSON of
 * every error answer:
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
import {
  type ErrorAnswer,
  type ErrorMapper,
  errorToJson as toErrorAnswer,
} from '@lwm2m-ts/app-kit';
import {
  type ResponseCode,
  ResponseCode as ResponseCodes,
  responseCodeToHttpStatus,
} from '@lwm2m-ts/core';

export { type ErrorJson, RestError } from '@lwm2m-ts/app-kit';

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

/** The device's refusal: the HTTP status of its CoAP code, the code's name as `error`. */
export const clientAnswerError: ErrorMapper = (err) =>
  err instanceof ClientAnswerError
    ? {
        status: responseCodeToHttpStatus(err.coapCode),
        body: {
          error: CODE_NAMES.get(err.coapCode) ?? 'ClientError',
          message: err.message,
          coapCode: err.coapCode,
        },
        internal: false,
      }
    : undefined;

/** Status and JSON body for any error thrown while handling a request. */
export function errorToJson(err: unknown): ErrorAnswer {
  return toErrorAnswer(err, clientAnswerError);
}
