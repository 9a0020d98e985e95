export {
  CipherSuite,
  type CipherSuiteId,
  type CipherSuiteName,
  DEFAULT_CIPHER_SUITES,
} from './cipher.js';
export { AlertDescription, AlertLevel, alertName } from './constants.js';
export {
  DEFAULT_CLIENT_CIPHER_SUITES,
  DTLS_CLIENT_CIPHER_SUITES,
  type DtlsClientCipherSuite,
  type DtlsClientSessionEndReason,
  DtlsClientSocket,
  type DtlsClientSocketEvents,
  type DtlsClientSocketOptions,
  type DtlsClientState,
  type DtlsClientStats,
} from './dtls-client-socket.js';
export {
  type DtlsRemoteInfo,
  DtlsServerSocket,
  type DtlsServerSocketEvents,
  type DtlsServerSocketOptions,
} from './dtls-server-socket.js';
export { type AlertDirection, DtlsAlertError, DtlsError, type DtlsErrorCode } from './errors.js';
export type { DropReason } from './record.js';
export type { DtlsServerStats } from './server-engine.js';
export type { HandshakeFailure } from './server-session.js';
export type {
  DtlsPeer,
  DtlsSessionInfo,
  PskLookup,
  SessionEndReason,
} from './types.js';
