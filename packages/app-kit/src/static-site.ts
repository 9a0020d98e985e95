/**
 * A prebuilt single-page site (the server's and the bootstrap server's web pages) on a fastify
 * app, beside its REST API:
 *
 * - `GET /` and the page's client-side views (`pageRoutes`, each with everything under it):
 *   `index.html`, `cache-control: no-cache` (revalidated with its ETag, so a new build shows at
 *   once);
 * - `GET /assets/<name>-<hash>.js|css`: content-hashed, cached for a year (`immutable`);
 * - the other files of the build (`/favicon.svg`, `/licenses.txt`): cached for an hour.
 *
 * Only those routes are added, with no catch-all, so nothing of the API is shadowed: `/api/…`,
 * `/metrics` and `/health` keep their routes, their bearer-token check (the page itself is
 * public; it asks for the token when the API answers 401) and the JSON 404 of unknown URLs.
 * Files are read once, when the routes are registered (a build is a few files, ~100 KB), and
 * served gzip-compressed to clients that accept it. Without a build, the page's routes answer
 * 503 with a note saying how to build it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface StaticSiteOptions {
  /** Directory of the built page (with `index.html` and `assets/`). */
  readonly root: string;
  /** Top-level paths of the page's own views, answered with `index.html`, e.g. `/clients`. */
  readonly pageRoutes: readonly string[];
  /** Whose page it is, for the "not built" note: e.g. `LwM2M server`. */
  readonly title: string;
  /** An API URL the "not built" note links to, e.g. `/api/clients`. */
  readonly apiUrl: string;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Same-origin only; no inline script or style elements (the page needs neither). */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';
const HOURLY = 'public, max-age=3600';
const REVALIDATE = 'no-cache';

interface StaticFile {
  readonly body: Buffer;
  readonly gzip: Buffer | undefined;
  readonly type: string;
  readonly etag: string;
  readonly cacheControl: string;
}

function listFiles(dir: string, base = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(dir, base), { withFileTypes: true })) {
    const rel = base === '' ? entry.name : `${base}/${entry.name}`;
    if (entry.isDirectory()) out.push(...listFiles(dir, rel));
    else if (entry.isFile()) out.push(rel);
  }
  return out;
}

function loadFile(root: string, rel: string): StaticFile {
  const body = readFileSync(path.join(root, rel));
  const ext = path.extname(rel).toLowerCase();
  const type = TYPES[ext] ?? 'application/octet-stream';
  const compressible = /^(text\/|image\/svg|application\/json)/.test(type);
  const zipped = compressible && body.length > 512 ? gzipSync(body, { level: 9 }) : undefined;
  const hashed = rel.startsWith('assets/') && /-[A-Za-z0-9]{8,}\.[a-z0-9]+$/.test(rel);
  return {
    body,
    gzip: zipped !== undefined && zipped.length < body.length ? zipped : undefined,
    type,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    cacheControl: rel === 'index.html' ? REVALIDATE : hashed ? IMMUTABLE : HOURLY,
  };
}

/** The built files by URL path (`/index.html`, `/assets/app-X.js`), read once. */
function loadBuild(root: string): Map<string, StaticFile> | undefined {
  if (!existsSync(path.join(root, 'index.html')) || !statSync(root).isDirectory()) return undefined;
  const files = new Map<string, StaticFile>();
  for (const rel of listFiles(root)) files.set(`/${rel}`, loadFile(root, rel));
  return files;
}

function acceptsGzip(req: FastifyRequest): boolean {
  const ae = req.headers['accept-encoding'];
  return typeof ae === 'string' && /\bgzip\b/i.test(ae) && !/\bgzip\s*;\s*q=0(\.0*)?\b/i.test(ae);
}

function send(req: FastifyRequest, reply: FastifyReply, file: StaticFile): FastifyReply {
  reply
    .header('content-type', file.type)
    .header('cache-control', file.cacheControl)
    .header('etag', file.etag)
    .header('vary', 'accept-encoding')
    .header('x-content-type-options', 'nosniff');
  if (file.type.startsWith('text/html')) {
    reply
      .header('content-security-policy', CSP)
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY');
  }
  const inm = req.headers['if-none-match'];
  if (typeof inm === 'string' && inm.split(/\s*,\s*/).includes(file.etag)) {
    return reply.code(304).send();
  }
  if (file.gzip !== undefined && acceptsGzip(req)) {
    return reply.header('content-encoding', 'gzip').send(file.gzip);
  }
  return reply.send(file.body);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function notBuiltPage(title: string, apiUrl: string): string {
  const t = escapeHtml(title);
  const u = escapeHtml(apiUrl);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${t}</title></head>
<body><h1>The web page is not built</h1>
<p>Build it with <code>pnpm build</code> (package <code>@lwm2m-ts/web-ui</code>), then restart the
${t}. The REST API works without it: <a href="${u}">${u}</a>.</p></body></html>
`;
}

/** Serves the site on `app` (see this module's comment). Call it once, before `listen()`. */
export function registerStaticSite(app: FastifyInstance, options: StaticSiteOptions): void {
  const root = path.resolve(options.root);
  const files = loadBuild(root);
  const notBuiltHtml = notBuiltPage(options.title, options.apiUrl);
  const notBuilt = (reply: FastifyReply) =>
    reply
      .code(503)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(notBuiltHtml);

  const index = async (req: FastifyRequest, reply: FastifyReply) => {
    const file = files?.get('/index.html');
    return file === undefined ? notBuilt(reply) : send(req, reply, file);
  };
  app.get('/', index);
  for (const prefix of options.pageRoutes) {
    const p = `/${prefix.replace(/^\/+|\/+$/g, '')}`;
    app.get(p, index);
    app.get(`${p}/*`, index);
  }

  // Assets: exactly the files of the build; anything else under /assets is a 404.
  app.get('/assets/*', async (req: FastifyRequest, reply: FastifyReply) => {
    if (files === undefined) return notBuilt(reply);
    const rel = (req.params as { '*'?: string })['*'] ?? '';
    const file = files.get(`/assets/${rel}`);
    return file === undefined ? reply.callNotFound() : send(req, reply, file);
  });
  for (const [url, file] of files ?? []) {
    if (url.startsWith('/assets/')) continue;
    app.get(url, async (req: FastifyRequest, reply: FastifyReply) => send(req, reply, file));
  }
}
