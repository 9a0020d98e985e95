import { readdirSync } from 'node:fs';
import path from 'node:path';
import { bootstrapWebUiDir } from '@lwm2m-ts/web-ui';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { BootstrapServer } from '../server.js';
import { createRestApi, type RestApiOptions } from './app.js';
import { PAGE_ROUTES } from './web-routes.js';

// How files are served and cached is app-kit's registerStaticSite (tested there); here: the
// bootstrap page, its views and the API beside it.
const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

describe('with the REST API and the real build', () => {
  async function restApp(options: RestApiOptions = {}): Promise<FastifyInstance> {
    const server = new BootstrapServer({ coap: { address: '127.0.0.1', port: 0 }, dtls: false });
    open.push(server);
    const app = createRestApi(server, options);
    open.push(app);
    await app.ready();
    return app;
  }

  const asset = () =>
    readdirSync(path.join(bootstrapWebUiDir, 'assets')).find((f) => f.endsWith('.js'));

  it('serves the bootstrap page and its files; the API, /health and /metrics still answer', async () => {
    const app = await restApp();
    const index = await app.inject({ method: 'GET', url: '/' });
    expect(index.statusCode).toBe(200);
    expect(index.body).toContain('<title>LwM2M bootstrap server</title>');
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(index.body)?.[1];
    expect(script).toBe(`/assets/${asset()}`);
    const js = await app.inject({ method: 'GET', url: script! });
    expect(js.statusCode).toBe(200);
    const stylesheet = /href="(\/assets\/[^"]+\.css)"/.exec(index.body)?.[1];
    const css = await app.inject({ method: 'GET', url: stylesheet! });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    for (const url of [...PAGE_ROUTES, '/configs/dev-1']) {
      const view = await app.inject({ method: 'GET', url });
      expect(view.statusCode, url).toBe(200);
      expect(view.body, url).toBe(index.body);
    }

    expect((await app.inject({ method: 'GET', url: '/api/bootstrap' })).json()).toEqual({});
    const unknown = await app.inject({ method: 'GET', url: '/api/unknown' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: 'NotFound' });
    expect((await app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'ok' });
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
  });

  it('with a token, the page is open and the API still asks for the token', async () => {
    const app = await restApp({ token: 's3cret' });
    expect((await app.inject({ method: 'GET', url: '/' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/new' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/bootstrap' })).statusCode).toBe(401);
  });

  it('web: false leaves the page out', async () => {
    const app = await restApp({ web: false });
    expect((await app.inject({ method: 'GET', url: '/' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/configs/x' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
