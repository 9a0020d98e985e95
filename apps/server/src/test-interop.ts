/**
 * Helpers for the server's interop tests against other implementations: a promise-based wrapper
 * of `lwm2m-node-lib`'s LwM2M 1.0 client (npm, CommonJS, callback API, module-level singletons)
 * kept on loopback, and small event helpers.
 */
import {
  type NodeCallback as Callback,
  fromCallback,
  nextEmitted,
  nodeLibRequire,
} from '@lwm2m-ts/testkit';
import type { ServerEvents } from './events.js';
import type { LwM2mServer } from './server.js';

export { within } from '@lwm2m-ts/testkit';

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

/**
 * `lwm2m-node-lib`'s client module, its node-coap kept on loopback (testkit's `nodeLibRequire`),
 * loaded once per test file. The client module alone: the package's main also loads its server,
 * and with it mongoose.
 */
export function loadNodeLibClient(): NodeLibClientModule {
  return nodeLibRequire(import.meta.url)('./lwm2m-client') as NodeLibClientModule;
}

/** Promise form of a node-style callback call. */
export const call = fromCallback;

/** The next `name` event of the server that `filter` accepts, or a rejection after `ms`. */
export function nextEvent<K extends keyof ServerEvents>(
  server: LwM2mServer,
  name: K,
  ms = 5000,
  filter: (e: ServerEvents[K][0]) => boolean = () => true,
): Promise<ServerEvents[K][0]> {
  return nextEmitted<[ServerEvents[K][0]]>(server, name, ms, filter).then(([e]) => e);
}
