import type { ServerResponse } from 'node:http';

interface SseClient {
  readonly res: ServerResponse;
  /** Only this endpoint's events, when set. */
  readonly endpoint: string | undefined;
}

/**
 * Server-sent event streams (`GET /api/events`): `send` writes one event to every stream that
 * wants it; a heartbeat comment keeps idle streams open through proxies; a stream whose reader
 * falls more than `maxBufferedBytes` behind is dropped (it may reconnect).
 */
export class SseHub {
  readonly #clients = new Set<SseClient>();
  readonly #heartbeat: NodeJS.Timeout;
  readonly #maxBuffered: number;

  constructor(options: { heartbeatMs?: number; maxBufferedBytes?: number } = {}) {
    this.#maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
    this.#heartbeat = setInterval(
      () => this.#write(': heartbeat\n\n'),
      options.heartbeatMs ?? 15_000,
    );
    this.#heartbeat.unref();
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Starts a stream on a response whose headers are not sent yet. */
  add(res: ServerResponse, endpoint: string | undefined): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const client = { res, endpoint };
    this.#clients.add(client);
    const drop = () => this.#clients.delete(client);
    res.on('close', drop);
    res.on('error', drop);
    res.write(': connected\n\n');
  }

  send(event: string, endpoint: string | undefined, data: unknown): void {
    if (this.#clients.size === 0) return;
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    this.#write(text, (c) => c.endpoint === undefined || c.endpoint === endpoint);
  }

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
        this.#clients.delete(c);
        c.res.destroy();
      } else {
        c.res.write(text);
      }
    }
  }
}
