/**
 * Where the CPU of `server.read(ep, '/3/0/0')` at 1 in flight goes, over UDP, all in this
 * process: CPU per read (user + system) to an `LwM2mClient`, to a raw `CoapEndpoint` device (a
 * constant answer) and a bare `CoapEndpoint` GET (the CoAP floor), rounds alternating. With a
 * profile directory, the reads to the LwM2mClient (and to the raw device) are profiled.
 *
 *   tsx src/profile-reads.ts [reads per round=2000] [rounds=20] [profile-dir]
 *
 * Short rounds, drivers alternating, and the least CPU per read of each driver next to the
 * median: on a shared machine the least is the figure least disturbed by other work.
 *   tsx src/profile-top.ts <profile-dir>/reads-client.cpuprofile 40
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { LwM2mClient } from '@lwm2m-ts/client';
import { CoapEndpoint } from '@lwm2m-ts/coap';
import { encode } from '@lwm2m-ts/codecs';
import { ContentFormat, LwM2mPath, singleResource } from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { LwM2mServer } from '@lwm2m-ts/server';

const HOST = '127.0.0.1';
const n = Number(process.argv[2] ?? 2_000);
const rounds = Number(process.argv[3] ?? 20);
const profileDir = process.argv[4];
const registry = ObjectRegistry.withBuiltins();

const server = new LwM2mServer({ coap: { address: HOST, port: 0 }, dtls: false });
await server.start();
const port = server.addresses().coap!.port;

const client = new LwM2mClient({
  endpoint: 'prof-client',
  registry,
  local: { address: HOST },
  server: { uri: `coap://${HOST}:${port}`, lifetime: 3600 },
});
await client.start();

// A raw device: registered by hand, answering from a payload encoded once.
const text = new Map<number, Buffer>();
const raw = new CoapEndpoint({
  address: HOST,
  port: 0,
  handler: (req) => {
    const format = req.accept ?? ContentFormat.TEXT;
    let payload = text.get(format);
    if (payload === undefined) {
      payload = Buffer.from(
        encode(format, singleResource(0, 'string', 'ACME Corporation'), {
          path: LwM2mPath.of(3, 0, 0),
          model: { get: (id: number) => registry.get(id) },
        }),
      );
      text.set(format, payload);
    }
    return { code: '2.05', payload, contentFormat: format };
  },
});
await raw.listen();
const reg = await raw.request(
  { address: HOST, port },
  {
    method: 'POST',
    path: ['rd'],
    query: ['ep=prof-raw', 'lt=3600', 'lwm2m=1.1', 'b=U'],
    contentFormat: ContentFormat.LINK_FORMAT,
    payload: Buffer.from('</1/0>,</3/0>'),
  },
);
if (reg.code !== '2.01') throw new Error(`raw Register: ${reg.code}`);

// The CoAP floor: a bare endpoint pair.
const floorServer = new CoapEndpoint({
  address: HOST,
  port: 0,
  handler: () => ({ code: '2.05', payload: Buffer.from('ACME Corporation') }),
});
const floorPort = (await floorServer.listen()).port;
const floorClient = new CoapEndpoint({ address: HOST, port: 0 });
await floorClient.listen();

const drivers: [string, () => Promise<unknown>][] = [
  [
    'server.read → LwM2mClient',
    async () => {
      const r = await server.read('prof-client', '/3/0/0');
      if (!r.ok) throw new Error(`read: ${r.code}`);
    },
  ],
  [
    'server.read → raw device',
    async () => {
      const r = await server.read('prof-raw', '/3/0/0');
      if (!r.ok) throw new Error(`read: ${r.code}`);
    },
  ],
  [
    'CoapEndpoint GET (floor)',
    () =>
      floorClient.request({ address: HOST, port: floorPort }, { method: 'GET', path: '/3/0/0' }),
  ],
];

const inspector = profileDir === undefined ? undefined : new Session();
if (inspector !== undefined && profileDir !== undefined) {
  mkdirSync(profileDir, { recursive: true });
  inspector.connect();
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.setSamplingInterval', { interval: 100 });
}

async function loop(
  k: number,
  op: () => Promise<unknown>,
): Promise<{ cpuUs: number; wallUs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < k; i++) await op();
  const c = process.cpuUsage(c0);
  return { cpuUs: (c.user + c.system) / k, wallUs: ((performance.now() - t0) * 1000) / k };
}

for (const [, op] of drivers) await loop(3000, op); // JIT warm-up
const results = drivers.map(() => [] as { cpuUs: number; wallUs: number }[]);
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? [0, 1, 2] : [2, 1, 0];
  for (const i of order) results[i]!.push(await loop(n, drivers[i]![1]));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const least = (xs: number[]) => Math.min(...xs);
for (const [i, [name]] of drivers.entries()) {
  const cpu = results[i]!.map((r) => r.cpuUs);
  const wall = results[i]!.map((r) => r.wallUs);
  console.log(
    `${name.padEnd(28)} CPU least ${least(cpu).toFixed(1)} / median ${median(cpu).toFixed(1)} µs/read, wall least ${least(wall).toFixed(1)} / median ${median(wall).toFixed(1)} µs/read`,
  );
}

if (inspector !== undefined && profileDir !== undefined) {
  for (const [file, i] of [
    ['reads-client', 0],
    ['reads-raw', 1],
  ] as const) {
    await inspector.post('Profiler.start');
    await loop(n, drivers[i]![1]);
    const { profile } = await inspector.post('Profiler.stop');
    writeFileSync(join(profileDir, `${file}.cpuprofile`), JSON.stringify(profile));
  }
}

await client.close();
await raw.close();
await floorClient.close();
await floorServer.close();
await server.close();
