import { InvalidPathError, LwM2mError, TimeoutError } from '@lwm2m-ts/core';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ConflictError, StoreFileError } from './errors.js';
import { createRestApp, type ErrorMapper, errorToJson, RestError } from './rest-plumbing.js';

class FieldError extends LwM2mError {
  readonly coapCode = '4.00' as const;
  constructor(readonly field: string) {
    super(`${field}: bad`);
  }
}

const mapField: ErrorMapper = (err) =>
  err instanceof FieldError
    ? {
        status: 400,
        body: { error: err.name, message: err.message, field: err.field },
        internal: false,
      }
    : undefined;

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

function app(options: Partial<Parameters<typeof createRestApp>[0]> = {}): FastifyInstance {
  const a = createRestApp({ realm: 'test-realm', ...options });
  apps.push(a);
  a.get('/health', async () => ({ status: 'ok' }));
  a.get('/metrics', async () => 'm 1\n');
  a.get('/api/things', async () => ['thing']);
  a.get('/api/events', async () => 'events');
  a.post('/api/things', async (req) => req.body);
  a.get('/api/fail/:kind', async (req) => {
    const { kind } = req.params as { kind: string };
    if (kind === 'rest') throw new RestError(405, 'MethodNotAllowed', 'no', { allow: 'PUT' });
    if (kind === 'conflict') throw new ConflictError('taken');
    if (kind === 'field') throw new FieldError('servers[0].uri');
    if (kind === 'file') throw new StoreFileError('/f.json', 'cannot write');
    throw new Error('secret detail');
  });
  return a;
}

describe('errorToJson', () => {
  it('maps each kind of failure to its status and JSON', () => {
    expect(errorToJson(new InvalidPathError('bad'))).toEqual({
      status: 400,
      body: { error: 'InvalidPathError', message: 'bad', coapCode: '4.00' },
      internal: false,
    });
    expect(errorToJson(new ConflictError('taken')).status).toBe(409);
    // A 5.0x that is not our bug (the device was slow) is no internal error; a 5.00 is.
    expect(errorToJson(new TimeoutError('slow'))).toMatchObject({ status: 504, internal: false });
    expect(errorToJson(new StoreFileError('/f', 'x'))).toMatchObject({
      status: 500,
      internal: true,
    });
    expect(errorToJson(new RestError(404, 'NotFound', 'none'))).toEqual({
      status: 404,
      body: { error: 'NotFound', message: 'none' },
      internal: false,
    });
    expect(errorToJson({ statusCode: 415, message: 'bad type' })).toEqual({
      status: 415,
      body: { error: 'UnsupportedMediaType', message: 'bad type' },
      internal: false,
    });
    expect(errorToJson({ validation: [], message: 'body/x must be' }).status).toBe(400);
    expect(errorToJson({ statusCode: 418 }).body).toEqual({
      error: 'BadRequest',
      message: 'bad request',
    });
    const internal = errorToJson(new Error('secret detail'));
    expect(internal.status).toBe(500);
    expect(internal.internal).toBe(true);
    expect(internal.body.message).not.toContain('secret');
  });

  it("tries the app's mapping first", () => {
    expect(errorToJson(new FieldError('a.b'), mapField).body).toEqual({
      error: 'FieldError',
      message: 'a.b: bad',
      field: 'a.b',
    });
    expect(errorToJson(new ConflictError('x'), mapField).status).toBe(409);
  });
});

describe('createRestApp', () => {
  it('answers errors as JSON, with the headers of a RestError, and 404 JSON for unknown routes', async () => {
    const a = app({ mapError: mapField });
    const rest = await a.inject({ method: 'GET', url: '/api/fail/rest' });
    expect(rest.statusCode).toBe(405);
    expect(rest.headers.allow).toBe('PUT');
    expect(rest.json()).toEqual({ error: 'MethodNotAllowed', message: 'no' });
    const conflict = await a.inject({ method: 'GET', url: '/api/fail/conflict' });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toEqual({
      error: 'ConflictError',
      message: 'taken',
      coapCode: '4.00',
    });
    const field = await a.inject({ method: 'GET', url: '/api/fail/field' });
    expect(field.json()).toMatchObject({ error: 'FieldError', field: 'servers[0].uri' });
    const bug = await a.inject({ method: 'GET', url: '/api/fail/bug' });
    expect(bug.statusCode).toBe(500);
    expect(bug.json()).toEqual({
      error: 'InternalError',
      message: 'internal error (see the server log)',
    });
    const json = await a.inject({
      method: 'POST',
      url: '/api/things',
      headers: { 'content-type': 'application/json' },
      payload: '{"a": [',
    });
    expect(json.statusCode).toBe(400);
    expect(json.json().error).toBe('BadRequest');
    const type = await a.inject({
      method: 'POST',
      url: '/api/things',
      headers: { 'content-type': 'application/x-nope' },
      payload: 'x',
    });
    expect(type.statusCode).toBe(415);
    expect(type.json().error).toBe('UnsupportedMediaType');
    const missing = await a.inject({ method: 'DELETE', url: '/nothing/here?x=1' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({
      error: 'NotFound',
      message: 'no route for DELETE /nothing/here',
    });
  });

  it('limits the body size', async () => {
    const a = app({ bodyLimit: 10 });
    const big = await a.inject({
      method: 'POST',
      url: '/api/things',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ long: 'x'.repeat(100) }),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().error).toBe('PayloadTooLarge');
  });

  it('without a token (or an empty one) everything is open', async () => {
    for (const token of [undefined, '']) {
      const a = app({ token });
      expect((await a.inject({ method: 'GET', url: '/api/things' })).statusCode).toBe(200);
      expect((await a.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
    }
  });

  it('with a token: /api* and /metrics need it, on the matched route; /health stays open', async () => {
    const a = app({ token: 's3cret' });
    const none = await a.inject({ method: 'GET', url: '/api/things' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="test-realm"');
    expect(none.json()).toEqual({
      error: 'Unauthorized',
      message: 'this API needs an "Authorization: Bearer <token>" header',
    });
    const wrong = await a.inject({
      method: 'GET',
      url: '/api/things',
      headers: { authorization: 'Bearer s3cre' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().message).toBe('wrong bearer token');
    const right = await a.inject({
      method: 'GET',
      url: '/api/things',
      headers: { authorization: 'bearer  s3cret ' },
    });
    expect(right.statusCode).toBe(200);
    expect((await a.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    // An encoded path matches the /api route and needs the token all the same.
    expect((await a.inject({ method: 'GET', url: '/%61pi/things' })).statusCode).toBe(401);
    // Unknown URLs too (nothing about the API leaks through 404s).
    expect((await a.inject({ method: 'GET', url: '/api/nothing' })).statusCode).toBe(401);
    expect((await a.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    // ?access_token= is for the event stream only (EventSource cannot send headers).
    const events = await a.inject({ method: 'GET', url: '/api/events?access_token=s3cret' });
    expect(events.statusCode).toBe(200);
    const query = await a.inject({ method: 'GET', url: '/api/things?access_token=s3cret' });
    expect(query.statusCode).toBe(401);
    const badQuery = await a.inject({ method: 'GET', url: '/api/events?access_token=x' });
    expect(badQuery.statusCode).toBe(401);
  });
});
