import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { CoapEndpoint } from '@lwm2m-ts/coap';
import coap from 'coap';

/**
 * Request/response drivers on loopback, closed loop with `inFlight` requests at a time: our
 * CoAP endpoint alone, plain node-coap (Agent → Server) and raw `node:dgram` echo (the floor).
 * reads.ts runs them next to `LwM2mServer.read()`, alternating, in the same run.
 */
const HOST = '127.0.0.1';
const PAYLOAD = new Uint8Array(Buffer.from('Open Mobile Alliance'));

/** One round: ms per operation, and every operation's latency (ms). */
export interface RoundResult {
  readonly perOpMs: number;
  readonly latencies: Float64Array;
}

export type Driver = {
  name: string;
  oneRound(n: number, inFlight: number): Promise<RoundResult>;
  close(): Promise<void>;
};

/** `n` operations with `inFlight` outstanding at any time (a closed loop), each timed. */
export async function closedLoop(
  n: number,
  inFlight: number,
  send: () => Promise<unknown>,
): Promise<RoundResult> {
  let started = 0;
  const latencies = new Float64Array(n);
  const t0 = performance.now();
  const worker = async () => {
    while (started < n) {
      const k = started++;
      const t = performance.now();
      await send();
      latencies[k] = performance.now() - t;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { perOpMs: (performance.now() - t0) / n, latencies };
}

export async function ourEndpoint(): Promise<Driver> {
  const server = new CoapEndpoint({
    address: HOST,
    port: 0,
    handler: () => ({ code: '2.05', payload: PAYLOAD }),
  });
  const { port } = await server.listen();
  const client = new CoapEndpoint({ address: HOST, port: 0 });
  await client.listen();
  const peer = { address: HOST, port };
  return {
    name: '@lwm2m-ts/coap CoapEndpoint',
    oneRound: (n, k) =>
      closedLoop(n, k, () => client.request(peer, { method: 'GET', path: ['3', '0', '0'] })),
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}

export async function plainNodeCoap(): Promise<Driver> {
  const serverSocket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => serverSocket.bind(0, HOST, () => resolve()));
  const port = (serverSocket.address() as AddressInfo).port;
  const server = coap.createServer((_req, res) => res.end(Buffer.from(PAYLOAD)));
  server.listen(serverSocket);
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, HOST, () => resolve()));
  const agent = new coap.Agent({ socket });
  const get = () =>
    new Promise<void>((resolve, reject) => {
      const req = coap.request({ hostname: HOST, port, pathname: '/3/0/0', agent });
      req.on('response', (res) => {
        res.resume();
        resolve();
      });
      req.on('error', reject);
      req.end();
    });
  return {
    name: 'plain node-coap Agent → Server',
    oneRound: (n, k) => closedLoop(n, k, get),
    close: async () => {
      agent.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      socket.close();
      serverSocket.close();
    },
  };
}

export async function rawEcho(): Promise<Driver> {
  const server = dgram.createSocket('udp4');
  server.on('message', (msg, rinfo) => server.send(msg, rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => server.bind(0, HOST, () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const client = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => client.bind(0, HOST, () => resolve()));
  // Each datagram carries a 4-byte id; replies resolve their waiter.
  const waiters = new Map<number, () => void>();
  let next = 0;
  client.on('message', (msg) => {
    const id = msg.readUInt32BE(0);
    waiters.get(id)?.();
    waiters.delete(id);
  });
  const echo = () =>
    new Promise<void>((resolve) => {
      const id = next++ >>> 0;
      const buf = Buffer.alloc(4 + PAYLOAD.length);
      buf.writeUInt32BE(id, 0);
      waiters.set(id, resolve);
      client.send(buf, port, HOST);
    });
  return {
    name: 'raw node:dgram echo',
    oneRound: (n, k) => closedLoop(n, k, echo),
    close: async () => {
      client.close();
      server.close();
    },
  };
}
