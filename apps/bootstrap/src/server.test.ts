import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeValues } from '@lwm2m-ts/codecs';
import { ContentFormat, LwM2mPath, type TypedValue } from '@lwm2m-ts/core';
import { DtlsClientSocket } from '@lwm2m-ts/dtls';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { afterEach, describe, expect, it } from 'vitest';
import type { BootstrapEvents } from './events.js';
import { BootstrapServer, type BootstrapServerOptions } from './server.js';
import { BootstrapDevice, type BootstrapDeviceOptions } from './test-device.js';

const registry = ObjectRegistry.withBuiltins();
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

const PSK_SERVER = {
  shortServerId: 101,
  uri: 'coaps://127.0.0.1:5684',
  securityMode: 'psk',
  pskIdentity: 'dev-1-dm',
  pskKey: '000102030405060708090a0b0c0d0e0f',
  lifetime: 300,
  binding: 'UQ',
  defaultMinPeriod: 1,
  defaultMaxPeriod: 60,
} as const;
const NOSEC_SERVER = {
  shortServerId: 102,
  uri: 'coap://127.0.0.1:5683',
  securityMode: 'nosec',
  lifetime: 86400,
} as const;
const CONFIG = {
  servers: [PSK_SERVER, NOSEC_SERVER],
  acls: [{ objectId: 3, instanceId: 0, acl: { '101': 'RWE', '0': 'R' }, owner: 101 }],
  writes: [{ path: '/3/0/14', value: '+02:00' }],
};

async function startServer(options: BootstrapServerOptions = {}) {
  const server = new BootstrapServer({
    coap: { address: '127.0.0.1', port: 0 },
    dtls: false,
    stepTimeout: 3000,
    ...options,
  });
  open.push(server);
  await server.start();
  return { server, coap: server.addresses().coap!, dtls: server.addresses().dtls };
}

async function device(options?: BootstrapDeviceOptions) {
  const d = await BootstrapDevice.start(options);
  open.push(d);
  return d;
}

type Recorded = { name: keyof BootstrapEvents; event: Record<string, unknown> };

/** Every sequence event, in order. */
function record(server: BootstrapServer): Recorded[] {
  const out: Recorded[] = [];
  for (const name of [
    'bootstrapStarted',
    'stepDone',
    'bootstrapFinished',
    'bootstrapFailed',
    'dmServerHandoff',
  ] as const) {
    server.on(name, ((e: Record<string, unknown>) => out.push({ name, event: e })) as never);
  }
  return out;
}

function next<K extends keyof BootstrapEvents>(server: BootstrapServer, name: K) {
  return new Promise<BootstrapEvents[K][0]>((resolve) =>
    server.once(name, ((e: BootstrapEvents[K][0]) => resolve(e)) as never),
  );
}

function value(d: BootstrapDevice, path: string): unknown {
  const v = d.values.get(path);
  if (v === undefined) return undefined;
  if (v.type === 'opaque') return Buffer.from(v.value).toString('hex');
  if (v.type === 'integer' || v.type === 'unsigned') return Number(v.value);
  return v.value;
}

/** What a device holds for the two accounts of CONFIG, at the given instance ids. */
function expectProvisioned(d: BootstrapDevice, sec: [number, number], srv: [number, number]) {
  const [s1, s2] = sec;
  expect(value(d, `/0/${s1}/0`)).toBe(PSK_SERVER.uri);
  expect(value(d, `/0/${s1}/1`)).toBe(false);
  expect(value(d, `/0/${s1}/2`)).toBe(0); // PSK
  expect(value(d, `/0/${s1}/3`)).toBe(Buffer.from('dev-1-dm').toString('hex'));
  expect(value(d, `/0/${s1}/5`)).toBe(PSK_SERVER.pskKey);
  expect(value(d, `/0/${s1}/10`)).toBe(101);
  expect(value(d, `/0/${s2}/0`)).toBe(NOSEC_SERVER.uri);
  expect(value(d, `/0/${s2}/2`)).toBe(3); // NoSec
  expect(value(d, `/0/${s2}/3`)).toBe('');
  expect(value(d, `/0/${s2}/10`)).toBe(102);
  const [v1, v2] = srv;
  expect(value(d, `/1/${v1}/0`)).toBe(101);
  expect(value(d, `/1/${v1}/1`)).toBe(300);
  expect(value(d, `/1/${v1}/2`)).toBe(1);
  expect(value(d, `/1/${v1}/3`)).toBe(60);
  expect(value(d, `/1/${v1}/6`)).toBe(true);
  expect(value(d, `/1/${v1}/7`)).toBe('UQ');
  expect(value(d, `/1/${v2}/0`)).toBe(102);
  expect(value(d, `/1/${v2}/1`)).toBe(86400);
  expect(value(d, `/1/${v2}/7`)).toBe('U');
  expect(value(d, '/2/0/0')).toBe(3);
  expect(value(d, '/2/0/1')).toBe(0);
  expect(value(d, '/2/0/2/0')).toBe(1);
  expect(value(d, '/2/0/2/101')).toBe(7);
  expect(value(d, '/2/0/3')).toBe(101);
  expect(value(d, '/3/0/14')).toBe('+02:00');
}

describe('Bootstrap-Request and the sequence', () => {
  it('deletes, writes Security then Server then ACL then other objects, and finishes (TLV)', async () => {
    const { server, coap } = await startServer();
    await server.putConfig('dev-1', CONFIG);
    const events = record(server);
    const d = await device();
    const finished = next(server, 'bootstrapFinished');
    const res = await d.bootstrap(coap, 'dev-1');
    expect(res.code).toBe('2.04');
    await finished;

    expect(d.log()).toEqual([
      'DELETE /',
      'PUT /0/1',
      'PUT /0/2',
      'PUT /1/0',
      'PUT /1/1',
      'PUT /2/0',
      'PUT /3/0',
      'POST /bs',
    ]);
    // The version is unknown (no discover, no pct): TLV, which every 1.0–1.2 client reads.
    expect(d.requests.filter((r) => r.method === 'PUT').map((r) => r.contentFormat)).toEqual(
      Array(6).fill(ContentFormat.TLV),
    );
    expectProvisioned(d, [1, 2], [0, 1]);
    // The old DM account is gone; the bootstrap account is kept.
    expect(d.under('/0/7').size).toBe(0);
    expect(d.under('/1/7').size).toBe(0);
    expect(value(d, '/0/0/1')).toBe(true);

    expect(events.map((e) => e.name)).toEqual([
      'bootstrapStarted',
      ...Array(8).fill('stepDone'),
      'bootstrapFinished',
    ]);
    const steps = events.filter((e) => e.name === 'stepDone').map((e) => e.event.step);
    expect(steps).toEqual([
      { index: 0, operation: 'delete', path: '/' },
      { index: 1, operation: 'write', path: '/0/1', object: 'security' },
      { index: 2, operation: 'write', path: '/0/2', object: 'security' },
      { index: 3, operation: 'write', path: '/1/0', object: 'server' },
      { index: 4, operation: 'write', path: '/1/1', object: 'server' },
      { index: 5, operation: 'write', path: '/2/0', object: 'acl' },
      { index: 6, operation: 'write', path: '/3/0', object: 'object' },
      { index: 7, operation: 'finish', path: '/bs' },
    ]);
    expect(events[0]!.event).toMatchObject({
      endpoint: 'dev-1',
      mode: 'request',
      transport: 'udp',
      address: '127.0.0.1',
      port: d.port,
      defaultConfig: false,
    });
    expect(events.at(-1)!.event).toMatchObject({ endpoint: 'dev-1', steps: 8 });
    expect(server.activeSessions()).toEqual([]);
    expect(server.stats()).toMatchObject({
      bootstrapsFinished: 1,
      bootstrapsFailed: 0,
      sessions: 0,
    });
  });

  it('discovers, reads /1 and /2, and writes SenML CBOR to a 1.1 client, clear of its bootstrap account', async () => {
    const { server, coap } = await startServer();
    await server.putConfig('dev-11', { ...CONFIG, discover: true, read: ['/1', '/2'] });
    const events = record(server);
    // The bootstrap account sits at /0/1 here: the DM accounts go to /0/0 and /0/2.
    const d = await device({ version: '1.1', bootstrapAccountId: 1 });
    const finished = next(server, 'bootstrapFinished');
    await d.bootstrap(coap, 'dev-11');
    await finished;
    expect(d.log()).toEqual([
      'DELETE /',
      'GET /',
      'GET /1',
      'GET /2',
      'PUT /0/0',
      'PUT /0/2',
      'PUT /1/0',
      'PUT /1/1',
      'PUT /2/0',
      'PUT /3/0',
      'POST /bs',
    ]);
    expect(d.requests[1]!.accept).toBe(ContentFormat.LINK_FORMAT);
    expect(d.requests[2]!.accept).toBe(ContentFormat.SENML_CBOR);
    expect(d.requests.filter((r) => r.method === 'PUT').map((r) => r.contentFormat)).toEqual(
      Array(6).fill(ContentFormat.SENML_CBOR),
    );
    expectProvisioned(d, [0, 2], [0, 1]);
    expect(value(d, '/0/1/1')).toBe(true);
    const discover = events.find((e) => e.name === 'stepDone' && e.event.links !== undefined);
    expect(discover!.event.links).toContain('</>;lwm2m="1.1"');
    const read = events.find(
      (e) => e.name === 'stepDone' && (e.event.step as { path: string }).path === '/1',
    );
    expect(read!.event).toMatchObject({ ok: true, code: '2.05', values: [] });
  });

  it('writes in the format of the 1.2 client’s pct', async () => {
    const { server, coap } = await startServer();
    await server.putConfig('dev-12', CONFIG);
    const started = next(server, 'bootstrapStarted');
    const d = await device();
    const finished = next(server, 'bootstrapFinished');
    expect((await d.bootstrap(coap, 'dev-12', ['pct=110'])).code).toBe('2.04');
    expect((await started).preferredContentFormat).toBe(110);
    await finished;
    expect(d.requests.filter((r) => r.method === 'PUT').map((r) => r.contentFormat)).toEqual(
      Array(6).fill(ContentFormat.SENML_JSON),
    );
    expectProvisioned(d, [1, 2], [0, 1]);
    expect((await d.bootstrap(coap, 'dev-12', ['pct=0'])).code).toBe('4.15');
    expect((await d.bootstrap(coap, 'dev-12', ['pct=abc'])).code).toBe('4.00');
  });

  it('falls back to TLV when the client answers 4.15, and keeps to it', async () => {
    const { server, coap } = await startServer();
    await server.putConfig('dev-f', { ...CONFIG, lwm2mVersion: '1.1' });
    const d = await device({ refuse: [ContentFormat.SENML_CBOR] });
    const finished = next(server, 'bootstrapFinished');
    await d.bootstrap(coap, 'dev-f');
    await finished;
    const puts = d.requests.filter((r) => r.method === 'PUT');
    // The first write is tried in SenML CBOR, refused, and sent again in TLV; the rest go in TLV.
    expect(puts.map((r) => r.contentFormat)).toEqual([
      ContentFormat.SENML_CBOR,
      ...Array(6).fill(ContentFormat.TLV),
    ]);
    expectProvisioned(d, [1, 2], [0, 1]);
  });

  it('stops at a write the client refuses: bootstrapFailed names the step, nothing more is sent', async () => {
    const { server, coap } = await startServer();
    await server.putConfig('dev-x', CONFIG);
    const events = record(server);
    const d = await device({ answers: { 'PUT /1/0': '4.00' } });
    const failed = next(server, 'bootstrapFailed');
    await d.bootstrap(coap, 'dev-x');
    const f = await failed;
    expect(f).toMatchObject({
      endpoint: 'dev-x',
      step: { index: 3, operation: 'write', path: '/1/0', object: 'server' },
      code: '4.00',
      restarted: false,
    });
    expect(f.reason).toContain('4.00 Bad Request to Bootstrap-Write /1/0');
    expect(d.log()).toEqual(['DELETE /', 'PUT /0/1', 'PUT /0/2', 'PUT /1/0']);
    expect(events.map((e) => e.name)).toEqual([
      'bootstrapStarted',
      ...Array(4).fill('stepDone'),
      'bootstrapFailed',
    ]);
    expect(events[4]!.event).toMatchObject({ ok: false, code: '4.00' });
    expect(server.activeSessions()).toEqual([]);
    expect(server.stats()).toMatchObject({ bootstrapsFailed: 1, sessions: 0 });
    // The endpoint may start over at once.
    d.answers = {};
    const finished = next(server, 'bootstrapFinished');
    await d.bootstrap(coap, 'dev-x');
    await finished;
  });

  it('fails with the step that timed out when the client stops answering', async () => {
    const { server, coap } = await startServer({ stepTimeout: 400 });
    await server.putConfig('dev-t', CONFIG);
    const d = await device();
    const failed = next(server, 'bootstrapFailed');
    await d.bootstrap(coap, 'dev-t');
    d.silent = true;
    const f = await failed;
    expect(f.step).toEqual({ index: 0, operation: 'delete', path: '/' });
    expect(f.code).toBeUndefined();
    expect(f.reason).toBe('no answer within 400 ms');
    expect(server.activeSessions()).toEqual([]);
  });

  it('reports a Bootstrap-Finish answered 4.06 as a rejected configuration', async () => {
    const { server, coap } = await startServer();
    await server.putConfig('dev-r', CONFIG);
    const d = await device({ answers: { 'POST /bs': '4.06' } });
    const failed = next(server, 'bootstrapFailed');
    await d.bootstrap(coap, 'dev-r');
    const f = await failed;
    expect(f).toMatchObject({ code: '4.06', step: { operation: 'finish', path: '/bs' } });
    expect(f.reason).toMatch(/rejected the configuration/);
  });

  it('a second Bootstrap-Request during a sequence restarts it cleanly', async () => {
    const { server, coap } = await startServer();
    await server.putConfig('dev-2', CONFIG);
    const events = record(server);
    const d = await device();
    d.silent = true;
    await d.bootstrap(coap, 'dev-2');
    await expect.poll(() => d.log()).toEqual(['DELETE /']);
    d.silent = false;
    const finished = next(server, 'bootstrapFinished');
    await d.bootstrap(coap, 'dev-2');
    const done = await finished;
    const names = events.map((e) => e.name);
    expect(names.slice(0, 3)).toEqual(['bootstrapStarted', 'bootstrapFailed', 'bootstrapStarted']);
    expect(events[1]!.event).toMatchObject({
      restarted: true,
      step: { index: 0, operation: 'delete', path: '/' },
      reason: 'a new Bootstrap-Request restarted it',
    });
    expect(events[1]!.event.sessionId).toBe(events[0]!.event.sessionId);
    expect(done.sessionId).toBe(events[2]!.event.sessionId);
    expect(names.filter((n) => n === 'bootstrapFailed')).toHaveLength(1);
    expect(d.log().filter((l) => l === 'POST /bs')).toHaveLength(1);
    expectProvisioned(d, [1, 2], [0, 1]);
    expect(server.activeSessions()).toEqual([]);
  });

  it('closing the server ends a running sequence with bootstrapFailed', async () => {
    const { server, coap } = await startServer();
    await server.putConfig('dev-c', CONFIG);
    const d = await device();
    d.silent = true;
    const failed = next(server, 'bootstrapFailed');
    await d.bootstrap(coap, 'dev-c');
    await expect.poll(() => d.requests.length).toBe(1);
    await server.close();
    expect((await failed).reason).toMatch(/closing/);
  });

  it('answers 4.00 to an unknown endpoint, unless a default configuration is set', async () => {
    const { server, coap } = await startServer();
    const errors: BootstrapEvents['coapError'][0][] = [];
    server.on('coapError', (e) => errors.push(e));
    const d = await device();
    const res = await d.bootstrap(coap, 'nobody');
    expect(res.code).toBe('4.00');
    expect(Buffer.from(res.payload).toString()).toMatch(/no bootstrap configuration for "nobody"/);
    expect(errors).toMatchObject([{ endpoint: 'nobody', code: '4.00' }]);
    expect((await d.pack(coap, 'nobody')).code).toBe('4.00');
    expect(d.requests).toEqual([]);
    // Malformed requests.
    const missing = await d.endpoint.request(
      { address: '127.0.0.1', port: coap.port },
      { method: 'POST', path: '/bs', timeout: 5000 },
    );
    expect(missing.code).toBe('4.00');
    const get = await d.endpoint.request(
      { address: '127.0.0.1', port: coap.port },
      { method: 'GET', path: '/bs', query: ['ep=x'], timeout: 5000 },
    );
    expect(get.code).toBe('4.05');

    const withDefault = await startServer({ defaultConfig: { servers: [NOSEC_SERVER] } });
    const started = next(withDefault.server, 'bootstrapStarted');
    const finished = next(withDefault.server, 'bootstrapFinished');
    expect((await d.bootstrap(withDefault.coap, 'anyone')).code).toBe('2.04');
    expect((await started).defaultConfig).toBe(true);
    await finished;
    expect(value(d, '/0/1/0')).toBe(NOSEC_SERVER.uri);
  });
});

describe('Bootstrap-Pack-Request (1.2)', () => {
  it('answers the whole configuration as SenML CBOR (or LwM2M CBOR), block-wise, equal to what the sequence writes', async () => {
    const { server, coap } = await startServer({ coapOptions: { blockSize: 64 } });
    await server.putConfig('dev-p', CONFIG);
    const events = record(server);
    const d = await device();
    const res = await d.pack(coap, 'dev-p');
    expect(res.code).toBe('2.05');
    expect(res.contentFormat).toBe(ContentFormat.SENML_CBOR);
    expect(res.payload.length).toBeGreaterThan(64); // reassembled from several blocks
    const packed = decodeValues(ContentFormat.SENML_CBOR, res.payload, { model: registry });
    const asMap = (vs: { path: LwM2mPath; value: TypedValue }[]) =>
      new Map(vs.map((v) => [`${v.path}`, v.value]));
    expect(events.map((e) => e.name)).toEqual([
      'bootstrapStarted',
      'stepDone',
      'bootstrapFinished',
    ]);
    expect(events[0]!.event).toMatchObject({ mode: 'pack' });

    // The same configuration through the write sequence.
    const finished = next(server, 'bootstrapFinished');
    await d.bootstrap(coap, 'dev-p');
    await finished;
    const written = new Map(
      [...d.values].filter(([k]) => !k.startsWith('/0/0/') && !k.startsWith('/3/0/0')),
    );
    expect(asMap(packed)).toEqual(written);

    const cbor = await d.pack(coap, 'dev-p', ContentFormat.LWM2M_CBOR);
    expect(cbor.contentFormat).toBe(ContentFormat.LWM2M_CBOR);
    const decoded = decodeValues(ContentFormat.LWM2M_CBOR, cbor.payload, {
      path: LwM2mPath.ROOT,
      model: registry,
    });
    expect(asMap(decoded)).toEqual(written);
  });

  it('answers 4.06 to an Accept it cannot serve', async () => {
    const { server, coap } = await startServer();
    await server.putConfig('dev-p', CONFIG);
    const d = await device();
    expect((await d.pack(coap, 'dev-p', ContentFormat.TLV)).code).toBe('4.06');
    expect(server.stats()).toMatchObject({ packRequests: 1, bootstrapsFinished: 0 });
  });
});

describe('DTLS', () => {
  const CREDS = { identity: 'dev-s-bs', key: '73656372657421' }; // "secret!"

  async function dtlsDevice(port: number, identity: string, key: Buffer) {
    const socket = new DtlsClientSocket({
      type: 'udp4',
      address: '127.0.0.1',
      port,
      psk: { identity, key },
      handshakeTimeoutMs: 3000,
    });
    return device({ socket });
  }

  it('runs the sequence over the DTLS session of the identity that matches the endpoint', async () => {
    const { server, dtls } = await startServer({ dtls: { address: '127.0.0.1', port: 0 } });
    await server.putConfig('dev-s', { ...CONFIG, bootstrapCredentials: CREDS });
    const started = next(server, 'bootstrapStarted');
    const finished = next(server, 'bootstrapFinished');
    const d = await dtlsDevice(dtls!.port, CREDS.identity, Buffer.from(CREDS.key, 'hex'));
    expect((await d.bootstrap(dtls!, 'dev-s')).code).toBe('2.04');
    expect(await started).toMatchObject({ transport: 'dtls', identity: CREDS.identity });
    await finished;
    expectProvisioned(d, [1, 2], [0, 1]);
  });

  it('refuses another endpoint’s name (4.03), a wrong key, and plain CoAP for an endpoint with credentials', async () => {
    const { server, coap, dtls } = await startServer({ dtls: { address: '127.0.0.1', port: 0 } });
    await server.putConfig('dev-s', { ...CONFIG, bootstrapCredentials: CREDS });
    await server.putConfig('other', CONFIG);
    const errors: BootstrapEvents['coapError'][0][] = [];
    server.on('coapError', (e) => errors.push(e));
    const d = await dtlsDevice(dtls!.port, CREDS.identity, Buffer.from(CREDS.key, 'hex'));
    expect((await d.bootstrap(dtls!, 'other')).code).toBe('4.03');
    expect((await d.bootstrap(dtls!, 'unknown')).code).toBe('4.03');
    expect((await d.pack(dtls!, 'other')).code).toBe('4.03');
    expect(d.requests).toEqual([]);

    const wrong = await dtlsDevice(dtls!.port, CREDS.identity, Buffer.from('not the key'));
    await expect(wrong.bootstrap(dtls!, 'dev-s')).rejects.toThrow();
    const unknown = await dtlsDevice(dtls!.port, 'who-am-i', Buffer.from('x'));
    await expect(unknown.bootstrap(dtls!, 'dev-s')).rejects.toThrow();

    const plain = await device();
    expect((await plain.bootstrap(coap, 'dev-s')).code).toBe('4.03');
    expect(errors.filter((e) => e.code === '4.03' && e.endpoint !== undefined)).toHaveLength(4);
    expect(server.stats().bootstrapsFinished).toBe(0);
  });
});

describe('DM server hand-off', () => {
  async function fakeDmServer(status = 201) {
    const received: { method: string; url: string; auth: string | undefined; body: unknown }[] = [];
    const srv = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        received.push({
          method: req.method ?? '',
          url: req.url ?? '',
          auth: req.headers.authorization,
          body: JSON.parse(body) as unknown,
        });
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(status < 300 ? {} : { message: 'nope' }));
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    open.push({ close: () => new Promise<void>((r) => srv.close(() => r())) });
    return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, received };
  }

  it('PUTs the PSK of each psk account to the DM server before Bootstrap-Finish', async () => {
    const dm = await fakeDmServer();
    const { server, coap } = await startServer({ dmServer: { url: dm.url, token: 't0k' } });
    await server.putConfig('dev-h', CONFIG);
    const events = record(server);
    const d = await device();
    let atFinish = -1;
    void d.finished().then(() => {
      atFinish = dm.received.length;
    });
    const finished = next(server, 'bootstrapFinished');
    await d.bootstrap(coap, 'dev-h');
    await finished;
    expect(dm.received).toEqual([
      {
        method: 'PUT',
        url: '/api/security/clients/dev-h',
        auth: 'Bearer t0k',
        body: { mode: 'psk', identity: 'dev-1-dm', key: PSK_SERVER.pskKey },
      },
    ]);
    expect(atFinish).toBe(1);
    expect(events.find((e) => e.name === 'dmServerHandoff')!.event).toMatchObject({
      endpoint: 'dev-h',
      shortServerId: 101,
      ok: true,
      status: 201,
    });
  });

  it('reports a failed hand-off as an event and still finishes the bootstrap', async () => {
    const dm = await fakeDmServer(409);
    const { server, coap } = await startServer({ dmServer: { url: dm.url } });
    await server.putConfig('dev-h', CONFIG);
    const handoff = next(server, 'dmServerHandoff');
    const finished = next(server, 'bootstrapFinished');
    const d = await device();
    await d.bootstrap(coap, 'dev-h');
    expect(await handoff).toMatchObject({ ok: false, status: 409, message: 'nope' });
    await finished;
    expect(server.stats().handoffsFailed).toBe(1);

    const gone = await startServer({ dmServer: { url: 'http://127.0.0.1:1', timeoutMs: 1000 } });
    await gone.server.putConfig('dev-h', CONFIG);
    const refused = next(gone.server, 'dmServerHandoff');
    const done = next(gone.server, 'bootstrapFinished');
    await d.bootstrap(gone.coap, 'dev-h');
    expect((await refused).ok).toBe(false);
    await done;
  });
});
