/**
 * Interop: libcoap 4.3's `coap-client-*` (Debian libcoap3-bin) → our LwM2mServer's registration
 * interface, over CoAP over DTLS 1.2 with PSK (`coap-client-openssl`, `coap-client-gnutls`) and
 * plain CoAP (`coap-client-notls`), on loopback. Each client is skipped when missing, a failure
 * when LWM2M_REQUIRE_INTEROP=1 (CI). libcoap exits 0 whatever the code: `responseCode` says.
 *
 * Core TS 1.2 §7.1 (and 1.0 §8.2): over DTLS the endpoint name must belong to the PSK identity
 * that authenticated (else 4.03); an endpoint with a PSK may not register over plain CoAP.
 */
import { type CoapClientOptions, coapClient, peerOrSkip, stopAll } from '@lwm2m-ts/testkit';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import type { ServerEvents } from './events.js';
import { LwM2mServer, type LwM2mServerOptions } from './server.js';

afterAll(stopAll);

const PSK = { identity: 'dev-psk-id', key: 'secret' };
const OBJECTS = '</1/0>,</3/0>';
const LINK_FORMAT = 40;

async function startServer(t: TestContext, options: LwM2mServerOptions = {}) {
  const server = new LwM2mServer({
    coap: { address: '127.0.0.1', port: 0 },
    dtls: { address: '127.0.0.1', port: 0 },
    requestTimeout: 3000,
    ...options,
  });
  t.onTestFinished(() => server.close());
  await server.start();
  await server.security.put({
    endpoint: 'dev-psk',
    mode: 'psk',
    identity: PSK.identity,
    key: Buffer.from(PSK.key),
  });
  const errors: ServerEvents['coapError'][0][] = [];
  server.on('coapError', (e) => errors.push(e));
  const { coap, dtls } = server.addresses();
  return {
    server,
    errors,
    coapUri: coap && `coap://127.0.0.1:${coap.port}`,
    coapsUri: dtls && `coaps://127.0.0.1:${dtls.port}`,
  };
}

/** One bounded libcoap run (5 s of waiting, killed 5 s later at worst). */
function run(options: CoapClientOptions) {
  return coapClient({ timeoutSec: 5, ...options });
}

/** `POST /rd?…` with the object list as link-format. */
function register(
  variant: 'notls' | 'openssl' | 'gnutls',
  base: string,
  query: string,
  extra: Partial<CoapClientOptions> = {},
) {
  return run({
    variant,
    method: 'post',
    uri: `${base}/rd?${query}`,
    payload: OBJECTS,
    contentFormat: LINK_FORMAT,
    ...extra,
  });
}

/** What libcoap printed, for failure messages. */
function log(res: Awaited<ReturnType<typeof run>>): string {
  return `${res.stdout}\n${res.stderr}`.slice(-3000);
}

/** `Location-Path` segments of the last response libcoap logged. */
function locationOf(res: Awaited<ReturnType<typeof run>>): string[] {
  const last = res.responses.at(-1);
  return [...(last?.options ?? '').matchAll(/Location-Path:([^,\s]+)/g)].map((m) => m[1]!);
}

describe.each(['openssl', 'gnutls'] as const)(
  'coap-client-%s → our server over DTLS (PSK)',
  (variant) => {
    const client = peerOrSkip(`coap-client-${variant}`);

    it.skipIf(!client)(
      `registers with the PSK: 2.01, stored with transport dtls and the identity [interop peer=coap-client-${variant} ours=server transport=dtls-psk op=register,update,deregister]`,
      async (t) => {
        const { server, coapsUri } = await startServer(t);
        const registered = new Promise<ServerEvents['registered'][0]>((resolve) =>
          server.once('registered', resolve),
        );
        const res = await register(variant, coapsUri!, 'ep=dev-psk&lt=60', { psk: PSK });
        expect(res.responseCode, log(res)).toBe('2.01');
        const location = locationOf(res);
        expect(location[0]).toBe('rd');
        const { registration } = await registered;
        expect(registration).toMatchObject({
          endpoint: 'dev-psk',
          lifetime: 60,
          lwm2mVersion: '1.0',
          transport: 'dtls',
          identity: PSK.identity,
          address: '127.0.0.1',
          id: location[1],
        });
        expect(registration.objectLinks).toEqual([
          { objectId: 1, instanceId: 0 },
          { objectId: 3, instanceId: 0 },
        ]);
        expect(await server.getRegistration('dev-psk')).toEqual(registration);

        // Update and De-register from another DTLS session with the same identity.
        const id = registration.id;
        const update = await run({
          variant,
          method: 'post',
          uri: `${coapsUri}/rd/${id}?lt=120`,
          psk: PSK,
        });
        expect(update.responseCode, log(update)).toBe('2.04');
        expect((await server.getRegistration('dev-psk'))?.lifetime).toBe(120);
        const dereg = await run({
          variant,
          method: 'delete',
          uri: `${coapsUri}/rd/${id}`,
          psk: PSK,
        });
        expect(dereg.responseCode, log(dereg)).toBe('2.02');
        expect(await server.listRegistrations()).toEqual([]);
      },
      30_000,
    );

    it.skipIf(!client)(
      `a wrong key fails the handshake: nothing stored, and the server still serves [interop peer=coap-client-${variant} ours=server transport=dtls-psk op=wrong-psk]`,
      async (t) => {
        const { server, coapsUri, errors } = await startServer(t);
        const bad = await register(variant, coapsUri!, 'ep=dev-psk&lt=60', {
          psk: { identity: PSK.identity, key: 'not-the-secret' },
          timeoutSec: 3,
        });
        expect(bad.responseCode, log(bad)).toBeUndefined();
        expect(await server.listRegistrations()).toEqual([]);
        expect(errors.some((e) => /handshake/i.test(e.message))).toBe(true);

        // An unknown identity too.
        const unknown = await register(variant, coapsUri!, 'ep=dev-psk&lt=60', {
          psk: { identity: 'nobody', key: PSK.key },
          timeoutSec: 3,
        });
        expect(unknown.responseCode, log(unknown)).toBeUndefined();
        expect(await server.listRegistrations()).toEqual([]);

        const good = await register(variant, coapsUri!, 'ep=dev-psk&lt=60', { psk: PSK });
        expect(good.responseCode, log(good)).toBe('2.01');
        expect((await server.listRegistrations()).map((r) => r.endpoint)).toEqual(['dev-psk']);
      },
      40_000,
    );

    it.skipIf(!client)(
      `the right key registering another endpoint name: 4.03, nothing stored [interop peer=coap-client-${variant} ours=server transport=dtls-psk op=identity-check]`,
      async (t) => {
        const { server, coapsUri, errors } = await startServer(t);
        await server.security.put({
          endpoint: 'other',
          mode: 'psk',
          identity: 'other-id',
          key: Buffer.from('other-secret'),
        });
        const [someoneElse, other] = await Promise.all([
          register(variant, coapsUri!, 'ep=someone-else&lt=60', { psk: PSK }),
          register(variant, coapsUri!, 'ep=other&lt=60', { psk: PSK }),
        ]);
        expect(someoneElse.responseCode, log(someoneElse)).toBe('4.03');
        expect(other.responseCode, log(other)).toBe('4.03');
        expect(await server.listRegistrations()).toEqual([]);
        expect(
          errors
            .filter((e) => e.code === '4.03')
            .map((e) => e.endpoint)
            .sort(),
        ).toEqual(['other', 'someone-else']);
      },
      30_000,
    );
  },
);

describe('coap-client-notls → our server over plain CoAP', () => {
  const client = peerOrSkip('coap-client-notls');

  it.skipIf(!client)(
    'an endpoint with a PSK must use DTLS (4.03); one without registers (2.01) [interop peer=coap-client-notls ours=server transport=coap op=register,security-policy]',
    async (t) => {
      const { server, coapUri } = await startServer(t);
      const psk = await register('notls', coapUri!, 'ep=dev-psk&lt=60');
      expect(psk.responseCode, log(psk)).toBe('4.03');
      expect(await server.getRegistration('dev-psk')).toBeUndefined();

      const free = await register('notls', coapUri!, 'ep=free&lt=60');
      expect(free.responseCode, log(free)).toBe('2.01');
      expect(await server.getRegistration('free')).toMatchObject({
        endpoint: 'free',
        transport: 'udp',
        lifetime: 60,
      });
      expect((await server.getRegistration('free'))?.identity).toBeUndefined();
    },
    30_000,
  );

  it.skipIf(!client)(
    'with allowUnsecured: false, plain CoAP needs a nosec entry [interop peer=coap-client-notls ours=server transport=coap op=security-policy]',
    async (t) => {
      const { server, coapUri } = await startServer(t, { allowUnsecured: false });
      const free = await register('notls', coapUri!, 'ep=free&lt=60');
      expect(free.responseCode, log(free)).toBe('4.03');
      expect(await server.listRegistrations()).toEqual([]);

      await server.security.put({ endpoint: 'open', mode: 'nosec' });
      const open = await register('notls', coapUri!, 'ep=open&lt=60');
      expect(open.responseCode, log(open)).toBe('2.01');
      expect((await server.listRegistrations()).map((r) => r.endpoint)).toEqual(['open']);
    },
    30_000,
  );

  it.skipIf(!client)(
    'bad registration requests: 4.00 / 4.04, nothing stored, the server keeps serving [interop peer=coap-client-notls ours=server transport=coap op=bad-request]',
    async (t) => {
      const { server, coapUri, errors } = await startServer(t, { dtls: false });
      const base = coapUri!;
      const [noEp, badLt, garbage, unknownUpdate, unknownDelete] = await Promise.all([
        register('notls', base, 'lt=60'),
        register('notls', base, 'ep=x&lt=abc'),
        register('notls', base, 'ep=x&lt=60', { payload: '<<<garbage' }),
        run({ variant: 'notls', method: 'post', uri: `${base}/rd/nope?lt=60` }),
        run({ variant: 'notls', method: 'delete', uri: `${base}/rd/nope` }),
      ]);
      expect(noEp.responseCode, log(noEp)).toBe('4.00');
      expect(badLt.responseCode, log(badLt)).toBe('4.00');
      expect(garbage.responseCode, log(garbage)).toBe('4.00');
      expect(unknownUpdate.responseCode, log(unknownUpdate)).toBe('4.04');
      expect(unknownDelete.responseCode, log(unknownDelete)).toBe('4.04');
      expect(await server.listRegistrations()).toEqual([]);
      expect(errors.map((e) => e.code).sort()).toEqual(['4.00', '4.00', '4.00', '4.04', '4.04']);

      const ok = await register('notls', base, 'ep=fine&lt=60');
      expect(ok.responseCode, log(ok)).toBe('2.01');
    },
    30_000,
  );
});
