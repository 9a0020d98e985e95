/**
 * `/api/packages/:name`: firmware packages the server serves over CoAP at `/fw/<name>` (both
 * transports, block-wise) for the Firmware Update object's pull mode (Core TS 1.2 E.6).
 *
 * - `PUT /api/packages/:name` with an `application/octet-stream` body → 201 new, 200 replaced:
 *   `{ "name", "size", "path": "/fw/<name>" }`; 400 for a bad name or an empty body
 * - `DELETE /api/packages/:name` → 204 (404 when there was none)
 *
 * The device is then told `coap://<host>:<port>/fw/<name>` (or `coaps://`) by a Write of `/5/0/1`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RestError } from './http-errors.js';
import type { RestApiServer } from './server-api.js';

type PackageRequest = FastifyRequest<{ Params: { name: string } }>;

export function registerPackageRoutes(app: FastifyInstance, server: RestApiServer): void {
  // Only this content type gets a Buffer body; JSON and text keep their parsers.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );
  app.put('/api/packages/:name', async (req: PackageRequest, reply) => {
    const body = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) {
      throw new RestError(
        400,
        'BadRequest',
        'a firmware package is a non-empty application/octet-stream body',
      );
    }
    const name = req.params.name;
    // Synchronous from here: no request ever sees the name without a package.
    const replaced = /^[A-Za-z0-9._-]{1,64}$/.test(name) && server.removePackage(name);
    const path = server.addPackage(name, new Uint8Array(body));
    reply.status(replaced ? 200 : 201);
    return { name, size: body.length, path };
  });

  app.delete('/api/packages/:name', async (req: PackageRequest, reply) => {
    const name = req.params.name;
    if (!server.removePackage(name)) {
      throw new RestError(404, 'NotFound', `no firmware package "${name}"`);
    }
    reply.status(204);
    return reply.send();
  });
}
