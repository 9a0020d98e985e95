/**
 * `GET /api/clients` with paging, search and order, through `app.inject` in front of a real
 * LwM2mServer whose registration store is filled directly (no CoAP: thousands of registrations
 * in milliseconds).
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { Registration } from '../registration.js';
import { LwM2mServer } from '../server.js';
import { createRestApi } from './app.js';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

const T0 = Date.parse('2025-01-01T00:00:00Z');

/** Registration `i`: endpoint `dev-<i, 5 digits>`, registered `i` s after T0. */
function reg(i: number, over: Partial<Registration> = {}): Registration {
  const endpoint = `dev-${String(i).padStart(5, '0')}`;
  const lifetime = 300 + (i % 7) * 60;
  const lastUpdate = T0 + ((i * 7919) % 1000) * 1000;
  return {
    id: `id-${i}`,
    endpoint,
    lwm2mVersion: i % 3 === 0 ? '1.0' : '1.1',
    lifetime,
    binding: i % 5 === 0 ? 'UQ' : 'U',
    queueMode: i % 5 === 0,
    rootPath: '/',
    objectLinks: [{ objectId: 3, instanceId: 0 }],
    address: '127.0.0.1',
    port: 40000 + (i % 20000),
    transport: 'udp',
    registeredAt: T0 + i * 1000,
    lastUpdate,
    expiresAt: lastUpdate + lifetime * 1000,
    ...over,
  };
}

async function setup(count: number): Promise<{ server: LwM2mServer; app: FastifyInstance }> {
  const server = new LwM2mServer({ coap: { address: '127.0.0.1', port: 0 }, dtls: false });
  open.push(server);
  // Added out of order, so that the answers' order is the route's doing.
  for (let k = 0; k < count; k++) await server.registrations.add(reg((k * 7) % count));
  const app = createRestApi(server, { web: false });
  open.push(app);
  await app.ready();
  return { server, app };
}

async function get(app: FastifyInstance, url: string) {
  const res = await app.inject({ method: 'GET', url });
  return {
    status: res.statusCode,
    total: res.headers['x-total-count'],
    body: res.json(),
  };
}

const endpoints = (body: { endpoint: string }[]) => body.map((r) => r.endpoint);

describe('GET /api/clients paging', () => {
  it('without paging parameters: the whole list by endpoint and no count header, as before', async () => {
    const { app } = await setup(30);
    const res = await get(app, '/api/clients');
    expect(res.status).toBe(200);
    expect(res.total).toBeUndefined();
    expect(endpoints(res.body)).toEqual(
      Array.from({ length: 30 }, (_, i) => `dev-${String(i).padStart(5, '0')}`),
    );
    expect(res.body[5]).toMatchObject({
      endpoint: 'dev-00005',
      registrationId: 'id-5',
      binding: 'UQ',
      queueMode: true,
      registeredAt: new Date(T0 + 5000).toISOString(),
    });
  });

  it('limit and offset cut the list; x-total-count is the whole count', async () => {
    const { app } = await setup(250);
    const first = await get(app, '/api/clients?limit=100');
    expect(first.status).toBe(200);
    expect(first.total).toBe('250');
    expect(first.body).toHaveLength(100);
    expect(first.body[0].endpoint).toBe('dev-00000');
    expect(first.body[99].endpoint).toBe('dev-00099');

    const last = await get(app, '/api/clients?limit=100&offset=200');
    expect(endpoints(last.body)).toEqual(Array.from({ length: 50 }, (_, i) => `dev-00${200 + i}`));
    expect(last.total).toBe('250');

    // Same JSON as the full list for the same rows.
    const all = await get(app, '/api/clients');
    expect(last.body).toEqual(all.body.slice(200));

    const beyond = await get(app, '/api/clients?limit=100&offset=1000');
    expect(beyond).toMatchObject({ status: 200, total: '250', body: [] });
    const count = await get(app, '/api/clients?limit=0');
    expect(count).toMatchObject({ status: 200, total: '250', body: [] });
    // offset alone: the rest of the list.
    const rest = await get(app, '/api/clients?offset=245');
    expect(endpoints(rest.body)).toEqual([
      'dev-00245',
      'dev-00246',
      'dev-00247',
      'dev-00248',
      'dev-00249',
    ]);
  });

  it('q keeps the endpoints that contain it (ignoring case); the count follows', async () => {
    const { app } = await setup(250);
    const res = await get(app, '/api/clients?q=DEV-001&limit=20');
    expect(res.total).toBe('100');
    expect(res.body).toHaveLength(20);
    expect(res.body.every((r: { endpoint: string }) => r.endpoint.startsWith('dev-001'))).toBe(
      true,
    );
    const one = await get(app, '/api/clients?q=00042');
    expect(one.total).toBe('1');
    expect(endpoints(one.body)).toEqual(['dev-00042']);
    const none = await get(app, '/api/clients?q=nobody&limit=10');
    expect(none).toMatchObject({ status: 200, total: '0', body: [] });
    // An empty q is every client.
    expect((await get(app, '/api/clients?q=&limit=1')).total).toBe('250');
  });

  it('sorts by each field, both ways, ties by endpoint', async () => {
    const { app } = await setup(120);
    const all = (await get(app, '/api/clients')).body as Record<string, unknown>[];
    const cases: [string, (r: Record<string, unknown>) => string | number][] = [
      ['endpoint', (r) => r.endpoint as string],
      ['lwm2mVersion', (r) => r.lwm2mVersion as string],
      ['binding', (r) => r.binding as string],
      ['state', (r) => (r.queueMode ? 'awake' : 'online')],
      ['lastUpdate', (r) => Date.parse(r.lastUpdate as string)],
      ['registeredAt', (r) => Date.parse(r.registeredAt as string)],
      ['expiresAt', (r) => Date.parse(r.expiresAt as string)],
      ['lifetime', (r) => r.lifetime as number],
    ];
    for (const [field, key] of cases) {
      for (const order of ['asc', 'desc'] as const) {
        const dir = order === 'desc' ? -1 : 1;
        const expected = [...all]
          .sort((a, b) => {
            const x = key(a);
            const y = key(b);
            const c = x < y ? -1 : x > y ? 1 : 0;
            return c !== 0 ? c * dir : (a.endpoint as string) < (b.endpoint as string) ? -1 : 1;
          })
          .map((r) => r.endpoint);
        const page = await get(app, `/api/clients?sort=${field}&order=${order}&limit=30&offset=10`);
        expect(page.status, `${field} ${order}`).toBe(200);
        expect(endpoints(page.body), `${field} ${order}`).toEqual(expected.slice(10, 40));
        expect(page.total).toBe('120');
      }
    }
  });

  it('sorts by state with the sleeping queue-mode clients the events told of', async () => {
    const { server, app } = await setup(20);
    // Queue mode: 0, 5, 10, 15 (every fifth); 5 and 15 fall asleep, 15 wakes up again.
    const sleep = (i: number) => server.emit('sleeping', { registration: reg(i) });
    sleep(5);
    sleep(15);
    server.emit('awake', { registration: reg(15) });
    sleep(10);
    server.emit('deregistered', { registration: reg(10), reason: 'deregistered' });
    const page = await get(app, '/api/clients?sort=state&order=desc&limit=3');
    expect(endpoints(page.body)).toEqual(['dev-00005', 'dev-00001', 'dev-00002']);
    const asc = await get(app, '/api/clients?sort=state&limit=4');
    expect(endpoints(asc.body)).toEqual(['dev-00000', 'dev-00010', 'dev-00015', 'dev-00001']);
  });

  it('400 naming the parameter for bad values', async () => {
    const { app } = await setup(3);
    const bad: [string, RegExp][] = [
      ['limit=-1', /^limit must be a whole number in 0\.\.10000, got "-1"/],
      ['limit=ten', /^limit must be a whole number/],
      ['limit=1.5', /^limit must be a whole number/],
      ['limit=10001', /^limit must be a whole number in 0\.\.10000/],
      ['offset=x', /^offset must be a whole number/],
      ['offset=-5', /^offset must be a whole number/],
      ['sort=name', /^sort must be one of endpoint, .*lifetime, got "name"/],
      ['order=up', /^order must be "asc" or "desc", got "up"/],
      ['limit=1&limit=2', /query parameter "limit" is repeated/],
      ['q=a&q=b', /query parameter "q" is repeated/],
    ];
    for (const [query, message] of bad) {
      const res = await app.inject({ method: 'GET', url: `/api/clients?${query}` });
      expect(res.statusCode, query).toBe(400);
      expect(res.json().message, query).toMatch(message);
    }
  });

  it('a page of 100,000 registrations without listing them all', async () => {
    const { app } = await setup(100_000);
    const started = performance.now();
    const page = await get(app, '/api/clients?limit=100&offset=500&sort=lastUpdate&order=desc');
    const search = await get(app, '/api/clients?limit=100&q=dev-0999');
    const count = await get(app, '/api/clients?limit=0');
    const ms = performance.now() - started;
    expect(page.total).toBe('100000');
    expect(page.body).toHaveLength(100);
    const times = page.body.map((r: { lastUpdate: string }) => Date.parse(r.lastUpdate));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(search.total).toBe('10');
    expect(search.body[0].endpoint).toBe('dev-09990');
    expect(count.total).toBe('100000');
    // Generous on a loaded machine: the point is no per-client work beyond a sort.
    expect(ms).toBeLessThan(5000);
  }, 60_000);
});
