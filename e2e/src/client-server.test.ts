/**
 * Our client against our server, in process through both libraries, for each LwM2M version:
 * every device-management operation, observe, composite operations and Send (1.1+), update and
 * de-registration, over plain CoAP and over DTLS with a PSK.
 */
import { LwM2mClient, type LwM2mClientOptions } from '@lwm2m-ts/client';
import { ContentFormat, LwM2mPath, singleResource } from '@lwm2m-ts/core';
import { LwM2mServer, type ServerEvents } from '@lwm2m-ts/server';
import { afterEach, describe, expect, it } from 'vitest';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  // Clients first: they de-register while the server still listens.
  const items = open.splice(0).reverse();
  for (const o of items) await o.close();
});

async function startServer() {
  const server = new LwM2mServer({
    coap: { address: '127.0.0.1', port: 0 },
    dtls: { address: '127.0.0.1', port: 0 },
    requestTimeout: 5000,
  });
  open.push(server);
  await server.start();
  return server;
}

function next<K extends keyof ServerEvents>(server: LwM2mServer, name: K) {
  return new Promise<ServerEvents[K][0]>((resolve) =>
    server.once(name, ((e: ServerEvents[K][0]) => resolve(e)) as never),
  );
}

async function startClient(options: LwM2mClientOptions) {
  const client = new LwM2mClient({ local: { address: '127.0.0.1' }, ...options });
  open.push(client);
  await client.start();
  return client;
}

const VERSIONS = ['1.0', '1.1', '1.2'] as const;
const TRANSPORTS = ['coap', 'coaps'] as const;

describe.each(TRANSPORTS)('over %s', (transport) => {
  describe.each(VERSIONS)('LwM2M %s', (version) => {
    it('registers, is managed and observed, sends, updates and de-registers', async () => {
      const server = await startServer();
      const ep = `e2e-${transport}-${version}`;
      const { coap, dtls } = server.addresses();
      let psk: { identity: string; key: Uint8Array } | undefined;
      if (transport === 'coaps') {
        psk = { identity: `${ep}-id`, key: Buffer.from('e2e secret') };
        await server.security.put({ endpoint: ep, mode: 'psk', ...psk });
      }
      const registered = next(server, 'registered');
      const client = await startClient({
        endpoint: ep,
        lwm2mVersion: version,
        server: {
          uri:
            transport === 'coap'
              ? `coap://127.0.0.1:${coap!.port}`
              : `coaps://127.0.0.1:${dtls!.port}`,
          lifetime: 60,
          ...(psk && { psk }),
        },
      });
      const { registration } = await registered;
      expect(registration).toMatchObject({
        endpoint: ep,
        lwm2mVersion: version,
        transport: transport === 'coap' ? 'udp' : 'dtls',
      });
      const ids = registration.objectLinks.map((l) => l.objectId);
      expect(ids).toEqual(expect.arrayContaining([1, 3]));
      expect(ids).not.toContain(0);

      // Read at each level.
      const manufacturer = await server.read(ep, '/3/0/0');
      expect(manufacturer.ok).toBe(true);
      const device = await server.read(ep, '/3/0');
      expect(device).toMatchObject({ ok: true, content: { kind: 'instance', id: 0 } });
      const object = await server.read(ep, '/1');
      expect(object).toMatchObject({ ok: true, content: { kind: 'object', id: 1 } });
      if (version === '1.0') expect(device.ok && device.contentFormat).toBe(ContentFormat.TLV);

      // Write and read back; Write-Attributes; Discover; Execute.
      expect(await server.write(ep, '/1/0/1', singleResource(1, 'integer', 120))).toMatchObject({
        ok: true,
      });
      expect(await server.read(ep, '/1/0/1')).toMatchObject({
        ok: true,
        content: { value: 120n },
      });
      expect(await server.writeAttributes(ep, '/1/0/1', { pmin: 1, pmax: 30 })).toMatchObject({
        ok: true,
      });
      const disc = await server.discover(ep, '/3/0');
      expect(disc.ok && disc.links.map((l) => l.uri)).toContain('/3/0/0');
      expect(await server.read(ep, '/3/0/4')).toMatchObject({ ok: false, code: '4.05' });

      // Observe a value the device changes.
      const observed = await server.observe(ep, '/1/0/1');
      expect(observed.ok).toBe(true);
      const notified = next(server, 'notification');
      await client.set('/1/0/1', 240);
      expect((await notified).content).toMatchObject({ value: 240n });
      expect(await server.cancelObservation(ep, '/1/0/1')).toBe(1);

      if (version !== '1.0') {
        const composite = await server.readComposite(ep, ['/3/0/0', '/1/0/1']);
        expect(composite.ok && composite.values.map((v) => `${v.path}`).sort()).toEqual([
          '/1/0/1',
          '/3/0/0',
        ]);
        const sent = next(server, 'send');
        await client.send(['/1/0/1']);
        expect((await sent).values[0]).toMatchObject({
          path: LwM2mPath.parse('/1/0/1'),
          value: { value: 240n },
        });
      } else {
        await expect(server.readComposite(ep, ['/3/0/0'])).rejects.toMatchObject({
          coapCode: '4.05',
        });
      }

      const updated = next(server, 'updated');
      await client.update();
      expect((await updated).registration.endpoint).toBe(ep);

      const gone = next(server, 'deregistered');
      await client.close();
      expect((await gone).reason).toBe('deregistered');
      expect(await server.getRegistration(ep)).toBeUndefined();
    });
  });
});
