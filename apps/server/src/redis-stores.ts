/**
 * The server's stores on Redis for `lwm2m-server --store redis://…` (cluster mode):
 * registrations, observations and security entries from `@lwm2m-ts/redis`, plus the event bus the
 * processes relay their events on. `@lwm2m-ts/redis` (and with it ioredis) is an optional peer
 * dependency, imported only here and only when asked for, so in-memory users never load it.
 */
import type { ClusterBus } from './cluster.js';
import type { ObservationRecord, ObservationStore } from './observation-store.js';
import { type Registration, registrationPeer } from './registration.js';
import type { RegistrationStore } from './registration-store.js';
import type { SecurityStore } from './security-store.js';

export interface RedisStoresOptions {
  /** `redis://` or `rediss://` URL. */
  readonly url: string;
  /** Prefix of every key and channel (default `lwm2m:`). */
  readonly keyPrefix?: string;
  /** Bound on waiting for the connection and for each reply, in ms (default 5000). */
  readonly timeoutMs?: number;
}

export interface RedisStores {
  readonly registrationStore: RegistrationStore;
  readonly observationStore: ObservationStore;
  readonly securityStore: SecurityStore;
  readonly bus: ClusterBus;
  /** Where the stores connect (`host:port`), for messages. */
  readonly address: string;
  /** Ends the bus and the stores, then the connection they share. */
  close(): Promise<void>;
}

/** `@lwm2m-ts/redis` is not installed: a message that says what to do. */
export class RedisPackageMissingError extends Error {
  constructor(cause: unknown) {
    super(
      'Redis stores need the @lwm2m-ts/redis package: install it next to @lwm2m-ts/server ' +
        '(npm install @lwm2m-ts/redis)',
      { cause },
    );
    this.name = 'RedisPackageMissingError';
  }
}

/** Imports `@lwm2m-ts/redis`, or throws `RedisPackageMissingError`. */
async function importRedisPackage(): Promise<typeof import('@lwm2m-ts/redis')> {
  try {
    return await import('@lwm2m-ts/redis');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new RedisPackageMissingError(err);
    }
    throw err;
  }
}

/**
 * Opens the stores and the bus on one Redis connection (the bus adds its subscriber
 * connection). Nothing is sent yet: the connection is made in the background, and operations
 * fail with `StoreUnavailableError` (CoAP 5.03, HTTP 503) while Redis cannot be reached.
 */
export async function openRedisStores(options: RedisStoresOptions): Promise<RedisStores> {
  const r = await importRedisPackage();
  const base = {
    ...(options.keyPrefix !== undefined && { keyPrefix: options.keyPrefix }),
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
  };
  // The registration store opens (and at close quits) the connection the others borrow.
  const registrations = new r.RedisRegistrationStore<Registration>({
    ...base,
    redis: options.url,
    // A Send reaching a process that did not see the device's Register finds it by its peer.
    peerOf: (reg: Registration) => registrationPeer(reg.transport, reg),
  });
  const shared = { ...base, redis: registrations.connection.client };
  const observations = new r.RedisObservationStore<ObservationRecord>({ ...shared });
  const security = new r.RedisSecurityStore({ ...shared });
  const bus = new r.RedisEventBus({ ...shared });
  return {
    registrationStore: registrations,
    observationStore: observations,
    securityStore: security,
    bus,
    address: registrations.connection.address,
    async close() {
      await Promise.allSettled([bus.close(), observations.close(), security.close()]);
      await registrations.close();
    },
  };
}
