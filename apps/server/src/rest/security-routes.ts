/**
 * `/api/security/clients…`: the endpoints' credentials.
 *
 * - `GET /api/security/clients` → `[entry, ...]`; `GET /api/security/clients/:ep` → `entry` (404)
 * - `PUT /api/security/clients/:ep` with `entry` (`endpoint` optional, must match), or
 *   `PUT /api/security/clients` with `entry` naming its `endpoint` → the stored entry, 201 when
 *   new, 200 when it replaced one; 409 `IdentityInUseError` when another endpoint has the identity
 * - `DELETE /api/security/clients/:ep` → 204 (404 when there was none)
 *
 * `entry` is `{ "endpoint", "mode": "psk", "identity", "key": "<hex>" }` or
 * `{ "endpoint", "mode": "nosec" }`. GET shows keys in hex (as Leshan's demo server does): this
 * API is for the operators who set them; protect it with `--token`.
 */
import { InvalidValueError } from '@lwm2m-ts/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SecurityInfo } from '../security-store.js';
import { RestError } from './http-errors.js';
import { securityToJson } from './json-shapes.js';
import type { RestApiServer } from './server-api.js';

/** Largest PSK accepted, in bytes (RFC 4279 allows more; no LwM2M device uses more). */
export const MAX_PSK_BYTES = 256;
/** Longest PSK identity, in UTF-8 bytes. */
export const MAX_IDENTITY_BYTES = 256;
const MAX_ENDPOINT_CHARS = 1024;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;

function checkEndpoint(ep: unknown): string {
  if (typeof ep !== 'string' || ep === '' || ep.length > MAX_ENDPOINT_CHARS) {
    throw new InvalidValueError(
      `"endpoint" must be a non-empty string of at most ${MAX_ENDPOINT_CHARS} characters`,
    );
  }
  return ep;
}

/** A security entry from JSON; `endpoint` comes from the URL when given there. */
export function securityFromJson(body: unknown, endpointFromUrl?: string): SecurityInfo {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidValueError(
      'expected { "endpoint", "mode": "psk", "identity", "key": "<hex>" } or { "endpoint", "mode": "nosec" }',
    );
  }
  const b = body as Record<string, unknown>;
  if (endpointFromUrl !== undefined && b.endpoint !== undefined && b.endpoint !== endpointFromUrl) {
    throw new InvalidValueError(
      `"endpoint" ${JSON.stringify(b.endpoint)} does not match the URL's "${endpointFromUrl}"`,
    );
  }
  const endpoint = checkEndpoint(endpointFromUrl ?? b.endpoint);
  const mode = b.mode;
  if (mode === 'nosec') {
    if (b.identity !== undefined || b.key !== undefined) {
      throw new InvalidValueError('mode "nosec" takes no "identity" or "key"');
    }
    return { endpoint, mode: 'nosec' };
  }
  if (mode !== 'psk') {
    throw new InvalidValueError(
      `"mode" must be "psk" or "nosec", got ${JSON.stringify(mode ?? null)}`,
    );
  }
  const identity = b.identity;
  if (
    typeof identity !== 'string' ||
    identity === '' ||
    Buffer.byteLength(identity, 'utf8') > MAX_IDENTITY_BYTES
  ) {
    throw new InvalidValueError(
      `"identity" must be a non-empty string of at most ${MAX_IDENTITY_BYTES} UTF-8 bytes`,
    );
  }
  const key = b.key;
  if (typeof key !== 'string' || !HEX.test(key) || key.length / 2 > MAX_PSK_BYTES) {
    throw new InvalidValueError(
      `"key" must be the PSK in hex (an even number of 0-9a-f digits, 1..${MAX_PSK_BYTES} bytes)`,
    );
  }
  return { endpoint, mode: 'psk', identity, key: new Uint8Array(Buffer.from(key, 'hex')) };
}

type SecRequest = FastifyRequest<{ Params: { ep?: string } }>;

export function registerSecurityRoutes(app: FastifyInstance, server: RestApiServer): void {
  app.get('/api/security/clients', async () => (await server.security.list()).map(securityToJson));

  app.get('/api/security/clients/:ep', async (req: SecRequest) => {
    const ep = req.params.ep ?? '';
    const info = await server.security.getByEndpoint(ep);
    if (info === undefined) throw new RestError(404, 'NotFound', `no security entry for "${ep}"`);
    return securityToJson(info);
  });

  const put = async (req: SecRequest, reply: import('fastify').FastifyReply) => {
    const info = securityFromJson(req.body, req.params.ep);
    const previous = await server.security.put(info);
    reply.status(previous === undefined ? 201 : 200);
    return securityToJson(info);
  };
  app.put('/api/security/clients', put);
  app.put('/api/security/clients/:ep', put);

  app.delete('/api/security/clients/:ep', async (req: SecRequest, reply) => {
    const ep = req.params.ep ?? '';
    const removed = await server.security.remove(ep);
    if (removed === undefined)
      throw new RestError(404, 'NotFound', `no security entry for "${ep}"`);
    reply.status(204);
    return reply.send();
  });
}
