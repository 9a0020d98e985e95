import dgram from 'node:dgram';
import net from 'node:net';

/** Loopback hosts the test helpers bind to by default. */
export const LOOPBACK_V4 = '127.0.0.1';
export const LOOPBACK_V6 = '::1';

const MAX_ATTEMPTS = 50;

function udpType(host: string): 'udp4' | 'udp6' {
  return net.isIPv6(host) ? 'udp6' : 'udp4';
}

function bindUdp(host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: udpType(host), reuseAddr: false });
    const onError = (err: Error) => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

function closeUdp(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

function listenTcp(host: string, port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function closeTcp(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * A UDP port that was free on `host` a moment ago (the OS picked it). There is always a small race
 * until the caller binds it; tests that can bind port 0 themselves should do that instead.
 */
export async function freeUdpPort(host: string = LOOPBACK_V4): Promise<number> {
  const socket = await bindUdp(host, 0);
  const { port } = socket.address();
  await closeUdp(socket);
  return port;
}

/** `n` distinct free UDP ports on `host` (all held open until every one is found). */
export async function freeUdpPorts(n: number, host: string = LOOPBACK_V4): Promise<number[]> {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer: ${n}`);
  const sockets: dgram.Socket[] = [];
  try {
    for (let i = 0; i < n; i++) sockets.push(await bindUdp(host, 0));
    return sockets.map((s) => s.address().port);
  } finally {
    await Promise.all(sockets.map(closeUdp));
  }
}

/** A TCP port that was free on `host` a moment ago. */
export async function freeTcpPort(host: string = LOOPBACK_V4): Promise<number> {
  const server = await listenTcp(host, 0);
  const address = server.address();
  await closeTcp(server);
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

export interface PortPairOptions {
  /** Interface to check; default 127.0.0.1. */
  host?: string;
  /**
   * Also require TCP `P` and `P + 1` to be free. libcoap's `coap-server-*` listens on TCP and TLS
   * too (same numbers) and logs `cannot create ... endpoint` when they are taken.
   */
  tcp?: boolean;
}

/**
 * A port `P` with `P` and `P + 1` both free (UDP, and TCP when asked): libcoap's `coap-server-* -p P`
 * serves CoAP on `P` and DTLS on `P + 1`.
 */
export async function freeUdpPortPair(options: PortPairOptions = {}): Promise<number> {
  const host = options.host ?? LOOPBACK_V4;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const held: Array<() => Promise<void>> = [];
    try {
      const first = await bindUdp(host, 0);
      held.push(() => closeUdp(first));
      const port = first.address().port;
      if (port >= 65535) continue;
      const second = await bindUdp(host, port + 1).catch(() => undefined);
      if (second === undefined) continue;
      held.push(() => closeUdp(second));
      if (options.tcp) {
        const t1 = await listenTcp(host, port).catch(() => undefined);
        if (t1 === undefined) continue;
        held.push(() => closeTcp(t1));
        const t2 = await listenTcp(host, port + 1).catch(() => undefined);
        if (t2 === undefined) continue;
        held.push(() => closeTcp(t2));
      }
      return port;
    } finally {
      await Promise.all(held.map((close) => close()));
    }
  }
  throw new Error(`no free port pair on ${host} after ${MAX_ATTEMPTS} attempts`);
}
