/**
 * Our client bootstraps from our bootstrap server and registers to our server with the account it
 * was given, all three in process: over CoAP and over DTLS with a PSK toward the bootstrap server,
 * with a NoSec and a PSK server account, for LwM2M 1.1 (Bootstrap-Request: delete, discover, read,
 * write, finish) and 1.2 (Bootstrap-Pack). A client with a wrong bootstrap PSK is refused and
 * keeps its configuration; Execute /1/0/9 from the server ends with the client registered again.
 */
import type { BootstrapEvents } from '@lwm2m-ts/bootstrap';
import { BootstrapServer } from '@lwm2m-ts/bootstrap';
import { type ClientEvents, LwM2mClient, type LwM2mClientOptions } from '@lwm2m-ts/client';
import { LwM2mServer, type ServerEvents } from '@lwm2m-ts/server';
import { afterEach, describe, expect, it } from 'vitest';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  // Clients first: they de-register while the servers still listen.
  for (const o of open.splice(0).reverse()) await o.close();
});

const BS_CREDS = { identity: 'bs-id', key: 'a1b2c3d4e5f60718' };
const DM_KEY = '000102030405060708090a0b0c0d0e0f';

async function startServers() {
  const server = new LwM2mServer({
    coap: { address: '127.0.0.1', port: 0 },
    dtls: { address: '127.0.0.1', port: 0 },
    requestTimeout: 5000,
  });
  const bs = new BootstrapServer({
    coap: { address: '127.0.0.1', port: 0 },
    dtls: { address: '127.0.0.1', port: 0 },
    stepTimeout: 5000,
  });
  open.push(server, bs);
  await Promise.all([server.start(), bs.start()]);
  const { coap, dtls } = server.addresses();
  const bsAddr = bs.addresses();
  return {
    server,
    bs,
    dmUri: { coap: `coap://127.0.0.1:${coap!.port}`, coaps: `coaps://127.0.0.1:${dtls!.port}` },
    bsUri: {
      coap: `coap://127.0.0.1:${bsAddr.coap!.port}`,
      coaps: `coaps://127.0.0.1:${bsAddr.dtls!.port}`,
    },
  };
}

function next<K extends keyof ServerEvents>(server: LwM2mServer, name: K, timeoutMs = 15_000) {
  return new Promise<ServerEvents[K][0]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} in ${timeoutMs} ms`)), timeoutMs);
    server.once(name, ((e: ServerEvents[K][0]) => {
      clearTimeout(timer);
      resolve(e);
    }) as never);
  });
}

/** Every bootstrap-server event, in order, as `name step`. */
function recordBs(bs: BootstrapServer): string[] {
  const out: string[] = [];
  bs.on('bootstrapStarted', (e: BootstrapEvents['bootstrapStarted'][0]) =>
    out.push(`started ${e.mode} ${e.transport}`),
  );
  bs.on('stepDone', (e: BootstrapEvents['stepDone'][0]) =>
    out.push(`${e.step.operation} ${e.step.path} ${e.code}`),
  );
  bs.on('bootstrapFinished', () => out.push('finished'));
  bs.on('bootstrapFailed', (e: BootstrapEvents['bootstrapFailed'][0]) =>
    out.push(`failed ${e.reason}`),
  );
  return out;
}

function recordClient(c: LwM2mClient): string[] {
  const out: string[] = [];
  for (const name of [
    'bootstrapStarted',
    'bootstrapFinished',
    'bootstrapFailed',
    'registered',
    'deregistered',
  ] as const satisfies readonly (keyof ClientEvents)[]) {
    c.on(name, () => out.push(name));
  }
  return out;
}

function client(options: LwM2mClientOptions): LwM2mClient {
  const c = new LwM2mClient({
    local: { address: '127.0.0.1' },
    requestTimeout: 5000,
    ...options,
  });
  open.push(c);
  return c;
}

const TRANSPORTS = ['coap', 'coaps'] as const;

describe.each(TRANSPORTS)('bootstrap server over %s', (bsScheme) => {
  /** A PSK DM account when the bootstrap goes over DTLS, a NoSec one otherwise. */
  const dmScheme = bsScheme;

  async function setup(ep: string, extra: Record<string, unknown> = {}) {
    const env = await startServers();
    const psk = dmScheme === 'coaps';
    if (psk) {
      // The DM server must know the PSK the bootstrap server hands out.
      await env.server.security.put({
        endpoint: ep,
        mode: 'psk',
        identity: `${ep}-dm`,
        key: Buffer.from(DM_KEY, 'hex'),
      });
    }
    await env.bs.putConfig(ep, {
      servers: [
        {
          shortServerId: 101,
          uri: env.dmUri[dmScheme],
          securityMode: psk ? 'psk' : 'nosec',
          ...(psk && { pskIdentity: `${ep}-dm`, pskKey: DM_KEY }),
          lifetime: 60,
        },
      ],
      ...(bsScheme === 'coaps' && { bootstrapCredentials: BS_CREDS }),
      ...extra,
    });
    const bootstrap: LwM2mClientOptions['bootstrap'] = {
      uri: env.bsUri[bsScheme],
      ...(bsScheme === 'coaps' && {
        psk: { identity: BS_CREDS.identity, key: Buffer.from(BS_CREDS.key, 'hex') },
      }),
      retry: { retryCount: 2, retryTimer: 200, sequenceRetryCount: 1, jitter: 0 },
    };
    return { ...env, bootstrap };
  }

  it('LwM2M 1.1: Bootstrap-Request, delete, discover, read, writes, finish, then registers', async () => {
    const ep = `bs11-${bsScheme}`;
    const { server, bs, bootstrap } = await setup(ep, { discover: true, read: ['/1'] });
    const bsEvents = recordBs(bs);
    const registered = next(server, 'registered');
    const c = client({ endpoint: ep, lwm2mVersion: '1.1', bootstrap });
    const events = recordClient(c);
    const reg = await c.start();
    const { registration } = await registered;

    expect(bsEvents).toEqual([
      `started request ${bsScheme === 'coap' ? 'udp' : 'dtls'}`,
      'delete / 2.02',
      'discover / 2.05',
      'read /1 2.05',
      'write /0/1 2.04',
      'write /1/0 2.04',
      'finish /bs 2.04',
      'finished',
    ]);
    expect(events).toEqual(['bootstrapStarted', 'bootstrapFinished', 'registered']);
    expect(registration).toMatchObject({
      endpoint: ep,
      lwm2mVersion: '1.1',
      lifetime: 60,
      transport: dmScheme === 'coap' ? 'udp' : 'dtls',
    });
    expect(reg.location).toBe(`/rd/${registration.id}`);
    // The account the bootstrap server wrote, as the server sees it.
    expect(await server.read(ep, '/1/0/0')).toMatchObject({
      ok: true,
      content: { kind: 'singleResource', value: 101n },
    });
    // The bootstrap account stays at /0/0, the new one is /0/1.
    expect(c.tree.get(0)!.instanceIds()).toEqual([0, 1]);
    expect(await c.get('/0/1/10')).toMatchObject({ value: 101n });
  });

  it('LwM2M 1.2: Bootstrap-Pack, then registers', async () => {
    const ep = `bs12-${bsScheme}`;
    const { server, bs, bootstrap } = await setup(ep);
    const bsEvents = recordBs(bs);
    const registered = next(server, 'registered');
    const c = client({
      endpoint: ep,
      lwm2mVersion: '1.2',
      bootstrap: { ...bootstrap, pack: true },
    });
    const finished = new Promise<ClientEvents['bootstrapFinished'][0]>((r) =>
      c.once('bootstrapFinished', r),
    );
    await c.start();
    const { registration } = await registered;
    expect((await finished).mode).toBe('pack');
    expect(bsEvents).toEqual([
      `started pack ${bsScheme === 'coap' ? 'udp' : 'dtls'}`,
      'pack /bspack 2.05',
      'finished',
    ]);
    expect(registration).toMatchObject({ endpoint: ep, lwm2mVersion: '1.2', lifetime: 60 });
  });

  it('Execute /1/0/9 from the server: the client bootstraps and registers again', async () => {
    const ep = `bs-trigger-${bsScheme}`;
    const { server, bs, bootstrap } = await setup(ep);
    const c = client({ endpoint: ep, lwm2mVersion: '1.1', bootstrap });
    await c.start();
    const bsEvents = recordBs(bs);
    const events = recordClient(c);
    const gone = next(server, 'deregistered');
    const again = next(server, 'registered');
    const clientAgain = new Promise((r) => c.once('registered', r));
    expect((await server.execute(ep, '/1/0/9')).code).toBe('2.04');
    expect((await gone).reason).toBe('deregistered');
    const { registration } = await again;
    await clientAgain;
    expect(registration).toMatchObject({ endpoint: ep, lifetime: 60 });
    expect(events).toEqual(['deregistered', 'bootstrapStarted', 'bootstrapFinished', 'registered']);
    expect(bsEvents.at(-1)).toBe('finished');
    expect(c.registration?.location).toBeDefined();
  });
});

describe('bootstrap credentials', () => {
  it('a client with a wrong bootstrap PSK is refused and keeps its configuration', async () => {
    const { server, bs, bsUri, dmUri } = await startServers();
    const ep = 'bs-wrong-psk';
    await bs.putConfig(ep, {
      servers: [{ shortServerId: 101, uri: dmUri.coap, securityMode: 'nosec', lifetime: 60 }],
      bootstrapCredentials: BS_CREDS,
    });
    const bsEvents = recordBs(bs);
    let registrations = 0;
    server.on('registered', () => registrations++);
    const c = client({
      endpoint: ep,
      bootstrap: {
        uri: bsUri.coaps,
        psk: { identity: BS_CREDS.identity, key: Buffer.from('not the key') },
        retry: { retryCount: 2, retryTimer: 200, sequenceRetryCount: 1, jitter: 0 },
      },
    });
    c.on('error', () => {}); // the DTLS alert is reported as the failure's cause
    const failed = new Promise<ClientEvents['bootstrapFailed'][0]>((r) =>
      c.once('bootstrapFailed', r),
    );
    await expect(c.start()).rejects.toThrow(/refused the DTLS handshake/);
    const failure = await failed;
    expect(failure.willRetry).toBe(false);
    expect(bsEvents).toEqual([]);
    expect(bs.stats().bootstrapRequests).toBe(0);
    expect(registrations).toBe(0);
    // Nothing changed: the bootstrap account alone, the other objects as they were.
    expect(c.tree.get(0)!.instanceIds()).toEqual([0]);
    expect(c.tree.get(1)!.instanceIds()).toEqual([]);
    expect(c.tree.get(3303)!.instanceIds()).toEqual([0]);

    // The same client over plain CoAP is refused by the bootstrap server (4.03: it has
    // bootstrap credentials), and nothing changes either.
    const plain = client({
      endpoint: ep,
      bootstrap: { uri: bsUri.coap, retry: { retryCount: 1, sequenceRetryCount: 1 } },
    });
    await expect(plain.start()).rejects.toThrow(/4\.03/);
    expect(plain.tree.get(0)!.instanceIds()).toEqual([0]);
  });
});
