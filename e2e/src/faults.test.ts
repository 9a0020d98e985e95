/**
 * Faults a deployment meets, with the roles as separate CLI processes where the fault is about the
 * process (a restart, a refused client, a flood of garbage) and in process where the test needs
 * CoAP timing the CLIs do not expose (short ack timeouts through a lossy link):
 *
 * - `lwm2m-server --psk-file` stops and starts again on the same ports: the PSK entries are still
 *   there, the running device's next Update is refused (4.04) and it registers again over DTLS;
 * - 30% of the datagrams between client and server are lost (a loopback proxy): register, read,
 *   write, execute, observe, Send, update, a block-wise firmware pull and de-register all complete;
 * - a client with a wrong PSK is refused by the server and by the bootstrap server, and nothing
 *   stored (registrations, PSK file, bootstrap config file) changes;
 * - a flood of malformed and random datagrams at the server's CoAP and DTLS ports while a device
 *   goes through its flow does not disturb either.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LwM2mClient } from '@lwm2m-ts/client';
import { singleResource } from '@lwm2m-ts/core';
import { LwM2mServer, type ServerEvents } from '@lwm2m-ts/server';
import {
  malformedDatagrams,
  mutateDatagram,
  randomDatagrams,
  startLossyUdpProxy,
  stopAll,
} from '@lwm2m-ts/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, expectStatus, openSse, type SseStream } from './support/http.js';
import { startBootstrapCli, startClientCli, startServerCli, terminate } from './support/roles.js';

const open: { close(): unknown }[] = [];
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lwm2m-e2e-faults-'));
});
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
  await stopAll();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const KEY = '73656372657431323334353637383930';
const WRONG_KEY = '0badc0de0badc0de0badc0de0badc0de';

async function sse(url: string): Promise<SseStream> {
  const s = await openSse(url);
  open.push(s);
  return s;
}

describe('the server restarts with --psk-file', { timeout: 60_000 }, () => {
  it('keeps the PSK entries; the device registers again over DTLS', async () => {
    const pskFile = join(dir, 'psk.json');
    const first = await startServerCli({ extraArgs: [`--psk-file=${pskFile}`] });
    const ep = 'restart-dev';
    await expectStatus(201, first.base, 'PUT', `/api/security/clients/${ep}`, {
      body: { mode: 'psk', identity: `${ep}-id`, key: KEY },
    });
    const events = await sse(`${first.base}/api/events?ep=${ep}`);
    const client = await startClientCli([
      `--server=coaps://127.0.0.1:${first.dtlsPort}`,
      `--psk-identity=${ep}-id`,
      `--psk-key=${KEY}`,
      `--endpoint=${ep}`,
      '--lifetime=60',
    ]);
    await client.waitForLine(/registered \S+ at \S+ as \/rd\/\S+\n/);
    const before = await events.next('registration');
    expect(before.data.registration).toMatchObject({ endpoint: ep, transport: 'dtls' });

    expect(await terminate(first.proc)).toEqual({ code: 0, signal: null });
    const stored = JSON.parse(await readFile(pskFile, 'utf8'));
    expect(JSON.stringify(stored)).toContain(`${ep}-id`);

    const second = await startServerCli({
      ports: { coap: first.coapPort, dtls: first.dtlsPort, http: first.httpPort },
      extraArgs: [`--psk-file=${pskFile}`],
    });
    const sec = await expectStatus(200, second.base, 'GET', `/api/security/clients/${ep}`);
    expect(sec.body).toEqual({ endpoint: ep, mode: 'psk', identity: `${ep}-id`, key: KEY });
    expect((await call(second.base, 'GET', '/api/clients')).body).toEqual([]);
    const after = await sse(`${second.base}/api/events?ep=${ep}`);

    // The device's next Update (its lifetime, or now from the console) meets a server that does
    // not know it: it registers again, over a new DTLS session.
    const from = client.proc.stdout().length;
    client.proc.proc.stdin!.write('update\n');
    await client.waitForLine(/registered \S+ at \S+ as \/rd\/\S+\n/, { from, timeoutMs: 30_000 });
    const again = await after.next('registration', () => true, { timeoutMs: 30_000 });
    expect(again.data.registration).toMatchObject({
      endpoint: ep,
      transport: 'dtls',
      identity: `${ep}-id`,
    });
    expect(client.proc.output()).toMatch(
      /registration \/rd\/\S+ lost \(Update answered 4\.04\): registering again/,
    );
    const read = await expectStatus(200, second.base, 'GET', `/api/clients/${ep}/3/0/0`);
    expect(read.body.content.value).toBe('lwm2m-ts');
    expect(await terminate(client.proc)).toEqual({ code: 0, signal: null });
    await after.next('deregistration');
  });
});

describe('a client with a wrong PSK', { timeout: 60_000 }, () => {
  it('is refused by the server: no registration, the PSK file unchanged', async () => {
    const pskFile = join(dir, 'psk-wrong.json');
    const server = await startServerCli({ extraArgs: [`--psk-file=${pskFile}`] });
    const ep = 'wrong-psk-dev';
    await expectStatus(201, server.base, 'PUT', `/api/security/clients/${ep}`, {
      body: { mode: 'psk', identity: `${ep}-id`, key: KEY },
    });
    const fileBefore = await readFile(pskFile);
    const securityBefore = (await call(server.base, 'GET', '/api/security/clients')).body;
    const events = await sse(`${server.base}/api/events`);

    const client = await startClientCli([
      `--server=coaps://127.0.0.1:${server.dtlsPort}`,
      `--psk-identity=${ep}-id`,
      `--psk-key=${WRONG_KEY}`,
      `--endpoint=${ep}`,
    ]);
    const error = await events.next('coap-error', (d) => /handshake/i.test(d.message));
    expect(error.data).toMatchObject({ coapCode: '4.03', address: '127.0.0.1' });
    await client.proc.waitForOutput(/Register failed \(.*handshake failed.*\); retrying/, 15_000);
    // It tries again by back-off, and is refused again.
    await expect
      .poll(() => events.named('coap-error').length, { timeout: 15_000 })
      .toBeGreaterThanOrEqual(2);
    expect(client.proc.stdout()).not.toMatch(/registered/);

    expect((await call(server.base, 'GET', '/api/clients')).body).toEqual([]);
    expect(events.named('registration')).toEqual([]);
    expect((await call(server.base, 'GET', '/api/security/clients')).body).toEqual(securityBefore);
    expect((await readFile(pskFile)).equals(fileBefore)).toBe(true);
  });

  it('is refused by the bootstrap server: no bootstrap, the config file unchanged', async () => {
    const configFile = join(dir, 'bootstrap.json');
    const bs = await startBootstrapCli({ extraArgs: [`--config-file=${configFile}`] });
    const ep = 'wrong-bs-psk-dev';
    await expectStatus(201, bs.base, 'PUT', `/api/bootstrap/${ep}`, {
      body: {
        servers: [
          { shortServerId: 101, uri: 'coap://127.0.0.1:5683', securityMode: 'nosec', lifetime: 60 },
        ],
        bootstrapCredentials: { identity: `${ep}-bs`, key: KEY },
      },
    });
    const fileBefore = await readFile(configFile);
    const configBefore = (await call(bs.base, 'GET', `/api/bootstrap/${ep}`)).body;
    const events = await sse(`${bs.base}/api/events`);

    const client = await startClientCli([
      `--bootstrap=coaps://127.0.0.1:${bs.dtlsPort}`,
      `--bs-psk-identity=${ep}-bs`,
      `--bs-psk-key=${WRONG_KEY}`,
      `--endpoint=${ep}`,
    ]);
    await client.proc.waitForOutput(
      /bootstrap from \S+ failed \(.*refused the DTLS handshake/,
      15_000,
    );
    const error = await events.next('coap-error', (d) => /handshake/i.test(d.message));
    expect(error.data).toMatchObject({ code: '4.03', address: '127.0.0.1' });
    expect(events.named('bootstrap-started')).toEqual([]);
    expect((await call(bs.base, 'GET', `/api/bootstrap/${ep}`)).body).toEqual(configBefore);
    expect((await readFile(configFile)).equals(fileBefore)).toBe(true);
  });
});

/** The value of a single resource of the device, as the device itself has it. */
async function valueAt(client: LwM2mClient, path: string): Promise<unknown> {
  const node = await client.get(path);
  return node.kind === 'singleResource' ? node.value : undefined;
}

/** Short CoAP timers on both sides, and retransmissions enough to get through 30% loss. */
const LOSSY_COAP = { ackTimeout: 0.2, ackRandomFactor: 1, maxRetransmit: 8 };

function nextEvent<K extends keyof ServerEvents>(
  server: LwM2mServer,
  name: K,
  accept: (e: ServerEvents[K][0]) => boolean = () => true,
  timeoutMs = 30_000,
) {
  return new Promise<ServerEvents[K][0]>((resolve, reject) => {
    const timer = setTimeout(() => {
      server.off(name, listener);
      reject(new Error(`no ${name} event in ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = ((e: ServerEvents[K][0]) => {
      if (!accept(e)) return;
      clearTimeout(timer);
      server.off(name, listener);
      resolve(e);
    }) as never;
    server.on(name, listener);
  });
}

/**
 * Seeds of the proxy's drop pattern (a function of each datagram's position in its direction):
 * 26–35 drops in the first 100 datagrams each way, at most 3 in a row. An unlucky seed (6 in a row)
 * only makes the test slow: CoAP's retransmission still gets through, 12.6 s later; over DTLS the
 * client also starts a new session after unanswered retransmissions (reconnectWhenUnanswered),
 * which other seeds make take 12–35 s.
 */
const LOSS_SEED = { coap: 5, coaps: 39 } as const;

describe.each(['coap', 'coaps'] as const)('a link losing 3 datagrams in 10, over %s', (scheme) => {
  const seed = LOSS_SEED[scheme];
  it('every operation still completes', { timeout: 90_000 }, async () => {
    const secure = scheme === 'coaps';
    const server = new LwM2mServer({
      coap: secure ? false : { address: '127.0.0.1', port: 0 },
      dtls: secure ? { address: '127.0.0.1', port: 0 } : false,
      coapOptions: LOSSY_COAP,
      requestTimeout: 30_000,
    });
    open.push(server);
    await server.start();
    const ep = `lossy-${scheme}`;
    const psk = { identity: `${ep}-id`, key: Buffer.from(KEY, 'hex') };
    if (secure) await server.security.put({ endpoint: ep, mode: 'psk', ...psk });
    const { coap, dtls } = server.addresses();
    const proxy = await startLossyUdpProxy({
      target: { address: '127.0.0.1', port: (coap ?? dtls)!.port },
      dropRate: 0.3,
      seed,
      // Over DTLS only application data records (content type 23) are lost: node-dtls-client
      // does not retransmit a lost handshake flight, it starts over (dtls-client-socket.ts), and
      // at 30% loss a handshake (six datagrams in a row) seldom gets through in time.
      ...(secure && { decide: (d) => (d.data[0] === 23 ? undefined : 'forward') }),
    });
    open.push(proxy);
    const via = `${scheme}://127.0.0.1:${proxy.address.port}`;
    const registered = nextEvent(server, 'registered');
    const client = new LwM2mClient({
      endpoint: ep,
      lwm2mVersion: '1.1',
      server: { uri: via, lifetime: 120, ...(secure && { psk }) },
      local: { address: '127.0.0.1' },
      coapOptions: LOSSY_COAP,
      requestTimeout: 30_000,
      deregisterTimeout: 30_000,
    });
    open.push(client);
    await client.start();
    expect((await registered).registration.endpoint).toBe(ep);

    expect(await server.read(ep, '/3/0/0')).toMatchObject({
      ok: true,
      content: { value: 'lwm2m-ts' },
    });
    expect((await server.read(ep, '/3/0')).ok).toBe(true);
    expect(await server.write(ep, '/3/0/14', singleResource(14, 'string', '+01:00'))).toMatchObject(
      { ok: true },
    );
    expect(await client.get('/3/0/14')).toMatchObject({ value: '+01:00' });

    const updatedByExecute = nextEvent(server, 'updated');
    expect(await server.execute(ep, '/1/0/8')).toMatchObject({ ok: true, code: '2.04' });
    await updatedByExecute;

    expect(await server.observe(ep, '/3303/0/5700')).toMatchObject({ ok: true });
    // A notification may be lost (a NON is not repeated): the device's next change gets through.
    const values = new Set<number>();
    const notified = nextEvent(
      server,
      'notification',
      (e) => e.content?.kind === 'singleResource' && values.has(e.content.value as number),
    );
    let next = 30;
    const change = () => {
      next += 0.5;
      values.add(next);
      void client.set('/3303/0/5700', next).catch(() => {});
    };
    change();
    const setter = setInterval(change, 300);
    try {
      await notified;
    } finally {
      clearInterval(setter);
    }

    const sent = nextEvent(server, 'send');
    await client.send(['/3303/0/5700', '/3/0/0']);
    expect((await sent).values.map((v) => v.path.toString()).sort()).toEqual([
      '/3/0/0',
      '/3303/0/5700',
    ]);

    const updated = nextEvent(server, 'updated');
    await client.update();
    await updated;

    // A pull through the same lossy link: four blocks, each its own CON exchange.
    const image = randomBytes(4000);
    server.addPackage('lossy.bin', image);
    expect(
      await server.write(ep, '/5/0/1', singleResource(1, 'string', `${via}/fw/lossy.bin`)),
    ).toMatchObject({ ok: true });
    await expect
      .poll(async () => valueAt(client, '/5/0/3'), { timeout: 60_000, interval: 200 })
      .toBe(2n);
    expect(await server.execute(ep, '/5/0/2')).toMatchObject({ ok: true });
    await expect
      .poll(async () => valueAt(client, '/5/0/5'), { timeout: 10_000, interval: 200 })
      .toBe(1n);

    const gone = nextEvent(server, 'deregistered');
    await client.close();
    expect((await gone).registration.endpoint).toBe(ep);
    expect(await server.listRegistrations()).toEqual([]);
    expect(proxy.stats.dropped).toBeGreaterThan(5);
  });
});

/** Sends garbage at `ports` until stopped: the named malformed cases, random and mutated bytes. */
async function startFlood(ports: readonly number[]) {
  const socket = dgram.createSocket('udp4');
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const named = malformedDatagrams().map((c) => c.bytes);
  // A DTLS ClientHello-like record and a CoAP GET, to be broken a different way each time.
  const dtlsLike = Uint8Array.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40, 1, 0, 0, 34]);
  const coapGet = Uint8Array.from([0x44, 0x01, 0x12, 0x34, 1, 2, 3, 4, 0xb2, 0x72, 0x64]);
  let sent = 0;
  let round = 0;
  const timer = setInterval(() => {
    round++;
    const batch = [
      named[round % named.length]!,
      ...randomDatagrams(round, 4, { maxLength: 300 }),
      mutateDatagram(dtlsLike, round),
      mutateDatagram(coapGet, round + 1_000_000),
    ];
    for (const port of ports) {
      for (const bytes of batch) {
        socket.send(bytes, port, '127.0.0.1');
        sent++;
      }
    }
  }, 4);
  let stopped: Promise<void> | undefined;
  return {
    sent: () => sent,
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        clearInterval(timer);
        socket.close(() => resolve());
      });
      return stopped;
    },
  };
}

describe('a flood of malformed datagrams at the server', { timeout: 60_000 }, () => {
  it('does not disturb devices going through their flow over CoAP and DTLS', async () => {
    const server = await startServerCli();
    const events = await sse(`${server.base}/api/events`);
    const psk = { identity: 'flood-dtls-id', key: Buffer.from(KEY, 'hex') };
    await expectStatus(201, server.base, 'PUT', '/api/security/clients/flood-dtls', {
      body: { mode: 'psk', identity: psk.identity, key: KEY },
    });
    const flood = await startFlood([server.coapPort, server.dtlsPort]);
    open.push({ close: () => flood.stop() });
    // The garbage comes first, and goes on during the flows.
    await expect.poll(() => flood.sent(), { timeout: 10_000 }).toBeGreaterThan(2000);

    const flow = async (ep: string, uri: string, withPsk: boolean) => {
      const client = new LwM2mClient({
        endpoint: ep,
        lwm2mVersion: '1.1',
        server: { uri, lifetime: 60, ...(withPsk && { psk }) },
        local: { address: '127.0.0.1' },
        requestTimeout: 10_000,
      });
      open.push(client);
      await client.start();
      await events.next('registration', (d) => d.endpoint === ep);
      const api = (path: string) => `/api/clients/${ep}${path}`;
      const read = await expectStatus(200, server.base, 'GET', api('/3/0/0'));
      expect(read.body.content.value).toBe('lwm2m-ts');
      await expectStatus(200, server.base, 'PUT', api('/3/0/14'), { body: { value: '+03:00' } });
      expect(await client.get('/3/0/14')).toMatchObject({ value: '+03:00' });
      await expectStatus(200, server.base, 'POST', api('/3303/0/5700/observe'));
      await client.set('/3303/0/5700', 12.25);
      await events.next('notification', (d) => d.endpoint === ep && d.content?.value === 12.25);
      await client.send(['/3303/0/5700']);
      await events.next('send', (d) => d.endpoint === ep);
      const updated = events.events.length;
      await client.update();
      await events.next('update', (d) => d.endpoint === ep, { from: updated });
      await client.close();
      await events.next('deregistration', (d) => d.endpoint === ep);
    };
    const sentBefore = flood.sent();
    await Promise.all([
      flow('flood-coap', `coap://127.0.0.1:${server.coapPort}`, false),
      flow('flood-dtls', `coaps://127.0.0.1:${server.dtlsPort}`, true),
    ]);
    const sent = flood.sent();
    await flood.stop();
    expect(sent).toBeGreaterThan(sentBefore);

    // Still serving, nothing registered from the garbage, the process alive.
    expect(server.proc.running).toBe(true);
    expect((await call(server.base, 'GET', '/health')).body).toEqual({ status: 'ok' });
    expect((await call(server.base, 'GET', '/api/clients')).body).toEqual([]);
    expect(
      events
        .named('registration')
        .map((e) => e.data.endpoint)
        .sort(),
    ).toEqual(['flood-coap', 'flood-dtls']);
    const metrics = await call(server.base, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(await terminate(server.proc)).toEqual({ code: 0, signal: null });
  });
});
