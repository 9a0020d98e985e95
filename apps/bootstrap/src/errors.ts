import { LwM2mError } from '@lwm2m-ts/core';

/** A request that clashes with what is stored (HTTP 409). */
export class ConflictError extends LwM2mError {
  readonly coapCode = '4.00' as const;
  override get httpStatus(): number {
    return 409;
  }
}

/** `BootstrapConfigStore.put` when another endpoint already uses the bootstrap PSK identity. */
export class IdentityInUseError extends ConflictError {}

/**
 * No configuration for this endpoint: CoAP 4.00 Bad Request, the code Core TS gives a
 * Bootstrap-Request from an unknown Endpoint Client Name; HTTP 404 in the REST API.
 */
export class UnknownEndpointError extends LwM2mError {
  readonly coapCode = '4.00' as const;
  override get httpStatus(): number {
    return 404;
  }
}
