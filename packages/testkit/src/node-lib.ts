import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import { LOOPBACK_V4 } from './ports.js';

/** A node-style callback, as `lwm2m-node-lib`'s API takes them. */
export type NodeCallback<T = unknown> = (error?: Error | null, result?: T) => void;

/** Promise form of a node-style callback call: `await fromCallback((cb) => lib.stop(info, cb))`. */
export function fromCallback<T = unknown>(fn: (cb: NodeCallback<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) =>
    fn((err, result) => (err ? reject(err) : resolve(result as T))),
  );
}

const LOOPBACK_PATCHED = Symbol.for('lwm2m-ts.testkit.node-lib.loopback');

/** The node-coap parts the loopback patch touches, and its mark. */
interface NodeLibCoap {
  [LOOPBACK_PATCHED]?: true;
  createServer: {
    prototype: { listen(port: number, address?: unknown, done?: unknown): unknown };
  };
  Agent: {
    prototype: {
      _init(this: { _sock?: unknown; _opts: { type: dgram.SocketType } }, socket?: unknown): void;
    };
  };
}

/**
 * `require` inside the `lwm2m-node-lib` package (npm 1.4.0, an LwM2M 1.0 client and server used
 * as an interop peer) as `from` (the caller's `import.meta.url`) resolves it: testkit does not
 * depend on it, the apps' tests do. Its own copy of node-coap (0.22) is kept on loopback, once per
 * process: its CoAP listeners bind every interface and its requests go out through an Agent on an
 * unbound socket otherwise. Its logger (logops, every step at INFO on stdout) is set to FATAL.
 * Load only the module you need (`./lwm2m-client`, `./lwm2m-server`): the package's main loads both.
 */
export function nodeLibRequire(from: string | URL): NodeJS.Require {
  const libRequire = createRequire(createRequire(from).resolve('lwm2m-node-lib'));
  const coap = libRequire('coap') as NodeLibCoap;
  if (!coap[LOOPBACK_PATCHED]) {
    coap[LOOPBACK_PATCHED] = true;
    const listen = coap.createServer.prototype.listen;
    coap.createServer.prototype.listen = function (port, address, done) {
      if (typeof address === 'function') return listen.call(this, port, LOOPBACK_V4, address);
      return listen.call(this, port, address ?? LOOPBACK_V4, done);
    };
    const init = coap.Agent.prototype._init;
    coap.Agent.prototype._init = function (socket) {
      if (socket === undefined && !this._sock) {
        const s = dgram.createSocket(this._opts.type);
        s.bind(0, LOOPBACK_V4);
        return init.call(this, s);
      }
      return init.call(this, socket);
    };
    (libRequire('logops') as { setLevel(level: string): void }).setLevel('FATAL');
  }
  return libRequire;
}
