import { LwM2mError, NotFoundError } from '@lwm2m-ts/core';

export { ConflictError, IdentityInUseError } from '@lwm2m-ts/app-kit';

/** No registration for this endpoint name (REST 404). */
export class UnknownClientError extends NotFoundError {}

/** A sleeping queue-mode client already has as many requests waiting as the server allows (HTTP 409). */
export class QueueFullError extends LwM2mError {
  readonly coapCode = '5.03' as const;
  override get httpStatus(): number {
    return 409;
  }
}

/**
 * The client answered 2.xx with a payload we cannot decode or a format we did not ask for (HTTP 502,
 * a bad answer from the device rather than a bad request from our caller).
 */
export class BadClientResponseError extends LwM2mError {
  readonly coapCode = '5.02' as const;
}
