/** Helpers for the REST tests: JSON requests and an SSE reader over real HTTP. */
import http from 'node:http';

export interface JsonAnswer {
  readonly status: number;
  readonly headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test answers are inspected field by field
  readonly body: any;
  readonly text: string;
}

export async function call(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; text?: string; headers?: Record<string, string> } = {},
): Promise<JsonAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.text !== undefined) {
    headers['content-type'] ??= 'text/plain';
    body = options.text;
  } else if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

export interface SseEvent {
  readonly event: string;
  // biome-ignore lint/suspicious/noExplicitAny: event data is inspected field by field
  readonly data: any;
}

export interface SseStream {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly events: SseEvent[];
  /** Everything received, comments included. */
  raw(): string;
  /** Resolves with the first event (already received or coming) that matches. */
  next(match: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  /** Resolves when the raw text matches (for comments such as heartbeats). */
  waitForRaw(match: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

/** Opens `GET url` as an event stream on a real connection. */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      let raw = '';
      let buffer = '';
      const events: SseEvent[] = [];
      const waiters = new Set<() => void>();
      let endResolve: () => void = () => {};
      const ended = new Promise<void>((r) => {
        endResolve = r;
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
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
        for (const w of waiters) w();
      });
      res.on('end', () => endResolve());
      res.on('close', () => endResolve());
      res.on('error', () => endResolve());
      const waitFor = <T>(check: () => T | undefined, timeoutMs: number, what: string) =>
        new Promise<T>((ok, fail) => {
          const found = check();
          if (found !== undefined) {
            ok(found);
            return;
          }
          const timer = setTimeout(() => {
            waiters.delete(waiter);
            fail(new Error(`no ${what} within ${timeoutMs} ms; got: ${raw}`));
          }, timeoutMs);
          const waiter = () => {
            const f = check();
            if (f === undefined) return;
            clearTimeout(timer);
            waiters.delete(waiter);
            ok(f);
          };
          waiters.add(waiter);
        });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        raw: () => raw,
        next: (match, timeoutMs = 5000) =>
          waitFor(() => events.find(match), timeoutMs, 'matching event'),
        waitForRaw: (match, timeoutMs = 5000) =>
          waitFor(() => (match.test(raw) ? true : undefined), timeoutMs, `${match}`).then(() => {}),
        ended,
        close: () => {
          req.destroy();
          res.destroy();
        },
      });
    });
    req.on('error', reject);
  });
}
