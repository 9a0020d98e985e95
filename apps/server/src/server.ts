import { EventEmitter } from 'node:events';
import {
  boundAddresses,
  type CoapTuning,
  type DtlsTransportOptions,
  listenCoap,
  listenDtls,
  type TransportOptions,
} from '@lwm2m-ts/app-kit';
import type {
  ClientObservation,
  CoapEndpoint,
  CoapRequest,
  CoapResponse,
  IncomingResponse,
  UnknownNotification,
} from '@lwm2m-ts/coap';
import type { ModelProvider } from '@lwm2m-ts/codecs';
import {
  type AttributeUpdate,
  ContentFormat,
  InvalidValueError,
  isSuccessCode,
  LwM2mError,
  type LwM2mNode,
  LwM2mPath,
  type LwM2mResource,
  MethodNotAllowedError,
  NotFoundError,
  type PathValue,
  type ResponseCode,
  ServiceUnavailableError,
  TimeoutError,
} from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { CachedRegistrationStore } from './cached-registration-store.js';
import { modelsForRegistration } from './client-models.js';
import type { ActiveObservation, ClientRuntime } from './client-runtime.js';
import { ClusterLink, type ClusterOptions, checkSessionHolder } from './cluster.js';
import { clusterHooks } from './cluster-hooks.js';
import * as dm from './device-management.js';
import { UnknownClientError } from './errors.js';
import type { DeregistrationReason, ServerEvents } from './events.js';
import { InMemoryObservationStore } from './memory-observation-store.js';
import { InMemoryRegistrationStore } from './memory-registration-store.js';
import { InMemorySecurityStore } from './memory-security-store.js';
import type { ObservationRecord, ObservationStore } from './observation-store.js';
import type {
  CompositeObserveResponse,
  CompositeReadResponse,
  CreateResponse,
  DiscoverResponse,
  EmptyResponse,
  ObserveResponse,
  ReadResponse,
  RequestOptions,
  WriteMode,
} from './operations.js';
import { parsePath, parsePaths } from './parse-path.js';
import type { Registration, Transport } from './registration.js';
import { RegistrationExpiry } from './registration-expiry.js';
import {
  endpointOf,
  type RegistrationContext,
  RegistrationInterface,
} from './registration-interface.js';
import type { RegistrationStore } from './registration-store.js';
import { outgoingRequest, RequestTarget } from './request-target.js';
import { RuntimeTable } from './runtime-table.js';
import type { SecurityStore } from './security-store.js';
import { handleSend, type SendContext } from './send.js';
import { waitAtMost } from './wait-at-most.js';

export type { DtlsTransportOptions, TransportOptions };

/** pino-compatible logger subset. */
export interface ServerLogger {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

export interface LwM2mServerOptions {
  /** Plain CoAP; `false` turns it off. */
  readonly coap?: false | TransportOptions;
  /** CoAP over DTLS 1.2 with PSK (keys from the security store); `false` turns it off. */
  readonly dtls?: false | DtlsTransportOptions;
  readonly registrationStore?: RegistrationStore;
  readonly observationStore?: ObservationStore;
  readonly securityStore?: SecurityStore;
  /** Object models (default: the built-in core and IPSO objects). */
  readonly registry?: ObjectRegistry;
  /**
   * Accept plain-CoAP registrations from endpoints without a security entry (default true).
   * Endpoints with a PSK entry must use DTLS either way; a `nosec` entry always allows plain CoAP.
   */
  readonly allowUnsecured?: boolean;
  /** Default time limit of a device-management request, in ms (default 10 000). */
  readonly requestTimeout?: number;
  readonly queue?: {
    /** Most requests waiting for one sleeping client (default 16). */
    readonly maxQueued?: number;
    /** How long a queue-mode client listens after it last talked to us (default 93 s). */
    readonly awakeTimeMs?: number;
  };
  /** CoAP transmission parameters (RFC 7252 §4.8) and block size for both transports. */
  readonly coapOptions?: CoapTuning;
  readonly logger?: ServerLogger;
  /**
   * Cluster mode: this process is one of several on shared stores (Redis); events cross between
   * them on `bus`. See cluster.ts and the README's "Cluster on Redis".
   */
  readonly cluster?: ClusterOptions;
}

export interface ServerStats {
  readonly registrations: number;
  readonly registrationRequests: number;
  readonly updateRequests: number;
  readonly deregistrations: number;
  readonly expirations: number;
  readonly requestsSent: number;
  readonly requestsFailed: number;
  readonly notifications: number;
  readonly sends: number;
  readonly coapErrors: number;
  readonly queuedRequests: number;
  readonly observations: number;
}

/**
 * An LwM2M server (Core TS 1.0–1.2): the registration interface on CoAP and CoAP over DTLS,
 * device management and observation toward registered clients, Send, and queue mode.
 *
 * ```ts
 * const server = new LwM2mServer({ coap: { port: 5683 }, dtls: false });
 * server.on('registered', ({ registration }) => console.log(registration.endpoint));
 * await server.start();
 * const res = await server.read('dev-1', '/3/0/0');
 * ```
 */
export class LwM2mServer extends EventEmitter<ServerEvents> {
  readonly registry: ObjectRegistry;
  readonly registrations: RegistrationStore;
  readonly observations: ObservationStore;
  readonly security: SecurityStore;
  readonly #options: LwM2mServerOptions;
  readonly #owned: { close(): Promise<void> }[] = [];
  readonly #requestTimeout: number;
  readonly #logger: ServerLogger | undefined;
  readonly #runtimes: RuntimeTable;
  /** Cluster mode: the local copy of registrations (`registrations` then goes through it). */
  readonly #registrationCache: CachedRegistrationStore | undefined;
  /** Firmware packages served at `/fw/<name>` for the Firmware Update object's pull mode. */
  readonly #packages = new Map<string, Uint8Array>();
  #udp: CoapEndpoint | undefined;
  #dtls: CoapEndpoint | undefined;
  #state: 'new' | 'starting' | 'started' | 'closing' | 'closed' = 'new';
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  readonly #cluster: ClusterLink | undefined;
  /** What the registration interface and Send handling use of this server. */
  readonly #interfaces: RegistrationContext & SendContext;
  /** The registration interface, on `/rd`. */
  readonly #rd: RegistrationInterface;
  readonly #expiry: RegistrationExpiry;
  readonly #counters = {
    registrationRequests: 0,
    updateRequests: 0,
    deregistrations: 0,
    expirations: 0,
    requestsSent: 0,
    requestsFailed: 0,
    notifications: 0,
    sends: 0,
    coapErrors: 0,
  };

  constructor(options: LwM2mServerOptions = {}) {
    super();
    this.#options = options;
    this.registry = options.registry ?? ObjectRegistry.withBuiltins();
    const registrations = options.registrationStore ?? this.#own(new InMemoryRegistrationStore());
    const cacheMs = options.cluster?.registrationCacheMs ?? 1000;
    if (!(cacheMs >= 0)) throw new RangeError('cluster.registrationCacheMs must be ≥ 0');
    // Cluster mode: the store is shared (Redis); a short-lived local copy saves a round trip
    // per request. Outside cluster mode nobody else changes the store: nothing to save.
    this.#registrationCache =
      options.cluster && cacheMs > 0
        ? new CachedRegistrationStore(registrations, { ttlMs: cacheMs })
        : undefined;
    this.registrations = this.#registrationCache ?? registrations;
    this.observations = options.observationStore ?? this.#own(new InMemoryObservationStore());
    this.security = options.securityStore ?? this.#own(new InMemorySecurityStore());
    this.#requestTimeout = options.requestTimeout ?? 10_000;
    if (!(this.#requestTimeout > 0)) throw new RangeError('requestTimeout must be > 0');
    this.#logger = options.logger;
    if (options.coap === false && options.dtls === false) {
      throw new RangeError('at least one of coap and dtls must be enabled');
    }
    this.#expiry = new RegistrationExpiry({
      registrations: this.registrations,
      counters: this.#counters,
      logger: this.#logger,
      accepting: () => this.#state !== 'closing' && this.#state !== 'closed',
      started: () => this.#state === 'started',
      ended: (reg, reason) => this.#ended(reg, reason),
    });
    this.#runtimes = new RuntimeTable({
      registry: this.registry,
      queue: options.queue,
      onAwake: (registration) => this.emit('awake', { registration }),
      onSleeping: (registration) => this.emit('sleeping', { registration }),
    });
    this.#cluster =
      options.cluster &&
      new ClusterLink(
        this,
        options.cluster,
        clusterHooks({
          registrations: this.registrations,
          observations: this.observations,
          runtimes: this.#runtimes,
          registrationCache: this.#registrationCache,
          nodeId: () => this.nodeId,
          logger: this.#logger,
          scheduleExpiry: (at) => this.#expiry.schedule(at),
        }),
        options.logger,
      );
    this.#interfaces = {
      registrations: this.registrations,
      security: this.security,
      runtimes: this.#runtimes,
      allowUnsecured: options.allowUnsecured ?? true,
      nodeId: this.nodeId,
      counters: this.#counters,
      events: this,
      ended: (reg, reason) => this.#ended(reg, reason),
      scheduleExpiry: (at) => this.#expiry.schedule(at),
    };
    this.#rd = new RegistrationInterface(this.#interfaces);
  }

  /** Cluster mode: this process's node id; undefined outside cluster mode. */
  get nodeId(): string | undefined {
    return this.#cluster?.nodeId;
  }

  #own<T extends { close(): Promise<void> }>(store: T): T {
    this.#owned.push(store);
    return store;
  }

  /** Binds the CoAP and DTLS sockets. Idempotent. */
  start(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') {
      return Promise.reject(new ServiceUnavailableError('the server is closed'));
    }
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#state = 'starting';
    const { coap, dtls, coapOptions, logger } = this.#options;
    try {
      if (coap !== false) {
        this.#udp = await listenCoap(coap, {
          defaultPort: 5683,
          handler: (req) => this.#handle(req, 'udp'),
          coapOptions,
          logger,
        });
      }
      if (dtls !== false) {
        this.#dtls = await listenDtls(dtls, {
          defaultPort: 5684,
          handler: (req) => this.#handle(req, 'dtls'),
          coapOptions,
          logger,
          psk: async (identity) => {
            const info = await this.security.getByIdentity(identity);
            return info?.mode === 'psk' ? Buffer.from(info.key) : undefined;
          },
          onHandshakeError: (peer, message) => this.#coapError(undefined, peer, '4.03', message),
        });
      }
      if (this.#cluster !== undefined) {
        // A UDP balancer may hand any process a notification of an observation another one
        // holds: matched by token in the shared store, it is taken over instead of reset.
        this.#udp?.setUnknownNotificationHandler((n, signal) =>
          this.#unknownNotification(n, signal, 'udp'),
        );
        this.#dtls?.setUnknownNotificationHandler((n, signal) =>
          this.#unknownNotification(n, signal, 'dtls'),
        );
      }
      this.#state = 'started';
      await this.#expiry.arm();
      await this.#cluster?.start();
    } catch (err) {
      await Promise.allSettled([this.#udp?.close(), this.#dtls?.close()]);
      this.#state = 'closed';
      throw err;
    }
  }

  /** Where the sockets are bound (after `start()`). */
  addresses(): {
    coap?: { address: string; port: number };
    dtls?: { address: string; port: number };
  } {
    return boundAddresses({ coap: this.#udp, dtls: this.#dtls });
  }

  /**
   * Stops serving: fails queued requests, forgets observations (without telling clients), closes
   * the sockets and the stores the server created itself. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.#starting?.catch(() => {});
    this.#state = 'closing';
    this.#expiry.stop();
    await this.#cluster?.close();
    for (const rt of this.#runtimes.values()) {
      rt.queue?.close(new ServiceUnavailableError('the server is closing'));
    }
    await Promise.allSettled([this.#udp?.close(), this.#dtls?.close()]);
    this.#runtimes.clear();
    await Promise.allSettled(this.#owned.map((s) => s.close()));
    this.#state = 'closed';
  }

  // ---------------------------------------------------------------------------------------------
  // Registrations

  getRegistration(endpoint: string): Promise<Registration | undefined> {
    return this.registrations.getByEndpoint(endpoint);
  }

  listRegistrations(): Promise<readonly Registration[]> {
    return this.registrations.list();
  }

  /** Queue-mode state of a client this process talks to; undefined when not in queue mode. */
  queueState(endpoint: string): { awake: boolean; queued: number } | undefined {
    const queue = this.#runtimes.queued(endpoint)?.queue;
    return queue === undefined ? undefined : { awake: queue.awake, queued: queue.queued };
  }

  /** The models a registration's values are typed with (the object versions it registered). */
  modelsFor(registration: Registration): ModelProvider {
    return (
      this.#runtimes.get(registration.id)?.models ??
      modelsForRegistration(this.registry, registration)
    );
  }

  /**
   * Removes a registration as if it had de-registered (e.g. a device decommissioned from the
   * REST API); its observations and queued requests end. False when there was none.
   */
  async removeRegistration(endpoint: string): Promise<boolean> {
    const reg = await this.registrations.getByEndpoint(endpoint);
    if (reg === undefined) return false;
    const removed = await this.registrations.remove(reg.id);
    if (removed === undefined) return false;
    await this.#ended(removed, 'removed');
    return true;
  }

  /**
   * Serves `bytes` at `/fw/<name>` on both transports, for clients told to pull a firmware
   * package (Write of `/5/0/1`). Returns the path; `packageUri()` builds the full URI.
   */
  addPackage(name: string, bytes: Uint8Array): string {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) {
      throw new InvalidValueError('a package name is 1–64 letters, digits, ".", "_" or "-"');
    }
    this.#packages.set(name, bytes);
    return `/fw/${name}`;
  }

  removePackage(name: string): boolean {
    return this.#packages.delete(name);
  }

  /** `coap://host:port/fw/<name>` (or coaps://) for a package, with the host devices reach us at. */
  packageUri(name: string, transport: Transport, host: string): string {
    const a = this.addresses()[transport === 'udp' ? 'coap' : 'dtls'];
    if (a === undefined)
      throw new ServiceUnavailableError(`the ${transport} transport is not running`);
    const h = host.includes(':') ? `[${host}]` : host;
    return `${transport === 'udp' ? 'coap' : 'coaps'}://${h}:${a.port}/fw/${encodeURIComponent(name)}`;
  }

  stats(): ServerStats {
    let queued = 0;
    let observations = 0;
    for (const rt of this.#runtimes.values()) {
      queued += rt.queue?.queued ?? 0;
      observations += rt.activeObservations?.size ?? 0;
    }
    return {
      ...this.#counters,
      registrations: this.#runtimes.size,
      queuedRequests: queued,
      observations,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Device management (Core TS 1.2 §6.3, §6.4)

  async read(endpoint: string, path: string, opts: RequestOptions = {}): Promise<ReadResponse> {
    const p = parsePath(path);
    return this.#withClient(endpoint, opts, (t) => dm.read(t, p, opts.format));
  }

  async write(
    endpoint: string,
    path: string,
    content: LwM2mNode,
    opts: RequestOptions & { readonly mode?: WriteMode } = {},
  ): Promise<EmptyResponse> {
    const p = parsePath(path);
    if (p.level === 'root' || p.level === 'object') {
      throw new MethodNotAllowedError(`Write targets an instance or a resource, not ${p}`);
    }
    return this.#withClient(endpoint, opts, (t) =>
      dm.write(t, p, content, opts.mode ?? 'replace', opts.format),
    );
  }

  async writeAttributes(
    endpoint: string,
    path: string,
    attributes: AttributeUpdate,
    opts: RequestOptions = {},
  ): Promise<EmptyResponse> {
    const p = parsePath(path);
    return this.#withClient(endpoint, opts, (t) => dm.writeAttributes(t, p, attributes));
  }

  async discover(
    endpoint: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<DiscoverResponse> {
    const p = parsePath(path);
    return this.#withClient(endpoint, opts, (t) => dm.discover(t, p));
  }

  async execute(
    endpoint: string,
    path: string,
    args?: string,
    opts: RequestOptions = {},
  ): Promise<EmptyResponse> {
    const p = parsePath(path);
    if (p.level !== 'resource') {
      throw new MethodNotAllowedError(`Execute targets a resource, not ${p}`);
    }
    return this.#withClient(endpoint, opts, (t) => dm.execute(t, p, args));
  }

  async create(
    endpoint: string,
    objectId: number,
    resources: readonly LwM2mResource[],
    opts: RequestOptions & { readonly instanceId?: number } = {},
  ): Promise<CreateResponse> {
    LwM2mPath.of(objectId); // validates the id
    if (opts.instanceId !== undefined) LwM2mPath.of(objectId, opts.instanceId);
    return this.#withClient(endpoint, opts, (t) =>
      dm.create(t, objectId, resources, opts.instanceId, opts.format),
    );
  }

  async delete(endpoint: string, path: string, opts: RequestOptions = {}): Promise<EmptyResponse> {
    const p = parsePath(path);
    if (p.level !== 'instance' && p.level !== 'object') {
      // Core TS 1.2 §6.4.6: Delete targets object instances (the object level is 1.2's
      // Bootstrap-Delete only; clients answer 4.05).
      throw new MethodNotAllowedError(`Delete targets an object instance, not ${p}`);
    }
    return this.#withClient(endpoint, opts, (t) => dm.remove(t, p));
  }

  async readComposite(
    endpoint: string,
    paths: readonly string[],
    opts: RequestOptions = {},
  ): Promise<CompositeReadResponse> {
    const ps = parsePaths(paths);
    return this.#withClient(endpoint, opts, (t) => {
      requireComposite(t.registration);
      return dm.readComposite(t, ps, opts.format);
    });
  }

  async writeComposite(
    endpoint: string,
    values: readonly PathValue[],
    opts: RequestOptions = {},
  ): Promise<EmptyResponse> {
    if (values.length === 0)
      throw new InvalidValueError('Write-Composite needs at least one value');
    return this.#withClient(endpoint, opts, (t) => {
      requireComposite(t.registration);
      return dm.writeComposite(t, values, opts.format);
    });
  }

  async observe(
    endpoint: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<ObserveResponse> {
    const p = parsePath(path);
    return this.#withClient(endpoint, opts, async (t, rt) => {
      const started = await dm.observe(t, [p], false, opts.format);
      if (!('observation' in started)) return started;
      const record = await this.#track(rt, started, [p], false);
      return {
        ok: true,
        code: started.observation.first.code,
        observation: record,
        content: started.content!,
        contentFormat: started.format,
      };
    });
  }

  async observeComposite(
    endpoint: string,
    paths: readonly string[],
    opts: RequestOptions = {},
  ): Promise<CompositeObserveResponse> {
    const ps = parsePaths(paths);
    return this.#withClient(endpoint, opts, async (t, rt) => {
      requireComposite(t.registration);
      const started = await dm.observe(t, ps, true, opts.format);
      if (!('observation' in started)) return started;
      const record = await this.#track(rt, started, ps, true);
      return {
        ok: true,
        code: started.observation.first.code,
        observation: record,
        values: started.values!,
        contentFormat: started.format,
      };
    });
  }

  /**
   * Ends the observations of `pathOrId` (a path such as `/3/0/13`, matching single observations
   * of exactly that path, or an observation id). `proactive` (default) tells the client with a GET
   * carrying Observe=1 (RFC 7641 §3.6); `reactive` forgets the token so the next notification is
   * answered with RST. Resolves with how many ended.
   */
  async cancelObservation(
    endpoint: string,
    pathOrId: string,
    opts: RequestOptions & { readonly mode?: 'proactive' | 'reactive' } = {},
  ): Promise<number> {
    const reg = await this.registrations.getByEndpoint(endpoint);
    if (reg === undefined) throw new UnknownClientError(`no client registered as ${endpoint}`);
    const records = await this.observations.listByRegistration(reg.id);
    const isPath = pathOrId.startsWith('/');
    const wanted = isPath ? LwM2mPath.parse(pathOrId).toString() : pathOrId;
    const matching = records.filter((r) =>
      isPath ? !r.composite && r.paths[0] === wanted : r.id === wanted,
    );
    const rt = this.#runtimes.get(reg.id);
    for (const record of matching) {
      const active = rt?.activeObservations?.get(record.id);
      if (active === undefined) {
        // Cluster mode: another live process holds it; that process ends it (asynchronously).
        if (this.#cluster?.cancelElsewhere(record, opts.mode ?? 'proactive')) continue;
        await this.observations.remove(record.id);
        continue;
      }
      if (opts.mode === 'reactive') {
        await active.coap.cancel('reactive');
      } else {
        // The observation ends here at once; waiting for the client's answer is bounded by the
        // call's own time limit (the CoAP layer would wait as long as the observe request could).
        await this.#withClient(endpoint, opts, () =>
          waitAtMost(active.coap.cancel('proactive'), opts.timeout ?? this.#requestTimeout),
        );
      }
    }
    return matching.length;
  }

  listObservations(endpoint: string): Promise<readonly ObservationRecord[]> {
    return this.registrations.getByEndpoint(endpoint).then((reg) => {
      if (reg === undefined) throw new UnknownClientError(`no client registered as ${endpoint}`);
      return this.observations.listByRegistration(reg.id);
    });
  }

  async #track(
    rt: ClientRuntime,
    started: dm.StartedObservation,
    paths: readonly LwM2mPath[],
    composite: boolean,
  ): Promise<ObservationRecord> {
    const coap = started.observation;
    const record: ObservationRecord = {
      id: Buffer.from(coap.token).toString('hex'),
      registrationId: rt.reg.id,
      endpoint: rt.reg.endpoint,
      paths: paths.map(String),
      composite,
      contentFormat: started.format,
      createdAt: Date.now(),
      ...(this.nodeId !== undefined && { node: this.nodeId }),
    };
    await this.observations.add(record);
    if (coap.ended || this.#runtimes.get(rt.reg.id) !== rt) {
      // The registration went away (or the client ended it) while we stored it.
      await this.observations.remove(record.id);
      if (!coap.ended) await coap.cancel('reactive');
      return record;
    }
    this.#hold(rt, record, coap, paths);
    return record;
  }

  /** Holds an observation in this process: its notifications are emitted from here. */
  #hold(
    rt: ClientRuntime,
    record: ObservationRecord,
    coap: ClientObservation,
    paths: readonly LwM2mPath[],
  ): void {
    const active: ActiveObservation = { record, coap, paths, movedAway: false };
    rt.observations.set(record.id, active);
    coap.on('notification', (n) => this.#onNotification(rt, record, paths, n));
    coap.on('end', (reason) => {
      if (rt.activeObservations?.get(record.id) === active) rt.observations.delete(record.id);
      // Another process holds it now (and the record says so): nothing ended.
      if (active.movedAway) return;
      // Cluster mode: a process shutting down leaves its observations in the shared store, for
      // the process the device next updates at to take over (cluster.ts).
      if (this.#cluster !== undefined && this.#state === 'closing') return;
      void this.observations.remove(record.id).then(
        () => this.emit('observationCancelled', { observation: record, reason }),
        (err: unknown) => this.#logger?.warn({ err }, 'observation store failed'),
      );
    });
  }

  /**
   * Cluster mode: a notification whose token this process does not hold. Answered with RST, it
   * would end the observation at the device (RFC 7641 §3.6); but a UDP balancer may have sent it
   * here while another process holds the observation. When the store has the token, for a
   * registration that exists, on this transport (and, over DTLS, from the registered identity),
   * this process takes the observation over: it adopts the token (the notification and the
   * next ones are emitted from here, as for its own observations), marks the record as its own,
   * and tells the former holder to let go without a word to the device. False (RST) otherwise,
   * and for a record marked as this process's: it ended here, or is ending.
   */
  async #unknownNotification(
    n: UnknownNotification,
    signal: AbortSignal,
    transport: Transport,
  ): Promise<boolean> {
    const cluster = this.#cluster;
    if (cluster === undefined || this.#state !== 'started') return false;
    const id = Buffer.from(n.token).toString('hex');
    const record = await this.observations.get(id);
    if (record === undefined || record.node === cluster.nodeId) return false;
    const reg = await this.registrations.getById(record.registrationId);
    if (reg === undefined || reg.transport !== transport) return false;
    if (transport === 'dtls' && reg.identity !== n.peer.identity) return false;
    const endpoint = transport === 'dtls' ? this.#dtls : this.#udp;
    // The endpoint stopped waiting (RST went out) or we are closing: leave it to the holder.
    if (signal.aborted || this.#state !== 'started' || endpoint === undefined) return false;
    const rt = this.#runtimes.adopt(this.#runtimes.runtime(reg), reg);
    const paths = record.paths.map((p) => parsePath(p));
    const request = outgoingRequest(
      rt,
      dm.observeRequest(paths, record.composite, record.contentFormat ?? ContentFormat.TEXT),
      this.#requestTimeout,
      undefined,
    );
    const mine: ObservationRecord = { ...record, node: cluster.nodeId };
    const coap = endpoint.adoptObservation(n.peer, request, n.token, n);
    this.#hold(rt, mine, coap, paths);
    try {
      await this.observations.add(mine);
    } catch (err) {
      // Held here all the same: the device keeps its observation; the record lags behind.
      this.#logger?.warn({ err, id }, 'cluster: recording an observation taken over failed');
    }
    cluster.observationMoved(record);
    this.#logger?.info?.(
      { endpoint: reg.endpoint, id, from: record.node },
      'cluster: took over an observation whose notification came here',
    );
    return true;
  }

  #onNotification(
    rt: ClientRuntime,
    observation: ObservationRecord,
    paths: readonly LwM2mPath[],
    n: IncomingResponse,
  ): void {
    this.#counters.notifications++;
    rt.queue?.wake();
    const registration = rt.reg;
    if (!isSuccessCode(n.code)) {
      this.emit('notification', { registration, observation, code: n.code });
      return;
    }
    try {
      const decoded = dm.decodeNotification(
        { registration, models: rt.models },
        paths,
        observation.composite,
        n,
        observation.contentFormat ?? ContentFormat.TEXT,
      );
      this.emit('notification', {
        registration,
        observation,
        code: n.code,
        contentFormat: decoded.format,
        ...(decoded.content && { content: decoded.content }),
        ...(decoded.values && { values: decoded.values }),
      });
    } catch (err) {
      this.#coapError(
        registration.endpoint,
        n.peer,
        '5.02',
        err instanceof Error ? err.message : String(err),
      );
    }
  }

  /**
   * Runs a device-management call against the client registered as `endpoint`: through its
   * queue when it is in queue mode, within the call's time limit.
   */
  async #withClient<T>(
    endpoint: string,
    opts: RequestOptions,
    fn: (target: dm.Target, rt: ClientRuntime) => Promise<T>,
  ): Promise<T> {
    if (this.#state !== 'started') throw new ServiceUnavailableError('the server is not started');
    const reg = await this.registrations.getByEndpoint(endpoint);
    if (reg === undefined) throw new UnknownClientError(`no client registered as ${endpoint}`);
    checkSessionHolder(reg, this.nodeId);
    // Another process may have changed it (cluster mode): follow the stored registration.
    const rt = this.#runtimes.adopt(this.#runtimes.runtime(reg), reg);
    const timeout = opts.timeout ?? this.#requestTimeout;
    if (!(timeout > 0)) throw new RangeError('timeout must be > 0');
    const run = async (ms: number): Promise<T> => {
      checkSessionHolder(rt.reg, this.nodeId);
      const target = this.#target(rt, Date.now() + ms, opts.signal);
      try {
        return await fn(target, rt);
      } catch (err) {
        this.#counters.requestsFailed++;
        // A queue-mode client that stops answering has gone back to sleep.
        if (err instanceof TimeoutError) rt.queue?.sleep();
        throw err;
      }
    };
    return rt.queue ? rt.queue.submit(run, timeout, opts.signal) : run(timeout);
  }

  #target(rt: ClientRuntime, deadline: number, signal: AbortSignal | undefined): dm.Target {
    const reg = rt.reg;
    const endpoint = reg.transport === 'dtls' ? this.#dtls : this.#udp;
    if (endpoint === undefined) {
      throw new ServiceUnavailableError(`the ${reg.transport} transport is not running`);
    }
    return new RequestTarget(rt, endpoint, deadline, signal, this.#counters);
  }

  // ---------------------------------------------------------------------------------------------
  // Registration interface and Send (Core TS 1.2 §6.2, §6.4.7)

  async #handle(req: CoapRequest, transport: Transport): Promise<CoapResponse> {
    try {
      const [first, second, ...rest] = req.path;
      if (first === 'rd' && rest.length === 0) {
        if (second === undefined) {
          if (req.method !== 'POST') throw new MethodNotAllowedError('Register is a POST to /rd');
          return await this.#rd.register(req, transport);
        }
        if (req.method === 'POST') return await this.#rd.update(second, req, transport);
        if (req.method === 'DELETE') return await this.#rd.deregister(second, req, transport);
        throw new MethodNotAllowedError('Update is a POST and De-register a DELETE to /rd/{id}');
      }
      if (first === 'fw' && second !== undefined && rest.length === 0) {
        if (req.method !== 'GET')
          throw new MethodNotAllowedError('firmware packages are read with GET');
        const pkg = this.#packages.get(second);
        if (pkg === undefined) throw new NotFoundError(`no firmware package ${second}`);
        // Core TS 1.2 E.6 (pull): the client fetches the Package URI; CoapEndpoint sends it Block2.
        return { code: '2.05', payload: pkg, contentFormat: ContentFormat.OPAQUE };
      }
      if (first === 'dp' && second === undefined) {
        if (req.method !== 'POST') throw new MethodNotAllowedError('Send is a POST to /dp');
        return await handleSend(this.#interfaces, req, transport);
      }
      throw new NotFoundError(`no resource /${req.path.join('/')} on this server`);
    } catch (err) {
      if (err instanceof LwM2mError) {
        this.#coapError(endpointOf(req), req.peer, err.coapCode, err.message);
      }
      throw err;
    }
  }

  /** A registration is gone: end its observations and queued requests, then say so. */
  async #ended(reg: Registration, reason: DeregistrationReason): Promise<void> {
    const rt = this.#runtimes.get(reg.id);
    if (rt !== undefined) {
      this.#runtimes.drop(
        rt,
        () => new UnknownClientError(`${reg.endpoint} is no longer registered`),
      );
    }
    await this.observations.removeByRegistration(reg.id);
    this.emit('deregistered', { registration: reg, reason });
  }

  #coapError(
    endpoint: string | undefined,
    peer: { address: string; port: number },
    code: ResponseCode,
    message: string,
  ): void {
    this.#counters.coapErrors++;
    this.#logger?.debug?.({ endpoint, peer, code }, message);
    this.emit('coapError', {
      ...(endpoint !== undefined && { endpoint }),
      address: peer.address,
      port: peer.port,
      code,
      message,
    });
  }
}

function requireComposite(reg: Registration): void {
  if (reg.lwm2mVersion === '1.0') {
    throw new MethodNotAllowedError(
      `${reg.endpoint} speaks LwM2M 1.0, which has no composite operations`,
    );
  }
}
