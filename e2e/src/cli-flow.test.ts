/**
 * The life of a device with the three roles as separate processes, started through their CLIs
 * as an operator would: `lwm2m-server`, `lwm2m-bootstrap --dm-server <server's REST API>` and
 * `lwm2m-client --bootstrap … --queue`, over plain CoAP and over DTLS with PSKs.
 *
 * The operator configures the device on the bootstrap server (`PUT /api/bootstrap/:ep`); the client
 * bootstraps (for DTLS the bootstrap server hands the DM PSK to the server's REST API) and
 * registers; the server's REST API reads, writes, executes and observes; the device sets a value
 * (notification), Sends and Updates from its console; a multi-block firmware package put on the
 * server (`PUT /api/packages/:name`) is pulled and applied (Update Result 1); the device sleeps
 * (queue mode), a request waits and is delivered when it wakes; SIGTERM de-registers it, and
 * started again with its `--state-file` it registers with the saved account, no bootstrap. Every
 * step is checked on the SSE streams of both servers and in the REST answers.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopAll } from '@lwm2m-ts/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { call, expectStatus, openSse, type SseStream } from './support/http.js';
import {
  type ClientCli,
  type Listening,
  startBootstrapCli,
  startClientCli,
  startServerCli,
  terminate,
} from './support/roles.js';

const streams: SseStream[] = [];
afterAll(async () => {
  for (const s of streams.splice(0)) s.close();
  await stopAll();
});

const DM_KEY = '000102030405060708090a0b0c0d0e0f';
const BS_KEY = 'a1b2c3d4e5f60718';
/** The device falls asleep after this long without exchanges (queue mode). */
const AWAKE_MS = 5000;

async function sse(url: string): Promise<SseStream> {
  const s = await openSse(url);
  streams.push(s);
  return s;
}

describe.each(['coap', 'coaps'] as const)('three CLIs over %s', { timeout: 60_000 }, (scheme) => {
  const secure = scheme === 'coaps';
  const ep = `cli-flow-${scheme}`;
  let server: Listening;
  let bs: Listening;
  let client: ClientCli;
  let events: SseStream;
  let bsEvents: SseStream;
  const dmUri = () => `${scheme}://127.0.0.1:${secure ? server.dtlsPort : server.coapPort}`;
  /** The accounts the client keeps across restarts (--state-file). */
  const stateDir = mkdtempSync(join(tmpdir(), 'lwm2m-cli-flow-'));
  const stateFile = join(stateDir, `${ep}.json`);
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));
  const clientArgs = () => [
    `--bootstrap=${scheme}://127.0.0.1:${secure ? bs.dtlsPort : bs.coapPort}`,
    ...(secure ? [`--bs-psk-identity=${ep}-bs`, `--bs-psk-key=${BS_KEY}`] : []),
    `--endpoint=${ep}`,
    '--lwm2m=1.1',
    '--queue',
    `--awake-time=${AWAKE_MS}`,
    `--state-file=${stateFile}`,
    '--verbose',
  ];
  const api = (path: string) => `/api/clients/${ep}${path}`;

  it('the operator starts both servers and configures the device on the bootstrap server', async () => {
    server = await startServerCli({ extraArgs: ['--request-timeout=8000'] });
    bs = await startBootstrapCli({
      extraArgs: [`--dm-server=${server.base}`, '--step-timeout=8000'],
    });
    events = await sse(`${server.base}/api/events?ep=${ep}`);
    bsEvents = await sse(`${bs.base}/api/events?ep=${ep}`);
    expect((await call(server.base, 'GET', '/health')).body).toEqual({ status: 'ok' });

    const config = {
      servers: [
        {
          shortServerId: 101,
          uri: dmUri(),
          securityMode: secure ? 'psk' : 'nosec',
          ...(secure && { pskIdentity: `${ep}-dm`, pskKey: DM_KEY }),
          lifetime: 60,
          binding: 'U',
        },
      ],
      ...(secure && { bootstrapCredentials: { identity: `${ep}-bs`, key: BS_KEY } }),
      // Replace the server accounts only: the device keeps its sensors (a Bootstrap-Delete of
      // `/` would remove every instance but Device's and the bootstrap account).
      deletePaths: ['/0', '/1'],
    };
    const put = await expectStatus(201, bs.base, 'PUT', `/api/bootstrap/${ep}`, { body: config });
    expect(put.body.servers[0]).toMatchObject({ shortServerId: 101, uri: dmUri() });
    // Not known to the DM server yet: the bootstrap server hands the PSK over during the bootstrap.
    await expectStatus(404, server.base, 'GET', `/api/security/clients/${ep}`);
  });

  it('the client bootstraps, then registers with the account it was given', async () => {
    client = await startClientCli(clientArgs());
    await client.waitForLine(new RegExp(`bootstrapped ${ep} from ${scheme}://`));
    const out = await client.waitForLine(/registered \S+ at \S+ as \/rd\/\S+\n/);
    const location = new RegExp(`registered ${ep} at ${dmUri()} as (/rd/\\S+)\n`).exec(out)?.[1];
    expect(location, out).toBeDefined();

    const finished = await bsEvents.next('bootstrap-finished');
    expect(finished.data).toMatchObject({ endpoint: ep });
    const steps = bsEvents
      .named('step-done')
      .map((e) => `${e.data.step.operation} ${e.data.step.path} ${e.data.code}`);
    expect(steps).toEqual([
      'delete /0 2.02',
      'delete /1 2.02',
      'write /0/1 2.04',
      'write /1/0 2.04',
      'finish /bs 2.04',
    ]);
    if (secure) {
      const handoff = await bsEvents.next('dm-server-handoff');
      expect(handoff.data).toMatchObject({ endpoint: ep, ok: true });
      const sec = await expectStatus(200, server.base, 'GET', `/api/security/clients/${ep}`);
      expect(sec.body).toMatchObject({
        endpoint: ep,
        mode: 'psk',
        identity: `${ep}-dm`,
        key: DM_KEY,
      });
    }

    const reg = await events.next('registration');
    expect(reg.data.registration).toMatchObject({
      endpoint: ep,
      lwm2mVersion: '1.1',
      lifetime: 60,
      queueMode: true,
      transport: secure ? 'dtls' : 'udp',
    });
    const rest = await expectStatus(200, server.base, 'GET', api(''));
    expect(rest.body).toMatchObject({
      endpoint: ep,
      registrationId: reg.data.registration.registrationId,
    });
    expect(location).toBe(`/rd/${reg.data.registration.registrationId}`);
  });

  it('the server reads, writes and executes through its REST API', async () => {
    const manufacturer = await expectStatus(200, server.base, 'GET', api('/3/0/0'));
    expect(manufacturer.body).toMatchObject({ status: '2.05', content: { value: 'lwm2m-ts' } });
    const device = await expectStatus(200, server.base, 'GET', api('/3/0'));
    expect(device.body.content).toMatchObject({ kind: 'instance', id: 0 });

    await expectStatus(200, server.base, 'PUT', api('/3/0/14'), { body: { value: '+02:00' } });
    const offset = await expectStatus(200, server.base, 'GET', api('/3/0/14'));
    expect(offset.body.content.value).toBe('+02:00');
    expect(await client.command('get /3/0/14', /\/3\/0\/14 = \S+\n/)).toContain('+02:00');

    // Execute the Registration Update Trigger: the device answers, then Updates.
    const from = events.events.length;
    const exec = await expectStatus(200, server.base, 'POST', api('/1/0/8'));
    expect(exec.body).toEqual({ status: '2.04' });
    await events.next('update', (d) => d.endpoint === ep, { from });
  });

  it('observes a value: the device sets it, the notification arrives on SSE', async () => {
    const observe = await expectStatus(200, server.base, 'POST', api('/3303/0/5700/observe'));
    expect(observe.body).toMatchObject({
      status: '2.05',
      observation: { paths: ['/3303/0/5700'] },
    });
    await client.command('set /3303/0/5700 42.5', /\/3303\/0\/5700 = 42\.5\n/);
    const note = await events.next(
      'notification',
      (d) => d.paths[0] === '/3303/0/5700' && d.content?.value === 42.5,
    );
    expect(note.data).toMatchObject({ endpoint: ep, status: '2.05' });
    const list = await expectStatus(200, server.base, 'GET', api('/observations'));
    expect(list.body).toHaveLength(1);
  });

  it('the device Sends values and Updates from its console', async () => {
    await client.command('send /3303/0/5700 /3/0/0', /sent 2 value\(s\) \(2\.04\)\n/);
    const sent = await events.next('send');
    expect(sent.data.values).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/3303/0/5700', value: 42.5 }),
        expect.objectContaining({ path: '/3/0/0', value: 'lwm2m-ts' }),
      ]),
    );
    const from = events.events.length;
    await client.command('update', /updated \/rd\/\S+\n/);
    await events.next('update', () => true, { from });
  });

  it('updates its firmware by pull: a multi-block package the server serves, Update Result 1', async () => {
    const image = randomBytes(12_000);
    const put = await expectStatus(201, server.base, 'PUT', '/api/packages/fw-2.0.bin', {
      body: image,
    });
    expect(put.body).toEqual({ name: 'fw-2.0.bin', size: 12_000, path: '/fw/fw-2.0.bin' });
    await expectStatus(200, server.base, 'POST', api('/5/0/3/observe'));
    const from = events.events.length;
    const uri = `${dmUri()}/fw/fw-2.0.bin`;
    await expectStatus(200, server.base, 'PUT', api('/5/0/1'), { body: { value: uri } });
    // The device GETs the package block by block (12 blocks of 1024 bytes): State 2, Downloaded.
    await events.next('notification', (d) => d.paths[0] === '/5/0/3' && d.content?.value === 2, {
      from,
      timeoutMs: 30_000,
    });
    // Execute Update: the device applies it and goes back to State 0 (Idle) with Update Result 1.
    await expectStatus(200, server.base, 'POST', api('/5/0/2'));
    await events.next('notification', (d) => d.paths[0] === '/5/0/3' && d.content?.value === 0, {
      from,
      timeoutMs: 20_000,
    });
    const result = await expectStatus(200, server.base, 'GET', api('/5/0/5'));
    expect(result.body.content.value).toBe(1);
  });

  it('queue mode: the device sleeps, a request waits for it and is delivered when it wakes', async () => {
    await expectStatus(200, server.base, 'DELETE', api('/3303/0/5700/observe'));
    await expectStatus(200, server.base, 'DELETE', api('/5/0/3/observe'));
    const asleepAt = client.proc.stdout().length;
    await client.waitForLine(/^sleeping$/m, { from: asleepAt, timeoutMs: AWAKE_MS + 10_000 });
    // The server learns that the device sleeps when a request gets no answer.
    const missed = await call(server.base, 'GET', `${api('/3/0/0')}?timeout=1500`);
    expect(missed.status).toBe(504);
    await events.next('sleeping');
    const from = events.events.length;
    const pending = call(server.base, 'GET', `${api('/3/0/1')}?timeout=20000`, {
      timeoutMs: 25_000,
    });
    await expect
      .poll(async () => (await call(server.base, 'GET', api(''))).body.queue, { timeout: 5000 })
      .toMatchObject({ awake: false, queued: 1 });
    // The device wakes on its own (its console here), Updates, and gets the queued Read.
    await client.command('update', /updated \/rd\/\S+\n/);
    const answer = await pending;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: '2.05', content: { value: 'lwm2m-client' } });
    await events.next('awake', () => true, { from });
  });

  it('SIGTERM de-registers the device; both servers stop cleanly', async () => {
    const from = events.events.length;
    expect(await terminate(client.proc)).toEqual({ code: 0, signal: null });
    expect(client.proc.stdout()).toMatch(new RegExp(`deregistered ${ep} \\(/rd/\\S+\\)`));
    const gone = await events.next('deregistration', () => true, { from });
    expect(gone.data).toMatchObject({ endpoint: ep });
    await expectStatus(404, server.base, 'GET', api(''));
    expect((await call(server.base, 'GET', '/api/clients')).body).toEqual([]);

    // Started again with its state file: it registers with the saved account, no bootstrap.
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    const bootstraps = bsEvents.named('bootstrap-finished').length;
    const again = await startClientCli(clientArgs());
    await again.waitForLine(new RegExp(`registered ${ep} at ${dmUri()} as /rd/\\S+\n`));
    expect(again.proc.stdout()).not.toMatch(/bootstrapped/);
    await events.next('registration', () => true, { from });
    expect(bsEvents.named('bootstrap-finished')).toHaveLength(bootstraps);
    expect(await terminate(again.proc)).toEqual({ code: 0, signal: null });
    for (const s of [events, bsEvents]) s.close();
    expect(await terminate(bs.proc)).toEqual({ code: 0, signal: null });
    expect(await terminate(server.proc)).toEqual({ code: 0, signal: null });
  });
});
