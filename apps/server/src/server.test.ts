import { encodeSenmlJson } from '@lwm2m-ts/codecs';
import { ContentFormat, LwM2mPath, singleResource, TimeoutError } from '@lwm2m-ts/core';
import { DtlsClientSocket } from '@lwm2m-ts/dtls';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerEvents } from './events.js';
import { LwM2mServer, type LwM2mServerOptions } from './server.js';
import { RawNotifier, TestDevice } from './test-device.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

async function startServer(options: LwM2mServerOptions = {}) {
  const server = new LwM2mServer({
    coap: { address: '127.0.0.1', port: 0 },
    dtls: false,
    requestTimeout: 3000,
    ...options,
  });
  open.push(server);
  await server.start();
  return { server, coap: server.addresses().coap! };
}

async function device(options?: Parameters<typeof TestDevice.start>[0]) {
  const d = await TestDevice.start(options);
  open.push(d);
  return d;
}

function next<K extends keyof ServerEvents>(server: LwM2mServer, name: K) {
  return new Promise<ServerEvents[K][0]>((resolve) =>
    server.once(name, ((e: ServerEvents[K][0]) => resolve(e)) as never),
  );
}

describe('registration interface', () => {
  it('registers, updates and de-registers, with events and Location-Path /rd/<id>', async () => {
    const { server, coap } = await startServer();
    const d = await device();
    const registered = next(server, 'registered');
    const res = await d.register(coap, ['ep=dev-1', 'lt=120', 'lwm2m=1.1', 'b=U']);
    expect(res.code).toBe('2.01');
    expect(res.locationPath[0]).toBe('rd');
    const { registration } = await registered;
    expect(registration).toMatchObject({
      endpoint: 'dev-1',
      lifetime: 120,
      lwm2mVersion: '1.1',
      binding: 'U',
      queueMode: false,
      address: '127.0.0.1',
      port: d.port,
      transport: 'udp',
      id: res.locationPath[1],
    });
    expect(registration.objectLinks.map((l) => l.objectId)).toEqual([1, 3, 3303]);

    const updated = next(server, 'updated');
    expect((await d.update(coap, ['lt=600'], '</1/0>,</3/0>')).code).toBe('2.04');
    const u = await updated;
    expect(u.before.lifetime).toBe(120);
    expect(u.registration.lifetime).toBe(600);
    expect(u.registration.objectLinks.map((l) => l.objectId)).toEqual([1, 3]);
    expect((await server.getRegistration('dev-1'))?.lifetime).toBe(600);

    const gone = next(server, 'deregistered');
    expect((await d.deregister(coap)).code).toBe('2.02');
    expect((await gone).reason).toBe('deregistered');
    expect(await server.getRegistration('dev-1')).toBeUndefined();
    expect((await d.update(coap)).code).toBe('4.04');
  });

  it('answers 4.00 to bad parameters and keeps serving', async () => {
    const { server, coap } = await startServer();
    const d = await device();
    const errors: string[] = [];
    server.on('coapError', (e) => errors.push(`${e.code} ${e.message}`));
    expect((await d.register(coap, ['lt=60'])).code).toBe('4.00'); // no ep
    expect((await d.register(coap, ['ep=x', 'lt=abc'])).code).toBe('4.00');
    expect((await d.register(coap, ['ep=x', 'lwm2m=9.9'])).code).toBe('4.00');
    expect((await d.register(coap, ['ep=x'], '<<<garbage')).code).toBe('4.00');
    expect(errors.length).toBe(4);
    expect(await server.listRegistrations()).toEqual([]);
    expect((await d.register(coap, ['ep=ok'])).code).toBe('2.01');
  });

  it('removes a registration when its lifetime passes', async () => {
    const { server, coap } = await startServer();
    const d = await device();
    const gone = next(server, 'deregistered');
    await d.register(coap, ['ep=short', 'lt=1']);
    const e = await gone;
    expect(e.reason).toBe('expired');
    expect(e.registration.endpoint).toBe('short');
    expect(await server.getRegistration('short')).toBeUndefined();
  });

  it('an endpoint registering again replaces its registration and its observations', async () => {
    const { server, coap } = await startServer();
    const d = await device();
    await d.register(coap, ['ep=again', 'lwm2m=1.1']);
    const first = (await server.getRegistration('again'))!;
    const obs = await server.observe('again', '/3303/0/5700');
    expect(obs.ok).toBe(true);
    expect(await server.listObservations('again')).toHaveLength(1);
    const replaced = next(server, 'deregistered');
    await d.register(coap, ['ep=again', 'lwm2m=1.1']);
    expect((await replaced).reason).toBe('replaced');
    const second = (await server.getRegistration('again'))!;
    expect(second.id).not.toBe(first.id);
    expect(await server.listObservations('again')).toEqual([]);
  });
});

describe('device management', () => {
  it('reads, writes, executes, creates, deletes and discovers on a 1.0 client (TLV)', async () => {
    const { server, coap } = await startServer();
    const d = await device();
    await d.register(coap, ['ep=dm', 'lwm2m=1.0']);

    const manufacturer = await server.read('dm', '/3/0/0');
    expect(manufacturer).toMatchObject({
      ok: true,
      code: '2.05',
      contentFormat: ContentFormat.TLV,
    });
    if (!manufacturer.ok) throw new Error('read failed');
    expect(manufacturer.content).toMatchObject({ kind: 'singleResource', value: 'ACME' });
    expect(d.requests.at(-1)?.accept).toBe(ContentFormat.TLV);

    const instance = await server.read('dm', '/3/0');
    if (!instance.ok) throw new Error('read failed');
    expect(instance.content.kind).toBe('instance');

    const w = await server.write('dm', '/3/0/14', singleResource(14, 'string', '+05:00'));
    expect(w).toEqual({ ok: true, code: '2.04' });
    expect(d.values.get('/3/0/14')).toEqual({ type: 'string', value: '+05:00' });

    expect(await server.execute('dm', '/3/0/4', 'now')).toEqual({ ok: true, code: '2.04' });
    expect(d.executed).toEqual([{ path: '/3/0/4', args: 'now' }]);

    const created = await server.create('dm', 3303, [singleResource(5700, 'float', 1.5)], {
      instanceId: 4,
    });
    expect(created).toMatchObject({ ok: true, code: '2.01', location: '/3303/4' });
    expect(d.values.get('/3303/4/5700')).toEqual({ type: 'float', value: 1.5 });
    expect(await server.delete('dm', '/3303/4')).toEqual({ ok: true, code: '2.02' });
    expect(d.values.has('/3303/4/5700')).toBe(false);

    const missing = await server.read('dm', '/3/7');
    expect(missing).toMatchObject({ ok: false, code: '4.04' });

    const disc = await server.discover('dm', '/3/0');
    if (!disc.ok) throw new Error('discover failed');
    expect(disc.links.map((l) => l.uri)).toContain('/3/0/0');

    const attrs = await server.writeAttributes('dm', '/3/0/9', { pmin: 10, pmax: 60 });
    expect(attrs.ok).toBe(true);
    expect(d.requests.at(-1)?.query).toEqual(['pmin=10', 'pmax=60']);
  });

  it('falls back to another format when a client refuses one, and remembers it', async () => {
    const { server, coap } = await startServer();
    const d = await device({ refuse: [ContentFormat.SENML_CBOR, ContentFormat.TLV] });
    await d.register(coap, ['ep=picky', 'lwm2m=1.1']);
    const r1 = await server.read('picky', '/3/0');
    expect(r1).toMatchObject({ ok: true, contentFormat: ContentFormat.SENML_JSON });
    const accepts = d.requests.map((r) => r.accept);
    expect(accepts).toEqual([ContentFormat.SENML_CBOR, ContentFormat.SENML_JSON]);
    d.requests.length = 0;
    const r2 = await server.read('picky', '/3/0/0');
    expect(r2.ok).toBe(true);
    expect(d.requests.map((r) => r.accept)).toEqual([ContentFormat.SENML_JSON]);
    // An explicit format is asked for as is, refusal included.
    expect(await server.read('picky', '/3/0', { format: ContentFormat.TLV })).toMatchObject({
      ok: false,
      code: '4.06',
    });
  });

  it('uses the formats a 1.1 client advertised in ct', async () => {
    const { server, coap } = await startServer();
    const d = await device();
    await d.register(
      coap,
      ['ep=ct', 'lwm2m=1.2'],
      `</>;rt="oma.lwm2m";ct="60 110 112 11544",${d.objectLinks()}`,
    );
    const r = await server.read('ct', '/3/0');
    expect(r).toMatchObject({ ok: true, contentFormat: ContentFormat.LWM2M_CBOR });
  });

  it('observes and emits decoded notifications; cancels proactively', async () => {
    const { server, coap } = await startServer();
    const d = await device();
    await d.register(coap, ['ep=obs', 'lwm2m=1.1']);
    const o = await server.observe('obs', '/3303/0/5700');
    if (!o.ok) throw new Error('observe failed');
    expect(o.content).toMatchObject({ value: 21.5 });
    const note = next(server, 'notification');
    d.set('/3303/0/5700', { type: 'float', value: 22.25 });
    const n = await note;
    expect(n.registration.endpoint).toBe('obs');
    expect(n.observation.id).toBe(o.observation.id);
    expect(n.content).toMatchObject({ kind: 'singleResource', value: 22.25 });
    const cancelled = next(server, 'observationCancelled');
    expect(await server.cancelObservation('obs', '/3303/0/5700')).toBe(1);
    await cancelled;
    expect(await server.listObservations('obs')).toEqual([]);
    expect(d.requests.at(-1)?.observe).toBe(1);
  });

  it('without a cluster a notification with an unknown token gets RST, as always', async () => {
    const { server, coap } = await startServer();
    const d = await device();
    await d.register(coap, ['ep=lone', 'lwm2m=1.1']);
    const o = await server.observe('lone', '/3303/0/5700', { format: ContentFormat.SENML_JSON });
    if (!o.ok) throw new Error('observe failed');
    const raw = await RawNotifier.open();
    open.push(raw);
    const con = raw.notify(coap, '0102030405060708', 5, '[{"v":1}]');
    expect(await raw.reply(con)).toMatchObject({ type: 'RST' });
    const non = raw.notify(coap, '0102030405060708', 6, '[{"v":1}]', { type: 'NON' });
    expect(await raw.reply(non)).toMatchObject({ type: 'RST' });
    // The observation's own token is matched from any address (a device behind NAT), as before.
    const note = next(server, 'notification');
    const own = raw.notify(coap, o.observation.id, 1000, '[{"bn":"/3303/0/5700","v":30}]');
    expect(await raw.reply(own)).toMatchObject({ type: 'ACK' });
    expect((await note).content).toMatchObject({ value: 30 });
    expect(server.stats().observations).toBe(1);
    expect(await server.listObservations('lone')).toMatchObject([{ id: o.observation.id }]);
  });

  it('composite read, write and observe on a 1.1 client', async () => {
    const { server, coap } = await startServer();
    const d = await device();
    await d.register(coap, ['ep=comp', 'lwm2m=1.1']);
    const r = await server.readComposite('comp', ['/3/0/0', '/3303/0/5700']);
    if (!r.ok) throw new Error(`composite read failed ${r.code}`);
    expect(r.values.map((v) => [`${v.path}`, v.value.value])).toEqual([
      ['/3/0/0', 'ACME'],
      ['/3303/0/5700', 21.5],
    ]);
    const w = await server.writeComposite('comp', [
      { path: LwM2mPath.parse('/3/0/14'), value: { type: 'string', value: '-02:00' } },
    ]);
    expect(w.ok).toBe(true);
    expect(d.values.get('/3/0/14')?.value).toBe('-02:00');
    const o = await server.observeComposite('comp', ['/3303/0/5700', '/3/0/9']);
    if (!o.ok) throw new Error('composite observe failed');
    expect(o.values).toHaveLength(2);
    await expect(server.readComposite('nobody', ['/3/0/0'])).rejects.toMatchObject({
      httpStatus: 404,
    });
  });

  it('refuses composite operations to a 1.0 client', async () => {
    const { server, coap } = await startServer();
    const d = await device();
    await d.register(coap, ['ep=old']);
    await expect(server.readComposite('old', ['/3/0/0'])).rejects.toMatchObject({
      coapCode: '4.05',
    });
  });

  it('times out with TimeoutError when the client does not answer', async () => {
    const { server, coap } = await startServer();
    const d = await device();
    await d.register(coap, ['ep=mute']);
    d.silent = true;
    await expect(server.read('mute', '/3/0/0', { timeout: 300 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
    await expect(server.read('nobody', '/3/0/0')).rejects.toMatchObject({ httpStatus: 404 });
    await expect(server.read('mute', '/3/x')).rejects.toMatchObject({ httpStatus: 400 });
  });
});

describe('Send and queue mode', () => {
  it('accepts Send in SenML JSON and emits the values', async () => {
    const { server, coap } = await startServer();
    const d = await device();
    await d.register(coap, ['ep=sender', 'lwm2m=1.1']);
    const sent = next(server, 'send');
    const payload = encodeSenmlJson([
      { path: LwM2mPath.parse('/3303/0/5700'), value: { type: 'float', value: 19.5 } },
    ]);
    expect((await d.send(coap, payload, ContentFormat.SENML_JSON)).code).toBe('2.04');
    const e = await sent;
    expect(e.registration.endpoint).toBe('sender');
    expect(e.values[0]?.value).toEqual({ type: 'float', value: 19.5 });
    expect((await d.send(coap, Buffer.from('{not json'), ContentFormat.SENML_JSON)).code).toBe(
      '4.00',
    );
    expect((await d.send(coap, Buffer.from('x'), ContentFormat.TEXT)).code).toBe('4.15');
  });

  it('holds requests for a sleeping client until it updates', async () => {
    const { server, coap } = await startServer({ queue: { awakeTimeMs: 200, maxQueued: 2 } });
    const d = await device();
    await d.register(coap, ['ep=sleepy', 'lwm2m=1.1', 'b=UQ']);
    expect((await server.getRegistration('sleepy'))?.queueMode).toBe(true);
    await next(server, 'sleeping');
    expect(server.queueState('sleepy')).toEqual({ awake: false, queued: 0 });
    const before = d.requests.length;
    const pending = server.read('sleepy', '/3/0/0', { timeout: 5000 });
    const second = server.read('sleepy', '/3/0/1', { timeout: 5000 });
    await expect(server.read('sleepy', '/3/0/9')).rejects.toMatchObject({ httpStatus: 409 });
    await new Promise((r) => setTimeout(r, 100));
    expect(d.requests.length).toBe(before); // nothing sent while asleep
    expect(server.queueState('sleepy')?.queued).toBe(2);
    await d.update(coap);
    expect(await pending).toMatchObject({ ok: true });
    expect(await second).toMatchObject({ ok: true });
    await next(server, 'sleeping');
    await expect(server.read('sleepy', '/3/0/0', { timeout: 150 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
  });
});

describe('security', () => {
  async function dtlsDevice(port: number, identity: string, key: string) {
    const socket = new DtlsClientSocket({
      type: 'udp4',
      address: '127.0.0.1',
      port,
      psk: { identity, key: Buffer.from(key) },
      handshakeTimeoutMs: 3000,
    });
    return device({ socket });
  }

  it('registers over DTLS with a PSK and is managed over the same session', async () => {
    const { server } = await startServer({ dtls: { address: '127.0.0.1', port: 0 } });
    await server.security.put({
      endpoint: 'secure',
      mode: 'psk',
      identity: 'secure-id',
      key: Buffer.from('s3cret'),
    });
    const dtls = server.addresses().dtls!;
    const d = await dtlsDevice(dtls.port, 'secure-id', 's3cret');
    expect((await d.register(dtls, ['ep=secure', 'lwm2m=1.1'])).code).toBe('2.01');
    const reg = (await server.getRegistration('secure'))!;
    expect(reg).toMatchObject({ transport: 'dtls', identity: 'secure-id' });
    const r = await server.read('secure', '/3/0/0');
    expect(r).toMatchObject({ ok: true, content: { value: 'ACME' } });
    expect((await d.update(dtls, ['lt=100'])).code).toBe('2.04');
  });

  it('refuses an endpoint name that is not the identity’s, and PSK endpoints on plain CoAP', async () => {
    const { server, coap } = await startServer({
      dtls: { address: '127.0.0.1', port: 0 },
      allowUnsecured: false,
    });
    await server.security.put({
      endpoint: 'a',
      mode: 'psk',
      identity: 'a-id',
      key: Buffer.from('ka'),
    });
    await server.security.put({ endpoint: 'open', mode: 'nosec' });
    const dtls = server.addresses().dtls!;
    const d = await dtlsDevice(dtls.port, 'a-id', 'ka');
    expect((await d.register(dtls, ['ep=b'])).code).toBe('4.03');
    const plain = await device();
    expect((await plain.register(coap, ['ep=a'])).code).toBe('4.03');
    expect((await plain.register(coap, ['ep=unknown'])).code).toBe('4.03');
    expect(await server.listRegistrations()).toEqual([]);
    expect((await plain.register(coap, ['ep=open'])).code).toBe('2.01');
    // A plain-CoAP client cannot update a registration made over DTLS.
    expect((await d.register(dtls, ['ep=a'])).code).toBe('2.01');
    plain.location = d.location;
    expect((await plain.update(coap)).code).toBe('4.03');
  });
});
