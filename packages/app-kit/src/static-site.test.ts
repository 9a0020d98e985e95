import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerStaticSite, type StaticSiteOptions } from './static-site.js';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

const INDEX = '<!doctype html><title>test page</title><div id="app"></div>';
const JS = `console.log(${JSON.stringify('x'.repeat(2000))});`;
let root: string;

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'static-site-'));
  mkdirSync(path.join(root, 'assets'));
  writeFileSync(path.join(root, 'index.html'), INDEX);
  writeFileSync(path.join(root, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(path.join(root, 'assets', 'app-ABCD1234.js'), JS);
  writeFileSync(path.join(root, 'assets', 'app-EFGH5678.css'), 'body{color:red}');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A bare fastify app with a JSON 404, as the REST APIs have. */
function bareApp(options: Partial<StaticSiteOptions> = {}) {
  const app = Fastify();
  open.push(app);
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: 'NotFound', message: `no route for ${req.method} ${req.url}` }),
  );
  app.get('/api/clients', async () => []);
  registerStaticSite(app, {
    root,
    pageRoutes: ['/clients', 'security/'],
    title: 'Test <server>',
    apiUrl: '/api/clients',
    ...options,
  });
  return app;
}

describe('registerStaticSite (a build in a temp directory)', () => {
  it('serves index.html at / with no-cache, an ETag and a CSP', async () => {
    const app = bareApp();
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body).toBe(INDEX);
    const again = await app.inject({
      method: 'GET',
      url: '/',
      headers: { 'if-none-match': String(res.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('serves hashed assets with their content type, cached for good, gzip when accepted', async () => {
    const app = bareApp();
    const js = await app.inject({ method: 'GET', url: '/assets/app-ABCD1234.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.body).toBe(JS);
    const css = await app.inject({ method: 'GET', url: '/assets/app-EFGH5678.css' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const svg = await app.inject({ method: 'GET', url: '/favicon.svg' });
    expect(svg.headers['content-type']).toBe('image/svg+xml');
    expect(svg.headers['cache-control']).toBe('public, max-age=3600');

    const zipped = await app.inject({
      method: 'GET',
      url: '/assets/app-ABCD1234.js',
      headers: { 'accept-encoding': 'gzip, deflate' },
    });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toBe('accept-encoding');
    expect(gunzipSync(zipped.rawPayload).toString()).toBe(JS);
    const head = await app.inject({ method: 'HEAD', url: '/assets/app-ABCD1234.js' });
    expect(head.statusCode).toBe(200);
  });

  it('answers index.html for client-side routes, and a 404 for missing assets', async () => {
    const app = bareApp();
    for (const url of ['/clients', '/clients/dev-1', '/clients/urn%3Aimei%3A1.2', '/security']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.body, url).toBe(INDEX);
    }
    const missing = await app.inject({ method: 'GET', url: '/assets/app-OLD00000.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: 'NotFound' });
    const traversal = await app.inject({ method: 'GET', url: '/assets/../index.html' });
    expect([200, 404]).toContain(traversal.statusCode);
    if (traversal.statusCode === 200) expect(traversal.body).toBe(INDEX);
  });

  it('never shadows the API: unknown /api paths stay JSON 404, API routes answer', async () => {
    const app = bareApp();
    const unknown = await app.inject({ method: 'GET', url: '/api/unknown' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers['content-type']).toMatch(/^application\/json/);
    expect((await app.inject({ method: 'GET', url: '/api/clients' })).json()).toEqual([]);
    expect((await app.inject({ method: 'GET', url: '/metrics/x' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/nothing/here' })).statusCode).toBe(404);
  });

  it('answers 503 with a note when the page is not built', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'web-routes-empty-'));
    try {
      const app = bareApp({ root: empty });
      const res = await app.inject({ method: 'GET', url: '/clients/dev-1' });
      expect(res.statusCode).toBe(503);
      expect(res.body).toContain('pnpm build');
      expect(res.body).toContain('<title>Test &#60;server&#62;</title>');
      expect(res.body).toContain('<a href="/api/clients">');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
