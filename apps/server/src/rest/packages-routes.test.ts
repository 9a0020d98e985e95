/**
 * `PUT|DELETE /api/packages/:name` over real HTTP: the bytes put are what a device then GETs
 * from `/fw/<name>` over CoAP (block-wise), replaced on a second PUT, gone after DELETE.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { CoapEndpoint } from '@lwm2m-ts/coap';
import { afterEach, expect, it } from 'vitest';
import { LwM2mServer } from '../server.js';
import { createRestApi } from './app.js';
import { call } from './test-http.js';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function setup() {
  const server = new LwM2mServer({
    coap: { address: '127.0.0.1', port: 0 },
    dtls: false,
    requestTimeout: 3000,
  });
  open.push(server);
  await server.start();
  const app = createRestApi(server);
  open.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const device = new CoapEndpoint({ type: 'udp4', address: '127.0.0.1' });
  open.push(device);
  const peer = { address: '127.0.0.1', port: server.addresses().coap!.port };
  const fetchPackage = (name: string) =>
    device.request(peer, { method: 'GET', path: ['fw', name], timeout: 5000 });
  return { base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, fetchPackage };
}

function putPackage(
  base: string,
  name: string,
  bytes: Uint8Array,
  type = 'application/octet-stream',
) {
  return fetch(`${base}/api/packages/${name}`, {
    method: 'PUT',
    headers: { 'content-type': type },
    body: bytes,
    signal: AbortSignal.timeout(5000),
  });
}

it('serves a package put over HTTP at /fw/<name> over CoAP, block-wise; replaces and deletes it', async () => {
  const { base, fetchPackage } = await setup();
  const image = randomBytes(5000);
  const put = await putPackage(base, 'fw-1.bin', image);
  expect(put.status).toBe(201);
  expect(await put.json()).toEqual({ name: 'fw-1.bin', size: 5000, path: '/fw/fw-1.bin' });
  const got = await fetchPackage('fw-1.bin');
  expect(got.code).toBe('2.05');
  expect(Buffer.from(got.payload).equals(image)).toBe(true);

  const second = randomBytes(1500);
  const again = await putPackage(base, 'fw-1.bin', second);
  expect(again.status).toBe(200);
  expect(Buffer.from((await fetchPackage('fw-1.bin')).payload).equals(second)).toBe(true);

  expect((await call(base, 'DELETE', '/api/packages/fw-1.bin')).status).toBe(204);
  expect((await fetchPackage('fw-1.bin')).code).toBe('4.04');
  const gone = await call(base, 'DELETE', '/api/packages/fw-1.bin');
  expect(gone.status).toBe(404);
  expect(gone.body).toMatchObject({ error: 'NotFound' });
});

it('refuses a bad name, an empty body and a body that is not octet-stream', async () => {
  const { base } = await setup();
  const bad = await putPackage(base, 'no%20spaces', randomBytes(10));
  expect(bad.status).toBe(400);
  expect(await bad.json()).toMatchObject({ message: expect.stringMatching(/package name/) });
  const empty = await putPackage(base, 'empty.bin', new Uint8Array(0));
  expect(empty.status).toBe(400);
  const json = await call(base, 'PUT', '/api/packages/x.bin', { body: { bytes: 'AAEC' } });
  expect(json.status).toBe(400);
  const text = await putPackage(base, 'x.bin', Buffer.from('hello'), 'text/plain');
  expect(text.status).toBe(400);
});
