import dgram from 'node:dgram';
import { decodeValues, encodeText } from '@lwm2m-ts/codecs';
import { ContentFormat, LwM2mPath, parseLinkFormat } from '@lwm2m-ts/core';
import { DtlsServerSocket } from '@lwm2m-ts/dtls';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { afterEach, describe, expect, it } from 'vitest';
import { type ClientEvents, LwM2mClient, type LwM2mClientOptions } from './client.js';
import { InstanceObject } from './instance-object.js';
import type { SensorObject } from './objects/sensors.js';
import { queryOf, TestServer } from './test-server.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  // Clients first (they de-register), then servers.
  for (const o of open.splice(0).reverse()) await o.close();
});

async function server(): Promise<TestServer> {
  const s = await TestServer.start();
  open.push(s);
  return s;
}

function client(
  s: { uri: string },
  options: Partial<Omit<LwM2mClientOptions, 'server'>> & {
    server?: Partial<LwM2mClientOptions['server']>;
  } = {},
): LwM2mClient {
  const c = new LwM2mClient({
    endpoint: 'dev-1',
    local: { address: '127.0.0.1' },
    coapOptions: { ackTimeout: 0.3, maxRetransmit: 1 },
    requestTimeout: 2000,
    ...options,
    server: { uri: s.uri, ...options.server },
  });
  open.push(c);
  return c;
}

function next<K extends keyof ClientEvents>(c: LwM2mClient, name: K, timeoutMs = 5000) {
  return new Promise<ClientEvents[K]>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ${name} event in ${timeoutMs} ms`)),
      timeoutMs,
    );
    c.once(name, ((...args: ClientEvents[K]) => {
      clearTimeout(timer);
      resolve(args);
    }) as never);
  });
}

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

describe('LwM2mClient registration', () => {
  it('registers with 1.1: query, root link with ct, object instances, never /0', async () => {
    const s = await server();
    const c = client(s);
    const registered = next(c, 'registered');
    const reg = await c.start();
    expect(reg.location).toBe('/rd/1');
    const [event] = await registered;
    expect(event).toMatchObject({ endpoint: 'dev-1', location: '/rd/1', version: '1.1' });
    const [req] = s.registers();
    expect(Object.fromEntries(queryOf(req!))).toEqual({
      ep: 'dev-1',
      lt: '300',
      lwm2m: '1.1',
      b: 'U',
    });
    const links = parseLinkFormat(text(req!.payload));
    expect(links[0]!.uri).toBe('/');
    const uris = links.map((l) => l.uri);
    expect(uris).toEqual(
      expect.arrayContaining(['/1/0', '/3/0', '/4/0', '/5/0', '/6/0', '/3303/0', '/3300/0']),
    );
    expect(uris.some((u) => u === '/0' || u.startsWith('/0/'))).toBe(false);
    // Objects in the newest version made for LwM2M 1.1: Server 1.1, not 1.2.
    const ver = (uri: string) =>
      links.find((l) => l.uri === uri)?.attributes.find(([n]) => n === 'ver')?.[1];
    expect(ver('/1')).toEqual({ kind: 'token', value: '1.1' });
    expect(ver('/3')).toEqual({ kind: 'token', value: '1.2' });
    expect(req!.peer.port).toBe(c.address!.port);
  });

  it('registers with 1.0 (no root link, b=UQ in queue mode) and 1.2 (Q parameter)', async () => {
    const s = await server();
    const c10 = client(s, { lwm2mVersion: '1.0', server: { queueMode: true, lifetime: 60 } });
    await c10.start();
    const r10 = s.registers()[0]!;
    expect(Object.fromEntries(queryOf(r10))).toEqual({
      ep: 'dev-1',
      lt: '60',
      lwm2m: '1.0',
      b: 'UQ',
    });
    expect(parseLinkFormat(text(r10.payload))[0]!.uri).toBe('/1/0');

    const c12 = client(s, { endpoint: 'dev-2', lwm2mVersion: '1.2', server: { queueMode: true } });
    await c12.start();
    const r12 = s.registers()[1]!;
    expect(Object.fromEntries(queryOf(r12))).toEqual({
      ep: 'dev-2',
      lt: '300',
      lwm2m: '1.2',
      b: 'U',
      Q: '',
    });
    expect(text(r12.payload)).toContain('</1>;ver=1.2');
  });

  it('sends an Update when an instance is added and when the server writes the lifetime', async () => {
    const s = await server();
    const c = client(s);
    await c.start();
    const temperature = c.tree.get(3303) as SensorObject;
    const updated = next(c, 'updated');
    temperature.addInstance(1, { 5700: 18 });
    const [, info] = await updated;
    expect(info.objectLinks).toContain('</3303/1>');
    const u = s.updates()[0]!;
    expect(u.contentFormat).toBe(ContentFormat.LINK_FORMAT);
    expect(text(u.payload)).toContain('</3303/1>');

    // A Write to /1/0/1 by the server: the next Update carries lt.
    const again = next(c, 'updated');
    const res = await s.send({
      method: 'PUT',
      path: '/1/0/1',
      payload: encodeText({ type: 'integer', value: 120n }),
      contentFormat: ContentFormat.TEXT,
    });
    expect(res.code).toBe('2.04');
    const [reg, info2] = await again;
    expect(info2).toEqual({ lifetime: 120 });
    expect(reg.lifetime).toBe(120);
    expect(s.updates()[1]!.query).toEqual(['lt=120']);
  });

  it('does not send an Update for a value change', async () => {
    const s = await server();
    const c = client(s);
    await c.start();
    await c.set('/3303/0/5700', 30.5);
    await new Promise((r) => setTimeout(r, 200));
    expect(s.updates()).toHaveLength(0);
  });

  it('sends an Update when the server executes /1/0/8 (Registration Update Trigger)', async () => {
    const s = await server();
    const c = client(s);
    await c.start();
    const updated = next(c, 'updated');
    const requests: ClientEvents['request'][0][] = [];
    c.on('request', (r) => requests.push(r));
    expect((await s.send({ method: 'POST', path: '/1/0/8' })).code).toBe('2.04');
    await updated;
    expect(s.updates()).toHaveLength(1);
    expect(s.updates()[0]!.query).toEqual([]);
    expect(requests).toEqual([
      expect.objectContaining({ method: 'POST', path: '/1/0/8', code: '2.04' }),
    ]);
  });

  it('registers again when an Update gets 4.04', async () => {
    const s = await server();
    const c = client(s);
    await c.start();
    s.overrides.push((req) =>
      req.path.length === 2 && req.method === 'POST' ? { code: '4.04' } : undefined,
    );
    const lost = next(c, 'registrationLost');
    const again = next(c, 'registered');
    await expect(c.update()).rejects.toThrow(/4\.04/);
    await lost;
    const [reg] = await again;
    expect(reg.location).toBe('/rd/2');
    expect(s.registers()).toHaveLength(2);
  });

  it('de-registers on close and releases the socket', async () => {
    const s = await server();
    const c = client(s);
    await c.start();
    const gone = next(c, 'deregistered');
    await c.close();
    expect((await gone)[0]).toEqual({ endpoint: 'dev-1', location: '/rd/1', confirmed: true });
    expect(s.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual([
      ['rd', '1'],
    ]);
    await expect(c.start()).rejects.toThrow(/closed/);
    // The socket is gone: a request to it gets no answer.
    await expect(s.send({ method: 'GET', path: '/3/0/0', timeout: 500 })).rejects.toThrow();
  });

  it('retries while the server is unreachable and registers once it appears', async () => {
    const probe = await TestServer.start();
    const port = probe.port;
    await probe.close();
    const c = client(
      { uri: `coap://127.0.0.1:${port}` },
      {
        requestTimeout: 400,
        server: { retry: { retryTimer: 100, jitter: 0 } },
      },
    );
    const retries: number[] = [];
    c.on('retry', (r) => retries.push(r.delay));
    const started = c.start();
    await expect.poll(() => retries.length, { timeout: 3000 }).toBeGreaterThanOrEqual(1);
    const s = await TestServer.start({ port });
    open.push(s);
    const reg = await started;
    expect(reg.location).toBe('/rd/1');
    expect(retries[0]).toBe(100);
  });

  it('close() while registering to a silent server stops at once', async () => {
    const probe = await TestServer.start();
    const port = probe.port;
    await probe.close();
    const c = client({ uri: `coap://127.0.0.1:${port}` }, { requestTimeout: 10_000 });
    const started = c.start().then(
      () => 'registered',
      (e: Error) => e.name,
    );
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await c.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await started).toBe('RegistrationAbortedError');
    expect(c.registration).toBeUndefined();
  });

  it('reports a 4.03 as registrationFailed without retrying', async () => {
    const s = await server();
    s.overrides.push(() => ({ code: '4.03' }));
    const c = client(s);
    const failed = next(c, 'registrationFailed');
    await expect(c.start()).rejects.toThrow(/4\.03/);
    expect((await failed)[0].code).toBe('4.03');
    expect(s.registers()).toHaveLength(1);
  });
});

describe('LwM2mClient device management', () => {
  it('answers the server: Read, Write, unknown paths, with a request event each', async () => {
    const s = await server();
    const c = client(s);
    await c.start();
    const seen: string[] = [];
    c.on('request', (r) => seen.push(`${r.method} ${r.path} ${r.code}`));
    const read = await s.send({ method: 'GET', path: '/3/0/0' });
    expect(read.code).toBe('2.05');
    expect(text(read.payload)).toBe('lwm2m-ts');
    expect((await s.send({ method: 'GET', path: '/42/0' })).code).toBe('4.04');
    // Security is not visible to a DM server.
    expect((await s.send({ method: 'GET', path: '/0/0' })).code).toBe('4.04');
    expect(seen).toEqual(['GET /3/0/0 2.05', 'GET /42/0 4.04', 'GET /0/0 4.04']);
  });

  it('set() changes a value the server then reads, including read-only ones', async () => {
    const s = await server();
    const c = client(s);
    await c.start();
    await c.set('/3303/0/5700', 21.5);
    await c.set(LwM2mPath.parse('/3/0/0'), 'Other Corp');
    const res = await s.send({ method: 'GET', path: '/3303/0/5700' });
    expect(text(res.payload)).toBe('21.5');
    expect(text((await s.send({ method: 'GET', path: '/3/0/0' })).payload)).toBe('Other Corp');
    await expect(c.set('/3303/9/5700', 1)).rejects.toThrow(/not found/);
    await expect(c.set('/3303/0', 1)).rejects.toThrow(/resource path/);
  });

  it('takes user objects, replacing a built-in one by id', async () => {
    const s = await server();
    const registry = ObjectRegistry.withBuiltins();
    const custom = new InstanceObject(registry.get(3303)!, { instances: { 7: { 5700: 3.5 } } });
    const c = client(s, { objects: [custom] });
    await c.start();
    expect(c.tree.get(3303)).toBe(custom);
    const res = await s.send({ method: 'GET', path: '/3303/7/5700' });
    expect(text(res.payload)).toBe('3.5');
    expect(text(s.registers()[0]!.payload)).toContain('</3303/7>');
    expect(text(s.registers()[0]!.payload)).not.toContain('</3303/0>');
  });
});

describe('LwM2mClient Reboot (/3/0/4)', () => {
  it('restarts by default: answers 2.04, de-registers, and registers again keeping its objects', async () => {
    const s = await server();
    const c = client(s);
    await c.start();
    await c.set('/3303/0/5700', 31.5);
    const again = next(c, 'registered');
    const res = await s.send({ method: 'POST', path: '/3/0/4' });
    expect(res.code).toBe('2.04');
    await again;
    expect(s.registers()).toHaveLength(2);
    expect(s.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1);
    const value = await s.send({ method: 'GET', path: '/3303/0/5700', accept: ContentFormat.TEXT });
    expect(text(value.payload)).toBe('31.5');
  });

  it("does nothing with onReboot 'none', and calls a function given instead", async () => {
    const s = await server();
    const quiet = client(s, { onReboot: 'none' });
    await quiet.start();
    expect((await s.send({ method: 'POST', path: '/3/0/4' })).code).toBe('2.04');
    await new Promise((r) => setTimeout(r, 200));
    expect(s.registers()).toHaveLength(1);
    expect(s.requests.some((r) => r.method === 'DELETE')).toBe(false);

    const s2 = await server();
    let calls = 0;
    const own = client(s2, { endpoint: 'dev-2', onReboot: () => void calls++ });
    await own.start();
    expect((await s2.send({ method: 'POST', path: '/3/0/4' })).code).toBe('2.04');
    await expect.poll(() => calls).toBe(1);
    expect(s2.registers()).toHaveLength(1);
  });
});

describe('LwM2mClient DTLS handshake time limit', () => {
  it('gives up a handshake with a silent coaps:// server after dtlsHandshakeTimeout and retries', async () => {
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    open.push({ close: () => new Promise<void>((resolve) => silent.close(() => resolve())) });
    const c = client(
      { uri: `coaps://127.0.0.1:${silent.address().port}` },
      {
        dtlsHandshakeTimeout: 400,
        server: {
          psk: { identity: 'dev-1', key: Buffer.from('secret') },
          retry: { retryTimer: 50, jitter: 0 },
        },
      },
    );
    const t0 = performance.now();
    const retry = next(c, 'retry', 5000);
    c.start().catch(() => {});
    const [info] = await retry;
    // The 10 s default would not have ended the attempt yet; the CoAP timers are ~0.6 s here.
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(info.operation).toBe('register');
    expect(info.error.message).toMatch(/handshake|DTLS/i);
  });
});

describe('LwM2mClient observe and server commands', () => {
  it('forgets the write-attributes of an instance the server deletes: one created again starts clean', async () => {
    const s = await server();
    const c = client(s);
    await c.start();
    const discover = async (path: string) =>
      text((await s.send({ method: 'GET', path, accept: ContentFormat.LINK_FORMAT })).payload);
    expect((await s.send({ method: 'PUT', path: '/3303/0', query: ['pmin=7'] })).code).toBe('2.04');
    expect((await s.send({ method: 'PUT', path: '/3303/0/5700', query: ['gt=25'] })).code).toBe(
      '2.04',
    );
    expect((await s.send({ method: 'PUT', path: '/3303', query: ['pmax=99'] })).code).toBe('2.04');
    expect(await discover('/3303/0')).toContain('pmin=7');
    expect((await s.send({ method: 'DELETE', path: '/3303/0' })).code).toBe('2.02');
    const created = await s.send({
      method: 'POST',
      path: '/3303',
      payload: Buffer.from('[{"bn":"/3303/0/","n":"5700","v":20}]'),
      contentFormat: ContentFormat.SENML_JSON,
    });
    expect(created.code).toBe('2.01');
    const after = await discover('/3303/0');
    expect(after).not.toContain('pmin=7');
    expect(after).not.toContain('gt=25');
    // The object's own attributes stay: only what was below the deleted instance went.
    expect(await discover('/3303')).toContain('pmax=99');
  });

  it('notifies an observer as write-attributes say, and cancels on re-registration', async () => {
    const s = await server();
    const c = client(s);
    await c.start();
    const attrs = await s.send({ method: 'PUT', path: '/3303/0/5700', query: ['gt=25'] });
    expect(attrs.code).toBe('2.04');
    const obs = await s.endpoint.observe(s.client!, {
      method: 'GET',
      path: '/3303/0/5700',
      accept: ContentFormat.TEXT,
      timeout: 3000,
    });
    expect(text(obs.first.payload)).toBe('21.0');
    const seen: string[] = [];
    obs.on('notification', (n) => seen.push(text(n.payload)));
    await c.set('/3303/0/5700', 22); // below gt: no notification
    await c.set('/3303/0/5700', 26); // crosses 25
    await expect.poll(() => seen).toEqual(['26.0']);
    // A new registration: the server forgot the observation, so does the client.
    const again = next(c, 'registered');
    s.overrides.push((req) =>
      req.path.length === 2 && req.method === 'POST' ? { code: '4.04' } : undefined,
    );
    await c.update().catch(() => {});
    await again;
    await c.set('/3303/0/5700', 20);
    await c.set('/3303/0/5700', 30);
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual(['26.0']);
    await obs.cancel('reactive');
  });

  it('Execute /1/0/4 (Disable) de-registers and registers again after the Disable Timeout', async () => {
    const s = await server();
    const c = client(s);
    await c.start();
    const put = await s.send({
      method: 'PUT',
      path: '/1/0/5',
      payload: Buffer.from('1'),
      contentFormat: ContentFormat.TEXT,
    });
    expect(put.code).toBe('2.04');
    const gone = next(c, 'deregistered');
    const back = next(c, 'registered', 4000);
    const started = Date.now();
    expect((await s.send({ method: 'POST', path: '/1/0/4' })).code).toBe('2.04');
    await gone;
    const [reg] = await back;
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(reg.location).toBe('/rd/2');
  });
});

describe('LwM2mClient Send', () => {
  it('POSTs /dp in SenML CBOR with the values of the paths', async () => {
    const s = await server();
    const c = client(s);
    await c.start();
    await c.set('/3303/0/5700', 22.25);
    await c.set('/3/0/9', 77);
    const result = await c.send(['/3303/0/5700', '/3/0/9']);
    expect(result.code).toBe('2.04');
    const [dp] = s.filter('POST', 'dp');
    expect(dp!.contentFormat).toBe(ContentFormat.SENML_CBOR);
    const values = decodeValues(ContentFormat.SENML_CBOR, dp!.payload, {
      model: ObjectRegistry.withBuiltins(),
    });
    expect(values.map((v) => [`${v.path}`, v.value.value])).toEqual([
      ['/3/0/9', 77n],
      ['/3303/0/5700', 22.25],
    ]);
  });

  it('sends SenML JSON on request, refuses 1.0, unregistered clients and a refusal', async () => {
    const s = await server();
    const c = client(s);
    await expect(c.send('/3/0/0')).rejects.toThrow(/not registered/);
    await c.start();
    await c.send('/3/0/0', { format: ContentFormat.SENML_JSON });
    const [dp] = s.filter('POST', 'dp');
    expect(dp!.contentFormat).toBe(ContentFormat.SENML_JSON);
    const values = decodeValues(ContentFormat.SENML_JSON, dp!.payload, {});
    expect(values.map((v) => [`${v.path}`, v.value.value])).toEqual([['/3/0/0', 'lwm2m-ts']]);
    await expect(c.send('/42/0/1')).rejects.toThrow(/nothing to send/);
    s.overrides.push((req) => (req.path[0] === 'dp' ? { code: '4.00' } : undefined));
    await expect(c.send('/3/0/0')).rejects.toThrow(/4\.00/);

    const c10 = client(s, { endpoint: 'dev-10', lwm2mVersion: '1.0' });
    await c10.start();
    await expect(c10.send('/3/0/0')).rejects.toThrow(/1\.1/);
  });
});

describe('LwM2mClient queue mode', () => {
  it('sleeps after the awake time, drops requests, wakes for an Update and serves again', async () => {
    const s = await server();
    const c = client(s, { server: { queueMode: true, awakeTime: 400 } });
    const events: string[] = [];
    c.on('sleeping', () => events.push('sleeping'));
    c.on('awake', () => events.push('awake'));
    await c.start();
    await expect.poll(() => c.sleeping, { timeout: 2000 }).toBe(true);
    expect(events).toEqual(['sleeping']);
    // Asleep: no answer at all.
    await expect(s.send({ method: 'GET', path: '/3/0/0', timeout: 600 })).rejects.toThrow();
    await c.update();
    expect(events).toEqual(['sleeping', 'awake']);
    expect(c.sleeping).toBe(false);
    const res = await s.send({ method: 'GET', path: '/3/0/0' });
    expect(res.code).toBe('2.05');
    // And asleep again later.
    await expect.poll(() => c.sleeping, { timeout: 2000 }).toBe(true);
    expect(events).toEqual(['sleeping', 'awake', 'sleeping']);
  });

  it('wakes for a Send', async () => {
    const s = await server();
    const c = client(s, { server: { queueMode: true, awakeTime: 200 } });
    await c.start();
    await expect.poll(() => c.sleeping, { timeout: 2000 }).toBe(true);
    const awake = next(c, 'awake');
    await c.send('/3/0/0');
    await awake;
    expect(s.filter('POST', 'dp')).toHaveLength(1);
  });
});

describe('LwM2mClient over DTLS', () => {
  it('registers with coaps:// and a PSK, and is read over the session', async () => {
    const keys = new Map([['dev-psk', Buffer.from('secret-key-1')]]);
    const identities: string[] = [];
    const socket = new DtlsServerSocket({
      type: 'udp4',
      psk: async (identity) => {
        identities.push(identity);
        return keys.get(identity);
      },
    });
    const s = await TestServer.start({ socket });
    open.push(s);
    const c = client(
      { uri: `coaps://127.0.0.1:${s.port}` },
      {
        endpoint: 'dev-psk',
        server: { psk: { identity: 'dev-psk', key: Buffer.from('secret-key-1') } },
        requestTimeout: 10_000,
      },
    );
    const reg = await c.start();
    expect(reg.serverUri).toBe(`coaps://127.0.0.1:${s.port}`);
    expect(identities).toContain('dev-psk');
    const [req] = s.registers();
    expect(req!.peer.identity).toBe('dev-psk');
    const res = await s.send({ method: 'GET', path: '/3/0/0' });
    expect(text(res.payload)).toBe('lwm2m-ts');
    await c.close();
    expect(s.requests.some((r) => r.method === 'DELETE')).toBe(true);
  });
});
