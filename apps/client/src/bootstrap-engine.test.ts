/**
 * Client-initiated bootstrap against a raw CoapEndpoint playing the bootstrap server (apps never
 * import each other: the real one is tested with this client in e2e), and a TestServer playing
 * the LwM2M server the bootstrap points to.
 */

import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeValues, encode } from '@lwm2m-ts/codecs';
import {
  ContentFormat,
  type LwM2mObjectInstance,
  LwM2mPath,
  objectInstance,
  parseLinkFormat,
  singleResource,
} from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { afterEach, describe, expect, it } from 'vitest';
import {
  applyBootstrapPack,
  BootstrapFailedError,
  ConfigSnapshot,
  checkBootstrapConfiguration,
} from './bootstrap-engine.js';
import {
  type ClientBootstrapOptions,
  type ClientEvents,
  LwM2mClient,
  type LwM2mClientOptions,
} from './client.js';
import { FileClientState } from './client-state.js';
import { ObjectTree } from './object-tree.js';
import { securityObject } from './objects/security.js';
import { serverObject } from './objects/server.js';
import {
  FakeBootstrapServer as BaseFakeBootstrapServer,
  dmSecurity,
  dmServer,
  provision,
} from './test-bootstrap-server.js';
import { queryOf, TestServer } from './test-server.js';

/** Closed after each test. */
const FakeBootstrapServer = {
  async start() {
    const bs = await BaseFakeBootstrapServer.start();
    open.push(bs);
    return bs;
  },
};

const registry = ObjectRegistry.withBuiltins();
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function dmServerAt(): Promise<TestServer> {
  const s = await TestServer.start();
  open.push(s);
  return s;
}

function client(
  bs: { uri: string },
  options: Partial<Omit<LwM2mClientOptions, 'bootstrap'>> & {
    bootstrap?: Partial<ClientBootstrapOptions>;
  } = {},
): LwM2mClient {
  const c = new LwM2mClient({
    endpoint: 'dev-1',
    local: { address: '127.0.0.1' },
    coapOptions: { ackTimeout: 0.3, maxRetransmit: 1 },
    requestTimeout: 2000,
    ...options,
    bootstrap: {
      uri: bs.uri,
      timeout: 3000,
      retry: { retryCount: 1, sequenceRetryCount: 1, jitter: 0 },
      ...options.bootstrap,
    },
  });
  open.push(c);
  return c;
}

function record(c: LwM2mClient): string[] {
  const out: string[] = [];
  for (const name of [
    'bootstrapStarted',
    'bootstrapFinished',
    'bootstrapFailed',
    'registered',
    'deregistered',
    'registrationFailed',
  ] as const) {
    c.on(name, () => out.push(name));
  }
  return out;
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

describe('client-initiated bootstrap', () => {
  it('without a server account: Bootstrap-Request, then serves delete, discover, write, read and finish, then registers', async () => {
    const dm = await dmServerAt();
    const bs = await FakeBootstrapServer.start();
    let discovered = '';
    let readServer: unknown;
    const codes: Record<string, string> = {};
    bs.script = async (b) => {
      await b.send({ method: 'DELETE', path: '/' });
      const d = await b.send({ method: 'GET', path: '/', accept: ContentFormat.LINK_FORMAT });
      discovered = text(d.payload);
      codes.deleteBootstrapAccount = (await b.send({ method: 'DELETE', path: '/0/0' })).code;
      await b.write(dmSecurity(1, dm.uri, 101), 0);
      await b.write(dmServer(0, 101, 120), 1);
      const r = await b.send({ method: 'GET', path: '/1/0', accept: ContentFormat.SENML_CBOR });
      readServer = decodeValues(ContentFormat.SENML_CBOR, r.payload, {
        path: '/1/0',
        model: registry,
      }).map((v) => `${v.path}=${String(v.value.value)}`);
      codes.readDevice = (await b.send({ method: 'GET', path: '/3/0' })).code;
      codes.readSecurity = (await b.send({ method: 'GET', path: '/0' })).code;
      codes.execute = (await b.send({ method: 'POST', path: '/1/0/8' })).code;
      await b.finish();
    };
    const c = client(bs);
    const events = record(c);
    const reg = await c.start();
    await bs.scriptDone;

    const [request] = bs.bootstrapRequests();
    expect(request!.query).toEqual(['ep=dev-1']);
    expect(bs.log).toEqual([
      'DELETE / 2.02',
      'GET / 2.05',
      'DELETE /0/0 4.00',
      'PUT /0/1 2.04',
      'PUT /1/0 2.04',
      'GET /1/0 2.05',
      'GET /3/0 4.05',
      'GET /0 4.05',
      'POST /1/0/8 4.05',
      'POST /bs 2.04',
    ]);
    expect(codes).toEqual({
      deleteBootstrapAccount: '4.00',
      readDevice: '4.05',
      readSecurity: '4.05',
      execute: '4.05',
    });
    // After Delete /: the bootstrap account (no ssid) and the Device instance stay.
    const links = parseLinkFormat(discovered);
    expect(links[0]).toMatchObject({ uri: '/' });
    expect(discovered).toMatch(/^<\/>;lwm2m=1\.1,/);
    expect(discovered).toContain(`</0/0>;uri="${bs.uri}"`);
    expect(discovered).toContain('</3/0>');
    expect(discovered).not.toContain('</1/0>');
    expect(discovered).not.toContain('</3303/0>');
    expect(readServer).toEqual(expect.arrayContaining(['/1/0/0=101', '/1/0/1=120', '/1/0/7=U']));

    expect(reg).toMatchObject({ serverUri: dm.uri, lifetime: 120 });
    expect(events).toEqual(['bootstrapStarted', 'bootstrapFinished', 'registered']);
    const [register] = dm.registers();
    expect(queryOf(register!).get('lt')).toBe('120');
    expect(c.serverUri).toBe(dm.uri);
    // The DM server's requests now come with Short Server ID 101, and it sees no Security object.
    const res = await dm.send({ method: 'GET', path: '/0/1', accept: ContentFormat.SENML_CBOR });
    expect(res.code).toBe('4.04');
    expect((await dm.send({ method: 'GET', path: '/1/0/0' })).payload).toEqual(Buffer.from('101'));
  });

  it('1.2 asks to be written in SenML CBOR (pct=112) and takes SenML CBOR writes', async () => {
    const dm = await dmServerAt();
    const bs = await FakeBootstrapServer.start();
    bs.script = async (b) => {
      await b.send({ method: 'DELETE', path: '/0' });
      await b.send({ method: 'DELETE', path: '/1' });
      for (const [oid, inst] of [
        [0, dmSecurity(3, dm.uri, 7)],
        [1, dmServer(2, 7, 90)],
      ] as const) {
        const path = LwM2mPath.of(oid, inst.id);
        await b.send({
          method: 'PUT',
          path: `${path}`,
          contentFormat: ContentFormat.SENML_CBOR,
          payload: encode(ContentFormat.SENML_CBOR, inst, { path, model: registry }),
        });
      }
      await b.finish();
    };
    const c = client(bs, { lwm2mVersion: '1.2' });
    const reg = await c.start();
    expect(bs.bootstrapRequests()[0]!.query).toEqual(['ep=dev-1', 'pct=112']);
    expect(bs.log).toEqual([
      'DELETE /0 2.02',
      'DELETE /1 2.02',
      'PUT /0/3 2.04',
      'PUT /1/2 2.04',
      'POST /bs 2.04',
    ]);
    expect(reg).toMatchObject({ serverUri: dm.uri, lifetime: 90, version: '1.2' });
  });

  it('refuses a Finish without a usable account with 4.06 and keeps the old configuration', async () => {
    const old = await dmServerAt();
    const bs = await FakeBootstrapServer.start();
    bs.script = async (b) => {
      await b.send({ method: 'DELETE', path: '/' });
      // A Security instance whose Server instance never comes.
      await b.write(dmSecurity(1, 'coap://127.0.0.1:1', 55), 0);
      await b.finish();
    };
    const c = client(bs, { server: { uri: old.uri, lifetime: 300 } });
    await c.start();
    expect(old.registers()).toHaveLength(1);
    const events = record(c);
    const failed = next(c, 'bootstrapFailed');
    await expect(c.bootstrap()).rejects.toBeInstanceOf(BootstrapFailedError);
    const [event] = await failed;
    expect(event).toMatchObject({ trigger: 'manual', code: '4.06', willRetry: false });
    expect(event.reason).toMatch(/no Server instance \(\/1\) with Short Server ID 55/);
    expect(bs.log).toEqual(['DELETE / 2.02', 'PUT /0/1 2.04', 'POST /bs 4.06']);
    expect(events).toEqual(['deregistered', 'bootstrapStarted', 'bootstrapFailed']);
    // Everything Delete / removed is back, the new account is gone.
    expect(await c.get('/0/1/0')).toMatchObject({ value: old.uri });
    expect(await c.get('/0/1/10')).toMatchObject({ value: 1n });
    expect(await c.get('/1/0/1')).toMatchObject({ value: 300n });
    expect((await c.get('/3303/0')).kind).toBe('instance');
    expect(c.tree.get(0)!.instanceIds()).toEqual([0, 1]);
    // start() registers with it again.
    const reg = await c.start();
    expect(reg.serverUri).toBe(old.uri);
    expect(old.registers()).toHaveLength(2);
  });

  it('undoes the changes when no Finish comes in time', async () => {
    const bs = await FakeBootstrapServer.start();
    bs.script = async (b) => {
      await b.send({ method: 'DELETE', path: '/' });
      await b.write(dmSecurity(1, 'coap://127.0.0.1:1', 101), 0);
      await b.write(dmServer(0, 101, 60), 1);
      // … and nothing more.
    };
    const c = client(bs, { bootstrap: { timeout: 600 } });
    const failed = next(c, 'bootstrapFailed');
    const t0 = Date.now();
    await expect(c.start()).rejects.toThrow(/no Bootstrap-Finish within 600 ms/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
    expect((await failed)[0]).toMatchObject({ trigger: 'no-account', willRetry: false });
    await bs.scriptDone;
    expect(bs.log).toEqual(['DELETE / 2.02', 'PUT /0/1 2.04', 'PUT /1/0 2.04']);
    // Back to the bootstrap account alone and the objects Delete / removed.
    expect(c.tree.get(0)!.instanceIds()).toEqual([0]);
    expect(c.tree.get(1)!.instanceIds()).toEqual([]);
    expect(c.tree.get(3303)!.instanceIds()).toEqual([0]);
    expect(c.tree.get(5)!.instanceIds()).toEqual([0]);
    expect(c.registration).toBeUndefined();
  });

  it('waits the Client Hold Off Time before the Bootstrap-Request', async () => {
    const dm = await dmServerAt();
    const bs = await FakeBootstrapServer.start();
    bs.script = provision(dm);
    const c = client(bs, { bootstrap: { holdOffSeconds: 1 } });
    expect((await c.get('/0/0/11')) as unknown).toMatchObject({ value: 1n });
    const t0 = Date.now();
    await c.start();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(bs.bootstrapRequests()).toHaveLength(1);
  });

  it('purges the bootstrap-server account when the Bootstrap-Server Account Timeout (/0/x/12) runs out', async () => {
    const dm = await dmServerAt();
    const bs = await FakeBootstrapServer.start();
    const base = provision(dm);
    bs.script = async (b) => {
      const res = await b.send({
        method: 'PUT',
        path: '/0/0/12',
        payload: Buffer.from('1'),
        contentFormat: ContentFormat.TEXT,
      });
      expect(res.code).toBe('2.04');
      await base(b);
    };
    const c = client(bs);
    const purged = next(c, 'bootstrapAccountPurged', 5000);
    const t0 = Date.now();
    await c.start();
    const [{ instanceId }] = await purged;
    expect(instanceId).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    await expect(c.get('/0/0')).rejects.toMatchObject({ coapCode: '4.04' });
    // The DM account stays, and the client can no longer bootstrap.
    expect(await c.get('/0/1/0')).toMatchObject({ value: dm.uri });
    await expect(c.bootstrap()).rejects.toThrow(/no bootstrap-server account/);
  });

  it('with a state file: bootstraps once, and after a restart registers with the saved account', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lwm2m-state-'));
    open.push({ close: () => rm(dir, { recursive: true, force: true }) });
    const file = join(dir, 'dev-1.json');
    const dm = await dmServerAt();
    const bs = await FakeBootstrapServer.start();
    bs.script = provision(dm, 77, 90);
    const first = client(bs, { state: new FileClientState(file) });
    await first.start();
    await first.close();
    expect(bs.bootstrapRequests()).toHaveLength(1);
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    // A new process: same bootstrap server configured, but the saved account is used at once.
    const again = client(bs, { state: new FileClientState(file) });
    await again.start();
    expect(bs.bootstrapRequests()).toHaveLength(1);
    expect(dm.registers()).toHaveLength(2);
    expect(queryOf(dm.registers()[1]!).get('lt')).toBe('90');
    expect(await again.get('/1/0/0')).toMatchObject({ value: 77n });
    // The bootstrap account is kept too: the client can still bootstrap.
    expect(await again.get('/0/0/1')).toMatchObject({ value: true });
  });

  it('refuses a state file that is not a saved state, naming it, and changes nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lwm2m-state-'));
    open.push({ close: () => rm(dir, { recursive: true, force: true }) });
    const file = join(dir, 'bad.json');
    await writeFile(file, '{"not": "senml"}');
    const bs = await FakeBootstrapServer.start();
    const c = client(bs, { state: new FileClientState(file) });
    await expect(c.start()).rejects.toThrow(new RegExp(`${file}: not a saved client state`));
    expect(bs.bootstrapRequests()).toHaveLength(0);
    expect(await c.get('/0/0/1')).toMatchObject({ value: true });
  });

  it('keeps the bootstrap-server account without /0/x/12, or with 0', async () => {
    const dm = await dmServerAt();
    const bs = await FakeBootstrapServer.start();
    bs.script = provision(dm);
    const c = client(bs);
    const purged: unknown[] = [];
    c.on('bootstrapAccountPurged', (e) => purged.push(e));
    await c.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(purged).toEqual([]);
    expect(await c.get('/0/0/1')).toMatchObject({ value: true });
  });

  it('retries by back-off after 5.03 and no answer; a 4.00 ends it', async () => {
    const dm = await dmServerAt();
    const bs = await FakeBootstrapServer.start();
    let n = 0;
    bs.answer = () => (++n === 1 ? { code: '5.03' } : undefined);
    bs.script = provision(dm);
    const c = client(bs, {
      bootstrap: { retry: { retryCount: 3, retryTimer: 100, jitter: 0, sequenceRetryCount: 1 } },
    });
    const failures: ClientEvents['bootstrapFailed'][0][] = [];
    c.on('bootstrapFailed', (e) => failures.push(e));
    await c.start();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ code: '5.03', willRetry: true, delay: 100, attempt: 1 });
    expect(bs.bootstrapRequests()).toHaveLength(2);

    const refused = await FakeBootstrapServer.start();
    refused.answer = () => ({ code: '4.00', payload: Buffer.from('unknown endpoint') });
    const c2 = client(refused, {
      bootstrap: { retry: { retryCount: 5, retryTimer: 50, jitter: 0 } },
    });
    const failed = next(c2, 'bootstrapFailed');
    await expect(c2.start()).rejects.toThrow(/answered 4\.00: unknown endpoint/);
    expect((await failed)[0]).toMatchObject({ code: '4.00', willRetry: false });
    expect(refused.bootstrapRequests()).toHaveLength(1);
  });

  it('bootstraps when the registration is refused, and the new account registers', async () => {
    const refusing = await dmServerAt();
    refusing.overrides.push((req) => (req.path[0] === 'rd' ? { code: '4.03' } : undefined));
    const dm = await dmServerAt();
    const bs = await FakeBootstrapServer.start();
    bs.script = provision(dm, 3);
    const c = client(bs, { server: { uri: refusing.uri } });
    const events = record(c);
    const reg = await c.start();
    expect(reg.serverUri).toBe(dm.uri);
    expect(events).toEqual([
      'registrationFailed',
      'bootstrapStarted',
      'bootstrapFinished',
      'registered',
    ]);
    expect(refusing.registers()).toHaveLength(1);
    expect(dm.registers()).toHaveLength(1);
  });

  it('queue mode without a server option: the bootstrapped account registers with Q and sleeps', async () => {
    const dm = await dmServerAt();
    const bs = await FakeBootstrapServer.start();
    bs.script = provision(dm);
    const c = client(bs, { queueMode: true, awakeTime: 200 });
    const sleeping = next(c, 'sleeping');
    await c.start();
    expect(queryOf(dm.registers()[0]!).has('Q')).toBe(true);
    await sleeping;
  });

  it('does not bootstrap on a refused registration when /1/x/16 is false', async () => {
    const refusing = await dmServerAt();
    refusing.overrides.push((req) => (req.path[0] === 'rd' ? { code: '4.03' } : undefined));
    const bs = await FakeBootstrapServer.start();
    const c = client(bs, { server: { uri: refusing.uri } });
    await c.set('/1/0/16', false);
    await expect(c.start()).rejects.toThrow(/4\.03/);
    expect(bs.bootstrapRequests()).toHaveLength(0);
  });

  it('Execute /1/x/9: 2.04, De-register, bootstrap, register with the new account', async () => {
    const first = await dmServerAt();
    const second = await dmServerAt();
    const bs = await FakeBootstrapServer.start();
    bs.script = provision(second, 9, 60);
    const c = client(bs, { server: { uri: first.uri } });
    await c.start();
    const events = record(c);
    const registered = next(c, 'registered');
    const res = await first.send({ method: 'POST', path: '/1/0/9' });
    expect(res.code).toBe('2.04');
    const [reg] = await registered;
    expect(reg).toMatchObject({ serverUri: second.uri, lifetime: 60 });
    expect(events).toEqual(['deregistered', 'bootstrapStarted', 'bootstrapFinished', 'registered']);
    expect(first.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1);
    expect(bs.bootstrapRequests()[0]!.query).toEqual(['ep=dev-1']);
  });

  it('Execute /1/x/9 without a bootstrap-server account is 4.05', async () => {
    const dm = await dmServerAt();
    const c = new LwM2mClient({
      endpoint: 'dev-2',
      local: { address: '127.0.0.1' },
      server: { uri: dm.uri },
    });
    open.push(c);
    await c.start();
    expect((await dm.send({ method: 'POST', path: '/1/0/9' })).code).toBe('4.05');
  });

  it('a failed server-initiated bootstrap registers again with the old account', async () => {
    const dm = await dmServerAt();
    const bs = await FakeBootstrapServer.start();
    bs.answer = () => ({ code: '4.03' });
    const c = client(bs, { server: { uri: dm.uri } });
    await c.start();
    const registered = next(c, 'registered');
    const failed = next(c, 'bootstrapFailed');
    await dm.send({ method: 'POST', path: '/1/0/9' });
    expect((await failed)[0]).toMatchObject({ trigger: 'server', code: '4.03' });
    expect((await registered)[0].serverUri).toBe(dm.uri);
    expect(dm.registers()).toHaveLength(2);
  });

  it('1.2 Bootstrap-Pack: GET /bspack, applies the writes, registers without a Finish', async () => {
    const dm = await dmServerAt();
    const bs = await FakeBootstrapServer.start();
    bs.pack = () => {
      const values = [
        ...encodeValues(LwM2mPath.of(0, 1), dmSecurity(1, dm.uri, 101)),
        ...encodeValues(LwM2mPath.of(1, 0), dmServer(0, 101, 200)),
        ...encodeValues(
          LwM2mPath.of(3, 0),
          objectInstance(0, [singleResource(14, 'string', '+02:00')]),
        ),
      ];
      return {
        code: '2.05',
        contentFormat: ContentFormat.SENML_CBOR,
        payload: encode(ContentFormat.SENML_CBOR, values, {
          path: LwM2mPath.ROOT,
          model: registry,
        }),
      };
    };
    const c = client(bs, { lwm2mVersion: '1.2', bootstrap: { pack: true } });
    const finished = next(c, 'bootstrapFinished');
    const reg = await c.start();
    expect(reg).toMatchObject({ serverUri: dm.uri, lifetime: 200 });
    expect((await finished)[0]).toMatchObject({ mode: 'pack', trigger: 'no-account' });
    const [req] = bs.requests;
    expect(req).toMatchObject({ method: 'GET', path: ['bspack'], query: ['ep=dev-1'] });
    expect(req!.accept).toBe(ContentFormat.SENML_CBOR);
    expect(bs.bootstrapRequests()).toHaveLength(0);
    expect(await c.get('/3/0/14')).toMatchObject({ value: '+02:00' });
    // Bootstrap-Pack writes; it does not delete: the bootstrap account stays where it was.
    expect(c.tree.get(0)!.instanceIds()).toEqual([0, 1]);
  });

  it('Bootstrap-Pack needs LwM2M 1.2', () => {
    expect(
      () =>
        new LwM2mClient({
          endpoint: 'x',
          bootstrap: { uri: 'coap://127.0.0.1:5783', pack: true },
        }),
    ).toThrow(/1\.2/);
    expect(() => new LwM2mClient({ endpoint: 'x' })).toThrow(/bootstrap/);
    expect(
      () => new LwM2mClient({ endpoint: 'x', bootstrap: { uri: 'coaps://127.0.0.1:5784' } }),
    ).toThrow(/PSK/);
  });
});

function encodeValues(path: LwM2mPath, inst: LwM2mObjectInstance) {
  return inst.resources.map((r) => {
    if (r.kind !== 'singleResource') throw new Error('single resources only here');
    return { path: path.child(r.id), value: { type: r.type, value: r.value } as never };
  });
}

describe('ConfigSnapshot and checks', () => {
  function tree() {
    const t = new ObjectTree(registry);
    t.add(
      securityObject([
        { serverUri: 'coap://bs.example:5783', bootstrapServer: true },
        { serverUri: 'coap://dm.example', shortServerId: 1 },
      ]),
    );
    t.add(serverObject([{ shortServerId: 1, lifetime: 300 }]));
    return t;
  }

  it('restores deleted, created and changed instances', async () => {
    const t = tree();
    const snapshot = new ConfigSnapshot(t);
    await snapshot.save(LwM2mPath.ROOT, 'delete');
    await t.delete(LwM2mPath.ROOT, { kind: 'bootstrap' });
    await snapshot.save(LwM2mPath.of(0, 0, 0), 'write');
    await t.write(
      LwM2mPath.of(0, 0, 0),
      singleResource(0, 'string', 'coap://other-bs'),
      'replace',
      { kind: 'bootstrap' },
    );
    await snapshot.save(LwM2mPath.of(1, 4), 'write');
    await t.write(LwM2mPath.of(1, 4), dmServer(4, 2, 10), 'replace', { kind: 'bootstrap' });
    expect(t.get(1)!.instanceIds()).toEqual([4]);
    expect(await snapshot.restore()).toEqual([]);
    expect(t.get(0)!.instanceIds()).toEqual([0, 1]);
    expect(t.get(1)!.instanceIds()).toEqual([0]);
    expect(await t.read(LwM2mPath.of(0, 0, 0), { kind: 'local' })).toMatchObject({
      value: 'coap://bs.example:5783',
    });
    expect(await t.read(LwM2mPath.of(1, 0, 1), { kind: 'local' })).toMatchObject({ value: 300n });
  });

  it('checks the configuration Bootstrap-Finish would accept', async () => {
    const t = tree();
    expect((await checkBootstrapConfiguration(t)).accounts).toHaveLength(1);
    await t.delete(LwM2mPath.of(1, 0), { kind: 'bootstrap' });
    expect((await checkBootstrapConfiguration(t)).problem).toMatch(/Short Server ID 1/);
    await applyBootstrapPack(t, encodeValues(LwM2mPath.of(1, 0), dmServer(0, 1, 30)));
    expect((await checkBootstrapConfiguration(t)).problem).toBeUndefined();
    // PSK without a key is not usable.
    await applyBootstrapPack(t, [
      { path: LwM2mPath.parse('/0/1/2'), value: { type: 'integer', value: 0n } },
    ]);
    expect((await checkBootstrapConfiguration(t)).problem).toMatch(/PSK/);
  });
});
