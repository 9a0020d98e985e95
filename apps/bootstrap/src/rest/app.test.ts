import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { BootstrapServer } from '../server.js';
import { BootstrapDevice } from '../test-device.js';
import { createRestApi, type RestApiOptions } from './app.js';
import { call, openSse } from './test-http.js';

const open: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

const CONFIG = {
  servers: [
    {
      shortServerId: 1,
      uri: 'coaps://dm.example:5684',
      securityMode: 'psk',
      pskIdentity: 'dev-1',
      pskKey: '0A0B0C0D',
      lifetime: 300,
    },
  ],
  read: ['/1'],
};

async function start(options: RestApiOptions = {}) {
  const server = new BootstrapServer({
    coap: { address: '127.0.0.1', port: 0 },
    dtls: false,
    stepTimeout: 3000,
  });
  open.push(server);
  await server.start();
  const app: FastifyInstance = createRestApi(server, options);
  open.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { server, app, base, coap: server.addresses().coap! };
}

describe('REST API', () => {
  it('PUTs, GETs, lists and DELETEs configurations', async () => {
    const { base } = await start();
    const created = await call(base, 'PUT', '/api/bootstrap/dev-1', { body: CONFIG });
    expect(created.status).toBe(201);
    expect(created.body.servers[0]).toMatchObject({ pskKey: '0a0b0c0d', binding: 'U' });
    expect(created.body.deletePaths).toEqual(['/']);
    const replaced = await call(base, 'PUT', '/api/bootstrap/dev-1', { body: CONFIG });
    expect(replaced.status).toBe(200);
    await call(base, 'PUT', '/api/bootstrap/dev%202', { body: { servers: [] } });

    const one = await call(base, 'GET', '/api/bootstrap/dev-1');
    expect(one.status).toBe(200);
    expect(one.body).toEqual(created.body);
    const all = await call(base, 'GET', '/api/bootstrap');
    expect(Object.keys(all.body)).toEqual(['dev 2', 'dev-1']);
    expect(all.body['dev-1']).toEqual(created.body);

    expect((await call(base, 'DELETE', '/api/bootstrap/dev-1')).status).toBe(204);
    const gone = await call(base, 'GET', '/api/bootstrap/dev-1');
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({
      error: 'NotFound',
      message: 'no bootstrap configuration for "dev-1"',
    });
    expect((await call(base, 'DELETE', '/api/bootstrap/dev-1')).status).toBe(404);
  });

  it('answers 400 naming the field of an invalid configuration, 409 for a taken identity', async () => {
    const { base } = await start();
    const bad = await call(base, 'PUT', '/api/bootstrap/dev-1', {
      body: { servers: [{ ...CONFIG.servers[0], uri: 'http://dm.example' }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({
      error: 'BootstrapConfigError',
      field: 'servers[0].uri',
      message: 'servers[0].uri: must be a coap:// or coaps:// URI, got "http://dm.example"',
      coapCode: '4.00',
    });
    const json = await call(base, 'PUT', '/api/bootstrap/dev-1', { body: '{"servers": [' });
    expect(json.status).toBe(400);
    const empty = await call(base, 'PUT', '/api/bootstrap/dev-1', { body: 'null' });
    expect(empty.status).toBe(400);
    expect((await call(base, 'GET', '/api/bootstrap')).body).toEqual({});

    const creds = { servers: [], bootstrapCredentials: { identity: 'same', key: '00' } };
    expect((await call(base, 'PUT', '/api/bootstrap/a', { body: creds })).status).toBe(201);
    const taken = await call(base, 'PUT', '/api/bootstrap/b', { body: creds });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toBe('IdentityInUseError');
  });

  it('streams bootstrap-started, step-done and bootstrap-finished (and -failed) as SSE', async () => {
    const { base, coap } = await start();
    // Only /0 is deleted, so Bootstrap-Read /1 finds the device's old server account.
    await call(base, 'PUT', '/api/bootstrap/dev-1', { body: { ...CONFIG, deletePaths: ['/0'] } });
    const all = await openSse(`${base}/api/events`);
    const other = await openSse(`${base}/api/events?ep=somebody-else`);
    open.push({ close: async () => all.close() });
    open.push({ close: async () => other.close() });
    expect(all.status).toBe(200);
    const d = await BootstrapDevice.start();
    open.push(d);
    expect((await d.bootstrap(coap, 'dev-1')).code).toBe('2.04');
    await all.waitFor((e) => e.event === 'bootstrap-finished');
    expect(all.events.map((e) => e.event)).toEqual([
      'bootstrap-started',
      'step-done',
      'step-done',
      'step-done',
      'step-done',
      'step-done',
      'bootstrap-finished',
    ]);
    expect(all.events[0]!.data).toMatchObject({
      endpoint: 'dev-1',
      mode: 'request',
      transport: 'udp',
    });
    const read = all.events.find((e) => e.data.step?.operation === 'read');
    // Bootstrap-Read values are made JSON: paths as strings, integers as numbers.
    expect(read!.data.values).toEqual([
      { path: '/1/7/0', type: 'integer', value: 99 },
      { path: '/1/7/1', type: 'integer', value: 60 },
    ]);

    d.answers = { 'PUT /0/1': '4.00' };
    await d.bootstrap(coap, 'dev-1');
    const [failed] = await all.waitFor((e) => e.event === 'bootstrap-failed');
    expect(failed!.data).toMatchObject({ endpoint: 'dev-1', code: '4.00', step: { path: '/0/1' } });
    await d.bootstrap(coap, 'unknown');
    await all.waitFor((e) => e.event === 'coap-error');
    expect(other.events).toEqual([]);
  });

  it('serves /metrics and /health', async () => {
    const { base, coap } = await start();
    await call(base, 'PUT', '/api/bootstrap/dev-1', { body: CONFIG });
    const d = await BootstrapDevice.start();
    open.push(d);
    await d.bootstrap(coap, 'nobody');
    const metrics = await call(base, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metrics.text).toContain(
      '# TYPE lwm2m_bootstrap_configs gauge\nlwm2m_bootstrap_configs 1\n',
    );
    expect(metrics.text).toContain('lwm2m_bootstrap_bootstrap_requests_total 1\n');
    expect(metrics.text).toContain('lwm2m_bootstrap_coap_errors_total 1\n');
    expect(metrics.text).toContain('# TYPE lwm2m_bootstrap_sessions gauge\n');
    expect(metrics.text).toMatch(
      /lwm2m_bootstrap_http_requests_total\{method="PUT",status="201"\} 1/,
    );
    expect((await call(base, 'GET', '/health')).body).toEqual({ status: 'ok' });
    expect((await call(base, 'GET', '/nope')).status).toBe(404);
  });

  it('requires the bearer token on /api and /metrics, not on /health', async () => {
    const { base } = await start({ token: 's3cret' });
    const none = await call(base, 'GET', '/api/bootstrap');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(
      (await call(base, 'GET', '/api/bootstrap', { headers: { authorization: 'Bearer x' } }))
        .status,
    ).toBe(401);
    expect((await call(base, 'GET', '/metrics')).status).toBe(401);
    expect((await call(base, 'GET', '/%61pi/bootstrap')).status).toBe(401);
    const auth = { authorization: 'Bearer s3cret' };
    expect((await call(base, 'GET', '/api/bootstrap', { headers: auth })).status).toBe(200);
    expect(
      (await call(base, 'PUT', '/api/bootstrap/x', { body: CONFIG, headers: auth })).status,
    ).toBe(201);
    expect((await call(base, 'GET', '/health')).status).toBe(200);
    const sse = await openSse(`${base}/api/events?access_token=s3cret`);
    sse.close();
    expect(sse.status).toBe(200);
    const refused = await openSse(`${base}/api/events`);
    refused.close();
    expect(refused.status).toBe(401);
  });
});
