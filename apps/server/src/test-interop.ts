/**
 * Helpers for the server's interop tests against other implementations: a promise-based wrapper
 * of `lwm2m-node-lib`'s LwM2M 1.0 client (npm, CommonJS, callback API, module-level singletons)
 * kept on loopback, and small event helpers.
 */
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import type { ServerEvents } from './events.js';
import type { LwM2mServer } from './server.js';

const LOOPBACK = '127.0.0.1';

type Callback<T = unknown> = (error?: Error | null, result?: T) => void;

/** What `lwm2m-node-lib` keeps about one registration (`register`'s result). */
export interface NodeLibDeviceInfo {
  currentHost: string;
  currentPort: number;
  /** `rd/<id>` as the server's Location-Path gave it. */
  location: string;
  /** The port the client registered from and listens on. */
  localPort: number;
  /** Its CoAP listener (a node-coap 0.22 server) and operation handlers. */
  serverInfo: { server: { close(cb?: () => void): void } | null };
}

/** `handler(objectType, objectId, resourceId, value, callback)`, all ids as strings. */
export type NodeLibHandler = (
  objectType: string,
  objectId: string,
  resourceId: string,
  value: string | undefined,
  callback: Callback,
) => void;

interface NodeLibObject {
  objectType: string;
  objectId: string;
  objectUri: string;
  attributes: Record<string, unknown>;
}

interface NodeLibClientModule {
  init(config: object, cb?: () => void): void;
  register(
    host: string,
    port: number,
    url: string | null,
    endpoint: string,
    cb: Callback<NodeLibDeviceInfo>,
  ): void;
  update(info: NodeLibDeviceInfo, cb: Callback<NodeLibDeviceInfo>): void;
  unregister(info: NodeLibDeviceInfo, cb: Callback): void;
  setHandler(
    serverInfo: NodeLibDeviceInfo['serverInfo'],
    op: string,
    handler: NodeLibHandler,
  ): void;
  cancellAllObservers(cb: Callback): void;
  listObservers(cb: Callback<unknown[]>): void;
  registry: {
    create(uri: string, cb: Callback<NodeLibObject>): void;
    remove(uri: string, cb: Callback<NodeLibObject>): void;
    get(uri: string, cb: Callback<NodeLibObject>): void;
    setResource(
      uri: string,
      id: string | number,
      value: unknown,
      cb: Callback<NodeLibObject>,
    ): void;
    list(cb: Callback<NodeLibObject[]>): void;
    bus: NodeJS.EventEmitter;
  };
}

const requireHere = createRequire(import.meta.url);
let patched = false;

/**
 * `lwm2m-node-lib`'s client module, with its node-coap (0.22, its own copy) kept on loopback: the
 * client's CoAP listener binds every interface and its registration agent an unbound socket
 * otherwise. Only that copy of node-coap is touched; the module is loaded once per test file.
 */
export function loadNodeLibClient(): NodeLibClientModule {
  const libRequire = createRequire(requireHere.resolve('lwm2m-node-lib'));
  if (!patched) {
    patched = true;
    const coap = libRequire('coap') as {
      createServer: {
        prototype: { listen(port: number, address?: unknown, done?: unknown): unknown };
      };
      Agent: {
        prototype: {
          _init(
            this: { _sock?: unknown; _opts: { type: dgram.SocketType } },
            socket?: unknown,
          ): void;
        };
      };
    };
    const listen = coap.createServer.prototype.listen;
    coap.createServer.prototype.listen = function (port, address, done) {
      if (typeof address === 'function') return listen.call(this, port, LOOPBACK, address);
      return listen.call(this, port, address ?? LOOPBACK, done);
    };
    const init = coap.Agent.prototype._init;
    coap.Agent.prototype._init = function (socket) {
      if (socket === undefined && !this._sock) {
        const s = dgram.createSocket(this._opts.type);
        s.bind(0, LOOPBACK);
        return init.call(this, s);
      }
      return init.call(this, socket);
    };
    // logops logs every step at INFO on stdout; keep the test output readable.
    (libRequire('logops') as { setLevel(level: string): void }).setLevel('FATAL');
  }
  // The client module alone: the package's main also loads its server, and with it mongoose.
  return libRequire('./lwm2m-client') as NodeLibClientModule;
}

/** Promise form of a node-style callback call. */
export function call<T = unknown>(fn: (cb: Callback<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) =>
    fn((err, result) => (err ? reject(err) : resolve(result as T))),
  );
}

/** The next `name` event of the server that `filter` accepts, or a rejection after `ms`. */
export function nextEvent<K extends keyof ServerEvents>(
  server: LwM2mServer,
  name: K,
  ms = 5000,
  filter: (e: ServerEvents[K][0]) => boolean = () => true,
): Promise<ServerEvents[K][0]> {
  return new Promise((resolve, reject) => {
    const listener = ((e: ServerEvents[K][0]) => {
      if (!filter(e)) return;
      clearTimeout(timer);
      server.off(name, listener as never);
      resolve(e);
    }) as never;
    const timer = setTimeout(() => {
      server.off(name, listener);
      reject(new Error(`no ${String(name)} event within ${ms} ms`));
    }, ms);
    server.on(name, listener);
  });
}

/** Rejects after `ms` with a message naming `what`, so a hung peer fails the test, not the run. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
