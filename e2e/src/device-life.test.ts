/**
 * Longer flows between our client and our server, in process: firmware update by pull (the
 * server serves the package block-wise) and by push, queue mode, and the server going away and
 * coming back empty (the client registers again).
 */
import { randomBytes } from 'node:crypto';
import { firmwareUpdateObject, LwM2mClient, type LwM2mClientOptions } from '@lwm2m-ts/client';
import { singleResource } from '@lwm2m-ts/core';
import { LwM2mServer, type LwM2mServerOptions, type ServerEvents } from '@lwm2m-ts/server';
import { afterEach, expect, it } from 'vitest';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function startServer(options: LwM2mServerOptions = {}) {
  const server = new LwM2mServer({
    coap: { address: '127.0.0.1', port: 0 },
    dtls: false,
    requestTimeout: 5000,
    ...options,
  });
  open.push(server);
  await server.start();
  return server;
}

async function startClient(options: LwM2mClientOptions) {
  const client = new LwM2mClient({ local: { address: '127.0.0.1' }, ...options });
  open.push(client);
  await client.start();
  return client;
}

function next<K extends keyof ServerEvents>(
  server: LwM2mServer,
  name: K,
  accept: (e: ServerEvents[K][0]) => boolean = () => true,
) {
  return new Promise<ServerEvents[K][0]>((resolve) => {
    const listener = ((e: ServerEvents[K][0]) => {
      if (!accept(e)) return;
      server.off(name, listener);
      resolve(e);
    }) as never;
    server.on(name, listener);
  });
}

/** Resolves when /5/0/3 (State) is notified with `state`. */
function stateIs(server: LwM2mServer, state: bigint) {
  return next(
    server,
    'notification',
    (e) => e.content?.kind === 'singleResource' && e.content.value === state,
  );
}

it('updates firmware by pull: the server serves a multi-block package, the client applies it', async () => {
  const server = await startServer();
  const image = randomBytes(10_000);
  server.addPackage('fw-2.0.bin', image);
  const applied: Uint8Array[] = [];
  await startClient({
    endpoint: 'fw-pull',
    lwm2mVersion: '1.1',
    server: { uri: `coap://127.0.0.1:${server.addresses().coap!.port}` },
    objects: [firmwareUpdateObject({ apply: async (pkg) => void applied.push(pkg) })],
  });
  expect((await server.observe('fw-pull', '/5/0/3')).ok).toBe(true);
  const downloaded = stateIs(server, 2n);
  const uri = server.packageUri('fw-2.0.bin', 'udp', '127.0.0.1');
  expect(await server.write('fw-pull', '/5/0/1', singleResource(1, 'string', uri))).toMatchObject({
    ok: true,
  });
  await downloaded;
  const idle = stateIs(server, 0n);
  expect(await server.execute('fw-pull', '/5/0/2')).toMatchObject({ ok: true });
  await idle;
  expect(await server.read('fw-pull', '/5/0/5')).toMatchObject({
    ok: true,
    content: { value: 1n },
  });
  expect(applied).toHaveLength(1);
  expect(Buffer.from(applied[0]!).equals(image)).toBe(true);
});

it('updates firmware by push: a block-wise Write of /5/0/0', async () => {
  const server = await startServer();
  const image = randomBytes(6000);
  const applied: Uint8Array[] = [];
  await startClient({
    endpoint: 'fw-push',
    lwm2mVersion: '1.0',
    server: { uri: `coap://127.0.0.1:${server.addresses().coap!.port}` },
    objects: [firmwareUpdateObject({ apply: async (pkg) => void applied.push(pkg) })],
  });
  expect(await server.write('fw-push', '/5/0/0', singleResource(0, 'opaque', image))).toMatchObject(
    {
      ok: true,
    },
  );
  expect(await server.read('fw-push', '/5/0/3')).toMatchObject({
    ok: true,
    content: { value: 2n },
  });
  expect(await server.execute('fw-push', '/5/0/2')).toMatchObject({ ok: true });
  await expect
    .poll(async () => (await server.read('fw-push', '/5/0/5')).ok && applied.length, {
      timeout: 5000,
    })
    .toBe(1);
  expect(Buffer.from(applied[0]!).equals(image)).toBe(true);
});

it('queue mode: a request waits while the client sleeps and goes when it updates', async () => {
  const server = await startServer({ queue: { awakeTimeMs: 300 } });
  const client = await startClient({
    endpoint: 'sleeper',
    lwm2mVersion: '1.2',
    server: {
      uri: `coap://127.0.0.1:${server.addresses().coap!.port}`,
      queueMode: true,
      awakeTime: 300,
    },
  });
  expect((await server.getRegistration('sleeper'))?.queueMode).toBe(true);
  await new Promise<void>((resolve) => client.once('sleeping', () => resolve()));
  await expect.poll(() => server.queueState('sleeper')?.awake, { timeout: 3000 }).toBe(false);
  const pending = server.read('sleeper', '/3/0/0', { timeout: 10_000 });
  await new Promise((r) => setTimeout(r, 200));
  expect(server.queueState('sleeper')?.queued).toBe(1);
  await client.update();
  expect(await pending).toMatchObject({ ok: true, code: '2.05' });
});

it('registers again when the server comes back without its registrations', async () => {
  const first = await startServer();
  const port = first.addresses().coap!.port;
  const client = await startClient({
    endpoint: 'survivor',
    lwm2mVersion: '1.1',
    server: { uri: `coap://127.0.0.1:${port}`, lifetime: 60 },
  });
  await first.close();
  const second = await startServer({ coap: { address: '127.0.0.1', port } });
  const registered = next(second, 'registered');
  // The next Update gets 4.04 from the new server: the client registers again.
  await client.update().catch(() => {});
  expect((await registered).registration.endpoint).toBe('survivor');
  expect(await second.read('survivor', '/3/0/0')).toMatchObject({ ok: true });
});
