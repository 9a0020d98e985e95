import dgram from 'node:dgram';
import net from 'node:net';
import { createRng, deriveSeed } from './prng.js';

export type ProxyDirection = 'upstream' | 'downstream';

/** A value per direction: upstream is client → target, downstream is target → client. */
export type PerDirection<T> = T | { upstream?: T; downstream?: T };

export interface ProxyDatagram {
  direction: ProxyDirection;
  data: Uint8Array;
  /** 0-based count of datagrams seen in this direction before this one. */
  index: number;
  /** The client this datagram comes from or goes to. */
  client: { address: string; port: number };
}

export interface LossyProxyOptions {
  /** Where datagrams are forwarded to (loopback). */
  target: { address: string; port: number };
  /** Where clients send; default the loopback address of `type`, a free port. */
  listen?: { address?: string; port?: number };
  /** Chance (0..1) of dropping each datagram; one number for both directions or per direction. */
  dropRate?: PerDirection<number>;
  /** PRNG seed (default 1): the same seed drops the same positions in each direction. */
  seed?: number;
  /** Socket family; default from `target.address`. */
  type?: 'udp4' | 'udp6';
  /**
   * Drop the first N datagrams: a number counts both directions together in arrival order (so
   * `dropFirst: 1` loses the first request), or give N per direction.
   */
  dropFirst?: PerDirection<number>;
  /** Delay every forwarded datagram by this many milliseconds. */
  delayMs?: number;
  /** Add a seeded random 0..jitterMs to each delay (may reorder datagrams). */
  jitterMs?: number;
  /**
   * Decide per datagram before the random draw: `'drop'`, `'forward'`, or `undefined` to fall back
   * to `dropFirst` and `dropRate`.
   */
  decide?: (datagram: ProxyDatagram) => 'drop' | 'forward' | undefined;
}

export interface DirectionStats {
  forwarded: number;
  dropped: number;
}

export interface LossyProxyStats {
  upstream: DirectionStats;
  downstream: DirectionStats;
  /** Sums over both directions. */
  forwarded: number;
  dropped: number;
  /** Distinct client addresses seen (one upstream socket each). */
  clients: number;
}

export interface LossyUdpProxy {
  /** Where clients send datagrams. */
  readonly address: { address: string; port: number };
  /** A snapshot of the counters. */
  readonly stats: LossyProxyStats;
  /** Changes the drop rate from now on (e.g. 1 to cut the link, 0 to restore it). */
  setDropRate(rate: PerDirection<number>): void;
  /** Closes every socket and cancels delayed datagrams. */
  close(): Promise<void>;
}

function perDirection<T>(
  value: PerDirection<T> | undefined,
  fallback: T,
): Record<ProxyDirection, T> {
  if (value === undefined) return { upstream: fallback, downstream: fallback };
  if (typeof value === 'object' && value !== null) {
    const v = value as { upstream?: T; downstream?: T };
    return { upstream: v.upstream ?? fallback, downstream: v.downstream ?? fallback };
  }
  return { upstream: value as T, downstream: value as T };
}

function checkRate(rate: Record<ProxyDirection, number>): Record<ProxyDirection, number> {
  for (const r of Object.values(rate)) {
    if (!(r >= 0 && r <= 1)) throw new RangeError(`dropRate must be within 0..1, got ${r}`);
  }
  return rate;
}

function bind(socket: dgram.Socket, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

/**
 * A loopback UDP proxy that loses (and optionally delays) datagrams deterministically. Each client
 * address gets its own upstream socket, so the target sees one peer per client and replies find
 * their way back.
 */
export async function startLossyUdpProxy(options: LossyProxyOptions): Promise<LossyUdpProxy> {
  const { target } = options;
  const type = options.type ?? (net.isIPv6(target.address) ? 'udp6' : 'udp4');
  const loopback = type === 'udp6' ? '::1' : '127.0.0.1';
  let rate = checkRate(perDirection(options.dropRate, 0));
  const seed = options.seed ?? 1;
  const rng = {
    upstream: createRng(deriveSeed(seed, 0)),
    downstream: createRng(deriveSeed(seed, 1)),
  };
  const jitterRng = createRng(deriveSeed(seed, 2));
  const firstTotal = typeof options.dropFirst === 'number' ? options.dropFirst : 0;
  const firstPer =
    typeof options.dropFirst === 'object'
      ? perDirection(options.dropFirst, 0)
      : { upstream: 0, downstream: 0 };
  const delayMs = options.delayMs ?? 0;
  const jitterMs = options.jitterMs ?? 0;

  const stats = {
    upstream: { forwarded: 0, dropped: 0 },
    downstream: { forwarded: 0, dropped: 0 },
  };
  const seen = { upstream: 0, downstream: 0 };
  let seenTotal = 0;
  const timers = new Set<NodeJS.Timeout>();
  const upstreams = new Map<string, dgram.Socket>();
  let closed = false;

  const listener = dgram.createSocket(type);
  listener.on('error', () => {
    // e.g. ICMP port unreachable reported late; a lossy link does not care.
  });
  await bind(listener, options.listen?.address ?? loopback, options.listen?.port ?? 0);

  const shouldDrop = (datagram: ProxyDatagram): boolean => {
    const { direction } = datagram;
    const draw = rng[direction].next(); // always drawn: decisions depend on position only
    const decided = options.decide?.(datagram);
    if (decided !== undefined) return decided === 'drop';
    if (seenTotal <= firstTotal) return true;
    if (datagram.index < firstPer[direction]) return true;
    return draw < rate[direction];
  };

  const pass = (
    direction: ProxyDirection,
    data: Buffer,
    client: { address: string; port: number },
    send: () => void,
  ) => {
    if (closed) return;
    const index = seen[direction]++;
    seenTotal++;
    const jitter = jitterMs > 0 ? jitterRng.next() * jitterMs : 0;
    if (shouldDrop({ direction, data: new Uint8Array(data), index, client })) {
      stats[direction].dropped++;
      return;
    }
    stats[direction].forwarded++;
    const wait = delayMs + jitter;
    if (wait <= 0) {
      send();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) send();
    }, wait);
    timers.add(timer);
  };

  const upstreamFor = (client: { address: string; port: number }): dgram.Socket => {
    const key = `${client.address}|${client.port}`;
    let socket = upstreams.get(key);
    if (socket === undefined) {
      const s = dgram.createSocket(type);
      socket = s;
      upstreams.set(key, s);
      s.on('error', () => {
        // ECONNREFUSED and the like when the target is down: the datagram is simply lost.
      });
      s.on('message', (msg) => {
        pass('downstream', msg, client, () => {
          listener.send(msg, client.port, client.address, () => {});
        });
      });
      // Sends issued before the bind completes are queued by node:dgram.
      s.bind({ address: loopback, port: 0, exclusive: true });
    }
    return socket;
  };

  listener.on('message', (msg, rinfo) => {
    if (closed) return;
    const client = { address: rinfo.address, port: rinfo.port };
    const socket = upstreamFor(client);
    pass('upstream', msg, client, () => {
      socket.send(msg, target.port, target.address, () => {});
    });
  });

  const address = listener.address();
  return {
    address: { address: address.address, port: address.port },
    get stats(): LossyProxyStats {
      return {
        upstream: { ...stats.upstream },
        downstream: { ...stats.downstream },
        forwarded: stats.upstream.forwarded + stats.downstream.forwarded,
        dropped: stats.upstream.dropped + stats.downstream.dropped,
        clients: upstreams.size,
      };
    },
    setDropRate(next) {
      rate = checkRate(perDirection(next, 0));
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const sockets = [listener, ...upstreams.values()];
      upstreams.clear();
      await Promise.all(
        sockets.map(
          (s) =>
            new Promise<void>((resolve) => {
              try {
                s.close(() => resolve());
              } catch {
                resolve(); // not bound yet or already closed
              }
            }),
        ),
      );
    },
  };
}
