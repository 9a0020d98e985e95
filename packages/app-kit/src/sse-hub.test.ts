import { EventEmitter } from 'node:events';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SseHub } from './sse-hub.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A hub behind a real HTTP server: `GET /?ep=x` streams that endpoint's events. */
async function serve(hub: SseHub) {
  const server = http.createServer((req, res) => {
    const ep = new URL(req.url ?? '/', 'http://x').searchParams.get('ep');
    hub.add(res, ep ?? undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        hub.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Reader {
  readonly headers: http.IncomingHttpHeaders;
  text(): string;
  until(match: RegExp): Promise<void>;
  readonly ended: Promise<void>;
  close(): void;
}

function read(url: string): Promise<Reader> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      let text = '';
      const waiters = new Set<() => void>();
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        for (const w of [...waiters]) w();
      });
      const ended = new Promise<void>((r) => res.on('close', () => r()));
      cleanups.push(() => req.destroy());
      resolve({
        headers: res.headers,
        text: () => text,
        ended,
        close: () => req.destroy(),
        until: (match) =>
          new Promise<void>((ok, fail) => {
            const timer = setTimeout(() => fail(new Error(`no ${match} in ${text}`)), 5000);
            const check = () => {
              if (!match.test(text)) return;
              clearTimeout(timer);
              waiters.delete(check);
              ok();
            };
            waiters.add(check);
            check();
          }),
      });
    });
    req.on('error', reject);
  });
}

describe('SseHub', () => {
  it('opens streams with SSE headers and sends events to the streams that want them', async () => {
    const hub = new SseHub<'greeting' | 'bye'>({ heartbeatMs: 60_000 });
    const base = await serve(hub);
    const all = await read(`${base}/`);
    const one = await read(`${base}/?ep=dev-1`);
    expect(all.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(all.headers['cache-control']).toBe('no-cache, no-transform');
    await all.until(/^: connected\n\n/);
    expect(hub.size).toBe(2);
    hub.send('greeting', 'dev-2', { hello: 'two' });
    hub.send('greeting', 'dev-1', { hello: 'one' });
    hub.send('bye', undefined, { all: true });
    await all.until(/event: bye/);
    await one.until(/"one"/);
    expect(all.text()).toBe(
      ': connected\n\nevent: greeting\ndata: {"hello":"two"}\n\n' +
        'event: greeting\ndata: {"hello":"one"}\n\nevent: bye\ndata: {"all":true}\n\n',
    );
    // An event of no endpoint goes only to the streams that take every endpoint.
    expect(one.text()).toBe(': connected\n\nevent: greeting\ndata: {"hello":"one"}\n\n');
  });

  it('sends heartbeats, forgets streams that close and ends the rest on close()', async () => {
    const hub = new SseHub({ heartbeatMs: 20 });
    const base = await serve(hub);
    const a = await read(`${base}/`);
    await a.until(/: heartbeat\n\n/);
    const b = await read(`${base}/`);
    const c = await read(`${base}/`);
    await c.until(/: connected/);
    expect(hub.size).toBe(3);
    c.close();
    await expect.poll(() => hub.size).toBe(2);
    hub.close();
    await a.ended;
    await b.ended;
    expect(hub.size).toBe(0);
  });

  it('drops a stream whose reader falls too far behind', () => {
    const hub = new SseHub({ heartbeatMs: 60_000, maxBufferedBytes: 100 });
    const written: string[] = [];
    const res = Object.assign(new EventEmitter(), {
      destroyed: false,
      writableEnded: false,
      writableLength: 0,
      writeHead: () => res,
      write: (text: string) => written.push(text),
      destroy: () => {
        res.destroyed = true;
      },
      end: () => {},
    });
    hub.add(res as unknown as ServerResponse, undefined);
    hub.send('a', undefined, 1);
    res.writableLength = 101;
    hub.send('b', undefined, 2);
    expect(res.destroyed).toBe(true);
    expect(hub.size).toBe(0);
    expect(written).toEqual([': connected\n\n', 'event: a\ndata: 1\n\n']);
    hub.close();
  });
});
