/**
 * `LwM2mClient`: an LwM2M device on one socket. It holds the objects (an `ObjectTree` of object
 * enablers, built-in ones unless replaced), registers to one LwM2M server and keeps the
 * registration alive (registration-engine.ts), answers the server's device-management requests
 * (dm-handler.ts) with observations and write-attributes (observation-manager.ts,
 * attribute-store.ts), sends values with Send (send.ts), and in queue mode sleeps between
 * exchanges (queue-mode.ts).
 *
 * The server's URI and credentials are read from the Security object (0) and the lifetime and
 * binding from the Server object (1) when they are needed, so that writes to them (and a
 * bootstrap, later) take effect; the `server` options only fill those objects at construction.
 */
import { EventEmitter } from 'node:events';
import type { CoapRequest, Peer, RequestHandler } from '@lwm2m-ts/coap';
import { isLwM2mVersion, type LwM2mVersion } from '@lwm2m-ts/codecs';
import {
  formatLinkFormat,
  InvalidValueError,
  LwM2mError,
  type LwM2mNode,
  LwM2mPath,
  type LwM2mResource,
  NotFoundError,
  parseAttributeQuery,
  type ResponseCode,
  ServiceUnavailableError,
  singleResource,
  type WriteAttributes,
} from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { AttributeStore, attributeTargetInfo, type DefaultPeriods } from './attribute-store.js';
import { checkRetryPolicy, DEFAULT_RETRY_POLICY, type RetryPolicy } from './backoff.js';
import { defaultObjects } from './default-objects.js';
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
  RegistrationEngine,
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
  readSecuritySettings,
  readServerSettings,
  ServerResource,
  type ServerSettings,
} from './server-account.js';
import { type PskCredentials, Transport, type TransportCoapOptions } from './transport.js';

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

export interface LwM2mClientOptions {
  /** Endpoint Client Name (`ep`). */
  readonly endpoint: string;
  /** Default 1.1. */
  readonly lwm2mVersion?: LwM2mVersion;
  /** Register with an older version when the server refuses ours with 4.00. Default false. */
  readonly versionFallback?: boolean;
  readonly server: ClientServerOptions;
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
  /** How long `close()` waits for the De-register answer (ms). Default 5000. */
  readonly deregisterTimeout?: number;
  /** The Update goes out at lifetime − max(lifetime/10, updateMargin s). Default 1. */
  readonly updateMargin?: number;
  /** Called when the registration fails for good (where bootstrap will hook in). */
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

export class LwM2mClient extends EventEmitter<ClientEvents> {
  readonly endpointName: string;
  readonly #options: LwM2mClientOptions;
  readonly #tree: ObjectTree;
  readonly #version: LwM2mVersion;
  readonly #shortServerId: number;
  readonly #queueMode: boolean;
  readonly #defaults: { lifetime: number; binding: string; retryPolicy: RetryPolicy };
  readonly #unsubscribeTree: () => void;
  #state: State = 'new';
  #opening: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #transport: Transport | undefined;
  #serverUri: string;
  #gate: QueueModeGate | undefined;
  #engine: RegistrationEngine | undefined;
  #dm: DmStack | undefined;
  #periods: DefaultPeriods = {};
  #disableTimer: NodeJS.Timeout | undefined;

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
    // Fail early on a URI the transport could not use.
    new URL(server.uri);
    const lifetime = server.lifetime ?? 300;
    if (!(Number.isInteger(lifetime) && lifetime >= 0)) {
      throw new InvalidValueError(`lifetime must be a whole number of seconds, got ${lifetime}`);
    }
    this.endpointName = options.endpoint;
    this.#options = options;
    this.#version = version;
    this.#shortServerId = server.shortServerId ?? 1;
    this.#queueMode = server.queueMode ?? false;
    this.#serverUri = server.uri;
    this.#defaults = {
      lifetime,
      binding: (server.binding ?? 'U').replace(/Q/g, '') || 'U',
      retryPolicy: checkRetryPolicy({ ...DEFAULT_RETRY_POLICY, ...server.retry }),
    };
    const registry = options.registry ?? ObjectRegistry.withBuiltins();
    this.#tree = new ObjectTree(registry);
    const builtins = defaultObjects({
      endpoint: options.endpoint,
      lwm2mVersion: version,
      serverUri: server.uri,
      shortServerId: this.#shortServerId,
      lifetime,
      binding: this.#defaults.binding,
      queueMode: this.#queueMode,
      psk: server.psk,
      registry,
      serverHooks: {
        // Core TS 1.2 Appendix E.2 /1/x/8: "the LwM2M Client MUST perform an Update".
        onRegistrationUpdateTrigger: () => this.#engine?.requestUpdate(),
        onDisable: (_ssid, seconds) => {
          // The response to Execute goes first; then De-register and stay away.
          setImmediate(() => this.#disable(seconds));
        },
      },
    });
    const replaced = new Set((options.objects ?? []).map((e) => e.model.id));
    for (const e of builtins) {
      if (replaced.has(e.model.id)) void closeEnabler(e);
      else this.#tree.add(e);
    }
    for (const e of options.objects ?? []) this.#tree.add(e);
    this.#unsubscribeTree = this.#tree.onChange((paths) => this.#onTreeChange(paths));
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
    this.#opening ??= this.#open().catch((err: unknown) => {
      this.#opening = undefined;
      throw err;
    });
    await this.#opening;
    return this.#event(await this.#engine!.start());
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

  async #open(): Promise<void> {
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
    const transport = new Transport({
      uri: security.uri,
      psk: security.psk,
      local: this.#options.local,
      coap: this.#options.coapOptions,
      logger: this.#options.logger,
    });
    transport.endpoint.on('error', (err) => this.#reportError(err));
    transport.endpoint.setHandler(this.#handle);
    try {
      await transport.open();
    } catch (err) {
      await transport.close();
      throw err;
    }
    if (this.#state !== 'new') {
      await transport.close();
      throw new ClientClosedError('the client was closed while starting');
    }
    this.#transport = transport;
    this.#serverUri = security.uri;
    this.#state = 'open';
    if (this.#queueMode) {
      this.#gate = new QueueModeGate(transport.socket, {
        ...(this.#options.server.awakeTime !== undefined && {
          awakeTime: this.#options.server.awakeTime,
        }),
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
      objectLinks: (v) => formatLinkFormat(this.#tree.objectLinks(v)),
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
      const dm = this.#dmFor(reg.version);
      // A new registration: the server has forgotten earlier observations (Core TS 1.2 §6.4.1).
      dm.observations.cancelAll();
      void this.#refreshPeriods();
      this.#gate?.touch();
      this.emit('registered', this.#event(reg));
    });
    engine.on('updated', (reg, info) => this.emit('updated', this.#event(reg), info));
    engine.on('deregistered', (d) =>
      this.emit('deregistered', { endpoint: this.endpointName, ...d }),
    );
    engine.on('registrationFailed', (f) => this.emit('registrationFailed', f));
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

  async #shutdown(): Promise<void> {
    const wasOpen = this.#state === 'open';
    this.#state = 'closing';
    // A start() still opening the socket gives up (and closes it) on seeing the state.
    await this.#opening?.catch(() => {});
    clearTimeout(this.#disableTimer);
    this.#disableTimer = undefined;
    await this.#dm?.observations.close();
    const engine = this.#engine;
    if (engine !== undefined) {
      if (wasOpen && engine.registration !== undefined) {
        await engine.deregister({ timeout: this.#options.deregisterTimeout ?? 5000 });
      }
      await engine.close();
    }
    this.#gate?.dispose();
    await this.#transport?.close();
    this.#unsubscribeTree();
    await Promise.all(this.#tree.objectIds().map((id) => closeEnabler(this.#tree.get(id))));
    this.#state = 'closed';
  }

  /** Serves the server's requests: the DM handler of the registered version, reported as `request`. */
  readonly #handle: RequestHandler = async (req, ctx) => {
    const dm = this.#dmFor(this.version);
    const report = (code: ResponseCode) => {
      if (this.listenerCount('request') === 0) return;
      this.emit('request', {
        method: req.method,
        path: `/${req.path.join('/')}`,
        code,
        peer: req.peer,
      });
    };
    try {
      const res = await dm.handler(req, ctx);
      report(res.code);
      return res;
    } catch (err) {
      report(err instanceof LwM2mError ? err.coapCode : '5.00');
      throw err;
    }
  };

  /** The attribute store, observations and DM handler for `version` (rebuilt when it changes). */
  #dmFor(version: LwM2mVersion): DmStack {
    if (this.#dm?.version === version) return this.#dm;
    void this.#dm?.observations.close();
    const tree = this.#tree;
    const origin: RequestOrigin = { kind: 'server', shortServerId: this.#shortServerId };
    const attributes = new AttributeStore({ version, defaultPeriods: () => this.#periods });
    const observations = new ObservationManager({
      tree,
      attributes,
      version,
      ...(this.#options.logger !== undefined && { logger: this.#options.logger }),
    });
    const handler = createDmHandler(tree, {
      version,
      origin: () => origin,
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
          origin,
          own === undefined ? {} : { attributes: own },
        );
      },
      writeAttributes: (path, update) => {
        attributes.apply(path, update, attributeTargetInfo(tree.resourceModel(path)));
      },
      discoverAttributes: (path) => attributes.forPath(path),
    });
    this.#dm = { version, attributes, observations, handler };
    return this.#dm;
  }

  #settings(): Promise<ServerSettings> {
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
    return { ...reg, endpoint: this.endpointName, serverUri: this.#serverUri };
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
