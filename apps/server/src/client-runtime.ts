/**
 * `ClientRuntime`: what this process keeps per registration beside the stored record (its
 * request queue, models, refused formats and observations). Its own file because the server,
 * the runtime table, the registration interface and device-management targets all use it.
 */
import type { ClientObservation, Peer } from '@lwm2m-ts/coap';
import type { ModelProvider } from '@lwm2m-ts/codecs';
import type { LwM2mPath } from '@lwm2m-ts/core';
import type { ObjectRegistry } from '@lwm2m-ts/registry';
import { modelsForRegistration } from './client-models.js';
import { rootSegments } from './device-management.js';
import type { ObservationRecord } from './observation-store.js';
import type { Registration } from './registration.js';
import type { RequestQueue } from './request-queue.js';

/** An observation this process holds: the CoAP side of an `ObservationRecord`. */
export interface ActiveObservation {
  readonly record: ObservationRecord;
  readonly coap: ClientObservation;
  readonly paths: readonly LwM2mPath[];
  /** Cluster mode: another process took it over; ending it here removes and emits nothing. */
  movedAway: boolean;
}

/**
 * What this process keeps per registration beside the stored data. A registration that only
 * registers and updates costs this object alone: its models, refused formats and observations
 * are made when a device-management request, an observation or a Send first needs them (each
 * Map or Set costs ~200 bytes even when empty; with them made eagerly the server held ~1 KB more
 * per registration).
 */
export class ClientRuntime {
  #reg: Registration;
  #models: ModelProvider | undefined;
  #rejected: Set<number> | undefined;
  #observations: Map<string, ActiveObservation> | undefined;
  /** Where requests go and the root path's segments, for `#reg` (made at the first request). */
  #peer: Peer | undefined;
  #root: readonly string[] | undefined;

  constructor(
    reg: Registration,
    readonly queue: RequestQueue | undefined,
    private readonly registry: ObjectRegistry,
  ) {
    this.#reg = reg;
  }

  get reg(): Registration {
    return this.#reg;
  }

  set reg(reg: Registration) {
    this.#reg = reg;
    this.#peer = undefined;
    this.#root = undefined;
  }

  get peer(): Peer {
    this.#peer ??= { address: this.#reg.address, port: this.#reg.port };
    return this.#peer;
  }

  get root(): readonly string[] {
    this.#root ??= rootSegments(this.#reg);
    return this.#root;
  }

  get models(): ModelProvider {
    this.#models ??= modelsForRegistration(this.registry, this.reg);
    return this.#models;
  }

  /** Formats this client refused (4.06/4.15). */
  get rejected(): Set<number> {
    this.#rejected ??= new Set();
    return this.#rejected;
  }

  get observations(): Map<string, ActiveObservation> {
    this.#observations ??= new Map();
    return this.#observations;
  }

  /** The observations, without making the map when there are none. */
  get activeObservations(): ReadonlyMap<string, ActiveObservation> | undefined {
    return this.#observations;
  }
}

/**
 * Whether a change of registration needs a fresh runtime: queue mode or the object versions
 * (which type the cached models) changed.
 */
export function needsNewRuntime(before: Registration, after: Registration): boolean {
  if (before.queueMode !== after.queueMode) return true;
  if (before.objectLinks === after.objectLinks) return false;
  const versions = (r: Registration) =>
    r.objectLinks
      .filter((l) => l.version !== undefined)
      .map((l) => `${l.objectId}@${l.version}`)
      .sort()
      .join();
  return versions(before) !== versions(after);
}
