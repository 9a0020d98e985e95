import { LwM2mError } from '@lwm2m-ts/core';

export { ConflictError, IdentityInUseError } from '@lwm2m-ts/app-kit';

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
