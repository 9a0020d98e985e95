/**
 * Interop: libcoap's clients (Debian libcoap3-bin: `coap-client-notls`, `-openssl`, `-gnutls`)
 * against our bootstrap server and our server as users run them, the `lwm2m-bootstrap` and
 * `lwm2m-server` CLI processes, configured through their REST APIs:
 *
 * - the Bootstrap-Request `POST /bs?ep=` over CoAP and over DTLS with the endpoint's bootstrap PSK
 *   gets 2.04 and starts the sequence (SSE `bootstrap-started`), which then fails on its first
 *   step: libcoap's client serves no LwM2M objects, so the Bootstrap-Delete goes unanswered;
 *   a wrong bootstrap PSK gets no answer and starts nothing;
 * - a raw Register (link-format object list) over CoAP and DTLS gets 2.01 and shows on SSE and
 *   in `GET /api/clients`; Update 2.04 and De-register 2.02 follow from new sessions.
 *
 * Skipped when a client is missing, a failure when LWM2M_REQUIRE_INTEROP=1 (CI).
 */
import { type CoapClientOptions, coapClient, peerOrSkip, stopAll } from '@lwm2m-ts/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus, openSse, type SseStream } from './support/http.js';
import { type Listening, startBootstrapCli, startServerCli } from './support/roles.js';

const PSK = { identity: 'libcoap-bs-id', key: 'libcoap-bootstrap-key' };
const DM_PSK = { identity: 'libcoap-dm-id', key: 'libcoap-dm-key' };
const hex = (s: string) => Buffer.from(s).toString('hex');

let bs: Listening;
let server: Listening;
const streams: SseStream[] = [];
beforeAll(async () => {
  [bs, server] = await Promise.all([
    startBootstrapCli({ extraArgs: ['--step-timeout=500'] }),
    startServerCli(),
  ]);
});
afterAll(async () => {
  for (const s of streams.splice(0)) s.close();
  await stopAll();
});

async function sse(url: string): Promise<SseStream> {
  const s = await openSse(url);
  streams.push(s);
  return s;
}

function log(res: Awaited<ReturnType<typeof coapClient>>): string {
  return `${res.stdout}\n${res.stderr}`.slice(-3000);
}

const VARIANTS = [
  { variant: 'notls', transport: 'coap' },
  { variant: 'openssl', transport: 'dtls-psk' },
  { variant: 'gnutls', transport: 'dtls-psk' },
] as const;

for (const { variant, transport } of VARIANTS) {
  const binary = peerOrSkip(`coap-client-${variant}`);
  const secure = transport !== 'coap';
  const scheme = secure ? 'coaps' : 'coap';
  const tag = (ours: string, op: string) =>
    `[interop peer=coap-client-${variant} ours=${ours} transport=${transport} op=${op}]`;
  const run = (options: CoapClientOptions) => coapClient({ variant, timeoutSec: 5, ...options });

  describe.skipIf(!binary)(`coap-client-${variant} against the CLIs over ${scheme}`, () => {
    it(`Bootstrap-Request: 2.04, the sequence starts and fails on its first step ${tag('bootstrap', 'bootstrap-request')}`, async () => {
      const ep = `libcoap-bs-${variant}`;
      await expectStatus(201, bs.base, 'PUT', `/api/bootstrap/${ep}`, {
        body: {
          servers: [
            { shortServerId: 1, uri: 'coap://127.0.0.1:5683', securityMode: 'nosec', lifetime: 60 },
          ],
          ...(secure && {
            bootstrapCredentials: { identity: `${PSK.identity}-${variant}`, key: hex(PSK.key) },
          }),
        },
      });
      const events = await sse(`${bs.base}/api/events?ep=${ep}`);
      const port = secure ? bs.dtlsPort : bs.coapPort;
      const res = await run({
        method: 'post',
        uri: `${scheme}://127.0.0.1:${port}/bs?ep=${ep}`,
        ...(secure && { psk: { identity: `${PSK.identity}-${variant}`, key: PSK.key } }),
      });
      expect(res.responseCode, log(res)).toBe('2.04');
      const started = await events.next('bootstrap-started');
      expect(started.data).toMatchObject({
        endpoint: ep,
        mode: 'request',
        transport: secure ? 'dtls' : 'udp',
      });
      const failed = await events.next('bootstrap-failed');
      expect(failed.data.step).toMatchObject({ index: 0, operation: 'delete' });
    });

    // Over DTLS only: plain CoAP has no key to get wrong.
    if (secure) {
      it(`a wrong bootstrap PSK: no answer, no bootstrap ${tag('bootstrap', 'wrong-psk')}`, async () => {
        const ep = `libcoap-bs-wrong-${variant}`;
        await expectStatus(201, bs.base, 'PUT', `/api/bootstrap/${ep}`, {
          body: {
            servers: [
              {
                shortServerId: 1,
                uri: 'coap://127.0.0.1:5683',
                securityMode: 'nosec',
                lifetime: 60,
              },
            ],
            bootstrapCredentials: { identity: `${ep}-id`, key: hex(PSK.key) },
          },
        });
        const events = await sse(`${bs.base}/api/events`);
        const res = await run({
          method: 'post',
          uri: `coaps://127.0.0.1:${bs.dtlsPort}/bs?ep=${ep}`,
          psk: { identity: `${ep}-id`, key: 'not-the-key' },
          timeoutSec: 3,
        });
        expect(res.responseCode, log(res)).toBeUndefined();
        const error = await events.next('coap-error', (d) => /handshake/i.test(d.message));
        expect(error.data).toMatchObject({ code: '4.03' });
        expect(events.named('bootstrap-started')).toEqual([]);
      });
    }

    it(`Register 2.01, Update 2.04, De-register 2.02 ${tag('server', 'register,update,deregister')}`, async () => {
      const ep = `libcoap-dm-${variant}`;
      if (secure) {
        await expectStatus(201, server.base, 'PUT', `/api/security/clients/${ep}`, {
          body: { mode: 'psk', identity: `${DM_PSK.identity}-${variant}`, key: hex(DM_PSK.key) },
        });
      }
      const psk = secure
        ? { psk: { identity: `${DM_PSK.identity}-${variant}`, key: DM_PSK.key } }
        : {};
      const events = await sse(`${server.base}/api/events?ep=${ep}`);
      const base = `${scheme}://127.0.0.1:${secure ? server.dtlsPort : server.coapPort}`;
      const reg = await run({
        method: 'post',
        uri: `${base}/rd?ep=${ep}&lt=60&lwm2m=1.1&b=U`,
        payload: '</>;rt="oma.lwm2m",</1/0>,</3/0>',
        contentFormat: 40,
        ...psk,
      });
      expect(reg.responseCode, log(reg)).toBe('2.01');
      const registered = await events.next('registration');
      expect(registered.data.registration).toMatchObject({
        endpoint: ep,
        lwm2mVersion: '1.1',
        transport: secure ? 'dtls' : 'udp',
      });
      const id = registered.data.registration.registrationId as string;
      const listed = await expectStatus(200, server.base, 'GET', `/api/clients/${ep}`);
      expect(listed.body.objectLinks.map((l: { path: string }) => l.path)).toEqual([
        '/1/0',
        '/3/0',
      ]);

      const update = await run({ method: 'post', uri: `${base}/rd/${id}?lt=90`, ...psk });
      expect(update.responseCode, log(update)).toBe('2.04');
      expect((await events.next('update')).data.registration.lifetime).toBe(90);
      const dereg = await run({ method: 'delete', uri: `${base}/rd/${id}`, ...psk });
      expect(dereg.responseCode, log(dereg)).toBe('2.02');
      await events.next('deregistration');
      await expectStatus(404, server.base, 'GET', `/api/clients/${ep}`);
    });
  });
}
