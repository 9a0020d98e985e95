/** Record content types (RFC 5246 §6.2.1). */
export const ContentType = {
  CHANGE_CIPHER_SPEC: 20,
  ALERT: 21,
  HANDSHAKE: 22,
  APPLICATION_DATA: 23,
} as const;
export type ContentType = (typeof ContentType)[keyof typeof ContentType];

/** Handshake message types (RFC 5246 §7.4, RFC 6347 §4.3.2). */
export const HandshakeType = {
  HELLO_REQUEST: 0,
  CLIENT_HELLO: 1,
  SERVER_HELLO: 2,
  HELLO_VERIFY_REQUEST: 3,
  SERVER_KEY_EXCHANGE: 12,
  SERVER_HELLO_DONE: 14,
  CLIENT_KEY_EXCHANGE: 16,
  FINISHED: 20,
} as const;
export type HandshakeType = (typeof HandshakeType)[keyof typeof HandshakeType];

/** Wire versions: DTLS uses the one's complement of the version (RFC 6347 §4.1). */
export const DTLS_1_0 = 0xfeff;
export const DTLS_1_2 = 0xfefd;

/** Alert levels (RFC 5246 §7.2). */
export const AlertLevel = { WARNING: 1, FATAL: 2 } as const;
export type AlertLevel = (typeof AlertLevel)[keyof typeof AlertLevel];

/** Alert descriptions (RFC 5246 §7.2, RFC 4279 §2, RFC 5746 §4.5). */
export const AlertDescription = {
  CLOSE_NOTIFY: 0,
  UNEXPECTED_MESSAGE: 10,
  BAD_RECORD_MAC: 20,
  RECORD_OVERFLOW: 22,
  HANDSHAKE_FAILURE: 40,
  ILLEGAL_PARAMETER: 47,
  DECODE_ERROR: 50,
  DECRYPT_ERROR: 51,
  PROTOCOL_VERSION: 70,
  INSUFFICIENT_SECURITY: 71,
  INTERNAL_ERROR: 80,
  USER_CANCELED: 90,
  NO_RENEGOTIATION: 100,
  UNSUPPORTED_EXTENSION: 110,
  UNKNOWN_PSK_IDENTITY: 115,
} as const;
export type AlertDescription = (typeof AlertDescription)[keyof typeof AlertDescription];

const ALERT_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(AlertDescription).map(([name, code]) => [code, name.toLowerCase()]),
);

/** `unknown_psk_identity` for 115; `alert_N` for descriptions this package does not name. */
export function alertName(description: number): string {
  return ALERT_NAMES.get(description) ?? `alert_${description}`;
}

/** TLS extension types this server reads or answers. */
export const ExtensionType = {
  EXTENDED_MASTER_SECRET: 0x0017, // RFC 7627
  RENEGOTIATION_INFO: 0xff01, // RFC 5746
} as const;

/** The signalling cipher suite value of RFC 5746 §3.3. */
export const TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff;

/** Record header length: type, version, epoch, sequence number, length (RFC 6347 §4.1). */
export const RECORD_HEADER_LENGTH = 13;
/** Handshake header length: type, length, message_seq, fragment offset and length (§4.2.2). */
export const HANDSHAKE_HEADER_LENGTH = 12;
/** Largest plaintext fragment (RFC 5246 §6.2.1). */
export const MAX_PLAINTEXT_LENGTH = 2 ** 14;
/** Largest protected fragment: plaintext plus 2048 bytes of expansion (RFC 5246 §6.2.3). */
export const MAX_CIPHERTEXT_LENGTH = 2 ** 14 + 2048;
/** Sequence numbers are 48 bits (RFC 6347 §4.1). */
export const MAX_SEQUENCE_NUMBER = 2 ** 48 - 1;
