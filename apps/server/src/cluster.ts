/**
 * Cluster mode: several `LwM2mServer` processes on shared stores (Redis, `@lwm2m-ts/redis`) and
 * one event bus. `LwM2mServer` makes a `ClusterLink` when given `cluster: { bus, nodeId }`; the
 * link
 *
 * - publishes the events this process emits (`registered`, `updated`, `deregistered`,
 *   `notification`, `send`, `observationCancelled`) on the bus with its node id, and re-emits
 *   those of the other processes on this server, marked `remote: <node id>` (so SSE clients and
 *   listeners of every process see every device; a listener that acts rather than shows skips
 *   events with `remote` set, since the process where it happened acts on it). Nothing is emitted
 *   twice: a process never re-publishes a remote event and ignores its own messages coming back;
 * - tells the server what other processes did to registrations it keeps state for: removed
 *   (its observations and queued requests here end), updated (its address is re-read, queued
 *   requests go) or heard from (notification, Send: queued requests go);
 * - passes the cancellation of an observation another process holds to that process (REST
 *   `DELETE …/observations/:id` through any process);
 * - tells the process that held an observation when another one took it over because the
 *   device's notification arrived there (server.ts): the former holder lets go of it silently;
 * - keeps track of which processes are alive (a heartbeat on the bus, a goodbye on close), and
 *   when a device updates its registration here, takes over the observations a dead process held
 *   for it: observes the same paths again from this process and drops the old records.
 *
 * The bus is at most once (Redis pub/sub): an event published while a process is cut off from it
 * is lost to that process. Events are notifications; the stores are the record of state.
 */
import type { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { ServiceUnavailableError } from '@lwm2m-ts/core';
import { fromWire, toWire } from './cluster-wire.js';
import type { Relayed, ServerEvents } from './events.js';
import type { ObservationRecord, ObservationStore } from './observation-store.js';
import type { CompositeObserveResponse, ObserveResponse, RequestOptions } from './operations.js';
import type { Registration } from './registration.js';
import { waitAtMost } from './wait-at-most.js';

/**
 * Publish/subscribe between the processes; `RedisEventBus` from `@lwm2m-ts/redis` fits.
 * Messages are JSON-serializable values.
 */
export interface ClusterBus {
  publish(channel: string, message: unknown): Promise<unknown>;
  subscribe(
    channel: string,
    handler: (message: unknown, channel: string) => void,
  ): Promise<() => Promise<void>>;
}

export interface ClusterOptions {
  readonly bus: ClusterBus;
  /**
   * This process's name in the cluster, unique among the processes sharing the stores (default:
   * `<hostname>-<pid>-<random>`, see {@link defaultNodeId}). Stamped on the registrations and
   * observations this process handles (`node`).
   */
  readonly nodeId?: string;
  /** Bus channel of the server events (default `server`). */
  readonly channel?: string;
  /**
   * Interval of this process's heartbeat on the bus, in ms (default 2000). A process not heard
   * from for three intervals is taken as gone: its observations move to the process a device
   * next updates at.
   */
  readonly heartbeatMs?: number;
  /**
   * How long this process uses a registration it read from the shared store before reading it
   * again, in ms (default 1000; 0: always read the store). Requests to devices look their
   * registration up first, and a Redis round trip per request halves the request rate at one
   * request in flight. Changes through this process and other processes' events update or evict
   * the copy at once; the time bounds how stale it can be when an event is lost.
   */
  readonly registrationCacheMs?: number;
}

/** The events relayed between processes. */
export const RELAYED_EVENTS = [
  'registered',
  'updated',
  'deregistered',
  'notification',
  'send',
  'observationCancelled',
] as const satisfies readonly (keyof ServerEvents)[];

export type RelayedEvent = (typeof RELAYED_EVENTS)[number];

/**
 * A request for a DTLS client whose session another process of the cluster holds (the one the
 * client last registered or updated at): only that process can talk to it. HTTP 503 (CoAP 5.03),
 * so an HTTP load balancer in front of the REST APIs may retry it at another process.
 */
export class DtlsSessionElsewhereError extends ServiceUnavailableError {
  readonly node: string;

  constructor(endpoint: string, node: string) {
    super(
      `the device's DTLS session is held by another server process (node ${node}); ` +
        `send requests for ${endpoint} to that process`,
    );
    this.node = node;
  }
}

/** `<hostname>-<pid>-<4 random hex digits>`: unique unless set. */
export function defaultNodeId(): string {
  const random = Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, '0');
  return `${hostname()}-${process.pid}-${random}`;
}

/**
 * Throws `DtlsSessionElsewhereError` when `reg` is a DTLS registration another node handles.
 * Registrations without a node (stored by a server not in cluster mode) are taken as local.
 */
export function checkSessionHolder(reg: Registration, nodeId: string | undefined): void {
  if (
    nodeId !== undefined &&
    reg.transport === 'dtls' &&
    reg.node !== undefined &&
    reg.node !== nodeId
  ) {
    throw new DtlsSessionElsewhereError(reg.endpoint, reg.node);
  }
}

/** What the link uses of the server (its public API). */
export interface ClusterServer extends EventEmitter<ServerEvents> {
  readonly observations: ObservationStore;
  observe(endpoint: string, path: string, opts?: RequestOptions): Promise<ObserveResponse>;
  observeComposite(
    endpoint: string,
    paths: readonly string[],
    opts?: RequestOptions,
  ): Promise<CompositeObserveResponse>;
  cancelObservation(
    endpoint: string,
    id: string,
    opts?: RequestOptions & { readonly mode?: 'proactive' | 'reactive' },
  ): Promise<number>;
}

/** What the server lets the link do to its per-registration state (not public API). */
export interface ClusterHooks {
  /** Another process removed the registration: end what this process holds of it, emit nothing. */
  released(registrationId: string): void;
  /**
   * Another process heard from the device: `updated` when it updated the registration (re-read
   * it), else a notification or Send. Queued requests here may go; expiry is re-armed.
   */
  heard(registration: Registration, updated: boolean): void;
  /**
   * Another process took over observation `id` of the registration (a notification for it came
   * there): drop it here without telling the device, which keeps observing.
   */
  moved(registrationId: string, id: string): void;
}

export interface ClusterLogger {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
}

type Message =
  | {
      readonly v: 1;
      readonly node: string;
      readonly kind: 'event';
      readonly event: RelayedEvent;
      readonly data: unknown;
    }
  | { readonly v: 1; readonly node: string; readonly kind: 'alive' | 'bye' }
  | {
      readonly v: 1;
      readonly node: string;
      readonly kind: 'cancel';
      /** The node holding the observation. */
      readonly to: string;
      readonly endpoint: string;
      readonly id: string;
      readonly mode: 'proactive' | 'reactive';
    }
  | {
      readonly v: 1;
      readonly node: string;
      readonly kind: 'moved';
      /** The node that held the observation. */
      readonly to: string;
      readonly registrationId: string;
      readonly id: string;
    };

function isMessage(m: unknown): m is Message {
  if (typeof m !== 'object' || m === null) return false;
  const { v, node, kind, event } = m as Record<string, unknown>;
  if (v !== 1 || typeof node !== 'string' || node === '') return false;
  if (kind === 'alive' || kind === 'bye') return true;
  if (kind === 'cancel') {
    const { to, endpoint, id, mode } = m as Record<string, unknown>;
    return (
      typeof to === 'string' &&
      typeof endpoint === 'string' &&
      typeof id === 'string' &&
      (mode === 'proactive' || mode === 'reactive')
    );
  }
  if (kind === 'moved') {
    const { to, registrationId, id } = m as Record<string, unknown>;
    return typeof to === 'string' && typeof registrationId === 'string' && typeof id === 'string';
  }
  return kind === 'event' && (RELAYED_EVENTS as readonly unknown[]).includes(event);
}

function isRegistration(r: unknown): r is Registration {
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof (r as Registration).id === 'string' &&
    typeof (r as Registration).endpoint === 'string'
  );
}

const MISSED_HEARTBEATS = 3;

export class ClusterLink {
  readonly nodeId: string;
  readonly #server: ClusterServer;
  readonly #bus: ClusterBus;
  readonly #channel: string;
  readonly #hooks: ClusterHooks;
  readonly #logger: ClusterLogger | undefined;
  readonly #heartbeatMs: number;
  /** Other nodes: when last heard from (a goodbye deletes the entry and notes it in #gone). */
  readonly #lastHeard = new Map<string, number>();
  readonly #gone = new Set<string>();
  readonly #listeners: [RelayedEvent, (event: Relayed) => void][] = [];
  #startedAt = 0;
  /** When our own last message came back to us: proof that the bus works for us. */
  #ownEcho = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;
  #publishFailing = false;
  #state: 'new' | 'started' | 'closed' = 'new';

  constructor(
    server: ClusterServer,
    options: ClusterOptions,
    hooks: ClusterHooks,
    logger?: ClusterLogger,
  ) {
    this.nodeId = options.nodeId ?? defaultNodeId();
    if (typeof this.nodeId !== 'string' || this.nodeId === '') {
      throw new RangeError('cluster.nodeId must be a non-empty string');
    }
    this.#heartbeatMs = options.heartbeatMs ?? 2000;
    if (!(this.#heartbeatMs > 0)) throw new RangeError('cluster.heartbeatMs must be > 0');
    this.#server = server;
    this.#bus = options.bus;
    this.#channel = options.channel ?? 'server';
    this.#hooks = hooks;
    this.#logger = logger;
  }

  /** Subscribes to the bus, starts relaying and the heartbeat. */
  async start(): Promise<void> {
    if (this.#state !== 'new') return;
    this.#unsubscribe = await this.#bus.subscribe(this.#channel, (m) => this.#receive(m));
    this.#state = 'started';
    this.#startedAt = Date.now();
    for (const name of RELAYED_EVENTS) {
      const listener = (event: Relayed) => {
        if (event.remote !== undefined) return; // relayed here: its own process published it
        this.#publish({ v: 1, node: this.nodeId, kind: 'event', event: name, data: toWire(event) });
        if (name === 'updated')
          this.#takeOver((event as { registration: Registration }).registration);
      };
      this.#listeners.push([name, listener]);
      (this.#server as EventEmitter).on(name, listener);
    }
    this.#beat();
    this.#heartbeat = setInterval(() => this.#beat(), this.#heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Stops relaying, says goodbye (so others take over at once) and unsubscribes. */
  async close(): Promise<void> {
    if (this.#state !== 'started') {
      this.#state = 'closed';
      return;
    }
    this.#state = 'closed';
    clearInterval(this.#heartbeat);
    for (const [name, listener] of this.#listeners.splice(0)) {
      (this.#server as EventEmitter).off(name, listener);
    }
    await waitAtMost(
      this.#bus.publish(this.#channel, { v: 1, node: this.nodeId, kind: 'bye' }),
      1000,
    );
    await waitAtMost(this.#unsubscribe?.() ?? Promise.resolve(), 1000);
  }

  /**
   * Whether `node` is known to be gone: said goodbye, or silent for three heartbeats while the
   * bus works for this process (a process cut off from the bus judges nothing).
   */
  isGone(node: string): boolean {
    if (node === this.nodeId) return false;
    if (this.#gone.has(node)) return true;
    const now = Date.now();
    const limit = MISSED_HEARTBEATS * this.#heartbeatMs;
    if (now - this.#ownEcho > limit) return false;
    const heard = this.#lastHeard.get(node);
    if (heard === undefined) return now - this.#startedAt > limit;
    return now - heard > limit;
  }

  /**
   * Asks the process holding `record` to end it, when that is another process not known to be
   * gone; false when this process should deal with the record itself.
   */
  cancelElsewhere(record: ObservationRecord, mode: 'proactive' | 'reactive'): boolean {
    const holder = record.node;
    if (this.#state !== 'started' || holder === undefined || holder === this.nodeId) return false;
    if (this.isGone(holder)) return false;
    this.#publish({
      v: 1,
      node: this.nodeId,
      kind: 'cancel',
      to: holder,
      endpoint: record.endpoint,
      id: record.id,
      mode,
    });
    return true;
  }

  /**
   * This process took over `from` (the record as it was, naming the former holder): tells that
   * process to let go of it. Nothing to tell when no other process held it.
   */
  observationMoved(from: ObservationRecord): void {
    const holder = from.node;
    if (this.#state !== 'started' || holder === undefined || holder === this.nodeId) return;
    this.#publish({
      v: 1,
      node: this.nodeId,
      kind: 'moved',
      to: holder,
      registrationId: from.registrationId,
      id: from.id,
    });
  }

  #cancel(endpoint: string, id: string, mode: 'proactive' | 'reactive'): void {
    this.#server
      .cancelObservation(endpoint, id, { mode })
      .catch((err: unknown) =>
        this.#logger?.warn({ err, endpoint, id }, 'cluster: cancelling an observation failed'),
      );
  }

  #beat(): void {
    this.#publish({ v: 1, node: this.nodeId, kind: 'alive' });
  }

  #publish(message: Message): void {
    this.#bus.publish(this.#channel, message).then(
      () => {
        if (!this.#publishFailing) return;
        this.#publishFailing = false;
        this.#logger?.info?.({}, 'cluster: publishing events works again');
      },
      (err: unknown) => {
        if (this.#publishFailing) return;
        this.#publishFailing = true;
        this.#logger?.warn(
          { err },
          'cluster: cannot publish events (other processes miss them until the bus is back)',
        );
      },
    );
  }

  #receive(m: unknown): void {
    if (this.#state !== 'started') return;
    if (!isMessage(m)) {
      this.#logger?.warn({ message: m }, 'cluster: ignored a malformed bus message');
      return;
    }
    const now = Date.now();
    if (m.node === this.nodeId) {
      this.#ownEcho = now;
      return;
    }
    if (m.kind === 'bye') {
      this.#lastHeard.delete(m.node);
      this.#gone.add(m.node);
      return;
    }
    this.#gone.delete(m.node);
    this.#lastHeard.set(m.node, now);
    if (m.kind === 'cancel') {
      if (m.to === this.nodeId) this.#cancel(m.endpoint, m.id, m.mode);
      return;
    }
    if (m.kind === 'moved') {
      if (m.to !== this.nodeId) return;
      try {
        this.#hooks.moved(m.registrationId, m.id);
      } catch (err) {
        this.#logger?.warn({ err, id: m.id }, 'cluster: letting go of a moved observation failed');
      }
      return;
    }
    if (m.kind !== 'event') return;
    let data: Record<string, unknown>;
    try {
      const decoded = fromWire(m.data);
      if (typeof decoded !== 'object' || decoded === null) throw new TypeError('not an object');
      data = decoded as Record<string, unknown>;
    } catch (err) {
      this.#logger?.warn({ err, event: m.event, node: m.node }, 'cluster: ignored a bad event');
      return;
    }
    const reg = data.registration;
    if (m.event !== 'observationCancelled' && !isRegistration(reg)) {
      this.#logger?.warn({ event: m.event, node: m.node }, 'cluster: event without registration');
      return;
    }
    try {
      if (m.event === 'deregistered') this.#hooks.released((reg as Registration).id);
      else if (m.event !== 'observationCancelled') {
        this.#hooks.heard(reg as Registration, m.event === 'updated' || m.event === 'registered');
      }
    } catch (err) {
      this.#logger?.warn({ err, event: m.event }, 'cluster: applying a remote event failed');
    }
    const emit = this.#server.emit.bind(this.#server) as (name: string, event: unknown) => boolean;
    try {
      emit(m.event, { ...data, remote: m.node });
    } catch (err) {
      this.#logger?.warn({ err, event: m.event }, 'cluster: a listener of a remote event failed');
    }
  }

  /**
   * The device updated its registration here: observe again, from here, what a gone process was
   * observing for it (its notifications went to that process), and drop the old records.
   */
  #takeOver(reg: Registration): void {
    const run = async () => {
      const records = await this.#server.observations.listByRegistration(reg.id);
      for (const r of records) {
        if (r.node === undefined || !this.isGone(r.node)) continue;
        const opts = r.contentFormat === undefined ? {} : { format: r.contentFormat };
        try {
          const res = r.composite
            ? await this.#server.observeComposite(reg.endpoint, r.paths, opts)
            : await this.#server.observe(reg.endpoint, r.paths[0] ?? '/', opts);
          // Refused (the path is gone, say): the old observation is dead either way.
          await this.#server.observations.remove(r.id);
          this.#logger?.info?.(
            { endpoint: reg.endpoint, paths: r.paths, from: r.node, ok: res.ok, code: res.code },
            res.ok
              ? 'cluster: took over an observation of a gone process'
              : 'cluster: the device refused to be observed again; dropped the observation',
          );
        } catch (err) {
          // Kept: the next update here tries again.
          this.#logger?.warn(
            { err, endpoint: reg.endpoint, paths: r.paths, from: r.node },
            'cluster: taking over an observation failed',
          );
        }
      }
    };
    run().catch((err: unknown) =>
      this.#logger?.warn({ err, endpoint: reg.endpoint }, 'cluster: observation take-over failed'),
    );
  }
}
