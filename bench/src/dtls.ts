import type { AddressInfo } from 'node:net';
import { CoapEndpoint, type Peer } from '@lwm2m-ts/coap';
import { DtlsClientSocket, DtlsServerSocket } from '@lwm2m-ts/dtls';
import { type Comparison, compare, type Row, rateRow } from './harness.js';

/**
 * DTLS PSK: full handshakes per second, and CoAP GET round trips over an established session
 * next to the same round trips over plain UDP. Both lanes run the same CoAP stack on both ends
 * (`CoapEndpoint` as client and as server); only the sockets differ: `node:dgram` in one lane,
 * DtlsClientSocket → DtlsServerSocket (TLS_PSK_WITH_AES_128_CCM_8) in the other. All on
 * loopback in one process, alternating lanes (harness `compare`), in the same run.
 */
const HOST = '127.0.0.1';
const IDENTITY = 'bench-device';
const KEY = Buffer.from('0123456789abcdef');
const PAYLOAD = new Uint8Array(Buffer.from('Open Mobile Alliance'));
const GET = { method: 'GET', path: ['3', '0', '0'] } as const;

/** A client endpoint and the peer it asks. */
interface Lane {
  readonly client: CoapEndpoint;
  readonly peer: Peer;
}

/** `n` GETs with `inFlight` outstanding at any time (a closed loop). */
async function closedLoop(lane: Lane, n: number, inFlight: number): Promise<void> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < n) {
      started++;
      await lane.client.request(lane.peer, GET);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

function dtlsClientSocket(port: number): DtlsClientSocket {
  return new DtlsClientSocket({
    type: 'udp4',
    address: HOST,
    port,
    psk: { identity: IDENTITY, key: KEY },
    cipherSuites: ['TLS_PSK_WITH_AES_128_CCM_8'],
  });
}

/** One full handshake on a fresh client socket, then its close (close_notify). */
function handshake(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = dtlsClientSocket(port);
    socket.once('error', reject);
    socket.connect(() => socket.close(() => resolve()));
  });
}

/**
 * Round trips at `inFlight` through both lanes, `n` per timed run; compare() times whole runs,
 * so the medians are divided by `n` to give the time of one round trip.
 */
async function roundTrips(dtls: Lane, udp: Lane, inFlight: number, n: number): Promise<Comparison> {
  const c = await compare({
    name: `CoAP GET round trip, ${inFlight} in flight, established session`,
    subject: ['over DTLS PSK (CCM_8)', () => closedLoop(dtls, n, inFlight)],
    reference: ['over plain UDP', () => closedLoop(udp, n, inFlight)],
    rounds: 9,
    warmup: 2,
  });
  return { ...c, subjectMs: c.subjectMs / n, referenceMs: c.referenceMs / n };
}

export async function dtlsBenchmarks(quick: boolean): Promise<Row[]> {
  const handler = () => ({ code: '2.05' as const, payload: PAYLOAD });
  const dtlsServerSocket = new DtlsServerSocket({
    type: 'udp4',
    psk: (identity) => (identity === IDENTITY ? KEY : undefined),
    cipherSuites: ['TLS_PSK_WITH_AES_128_CCM_8'],
    sessionCache: false,
  });
  await new Promise<void>((r) => dtlsServerSocket.bind(0, HOST, () => r()));
  const dtlsPort = (dtlsServerSocket.address() as AddressInfo).port;
  const dtlsServer = new CoapEndpoint({ socket: dtlsServerSocket, closeSocket: true, handler });
  await dtlsServer.listen();
  const udpServer = new CoapEndpoint({ address: HOST, port: 0, handler });
  const { port: udpPort } = await udpServer.listen();

  const dtlsClient = new CoapEndpoint({ socket: dtlsClientSocket(dtlsPort), closeSocket: true });
  await dtlsClient.listen();
  const udpClient = new CoapEndpoint({ address: HOST, port: 0 });
  await udpClient.listen();
  const dtls: Lane = { client: dtlsClient, peer: { address: HOST, port: dtlsPort } };
  const udp: Lane = { client: udpClient, peer: { address: HOST, port: udpPort } };

  const rows: Row[] = [];
  const section = '7. CoAP over DTLS (CoapEndpoint alone)';
  const goal = { text: '≥ 0.6× UDP', minRatio: 0.6 };
  try {
    // The first request carries the handshake: out of the timed part.
    await dtlsClient.request(dtls.peer, GET);
    const scale = quick ? 0.25 : 1;
    rows.push(rateRow(section, await roundTrips(dtls, udp, 1, 500 * scale), goal));
    rows.push(rateRow(section, await roundTrips(dtls, udp, 32, 2_000 * scale), goal));
    const n = quick ? 10 : 20;
    const hs = await compare({
      name: 'DTLS PSK full handshake (CCM_8, DtlsClientSocket → DtlsServerSocket)',
      subject: [
        'handshake + close',
        async () => {
          for (let i = 0; i < n; i++) await handshake(dtlsPort);
        },
      ],
      reference: ['CoAP GET over plain UDP', () => closedLoop(udp, n, 1)],
      rounds: quick ? 3 : 5,
      warmup: 1,
    });
    rows.push(
      rateRow(section, { ...hs, subjectMs: hs.subjectMs / n, referenceMs: hs.referenceMs / n }),
    );
  } finally {
    await dtlsClient.close();
    await udpClient.close();
    await dtlsServer.close();
    await udpServer.close();
  }
  return rows;
}
