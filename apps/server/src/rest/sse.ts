import type { ServerResponse } from 'node:http';
import type { ServerEvents } from '../events.js';
import { formatLabel, observationToJson, registrationToJson } from './json-shapes.js';
import { nodeToJson, toJsonValues } from './json-values.js';
import type { RestApiServer } from './server-api.js';

/** SSE event names, one per server event (`GET /api/events`). */
export type SseEventName =
  | 'registration'
  | 'update'
  | 'deregistration'
  | 'notification'
  | 'observation-cancelled'
  | 'send'
  | 'coap-error'
  | 'awake'
  | 'sleeping';

interface SseClient {
  readonly res: ServerResponse;
  /** Only events of this endpoint, when set. */
  readonly endpoint: string | undefined;
}

export interface SseHubOptions {
  /** Comment line sent this often to keep proxies from closing idle streams. Default 15 000 ms. */
  readonly heartbeatMs?: number;
  /** A client whose unsent output grows beyond this many bytes is dropped. Default 1 MiB. */
  readonly maxBufferedBytes?: number;
  readonly onError?: (err: unknown, where: string) => void;
}

/**
 * Fans the server's events out to SSE streams. One listener per server event, whatever the
 * number of streams; `close()` removes them and ends every stream.
 */
export class SseHub {
  readonly #clients = new Set<SseClient>();
  readonly #server: RestApiServer;
  readonly #maxBuffered: number;
  readonly #onError: (err: unknown, where: string) => void;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #unsubscribe: (() => void)[] = [];

  constructor(server: RestApiServer, options: SseHubOptions = {}) {
    this.#server = server;
    this.#maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
    this.#onError = options.onError ?? (() => {});
    this.#heartbeat = setInterval(
      () => this.#sendAll(': heartbeat\n\n'),
      options.heartbeatMs ?? 15_000,
    );
    this.#heartbeat.unref();
    this.#subscribe();
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Starts streaming on a response whose headers are not sent yet. */
  add(res: ServerResponse, endpoint: string | undefined): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const client: SseClient = { res, endpoint };
    this.#clients.add(client);
    const drop = () => this.#clients.delete(client);
    res.on('close', drop);
    res.on('error', drop);
    // A first comment so the client sees the stream open at once (and proxies flush headers).
    res.write(': connected\n\n');
  }

  close(): void {
    clearInterval(this.#heartbeat);
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe.length = 0;
    for (const c of this.#clients) c.res.end();
    this.#clients.clear();
  }

  #write(client: SseClient, text: string): void {
    const { res } = client;
    if (res.destroyed || res.writableEnded) {
      this.#clients.delete(client);
      return;
    }
    if (res.writableLength > this.#maxBuffered) {
      // A reader this slow would make us hold events without bound: let it reconnect.
      this.#clients.delete(client);
      res.destroy();
      return;
    }
    res.write(text);
  }

  #sendAll(text: string): void {
    for (const c of this.#clients) this.#write(c, text);
  }

  /** Sends one event to every stream that wants `endpoint`'s events. */
  emit(event: SseEventName, endpoint: string | undefined, data: unknown): void {
    if (this.#clients.size === 0) return;
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const c of this.#clients) {
      if (c.endpoint === undefined || c.endpoint === endpoint) this.#write(c, text);
    }
  }

  #on<K extends keyof ServerEvents>(name: K, handler: (...args: ServerEvents[K]) => void): void {
    const safe = (...args: ServerEvents[K]) => {
      try {
        handler(...args);
      } catch (err) {
        this.#onError(err, `SSE ${String(name)} event`);
      }
    };
    // EventEmitter<ServerEvents>'s overloads are awkward to satisfy generically.
    const emitter = this.#server as unknown as {
      on(n: string, l: (...a: unknown[]) => void): unknown;
      off(n: string, l: (...a: unknown[]) => void): unknown;
    };
    const listener = safe as (...a: unknown[]) => void;
    emitter.on(name, listener);
    this.#unsubscribe.push(() => emitter.off(name, listener));
  }

  #queue(endpoint: string) {
    return this.#server.queueState(endpoint);
  }

  #subscribe(): void {
    this.#on('registered', ({ registration }) =>
      this.emit('registration', registration.endpoint, {
        endpoint: registration.endpoint,
        registration: registrationToJson(registration, this.#queue(registration.endpoint)),
      }),
    );
    this.#on('updated', ({ before, registration }) =>
      this.emit('update', registration.endpoint, {
        endpoint: registration.endpoint,
        registration: registrationToJson(registration, this.#queue(registration.endpoint)),
        before: registrationToJson(before),
      }),
    );
    this.#on('deregistered', ({ registration, reason }) =>
      this.emit('deregistration', registration.endpoint, {
        endpoint: registration.endpoint,
        reason,
        registration: registrationToJson(registration),
      }),
    );
    this.#on('awake', ({ registration }) =>
      this.emit('awake', registration.endpoint, { endpoint: registration.endpoint }),
    );
    this.#on('sleeping', ({ registration }) =>
      this.emit('sleeping', registration.endpoint, { endpoint: registration.endpoint }),
    );
    this.#on('notification', (e) =>
      this.emit('notification', e.registration.endpoint, {
        endpoint: e.registration.endpoint,
        observation: observationToJson(e.observation),
        paths: [...e.observation.paths],
        status: e.code,
        ...(e.content === undefined ? {} : { content: nodeToJson(e.content) }),
        ...(e.values === undefined ? {} : { values: toJsonValues(e.values) }),
        ...(e.contentFormat === undefined ? {} : { format: formatLabel(e.contentFormat) }),
      }),
    );
    this.#on('observationCancelled', ({ observation, reason }) =>
      this.emit('observation-cancelled', observation.endpoint, {
        endpoint: observation.endpoint,
        observation: observationToJson(observation),
        reason,
      }),
    );
    this.#on('send', (e) =>
      this.emit('send', e.registration.endpoint, {
        endpoint: e.registration.endpoint,
        values: toJsonValues(e.values),
        format: formatLabel(e.contentFormat),
      }),
    );
    this.#on('coapError', (e) =>
      this.emit('coap-error', e.endpoint, {
        ...(e.endpoint === undefined ? {} : { endpoint: e.endpoint }),
        address: e.address,
        port: e.port,
        coapCode: e.code,
        message: e.message,
      }),
    );
  }
}
