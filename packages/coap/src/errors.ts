import {
  isSuccessCode,
  LwM2mError,
  type ResponseCode,
  ServiceUnavailableError,
} from '@lwm2m-ts/core';
import type { IncomingResponse, ObservationEndReason } from './message.js';

/** The endpoint was closed: pending requests are rejected with this, and new ones too. */
export class EndpointClosedError extends ServiceUnavailableError {
  constructor(message = 'CoAP endpoint closed') {
    super(message);
  }
}

/** The caller's AbortSignal fired; `cause` is the signal's reason. */
export class RequestAbortedError extends ServiceUnavailableError {
  constructor(cause: unknown) {
    super('CoAP request aborted', { cause });
  }
}

/** The peer answered our message with RST (RFC 7252 §4.2): it could not or would not process it. */
export class PeerResetError extends LwM2mError {
  readonly coapCode = '5.02' as const;
}

/**
 * A response that cannot be used the way it was asked for; for now: `observe()` got a non-2.xx
 * answer, or a 2.xx without Observe (the resource is not observable). The response is kept.
 * `coapCode` is the response's code when it is an error code, else 5.02 (the peer's answer was
 * unusable).
 */
export class UnexpectedResponseError extends LwM2mError {
  readonly coapCode: ResponseCode;
  readonly response: IncomingResponse;

  constructor(message: string, response: IncomingResponse) {
    super(message);
    this.response = response;
    this.coapCode = isSuccessCode(response.code) ? '5.02' : response.code;
  }
}

/**
 * `adoptObservation()` was given a token a request or an observation of the endpoint already
 * uses: one token routes to one of them only. 5.03, as the token is busy for now.
 */
export class TokenInUseError extends ServiceUnavailableError {
  readonly token: string;

  constructor(tokenHex: string) {
    super(`token ${tokenHex} is in use by a request or an observation of this endpoint`);
    this.token = tokenHex;
  }
}

/** The `reason` of a ServerObservation's aborted signal. */
export class ObservationEndedError extends ServiceUnavailableError {
  readonly reason: ObservationEndReason;

  constructor(reason: ObservationEndReason) {
    super(`observation ended: ${reason}`);
    this.reason = reason;
  }
}
