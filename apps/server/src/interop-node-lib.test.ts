/**
 * Interop: `lwm2m-node-lib` 1.4.0 (npm; Telefónica's LwM2M 1.0 client, on node-coap 0.22) → our
 * LwM2mServer over plain CoAP on loopback.
 *
 * What that client does on the wire (read from its source, confirmed here):
 * - Register `POST /rd?ep=…&lt=…&lwm2m=1.0&b=U` with `</3/0>,</3303/0>` and no Content-Format.
 * - It answers Read and notifications in text/plain without a Content-Format option, whatever the
 *   Accept; it serves single resources only (no instance or object Read).
 * - Its CoAP stack cannot parse an Accept or Content-Format it has no name for (TLV 11542, …): it
 *   drops such a request without even an ACK. Our server asks a 1.0 client for TLV first (TLV is
 *   the 1.0 format every client must support), so these tests ask for text/plain explicitly with
 *   `format`, the API's way of talking to such a peer, and one test pins the default's outcome.
 * - It takes a GET with Observe=1 (RFC 7641 §3.6 deregistration) as a new observation and never
 *   answers it, so our proactive cancel gets no response; the observation ends on our side anyway
 *   and its next notification is answered with RST, which ends it on the client's side too.
 * - Each Update comes from a new socket and the client then listens there (and leaks the old
 *   listener, which these tests close): the server must move the registration to the new port.
 */
import { ContentFormat, singleResource, TimeoutError } from '@lwm2m-ts/core';
import { describe, expect, it, type TestContext } from 'vitest';
import { createRestApi } from './rest/app.js';
import { LwM2mServer } from './server.js';
import {
  call,
  loadNodeLibClient,
  type NodeLibDeviceInfo,
  type NodeLibHandler,
  nextEvent,
  within,
} from './test-interop.js';

const client = loadNodeLibClient();
const TEXT = { format: ContentFormat.TEXT };
const MANUFACTURER = 'Telefonica I+D';

let counter = 0;

interface Session {
  readonly server: LwM2mServer;
  readonly endpoint: string;
  info: NodeLibDeviceInfo;
  /** Listeners the client opened (one per Register/Update); closed at the end. */
  readonly listeners: NodeLibDeviceInfo['serverInfo'][];
  registered: boolean;
}

function closeListener(l: NodeLibDeviceInfo['serverInfo']): Promise<void> {
  const server = l.server;
  l.server = null;
  if (server === null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    try {
      server.close(() => resolve());
    } catch {
      resolve(); // already closed (unregister stops the current one)
    }
  });
}

/** Our server on loopback and the node-lib client registered to it with /3/0 and /3303/0. */
async function session(t: TestContext): Promise<Session> {
  const server = new LwM2mServer({
    coap: { address: '127.0.0.1', port: 0 },
    dtls: false,
    requestTimeout: 3000,
  });
  const endpoint = `node-lib-${process.pid}-${++counter}`;
  const s: Partial<Session> & { listeners: Session['listeners']; registered: boolean } = {
    server,
    endpoint,
    listeners: [],
    registered: false,
  };
  t.onTestFinished(async () => {
    if (s.registered && s.info) {
      // De-register while our server still answers, so the client's agent has nothing pending.
      await within(
        call((cb) => client.unregister(s.info!, cb)),
        3000,
        'lwm2m-node-lib unregister',
      ).catch(() => {});
    }
    await Promise.all(s.listeners.map(closeListener));
    await call((cb) => client.cancellAllObservers(cb)).catch(() => {});
    client.registry.bus.removeAllListeners();
    for (const uri of ['/3/0', '/3303/0']) {
      await call((cb) => client.registry.remove(uri, cb)).catch(() => {});
    }
    await server.close();
  });
  await server.start();
  const { port } = server.addresses().coap!;

  client.init({
    client: {
      lifetime: '60',
      version: '1.0',
      logLevel: 'FATAL',
      ipProtocol: 'udp4',
      serverProtocol: 'udp4',
    },
  });
  await call((cb) => client.registry.create('/3/0', cb));
  await call((cb) => client.registry.setResource('/3/0', '0', MANUFACTURER, cb));
  await call((cb) => client.registry.setResource('/3/0', '14', '+01:00', cb));
  await call((cb) => client.registry.create('/3303/0', cb));
  await call((cb) => client.registry.setResource('/3303/0', '5700', '21.5', cb));

  const registered = nextEvent(
    server,
    'registered',
    5000,
    (e) => e.registration.endpoint === endpoint,
  );
  const info = await within(
    call<NodeLibDeviceInfo>((cb) => client.register('127.0.0.1', port, null, endpoint, cb)),
    5000,
    'lwm2m-node-lib register',
  );
  s.info = info;
  s.registered = true;
  s.listeners.push(info.serverInfo);
  await registered;
  return s as Session;
}

/** The value the client holds for `/o/i` resource `r`. */
async function held(uri: string, resourceId: string): Promise<unknown> {
  const obj = await call<{ attributes: Record<string, unknown> }>((cb) =>
    client.registry.get(uri, cb),
  );
  return obj.attributes[resourceId];
}

describe.sequential('lwm2m-node-lib client → our server (CoAP)', () => {
  it('registers: registered event and the stored registration [interop peer=lwm2m-node-lib-client ours=server transport=coap op=register]', async (t) => {
    const s = await session(t);
    const reg = await s.server.getRegistration(s.endpoint);
    expect(reg).toMatchObject({
      endpoint: s.endpoint,
      lifetime: 60,
      lwm2mVersion: '1.0',
      binding: 'U',
      queueMode: false,
      rootPath: '/',
      transport: 'udp',
      address: '127.0.0.1',
      port: s.info.localPort,
    });
    expect(reg?.identity).toBeUndefined();
    expect(reg?.objectLinks).toEqual([
      { objectId: 3, instanceId: 0 },
      { objectId: 3303, instanceId: 0 },
    ]);
    // The client keeps the Location-Path it was given.
    expect(s.info.location).toBe(`rd/${reg?.id}`);
    expect((await s.server.listRegistrations()).map((r) => r.endpoint)).toEqual([s.endpoint]);
  });

  it('reads single resources in text/plain [interop peer=lwm2m-node-lib-client ours=server transport=coap op=read]', async (t) => {
    const s = await session(t);
    const reads: string[] = [];
    const onRead: NodeLibHandler = (type, id, res, value, cb) => {
      reads.push(`/${type}/${id}/${res}`);
      cb(null, value);
    };
    client.setHandler(s.info.serverInfo, 'read', onRead);

    const manufacturer = await s.server.read(s.endpoint, '/3/0/0', TEXT);
    expect(manufacturer).toMatchObject({
      ok: true,
      code: '2.05',
      contentFormat: ContentFormat.TEXT,
    });
    if (!manufacturer.ok) throw new Error('read failed');
    expect(manufacturer.content).toEqual(singleResource(0, 'string', MANUFACTURER));
    expect(manufacturer.content).toMatchObject({ value: await held('/3/0', '0') });

    const temperature = await s.server.read(s.endpoint, '/3303/0/5700', TEXT);
    if (!temperature.ok) throw new Error('read failed');
    expect(temperature.content).toEqual(singleResource(5700, 'float', 21.5));
    expect(reads).toEqual(['/3/0/0', '/3303/0/5700']);

    // A resource the client does not hold: its 4.04 is an answer, not an exception.
    expect(await s.server.read(s.endpoint, '/3/0/1', TEXT)).toMatchObject({
      ok: false,
      code: '4.04',
    });
  });

  it('the default read (Accept: TLV for a 1.0 client) gets no answer from it: a clean timeout [interop peer=lwm2m-node-lib-client ours=server transport=coap op=unsupported-format]', async (t) => {
    const s = await session(t);
    const started = Date.now();
    await expect(s.server.read(s.endpoint, '/3/0/0', { timeout: 1000 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
    expect(Date.now() - started).toBeLessThan(2500);
    // The server keeps serving the client.
    expect((await s.server.read(s.endpoint, '/3/0/0', TEXT)).ok).toBe(true);
  });

  it('writes /3/0/14 in text/plain: the client registry changes [interop peer=lwm2m-node-lib-client ours=server transport=coap op=write]', async (t) => {
    const s = await session(t);
    const writes: unknown[] = [];
    client.setHandler(s.info.serverInfo, 'write', (type, id, res, value, cb) => {
      writes.push([type, id, res, value]);
      cb(null);
    });
    const res = await s.server.write(
      s.endpoint,
      '/3/0/14',
      singleResource(14, 'string', '+05:00'),
      TEXT,
    );
    expect(res).toEqual({ ok: true, code: '2.04' });
    expect(await held('/3/0', '14')).toBe('+05:00');
    expect(writes).toEqual([['3', '0', '14', '+05:00']]);
    const back = await s.server.read(s.endpoint, '/3/0/14', TEXT);
    expect(back).toMatchObject({ ok: true, content: { value: '+05:00' } });
  });

  it('executes /3/0/4 with and without arguments [interop peer=lwm2m-node-lib-client ours=server transport=coap op=execute]', async (t) => {
    const s = await session(t);
    const executed: unknown[] = [];
    client.setHandler(s.info.serverInfo, 'execute', (type, id, res, args, cb) => {
      executed.push([`/${type}/${id}/${res}`, args]);
      cb(null);
    });
    expect(await s.server.execute(s.endpoint, '/3/0/4', "0='now'")).toEqual({
      ok: true,
      code: '2.04',
    });
    expect(await s.server.execute(s.endpoint, '/3/0/4')).toEqual({ ok: true, code: '2.04' });
    expect(executed).toEqual([
      ['/3/0/4', "0='now'"],
      ['/3/0/4', ''],
    ]);
  });

  it('observes /3303/0/5700: notifications on change, then cancel [interop peer=lwm2m-node-lib-client ours=server transport=coap op=observe,cancel-observe]', async (t) => {
    const s = await session(t);
    const { server, endpoint } = s;
    // The observe's time limit also bounds its proactive cancel (see the cancel below).
    const o = await server.observe(endpoint, '/3303/0/5700', { ...TEXT, timeout: 2000 });
    if (!o.ok) throw new Error(`observe failed: ${o.code}`);
    expect(o.content).toEqual(singleResource(5700, 'float', 21.5));
    expect(o.contentFormat).toBe(ContentFormat.TEXT);
    expect(await server.listObservations(endpoint)).toHaveLength(1);

    const note = nextEvent(server, 'notification');
    await call((cb) => client.registry.setResource('/3303/0', '5700', '23.75', cb));
    const n = await note;
    expect(n.observation.id).toBe(o.observation.id);
    expect(n.code).toBe('2.05');
    expect(n.contentFormat).toBe(ContentFormat.TEXT);
    expect(n.content).toEqual(singleResource(5700, 'float', 23.75));
    // Another resource of the instance changing is no notification of this one.
    const second = nextEvent(server, 'notification');
    await call((cb) => client.registry.setResource('/3303/0', '5701', 'Cel', cb));
    await call((cb) => client.registry.setResource('/3303/0', '5700', '24', cb));
    expect((await second).content).toEqual(singleResource(5700, 'float', 24));

    const cancelled = nextEvent(server, 'observationCancelled');
    const started = Date.now();
    expect(await server.cancelObservation(endpoint, '/3303/0/5700')).toBe(1);
    // The client never answers GET Observe=1 (see the top of this file). The cancel waits for
    // the observe's time limit (2 s), not the `timeout` given to cancelObservation.
    expect(Date.now() - started).toBeLessThan(4000);
    expect((await cancelled).observation.id).toBe(o.observation.id);
    expect(await server.listObservations(endpoint)).toEqual([]);

    // Its next notification is refused with RST: no event, and the client drops its observer.
    const late: unknown[] = [];
    server.on('notification', (e) => late.push(e));
    await call((cb) => client.registry.setResource('/3303/0', '5700', '30', cb));
    await new Promise((r) => setTimeout(r, 500));
    expect(late).toEqual([]);
    // The server still talks to the client.
    expect(await server.read(endpoint, '/3303/0/5700', TEXT)).toMatchObject({
      ok: true,
      content: { value: 30 },
    });
  }, 30_000);

  it('updates from a new port: updated event, the registration moves there [interop peer=lwm2m-node-lib-client ours=server transport=coap op=update]', async (t) => {
    const s = await session(t);
    const before = (await s.server.getRegistration(s.endpoint))!;
    const updated = nextEvent(s.server, 'updated');
    const info = await within(
      call<NodeLibDeviceInfo>((cb) => client.update(s.info, cb)),
      5000,
      'lwm2m-node-lib update',
    );
    s.info = info;
    s.listeners.push(info.serverInfo);
    const u = await updated;
    expect(u.before.id).toBe(before.id);
    expect(u.registration.id).toBe(before.id);
    expect(u.registration.lifetime).toBe(60);
    expect(u.registration.lastUpdate).toBeGreaterThanOrEqual(before.lastUpdate);
    expect(u.registration.objectLinks).toEqual(before.objectLinks);
    expect(u.registration.port).toBe(info.localPort);
    expect((await s.server.getRegistration(s.endpoint))?.port).toBe(info.localPort);
    // Requests now go to where the client listens.
    await closeListener(s.listeners[0]!);
    expect(await s.server.read(s.endpoint, '/3/0/0', TEXT)).toMatchObject({
      ok: true,
      content: { value: MANUFACTURER },
    });
  });

  it('de-registers: deregistered event, nothing stored [interop peer=lwm2m-node-lib-client ours=server transport=coap op=deregister]', async (t) => {
    const s = await session(t);
    const gone = nextEvent(s.server, 'deregistered');
    await within(
      call((cb) => client.unregister(s.info, cb)),
      5000,
      'lwm2m-node-lib unregister',
    );
    s.registered = false;
    const e = await gone;
    expect(e.reason).toBe('deregistered');
    expect(e.registration.endpoint).toBe(s.endpoint);
    expect(await s.server.getRegistration(s.endpoint)).toBeUndefined();
    expect(await s.server.listRegistrations()).toEqual([]);
  });

  it('reads and writes through the REST API [interop peer=lwm2m-node-lib-client ours=server transport=coap op=read,write]', async (t) => {
    const s = await session(t);
    const app = createRestApi(s.server);
    t.onTestFinished(() => app.close());
    const base = `/api/clients/${encodeURIComponent(s.endpoint)}`;

    const client1 = await app.inject({ method: 'GET', url: `${base}` });
    expect(client1.statusCode).toBe(200);

    const read = await app.inject({ method: 'GET', url: `${base}/3/0/0?format=text` });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual({
      status: '2.05',
      format: 'text',
      content: { id: 0, kind: 'single', type: 'string', value: MANUFACTURER },
    });

    const write = await app.inject({
      method: 'PUT',
      url: `${base}/3/0/14?format=text`,
      payload: { value: '-03:00' },
    });
    expect(write.statusCode).toBe(200);
    expect(write.json()).toEqual({ status: '2.04' });
    expect(await held('/3/0', '14')).toBe('-03:00');

    const missing = await app.inject({ method: 'GET', url: `${base}/3/0/2?format=text` });
    expect(missing.statusCode).toBe(404);
  });
});
