/**
 * A raw LwM2M server for the client's tests: a CoapEndpoint on loopback that serves the
 * registration interface (`/rd`) and Send (`/dp`) by hand, records every request, and can send
 * device-management requests to the client. Not a server implementation (that is apps/server,
 * which apps/client must not import); just enough to watch the client on the wire.
 */
import type dgram from 'node:dgram';
import {
  CoapEndpoint,
  type CoapRequest,
  type CoapResponse,
  type IncomingResponse,
  type OutgoingRequest,
  type Peer,
} from '@lwm2m-ts/coap';
import type { ResponseCode } from '@lwm2m-ts/core';

export interface RecordedRequest extends CoapRequest {
  /** When it arrived (Date.now()). */
  readonly at: number;
}

export interface TestServerOptions {
  readonly port?: number;
  readonly socket?: dgram.Socket;
}

/** What to answer instead of the default, for one request: return undefined for the default. */
export type Override = (req: CoapRequest) => CoapResponse | undefined | Promise<CoapResponse>;

export class TestServer {
  readonly requests: RecordedRequest[] = [];
  /** Answers tried before the default handling, first match wins. */
  readonly overrides: Override[] = [];
  private nextId = 1;
  private readonly waiters = new Set<() => void>();
  /** The client's address, from its last registration request. */
  client: Peer | undefined;

  private constructor(readonly endpoint: CoapEndpoint) {}

  static async start(options: TestServerOptions = {}): Promise<TestServer> {
    const endpoint = new CoapEndpoint({
      address: '127.0.0.1',
      port: options.port ?? 0,
      ...(options.socket !== undefined && { socket: options.socket, closeSocket: true }),
    });
    const server = new TestServer(endpoint);
    endpoint.setHandler((req) => server.handle(req));
    await endpoint.listen();
    return server;
  }

  get port(): number {
    return this.endpoint.address().port;
  }

  get uri(): string {
    return `coap://127.0.0.1:${this.port}`;
  }

  close(): Promise<void> {
    for (const w of this.waiters) w();
    return this.endpoint.close();
  }

  /** Requests whose method and first path segment match (`POST rd`, `DELETE rd`, `POST dp`). */
  filter(method: string, first: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path[0] === first);
  }

  registers(): RecordedRequest[] {
    return this.requests.filter(
      (r) => r.method === 'POST' && r.path.length === 1 && r.path[0] === 'rd',
    );
  }

  updates(): RecordedRequest[] {
    return this.requests.filter(
      (r) => r.method === 'POST' && r.path.length === 2 && r.path[0] === 'rd',
    );
  }

  /** Resolves once `predicate` holds for the recorded requests (checked after each one). */
  waitFor<T>(
    predicate: (requests: readonly RecordedRequest[]) => T | undefined | false,
    timeoutMs = 5000,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        const v = predicate(this.requests);
        if (v !== undefined && v !== false) {
          done();
          resolve(v);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`waitFor: not seen in ${timeoutMs} ms (${this.summary()})`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      if (!check()) this.waiters.add(check);
    });
  }

  /** `POST rd, POST rd/1, …` for messages. */
  summary(): string {
    return this.requests.map((r) => `${r.method} ${r.path.join('/')}`).join(', ');
  }

  /** Sends a DM request to the registered client. */
  send(req: OutgoingRequest): Promise<IncomingResponse> {
    if (this.client === undefined) throw new Error('no client registered yet');
    return this.endpoint.request(this.client, { timeout: 3000, ...req });
  }

  private async handle(req: CoapRequest): Promise<CoapResponse> {
    this.requests.push({ ...req, at: Date.now() });
    queueMicrotask(() => {
      for (const w of [...this.waiters]) w();
    });
    for (const o of this.overrides) {
      const r = await o(req);
      if (r !== undefined) return r;
    }
    const [first] = req.path;
    if (first === 'rd') {
      this.client = req.peer;
      if (req.method === 'POST' && req.path.length === 1) {
        return { code: '2.01', locationPath: ['rd', String(this.nextId++)] };
      }
      if (req.method === 'POST' && req.path.length === 2) return { code: '2.04' };
      if (req.method === 'DELETE' && req.path.length === 2) return { code: '2.02' };
    }
    if (first === 'dp' && req.method === 'POST') return { code: '2.04' };
    return { code: '4.04' as ResponseCode };
  }
}

/** Query parameters as a map (`Q` → ''). */
export function queryOf(req: CoapRequest): Map<string, string> {
  return new Map(
    req.query.map((q) => {
      const eq = q.indexOf('=');
      return eq < 0 ? [q, ''] : [q.slice(0, eq), q.slice(eq + 1)];
    }),
  );
}
