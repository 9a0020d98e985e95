/**
 * HTTP helpers for the e2e suite: JSON calls to the REST APIs of `lwm2m-server` and
 * `lwm2m-bootstrap`, and a reader of their server-sent event streams (`GET /api/events`).
 */
import http from 'node:http';

export interface Answer {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: answers are inspected field by field
  readonly body: any;
  readonly text: string;
}

export interface CallOptions {
  /** JSON body (an object) or raw bytes (sent as application/octet-stream). */
  readonly body?: unknown;
  readonly timeoutMs?: number;
}

/** One HTTP request; the answer's body parsed as JSON when it is JSON. Never throws for a status. */
export async function call(
  base: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  let body: string | Uint8Array | undefined;
  if (options.body instanceof Uint8Array) {
    headers['content-type'] = 'application/octet-stream';
    body = options.body;
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text };
}

/** `call`, then a check of the status, with the answer in the message when it differs. */
export async function expectStatus(
  status: number,
  ...args: Parameters<typeof call>
): Promise<Answer> {
  const res = await call(...args);
  if (res.status !== status) {
    throw new Error(
      `${args[1]} ${args[2]}: expected HTTP ${status}, got ${res.status}: ${res.text}`,
    );
  }
  return res;
}

export interface SseEvent {
  readonly event: string;
  // biome-ignore lint/suspicious/noExplicitAny: event data is inspected field by field
  readonly data: any;
}

export interface SseStream {
  /** Every event received so far, in order. */
  readonly events: readonly SseEvent[];
  /** Events named `name` so far. */
  named(name: string): SseEvent[];
  /**
   * Resolves with the first event received after index `from` (default: any) that is named
   * `name` and matches `match`; rejects after `timeoutMs` with what was received.
   */
  next(
    name: string,
    match?: (data: SseEvent['data']) => boolean,
    options?: { timeoutMs?: number; from?: number },
  ): Promise<SseEvent>;
  close(): void;
}

/** Opens `GET url` as an event stream; resolves once the server has answered the request. */
export function openSse(url: string): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET ${url}: HTTP ${res.statusCode}`));
        return;
      }
      const events: SseEvent[] = [];
      const waiters = new Set<() => void>();
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let i = buffer.indexOf('\n\n');
        while (i >= 0) {
          const block = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0) events.push({ event, data: JSON.parse(data.join('\n')) });
          i = buffer.indexOf('\n\n');
        }
        for (const w of [...waiters]) w();
      });
      res.on('error', () => {});
      const summary = () =>
        events
          .slice(-15)
          .map((e) => `${e.event} ${JSON.stringify(e.data).slice(0, 200)}`)
          .join('\n');
      resolve({
        events,
        named: (name) => events.filter((e) => e.event === name),
        next: (name, match = () => true, options = {}) =>
          new Promise<SseEvent>((ok, fail) => {
            const from = options.from ?? 0;
            const timeoutMs = options.timeoutMs ?? 15_000;
            const find = () =>
              events.slice(from).find((e) => e.event === name && match(e.data)) ?? undefined;
            const found = find();
            if (found !== undefined) {
              ok(found);
              return;
            }
            const waiter = () => {
              const f = find();
              if (f === undefined) return;
              clearTimeout(timer);
              waiters.delete(waiter);
              ok(f);
            };
            const timer = setTimeout(() => {
              waiters.delete(waiter);
              fail(
                new Error(
                  `no matching "${name}" event from ${url} within ${timeoutMs} ms; last events:\n${summary()}`,
                ),
              );
            }, timeoutMs);
            waiters.add(waiter);
          }),
        close: () => {
          req.destroy();
          res.destroy();
        },
      });
    });
    req.on('error', reject);
  });
}
