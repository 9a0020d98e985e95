/**
 * The REST API over real HTTP on loopback, in front of a real LwM2mServer, with a real CoAP
 * device (TestDevice: a CoapEndpoint that registers and answers through the real codecs).
 */
import type { AddressInfo } from 'node:net';
import { encodeSenmlJson } from '@lwm2m-ts/codecs';
import { ContentFormat, LwM2mPath, typedValue } from '@lwm2m-ts/core';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { LwM2mServer } from '../server.js';
import { TestDevice } from '../test-device.js';
import { createRestApi, type RestApiOptions } from './app.js';
import type { RestApiServer } from './server-api.js';
import { call, openSse, type SseStream } from './test-http.js';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

interface Setup {
  server: LwM2mServer;
  app: FastifyInstance;
  base: string;
  coap: { port: number };
}

async function setup(options: RestApiOptions = {}): Promise<Setup> {
  const server = new LwM2mServer({
    coap: { address: '127.0.0.1', port: 0 },
    dtls: false,
    requestTimeout: 3000,
  });
  open.push(server);
  await server.start();
  // The REST layer takes the server through its interface: LwM2mServer must fit it.
  const api: RestApiServer = server;
  const app = createRestApi(api, options);
  open.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { server, app, base: `http://127.0.0.1:${port}`, coap: server.addresses().coap! };
}

async function device(s: Setup, ep = 'dev-1'): Promise<TestDevice> {
  const d = await TestDevice.start();
  open.push(d);
  const res = await d.register(s.coap, [`ep=${ep}`, 'lt=300', 'lwm2m=1.1', 'b=U']);
  expect(res.code).toBe('2.01');
  return d;
}

async function sse(url: string, headers?: Record<string, string>): Promise<SseStream> {
  const stream = await openSse(url, headers);
  open.push(stream);
  return stream;
}

describe('clients', () => {
  it('lists registrations with ISO times and queue state; 404 JSON for an unknown client', async () => {
    const s = await setup();
    expect((await call(s.base, 'GET', '/api/clients')).body).toEqual([]);
    const d = await device(s);
    const list = await call(s.base, 'GET', '/api/clients');
    expect(list.status).toBe(200);
    expect(list.body).toHaveLength(1);
    const c = list.body[0];
    expect(c).toMatchObject({
      endpoint: 'dev-1',
      lwm2mVersion: '1.1',
      lifetime: 300,
      binding: 'U',
      queueMode: false,
      address: '127.0.0.1',
      port: d.port,
      transport: 'udp',
    });
    expect(c.objectLinks.map((l: { path: string }) => l.path)).toEqual(['/1/0', '/3/0', '/3303/0']);
    expect(new Date(c.registeredAt).toISOString()).toBe(c.registeredAt);
    expect(Date.parse(c.expiresAt) - Date.parse(c.lastUpdate)).toBe(300_000);

    const one = await call(s.base, 'GET', '/api/clients/dev-1');
    expect(one.status).toBe(200);
    expect(one.body).toEqual(c);

    const missing = await call(s.base, 'GET', '/api/clients/nobody');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: 'UnknownClientError', coapCode: '4.04' });
    expect(missing.body.message).toContain('nobody');
    const missingRead = await call(s.base, 'GET', '/api/clients/nobody/3/0/0');
    expect(missingRead.status).toBe(404);
    expect(missingRead.body.error).toBe('UnknownClientError');
  });
});

describe('device management', () => {
  it('reads a resource, an instance and in a chosen format', async () => {
    const s = await setup();
    await device(s);
    const r = await call(s.base, 'GET', '/api/clients/dev-1/3/0/0');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      status: '2.05',
      content: { id: 0, kind: 'single', type: 'string', value: 'ACME' },
    });
    expect(typeof r.body.format).toBe('string');

    const inst = await call(s.base, 'GET', '/api/clients/dev-1/3/0?format=senml-json');
    expect(inst.status).toBe(200);
    expect(inst.body.format).toBe('senml-json');
    expect(inst.body.content.kind).toBe('instance');
    const res7 = inst.body.content.resources.find((x: { id: number }) => x.id === 7);
    expect(res7).toEqual({
      id: 7,
      kind: 'multiple',
      type: 'integer',
      values: { '0': 3800, '1': 5000 },
    });

    const byNumber = await call(
      s.base,
      'GET',
      `/api/clients/dev-1/3/0/9?format=${ContentFormat.TLV}`,
    );
    expect(byNumber.body).toMatchObject({ format: 'tlv', content: { value: 87 } });
  });

  it('writes then reads back; partial update of an instance', async () => {
    const s = await setup();
    const d = await device(s);
    const w = await call(s.base, 'PUT', '/api/clients/dev-1/3/0/14', { body: { value: '+02:00' } });
    expect(w.status).toBe(200);
    expect(w.body).toEqual({ status: '2.04' });
    expect(d.values.get('/3/0/14')).toEqual(typedValue('string', '+02:00'));
    const r = await call(s.base, 'GET', '/api/clients/dev-1/3/0/14');
    expect(r.body.content.value).toBe('+02:00');

    const u = await call(s.base, 'POST', '/api/clients/dev-1/1/0', {
      body: { resources: [{ id: 1, value: 600 }] },
    });
    expect(u.status).toBe(200);
    expect(u.body).toEqual({ status: '2.04' });
    expect(d.values.get('/1/0/1')).toEqual(typedValue('integer', 600n));
    const last = d.requests.at(-1)!;
    expect(last.method).toBe('POST'); // partial update, not replace

    const ri = await call(s.base, 'PUT', '/api/clients/dev-1/3/0/7/1', { body: { value: 4000 } });
    expect(ri.status).toBe(200);
    expect(d.values.get('/3/0/7/1')).toEqual(typedValue('integer', 4000n));
    const replace = await call(s.base, 'PUT', '/api/clients/dev-1/1/0', {
      body: {
        resources: [
          { id: 1, value: 900 },
          { id: 7, value: 'UQ' },
        ],
      },
    });
    expect(replace.status).toBe(200);
    expect(d.requests.at(-1)!.method).toBe('PUT');
    expect(d.values.get('/1/0/7')).toEqual(typedValue('string', 'UQ'));
    const onObject = await call(s.base, 'PUT', '/api/clients/dev-1/3', { body: { instances: [] } });
    expect(onObject.status).toBe(400);
  });

  it('executes with text arguments, creates and deletes', async () => {
    const s = await setup();
    const d = await device(s);
    const x = await call(s.base, 'POST', '/api/clients/dev-1/3/0/4', { text: "0='now'" });
    expect(x.status).toBe(200);
    expect(x.body).toEqual({ status: '2.04' });
    expect(d.executed).toEqual([{ path: '/3/0/4', args: "0='now'" }]);
    const noArgs = await call(s.base, 'POST', '/api/clients/dev-1/3/0/4');
    expect(noArgs.status).toBe(200);
    expect(d.executed.at(-1)).toEqual({ path: '/3/0/4', args: '' });

    const c = await call(s.base, 'POST', '/api/clients/dev-1/3303', {
      body: { id: 1, resources: [{ id: 5700, value: 19.5 }] },
    });
    expect(c.status).toBe(201);
    expect(c.body).toEqual({ status: '2.01', location: '/3303/1' });
    expect(d.values.get('/3303/1/5700')).toEqual(typedValue('float', 19.5));

    const del = await call(s.base, 'DELETE', '/api/clients/dev-1/3303/1');
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ status: '2.02' });
    expect(d.values.has('/3303/1/5700')).toBe(false);
  });

  it('discovers and writes attributes', async () => {
    const s = await setup();
    const d = await device(s);
    const disc = await call(s.base, 'GET', '/api/clients/dev-1/3/0?discover');
    expect(disc.status).toBe(200);
    expect(disc.body.status).toBe('2.05');
    expect(disc.body.links.map((l: { path: string }) => l.path)).toContain('/3/0/0');

    const a = await call(s.base, 'PUT', '/api/clients/dev-1/3/0/9/attributes', {
      body: { pmin: 10, pmax: 60, gt: null },
    });
    expect(a.status).toBe(200);
    expect(a.body).toEqual({ status: '2.04' });
    const req = d.requests.at(-1)!;
    expect(req.method).toBe('PUT');
    expect(req.path).toEqual(['3', '0', '9']);
    expect([...req.query].sort()).toEqual(['gt', 'pmax=60', 'pmin=10']);

    const bad = await call(s.base, 'PUT', '/api/clients/dev-1/3/0/9/attributes', {
      body: { pmin: 'soon' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('InvalidAttributeError');
    const unknown = await call(s.base, 'PUT', '/api/clients/dev-1/3/0/9/attributes', {
      body: { every: 5 },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toContain('every');
    const wrongMethod = await call(s.base, 'GET', '/api/clients/dev-1/3/0/9/attributes');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('PUT');
  });

  it('composite read, write, observe and cancel', async () => {
    const s = await setup();
    const d = await device(s);
    const url = '/api/clients/dev-1/composite';
    const r = await call(s.base, 'POST', url, {
      body: { operation: 'read', paths: ['/3/0/0', '/3303/0/5700'] },
    });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('2.05');
    expect(r.body.values).toEqual([
      { path: '/3/0/0', type: 'string', value: 'ACME' },
      { path: '/3303/0/5700', type: 'float', value: 21.5 },
    ]);

    const w = await call(s.base, 'POST', url, {
      body: { operation: 'write', values: [{ path: '/3/0/14', value: '+05:00' }] },
    });
    expect(w.status).toBe(200);
    expect(w.body).toEqual({ status: '2.04' });
    expect(d.values.get('/3/0/14')).toEqual(typedValue('string', '+05:00'));

    const o = await call(s.base, 'POST', url, {
      body: { operation: 'observe', paths: ['/3/0/9', '/3303/0/5700'] },
    });
    expect(o.status).toBe(200);
    expect(o.body.observation).toMatchObject({
      composite: true,
      paths: ['/3/0/9', '/3303/0/5700'],
    });
    const list = await call(s.base, 'GET', '/api/clients/dev-1/observations');
    expect(list.body.map((x: { id: string }) => x.id)).toEqual([o.body.observation.id]);

    const c = await call(s.base, 'POST', url, {
      body: { operation: 'cancel-observe', paths: ['/3303/0/5700', '/3/0/9'] },
    });
    expect(c.status).toBe(200);
    expect(c.body).toEqual({ cancelled: 1 });
    expect((await call(s.base, 'GET', '/api/clients/dev-1/observations')).body).toEqual([]);

    const single = await call(s.base, 'POST', '/api/clients/dev-1/3/0/0/observe');
    const id = single.body.observation.id;
    const byId = await call(s.base, 'DELETE', `/api/clients/dev-1/observations/${id}`);
    expect(byId.body).toEqual({ cancelled: 1 });
    expect((await call(s.base, 'DELETE', `/api/clients/dev-1/observations/${id}`)).status).toBe(
      404,
    );

    const bad = await call(s.base, 'POST', url, { body: { operation: 'fetch', paths: ['/3'] } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/"operation"/);
  });
});

describe('observe and events', () => {
  it('observe → a notification arrives as an SSE event; cancel', async () => {
    const s = await setup({ sseHeartbeatMs: 100 });
    const events = await sse(`${s.base}/api/events?ep=dev-1`);
    expect(events.status).toBe(200);
    expect(events.headers['content-type']).toMatch(/^text\/event-stream/);
    const d = await device(s);
    const reg = await events.next((e) => e.event === 'registration');
    expect(reg.data).toMatchObject({ endpoint: 'dev-1', registration: { endpoint: 'dev-1' } });

    const o = await call(s.base, 'POST', '/api/clients/dev-1/3/0/9/observe');
    expect(o.status).toBe(200);
    expect(o.body).toMatchObject({ status: '2.05', content: { id: 9, value: 87 } });
    expect(o.body.observation.paths).toEqual(['/3/0/9']);

    d.set('/3/0/9', typedValue('integer', 42n));
    const n = await events.next((e) => e.event === 'notification');
    expect(n.data).toMatchObject({
      endpoint: 'dev-1',
      paths: ['/3/0/9'],
      content: { id: 9, kind: 'single', type: 'integer', value: 42 },
    });
    await events.waitForRaw(/: heartbeat\n\n/, 2000);

    const c = await call(s.base, 'DELETE', '/api/clients/dev-1/3/0/9/observe');
    expect(c.status).toBe(200);
    expect(c.body).toEqual({ cancelled: 1 });
    const again = await call(s.base, 'DELETE', '/api/clients/dev-1/3/0/9/observe?mode=reactive');
    expect(again.status).toBe(404);
    expect(again.body.error).toBe('NotFound');
  });

  it('filters by endpoint, streams de-registration, drops clients that go away', async () => {
    const s = await setup();
    const only2 = await sse(`${s.base}/api/events?ep=dev-2`);
    const all = await sse(`${s.base}/api/events`);
    const d1 = await device(s, 'dev-1');
    await device(s, 'dev-2');
    await all.next((e) => e.event === 'registration' && e.data.endpoint === 'dev-2');
    await only2.next((e) => e.event === 'registration');
    expect(only2.events.map((e) => e.data.endpoint)).toEqual(['dev-2']);

    expect((await d1.deregister(s.coap)).code).toBe('2.02');
    const gone = await all.next((e) => e.event === 'deregistration');
    expect(gone.data).toMatchObject({ endpoint: 'dev-1', reason: 'deregistered' });

    const metric = async () =>
      /lwm2m_sse_clients (\d+)/.exec((await call(s.base, 'GET', '/metrics')).text)?.[1];
    expect(await metric()).toBe('2');
    only2.close();
    all.close();
    for (let i = 0; i < 50 && (await metric()) !== '0'; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(await metric()).toBe('0');
  });

  it('streams Send values and CoAP errors; queue state in the client list', async () => {
    const s = await setup();
    const events = await sse(`${s.base}/api/events`);
    const d = await TestDevice.start();
    open.push(d);
    expect((await d.register(s.coap, ['ep=q-dev', 'lwm2m=1.1', 'b=UQ'])).code).toBe('2.01');
    const payload = encodeSenmlJson([
      {
        path: LwM2mPath.parse('/3303/0/5700'),
        value: typedValue('float', 19.5),
        time: 1_714_564_800,
      },
    ]);
    expect((await d.send(s.coap, payload, ContentFormat.SENML_JSON)).code).toBe('2.04');
    const sent = await events.next((e) => e.event === 'send');
    expect(sent.data).toEqual({
      endpoint: 'q-dev',
      values: [
        { path: '/3303/0/5700', type: 'float', value: 19.5, time: '2024-05-01T12:00:00.000Z' },
      ],
      format: 'senml-json',
    });
    expect((await d.send(s.coap, Buffer.from('{not json'), ContentFormat.SENML_JSON)).code).toBe(
      '4.00',
    );
    const err = await events.next((e) => e.event === 'coap-error');
    expect(err.data).toMatchObject({ address: '127.0.0.1', port: d.port, coapCode: '4.00' });
    expect(typeof err.data.message).toBe('string');

    const list = await call(s.base, 'GET', '/api/clients');
    expect(list.body[0]).toMatchObject({
      endpoint: 'q-dev',
      queueMode: true,
      queue: { queued: 0 },
    });
    expect(typeof list.body[0].queue.awake).toBe('boolean');
  });

  it('closing the API ends open event streams', async () => {
    const s = await setup();
    const events = await sse(`${s.base}/api/events`);
    await s.app.close();
    await events.ended;
    expect(events.raw()).toContain(': connected');
  });
});

describe('errors', () => {
  it('400 for a bad path, a bad JSON value, malformed JSON and bad query parameters', async () => {
    const s = await setup();
    await device(s);
    const path = await call(s.base, 'GET', '/api/clients/dev-1/3/x');
    expect(path.status).toBe(400);
    expect(path.body).toMatchObject({ error: 'InvalidPathError', coapCode: '4.00' });
    expect(path.body.message).toContain('"x"');

    const value = await call(s.base, 'PUT', '/api/clients/dev-1/3/0/14', { body: { value: 5 } });
    expect(value.status).toBe(400);
    expect(value.body).toEqual({
      error: 'InvalidValueError',
      message: '/3/0/14: expected a string, got number 5',
      coapCode: '4.00',
    });
    const unknownRes = await call(s.base, 'PUT', '/api/clients/dev-1/3/0/999', {
      body: { value: 5 },
    });
    expect(unknownRes.status).toBe(400);
    expect(unknownRes.body.message).toMatch(/has no resource 999/);

    const json = await call(s.base, 'PUT', '/api/clients/dev-1/3/0/14', { body: '{"value": ' });
    expect(json.status).toBe(400);
    expect(json.body.error).toBe('BadRequest');

    const timeout = await call(s.base, 'GET', '/api/clients/dev-1/3/0/0?timeout=soon');
    expect(timeout.status).toBe(400);
    expect(timeout.body.message).toMatch(/timeout/);
    const format = await call(s.base, 'GET', '/api/clients/dev-1/3/0/0?format=xml');
    expect(format.status).toBe(400);
    expect(format.body.message).toMatch(/format must be one of/);
    const root = await call(s.base, 'GET', '/api/clients/dev-1/');
    expect(root.status).toBe(400);
  });

  it("maps the device's refusal to HTTP with the CoAP code", async () => {
    const s = await setup();
    await device(s);
    const r = await call(s.base, 'GET', '/api/clients/dev-1/3/0/99');
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ error: 'NOT_FOUND', coapCode: '4.04' });
    expect(r.body.message).toMatch(/Read \/3\/0\/99: the client answered 4\.04/);
  });

  it('504 when the device does not answer in ?timeout=', async () => {
    const s = await setup();
    const d = await device(s);
    d.silent = true;
    const started = Date.now();
    const r = await call(s.base, 'GET', '/api/clients/dev-1/3/0/0?timeout=300');
    expect(r.status).toBe(504);
    expect(r.body).toMatchObject({ error: 'TimeoutError', coapCode: '5.04' });
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('404 JSON for unknown routes', async () => {
    const s = await setup();
    const r = await call(s.base, 'GET', '/nothing/here?x=1');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ error: 'NotFound', message: 'no route for GET /nothing/here' });
  });
});

describe('bearer token', () => {
  it('401 without or with a wrong token; /health stays open', async () => {
    const s = await setup({ token: 's3cret' });
    const none = await call(s.base, 'GET', '/api/clients');
    expect(none.status).toBe(401);
    expect(none.body.error).toBe('Unauthorized');
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await call(s.base, 'GET', '/api/clients', {
      headers: { authorization: 'Bearer s3cres' },
    });
    expect(wrong.status).toBe(401);
    expect((await call(s.base, 'GET', '/metrics')).status).toBe(401);
    expect((await call(s.base, 'GET', '/api/nothing')).status).toBe(401);
    // The decision follows the matched route, so an encoded path does not slip past it.
    const encoded = await call(s.base, 'GET', '/%61pi/clients');
    expect(encoded.status).toBe(401);
    const lower = await call(s.base, 'GET', '/api/clients', {
      headers: { authorization: 'bearer s3cret' },
    });
    expect(lower.status).toBe(200);
    const ok = await call(s.base, 'GET', '/api/clients', {
      headers: { authorization: 'Bearer s3cret' },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual([]);
    const health = await call(s.base, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });

    const denied = await openSse(`${s.base}/api/events`);
    denied.close();
    expect(denied.status).toBe(401);
    const events = await sse(`${s.base}/api/events?access_token=s3cret`);
    expect(events.status).toBe(200);
  });
});

describe('metrics, health, object specs, security', () => {
  it('/metrics is Prometheus text with server stats, registrations and HTTP counts', async () => {
    const s = await setup();
    await device(s);
    await call(s.base, 'GET', '/api/clients/dev-1/3/0/0');
    await call(s.base, 'GET', '/health');
    const m = await call(s.base, 'GET', '/metrics');
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const lines = m.text.trimEnd().split('\n');
    const types = new Map<string, string>();
    const samples = new Map<string, number>();
    for (const line of lines) {
      const t = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/.exec(line);
      if (t) {
        expect(types.has(t[1]!)).toBe(false);
        types.set(t[1]!, t[2]!);
        continue;
      }
      if (line.startsWith('# HELP ')) continue;
      const sample =
        /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (-?[0-9.e+]+|NaN|[+-]Inf)$/.exec(
          line,
        );
      expect(sample, line).not.toBeNull();
      expect(types.has(sample![1]!), `TYPE before ${line}`).toBe(true);
      samples.set(`${sample![1]}${sample![2] ?? ''}`, Number(sample![4]));
    }
    expect(samples.get('lwm2m_registrations')).toBe(1);
    expect(types.get('lwm2m_registrations')).toBe('gauge');
    expect(samples.get('lwm2m_requests_sent_total')).toBeGreaterThanOrEqual(1);
    expect(types.get('lwm2m_requests_sent_total')).toBe('counter');
    expect(
      samples.get('lwm2m_http_requests_total{method="GET",status="200"}'),
    ).toBeGreaterThanOrEqual(2);
  });

  it('object specs: list, one, version, errors', async () => {
    const s = await setup();
    const list = await call(s.base, 'GET', '/api/objectspecs');
    expect(list.status).toBe(200);
    const ids = new Set(list.body.map((m: { id: number }) => m.id));
    expect(ids.has(3)).toBe(true);
    expect(ids.has(3303)).toBe(true);
    const dev = await call(s.base, 'GET', '/api/objectspecs/3');
    expect(dev.body).toMatchObject({ id: 3, name: 'Device', multiple: false, mandatory: true });
    expect(dev.body.resources.find((r: { id: number }) => r.id === 0)).toMatchObject({
      id: 0,
      name: 'Manufacturer',
      type: 'string',
      operations: 'R',
      multiple: false,
    });
    const v10 = await call(s.base, 'GET', '/api/objectspecs/3?version=1.0');
    expect(v10.status).toBe(200);
    expect(v10.body.version).toBe('1.0');
    const nov = await call(s.base, 'GET', '/api/objectspecs/3?version=9.9');
    expect(nov.status).toBe(404);
    expect(nov.body.message).toMatch(/known: /);
    expect((await call(s.base, 'GET', '/api/objectspecs/40000')).status).toBe(404);
    expect((await call(s.base, 'GET', '/api/objectspecs/x')).status).toBe(400);
  });

  it('security entries: put, list with hex keys, validation, conflict, delete', async () => {
    const s = await setup();
    const put = await call(s.base, 'PUT', '/api/security/clients/dev-1', {
      body: { mode: 'psk', identity: 'dev-1-id', key: '00112233AABBCCDD' },
    });
    expect(put.status).toBe(201);
    expect(put.body).toEqual({
      endpoint: 'dev-1',
      mode: 'psk',
      identity: 'dev-1-id',
      key: '00112233aabbccdd',
    });
    const again = await call(s.base, 'PUT', '/api/security/clients', {
      body: { endpoint: 'dev-1', mode: 'psk', identity: 'dev-1-id', key: 'ff' },
    });
    expect(again.status).toBe(200);
    expect(await s.server.security.getByEndpoint('dev-1')).toMatchObject({
      key: new Uint8Array([255]),
    });
    const nosec = await call(s.base, 'PUT', '/api/security/clients/dev-2', {
      body: { mode: 'nosec' },
    });
    expect(nosec.status).toBe(201);

    const list = await call(s.base, 'GET', '/api/security/clients');
    expect(list.body).toEqual(
      expect.arrayContaining([
        { endpoint: 'dev-1', mode: 'psk', identity: 'dev-1-id', key: 'ff' },
        { endpoint: 'dev-2', mode: 'nosec' },
      ]),
    );
    expect((await call(s.base, 'GET', '/api/security/clients/dev-2')).body).toEqual({
      endpoint: 'dev-2',
      mode: 'nosec',
    });

    for (const body of [
      { mode: 'psk', identity: 'x', key: 'abc' },
      { mode: 'psk', identity: 'x', key: 'zz' },
      { mode: 'psk', identity: '', key: 'aa' },
      { mode: 'rpk' },
      { mode: 'nosec', key: 'aa' },
    ]) {
      const r = await call(s.base, 'PUT', '/api/security/clients/dev-3', { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error).toBe('InvalidValueError');
    }
    const mismatch = await call(s.base, 'PUT', '/api/security/clients/dev-3', {
      body: { endpoint: 'dev-4', mode: 'nosec' },
    });
    expect(mismatch.status).toBe(400);

    const clash = await call(s.base, 'PUT', '/api/security/clients/dev-3', {
      body: { mode: 'psk', identity: 'dev-1-id', key: 'aa' },
    });
    expect(clash.status).toBe(409);
    expect(clash.body.error).toBe('IdentityInUseError');

    const del = await call(s.base, 'DELETE', '/api/security/clients/dev-1');
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expect((await call(s.base, 'GET', '/api/security/clients/dev-1')).status).toBe(404);
    expect((await call(s.base, 'DELETE', '/api/security/clients/dev-1')).status).toBe(404);
  });
});
