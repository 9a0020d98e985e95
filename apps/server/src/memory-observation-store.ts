import type { ObservationRecord, ObservationStore } from './observation-store.js';

/**
 * Observations in process memory: a map by id (the token in hex) and an index from registration
 * id to the ids of its observations, kept in step. Adding an observation whose id is already held
 * replaces it (a token is only ever live once), moving it to its new registration if need be.
 */
export class InMemoryObservationStore implements ObservationStore {
  private readonly byId = new Map<string, ObservationRecord>();
  private readonly byRegistration = new Map<string, Set<string>>();

  /** How many observations are held (for metrics and tests). */
  get size(): number {
    return this.byId.size;
  }

  async add(observation: ObservationRecord): Promise<void> {
    this.removeNow(observation.id);
    this.byId.set(observation.id, observation);
    let ids = this.byRegistration.get(observation.registrationId);
    if (ids === undefined) {
      ids = new Set();
      this.byRegistration.set(observation.registrationId, ids);
    }
    ids.add(observation.id);
  }

  async get(id: string): Promise<ObservationRecord | undefined> {
    return this.byId.get(id);
  }

  async listByRegistration(registrationId: string): Promise<readonly ObservationRecord[]> {
    const ids = this.byRegistration.get(registrationId);
    if (ids === undefined) return [];
    return Array.from(ids, (id) => this.byId.get(id)!);
  }

  async remove(id: string): Promise<ObservationRecord | undefined> {
    return this.removeNow(id);
  }

  async removeByRegistration(registrationId: string): Promise<readonly ObservationRecord[]> {
    const ids = this.byRegistration.get(registrationId);
    if (ids === undefined) return [];
    this.byRegistration.delete(registrationId);
    const removed: ObservationRecord[] = [];
    for (const id of ids) {
      const obs = this.byId.get(id);
      if (obs === undefined) continue;
      this.byId.delete(id);
      removed.push(obs);
    }
    return removed;
  }

  async close(): Promise<void> {
    this.byId.clear();
    this.byRegistration.clear();
  }

  private removeNow(id: string): ObservationRecord | undefined {
    const obs = this.byId.get(id);
    if (obs === undefined) return undefined;
    this.byId.delete(id);
    const ids = this.byRegistration.get(obs.registrationId);
    if (ids !== undefined) {
      ids.delete(id);
      if (ids.size === 0) this.byRegistration.delete(obs.registrationId);
    }
    return obs;
  }
}
