/**
 * Our client against the LwM2M 1.0 server of another project: `lwm2m-node-lib` (npm 1.4.0,
 * Telefónica; test-only). It registers, is read, written, executed and observed in text/plain,
 * and de-registers. Everything stays on 127.0.0.1 on ports chosen free.
 *
 * That server sends its DM requests from a fresh node-coap Agent to its own listener, which
 * forwards them (Proxy-Uri) to the device from the port the device registered to, and relays the
 * answers back: our client sees every request come from the server's address.
 */
import { parseLinkFormat } from '@lwm2m-ts/core';
import { freeUdpPort } from '@lwm2m-ts/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { LwM2mClient } from './client.js';
import { deviceObject } from './objects/device.js';
import {
  call,
  eventually,
  type NodeLibServer,
  nextClientEvent,
  startNodeLibServer,
  within,
} from './test-interop.js';

const MANUFACTURER = 'lwm2m-ts interop';

const open: { close(): Promise<void> }[] = [];
let server: NodeLibServer | undefined;

afterEach(async () => {
  // Clients first (they de-register), then the server.
  for (const o of open.splice(0).reverse()) await o.close();
  await server?.stop();
  server = undefined;
});

async function setUp(options: { onReboot?: () => void } = {}) {
  server = await startNodeLibServer(await freeUdpPort());
  const client = new LwM2mClient({
    endpoint: 'interop-node-lib-1',
    lwm2mVersion: '1.0',
    server: { uri: server.uri, lifetime: 120 },
    objects: [
      deviceObject({
        version: '1.0',
        manufacturer: MANUFACTURER,
        modelNumber: 'interop',
        utcOffset: '+01:00',
        ...(options.onReboot !== undefined && { onReboot: options.onReboot }),
      }),
    ],
    local: { address: '127.0.0.1' },
    coapOptions: { ackTimeout: 0.5, maxRetransmit: 2 },
    requestTimeout: 5000,
  });
  open.push(client);
  const reg = await within(client.start(), 10_000, 'Register to lwm2m-node-lib');
  const [device] = await server.devices();
  if (device === undefined) throw new Error('lwm2m-node-lib did not keep the registration');
  return { server, client, reg, device };
}

describe('our client against lwm2m-node-lib 1.4 (LwM2M 1.0 server)', () => {
  it('registers: its registry lists the device, its handler gets our object links [interop peer=lwm2m-node-lib-server ours=client transport=coap op=register]', async () => {
    const { server, client, reg, device } = await setUp();
    expect(reg.version).toBe('1.0');
    expect(reg.location).toBe(`/rd/${device.id}`);
    expect(device).toMatchObject({
      name: 'interop-node-lib-1',
      lifetime: '120',
      address: '127.0.0.1',
      port: client.address!.port,
    });
    expect(await server.devices()).toHaveLength(1);

    expect(server.registrations).toHaveLength(1);
    const r = server.registrations[0]!;
    expect(r).toMatchObject({
      endpoint: 'interop-node-lib-1',
      lifetime: '120',
      version: '1.0',
      binding: 'U',
    });
    const uris = parseLinkFormat(r.payload).map((l) => l.uri);
    expect(uris).toEqual(
      expect.arrayContaining(['/1/0', '/3/0', '/4/0', '/5/0', '/6/0', '/3303/0', '/3300/0']),
    );
    // Never the Security object; no root link with ct in 1.0.
    expect(uris.some((u) => u === '/0' || u.startsWith('/0/') || u === '/')).toBe(false);
  });

  it('is read: /3/0/0 gives our manufacturer in text/plain [interop peer=lwm2m-node-lib-server ours=client transport=coap op=read]', async () => {
    const { server, device } = await setUp();
    const value = await within(
      call<string>((cb) => server.lib.read(device.id, 3, 0, 0, cb)),
      5000,
      'Read /3/0/0',
    );
    expect(value).toBe(MANUFACTURER);
    // A numeric resource, as text too.
    const lifetime = await call<string>((cb) => server.lib.read(device.id, 1, 0, 1, cb));
    expect(lifetime).toBe('120');
  });

  it('is written: /3/0/14 (UTC Offset) takes the value sent in text/plain [interop peer=lwm2m-node-lib-server ours=client transport=coap op=write]', async () => {
    const { server, client, device } = await setUp();
    const requests: { method: string; path: string; code: string }[] = [];
    client.on('request', (r) => requests.push(r));
    await within(
      call((cb) => server.lib.write(device.id, 3, 0, 14, '-05:00', cb)),
      5000,
      'Write /3/0/14',
    );
    expect(requests).toEqual([
      expect.objectContaining({ method: 'PUT', path: '/3/0/14', code: '2.04' }),
    ]);
    expect(await client.get('/3/0/14')).toMatchObject({ kind: 'singleResource', value: '-05:00' });
    // And read back through that server.
    expect(await call<string>((cb) => server.lib.read(device.id, 3, 0, 14, cb))).toBe('-05:00');
  });

  it('refuses a write to a read-only resource and a read of an unknown one [interop peer=lwm2m-node-lib-server ours=client transport=coap op=error-codes]', async () => {
    const { server, client, device } = await setUp();
    // /3/0/0 Manufacturer is R: 4.05, which that server reports as a client error.
    await expect(
      call((cb) => server.lib.write(device.id, 3, 0, 0, 'someone else', cb)),
    ).rejects.toMatchObject({ name: 'CLIENT_ERROR', code: '4.05' });
    expect(await client.get('/3/0/0')).toMatchObject({ value: MANUFACTURER });
    await expect(call((cb) => server.lib.read(device.id, 3303, 7, 5700, cb))).rejects.toMatchObject(
      { name: 'RESOURCE_NOT_FOUND' },
    );
  });

  it('is executed: /3/0/4 (Reboot) answers 2.04 and runs the reboot hook [interop peer=lwm2m-node-lib-server ours=client transport=coap op=execute]', async () => {
    let rebooted!: () => void;
    const reboot = new Promise<void>((r) => {
      rebooted = r;
    });
    const { server, device } = await setUp({ onReboot: () => rebooted() });
    await within(
      call((cb) => server.lib.execute(device.id, 3, 0, 4, null, cb)),
      5000,
      'Execute /3/0/4',
    );
    await within(reboot, 2000, 'the reboot hook');
  });

  it('is observed: /3303/0/5700 gives the value now and a notification on client.set [interop peer=lwm2m-node-lib-server ours=client transport=coap op=observe]', async () => {
    const { server, client, device } = await setUp();
    await client.set('/3303/0/5700', 21.5);
    const notifications: string[] = [];
    const first = await within(
      call<string>((cb) =>
        server.lib.observe(device.id, 3303, 0, 5700, (value) => notifications.push(value), cb),
      ),
      5000,
      'Observe /3303/0/5700',
    );
    expect(Number(first)).toBe(21.5);

    await client.set('/3303/0/5700', 23.25);
    await eventually(() => notifications.length > 0, 5000, 'a notification');
    expect(notifications.map(Number)).toEqual([23.25]);

    await client.set('/3303/0/5700', -4);
    await eventually(() => notifications.length > 1, 5000, 'a second notification');
    expect(notifications.map(Number)).toEqual([23.25, -4]);
  });

  it('de-registers on close and that server forgets the device [interop peer=lwm2m-node-lib-server ours=client transport=coap op=deregister]', async () => {
    const { server, client, device } = await setUp();
    const gone = nextClientEvent(client, 'deregistered');
    await client.close();
    const [event] = await gone;
    expect(event).toEqual({
      endpoint: 'interop-node-lib-1',
      location: `/rd/${device.id}`,
      confirmed: true,
    });
    expect(await server.devices()).toEqual([]);
    expect(server.unregistrations.map((d) => d.name)).toEqual(['interop-node-lib-1']);
  });

  it('refuses that server’s default write format (1541, pre-release LwM2M text) with 4.15 [interop peer=lwm2m-node-lib-server ours=client transport=coap op=unsupported-format]', async () => {
    // Out of the box lwm2m-node-lib writes in `lightweightm2m/text` (1541), a number from the
    // LwM2M 1.0 drafts that no released version kept; text/plain is 0. Our client says so.
    server = await startNodeLibServer(await freeUdpPort(), {
      writeFormat: { name: 'lightweightm2m/text', value: 1541 },
    });
    const client = new LwM2mClient({
      endpoint: 'interop-node-lib-2',
      lwm2mVersion: '1.0',
      server: { uri: server.uri, lifetime: 120 },
      local: { address: '127.0.0.1' },
      coapOptions: { ackTimeout: 0.5, maxRetransmit: 2 },
    });
    open.push(client);
    await within(client.start(), 10_000, 'Register');
    const [device] = await server.devices();
    const before = await client.get('/3/0/14');
    await expect(
      call((cb) => server!.lib.write(device!.id, 3, 0, 14, '+02:00', cb)),
    ).rejects.toMatchObject({ name: 'CLIENT_ERROR', code: '4.15' });
    expect(await client.get('/3/0/14')).toEqual(before);
  });
});
