import type { Registration } from './registration.js';

/**
 * Where the server keeps registrations. Async, so a shared store (Redis) fits the same interface;
 * the in-memory one answers at once. Implementations keep both indexes (id and endpoint) in step.
 */
export interface RegistrationStore {
  /**
   * Adds a registration. An endpoint has at most one: a registration already held for the same
   * endpoint is removed and returned (Core TS 1.2 §6.2.1: registering again replaces it).
   */
  add(registration: Registration): Promise<Registration | undefined>;
  /**
   * Applies `change` to the registration with this id atomically (no other update or expiry can
   * interleave); undefined when there is none. `change` must keep `id` and `endpoint`.
   */
  update(
    id: string,
    change: (current: Registration) => Registration,
  ): Promise<{ readonly before: Registration; readonly after: Registration } | undefined>;
  /** Removes and returns it, or undefined when it was not there (so only one caller wins). */
  remove(id: string): Promise<Registration | undefined>;
  getById(id: string): Promise<Registration | undefined>;
  getByEndpoint(endpoint: string): Promise<Registration | undefined>;
  list(): Promise<readonly Registration[]>;
  /**
   * The registration whose device sends from `peer` (`transport|address|port`, see
   * `registrationPeer`), if it still does. Optional: a shared store implements it so that a
   * process finds a device that registered through another one when the device's Send arrives
   * there; a server process finds the devices it serves without it.
   */
  getByPeer?(peer: string): Promise<Registration | undefined>;
  /** Removes and returns every registration with `expiresAt <= now` (each returned once only). */
  removeExpired(now: number): Promise<readonly Registration[]>;
  /** The earliest `expiresAt` held, so the server can sleep until then; undefined when empty. */
  nextExpiry(): Promise<number | undefined>;
  close(): Promise<void>;
}
