import type { SecurityEntry } from '@lwm2m-ts/core';

/**
 * How an endpoint must authenticate: with a pre-shared key over DTLS, or explicitly without
 * security (plain CoAP allowed even when the server refuses unknown plain-CoAP clients). The
 * same shape for every store (core's `SecurityEntry`, checked by `normalizeSecurityEntry`).
 */
export type SecurityInfo = SecurityEntry;

/**
 * Where the server keeps endpoint credentials. Async, so a file, a database or Redis fits.
 * Identities are unique across endpoints: the DTLS layer finds a key by identity alone.
 */
export interface SecurityStore {
  getByEndpoint(endpoint: string): Promise<SecurityInfo | undefined>;
  getByIdentity(identity: string): Promise<SecurityInfo | undefined>;
  list(): Promise<readonly SecurityInfo[]>;
  /** Adds or replaces the endpoint's entry; returns the previous one. Rejects with `IdentityInUseError`. */
  put(info: SecurityInfo): Promise<SecurityInfo | undefined>;
  /** Removes and returns the endpoint's entry. */
  remove(endpoint: string): Promise<SecurityInfo | undefined>;
  close(): Promise<void>;
}
