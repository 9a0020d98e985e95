import { LwM2mError } from '@lwm2m-ts/core';

/**
 * Redis cannot be reached or cannot answer now (connection refused or lost, no reply in time,
 * the server still loading its data, a failover in progress): CoAP 5.03, HTTP 503. Try again
 * later; the store reconnects by itself.
 *
 * When a write fails with this error its outcome is unknown: the command may have reached Redis
 * before the connection broke. Every write of these stores is safe to repeat.
 */
export class StoreUnavailableError extends LwM2mError {
  readonly coapCode = '5.03' as const;
}

/** A request that clashes with what is stored (CoAP 4.00, HTTP 409). */
export class StoreConflictError extends LwM2mError {
  readonly coapCode = '4.00' as const;
  override get httpStatus(): number {
    return 409;
  }
}

/**
 * A PSK identity (security entry or bootstrap credentials) that another endpoint already uses.
 * Named as the server's and bootstrap server's own `IdentityInUseError`, so their REST APIs
 * report it the same way (409, `"error": "IdentityInUseError"`).
 */
export class IdentityInUseError extends StoreConflictError {}
