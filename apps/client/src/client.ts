/**
 * `LwM2mClient`: an LwM2M device on one socket. It holds the objects (an `ObjectTree` of object
 * enablers, built-in ones unless replaced), registers to one LwM2M server and keeps the
 * registration alive (registration-engine.ts), answers the server's device-management requests
 * (dm-handler.ts) with observations and write-attributes (observation-manager.ts,
 * attribute-store.ts), sends values with Send (send.ts), and in queue mode sleeps between
 * exchanges (queue-mode.ts).
 *
 * The server's URI and credentials are read from the Security object (0) and the lifetime and
 * binding from the Server object (1) when they are needed, so that writes to them and a
 * bootstrap take effect; the `server` options only fill those objects at construction.
 *
 * Bootstrap (bootstrap-engine.ts, Core TS 1.2 §6.1): with a bootstrap-server account (the
 * `bootstrap` option puts one at /0/0), the client bootstraps when it has no usable server
 * account, when its registration fails for good and /1/x/16 (Bootstrap on Registration Failure,
 * default true) says so, when a server executes /1/x/9 (Bootstrap-Request Trigger: the client
 * de-registers first), or on `bootstrap()`; then it registers with the account it was given.
 * Only one socket is open at a time: the server's is closed before the bootstrap server's opens.
 */
import { EventEmitter } from 'node:events';
import type { CoapRequest, Peer, RequestHandler } from '@lwm2m-ts/coap';
import { isLwM2mVersion, type LwM2mVersion } from '@lwm2m-ts/codecs';
import {
  InvalidValueError,
  LwM2mError,
  type LwM2mNode,
  LwM2mPath,
  type LwM2mResource,
  MethodNotAllowedError,
  NotFoundError,
  parseAttributeQuery,
  type ResponseCode,
  ServiceUnavailableError,
  singleResource,
  type WriteAttributes,
} from '@lwm2m-ts/core';
import type { ObjectRegistry } from '@lwm2m-ts/registry';
import { AttributeStore, attributeTargetInfo, type DefaultPeriods } from './attribute-store.js';
import { Backoff, checkRetryPolicy, DEFAULT_RETRY_POLICY, type RetryPolicy } from './backoff.js';
import {
  BootstrapAbortedError,
  BootstrapEngine,
  type BootstrapFailedEvent,
  type BootstrapFinishedEvent,
  type BootstrapResult,
  type BootstrapStartedEvent,
  type BootstrapTrigger,
} from './bootstrap-engine.js';
import {
  type ClientStateStore,
  FileClientState,
  restoreState,
  snapshotState,
} from './client-state.js';
import {
  type DefaultObjectsConfig,
  defaultRegistry,
  lazyDefaultObjects,
} from './default-objects.js';
import { createDmHandler } from './dm-handler.js';
import { InstanceObject, type ResourceInput, toResource } from './instance-object.js';
import type { ObjectEnabler, RequestOrigin } from './object-enabler.js';
import { ObjectTree } from './object-tree.js';
import { SecurityMode } from './objects/security.js';
import { ObservationManager } from './observation-manager.js';
import { QueueModeGate } from './queue-mode.js';
import {
  NotRegisteredError,
  type Registration,
  RegistrationAbortedError,
  RegistrationEngine,
  RegistrationFailedError,
  type RegistrationFailure,
  type RetryInfo,
  type UpdateInfo,
} from './registration-engine.js';
import {
  encodeSend,
  type SendOptions,
  SendRefusedError,
  type SendResult,
  sendFormat,
  sendPaths,
} from './send.js';
import {
  initialServerSettings,
  readBootstrapAccount,
  readSecuritySettings,
  readServerSettings,
  ServerResource,
  type ServerSettings,
  usableAccounts,
} from './server-account.js';
import {
  InvalidServerUriError,
  type PskCredentials,
  parseServerUri,
  Transport,
  type TransportCoapOptions,
} from './transport.js';

const LOCAL: RequestOrigin = Object.freeze({ kind: 'local' });

/** pino-compatible logger subset. */
export interface ClientLogger {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

export interface ClientServerOptions {
  /** `coap://host[:port]` (NoSec) or `coaps://host[:port]` (PSK). */
  readonly uri: string;
  /** Required for coaps://. */
  readonly psk?: PskCredentials;
  /** Registration lifetime in seconds (/1/x/1). Default 300. */
  readonly lifetime?: number;
  /** Transport binding (/1/x/7). Default `U`. */
  readonly binding?: string;
  /** Queue mode: sleep after `awakeTime` without exchanges (Core TS 1.2, Queue Mode). */
  readonly queueMode?: boolean;
  /** Queue mode awake time in ms. Default 93 000 (CoAP MAX_TRANSMIT_WAIT). */
  readonly awakeTime?: number;
  /** Short Server ID (/1/x/0, /0/x/10). Default 1. */
  readonly shortServerId?: number;
  /** Registration retry timing where the Server object has no /1/x/17–20 (see backoff.ts). */
  readonly retry?: Partial<RetryPolicy>;
}

/** The bootstrap server (Core TS 1.2 §6.1), kept as the bootstrap-server account at /0/0. */
export interface ClientBootstrapOptions {
  /** `coap://host:port` (NoSec) or `coaps://host:port` (PSK); bootstrap servers use 5783/5784. */
  readonly uri: string;
  /** Required for coaps://: the PSK toward the bootstrap server. */
  readonly psk?: PskCredentials;
  /** Client Hold Off Time (/0/0/11): seconds to wait before a client-initiated bootstrap. Default 0. */
  readonly holdOffSeconds?: number;
  /** LwM2M 1.2 Bootstrap-Pack-Request (`GET /bspack`) instead of the Bootstrap-Request. Default false. */
  readonly pack?: boolean;
  /**
   * How long one attempt may take from the Bootstrap-Request to Bootstrap-Finish, in ms; past it
   * the changes are undone. Default 247 000 (EXCHANGE_LIFETIME).
   */
  readonly timeout?: number;
  /** Attempts and waits when the bootstrap server is unreachable or answers 5.xx (see backoff.ts). */
  readonly retry?: Partial<RetryPolicy>;
}

export interface LwM2mClientOptions {
  /** Endpoint Client Name (`ep`). */
  readonly endpoint: string;
  /** Default 1.1. */
  readonly lwm2mVersion?: LwM2mVersion;
  /** Register with an older version when the server refuses ours with 4.00. Default false. */
  readonly versionFallback?: boolean;
  /** The LwM2M server account. Optional with `bootstrap`: the bootstrap server provides one. */
  readonly server?: ClientServerOptions;
  /** A bootstrap server to get (new) server accounts from. */
  readonly bootstrap?: ClientBootstrapOptions;
  /**
   * Queue mode for the accounts a bootstrap server provides, when there is no `server` option to
   * say it; `server.queueMode` wins when given. Default false.
   */
  readonly queueMode?: boolean;
  /** Queue mode awake time in ms, as `queueMode`; `server.awakeTime` wins. Default 93 000. */
  readonly awakeTime?: number;
  /** Objects added to the built-in ones; one with the id of a built-in object replaces it. */
  readonly objects?: readonly ObjectEnabler[];
  /** Models for the tree and the built-in objects. Default `ObjectRegistry.withBuiltins()`. */
  readonly registry?: ObjectRegistry;
  /** Local bind address and port (a fleet spreads over 127.0.0.0/8). Default any, a free port. */
  readonly local?: { readonly address?: string; readonly port?: number };
  /** CoAP transmission parameters (ackTimeout, maxRetransmit, blockSize…). */
  readonly coapOptions?: TransportCoapOptions;
  /** Time limit of a Register, Update or Send in ms. Default 30 000. */
  readonly requestTimeout?: number;
  /**
   * What Execute /3/0/4 (Reboot) does once its 2.04 is sent: `'restart'` (default) simulates a
   * reboot — the client de-registers and registers again, keeping its objects; `'none'` does
   * nothing; a function is called instead (a real device reboots there). Ignored when `objects`
   * brings its own Device object.
   */
  readonly onReboot?: 'restart' | 'none' | (() => void | Promise<void>);
  /**
   * Where the accounts (objects 0, 1 and 2) are kept across restarts: read at the first
   * `start()` (what it holds replaces the accounts from `server` and `bootstrap`), written after
   * each bootstrap. `new FileClientState(path)` keeps them in a file. Default: not kept.
   */
  readonly state?: ClientStateStore;
  /**
   * Time limit of a DTLS handshake toward a coaps:// server, retries included, in ms (default
   * 10 000). A failed handshake (a wrong PSK's alert, or this time) fails the Register attempt,
   * which is retried as the retry policy says.
   */
  readonly dtlsHandshakeTimeout?: number;
  /** How long `close()` waits for the De-register answer (ms). Default 5000. */
  readonly deregisterTimeout?: number;
  /** The Update goes out at lifetime − max(lifetime/10, updateMargin s). Default 1. */
  readonly updateMargin?: number;
  /** Called when the registration fails for good (before any bootstrap it leads to). */
  readonly onRegistrationFailure?: (failure: RegistrationFailure) => void;
  readonly logger?: ClientLogger;
}

/** A registration, with who registered where. */
export interface RegisteredEvent extends Registration {
  readonly endpoint: string;
  readonly serverUri: string;
}

/** One device-management request served, with the code answered. */
export interface RequestEvent {
  readonly method: CoapRequest['method'];
  /** `/3/0/1`, `/` for composite operations. */
  readonly path: string;
  readonly code: ResponseCode;
  readonly peer: Peer;
}

export type ClientEvents = {
  registered: [RegisteredEvent];
  updated: [RegisteredEvent, UpdateInfo];
  deregistered: [
    { readonly endpoint: string; readonly location: string; readonly confirmed: boolean },
  ];
  registrationFailed: [RegistrationFailure];
  /** An Update failed: registering again. */
  registrationLost: [{ readonly location: string; readonly error: Error }];
  /** A Register attempt failed and will be retried after `delay` ms. */
  retry: [RetryInfo];
  /** Queue mode: stopped listening. */
  sleeping: [];
  /** Queue mode: listening again (to send an Update, a Send or a notification). */
  awake: [];
  request: [RequestEvent];
  sent: [SendResult];
  /** A bootstrap attempt starts (Bootstrap-Request or Bootstrap-Pack-Request). */
  bootstrapStarted: [BootstrapStartedEvent];
  /** The bootstrap server's configuration is in force; registering follows. */
  bootstrapFinished: [BootstrapFinishedEvent];
  /** A bootstrap attempt failed (its changes undone); `willRetry` when another follows. */
  bootstrapFailed: [BootstrapFailedEvent];
  /**
   * The Bootstrap-Server Account Timeout (/0/x/12) ran out: the bootstrap-server account at
   * /0/`instanceId` was purged, and the client can no longer bootstrap.
   */
  bootstrapAccountPurged: [{ readonly instanceId: number }];
  error: [Error];
};

/** The client is closing or closed. */
export class ClientClosedError extends LwM2mError {
  readonly coapCode = '5.03' as const;
}

interface DmStack {
  readonly version: LwM2mVersion;
  readonly attributes: AttributeStore;
  readonly observations: ObservationManager;
  readonly handler: RequestHandler;
}

type State = 'new' | 'open' | 'closing' | 'closed';

/** The server account the client registers with. */
interface DmAccount {
  readonly uri: string;
  readonly psk?: PskCredentials | undefined;
  readonly shortServerId: number;
}

/**
 * An abort flag whose `AbortSignal` is made only when something waits on it (a bootstrap, a
 * back-off): registering, the usual case, needs none, and a signal costs microseconds to make.
 */
class LazyAbort {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = new DOMException('This operation was aborted', 'AbortError');
    this.#controller?.abort(this.#reason);
  }
}

/** The default policy with these changes (the default itself, shared, without any). */
function retryPolicy(changes: Partial<RetryPolicy> | undefined): RetryPolicy {
  if (changes === undefined) return DEFAULT_RETRY_POLICY;
  return checkRetryPolicy({ ...DEFAULT_RETRY_POLICY, ...changes });
}

function isServerUri(uri: string): boolean {
  try {
    parseServerUri(uri);
    return true;
  } catch {
    return false;
  }
}

function sameCredentials(a: PskCredentials | undefined, b: PskCredentials | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.identity === b.identity && Buffer.from(a.key).equals(Buffer.from(b.key));
}

export class LwM2mClient extends EventEmitter<ClientEvents> {
  readonly endpointName: string;
  readonly #options: LwM2mClientOptions;
  readonly #tree: ObjectTree;
  readonly #version: LwM2mVersion;
  /** The account in use: its Short Server ID (the configured one until an account is chosen). */
  #shortServerId: number;
  readonly #queueMode: boolean;
  readonly #defaults: { lifetime: number; binding: string; retryPolicy: RetryPolicy };
  readonly #bootstrapRetry: RetryPolicy;
  readonly #unsubscribeTree: () => void;
  #state: State = 'new';
  #closing: Promise<void> | undefined;
  #transport: Transport | undefined;
  #account: DmAccount | undefined;
  #serverUri: string;
  #bootstrapEngine: BootstrapEngine | undefined;
  /** start()'s work: choose an account (bootstrapping when needed), then register. */
  #connecting: Promise<RegisteredEvent> | undefined;
  #connectAbort: LazyAbort | undefined;
  /** Why the next start() bootstraps first (Execute /1/x/9, `bootstrap()`, a lost registration). */
  #pendingTrigger: BootstrapTrigger | undefined;
  #gate: QueueModeGate | undefined;
  #engine: RegistrationEngine | undefined;
  #dm: DmStack | undefined;
  #periods: DefaultPeriods = {};
  /** The default periods being read for a DM stack made just now. */
  #periodsLoading: Promise<void> | undefined;
  #disableTimer: NodeJS.Timeout | undefined;
  /** Purges the bootstrap-server account when its /0/x/12 timeout runs out. */
  #accountTimer: NodeJS.Timeout | undefined;
  /** The saved accounts were read (at the first start). */
  #stateLoaded = false;

  constructor(options: LwM2mClientOptions) {
    super();
    if (typeof options.endpoint !== 'string' || options.endpoint === '') {
      throw new InvalidValueError('endpoint (the Endpoint Client Name) must be a non-empty string');
    }
    const version = options.lwm2mVersion ?? '1.1';
    if (!isLwM2mVersion(version)) {
      throw new InvalidValueError(`lwm2mVersion must be 1.0, 1.1 or 1.2, got ${String(version)}`);
    }
    const server = options.server;
    const bs = options.bootstrap;
    if (server === undefined && bs === undefined) {
      throw new InvalidValueError(
        'a client needs a server account (server) or a bootstrap server (bootstrap)',
      );
    }
    // Fail early on a URI the transport could not use (a valid server URI is a valid URL: the
    // parse, remembered per URI, saves a fleet's devices a URL parse each).
    if (server !== undefined && !isServerUri(server.uri)) new URL(server.uri);
    if (bs !== undefined) {
      if (parseServerUri(bs.uri).scheme === 'coaps' && bs.psk === undefined) {
        throw new InvalidServerUriError(
          `bootstrap server ${bs.uri}: coaps:// needs a PSK identity and key (bootstrap.psk)`,
        );
      }
      const holdOff = bs.holdOffSeconds ?? 0;
      if (!(Number.isInteger(holdOff) && holdOff >= 0)) {
        throw new InvalidValueError(
          `bootstrap.holdOffSeconds must be a whole number of seconds, got ${holdOff}`,
        );
      }
    }
    const lifetime = server?.lifetime ?? 300;
    if (!(Number.isInteger(lifetime) && lifetime >= 0)) {
      throw new InvalidValueError(`lifetime must be a whole number of seconds, got ${lifetime}`);
    }
    this.endpointName = options.endpoint;
    this.#options = options;
    this.#version = version;
    this.#shortServerId = server?.shortServerId ?? 1;
    this.#queueMode = server?.queueMode ?? options.queueMode ?? false;
    this.#serverUri = server?.uri ?? '';
    this.#defaults = {
      lifetime,
      binding: (server?.binding ?? 'U').replace(/Q/g, '') || 'U',
      retryPolicy: retryPolicy(server?.retry),
    };
    this.#bootstrapRetry = retryPolicy(bs?.retry);
    const registry = options.registry ?? defaultRegistry();
    this.#tree = new ObjectTree(registry);
    // The built-in objects: a configuration is made only for those that get built.
    const builtins = lazyDefaultObjects(
      {
        registry,
        lwm2mVersion: version,
        serverUri: server?.uri,
        bootstrap: bs && { uri: bs.uri },
      },
      () => this.#builtinConfig(),
    );
    // Built-in objects are built at their first use; the user's replace them by id.
    this.#tree.addLazy(builtins);
    for (const e of options.objects ?? []) this.#tree.add(e);
    this.#unsubscribeTree = this.#tree.onChange((paths) => this.#onTreeChange(paths));
    // Checks the bootstrap options (Bootstrap-Pack needs 1.2) now rather than at the first use.
    if (bs !== undefined) this.#bootstrapper();
  }

  /** What the built-in objects are built from: the options as given at construction. */
  #builtinConfig(): DefaultObjectsConfig {
    const options = this.#options;
    const server = options.server;
    const bs = options.bootstrap;
    return {
      endpoint: options.endpoint,
      lwm2mVersion: this.#version,
      serverUri: server?.uri,
      shortServerId: server?.shortServerId ?? 1,
      lifetime: this.#defaults.lifetime,
      binding: this.#defaults.binding,
      queueMode: this.#queueMode,
      psk: server?.psk,
      bootstrap: bs && { uri: bs.uri, psk: bs.psk, holdOffSeconds: bs.holdOffSeconds },
      currentAccount: () => this.#account ?? (server && { uri: server.uri, psk: server.psk }),
      registry: options.registry ?? defaultRegistry(),
      coapOptions: options.coapOptions,
      deviceHooks: {
        onReboot: () => this.#reboot(),
        onHookError: (err) =>
          this.#reportError(err instanceof Error ? err : new Error(String(err))),
      },
      serverHooks: {
        // Core TS 1.2 Appendix E.2 /1/x/8: "the LwM2M Client MUST perform an Update".
        onRegistrationUpdateTrigger: () => this.#engine?.requestUpdate(),
        onDisable: (_ssid, seconds) => {
          // The response to Execute goes first; then De-register and stay away.
          setImmediate(() => this.#disable(seconds));
        },
        // Core TS 1.2 Appendix E.2 /1/x/9: "the LwM2M Client MUST initiate a Client Initiated
        // Bootstrap". The 2.04 goes first; then De-register, bootstrap, register.
        onBootstrapRequestTrigger: async () => {
          if ((await readBootstrapAccount(this.#tree)) === undefined) {
            throw new MethodNotAllowedError('this client has no bootstrap-server account');
          }
          setImmediate(() => {
            this.#bootstrapNow('server').catch((err: Error) => this.#reportError(err));
          });
        },
      },
    };
  }

  /** The client's objects. */
  get tree(): ObjectTree {
    return this.#tree;
  }

  /** The registration in force, if any. */
  get registration(): RegisteredEvent | undefined {
    const reg = this.#engine?.registration;
    return reg === undefined ? undefined : this.#event(reg);
  }

  /** The LwM2M version registered with (after any fallback), else the one configured. */
  get version(): LwM2mVersion {
    return this.#engine?.registration?.version ?? this.#dm?.version ?? this.#version;
  }

  /** The server URI in use. */
  get serverUri(): string {
    return this.#serverUri;
  }

  /** The local address and port, once started. */
  get address(): { address: string; port: number } | undefined {
    return this.#transport?.address();
  }

  /** Queue mode: not listening right now. */
  get sleeping(): boolean {
    return this.#gate?.sleeping ?? false;
  }

  /**
   * Opens the socket and registers. Resolves with the registration; rejects with
   * `RegistrationFailedError` when the server refuses (4.xx) or the retry policy is used up,
   * `RegistrationAbortedError` when `deregister()`/`close()` comes first.
   */
  async start(): Promise<RegisteredEvent> {
    if (this.#state === 'closing' || this.#state === 'closed') {
      throw new ClientClosedError('the client is closed');
    }
    if (this.#state === 'new') this.#state = 'open';
    const reg = this.#engine?.registration;
    if (reg !== undefined && this.#pendingTrigger === undefined) return this.#event(reg);
    if (this.#connecting === undefined) {
      const p = this.#connect();
      this.#connecting = p;
      const clear = () => {
        if (this.#connecting === p) this.#connecting = undefined;
      };
      p.then(clear, clear);
    }
    return this.#connecting;
  }

  /**
   * Bootstraps now, as Execute /1/x/9 does: de-registers (when registered), runs a
   * client-initiated bootstrap, then registers with the account it provided. Resolves with the
   * new registration; rejects with `BootstrapFailedError` when the bootstrap failed for good:
   * the old configuration is kept, and `start()` registers with it again.
   */
  bootstrap(): Promise<RegisteredEvent> {
    return this.#bootstrapNow('manual');
  }

  /**
   * Sends an Update now. `lifetime` and `binding` are written to the Server object first (so
   * the Update carries them); `objectLinks` sends the object list even when unchanged.
   */
  async update(
    params: {
      readonly lifetime?: number;
      readonly binding?: string;
      readonly objectLinks?: boolean;
    } = {},
  ): Promise<RegisteredEvent> {
    const engine = this.#engine;
    if (engine?.registration === undefined) {
      throw new NotRegisteredError('not registered: nothing to update');
    }
    if (params.lifetime !== undefined || params.binding !== undefined) {
      const settings = await this.#settings();
      const inst = settings.serverInstanceId;
      if (params.lifetime !== undefined) {
        await this.#tree.write(
          LwM2mPath.of(1, inst, ServerResource.LIFETIME),
          singleResource(ServerResource.LIFETIME, 'integer', BigInt(params.lifetime)),
          'replace',
          LOCAL,
        );
      }
      if (params.binding !== undefined) {
        await this.#tree.write(
          LwM2mPath.of(1, inst, ServerResource.BINDING),
          singleResource(ServerResource.BINDING, 'string', params.binding),
          'replace',
          LOCAL,
        );
      }
    }
    return this.#event(await engine.update(params.objectLinks ? { objectLinks: true } : {}));
  }

  /**
   * Send (Core TS 1.2 §6.4.7): the values under `paths` to the server in SenML CBOR (or
   * `format`). Needs a registration with LwM2M 1.1+ and Mute Send (/1/x/23) off.
   */
  async send(
    paths: readonly (string | LwM2mPath)[] | string | LwM2mPath,
    options: SendOptions = {},
  ): Promise<SendResult> {
    const transport = this.#transport;
    const reg = this.#engine?.registration;
    if (transport === undefined || reg === undefined) {
      throw new NotRegisteredError('not registered: Send needs a registration');
    }
    const format = sendFormat(reg.version, options.format);
    const settings = await this.#settings();
    if (settings.muteSend) {
      throw new ServiceUnavailableError('Mute Send (/1/x/23) is set: Send is off for this server');
    }
    const list = Array.isArray(paths) ? paths : [paths as string | LwM2mPath];
    const { payload, values } = await encodeSend(this.#tree, sendPaths(list), format);
    const res = await transport.endpoint.request(transport.server, {
      method: 'POST',
      path: ['dp'],
      payload,
      contentFormat: format,
      timeout: options.timeout ?? this.#options.requestTimeout ?? 30_000,
    });
    if (res.code !== '2.04') {
      const detail = res.payload.length <= 200 ? Buffer.from(res.payload).toString('utf8') : '';
      throw new SendRefusedError(res.code, detail);
    }
    const result: SendResult = { values, contentFormat: format, code: res.code };
    this.emit('sent', result);
    return result;
  }

  /**
   * Sets a resource (or resource instance) as the device itself: a new measurement, a changed
   * setting. Read-only resources included; observers are notified.
   */
  async set(path: string | LwM2mPath, value: ResourceInput): Promise<void> {
    const p = LwM2mPath.from(path);
    if (!p.isResource() && !p.isResourceInstance()) {
      throw new InvalidValueError(`set needs a resource path, not ${p}`);
    }
    const [objectId, instanceId, resourceId, riId] = p.ids as [number, number, number, number?];
    const enabler = this.#tree.get(objectId);
    if (enabler === undefined || !enabler.instanceIds().includes(instanceId)) {
      throw new NotFoundError(`${p.isResource() ? p.parent() : p.parent().parent()} not found`);
    }
    const rm = enabler.model.resources.get(resourceId);
    if (rm === undefined) {
      throw new NotFoundError(`resource ${resourceId} is not in the model of object ${objectId}`);
    }
    let resource: LwM2mResource;
    if (riId === undefined) {
      resource = toResource(rm, value);
    } else {
      if (!rm.multiple) throw new NotFoundError(`${p.parent()} is a single resource`);
      const current = await readResource(enabler, instanceId, resourceId);
      const values = new Map<number, ResourceInput>();
      if (current?.kind === 'multipleResource') {
        for (const ri of current.instances) values.set(ri.id, ri.value as ResourceInput);
      }
      values.set(riId, value);
      resource = toResource(rm, values as never);
    }
    if (enabler instanceof InstanceObject) enabler.set(instanceId, resourceId, resource);
    else await enabler.write(instanceId, [resource], 'update', LOCAL);
  }

  /** Reads a path as the device itself. */
  get(path: string | LwM2mPath): Promise<LwM2mNode> {
    return this.#tree.read(LwM2mPath.from(path), LOCAL);
  }

  /**
   * De-registers (and stops retrying or updating). Resolves true when the server confirmed it.
   * `start()` registers again.
   */
  async deregister(): Promise<boolean> {
    // A start() in progress (registering or bootstrapping) stops too.
    this.#connectAbort?.abort();
    const engine = this.#engine;
    if (engine === undefined) return false;
    this.#dm?.observations.cancelAll();
    return engine.deregister();
  }

  /** De-registers when registered, then releases the socket, timers and objects. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * start()'s work: registers with the server account in use, bootstrapping first when there is
   * none (or a bootstrap was asked for), and again when the registration fails for good and
   * /1/x/16 says so.
   */
  async #connect(): Promise<RegisteredEvent> {
    const abort = new LazyAbort();
    this.#connectAbort = abort;
    let trigger = this.#pendingTrigger;
    this.#pendingTrigger = undefined;
    /** Rounds of bootstrap → registration failure → bootstrap are spaced by the back-off. */
    let rounds: Backoff | undefined;
    let bootstrapped = false;
    try {
      await this.#loadState();
      for (;;) {
        this.#checkRunning(abort);
        if (trigger === undefined) {
          const account = await this.#chooseAccount();
          this.#checkRunning(abort);
          if (account === undefined) {
            trigger = 'no-account';
          } else {
            await this.#connectTo(account);
            this.#checkRunning(abort);
            try {
              return this.#event(await this.#engine!.start());
            } catch (err) {
              if (!(err instanceof RegistrationFailedError) || abort.aborted) throw err;
              if (!(await this.#bootstrapOnFailure())) throw err;
              trigger = 'registration-failure';
              if (bootstrapped) {
                // What the bootstrap server gave fails too: wait before asking it again.
                rounds ??= new Backoff(this.#bootstrapRetry);
                const delay = rounds.next();
                if (delay === undefined) throw err;
                await this.#sleep(delay, abort.signal);
              }
            }
          }
        }
        try {
          await this.#runBootstrap(trigger, abort.signal);
          // Saved before registering: a restart from here on finds the new accounts.
          await this.#saveState().catch((err: unknown) =>
            this.#reportError(err instanceof Error ? err : new Error(String(err))),
          );
        } catch (err) {
          if (err instanceof BootstrapAbortedError || abort.aborted) throw err;
          // A server-initiated bootstrap that failed leaves the old configuration in force:
          // register with it again when it is usable (`bootstrap()` reports the failure instead).
          if (trigger !== 'server') throw err;
          if ((await this.#chooseAccount()) === undefined) throw err;
          this.#reportError(err as Error);
        }
        bootstrapped = true;
        trigger = undefined;
      }
    } catch (err) {
      if (err instanceof BootstrapAbortedError || (abort.aborted && !(err instanceof LwM2mError))) {
        throw this.#abortedError(err);
      }
      throw err;
    } finally {
      if (this.#connectAbort === abort) this.#connectAbort = undefined;
    }
  }

  #checkRunning(abort: LazyAbort): void {
    if (this.#state !== 'open') throw new ClientClosedError('the client was closed while starting');
    if (abort.aborted) throw this.#abortedError(abort.reason);
  }

  #abortedError(cause: unknown): RegistrationAbortedError {
    if (cause instanceof RegistrationAbortedError) return cause;
    return new RegistrationAbortedError(
      this.#state === 'open' ? 'registration stopped' : 'the client was closed',
      { cause },
    );
  }

  async #sleep(ms: number, signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(this.#abortedError(signal.reason));
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * The server account to register with, or undefined when a bootstrap must provide one. Without
   * a bootstrap-server account it is the account of the configured Short Server ID, and an
   * unusable one is an error; with one, the account of the Short Server ID in use if usable, else
   * the first usable one.
   */
  async #chooseAccount(): Promise<DmAccount | undefined> {
    const server = this.#options.server;
    if (server !== undefined && this.#options.bootstrap === undefined && this.#tree.isLazy(0)) {
      // The Security object is not built yet, so it holds what the options put in it: the
      // account of `server` and no bootstrap account. No need to build and read it.
      return { uri: server.uri, psk: server.psk, shortServerId: this.#shortServerId };
    }
    if ((await readBootstrapAccount(this.#tree)) !== undefined) {
      const { accounts } = await usableAccounts(this.#tree);
      return accounts.find((a) => a.shortServerId === this.#shortServerId) ?? accounts[0];
    }
    const security = await readSecuritySettings(this.#tree, this.#shortServerId);
    if (security.mode !== SecurityMode.nosec && security.mode !== SecurityMode.psk) {
      throw new InvalidValueError(
        `security mode ${security.mode} of /0/${security.instanceId} is not supported (NoSec and PSK are)`,
      );
    }
    if (security.mode === SecurityMode.psk && security.psk === undefined) {
      throw new InvalidValueError(
        `/0/${security.instanceId} is in PSK mode without identity and key`,
      );
    }
    return { uri: security.uri, psk: security.psk, shortServerId: this.#shortServerId };
  }

  /** Opens the socket to the account's server and its registration engine (kept when the same). */
  async #connectTo(account: DmAccount): Promise<void> {
    const current = this.#account;
    if (
      this.#transport !== undefined &&
      this.#engine !== undefined &&
      current !== undefined &&
      current.uri === account.uri &&
      sameCredentials(current.psk, account.psk)
    ) {
      this.#account = account;
      this.#shortServerId = account.shortServerId;
      return;
    }
    await this.#disconnect();
    const transport = new Transport({
      uri: account.uri,
      psk: account.psk,
      local: this.#options.local,
      coap: this.#options.coapOptions,
      logger: this.#options.logger,
      handshakeTimeoutMs: this.#options.dtlsHandshakeTimeout,
    });
    transport.endpoint.on('error', (err) => this.#reportError(err));
    transport.endpoint.setHandler(this.#handle);
    try {
      await transport.open();
    } catch (err) {
      await transport.close();
      throw err;
    }
    if (this.#state !== 'open') {
      await transport.close();
      throw new ClientClosedError('the client was closed while starting');
    }
    this.#transport = transport;
    this.#account = account;
    this.#shortServerId = account.shortServerId;
    this.#serverUri = account.uri;
    if (this.#queueMode) {
      const awakeTime = this.#options.server?.awakeTime ?? this.#options.awakeTime;
      this.#gate = new QueueModeGate(transport.socket, {
        ...(awakeTime !== undefined && { awakeTime }),
        onSleep: () => this.emit('sleeping'),
        onWake: () => this.emit('awake'),
      });
    }
    const engine = new RegistrationEngine({
      endpointName: this.endpointName,
      version: this.#version,
      versionFallback: this.#options.versionFallback ?? false,
      send: (req) => transport.endpoint.request(transport.server, req),
      params: async () => {
        const s = await this.#settings();
        return {
          lifetime: s.lifetime,
          binding: s.binding,
          queueMode: this.#queueMode,
          retryPolicy: s.retryPolicy,
        };
      },
      objectLinks: (v) => this.#tree.objectLinksText(v),
      ...(this.#options.requestTimeout !== undefined && {
        requestTimeout: this.#options.requestTimeout,
      }),
      ...(this.#options.updateMargin !== undefined && {
        updateMargin: this.#options.updateMargin,
      }),
      ...(this.#options.onRegistrationFailure !== undefined && {
        onRegistrationFailure: this.#options.onRegistrationFailure,
      }),
    });
    engine.on('registered', (reg) => {
      // A new registration: the server has forgotten earlier observations (Core TS 1.2 §6.4.1).
      // The DM stack is made at the first request; one made for another version goes now.
      const dm = this.#dm;
      if (dm !== undefined) {
        if (dm.version === reg.version) {
          dm.observations.cancelAll();
          void this.#refreshPeriods();
        } else {
          this.#dm = undefined;
          void dm.observations.close();
        }
      }
      this.#gate?.touch();
      this.emit('registered', this.#event(reg));
    });
    engine.on('updated', (reg, info) => this.emit('updated', this.#event(reg), info));
    engine.on('deregistered', (d) =>
      this.emit('deregistered', { endpoint: this.endpointName, ...d }),
    );
    engine.on('registrationFailed', (f) => {
      this.emit('registrationFailed', f);
      // Registering again after a lost registration failed for good (start() handles its own).
      if (this.#connecting === undefined) void this.#afterRegistrationFailure();
    });
    engine.on('registrationLost', (l) => this.emit('registrationLost', l));
    engine.on('retry', (r) => this.emit('retry', r));
    engine.on('versionFallback', ({ from, to }) =>
      this.#options.logger?.info?.(
        { from, to },
        'Register refused with 4.00: trying an older LwM2M version',
      ),
    );
    this.#engine = engine;
  }

  /** Closes the server's socket and engine (no De-register: the caller did that if needed). */
  async #disconnect(): Promise<void> {
    const engine = this.#engine;
    const transport = this.#transport;
    this.#engine = undefined;
    this.#transport = undefined;
    this.#account = undefined;
    this.#dm?.observations.cancelAll();
    await engine?.close();
    this.#gate?.dispose();
    this.#gate = undefined;
    await transport?.close();
  }

  /** The bootstrap engine (made at first use, or at construction with `bootstrap`). */
  #bootstrapper(): BootstrapEngine {
    if (this.#bootstrapEngine !== undefined) return this.#bootstrapEngine;
    const bs = this.#options.bootstrap;
    const port = this.#options.local?.port;
    const engine = new BootstrapEngine({
      tree: this.#tree,
      endpointName: this.endpointName,
      version: this.#version,
      pack: bs?.pack ?? false,
      retryPolicy: this.#bootstrapRetry,
      // A fixed local port must be free for the server's socket right after the Finish.
      lingerMs: port !== undefined && port !== 0 ? 0 : 2000,
      local: this.#options.local,
      coap: this.#options.coapOptions,
      logger: this.#options.logger,
      handshakeTimeoutMs: this.#options.dtlsHandshakeTimeout,
      onError: (err) => this.#reportError(err),
      ...(bs?.timeout !== undefined && { timeout: bs.timeout }),
      ...(this.#options.requestTimeout !== undefined && {
        requestTimeout: this.#options.requestTimeout,
      }),
    });
    engine.on('bootstrapStarted', (e) => this.emit('bootstrapStarted', e));
    engine.on('bootstrapFinished', (e) => {
      const report = (err: unknown) =>
        this.#reportError(err instanceof Error ? err : new Error(String(err)));
      this.#armAccountTimeout().catch(report);
      this.emit('bootstrapFinished', e);
    });
    engine.on('bootstrapFailed', (e) => this.emit('bootstrapFailed', e));
    this.#bootstrapEngine = engine;
    return engine;
  }

  /** Runs a bootstrap with no server socket open (nothing may talk to a server meanwhile). */
  async #runBootstrap(trigger: BootstrapTrigger, signal: AbortSignal): Promise<BootstrapResult> {
    const engine = this.#bootstrapper();
    await this.#disconnect();
    return engine.run(trigger, signal);
  }

  /** Whether a registration that failed for good leads to a bootstrap (/1/x/16, default true). */
  async #bootstrapOnFailure(): Promise<boolean> {
    if ((await readBootstrapAccount(this.#tree)) === undefined) return false;
    try {
      return (await this.#settings()).bootstrapOnRegistrationFailure;
    } catch {
      return true;
    }
  }

  async #afterRegistrationFailure(): Promise<void> {
    try {
      if (this.#state !== 'open' || !(await this.#bootstrapOnFailure())) return;
      if (this.#state !== 'open' || this.#connecting !== undefined) return;
      this.#pendingTrigger = 'registration-failure';
      await this.start();
    } catch (err) {
      this.#reportError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** De-register (when registered), bootstrap, register: /1/x/9 and `bootstrap()`. */
  async #bootstrapNow(trigger: BootstrapTrigger): Promise<RegisteredEvent> {
    if (this.#state === 'closing' || this.#state === 'closed') {
      throw new ClientClosedError('the client is closed');
    }
    if ((await readBootstrapAccount(this.#tree)) === undefined) {
      throw new InvalidValueError('this client has no bootstrap-server account');
    }
    // Stop a start() in progress, and leave the server (the 2.04 to /1/x/9 went out already).
    this.#connectAbort?.abort();
    this.#dm?.observations.cancelAll();
    await this.#engine?.deregister({ timeout: this.#options.deregisterTimeout ?? 5000 });
    await this.#connecting?.catch(() => {});
    this.#pendingTrigger = trigger;
    return this.start();
  }

  async #shutdown(): Promise<void> {
    const wasOpen = this.#state === 'open';
    this.#state = 'closing';
    // A start() in progress gives up (a bootstrap undoes its changes; a socket being opened is
    // closed on seeing the state).
    this.#connectAbort?.abort();
    await this.#bootstrapEngine?.close();
    clearTimeout(this.#disableTimer);
    this.#disableTimer = undefined;
    clearTimeout(this.#accountTimer);
    this.#accountTimer = undefined;
    await this.#dm?.observations.close();
    const engine = this.#engine;
    if (engine !== undefined) {
      if (wasOpen && engine.registration !== undefined) {
        await engine.deregister({ timeout: this.#options.deregisterTimeout ?? 5000 });
      }
      await engine.close();
    }
    await this.#connecting?.catch(() => {});
    await this.#disconnect();
    this.#unsubscribeTree();
    await Promise.all(this.#tree.builtEnablers().map((e) => closeEnabler(e)));
    this.#state = 'closed';
  }

  /** Serves the server's requests: the DM handler of the registered version, reported as `request`. */
  readonly #handle: RequestHandler = async (req, ctx) => {
    const dm = this.#dmFor(this.version);
    // A DM stack made just now reads the account's default periods before it serves.
    if (this.#periodsLoading !== undefined) await this.#periodsLoading;
    try {
      const res = await dm.handler(req, ctx);
      if (this.listenerCount('request') > 0) this.#report(req, res.code);
      return res;
    } catch (err) {
      if (this.listenerCount('request') > 0) {
        this.#report(req, err instanceof LwM2mError ? err.coapCode : '5.00');
      }
      throw err;
    }
  };

  #report(req: CoapRequest, code: ResponseCode): void {
    this.emit('request', {
      method: req.method,
      path: `/${req.path.join('/')}`,
      code,
      peer: req.peer,
    });
  }

  /** The attribute store, observations and DM handler for `version` (rebuilt when it changes). */
  #dmFor(version: LwM2mVersion): DmStack {
    if (this.#dm?.version === version) return this.#dm;
    void this.#dm?.observations.close();
    const tree = this.#tree;
    // One origin object per Short Server ID (made again only when the account changes).
    let served: RequestOrigin & { kind: 'server' } = Object.freeze({
      kind: 'server',
      shortServerId: 0,
    });
    const origin = (): RequestOrigin => {
      if (served.shortServerId !== this.#shortServerId) {
        served = Object.freeze({ kind: 'server', shortServerId: this.#shortServerId });
      }
      return served;
    };
    const attributes = new AttributeStore({ version, defaultPeriods: () => this.#periods });
    const observations = new ObservationManager({
      tree,
      attributes,
      version,
      ...(this.#options.logger !== undefined && { logger: this.#options.logger }),
    });
    const handler = createDmHandler(tree, {
      version,
      origin,
      observe: (req, ctx, paths, composite, format) => {
        const observation = ctx.observe();
        if (observation === undefined) {
          throw new InvalidValueError('not an Observe request');
        }
        let own: WriteAttributes | undefined;
        // LwM2M 1.2 Observe may carry its own attributes in the query (Core TS 1.2 §6.4.1).
        if (version === '1.2' && req.query.length > 0) {
          const first = paths[0]!;
          own = attributes.observationAttributes(first, parseAttributeQuery(req.query), {
            composite,
            ...(composite ? {} : attributeTargetInfo(tree.resourceModel(first))),
          });
        }
        return observations.start(
          observation,
          paths,
          composite,
          format,
          origin(),
          own === undefined ? {} : { attributes: own },
        );
      },
      writeAttributes: (path, update) => {
        attributes.apply(path, update, attributeTargetInfo(tree.resourceModel(path)));
      },
      discoverAttributes: (path) => attributes.forPath(path),
      deleted: (path) => attributes.clear(path),
    });
    this.#dm = { version, attributes, observations, handler };
    const loading = this.#refreshPeriods().finally(() => {
      if (this.#periodsLoading === loading) this.#periodsLoading = undefined;
    });
    this.#periodsLoading = loading;
    return this.#dm;
  }

  #settings(): Promise<ServerSettings> {
    const server = this.#options.server;
    if (
      server !== undefined &&
      this.#tree.isLazy(1) &&
      this.#shortServerId === (server.shortServerId ?? 1)
    ) {
      // The Server object is not built yet: it holds the instance the options made.
      return Promise.resolve(initialServerSettings(this.#shortServerId, this.#defaults));
    }
    return readServerSettings(this.#tree, this.#shortServerId, this.#defaults);
  }

  /** Default Minimum/Maximum Period of the account, kept for the attribute store (sync reads). */
  async #refreshPeriods(): Promise<void> {
    try {
      const s = await this.#settings();
      this.#periods = { pmin: s.defaultMinPeriod, pmax: s.defaultMaxPeriod };
      this.#dm?.observations.refresh();
    } catch (err) {
      this.#reportError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #onTreeChange(paths: readonly LwM2mPath[]): void {
    let registration = false;
    let periods = false;
    for (const p of paths) {
      // Core TS 1.2 §6.2.2: Update when the object list changes (instances created or deleted,
      // objects added or removed) or a registration parameter (lifetime, binding) does.
      if (p.isObject() || p.isInstance()) registration = true;
      if (p.objectId === 1) {
        const rid = p.resourceId;
        if (rid === ServerResource.LIFETIME || rid === ServerResource.BINDING) registration = true;
        if (
          rid === undefined ||
          rid === ServerResource.DEFAULT_MIN_PERIOD ||
          rid === ServerResource.DEFAULT_MAX_PERIOD
        ) {
          periods = true;
        }
      }
    }
    if (registration) this.#engine?.requestUpdate({ ifChanged: true });
    if (periods && this.#dm !== undefined) void this.#refreshPeriods();
  }

  /** Execute /1/x/4: De-register, stay away for the Disable Timeout, then register again. */
  #disable(seconds: number): void {
    if (this.#state !== 'open') return;
    void this.deregister().then(() => {
      if (this.#state !== 'open') return;
      clearTimeout(this.#disableTimer);
      this.#disableTimer = setTimeout(() => {
        this.#disableTimer = undefined;
        if (this.#state === 'open') this.start().catch((err: Error) => this.#reportError(err));
      }, seconds * 1000);
    });
  }

  #event(reg: Registration): RegisteredEvent {
    return {
      location: reg.location,
      locationPath: reg.locationPath,
      version: reg.version,
      lifetime: reg.lifetime,
      binding: reg.binding,
      queueMode: reg.queueMode,
      objectLinks: reg.objectLinks,
      endpoint: this.endpointName,
      serverUri: this.#serverUri,
    };
  }

  /**
   * Core TS 1.2 E.1 /0/x/12, Bootstrap-Server Account Timeout: "the LwM2M Client MUST purge the
   * LwM2M Bootstrap-Server Account after the timeout value given by this resource" (0 or absent:
   * never). Counted from the bootstrap that set it (or from the start that restored it from the
   * saved state); a later bootstrap starts it again.
   */
  async #armAccountTimeout(): Promise<void> {
    clearTimeout(this.#accountTimer);
    this.#accountTimer = undefined;
    const account = await readBootstrapAccount(this.#tree);
    if (account === undefined || !(account.accountTimeoutSeconds > 0)) return;
    if (this.#state !== 'open') return;
    // setTimeout's limit is about 24.8 days; a longer timeout waits in steps.
    const purgeAt = Date.now() + account.accountTimeoutSeconds * 1000;
    const wait = () => {
      const left = purgeAt - Date.now();
      if (left > 0) {
        this.#accountTimer = setTimeout(wait, Math.min(left, 0x7fffffff));
        return;
      }
      this.#accountTimer = undefined;
      this.#purgeBootstrapAccount(account.instanceId).catch((err: unknown) =>
        this.#reportError(err instanceof Error ? err : new Error(String(err))),
      );
    };
    wait();
  }

  async #purgeBootstrapAccount(instanceId: number): Promise<void> {
    const current = await readBootstrapAccount(this.#tree);
    if (current?.instanceId !== instanceId) return;
    await this.#tree.delete(LwM2mPath.of(0, instanceId), LOCAL);
    this.emit('bootstrapAccountPurged', { instanceId });
    await this.#saveState();
  }

  /** At the first start: the accounts saved by an earlier run replace the configured ones. */
  async #loadState(): Promise<void> {
    const store = this.#options.state;
    if (store === undefined || this.#stateLoaded) return;
    const saved = await store.load();
    if (saved !== undefined) {
      await restoreState(this.#tree, saved, stateName(store));
      // The timeout's start is not saved: a restored account's timeout counts from now.
      await this.#armAccountTimeout();
    }
    this.#stateLoaded = true;
  }

  async #saveState(): Promise<void> {
    const store = this.#options.state;
    if (store === undefined) return;
    await store.save(await snapshotState(this.#tree));
  }

  /** Execute /3/0/4, after its 2.04 went out. */
  async #reboot(): Promise<void> {
    const hook = this.#options.onReboot ?? 'restart';
    if (hook === 'none') return;
    if (typeof hook === 'function') {
      await hook();
      return;
    }
    // A simulated reboot: gone from the server, then back with a new registration.
    await this.deregister();
    if (this.#state === 'open') await this.start();
  }

  #reportError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.#options.logger?.warn({ err }, 'lwm2m client error');
  }
}

async function readResource(
  enabler: ObjectEnabler,
  instanceId: number,
  resourceId: number,
): Promise<LwM2mResource | undefined> {
  try {
    return (await enabler.read(instanceId, resourceId, LOCAL)).find((r) => r.id === resourceId);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** Objects with timers (sensor simulations, downloads) have a `close()`. */
async function closeEnabler(e: ObjectEnabler | undefined): Promise<void> {
  const close = (e as { close?: () => unknown } | undefined)?.close;
  if (typeof close === 'function') await close.call(e);
}

/** How messages name a state store: its file, when it is one. */
function stateName(store: ClientStateStore): string {
  return store instanceof FileClientState ? store.path : 'the saved client state';
}
