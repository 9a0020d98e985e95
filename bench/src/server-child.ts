/**
 * A child process running only an `LwM2mServer` on loopback, driven over IPC by the benchmarks
 * (server-process.ts), so the server's heap, RSS and CPU are its own: nothing of the load
 * generator or the other benchmarks is in this process. Started with `--expose-gc`.
 *
 * With `redis` set, the server's stores are Redis ones opened by the server's own
 * `openRedisStores` and wired as `lwm2m-server --store redis://…` wires them (cluster mode, see
 * `redisServerOptions` in server-process.ts).
 */
import dgram from 'node:dgram';
import { writeHeapSnapshot } from 'node:v8';
import { LwM2mServer, openRedisStores } from '@lwm2m-ts/server';
import { redisServerOptions } from './server-process.js';

export interface ChildConfig {
  /**
   * Instead of the server, a raw `node:dgram` socket that answers every CON with an ACK 2.01
   * of the same message id: the reference the raw generators are measured against.
   */
  readonly echo?: boolean;
  readonly udp: boolean;
  readonly dtls: boolean;
  /** SO_RCVBUF of the server's UDP socket (bytes), when set. */
  readonly recvBufferSize?: number;
  /** Default time limit of the server's own requests (observe setup), ms. */
  readonly requestTimeout?: number;
  /** The server on Redis stores (as `lwm2m-server --store <url> --store-prefix <prefix>`). */
  readonly redis?: {
    readonly url: string;
    /** Key prefix (the server's default `lwm2m:` when not given). */
    readonly prefix?: string;
  };
}

export type Command =
  | { readonly cmd: 'mem' }
  | { readonly cmd: 'stats' }
  | { readonly cmd: 'reset' }
  | { readonly cmd: 'jsonBytes' }
  | { readonly cmd: 'heapSnapshot'; readonly file: string }
  | { readonly cmd: 'psk'; readonly endpoints: readonly string[]; readonly keyHex: string }
  | {
      readonly cmd: 'observe';
      readonly endpoints: readonly string[];
      readonly path: string;
      readonly concurrency: number;
    }
  | { readonly cmd: 'close' };

export interface MemorySample {
  readonly heapUsed: number;
  readonly rss: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly registrations: number;
}

export interface ChildStats {
  readonly registrations: number;
  readonly registered: number;
  readonly updated: number;
  readonly notifications: number;
  /** performance.now() of the first and last notification event since the last reset. */
  readonly firstNotificationAt: number | undefined;
  readonly lastNotificationAt: number | undefined;
  readonly coapErrors: number;
  readonly coapErrorSample: string | undefined;
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
const gc = (globalThis as { gc?: () => void }).gc;

const stores =
  config.redis === undefined || config.echo
    ? undefined
    : await openRedisStores({
        url: config.redis.url,
        ...(config.redis.prefix !== undefined && { keyPrefix: config.redis.prefix }),
      });
const server = config.echo
  ? undefined
  : new LwM2mServer({
      ...(stores !== undefined && redisServerOptions(stores)),
      coap: config.udp
        ? {
            address: '127.0.0.1',
            port: 0,
            ...(config.recvBufferSize !== undefined && { recvBufferSize: config.recvBufferSize }),
          }
        : false,
      dtls: config.dtls ? { address: '127.0.0.1', port: 0 } : false,
      ...(config.requestTimeout !== undefined && { requestTimeout: config.requestTimeout }),
    });

let counts = {
  registered: 0,
  updated: 0,
  notifications: 0,
  first: undefined as number | undefined,
  last: undefined as number | undefined,
  coapErrors: 0,
  sample: undefined as string | undefined,
};
const notified = (): void => {
  const now = performance.now();
  counts.first ??= now;
  counts.last = now;
  counts.notifications++;
};
server?.on('registered', () => counts.registered++);
server?.on('updated', () => counts.updated++);
server?.on('notification', notified);
server?.on('coapError', (e) => {
  counts.coapErrors++;
  counts.sample ??= `${e.code} ${e.message}`;
});

/** The echo reference: CON → ACK 2.01 (same message id and token); NON is counted as a notification. */
async function startEcho(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (buf, rinfo) => {
    if (buf.length < 4) return;
    const type = (buf[0]! >> 4) & 3;
    if (type === 1) {
      notified();
      return;
    }
    if (type !== 0) return;
    counts.registered++;
    const tkl = buf[0]! & 15;
    const ack = Buffer.from(buf.subarray(0, 4 + tkl));
    ack[0] = (ack[0]! & 0xcf) | 0x20;
    ack[1] = 0x41;
    socket.send(ack, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  if (config.recvBufferSize !== undefined) socket.setRecvBufferSize(config.recvBufferSize);
  return socket;
}

const registrations = (): number => server?.stats().registrations ?? counts.registered;

function collect(): void {
  if (gc === undefined) return;
  // Twice: the first full GC can leave weak/finalizable garbage for the second.
  gc();
  gc();
}

async function run(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'mem': {
      collect();
      const m = process.memoryUsage();
      return {
        heapUsed: m.heapUsed,
        rss: m.rss,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
        registrations: registrations(),
      } satisfies MemorySample;
    }
    case 'stats': {
      const cpu = process.cpuUsage();
      return {
        registrations: registrations(),
        registered: counts.registered,
        updated: counts.updated,
        notifications: counts.notifications,
        firstNotificationAt: counts.first,
        lastNotificationAt: counts.last,
        coapErrors: counts.coapErrors,
        coapErrorSample: counts.sample,
        cpuUserMs: cpu.user / 1000,
        cpuSystemMs: cpu.system / 1000,
      } satisfies ChildStats;
    }
    case 'heapSnapshot':
      collect();
      return writeHeapSnapshot(c.file);
    case 'jsonBytes': {
      // Mean size of a sample of the registrations as JSON: the data the server must remember.
      const list = (await server?.listRegistrations()) ?? [];
      const sample = list.slice(0, 1000);
      if (sample.length === 0) return 0;
      return (
        sample.reduce((sum, r) => sum + Buffer.byteLength(JSON.stringify(r)), 0) / sample.length
      );
    }
    case 'reset':
      counts = { ...counts, registered: 0, updated: 0, notifications: 0, first: undefined };
      counts.last = undefined;
      return null;
    case 'psk': {
      const key = Buffer.from(c.keyHex, 'hex');
      for (const endpoint of c.endpoints) {
        await server?.security.put({ endpoint, mode: 'psk', identity: endpoint, key });
      }
      return c.endpoints.length;
    }
    case 'observe': {
      let next = 0;
      let ok = 0;
      let failed = 0;
      let why: string | undefined;
      const worker = async () => {
        while (next < c.endpoints.length) {
          const ep = c.endpoints[next++]!;
          try {
            const r = await server!.observe(ep, c.path);
            if (r.ok) ok++;
            else {
              failed++;
              why ??= r.code;
            }
          } catch (err) {
            failed++;
            why ??= err instanceof Error ? err.message : String(err);
          }
        }
      };
      await Promise.all(Array.from({ length: c.concurrency }, worker));
      return { ok, failed, why };
    }
    case 'close':
      await server?.close();
      await stores?.close();
      echo?.close();
      setImmediate(() => process.exit(0));
      return null;
  }
}

process.on('message', (m: { id: number; command: Command }) => {
  run(m.command).then(
    (result) => process.send?.({ id: m.id, ok: true, result }),
    (err: unknown) =>
      process.send?.({
        id: m.id,
        ok: false,
        error: err instanceof Error ? err.message : String(err),
      }),
  );
});
// The parent went away: do not linger.
process.on('disconnect', () => process.exit(0));

const echo = config.echo ? await startEcho() : undefined;
await server?.start();
const a = server?.addresses() ?? { coap: echo?.address(), dtls: undefined };
process.send?.({ ready: true, udpPort: a.coap?.port, dtlsPort: a.dtls?.port, pid: process.pid });
