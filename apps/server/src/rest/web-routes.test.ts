import { readdirSync } from 'node:fs';
import path from 'node:path';
import { webUiDir } from '@lwm2m-ts/web-ui';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { LwM2mServer } from '../server.js';
import { createRestApi, type RestApiOptions } from './app.js';
import { PAGE_ROUTES, registerWebRoutes } from './web-routes.js';

// How files are served and cached is app-kit's registerStaticSite (tested there); here: the
// server's page, its views and the API beside it.
const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

describe('with the REST API and the real build', () => {
  async function restApp(options: RestApiOptions = {}): Promise<FastifyInstance> {
    const server = new LwM2mServer({ coap: { address: '127.0.0.1', port: 0 }, dtls: false });
    open.push(server);
    const app = createRestApi(server, options);
    open.push(app);
    // createRestApi may already serve the page; add it only when it does not.
    if (!app.hasRoute({ method: 'GET', url: '/' })) registerWebRoutes(app);
    await app.ready();
    return app;
  }

  const asset = () => readdirSync(path.join(webUiDir, 'assets')).find((f) => f.endsWith('.js'));

  it('serves the built page, its script, and the SPA fallback; /api/unknown stays a JSON 404', async () => {
    const app = await restApp();
    const index = await app.inject({ method: 'GET', url: '/' });
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.body).toContain('<div id="app">');
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(index.body)?.[1];
    expect(script).toBe(`/assets/${asset()}`);
    const js = await app.inject({ method: 'GET', url: script! });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    const stylesheet = /href="(\/assets\/[^"]+\.css)"/.exec(index.body)?.[1];
    const css = await app.inject({ method: 'GET', url: stylesheet! });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');

    for (const view of [...PAGE_ROUTES, '/clients/x', '/security/new']) {
      const spa = await app.inject({ method: 'GET', url: view });
      expect(spa.statusCode, view).toBe(200);
      expect(spa.body, view).toBe(index.body);
    }

    const unknown = await app.inject({ method: 'GET', url: '/api/unknown' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: 'NotFound', message: 'no route for GET /api/unknown' });
    expect((await app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'ok' });
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
  });

  it('with a token, the page is open and the API still asks for the token', async () => {
    const app = await restApp({ token: 's3cret' });
    expect((await app.inject({ method: 'GET', url: '/' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/clients/dev-1' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/clients' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/api/unknown' })).statusCode).toBe(401);
  });
});
