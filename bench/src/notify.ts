/**
 * 4. Notifications: N raw devices (raw-devices.ts) registered with a server child, each observed
 * by the server (`server.observe(ep, '/3303/0/5700')`), then notifying as fast as the server
 * takes them: what is measured is notifications decoded (with the registration's models) and
 * emitted as `notification` events per second, counted by the server process itself.
 *
 * The devices answer the Observe GET and send notifications from pre-encoded payloads in the
 * format the server asked for (SenML CBOR for a 1.1 client). Notifications are NON, with every
 * 32nd one CON: at most 8 CONs wait for their ACK, so the generator never floods the server's
 * socket (an ACK means everything sent before it was read). Reference: the same generator
 * against a raw `node:dgram` socket that only counts (and ACKs the CONs).
 */
import { encode } from '@lwm2m-ts/codecs';
import { ContentFormat, LwM2mPath, singleResource } from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import type { Row } from './harness.js';
import { DeviceSockets, exchangeAll } from './raw-devices.js';
import { ServerProcess } from './server-process.js';
import { range, STORM_RECV_BUFFER } from './storm.js';
import {
  ACK,
  CON,
  code,
  encode as encodeMessage,
  NON,
  Opt,
  readUint,
  registerRequest,
  uint,
} from './wire.js';

const SECTION = '4. Notifications';
const PATH = '/3303/0/5700';
const registry = ObjectRegistry.withBuiltins();
const CON_EVERY = 32;
const MAX_CONS = 8;

function payloads(format: number): Buffer[] {
  const path = LwM2mPath.parse(PATH);
  const model = { get: (id: number) => registry.get(id) };
  return Array.from({ length: 16 }, (_, k) =>
    Buffer.from(encode(format, singleResource(5700, 'float', 20 + k / 4), { path, model })),
  );
}

interface Observed {
  token: Buffer;
  format: number;
  seq: number;
}

/** Registers the devices, answers the server's Observe GETs, and returns who is observed. */
async function setUp(server: ServerProcess, devices: DeviceSockets, n: number, echo: boolean) {
  const observed: (Observed | undefined)[] = new Array(n);
  const token = (i: number) => {
    const t = Buffer.alloc(4);
    t.writeUInt32BE(i);
    return t;
  };
  const cache = new Map<number, Buffer[]>();
  const payloadsOf = (f: number) => {
    let p = cache.get(f);
    if (p === undefined) {
      p = payloads(f);
      cache.set(f, p);
    }
    return p;
  };
  devices.handler = (i, msg) => {
    // The server's Observe GET (CON, Observe=0): answer 2.05 with Observe and the value.
    if (msg.type !== CON || msg.code !== code('0.01')) return;
    const accept = msg.options.find((o) => o.number === Opt.ACCEPT);
    const format = accept === undefined ? ContentFormat.TEXT : readUint(accept.value);
    const obs: Observed = { token: Buffer.from(msg.token), format, seq: 2 };
    observed[i] = obs;
    devices.send(
      i,
      encodeMessage({
        type: ACK,
        code: code('2.05'),
        messageId: msg.messageId,
        token: msg.token,
        options: [
          { number: Opt.OBSERVE, value: uint(1) },
          { number: Opt.CONTENT_FORMAT, value: uint(format) },
        ],
        payload: payloadsOf(format)[0]!,
      }),
      server.udpPort,
    );
  };
  const reg = await exchangeAll(devices, {
    indices: range(n),
    port: server.udpPort,
    window: 256,
    build: (i, mid) =>
      registerRequest({
        messageId: mid,
        token: token(i),
        endpoint: `obs-${i}`,
        lifetime: 600,
        links: '</3303/0>',
      }),
  });
  if (reg.ok !== n) throw new Error(`notifications: only ${reg.ok}/${n} devices registered`);
  if (echo) {
    for (let i = 0; i < n; i++) {
      observed[i] = { token: token(i), format: ContentFormat.SENML_CBOR, seq: 2 };
    }
  } else {
    const r = (await server.call({
      cmd: 'observe',
      endpoints: Array.from({ length: n }, (_, i) => `obs-${i}`),
      path: PATH,
      concurrency: 256,
    })) as { ok: number; failed: number; why?: string };
    if (r.ok !== n) throw new Error(`notifications: ${r.ok}/${n} observed (${r.why})`);
  }
  return { observed, payloadsOf };
}

/** Sends `total` notifications round-robin over the devices; resolves when the last CON is acknowledged. */
function notifyAll(
  server: ServerProcess,
  devices: DeviceSockets,
  observed: readonly (Observed | undefined)[],
  payloadsOf: (f: number) => Buffer[],
  total: number,
): Promise<number> {
  const n = observed.length;
  let sent = 0;
  let mid = 0;
  const waiting = new Set<number>();
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('notifications: no progress for 30 s')),
      30_000,
    );
    const pump = () => {
      while (sent < total && waiting.size < MAX_CONS) {
        const i = sent % n;
        const o = observed[i]!;
        const con = sent % CON_EVERY === CON_EVERY - 1 || sent === total - 1;
        mid = (mid + 1) & 0xffff;
        const p = payloadsOf(o.format);
        devices.send(
          i,
          encodeMessage({
            type: con ? CON : NON,
            code: code('2.05'),
            messageId: mid,
            token: o.token,
            options: [
              { number: Opt.OBSERVE, value: uint(o.seq++ & 0xffffff) },
              { number: Opt.CONTENT_FORMAT, value: uint(o.format) },
            ],
            payload: p[o.seq % p.length]!,
          }),
          server.udpPort,
        );
        if (con) waiting.add(mid);
        sent++;
      }
      if (sent >= total && waiting.size === 0) {
        clearTimeout(timer);
        resolve(performance.now() - t0);
      }
    };
    devices.handler = (_i, msg) => {
      if (msg.type !== ACK || !waiting.delete(msg.messageId)) return;
      timer.refresh();
      pump();
    };
    pump();
  });
}

async function run(n: number, total: number, echo: boolean) {
  const server = await ServerProcess.start(
    {
      udp: true,
      dtls: false,
      recvBufferSize: STORM_RECV_BUFFER,
      ...(echo && { echo: true }),
    },
    echo ? 'notify-echo' : 'notify-server',
  );
  const devices = new DeviceSockets(n);
  try {
    await devices.openRange(0, n);
    const { observed, payloadsOf } = await setUp(server, devices, n, echo);
    await server.call({ cmd: 'reset' });
    const dropsBefore = server.udpDrops();
    const ms = await notifyAll(server, devices, observed, payloadsOf, total);
    const s = await server.stats();
    const drops = server.udpDrops() - dropsBefore;
    const span =
      s.firstNotificationAt !== undefined && s.lastNotificationAt !== undefined
        ? s.lastNotificationAt - s.firstNotificationAt
        : ms;
    return {
      rate: (s.notifications / Math.max(span, 1)) * 1000,
      received: s.notifications,
      generatorRate: (total / ms) * 1000,
      drops,
      errors: s.coapErrors,
      errorSample: s.coapErrorSample,
      format: observed[0]?.format,
    };
  } finally {
    await devices.closeAll();
    await server.close();
  }
}

/** `sockets`: how many sockets this process may open (one per simulated device). */
export async function notifyBenchmarks(quick: boolean, sockets: number): Promise<Row[]> {
  const n = Math.min(quick ? 1_000 : 10_000, sockets);
  const total = quick ? 20_000 : 200_000;
  const echo = await run(n, total, true);
  const ours = await run(n, total, false);
  return [
    {
      section: SECTION,
      name: `${n.toLocaleString('en-US')} observed devices, ${total.toLocaleString('en-US')} notifications`,
      subject: `LwM2mServer: decoded (${ours.format === ContentFormat.SENML_CBOR ? 'SenML CBOR' : `format ${ours.format}`}) and emitted`,
      value: ours.rate,
      unit: 'notif/s',
      reference: 'the same generator → raw node:dgram socket (count only)',
      referenceValue: echo.rate,
      goal: '≥ 20,000/s',
      met: ours.rate >= 20_000 && ours.received === total,
      note: `${ours.received}/${total} emitted, ${ours.drops} kernel drops, ${ours.errors} errors${ours.errorSample ? ` (${ours.errorSample})` : ''}`,
    },
  ];
}
