import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { CoapEndpoint } from '@lwm2m-ts/coap';
import { DtlsServerSocket } from '@lwm2m-ts/dtls';
import { dtls } from 'node-dtls-client';
import { type Comparison, median } from './harness.js';

/**
 * DTLS PSK: full handshakes per second, and CoAP GET round trips over an established session
 * next to the same round trips over plain UDP (same endpoint code, same raw CoAP client), all
 * on loopback in one process, measured in the same run.
 */
const HOST = '127.0.0.1';
const IDENTITY = 'bench-device';
const KEY = Buffer.from('0123456789abcdef');
const PAYLOAD = new Uint8Array(Buffer.from('Open Mobile Alliance'));

/** A CON GET /3/0/0 with a 4-byte token: header, token, Uri-Path options (RFC 7252 §3). */
function coapGet(mid: number, token: number): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt8(0x44, 0); // ver 1, CON, TKL 4
  head.writeUInt8(0x01, 1); // GET
  head.writeUInt16BE(mid & 0xffff, 2);
  head.writeUInt32BE(token >>> 0, 4);
  return Buffer.concat([head, Buffer.from([0xb1, 0x33, 0x01, 0x30, 0x01, 0x30])]);
}

interface RawClient {
  send(buf: Buffer): void;
  onMessage(cb: (msg: Buffer) => void): void;
  close(): Promise<void>;
}

/** Sequential GETs (1 in flight) through `client`; ms per round trip. */
async function roundTrips(client: RawClient, n: number): Promise<number> {
  let waiting: ((token: number) => void) | undefined;
  client.onMessage((msg) => waiting?.(msg.readUInt32BE(4)));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve) => {
      waiting = (token) => {
        if (token === i) resolve();
      };
      client.send(coapGet(i, i));
    });
  }
  return (performance.now() - t0) / n;
}

function dtlsClient(port: number): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = dtls.createSocket({
      type: 'udp4',
      address: HOST,
      port,
      psk: { [IDENTITY]: KEY.toString('latin1') },
      timeout: 5000,
    });
    socket.once('error', reject);
    socket.once('connected', () =>
      resolve({
        send: (buf) => socket.send(buf),
        onMessage: (cb) => {
          socket.removeAllListeners('message');
          socket.on('message', cb);
        },
        close: () => new Promise<void>((r) => socket.close(() => r())),
      }),
    );
  });
}

async function udpClient(port: number): Promise<RawClient> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, HOST, () => r()));
  return {
    send: (buf) => socket.send(buf, port, HOST),
    onMessage: (cb) => {
      socket.removeAllListeners('message');
      socket.on('message', cb);
    },
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}

export async function dtlsBenchmarks(): Promise<Comparison[]> {
  const dtlsSocket = new DtlsServerSocket({
    type: 'udp4',
    psk: (identity) => (identity === IDENTITY ? KEY : undefined),
    sessionCache: false,
  });
  await new Promise<void>((r) => dtlsSocket.bind(0, HOST, () => r()));
  const dtlsPort = (dtlsSocket.address() as AddressInfo).port;
  const handler = () => ({ code: '2.05' as const, payload: PAYLOAD });
  const overDtls = new CoapEndpoint({ socket: dtlsSocket, handler });
  await overDtls.listen();
  const overUdp = new CoapEndpoint({ address: HOST, port: 0, handler });
  const { port: udpPort } = await overUdp.listen();

  const rows: Comparison[] = [];
  try {
    // Full handshakes, one after another, each from a fresh client socket.
    const handshakeMs: number[] = [];
    const udpRefMs: number[] = [];
    const udp = await udpClient(udpPort);
    for (let round = 0; round < 6; round++) {
      const n = 20;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await (await dtlsClient(dtlsPort)).close();
      const dt = (performance.now() - t0) / n;
      const ref = await roundTrips(udp, 200);
      if (round > 0) {
        handshakeMs.push(dt);
        udpRefMs.push(ref);
      }
    }
    rows.push({
      name: 'DTLS PSK full handshake (CCM_8, node-dtls-client → DtlsServerSocket)',
      subject: 'handshake',
      reference: 'CoAP GET over plain UDP',
      subjectMs: median(handshakeMs),
      referenceMs: median(udpRefMs),
      ratio: median(handshakeMs) / median(udpRefMs),
    });

    const client = await dtlsClient(dtlsPort);
    const overDtlsMs: number[] = [];
    const overUdpMs: number[] = [];
    for (let round = 0; round < 8; round++) {
      const a = await roundTrips(client, 500);
      const b = await roundTrips(udp, 500);
      if (round > 0) {
        overDtlsMs.push(a);
        overUdpMs.push(b);
      }
    }
    await client.close();
    await udp.close();
    const s = median(overDtlsMs);
    const r = median(overUdpMs);
    rows.push({
      name: 'CoAP GET round trip, 1 in flight, established session',
      subject: 'over DTLS PSK',
      reference: 'over plain UDP',
      subjectMs: s,
      referenceMs: r,
      ratio: s / r,
      goal: '≥ 0.6× UDP throughput (time ratio ≤ 1.67×)',
    });
  } finally {
    await overDtls.close();
    await overUdp.close();
    await new Promise<void>((r) => dtlsSocket.close(() => r()));
  }
  return rows;
}
