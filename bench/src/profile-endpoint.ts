/**
 * CoapEndpoint's hot paths, one at a time, for a CPU profile (not a benchmark: no reference).
 *
 *   tsx src/profile-endpoint.ts <scenario> [count] [--in-flight=k] [--profile[=dir]]
 *
 * Scenarios:
 * - serve:     a raw dgram peer sends pre-encoded CON GETs, the endpoint answers each
 *              piggybacked (the device side of a read, the server side of a Register);
 * - register:  as serve, with a Register-sized POST /rd answered 2.01 with a Location-Path;
 * - request:   endpoint.request() GET to a raw dgram peer that answers every CON with a
 *              pre-encoded piggybacked 2.05 (the side of server.read);
 * - lifecycle: new CoapEndpoint + listen() + close() (a fleet device's per-endpoint cost);
 * - dtls:      endpoint → endpoint GET over DTLS PSK (CCM_8), session established;
 * - dtls-connect: a new DTLS client socket and endpoint: handshake, POST, close.
 *
 * COAP_IMPL=<path to index.js> runs another build of @lwm2m-ts/coap (e.g. the last commit's,
 * compiled elsewhere) for before/after comparisons in one sitting.
 *
 * --heap prints the bytes allocated per operation, by function (sampled, garbage included).
 *
 * With --profile the run is wrapped in a V8 CPU profile (node:inspector) and the top functions
 * are printed (profile-top.ts); without it, only the rate.
 */
import dgram from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ours from '@lwm2m-ts/coap';
import { DtlsClientSocket, DtlsServerSocket } from '@lwm2m-ts/dtls';
import { closedLoop } from './coap-roundtrip.js';
import { formatTop } from './profile-top.js';
import { ACK, CON, code, encode, Opt, parse, registerRequest, uint } from './wire.js';

/** COAP_IMPL=<path to another build's index.js>: profile that build instead (A/B comparisons). */
const impl = process.env.COAP_IMPL;
const { CoapEndpoint } = (impl === undefined ? ours : await import(impl)) as typeof ours;

const HOST = '127.0.0.1';
const PAYLOAD = Buffer.from('ACME Corporation');
const KEY = Buffer.from('0123456789abcdef');

const args = process.argv.slice(2);
const flag = (name: string): string | true | undefined => {
  const a = args.find((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (a === undefined) return undefined;
  const eq = a.indexOf('=');
  return eq < 0 ? true : a.slice(eq + 1);
};
const positional = args.filter((a) => !a.startsWith('--'));
const scenario = positional[0] ?? 'serve';
const count = Number(positional[1] ?? 20_000);
const inFlight = Number(flag('in-flight') ?? 1);

async function bind(socket: dgram.Socket): Promise<number> {
  await new Promise<void>((resolve) => socket.bind(0, HOST, () => resolve()));
  return (socket.address() as AddressInfo).port;
}

/** A raw peer sending `request(mid)` datagrams to `port`, one waiter per message id. */
async function rawRequester(
  port: number,
  request: (mid: number) => Buffer,
): Promise<{ send: () => Promise<void>; close: () => void }> {
  const socket = dgram.createSocket('udp4');
  await bind(socket);
  const waiters = new Map<number, () => void>();
  socket.on('message', (buf) => {
    const m = parse(buf);
    if (m === undefined || m.type !== ACK) return;
    waiters.get(m.messageId)?.();
    waiters.delete(m.messageId);
  });
  let mid = 0;
  return {
    send: () =>
      new Promise<void>((resolve) => {
        mid = (mid + 1) & 0xffff;
        waiters.set(mid, resolve);
        socket.send(request(mid), port, HOST);
      }),
    close: () => socket.close(),
  };
}

async function serve(kind: 'get' | 'register'): Promise<() => Promise<void>> {
  const endpoint = new CoapEndpoint({
    address: HOST,
    port: 0,
    handler: (req) =>
      kind === 'get'
        ? { code: '2.05', payload: PAYLOAD, contentFormat: 0 }
        : { code: '2.01', locationPath: ['rd', `x${req.query.length}`] },
  });
  const { port } = await endpoint.listen();
  const token = Buffer.from('0123abcd', 'hex');
  const get = (mid: number) =>
    encode({
      type: CON,
      code: code('0.01'),
      messageId: mid,
      token,
      options: ['3', '0', '0'].map((s) => ({ number: Opt.URI_PATH, value: Buffer.from(s) })),
    });
  const reg = (mid: number) =>
    registerRequest({ messageId: mid, token, endpoint: `dev-${mid}`, lifetime: 600 });
  const peer = await rawRequester(port, kind === 'get' ? get : reg);
  return async () => {
    await run(peer.send);
    peer.close();
    await endpoint.close();
  };
}

async function request(): Promise<() => Promise<void>> {
  const socket = dgram.createSocket('udp4');
  const port = await bind(socket);
  socket.on('message', (buf, rinfo) => {
    const m = parse(buf);
    if (m === undefined || m.type !== CON) return;
    const ack = encode({
      type: ACK,
      code: code('2.05'),
      messageId: m.messageId,
      token: m.token,
      options: [{ number: Opt.CONTENT_FORMAT, value: uint(0) }],
      payload: PAYLOAD,
    });
    socket.send(ack, rinfo.port, rinfo.address);
  });
  const endpoint = new CoapEndpoint({ address: HOST, port: 0 });
  await endpoint.listen();
  const peer = { address: HOST, port };
  return async () => {
    await run(() => endpoint.request(peer, { method: 'GET', path: ['3', '0', '0'] }));
    await endpoint.close();
    socket.close();
  };
}

async function lifecycle(): Promise<() => Promise<void>> {
  return async () => {
    await run(async () => {
      const e = new CoapEndpoint({ address: HOST, port: 0, handler: () => ({ code: '2.05' }) });
      await e.listen();
      await e.close();
    });
  };
}

async function dtls(): Promise<() => Promise<void>> {
  const serverSocket = new DtlsServerSocket({
    type: 'udp4',
    psk: (identity: string) => (identity === 'dev' ? KEY : undefined),
  });
  const server = new CoapEndpoint({
    socket: serverSocket,
    closeSocket: true,
    handler: () => ({ code: '2.05', payload: PAYLOAD, contentFormat: 0 }),
  });
  await new Promise<void>((resolve) => serverSocket.bind(0, HOST, () => resolve()));
  const { port } = await server.listen();
  const clientSocket = new DtlsClientSocket({
    type: 'udp4',
    address: HOST,
    port,
    psk: { identity: 'dev', key: KEY },
    cipherSuites: ['TLS_PSK_WITH_AES_128_CCM_8'],
  });
  const client = new CoapEndpoint({ socket: clientSocket, closeSocket: true });
  await client.listen();
  const peer = { address: HOST, port };
  return async () => {
    await run(() => client.request(peer, { method: 'GET', path: ['3', '0', '0'] }));
    await client.close();
    await server.close();
  };
}

/** A DTLS device's first exchange: new socket and endpoint, handshake + POST, close. */
async function dtlsConnect(): Promise<() => Promise<void>> {
  const serverSocket = new DtlsServerSocket({
    type: 'udp4',
    psk: (identity: string) => (identity === 'dev' ? KEY : undefined),
  });
  const server = new CoapEndpoint({
    socket: serverSocket,
    closeSocket: true,
    handler: () => ({ code: '2.01', locationPath: ['rd', 'x'] }),
  });
  await new Promise<void>((resolve) => serverSocket.bind(0, HOST, () => resolve()));
  const { port } = await server.listen();
  const peer = { address: HOST, port };
  return async () => {
    await run(async () => {
      const socket = new DtlsClientSocket({
        type: 'udp4',
        address: HOST,
        port,
        psk: { identity: 'dev', key: KEY },
        cipherSuites: ['TLS_PSK_WITH_AES_128_CCM_8'],
      });
      const client = new CoapEndpoint({ socket, closeSocket: true });
      await client.listen();
      const res = await client.request(peer, { method: 'POST', path: ['rd'], query: ['ep=x'] });
      if (res.code !== '2.01') throw new Error(`answered ${res.code}`);
      await client.close();
    });
    await server.close();
  };
}

let profileFile: string | undefined;

async function run(op: () => Promise<unknown>): Promise<void> {
  await closedLoop(Math.min(5_000, count), inFlight, op); // JIT warm-up
  const p = flag('profile');
  let session: Session | undefined;
  if (p !== undefined) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
  }
  const heap = flag('heap');
  let heapSession: Session | undefined;
  if (heap !== undefined) {
    heapSession = new Session();
    heapSession.connect();
    await heapSession.post('HeapProfiler.startSampling', {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  const cpu0 = process.cpuUsage();
  const r = await closedLoop(count, inFlight, op);
  const cpu = process.cpuUsage(cpu0);
  if (heapSession !== undefined) {
    const { profile } = await heapSession.post('HeapProfiler.stopSampling');
    console.log(formatAllocations(profile, count));
    heapSession.disconnect();
  }
  if (session !== undefined) {
    const { profile } = await session.post('Profiler.stop');
    const dir = typeof p === 'string' ? p : join(tmpdir(), 'lwm2m-profile-endpoint');
    mkdirSync(dir, { recursive: true });
    profileFile = join(dir, `${scenario}-${Date.now()}.cpuprofile`);
    writeFileSync(profileFile, JSON.stringify(profile));
    session.disconnect();
  }
  const cpuUs = (cpu.user + cpu.system) / count;
  console.log(
    `${scenario}: ${count} ops, ${(1000 / r.perOpMs).toFixed(0)} ops/s, CPU ${cpuUs.toFixed(1)} µs/op (user ${(cpu.user / count).toFixed(1)}, system ${(cpu.system / count).toFixed(1)})`,
  );
}

interface AllocationNode {
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly selfSize: number;
  readonly children: readonly AllocationNode[];
}

/** --heap: bytes allocated per operation by function (sampled, garbage included). */
function formatAllocations(profile: { head: AllocationNode }, ops: number): string {
  const self = new Map<string, number>();
  const walk = (n: AllocationNode) => {
    const f = n.callFrame;
    const where = f.url ? ` ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}` : '';
    const name = `${f.functionName || '(anonymous)'}${where}`;
    self.set(name, (self.get(name) ?? 0) + n.selfSize);
    for (const c of n.children) walk(c);
  };
  walk(profile.head);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const lines = [`allocated ≈ ${(total / ops).toFixed(0)} B/op (sampled)`];
  for (const [name, bytes] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    lines.push(`${(bytes / ops).toFixed(0).padStart(7)} B/op  ${name}`);
  }
  return lines.join('\n');
}

const scenarios: Record<string, () => Promise<() => Promise<void>>> = {
  serve: () => serve('get'),
  register: () => serve('register'),
  request,
  lifecycle,
  dtls,
  'dtls-connect': dtlsConnect,
};
const make = scenarios[scenario];
if (make === undefined) {
  console.error(`unknown scenario ${scenario}; one of ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
const go = await make();
await go();
if (profileFile !== undefined)
  console.log(`\n${formatTop(profileFile, Number(flag('top') ?? 30))}`);
