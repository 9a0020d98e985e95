/**
 * Helpers for the client's interop tests against other implementations: a promise-based wrapper
 * of `lwm2m-node-lib`'s LwM2M 1.0 **server** (npm 1.4.0, AGPL, test-only; CommonJS, callback API,
 * module-level singletons) kept on loopback, and small event helpers.
 */
import Module from 'node:module';
import {
  type NodeCallback as Callback,
  fromCallback,
  LOOPBACK_V4 as LOOPBACK,
  nextEmitted,
  nodeLibRequire,
} from '@lwm2m-ts/testkit';
import type { ClientEvents, LwM2mClient } from './client.js';

export { within } from '@lwm2m-ts/testkit';

/** One device in `lwm2m-node-lib`'s in-memory registry. */
export interface NodeLibDevice {
  /** The registry id: the `<id>` of the `rd/<id>` Location-Path, and what DM calls take. */
  id: number;
  /** The Endpoint Client Name. */
  name: string;
  /** `lt` as the Register query gave it (text). */
  lifetime: string;
  address: string;
  port: number;
  path: string;
  type: string;
  creationDate: Date;
}

/** What `start` hands back: its CoAP listener (node-coap 0.22), routes and handlers. */
export interface NodeLibServerInfo {
  server: unknown;
}

/** `(endpoint, lifetime, version, binding, payload, done)` — all as the Register carried them. */
export type NodeLibRegistrationHandler = (
  endpoint: string,
  lifetime: string | undefined,
  version: string | undefined,
  binding: string | undefined,
  payload: string,
  done: Callback,
) => void;

/** Called with each notification after the first value: `(value, objectType, objectId, resourceId, deviceId)`. */
export type NodeLibObserveHandler = (
  value: string,
  objectType: string,
  objectId: string,
  resourceId: string,
  deviceId: number,
) => void;

type Id = number | string;

interface NodeLibRegistry {
  list(cb: Callback<NodeLibDevice[]>): void;
  clean(cb: Callback): void;
  checkLifetime(intervalMs: number, handler?: (device: NodeLibDevice, cb: Callback) => void): void;
  stopLifetimeCheck(): void;
}

interface NodeLibServerModule {
  start(config: object, cb: Callback<NodeLibServerInfo>): void;
  stop(info: NodeLibServerInfo, cb: Callback): void;
  setHandler(
    info: NodeLibServerInfo,
    type: 'registration',
    handler: NodeLibRegistrationHandler,
  ): void;
  setHandler(
    info: NodeLibServerInfo,
    type: 'unregistration',
    handler: (device: NodeLibDevice, cb: Callback) => void,
  ): void;
  setHandler(
    info: NodeLibServerInfo,
    type: 'updateRegistration',
    handler: (device: NodeLibDevice, payload: string, cb: Callback) => void,
  ): void;
  read(deviceId: Id, objectType: Id, objectId: Id, resourceId: Id, cb: Callback<string>): void;
  write(
    deviceId: Id,
    objectType: Id,
    objectId: Id,
    resourceId: Id,
    value: string,
    cb: Callback<string>,
  ): void;
  execute(
    deviceId: Id,
    objectType: Id,
    objectId: Id,
    resourceId: Id,
    value: string | null,
    cb: Callback<string>,
  ): void;
  observe(
    deviceId: Id,
    objectType: Id,
    objectId: Id,
    resourceId: Id,
    handler: NodeLibObserveHandler,
    cb: Callback<string>,
  ): void;
  cancelObserver(deviceId: Id, objectType: Id, objectId: Id, resourceId: Id, cb: Callback): void;
  /** Set by `start` (the registry's `list` and `getByName`). */
  listDevices?: (cb: Callback<NodeLibDevice[]>) => void;
  getDevice?: (name: string, cb: Callback<NodeLibDevice>) => void;
  getRegistry(): NodeLibRegistry;
  isRunning(): boolean;
}

/**
 * `lwm2m-node-lib`'s server module, its node-coap kept on loopback (testkit's `nodeLibRequire`).
 * Its MongoDB connector (`services/model/dbConn`, which loads mongoose and a MongoDB driver that
 * warns on Node 20) is replaced by the no-op it is for the in-memory registry. The server module
 * alone: the package's main also loads its client.
 */
export function loadNodeLibServer(): NodeLibServerModule {
  const libRequire = nodeLibRequire(import.meta.url);
  const dbConn = libRequire.resolve('./services/model/dbConn');
  if (libRequire.cache[dbConn] === undefined) {
    const stub = new Module(dbConn);
    stub.filename = dbConn;
    stub.loaded = true;
    stub.exports = {
      configureDb: (cb: Callback) => cb(null),
      db: null,
      DEFAULT_DB_NAME: 'lwm2m',
    };
    libRequire.cache[dbConn] = stub;
  }
  return libRequire('./lwm2m-server') as NodeLibServerModule;
}

/** Promise form of a node-style callback call. */
export const call = fromCallback;

/** A Register as `lwm2m-node-lib`'s registration handler saw it. */
export interface NodeLibRegistration {
  endpoint: string;
  lifetime: string | undefined;
  version: string | undefined;
  binding: string | undefined;
  payload: string;
}

/** A running `lwm2m-node-lib` server with what its handlers saw. */
export interface NodeLibServer {
  readonly lib: NodeLibServerModule;
  readonly port: number;
  /** `coap://127.0.0.1:<port>` */
  readonly uri: string;
  readonly registrations: NodeLibRegistration[];
  readonly updates: { device: NodeLibDevice; payload: string }[];
  readonly unregistrations: NodeLibDevice[];
  devices(): Promise<NodeLibDevice[]>;
  /** Stops listening, closes its observation streams and empties its registry. */
  stop(): Promise<void>;
}

/**
 * Starts `lwm2m-node-lib`'s server on `127.0.0.1:port` with its in-memory registry. It speaks
 * text/plain (content format 0) for writes and executes rather than its default, the
 * pre-release `lightweightm2m/text` (1541), which no released LwM2M version defines.
 * Only one can run at a time (the module holds singletons).
 */
export async function startNodeLibServer(
  port: number,
  options: { writeFormat?: { name: string; value: number } } = {},
): Promise<NodeLibServer> {
  const lib = loadNodeLibServer();
  if (lib.isRunning()) throw new Error('an lwm2m-node-lib server is running already');
  const format = options.writeFormat ?? { name: 'text/plain', value: 0 };
  const config = {
    port,
    // Their registry forgets a device whose lifetime has run out, checked this often.
    lifetimeCheckInterval: 1000,
    udpWindow: 100,
    defaultType: 'Device',
    types: [],
    logLevel: 'FATAL',
    ipProtocol: 'udp4',
    serverProtocol: 'udp4',
    formats: [format],
    writeFormat: format.name,
  };
  const info = await call<NodeLibServerInfo>((cb) => lib.start(config, cb));
  const registrations: NodeLibRegistration[] = [];
  const updates: { device: NodeLibDevice; payload: string }[] = [];
  const unregistrations: NodeLibDevice[] = [];
  lib.setHandler(info, 'registration', (endpoint, lifetime, version, binding, payload, done) => {
    registrations.push({ endpoint, lifetime, version, binding, payload });
    done(null);
  });
  lib.setHandler(info, 'updateRegistration', (device, payload, done) => {
    updates.push({ device, payload });
    done(null);
  });
  const onUnregistration = (device: NodeLibDevice, done: Callback) => {
    unregistrations.push(device);
    done(null);
  };
  lib.setHandler(info, 'unregistration', onUnregistration);
  // setHandler('unregistration') restarts their lifetime check with an interval read from the
  // wrong object (undefined: every millisecond); start it again with the configured one.
  lib.getRegistry().checkLifetime(config.lifetimeCheckInterval, onUnregistration);
  let stopping: Promise<void> | undefined;
  return {
    lib,
    port,
    uri: `coap://${LOOPBACK}:${port}`,
    registrations,
    updates,
    unregistrations,
    devices: () => call<NodeLibDevice[]>((cb) => lib.getRegistry().list(cb)),
    stop: () => {
      stopping ??= (async () => {
        await call((cb) => lib.stop(info, cb));
        await call((cb) => lib.getRegistry().clean(cb));
      })();
      return stopping;
    },
  };
}

/** The next `name` event of the client that `filter` accepts, or a rejection after `ms`. */
export function nextClientEvent<K extends keyof ClientEvents>(
  client: LwM2mClient,
  name: K,
  ms = 5000,
  filter: (...args: ClientEvents[K]) => boolean = () => true,
): Promise<ClientEvents[K]> {
  return nextEmitted<ClientEvents[K]>(client, name, ms, filter);
}

/** Resolves once `check` returns true (polled every 20 ms), or rejects after `ms`. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  ms: number,
  what: string,
) {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
