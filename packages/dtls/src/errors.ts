import { LwM2mError, type ResponseCode } from '@lwm2m-ts/core';
import { AlertDescription, AlertLevel, alertName } from './constants.js';

/** Which side raised an alert: `sent` by this side (server or client), or `received` from the peer. */
export type AlertDirection = 'sent' | 'received';

/**
 * A DTLS alert (RFC 5246 §7.2) that ended a handshake or a session. `alert` is the description
 * number on the wire (e.g. 115 `unknown_psk_identity`, 20 `bad_record_mac`), `direction` says
 * whether this side (the server, or the client) sent it or received it from the peer. Maps to CoAP 4.01: the peer could
 * not be authenticated.
 */
export class DtlsAlertError extends LwM2mError {
  readonly coapCode = '4.01' as const;
  readonly alert: number;
  readonly level: AlertLevel;
  readonly direction: AlertDirection;

  constructor(
    alert: number,
    direction: AlertDirection,
    detail?: string,
    options?: { level?: AlertLevel; cause?: unknown },
  ) {
    // close_notify is a closure alert sent at warning level (RFC 5246 §7.2.1), never fatal.
    const level =
      options?.level ??
      (alert === AlertDescription.CLOSE_NOTIFY ? AlertLevel.WARNING : AlertLevel.FATAL);
    const what = `${direction} ${level === AlertLevel.FATAL ? 'fatal' : 'warning'} alert ${alertName(alert)} (${alert})`;
    super(detail === undefined ? what : `${what}: ${detail}`, { cause: options?.cause });
    this.alert = alert;
    this.level = level;
    this.direction = direction;
  }
}

/** Why a socket operation failed. */
export type DtlsErrorCode =
  | 'NO_SESSION'
  | 'MESSAGE_TOO_LARGE'
  | 'SOCKET_CLOSED'
  | 'NOT_BOUND'
  | 'UNSUPPORTED'
  | 'INVALID_ARGUMENT'
  | 'WRONG_PEER'
  | 'ALREADY_BOUND';

const COAP_CODES: Record<DtlsErrorCode, ResponseCode> = {
  NO_SESSION: '5.03',
  MESSAGE_TOO_LARGE: '4.13',
  SOCKET_CLOSED: '5.03',
  NOT_BOUND: '5.03',
  UNSUPPORTED: '5.01',
  INVALID_ARGUMENT: '5.00',
  WRONG_PEER: '5.00',
  ALREADY_BOUND: '5.00',
};

/**
 * A socket operation that could not be done: sending to a peer with no established DTLS session
 * (`NO_SESSION`), a datagram larger than one record (`MESSAGE_TOO_LARGE`), a closed or unbound
 * socket, or a dgram feature DTLS has no use for (`UNSUPPORTED`, e.g. multicast); on the client,
 * a destination other than its server (`WRONG_PEER`) or a second `bind` (`ALREADY_BOUND`).
 */
export class DtlsError extends LwM2mError {
  readonly coapCode: ResponseCode;
  readonly code: DtlsErrorCode;

  constructor(code: DtlsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.coapCode = COAP_CODES[code];
  }
}
