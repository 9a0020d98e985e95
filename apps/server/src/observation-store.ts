/** An observation the server holds toward a client (Observe or Observe-Composite). */
export interface ObservationRecord {
  /** The CoAP token in hex: what a notification is matched by. */
  readonly id: string;
  readonly registrationId: string;
  readonly endpoint: string;
  /** One path for Observe, several for Observe-Composite. */
  readonly paths: readonly string[];
  readonly composite: boolean;
  /** The format asked for (Accept), when one was. */
  readonly contentFormat?: number;
  readonly createdAt: number;
  /** Cluster mode: the server process (node id) holding the observation (notifications go there). */
  readonly node?: string;
}

/** Where the server keeps its observations; async so a shared store (Redis) fits. */
export interface ObservationStore {
  add(observation: ObservationRecord): Promise<void>;
  get(id: string): Promise<ObservationRecord | undefined>;
  listByRegistration(registrationId: string): Promise<readonly ObservationRecord[]>;
  /** Removes and returns it, or undefined when it was not there. */
  remove(id: string): Promise<ObservationRecord | undefined>;
  /** Removes and returns all observations of a registration. */
  removeByRegistration(registrationId: string): Promise<readonly ObservationRecord[]>;
  close(): Promise<void>;
}
