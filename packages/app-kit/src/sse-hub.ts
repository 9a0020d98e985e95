import type { ServerResponse } from 'node:http';

interface SseClient {
  readonly res: ServerResponse;
  /** Only events of this endpoint, when set. */
  readonly endpoint: string | undefined;
}

export interface SseHubOptions {
  /** Comment line sent this often to keep proxies from closing idle streams. Default 15 000 ms. */
  readonly heartbeatMs?: number | undefined;
  /** A stream whose unsent output grows beyond this many bytes is dropped. Default 1 MiB. */
  readonly maxBufferedBytes?: number | undefined;
}

/**
 * Server-sent event streams (`GET /api/events[?ep=]`): `send` writes one event to every stream
 * that wants it (all of them, or those of its endpoint); a heartbeat comment keeps idle streams
 * open through proxies; a stream whose reader falls more than `maxBufferedBytes` behind is
 * dropped (it may reconnect). `Event` is the set of event names.
 */
export class SseHub<Event extends string = string> {
  readonly #clients = new Set<SseClient>();
  readonly #heartbeat: NodeJS.Timeout;
  readonly #maxBuffered: number;

  constructor(options: SseHubOptions = {}) {
    this.#maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
    this.#heartbeat = setInterval(
      () => this.#write(': heartbeat\n\n'),
      options.heartbeatMs ?? 15_000,
    );
    this.#heartbeat.unref();
  }

  /** Open streams. */
  get size(): number {
    return this.#clients.size;
  }

  /** Starts a stream on a response whose headers are not sent yet (a hijacked fastify reply). */
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

  /** Sends one event (`data` as JSON) to every stream that wants `endpoint`'s events. */
  send(event: Event, endpoint: string | undefined, data: unknown): void {
    if (this.#clients.size === 0) return;
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    this.#write(text, (c) => c.endpoint === undefined || c.endpoint === endpoint);
  }

  /** Stops the heartbeat and ends every stream. */
  close(): void {
    clearInterval(this.#heartbeat);
    for (const c of this.#clients) c.res.end();
    this.#clients.clear();
  }

  #write(text: string, wants: (c: SseClient) => boolean = () => true): void {
    for (const c of this.#clients) {
      if (!wants(c)) continue;
      if (c.res.destroyed || c.res.writableEnded) {
        this.#clients.delete(c);
      } else if (c.res.writableLength > this.#maxBuffered) {
        // A reader this slow would make us hold events without bound: let it reconnect.
        this.#clients.delete(c);
        c.res.destroy();
      } else {
        c.res.write(text);
      }
    }
  }
}
