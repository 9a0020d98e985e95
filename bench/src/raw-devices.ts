/**
 * Raw devices: one UDP socket per simulated device, each on its own loopback address of
 * 127.0.0.0/8 (from 127.1.1.1 on, so a device is one distinct peer for the server, as real
 * devices are), sending pre-encoded CoAP datagrams with no CoAP stack of its own. The load they
 * make costs microseconds per message, so what is measured is the server.
 *
 * A process may hold only so many sockets (`ulimit -n`), so devices are opened in chunks: a
 * device re-opens on the same address and port it used before, so its Updates come from where it
 * registered.
 */
import dgram from 'node:dgram';
import { ACK, parse, RST, type WireMessage } from './wire.js';

const PER_SECOND_OCTET = 254 * 254;

/** The loopback address of device `i`: 127.1.1.1, 127.1.1.2, … 127.1.1.254, 127.1.2.1, … */
export function deviceAddress(i: number): string {
  const a = 1 + Math.floor(i / PER_SECOND_OCTET);
  const r = i % PER_SECOND_OCTET;
  return `127.${a}.${1 + Math.floor(r / 254)}.${1 + (r % 254)}`;
}

export type DeviceHandler = (index: number, msg: WireMessage, raw: Buffer) => void;

/** Sockets for `count` devices (indices 0 … count − 1), opened and closed in ranges. */
export class DeviceSockets {
  readonly #sockets = new Map<number, dgram.Socket>();
  readonly #ports: Uint16Array;
  handler: DeviceHandler = () => {};

  constructor(readonly count: number) {
    this.#ports = new Uint16Array(count);
  }

  get open(): number {
    return this.#sockets.size;
  }

  port(i: number): number {
    return this.#ports[i]!;
  }

  /** Binds the sockets of devices [from, to), at most `parallel` binds at a time. */
  async openRange(from: number, to: number, parallel = 256): Promise<void> {
    let next = from;
    const worker = async () => {
      while (next < to) {
        const i = next++;
        if (!this.#sockets.has(i)) await this.#bind(i);
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, to - from) }, worker));
  }

  async #bind(i: number): Promise<void> {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (buf) => {
      const msg = parse(buf);
      if (msg !== undefined) this.handler(i, msg, buf);
    });
    socket.on('error', () => {}); // ICMP errors after the server is gone
    const address = deviceAddress(i);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.#ports[i] ?? 0, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.#ports[i] = socket.address().port;
    this.#sockets.set(i, socket);
  }

  send(i: number, buf: Buffer, port: number, address = '127.0.0.1'): void {
    this.#sockets.get(i)?.send(buf, port, address);
  }

  async closeRange(from: number, to: number): Promise<void> {
    const closing: Promise<void>[] = [];
    for (let i = from; i < to; i++) {
      const s = this.#sockets.get(i);
      if (s === undefined) continue;
      this.#sockets.delete(i);
      closing.push(new Promise((resolve) => s.close(() => resolve())));
    }
    await Promise.all(closing);
  }

  closeAll(): Promise<void> {
    return this.closeRange(0, this.count);
  }
}

export interface ExchangeResult {
  readonly ok: number;
  readonly failed: number;
  /** Retransmissions sent (no answer within the timeout). */
  readonly retransmissions: number;
  readonly elapsedMs: number;
  /** Latency of every answered exchange (ms), first send to answer. */
  readonly latencies: Float64Array;
  /** Answers by code (`2.01`: 9980, …). */
  readonly codes: Readonly<Record<string, number>>;
}

/**
 * One CON request per device in `indices` to the server at `port`, at most `window` waiting for
 * their answer (piggybacked ACK) at a time; a request unanswered within `timeoutMs` is sent
 * again (same message id, so the server's deduplication answers it), up to `retries` times.
 */
export async function exchangeAll(
  devices: DeviceSockets,
  opts: {
    readonly indices: ArrayLike<number>;
    readonly port: number;
    readonly window: number;
    readonly build: (i: number, messageId: number) => Buffer;
    readonly onAnswer?: (i: number, msg: WireMessage) => void;
    readonly timeoutMs?: number;
    readonly retries?: number;
    /** Most requests started per second (paced); default: as fast as the window allows. */
    readonly ratePerSecond?: number;
    /** No request starts after this time (performance.now()); those started are waited for. */
    readonly stopAt?: number;
  },
): Promise<ExchangeResult> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const retries = opts.retries ?? 4;
  const latencies = new Float64Array(opts.indices.length);
  const codes: Record<string, number> = {};
  interface Pending {
    readonly i: number;
    readonly buf: Buffer;
    readonly messageId: number;
    readonly startedAt: number;
    sentAt: number;
    tries: number;
  }
  const pending = new Map<number, Pending>();
  let next = 0;
  let ok = 0;
  let failed = 0;
  let retransmissions = 0;
  let messageId = Math.floor(Math.random() * 0x10000);
  const t0 = performance.now();
  const previous = devices.handler;

  return new Promise<ExchangeResult>((resolve) => {
    let paceTimer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearInterval(sweep);
      clearTimeout(paceTimer);
      devices.handler = previous;
      resolve({
        ok,
        failed,
        retransmissions,
        elapsedMs: performance.now() - t0,
        latencies: latencies.slice(0, ok),
        codes,
      });
    };
    let n = opts.indices.length;
    const fill = () => {
      const now = performance.now();
      if (opts.stopAt !== undefined && now >= opts.stopAt) n = next;
      const allowed =
        opts.ratePerSecond === undefined
          ? n
          : Math.min(n, Math.floor(((now - t0) * opts.ratePerSecond) / 1000) + 1);
      while (pending.size < opts.window && next < allowed) {
        const i = opts.indices[next++]!;
        messageId = (messageId + 1) & 0xffff;
        const buf = opts.build(i, messageId);
        pending.set(i, { i, buf, messageId, startedAt: now, sentAt: now, tries: 0 });
        devices.send(i, buf, opts.port);
      }
      if (next >= n && pending.size === 0) finish();
      else if (next < n && pending.size < opts.window && paceTimer === undefined) {
        paceTimer = setTimeout(() => {
          paceTimer = undefined;
          fill();
        }, 1);
      }
    };
    devices.handler = (i, msg, raw) => {
      const p = pending.get(i);
      if (
        p === undefined ||
        msg.messageId !== p.messageId ||
        (msg.type !== ACK && msg.type !== RST)
      ) {
        previous(i, msg, raw);
        return;
      }
      pending.delete(i);
      const c = `${msg.code >> 5}.${String(msg.code & 31).padStart(2, '0')}`;
      codes[c] = (codes[c] ?? 0) + 1;
      if (msg.type === ACK && msg.code >> 5 === 2) {
        latencies[ok++] = performance.now() - p.startedAt;
        opts.onAnswer?.(i, msg);
      } else failed++;
      fill();
    };
    const sweep = setInterval(() => {
      const now = performance.now();
      for (const p of pending.values()) {
        if (now - p.sentAt < timeoutMs * 2 ** p.tries) continue;
        if (p.tries >= retries) {
          pending.delete(p.i);
          failed++;
          continue;
        }
        p.tries++;
        p.sentAt = now;
        retransmissions++;
        devices.send(p.i, p.buf, opts.port);
      }
      fill();
    }, 50);
    fill();
  });
}
