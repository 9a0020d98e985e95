import { CoapEndpoint } from '@lwm2m-ts/coap';
import type { LwM2mVersion } from '@lwm2m-ts/codecs';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './backoff.js';
import {
  bindingParam,
  RegistrationEngine,
  type RegistrationEngineOptions,
  RegistrationFailedError,
  type RegistrationParams,
  registerQuery,
  updateDelay,
} from './registration-engine.js';
import { queryOf, TestServer } from './test-server.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(
    open
      .splice(0)
      .reverse()
      .map((o) => o.close()),
  );
});

const FAST_RETRY: RetryPolicy = {
  retryCount: 3,
  retryTimer: 100,
  sequenceDelay: 200,
  sequenceRetryCount: 2,
  maxDelay: 1000,
  jitter: 0,
};

interface Setup {
  server: TestServer;
  engine: RegistrationEngine;
  params: { lifetime: number; binding: string; queueMode: boolean; retryPolicy: RetryPolicy };
  links: { text: string };
}

async function setup(
  overrides: Partial<RegistrationEngineOptions> = {},
  serverPort?: number,
): Promise<Setup> {
  const server = await TestServer.start(serverPort === undefined ? {} : { port: serverPort });
  open.push(server);
  return { server, ...(await engineFor(server.port, overrides)) };
}

async function engineFor(port: number, overrides: Partial<RegistrationEngineOptions> = {}) {
  const client = new CoapEndpoint({ address: '127.0.0.1', ackTimeout: 0.2, maxRetransmit: 1 });
  await client.listen();
  const params = { lifetime: 60, binding: 'U', queueMode: false, retryPolicy: FAST_RETRY };
  const links = { text: '</>;rt="oma.lwm2m";ct=110,</1/0>,</3/0>' };
  const engine = new RegistrationEngine({
    endpointName: 'dev-1',
    version: '1.1',
    send: (req) => client.request({ address: '127.0.0.1', port }, req),
    params: (): RegistrationParams => ({ ...params }),
    objectLinks: () => links.text,
    requestTimeout: 600,
    random: () => 0,
    ...overrides,
  });
  open.push(client, engine);
  return { engine, params, links };
}

function events<T>(engine: RegistrationEngine, name: Parameters<RegistrationEngine['on']>[0]) {
  const seen: T[] = [];
  engine.on(name, ((...args: unknown[]) => seen.push(args[0] as T)) as never);
  return seen;
}

describe('helpers', () => {
  it('computes the Update delay: lifetime − max(lifetime/10, margin), at least half the lifetime', () => {
    expect(updateDelay(300)).toBe(270_000);
    expect(updateDelay(4)).toBe(3000);
    expect(updateDelay(1)).toBe(500);
    expect(updateDelay(60, 10)).toBe(50_000);
    expect(updateDelay(0)).toBeUndefined();
  });

  it('writes queue mode in the binding for 1.0 and as Q for 1.1+', () => {
    const p: RegistrationParams = {
      lifetime: 300,
      binding: 'U',
      queueMode: true,
      retryPolicy: DEFAULT_RETRY_POLICY,
    };
    expect(registerQuery('a', '1.0', p)).toEqual(['ep=a', 'lt=300', 'lwm2m=1.0', 'b=UQ']);
    expect(registerQuery('a', '1.1', p)).toEqual(['ep=a', 'lt=300', 'lwm2m=1.1', 'b=U', 'Q']);
    expect(registerQuery('a', '1.2', { ...p, queueMode: false })).toEqual([
      'ep=a',
      'lt=300',
      'lwm2m=1.2',
      'b=U',
    ]);
    expect(bindingParam('1.1', 'UQ', true)).toBe('U');
  });
});

describe('RegistrationEngine', () => {
  it.each(['1.0', '1.1', '1.2'] as LwM2mVersion[])(
    'registers with lwm2m=%s, the object links as link format, and keeps the location',
    async (version) => {
      const { server, engine, links } = await setup({ version });
      const reg = await engine.start();
      expect(reg.location).toBe('/rd/1');
      expect(engine.state).toBe('registered');
      const [req] = server.registers();
      expect(req).toBeDefined();
      expect(Object.fromEntries(queryOf(req!))).toEqual({
        ep: 'dev-1',
        lt: '60',
        lwm2m: version,
        b: 'U',
      });
      expect(req!.contentFormat).toBe(40);
      expect(Buffer.from(req!.payload).toString()).toBe(links.text);
    },
  );

  it('sends the periodic Update before the lifetime runs out, with no parameters', async () => {
    const { server, engine, params } = await setup();
    params.lifetime = 2;
    const start = Date.now();
    await engine.start();
    // lifetime 2 s → margin max(0.2, 1) = 1 s → Update at ~1 s, then again at ~2 s.
    const updates = await server.waitFor((r) => {
      const u = r.filter((x) => x.method === 'POST' && x.path.length === 2);
      return u.length >= 2 ? u : undefined;
    }, 4000);
    expect(updates[0]!.at - start).toBeGreaterThanOrEqual(900);
    expect(updates[0]!.at - start).toBeLessThan(1900);
    expect(updates[0]!.path).toEqual(['rd', '1']);
    expect(updates[0]!.query).toEqual([]);
    expect(updates[0]!.payload.length).toBe(0);
  });

  it('sends only what changed: lt, b, the object list', async () => {
    const { server, engine, params, links } = await setup();
    await engine.start();
    const updated = events<unknown>(engine, 'updated');
    params.lifetime = 120;
    links.text = '</>;rt="oma.lwm2m";ct=110,</1/0>,</3/0>,</3303/0>';
    await engine.update();
    const [u] = server.updates();
    expect(u!.query).toEqual(['lt=120']);
    expect(Buffer.from(u!.payload).toString()).toBe(links.text);
    expect(u!.contentFormat).toBe(40);
    expect(updated).toHaveLength(1);
    // Nothing changed since: an empty Update.
    await engine.update();
    expect(server.updates()[1]!.query).toEqual([]);
    expect(server.updates()[1]!.payload.length).toBe(0);
    params.queueMode = true;
    await engine.update();
    // 1.1: queue mode is not part of b; the binding itself did not change.
    expect(server.updates()[2]!.query).toEqual([]);
    params.binding = 'T';
    await engine.update();
    expect(server.updates()[3]!.query).toEqual(['b=T']);
  });

  it('coalesces update requests made while one is in flight', async () => {
    const { server, engine } = await setup();
    await engine.start();
    engine.requestUpdate();
    engine.requestUpdate();
    engine.requestUpdate();
    await server.waitFor((r) => r.some((x) => x.path.length === 2));
    await new Promise((r) => setTimeout(r, 200));
    expect(server.updates()).toHaveLength(1);
  });

  it('registers again when an Update gets 4.04', async () => {
    const { server, engine } = await setup();
    await engine.start();
    server.overrides.push((req) =>
      req.method === 'POST' && req.path.length === 2 ? { code: '4.04' } : undefined,
    );
    const lost = events<unknown>(engine, 'registrationLost');
    const registered = events<{ location: string }>(engine, 'registered');
    await expect(engine.update()).rejects.toThrow(/4\.04/);
    await server.waitFor((r) => r.filter((x) => x.path.length === 1).length === 2 || undefined);
    await expect.poll(() => engine.state).toBe('registered');
    expect(lost).toHaveLength(1);
    expect(registered.at(-1)?.location).toBe('/rd/2');
  });

  it('retries with back-off while the server is unreachable, then registers when it appears', async () => {
    // Find a free port, then leave it closed: the first attempts get no answer.
    const probe = await TestServer.start();
    const port = probe.port;
    await probe.close();
    const { engine } = await engineFor(port, { requestTimeout: 300 });
    const retries = events<{ attempt: number; sequence: number; delay: number }>(engine, 'retry');
    const started = engine.start();
    await expect.poll(() => retries.length, { timeout: 3000 }).toBeGreaterThanOrEqual(2);
    // FAST_RETRY without jitter: 100 ms, then 200 ms within the first sequence.
    expect(retries[0]).toMatchObject({ attempt: 1, sequence: 1, delay: 100 });
    expect(retries[1]).toMatchObject({ attempt: 2, sequence: 1, delay: 200 });
    const server = await TestServer.start({ port });
    open.push(server);
    const reg = await started;
    expect(reg.location).toBe('/rd/1');
    expect(server.registers()).toHaveLength(1);
  });

  it('gives up when the retry policy is used up', async () => {
    const probe = await TestServer.start();
    const port = probe.port;
    await probe.close();
    const { engine } = await engineFor(port, {
      requestTimeout: 150,
      params: () => ({
        lifetime: 60,
        binding: 'U',
        queueMode: false,
        retryPolicy: { ...FAST_RETRY, retryCount: 2, sequenceRetryCount: 1, retryTimer: 50 },
      }),
    });
    const failed = events<{ code?: string }>(engine, 'registrationFailed');
    await expect(engine.start()).rejects.toBeInstanceOf(RegistrationFailedError);
    expect(failed).toHaveLength(1);
    expect(engine.state).toBe('failed');
  });

  it('does not retry a 4.03: registrationFailed with the code and the bootstrap hook', async () => {
    const hook: unknown[] = [];
    const { server, engine } = await setup({ onRegistrationFailure: (f) => hook.push(f) });
    server.overrides.push(() => ({ code: '4.03' }));
    const failed = events<{ code?: string }>(engine, 'registrationFailed');
    const err = await engine.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistrationFailedError);
    expect((err as RegistrationFailedError).coapCode).toBe('4.03');
    expect(failed[0]?.code).toBe('4.03');
    expect(hook).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(server.registers()).toHaveLength(1);
  });

  it('retries a 5.03 answer', async () => {
    const { server, engine } = await setup();
    let refusals = 2;
    server.overrides.push(() => (refusals-- > 0 ? { code: '5.03' } : undefined));
    await engine.start();
    expect(server.registers()).toHaveLength(3);
  });

  it('falls back to lower versions on 4.00 with versionFallback', async () => {
    const { server, engine } = await setup({ version: '1.2', versionFallback: true });
    server.overrides.push((req) =>
      queryOf(req).get('lwm2m') === '1.0' ? undefined : { code: '4.00' },
    );
    const fallbacks = events<{ from: string; to: string }>(engine, 'versionFallback');
    const reg = await engine.start();
    expect(reg.version).toBe('1.0');
    expect(server.registers().map((r) => queryOf(r).get('lwm2m'))).toEqual(['1.2', '1.1', '1.0']);
    expect(fallbacks).toEqual([
      { from: '1.2', to: '1.1' },
      { from: '1.1', to: '1.0' },
    ]);
  });

  it('without versionFallback a 4.00 is final', async () => {
    const { server, engine } = await setup({ version: '1.2' });
    server.overrides.push(() => ({ code: '4.00' }));
    await expect(engine.start()).rejects.toThrow(/4\.00/);
    expect(server.registers()).toHaveLength(1);
  });

  it('de-registers with DELETE on the location and stops updating', async () => {
    const { server, engine, params } = await setup();
    params.lifetime = 2;
    await engine.start();
    const gone = events<{ location: string; confirmed: boolean }>(engine, 'deregistered');
    expect(await engine.deregister()).toBe(true);
    expect(gone).toEqual([{ location: '/rd/1', confirmed: true }]);
    const del = server.requests.filter((r) => r.method === 'DELETE');
    expect(del.map((r) => r.path)).toEqual([['rd', '1']]);
    expect(engine.state).toBe('idle');
    await new Promise((r) => setTimeout(r, 1300));
    expect(server.updates()).toHaveLength(0);
    // And can register again.
    expect((await engine.start()).location).toBe('/rd/2');
  });

  it('deregister() while retrying aborts the retries', async () => {
    const probe = await TestServer.start();
    const port = probe.port;
    await probe.close();
    const { engine } = await engineFor(port, { requestTimeout: 200 });
    const started = engine.start();
    const outcome = started.then(
      () => 'registered',
      (e: Error) => e.name,
    );
    await new Promise((r) => setTimeout(r, 250));
    expect(await engine.deregister()).toBe(false);
    expect(await outcome).toBe('RegistrationAbortedError');
  });
});
