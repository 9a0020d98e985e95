import { randomFillSync } from 'node:crypto';
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
  OutgoingRequest,
  Peer,
  UnknownNotification,
} from '@lwm2m-ts/coap';
import {
  compositeFormats,
  decodeValues,
  formatName,
  type ModelProvider,
  type TimedValue,
} from '@lwm2m-ts/codecs';
import {
  type AttributeUpdate,
  ContentFormat,
  ForbiddenError,
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
  UnsupportedContentFormatError,
} from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { CachedRegistrationStore } from './cached-registration-store.js';
import { modelsForRegistration } from './client-models.js';
import {
  type ClusterHooks,
  ClusterLink,
  type ClusterOptions,
  checkSessionHolder,
} from './cluster.js';
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
import { type Registration, registrationPeer, type Transport } from './registration.js';
import { parseRegisterRequest, parseUpdateRequest } from './registration-params.js';
import type { RegistrationStore } from './registration-store.js';
import { RequestQueue } from './request-queue.js';
import type { SecurityStore } from './security-store.js';

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

/** An observation this process holds: the CoAP side of an `ObservationRecord`. */
interface ActiveObservation {
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
class ClientRuntime {
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
    this.#root ??= dm.rootSegments(this.#reg);
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

/** One device-management call's way to its client: requests within the call's time limit. */
class RequestTarget implements dm.Target {
  readonly registration: Registration;
  readonly #rt: ClientRuntime;
  readonly #endpoint: CoapEndpoint;
  readonly #deadline: number;
  readonly #signal: AbortSignal | undefined;
  readonly #counters: { requestsSent: number };

  constructor(
    rt: ClientRuntime,
    endpoint: CoapEndpoint,
    deadline: number,
    signal: AbortSignal | undefined,
    counters: { requestsSent: number },
  ) {
    this.registration = rt.reg;
    this.#rt = rt;
    this.#endpoint = endpoint;
    this.#deadline = deadline;
    this.#signal = signal;
    this.#counters = counters;
  }

  get models(): ModelProvider {
    return this.#rt.models;
  }

  get rejected(): Set<number> {
    return this.#rt.rejected;
  }

  request(req: dm.TargetRequest): Promise<IncomingResponse> {
    return this.#endpoint.request(this.#rt.peer, this.#outgoing(req));
  }

  observe(req: dm.TargetRequest): Promise<ClientObservation> {
    return this.#endpoint.observe(this.#rt.peer, this.#outgoing(req));
  }

  #outgoing(req: dm.TargetRequest): OutgoingRequest {
    this.#counters.requestsSent++;
    return outgoingRequest(this.#rt, req, Math.max(1, this.#deadline - Date.now()), this.#signal);
  }
}

/** `req` as sent to the client of `rt` (its path under the client's root path). */
function outgoingRequest(
  rt: ClientRuntime,
  req: dm.TargetRequest,
  timeout: number,
  signal: AbortSignal | undefined,
): OutgoingRequest {
  const root = rt.root;
  const ids = req.path.ids;
  const path: string[] = [...root];
  for (const id of ids) path.push(String(id));
  // Field by field (a spread of the many shapes requests come in is slower); `satisfies`
  // keeps the list complete.
  return {
    method: req.method,
    path,
    query: req.query,
    payload: req.payload,
    contentFormat: req.contentFormat,
    accept: req.accept,
    confirmable: req.confirmable,
    options: req.options,
    timeout,
    signal,
  } satisfies Record<keyof OutgoingRequest, unknown>;
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

const DEFAULT_LIFETIME_CEILING = 0x7fff_ffff; // setTimeout's limit, in ms
/** Registrations that sent the same object list share it (parsed once, held once). */
const SHARE_LINKS = Object.freeze({ shareObjectLinks: true });
/** When expiry failed (a shared store unreachable), how soon it is tried again. */
const EXPIRY_RETRY_MS = 1000;

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
  readonly #allowUnsecured: boolean;
  readonly #logger: ServerLogger | undefined;
  readonly #runtimes = new Map<string, ClientRuntime>();
  /** Cluster mode: the local copy of registrations (`registrations` then goes through it). */
  readonly #registrationCache: CachedRegistrationStore | undefined;
  /** The queue-mode runtimes by endpoint: `queueState` is asked per device in lists and SSE. */
  readonly #queuedByEndpoint = new Map<string, ClientRuntime>();
  /** `${transport}|${address}|${port}` → registration id, to find who sent a Send. */
  readonly #byPeer = new Map<string, string>();
  /** Firmware packages served at `/fw/<name>` for the Firmware Update object's pull mode. */
  readonly #packages = new Map<string, Uint8Array>();
  #udp: CoapEndpoint | undefined;
  #dtls: CoapEndpoint | undefined;
  #state: 'new' | 'starting' | 'started' | 'closing' | 'closed' = 'new';
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  #expiryAt = Number.POSITIVE_INFINITY;
  readonly #cluster: ClusterLink | undefined;
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
    this.#allowUnsecured = options.allowUnsecured ?? true;
    this.#logger = options.logger;
    if (options.coap === false && options.dtls === false) {
      throw new RangeError('at least one of coap and dtls must be enabled');
    }
    this.#cluster =
      options.cluster &&
      new ClusterLink(this, options.cluster, this.#clusterHooks(), options.logger);
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
      await this.#armExpiry();
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
    clearTimeout(this.#expiryTimer);
    await this.#cluster?.close();
    for (const rt of this.#runtimes.values()) {
      rt.queue?.close(new ServiceUnavailableError('the server is closing'));
    }
    await Promise.allSettled([this.#udp?.close(), this.#dtls?.close()]);
    this.#runtimes.clear();
    this.#queuedByEndpoint.clear();
    this.#byPeer.clear();
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
    const queue = this.#queuedByEndpoint.get(endpoint)?.queue;
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
    const rt = this.#adopt(this.#runtime(reg), reg);
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
    const rt = this.#adopt(this.#runtime(reg), reg);
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

  #runtime(reg: Registration): ClientRuntime {
    let rt = this.#runtimes.get(reg.id);
    if (rt === undefined) {
      const queueOpts = this.#options.queue;
      let runtime: ClientRuntime | undefined;
      const queue = reg.queueMode
        ? new RequestQueue({
            maxQueued: queueOpts?.maxQueued ?? 16,
            awakeTimeMs: queueOpts?.awakeTimeMs ?? 93_000,
            onAwake: () => runtime && this.emit('awake', { registration: runtime.reg }),
            onSleeping: () => runtime && this.emit('sleeping', { registration: runtime.reg }),
          })
        : undefined;
      runtime = rt = new ClientRuntime(reg, queue, this.registry);
      this.#runtimes.set(reg.id, rt);
      if (queue !== undefined) this.#queuedByEndpoint.set(reg.endpoint, rt);
      this.#byPeer.set(peerKey(reg.transport, reg), reg.id);
    }
    return rt;
  }

  /**
   * `reg` as stored now, for the runtime of the same registration: when another process changed
   * it (new address, object versions, queue mode), what this process keeps follows.
   */
  #adopt(rt: ClientRuntime, reg: Registration): ClientRuntime {
    const cur = rt.reg;
    if (
      cur === reg ||
      (cur.lastUpdate === reg.lastUpdate &&
        cur.address === reg.address &&
        cur.port === reg.port &&
        cur.node === reg.node)
    ) {
      return rt;
    }
    if (needsNewRuntime(cur, reg)) {
      this.#dropRuntime(rt, () => new ServiceUnavailableError('the registration changed'));
      return this.#runtime(reg);
    }
    const before = peerKey(cur.transport, cur);
    if (this.#byPeer.get(before) === reg.id) this.#byPeer.delete(before);
    rt.reg = reg;
    this.#byPeer.set(peerKey(reg.transport, reg), reg.id);
    return rt;
  }

  /** What the cluster link may do to this process's per-registration state (cluster.ts). */
  #clusterHooks(): ClusterHooks {
    return {
      moved: (registrationId, id) => {
        const active = this.#runtimes.get(registrationId)?.activeObservations?.get(id);
        if (active === undefined) return;
        // Events may arrive late: let go only if the store still says another process has it.
        this.observations.get(id).then(
          (current) => {
            if (current !== undefined && current.node === this.nodeId) return;
            active.movedAway = true;
            // Reactive: the device keeps observing; the new holder answers it now.
            void active.coap.cancel('reactive');
          },
          (err: unknown) =>
            this.#logger?.warn({ err, id }, 'cluster: re-reading a moved observation failed'),
        );
      },
      released: (id) => {
        this.#registrationCache?.evictId(id);
        const rt = this.#runtimes.get(id);
        if (rt === undefined) return;
        this.#dropRuntime(
          rt,
          () => new UnknownClientError(`${rt.reg.endpoint} is no longer registered`),
        );
      },
      heard: (reg, updated) => {
        // Registered or updated through another process: the local copy is out of date.
        if (updated) this.#registrationCache?.evict(reg.endpoint);
        this.#scheduleExpiry(reg.expiresAt);
        const rt = this.#runtimes.get(reg.id);
        if (rt === undefined) return;
        if (!updated) {
          rt.queue?.wake();
          return;
        }
        // Events may arrive late: the store says what the registration is now.
        this.registrations.getById(reg.id).then(
          (current) => {
            const now = this.#runtimes.get(reg.id);
            if (current !== undefined && now !== undefined) this.#adopt(now, current).queue?.wake();
          },
          (err: unknown) =>
            this.#logger?.warn({ err }, 'cluster: re-reading a registration failed'),
        );
      },
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Registration interface and Send (Core TS 1.2 §6.2, §6.4.7)

  async #handle(req: CoapRequest, transport: Transport): Promise<CoapResponse> {
    try {
      const [first, second, ...rest] = req.path;
      if (first === 'rd' && rest.length === 0) {
        if (second === undefined) {
          if (req.method !== 'POST') throw new MethodNotAllowedError('Register is a POST to /rd');
          return await this.#register(req, transport);
        }
        if (req.method === 'POST') return await this.#update(second, req, transport);
        if (req.method === 'DELETE') return await this.#deregister(second, req, transport);
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
        return await this.#send(req, transport);
      }
      throw new NotFoundError(`no resource /${req.path.join('/')} on this server`);
    } catch (err) {
      if (err instanceof LwM2mError) {
        this.#coapError(endpointOf(req), req.peer, err.coapCode, err.message);
      }
      throw err;
    }
  }

  async #authorize(endpoint: string, transport: Transport, identity: string | undefined) {
    const info = await this.security.getByEndpoint(endpoint);
    if (transport === 'dtls') {
      // Core TS 1.2 §7.1: the endpoint name must belong to the credentials that authenticated.
      if (info?.mode !== 'psk' || info.identity !== identity) {
        throw new ForbiddenError(
          `PSK identity ${JSON.stringify(identity)} may not register as ${JSON.stringify(endpoint)}`,
        );
      }
      return;
    }
    if (info?.mode === 'psk') {
      throw new ForbiddenError(`${endpoint} has a PSK: it must register over DTLS`);
    }
    if (info === undefined && !this.#allowUnsecured) {
      throw new ForbiddenError(`plain CoAP registration is not allowed for ${endpoint}`);
    }
  }

  async #register(req: CoapRequest, transport: Transport): Promise<CoapResponse> {
    this.#counters.registrationRequests++;
    const params = parseRegisterRequest(req.query, req.payload, req.contentFormat, SHARE_LINKS);
    await this.#authorize(params.endpoint, transport, req.peer.identity);
    const now = Date.now();
    const reg: Registration = {
      id: registrationId(),
      ...params,
      address: req.peer.address,
      port: req.peer.port,
      transport,
      ...(req.peer.identity !== undefined && { identity: req.peer.identity }),
      ...(this.nodeId !== undefined && { node: this.nodeId }),
      registeredAt: now,
      lastUpdate: now,
      expiresAt: now + params.lifetime * 1000,
    };
    const previous = await this.registrations.add(reg);
    // An endpoint registering again replaces its registration and its observations (§6.2.1).
    if (previous !== undefined) await this.#ended(previous, 'replaced');
    this.#runtime(reg);
    this.#scheduleExpiry(reg.expiresAt);
    this.emit('registered', { registration: reg });
    return { code: '2.01', locationPath: ['rd', reg.id] };
  }

  async #update(id: string, req: CoapRequest, transport: Transport): Promise<CoapResponse> {
    this.#counters.updateRequests++;
    const current = await this.registrations.getById(id);
    if (current === undefined) throw new NotFoundError(`no registration ${id}`);
    // In 1.0 queue mode lives in `b`, so the registered version decides what `b=U` means.
    const params = parseUpdateRequest(
      req.query,
      req.payload,
      req.contentFormat,
      current.lwm2mVersion,
      SHARE_LINKS,
    );
    const now = Date.now();
    const result = await this.registrations.update(id, (cur) => {
      checkSameClient(cur, req, transport);
      const lifetime = params.lifetime ?? cur.lifetime;
      return {
        ...cur,
        ...params,
        // Devices behind NAT come back from another address and port: move there.
        address: req.peer.address,
        port: req.peer.port,
        ...(this.nodeId !== undefined && { node: this.nodeId }),
        lastUpdate: now,
        expiresAt: now + lifetime * 1000,
      };
    });
    if (result === undefined) throw new NotFoundError(`no registration ${id}`);
    const { before, after } = result;
    let rt = this.#runtimes.get(id);
    if (rt !== undefined && needsNewRuntime(before, after)) {
      // Queue mode or object versions changed: start afresh (queued requests fail).
      this.#dropRuntime(rt, () => new ServiceUnavailableError('the registration changed'));
      rt = undefined;
    }
    if (rt !== undefined) {
      this.#byPeer.delete(peerKey(before.transport, before));
      rt.reg = after;
      this.#byPeer.set(peerKey(after.transport, after), id);
    } else {
      rt = this.#runtime(after);
    }
    this.#scheduleExpiry(after.expiresAt);
    this.emit('updated', { before, registration: after });
    rt.queue?.wake();
    return { code: '2.04' };
  }

  async #deregister(id: string, req: CoapRequest, transport: Transport): Promise<CoapResponse> {
    const current = await this.registrations.getById(id);
    if (current === undefined) throw new NotFoundError(`no registration ${id}`);
    checkSameClient(current, req, transport);
    const removed = await this.registrations.remove(id);
    if (removed === undefined) throw new NotFoundError(`no registration ${id}`);
    this.#counters.deregistrations++;
    await this.#ended(removed, 'deregistered');
    return { code: '2.02' };
  }

  async #send(req: CoapRequest, transport: Transport): Promise<CoapResponse> {
    const peer = peerKey(transport, req.peer);
    const id = this.#byPeer.get(peer);
    let reg = id === undefined ? undefined : await this.registrations.getById(id);
    if (reg === undefined && id === undefined && this.registrations.getByPeer !== undefined) {
      // Cluster mode: the device registered through another process (a balancer sent its Send
      // here). Over DTLS the session's identity must be the registration's.
      reg = await this.registrations.getByPeer(peer);
      if (reg !== undefined) checkSameClient(reg, req, transport);
    }
    if (reg === undefined) throw new NotFoundError('Send from a client that is not registered');
    const format = req.contentFormat;
    if (format === undefined || !compositeFormats(reg.lwm2mVersion).includes(format as never)) {
      throw new UnsupportedContentFormatError(
        `Send needs SenML JSON/CBOR or LwM2M CBOR, got ${format === undefined ? 'no content format' : formatName(format)}`,
      );
    }
    const rt = this.#runtime(reg);
    const values: TimedValue[] = decodeValues(format, req.payload, { model: rt.models });
    this.#counters.sends++;
    rt.queue?.wake();
    this.emit('send', { registration: reg, values, contentFormat: format });
    return { code: '2.04' };
  }

  /** A registration is gone: end its observations and queued requests, then say so. */
  async #ended(reg: Registration, reason: DeregistrationReason): Promise<void> {
    const rt = this.#runtimes.get(reg.id);
    if (rt !== undefined) {
      this.#dropRuntime(
        rt,
        () => new UnknownClientError(`${reg.endpoint} is no longer registered`),
      );
    }
    await this.observations.removeByRegistration(reg.id);
    this.emit('deregistered', { registration: reg, reason });
  }

  /** `error` (made only when requests wait) fails the requests queued for the client. */
  #dropRuntime(rt: ClientRuntime, error: () => Error): void {
    this.#runtimes.delete(rt.reg.id);
    if (this.#queuedByEndpoint.get(rt.reg.endpoint) === rt) {
      this.#queuedByEndpoint.delete(rt.reg.endpoint);
    }
    const key = peerKey(rt.reg.transport, rt.reg);
    if (this.#byPeer.get(key) === rt.reg.id) this.#byPeer.delete(key);
    rt.queue?.close(error());
    // Reactive: the client learns with RST at its next notification (RFC 7641 §3.6), no traffic now.
    const active = rt.activeObservations;
    if (active !== undefined) {
      for (const o of active.values()) void o.coap.cancel('reactive');
      rt.observations.clear();
    }
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

  // ---------------------------------------------------------------------------------------------
  // Lifetime expiry (Core TS 1.2 §6.2.1: a registration whose lifetime passes is removed)

  #scheduleExpiry(at: number): void {
    if (at >= this.#expiryAt || this.#state === 'closing' || this.#state === 'closed') return;
    clearTimeout(this.#expiryTimer);
    this.#expiryAt = at;
    const delay = Math.min(Math.max(at - Date.now(), 0) + 1, DEFAULT_LIFETIME_CEILING);
    this.#expiryTimer = setTimeout(() => void this.#expire(), delay);
  }

  async #armExpiry(): Promise<void> {
    const next = await this.registrations.nextExpiry();
    if (next !== undefined) this.#scheduleExpiry(next);
  }

  async #expire(): Promise<void> {
    this.#expiryAt = Number.POSITIVE_INFINITY;
    this.#expiryTimer = undefined;
    try {
      const expired = await this.registrations.removeExpired(Date.now());
      for (const reg of expired) {
        this.#counters.expirations++;
        await this.#ended(reg, 'expired');
      }
    } catch (err) {
      this.#logger?.warn({ err }, 'registration expiry failed');
      this.#scheduleExpiry(Date.now() + EXPIRY_RETRY_MS); // the store may be back by then
    }
    if (this.#state === 'started') {
      await this.#armExpiry().catch(() => this.#scheduleExpiry(Date.now() + EXPIRY_RETRY_MS));
    }
  }
}

/** Resolves when `p` settles or after `ms`, whichever comes first; never rejects. */
async function waitAtMost(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** Random bytes for registration ids: one 4 KB draw serves 682 registrations. */
const idPool = Buffer.allocUnsafe(4092);
let idPoolAt = idPool.length;

/** 6 random bytes in base64url (8 characters). */
function registrationId(): string {
  if (idPoolAt + 6 > idPool.length) {
    randomFillSync(idPool);
    idPoolAt = 0;
  }
  const id = idPool.toString('base64url', idPoolAt, idPoolAt + 6);
  idPoolAt += 6;
  return id;
}

const peerKey = registrationPeer;

function endpointOf(req: CoapRequest): string | undefined {
  const ep = req.query.find((q) => q.startsWith('ep='));
  return ep?.slice(3);
}

/** Update and De-register must come over the same transport and, on DTLS, from the same identity. */
function checkSameClient(reg: Registration, req: CoapRequest, transport: Transport): void {
  if (reg.transport !== transport || (transport === 'dtls' && reg.identity !== req.peer.identity)) {
    throw new ForbiddenError(`registration ${reg.id} belongs to another client`);
  }
}

function needsNewRuntime(before: Registration, after: Registration): boolean {
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

function parsePaths(paths: readonly string[]): LwM2mPath[] {
  if (paths.length === 0)
    throw new InvalidValueError('a composite operation needs at least one path');
  return paths.map((p) => parsePath(p));
}

/** Paths parsed lately: an application reads the same few paths over and over. */
const parsedPaths = new Map<string, LwM2mPath>();

/** `LwM2mPath.parse`, remembered (paths are immutable). */
function parsePath(text: string): LwM2mPath {
  let path = parsedPaths.get(text);
  if (path === undefined) {
    path = LwM2mPath.parse(text);
    if (parsedPaths.size >= 1024) parsedPaths.clear();
    parsedPaths.set(text, path);
  }
  return path;
}

function requireComposite(reg: Registration): void {
  if (reg.lwm2mVersion === '1.0') {
    throw new MethodNotAllowedError(
      `${reg.endpoint} speaks LwM2M 1.0, which has no composite operations`,
    );
  }
}
