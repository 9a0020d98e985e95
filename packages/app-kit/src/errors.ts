import { LwM2mError } from '@lwm2m-ts/core';

/** A request that clashes with what is stored, e.g. a PSK identity another endpoint uses (HTTP 409). */
export class ConflictError extends LwM2mError {
  readonly coapCode = '4.00' as const;
  override get httpStatus(): number {
    return 409;
  }
}

/** A store's `put` when another endpoint already uses the (bootstrap) PSK identity. */
export class IdentityInUseError extends ConflictError {}

/**
 * A store's JSON file cannot be read, is not valid, or cannot be written (CoAP 5.00, HTTP 500).
 * The message starts with the file's path (`/etc/lwm2m/psk.json: entries[2].key: …`); each
 * file-backed store has its own subclass, so `err.name` says which file it was.
 */
export class StoreFileError extends LwM2mError {
  readonly coapCode = '5.00' as const;
  readonly file: string;

  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super(`${file}: ${problem}`, options);
    this.file = file;
  }
}
