/** Test helpers (not built): endpoints closed after each test, and a raw UDP peer. */
import dgram from 'node:dgram';
import { afterEach } from 'vitest';
import { CoapEndpoint, type EndpointOptions } from './index.js';
import { isParseFailure, type ParsedMessage, parseMessage } from './wire.js';

const open: { close(): Promise<void> }[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
});

/** A listening endpoint on loopback (closed after the test). */
export async function endpoint(options: EndpointOptions = {}): Promise<CoapEndpoint> {
  const ep = new CoapEndpoint({
    address: options.type === 'udp6' ? '::1' : '127.0.0.1',
    ...options,
  });
  open.push(ep);
  await ep.listen();
  return ep;
}

export function peerOf(ep: CoapEndpoint): { address: string; port: number } {
  const a = ep.address();
  return { address: a.address, port: a.port };
}

export interface Received {
  readonly msg: ParsedMessage;
  readonly raw: Buffer;
  readonly rinfo: dgram.RemoteInfo;
}

/** A plain UDP socket that speaks raw CoAP datagrams. */
export class RawPeer {
  readonly received: Received[] = [];
  private waiters: { filter: (r: Received) => boolean; resolve: (r: Received) => void }[] = [];
  onMessage: ((r: Received) => void) | undefined;

  private constructor(readonly socket: dgram.Socket) {
    socket.on('message', (raw, rinfo) => {
      const msg = parseMessage(raw);
      if (isParseFailure(msg)) return;
      const r = { msg, raw, rinfo };
      this.received.push(r);
      this.onMessage?.(r);
      const k = this.waiters.findIndex((w) => w.filter(r));
      if (k >= 0) this.waiters.splice(k, 1)[0]!.resolve(r);
    });
  }

  static async create(type: 'udp4' | 'udp6' = 'udp4'): Promise<RawPeer> {
    const socket = dgram.createSocket(type);
    await new Promise<void>((resolve) =>
      socket.bind(0, type === 'udp6' ? '::1' : '127.0.0.1', resolve),
    );
    const peer = new RawPeer(socket);
    open.push(peer);
    return peer;
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(buf: Buffer, to: { address: string; port: number }): void {
    this.socket.send(buf, to.port, to.address);
  }

  /** The next datagram (already received or still to come) matching `filter`. */
  next(
    filter: (r: Received) => boolean = () => true,
    timeoutMs = 2000,
    from = 0,
  ): Promise<Received> {
    const have = this.received.slice(from).find(filter);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const w = {
        filter,
        resolve: (r: Received) => {
          clearTimeout(t);
          resolve(r);
        },
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error('raw peer: no matching datagram in time'));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const text = (u: Uint8Array) => Buffer.from(u).toString('utf8');
