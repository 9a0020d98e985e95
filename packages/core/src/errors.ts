import { type ResponseCode, responseCodeToHttpStatus } from './codes.js';

/**
 * Base of every error the stack raises on purpose. Each subclass is one kind of failure and
 * carries the CoAP response code it maps to, so a CoAP or REST layer can answer without
 * guessing from the message.
 */
export abstract class LwM2mError extends Error {
  abstract readonly coapCode: ResponseCode;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  get httpStatus(): number {
    return responseCodeToHttpStatus(this.coapCode);
  }
}

/** A path string or id that is not a valid LwM2M path (e.g. `/3/x`, `/70000`). */
export class InvalidPathError extends LwM2mError {
  readonly coapCode = '4.00' as const;
}

/** A value that does not fit its data type, or a node that breaks the object model's shape. */
export class InvalidValueError extends LwM2mError {
  readonly coapCode = '4.00' as const;
}

/** A write-attribute that is unknown, malformed or breaks the spec's validity rules. */
export class InvalidAttributeError extends LwM2mError {
  readonly coapCode = '4.00' as const;
}

/** A CoRE link-format (RFC 6690) document that cannot be parsed. */
export class LinkFormatError extends LwM2mError {
  readonly coapCode = '4.00' as const;
}

/** Where a codec failure happened: the content format's name and, when known, a byte offset. */
export interface CodecErrorDetails {
  readonly format: string;
  readonly offset?: number;
  readonly cause?: unknown;
}

function codecMessage(message: string, d: CodecErrorDetails): string {
  return d.offset === undefined
    ? `${d.format}: ${message}`
    : `${d.format}: at offset ${d.offset}: ${message}`;
}

/**
 * A payload that cannot be decoded in its content format. The message starts with the format
 * and the byte offset (`TLV: at offset 3: length 16777215 runs past the end (20 bytes)`).
 */
export class DecodeError extends LwM2mError {
  readonly coapCode = '4.00' as const;
  readonly format: string;
  readonly offset: number | undefined;

  constructor(message: string, details: CodecErrorDetails) {
    super(codecMessage(message, details), { cause: details.cause });
    this.format = details.format;
    this.offset = details.offset;
  }
}

/** Content that cannot be encoded in the requested content format (a bad value or node). */
export class EncodeError extends LwM2mError {
  readonly coapCode = '5.00' as const;
  readonly format: string;

  constructor(message: string, details: Omit<CodecErrorDetails, 'offset'>) {
    super(codecMessage(message, details), { cause: details.cause });
    this.format = details.format;
  }
}

/** An object definition (DDF) that is not valid; `source` names the file or input. */
export class ModelError extends LwM2mError {
  readonly coapCode = '4.00' as const;
  readonly source: string | undefined;

  constructor(message: string, source?: string, options?: { cause?: unknown }) {
    super(source === undefined ? message : `${source}: ${message}`, options);
    this.source = source;
  }
}

export class UnauthorizedError extends LwM2mError {
  readonly coapCode = '4.01' as const;
}

export class ForbiddenError extends LwM2mError {
  readonly coapCode = '4.03' as const;
}

/** The path (object, instance, resource) does not exist. */
export class NotFoundError extends LwM2mError {
  readonly coapCode = '4.04' as const;
}

/** The operation is not allowed on the target (e.g. Write on a read-only resource). */
export class MethodNotAllowedError extends LwM2mError {
  readonly coapCode = '4.05' as const;
}

/** None of the accepted content formats can be produced. */
export class NotAcceptableError extends LwM2mError {
  readonly coapCode = '4.06' as const;
}

/** A payload or transfer bigger than the configured limit. */
export class EntityTooLargeError extends LwM2mError {
  readonly coapCode = '4.13' as const;
}

/** The request's content format is not supported. */
export class UnsupportedContentFormatError extends LwM2mError {
  readonly coapCode = '4.15' as const;
}

/** An unexpected failure inside the stack. */
export class InternalError extends LwM2mError {
  readonly coapCode = '5.00' as const;
}

/** The peer is unreachable or asleep (queue mode) right now. */
export class ServiceUnavailableError extends LwM2mError {
  readonly coapCode = '5.03' as const;
}

/** The peer did not answer in time. */
export class TimeoutError extends LwM2mError {
  readonly coapCode = '5.04' as const;
}
