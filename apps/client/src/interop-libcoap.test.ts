/**
 * Our client's DTLS (coaps://, PSK) against libcoap's example server, `coap-server-openssl` and
 * `coap-server-gnutls` (Debian's libcoap3-bin, 4.3.x). libcoap is a generic CoAP server, not an
 * LwM2M server, so what is proven is the transport: the PSK handshake completes (libcoap logs
 * the identity and the session) and the Register, Update and De-register travel over it and are
 * answered in CoAP. With `-d` (dynamic resources) libcoap creates `/rd` for the Register's POST
 * (2.01, Location-Path `rd`), takes the Update's POST (2.04) and deletes it for the De-register
 * (2.02); without it the Register gets 4.04. A wrong PSK fails the handshake, and our client says
 * so rather than reporting a CoAP code.
 *
 * Skipped when the binaries are missing, unless LWM2M_REQUIRE_INTEROP=1.
 */
import { TimeoutError } from '@lwm2m-ts/core';
import { DtlsAlertError } from '@lwm2m-ts/dtls';
import {
  type LibcoapPdu,
  type LibcoapServer,
  libcoapOrSkip,
  parseLibcoapLog,
  startLibcoapServer,
} from '@lwm2m-ts/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type ClientEvents, LwM2mClient, type LwM2mClientOptions } from './client.js';
import { RegistrationFailedError } from './registration-engine.js';
import { nextClientEvent, within } from './test-interop.js';

const PSK = { identity: 'lwm2m-ts-interop', key: 'interop-psk-0123456789' };

const clients: LwM2mClient[] = [];
const servers: LibcoapServer[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await s.stop();
});

async function libcoap(
  variant: 'openssl' | 'gnutls',
  binary: string,
  dynamicResources?: number,
): Promise<LibcoapServer> {
  // -v 7 logs the PSK identity, the DTLS session and every PDU (flushed when it exits).
  const s = await startLibcoapServer({
    variant,
    binary,
    psk: { identity: PSK.identity, key: PSK.key },
    verbosity: 7,
    ...(dynamicResources !== undefined && { dynamicResources }),
  });
  servers.push(s);
  return s;
}

function client(
  s: LibcoapServer,
  endpoint: string,
  options: Partial<Omit<LwM2mClientOptions, 'server'>> & {
    key?: string;
    server?: Partial<LwM2mClientOptions['server']>;
  } = {},
): LwM2mClient {
  const { key = PSK.key, server, ...rest } = options;
  const c = new LwM2mClient({
    endpoint,
    lwm2mVersion: '1.1',
    local: { address: '127.0.0.1' },
    requestTimeout: 20_000,
    ...rest,
    server: {
      uri: s.secureUri,
      psk: { identity: PSK.identity, key: new TextEncoder().encode(key) },
      lifetime: 60,
      // One attempt: a failure is final, so the test sees it at once.
      retry: { retryCount: 1, sequenceRetryCount: 1, retryTimer: 100 },
      ...server,
    },
  });
  // A failed handshake is also reported as `error`; the tests look at registrationFailed.
  c.on('error', () => {});
  clients.push(c);
  return c;
}

/**
 * Stops the server and returns the PDUs it logged (pings left out): libcoap's log is
 * block-buffered on a pipe and complete only once it has exited.
 */
async function pdusAfterStop(s: LibcoapServer): Promise<LibcoapPdu[]> {
  await s.stop();
  return parseLibcoapLog(s.output()).filter((p) => p.code !== '0.00');
}

const text = (p: LibcoapPdu) => (p.payload ? Buffer.from(p.payload).toString('utf8') : '');

for (const variant of ['openssl', 'gnutls'] as const) {
  const bins = libcoapOrSkip(variant);

  describe.skipIf(bins === undefined)(`our DTLS client against coap-server-${variant}`, () => {
    it(`completes the PSK handshake; Register 2.01, Update 2.04 and De-register 2.02 go over it [interop peer=coap-server-${variant} ours=client transport=dtls-psk op=register,update,deregister]`, async () => {
      const s = await libcoap(variant, bins!.server, 4);
      const endpoint = `dtls-${variant}`;
      const c = client(s, endpoint);
      const reg = await within(c.start(), 15_000, 'Register over DTLS');
      // libcoap names the resource it created after the Uri-Path: rd.
      expect(reg).toMatchObject({ location: '/rd', version: '1.1', endpoint });
      const updated = await within(c.update({ objectLinks: true }), 10_000, 'Update over DTLS');
      expect(updated.location).toBe('/rd');
      const gone = nextClientEvent(c, 'deregistered');
      await c.close();
      expect((await gone)[0]).toEqual({ endpoint, location: '/rd', confirmed: true });

      const pdus = await pdusAfterStop(s);
      expect(s.output()).toContain(`got psk_identity: '${PSK.identity}'`);
      expect(s.output()).toMatch(/DTLS: session connected/);
      const summary = pdus.map((p) => `${p.type} ${p.code}`);
      expect(summary).toEqual([
        'CON POST',
        'ACK 2.01',
        'CON POST',
        'ACK 2.04',
        'CON DELETE',
        'ACK 2.02',
      ]);
      const [register, created, update, , deregister] = pdus as [
        LibcoapPdu,
        LibcoapPdu,
        LibcoapPdu,
        LibcoapPdu,
        LibcoapPdu,
      ];
      expect(register.options).toContain('Uri-Path:rd');
      expect(register.options).toContain('Content-Format:application/link-format');
      for (const q of [`ep=${endpoint}`, 'lt=60', 'lwm2m=1.1', 'b=U']) {
        expect(register.options).toContain(`Uri-Query:${q}`);
      }
      expect(text(register)).toMatch(/^<\/>;rt="oma\.lwm2m";ct="[\d ]+",/);
      expect(text(register)).toContain('</3/0>');
      expect(created.options).toContain('Location-Path:rd');
      // The Update goes to the location, with the object links asked for and no parameter.
      expect(update.options).toContain('Uri-Path:rd');
      expect(update.options).not.toContain('Uri-Query');
      expect(text(update)).toContain('</3/0>');
      expect(deregister.options).toBe('Uri-Path:rd');
    }, 30_000);

    it(`gets libcoap’s 4.04 for the Register without dynamic resources: a CoAP answer over DTLS [interop peer=coap-server-${variant} ours=client transport=dtls-psk op=register-refused]`, async () => {
      const s = await libcoap(variant, bins!.server);
      const c = client(s, `dtls-${variant}-404`);
      const failed = nextClientEvent(c, 'registrationFailed', 15_000);
      const error = await within(
        c.start().then(
          () => undefined,
          (e: unknown) => e,
        ),
        15_000,
        'Register over DTLS',
      );
      expect(error).toBeInstanceOf(RegistrationFailedError);
      expect((error as RegistrationFailedError).coapCode).toMatch(/^4\.0[45]$/);
      const [failure] = (await failed) as ClientEvents['registrationFailed'];
      expect(failure).toMatchObject({
        operation: 'register',
        code: expect.stringMatching(/^4\.0[45]$/),
      });

      const pdus = await pdusAfterStop(s);
      expect(s.output()).toContain(`got psk_identity: '${PSK.identity}'`);
      expect(pdus.map((p) => `${p.type} ${p.code}`)).toEqual([
        'CON POST',
        expect.stringMatching(/^ACK 4\.0[45]$/),
      ]);
      expect(pdus[0]!.options).toContain(`Uri-Query:ep=dtls-${variant}-404`);
    }, 30_000);

    it(`reports a wrong PSK as a DTLS handshake failure, not a CoAP code [interop peer=coap-server-${variant} ours=client transport=dtls-psk op=wrong-psk]`, async () => {
      const s = await libcoap(variant, bins!.server, 4);
      // CoAP's default timing (a CON waits up to 93 s) outlasts the DTLS handshake deadline
      // (10 s), so the handshake's own error is what fails the Register.
      const c = client(s, `dtls-${variant}-wrong-key`, { key: 'not-the-key' });
      const failed = nextClientEvent(c, 'registrationFailed', 20_000);
      const retried: ClientEvents['retry'][0][] = [];
      c.on('retry', (r) => retried.push(r));
      const error = await within(
        c.start().then(
          () => undefined,
          (e: unknown) => e,
        ),
        20_000,
        'Register with a wrong PSK',
      );
      expect(error).toBeInstanceOf(RegistrationFailedError);
      const [failure] = (await failed) as ClientEvents['registrationFailed'];
      // No CoAP answer came: no code; the cause is the handshake's failure.
      expect(failure.code).toBeUndefined();
      expect(failure.operation).toBe('register');
      const cause = (failure.error as Error & { cause?: unknown }).cause;
      // OpenSSL drops the Finished it cannot decrypt (the handshake times out); GnuTLS ends the
      // handshake with an alert.
      expect(cause instanceof DtlsAlertError || cause instanceof TimeoutError).toBe(true);
      expect((cause as Error).message).toMatch(/handshake/i);
      expect(retried).toEqual([]);
      expect(c.registration).toBeUndefined();

      // libcoap saw the identity, but no session and no CoAP request came of it.
      expect(await pdusAfterStop(s)).toEqual([]);
      expect(s.output()).toContain(`got psk_identity: '${PSK.identity}'`);
      expect(s.output()).not.toMatch(/DTLS: session connected/);
    }, 30_000);
  });
}
