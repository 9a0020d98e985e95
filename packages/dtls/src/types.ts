import type { CipherSuiteName } from './cipher.js';

/** The address of a DTLS peer, as dgram reports it. */
export interface DtlsPeer {
  readonly address: string;
  readonly port: number;
  readonly family: 'IPv4' | 'IPv6';
}

/**
 * Looks up the pre-shared key of a PSK identity (RFC 4279); undefined (or an empty key) for an
 * unknown identity, which ends the handshake with `unknown_psk_identity` (115). May be async,
 * e.g. backed by a security store.
 */
export type PskLookup = (
  identity: string,
  peer: DtlsPeer,
) => Promise<Uint8Array | undefined> | Uint8Array | undefined;

/** An established session, as the `session` event reports it. */
export interface DtlsSessionInfo extends DtlsPeer {
  readonly identity: string;
  readonly cipherSuite: CipherSuiteName;
  /** True when RFC 7627's extended master secret was negotiated. */
  readonly extendedMasterSecret: boolean;
  /** True when the session was resumed with the abbreviated handshake (RFC 5246 §7.3). */
  readonly resumed: boolean;
}

/** Why a session or half-open handshake ended. */
export type SessionEndReason =
  /** The peer sent close_notify. */
  | 'close_notify'
  /** A fatal alert, sent or received. */
  | 'alert'
  /** No authenticated record for `idleTimeoutMs`. */
  | 'idle'
  /** Pushed out by a new peer when the table was full (`maxSessions`). */
  | 'evicted'
  /** The peer started a new handshake (a new ClientHello with a valid cookie). */
  | 'replaced'
  /** The handshake did not finish within `handshakeTimeoutMs`. */
  | 'timeout'
  /** The server socket closed. */
  | 'closed';
