/**
 * 1. Reads: `LwM2mServer.read(ep, '/3/0/0')` to registered clients, 1 and 64 in flight, over
 * UDP and DTLS, next to plain node-coap GETs between two sockets and raw `node:dgram` echo,
 * all in this one process, alternating driver by driver in every round (machine noise hits all
 * alike).
 *
 * Two kinds of device answer the reads:
 * - a raw device: a bare `CoapEndpoint` that registered itself with a hand-made Register and
 *   answers every GET with a payload encoded once (it does what node-coap's server does in the
 *   reference: answer from a constant), so the row measures our server's read path;
 * - an `LwM2mClient` (apps/client) whose object tree encodes the value per request: the whole
 *   library on both ends.
 */
import { LwM2mClient } from '@lwm2m-ts/client';
import { CoapEndpoint, type RequestHandler } from '@lwm2m-ts/coap';
import { encode } from '@lwm2m-ts/codecs';
import { ContentFormat, LwM2mPath, singleResource } from '@lwm2m-ts/core';
import { DtlsClientSocket } from '@lwm2m-ts/dtls';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { LwM2mServer } from '@lwm2m-ts/server';
import {
  closedLoop,
  type Driver,
  ourEndpoint,
  plainNodeCoap,
  type RoundResult,
  rawEcho,
} from './coap-roundtrip.js';
import { collectGarbage, median, percentile, type Row } from './harness.js';

const HOST = '127.0.0.1';
const KEY = Buffer.from('0123456789abcdef');
const SECTION = '1. Reads';
const registry = ObjectRegistry.withBuiltins();

/** A raw device's answer to GET /3/0/0, encoded once per format asked. */
function rawDeviceHandler(): RequestHandler {
  const path = LwM2mPath.of(3, 0, 0);
  const models = { get: (id: number) => registry.get(id) };
  const cache = new Map<number, Buffer>();
  return (req) => {
    if (req.method !== 'GET') return { code: '4.05' };
    const format = req.accept ?? ContentFormat.TEXT;
    let payload = cache.get(format);
    if (payload === undefined) {
      payload = Buffer.from(
        encode(format, singleResource(0, 'string', 'ACME Corporation'), { path, model: models }),
      );
      cache.set(format, payload);
    }
    return { code: '2.05', payload, contentFormat: format };
  };
}

/** A bare CoapEndpoint registered with the server (POST /rd), over UDP or DTLS. */
export async function rawDevice(
  server: LwM2mServer,
  endpointName: string,
  transport: 'udp' | 'dtls',
): Promise<CoapEndpoint> {
  const a = server.addresses();
  const port = transport === 'udp' ? a.coap!.port : a.dtls!.port;
  let device: CoapEndpoint;
  if (transport === 'dtls') {
    await server.security.put({
      endpoint: endpointName,
      mode: 'psk',
      identity: endpointName,
      key: KEY,
    });
    const socket = new DtlsClientSocket({
      type: 'udp4',
      address: HOST,
      port,
      psk: { identity: endpointName, key: KEY },
      cipherSuites: ['TLS_PSK_WITH_AES_128_CCM_8'],
    });
    device = new CoapEndpoint({ socket, closeSocket: true, handler: rawDeviceHandler() });
  } else {
    device = new CoapEndpoint({ address: HOST, port: 0, handler: rawDeviceHandler() });
  }
  await device.listen();
  const res = await device.request(
    { address: HOST, port },
    {
      method: 'POST',
      path: ['rd'],
      query: [`ep=${endpointName}`, 'lt=3600', 'lwm2m=1.1', 'b=U'],
      contentFormat: ContentFormat.LINK_FORMAT,
      payload: Buffer.from('</1/0>,</3/0>'),
    },
  );
  if (res.code !== '2.01') throw new Error(`raw device ${endpointName}: Register got ${res.code}`);
  return device;
}

async function libraryClient(
  server: LwM2mServer,
  endpointName: string,
  transport: 'udp' | 'dtls',
): Promise<LwM2mClient> {
  const a = server.addresses();
  if (transport === 'dtls') {
    await server.security.put({
      endpoint: endpointName,
      mode: 'psk',
      identity: endpointName,
      key: KEY,
    });
  }
  const client = new LwM2mClient({
    endpoint: endpointName,
    registry,
    local: { address: HOST },
    server:
      transport === 'udp'
        ? { uri: `coap://${HOST}:${a.coap!.port}`, lifetime: 3600 }
        : {
            uri: `coaps://${HOST}:${a.dtls!.port}`,
            psk: { identity: endpointName, key: KEY },
            lifetime: 3600,
          },
  });
  await client.start();
  return client;
}

export function readDriver(server: LwM2mServer, name: string, endpoint: string): Driver {
  const read = async () => {
    const r = await server.read(endpoint, '/3/0/0');
    if (!r.ok) throw new Error(`read ${endpoint} /3/0/0 answered ${r.code}`);
  };
  return {
    name,
    oneRound: (n, k) => closedLoop(n, k, read),
    close: async () => {},
  };
}

export async function readBenchmarks(quick: boolean): Promise<Row[]> {
  const server = new LwM2mServer({
    coap: { address: HOST, port: 0 },
    dtls: { address: HOST, port: 0 },
  });
  await server.start();
  const closers: (() => Promise<unknown>)[] = [];
  const rows: Row[] = [];
  try {
    const devices: [string, string, 'udp' | 'dtls', 'raw' | 'client'][] = [
      ['server.read → raw CoapEndpoint device, UDP', 'bench-raw-udp', 'udp', 'raw'],
      ['server.read → LwM2mClient, UDP', 'bench-client-udp', 'udp', 'client'],
      ['server.read → raw CoapEndpoint device, DTLS PSK (CCM_8)', 'bench-raw-dtls', 'dtls', 'raw'],
      ['server.read → LwM2mClient, DTLS PSK (CCM_8)', 'bench-client-dtls', 'dtls', 'client'],
    ];
    const subjects: Driver[] = [];
    for (const [name, ep, transport, kind] of devices) {
      if (kind === 'raw') {
        const d = await rawDevice(server, ep, transport);
        closers.push(() => d.close());
      } else {
        const c = await libraryClient(server, ep, transport);
        closers.push(() => c.close());
      }
      subjects.push(readDriver(server, name, ep));
    }
    const coapOnly = await ourEndpoint();
    closers.push(() => coapOnly.close());
    const plain = await plainNodeCoap();
    closers.push(() => plain.close());
    const echo = await rawEcho();
    closers.push(() => echo.close());
    const drivers = [...subjects, coapOnly, plain, echo];

    const plan = readPlan(quick);
    // JIT warm-up: the DTLS and client paths take a few thousand round trips to reach speed.
    for (const d of drivers) await d.oneRound(plan.warmup, 8);
    for (const inFlight of [1, 64]) {
      const results = await alternatingRounds(drivers, plan.rounds, plan.n(inFlight), inFlight);
      const rate = (i: number) => 1000 / median(results[i]!.map((r) => r.perOpMs));
      const lat = (i: number, q: number) => {
        const all = results[i]!.flatMap((r) => Array.from(r.latencies));
        return percentile(all, q);
      };
      const plainIdx = drivers.indexOf(plain);
      const echoIdx = drivers.indexOf(echo);
      for (const [i, d] of drivers.entries()) {
        if (d === echo) continue;
        const isRead = i < subjects.length;
        const ref = d === plain ? echoIdx : plainIdx;
        const ratio = rate(i) / rate(ref);
        rows.push({
          section: SECTION,
          name: `${inFlight} in flight`,
          subject: d === plain ? `${d.name} (the reference above)` : d.name,
          value: rate(i),
          unit: 'ops/s',
          ...withDefined('p50', lat(i, 0.5)),
          ...withDefined('p99', lat(i, 0.99)),
          reference: `${drivers[ref]!.name} (p50 ${fmt(lat(ref, 0.5))}, p99 ${fmt(lat(ref, 0.99))})`,
          referenceValue: rate(ref),
          ...(isRead && { goal: '≥ 0.6× plain node-coap', met: ratio >= 0.6 }),
        });
      }
    }
  } finally {
    for (const c of closers.reverse()) await c().catch(() => {});
    await server.close();
  }
  return rows;
}

/** Rounds, warm-up and reads per round of the read benchmarks (the Redis section's too). */
export function readPlan(quick: boolean): {
  readonly rounds: number;
  readonly warmup: number;
  readonly n: (inFlight: number) => number;
} {
  return {
    rounds: quick ? 5 : 9,
    warmup: quick ? 1_500 : 3_000,
    n: (inFlight) => (quick ? (inFlight === 1 ? 300 : 2_000) : inFlight === 1 ? 1_000 : 5_000),
  };
}

/**
 * `rounds` rounds of `n` operations at `inFlight`, every driver once per round, in reverse order
 * every other round (so no driver always runs after the same one); round 0 warms up and is not
 * kept. The results of each driver, in the drivers' order.
 */
export async function alternatingRounds(
  drivers: readonly Driver[],
  rounds: number,
  n: number,
  inFlight: number,
): Promise<RoundResult[][]> {
  const results = drivers.map(() => [] as RoundResult[]);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? drivers.keys() : [...drivers.keys()].reverse();
    for (const i of order) {
      collectGarbage();
      const r = await drivers[i]!.oneRound(n, inFlight);
      if (round > 0) results[i]!.push(r); // round 0 warms up
    }
  }
  return results;
}

function withDefined<K extends string>(k: K, v: number | undefined): { [P in K]?: number } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: number };
}

function fmt(ms: number | undefined): string {
  if (ms === undefined) return '–';
  return ms >= 1 ? `${ms.toFixed(1)} ms` : `${(ms * 1000).toFixed(0)} µs`;
}
