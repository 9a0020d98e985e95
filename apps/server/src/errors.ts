import { LwM2mError, NotFoundError } from '@lwm2m-ts/core';

/** No registration for this endpoint name (REST 404). */
export class UnknownClientError extends NotFoundError {}

/** A request that clashes with what is stored, e.g. a PSK identity another endpoint uses (HTTP 409). */
export class ConflictError extends LwM2mError {
  readonly coapCode = '4.00' as const;
  override get httpStatus(): number {
    return 409;
  }
}

/** `SecurityStore.put` when another endpoint already uses the PSK identity. */
export class IdentityInUseError extends ConflictError {}

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
