/**
 * Interop: libcoap's `coap-client-notls` (Debian libcoap3-bin), a CoAP client that is not ours,
 * sends the Bootstrap-Request `POST /bs?ep=…`; our bootstrap server answers 2.04 and starts the
 * sequence toward it. libcoap's client does not serve LwM2M objects, so the sequence's first
 * request (Bootstrap-Delete) goes unanswered and the sequence fails on the step timeout, with the
 * endpoint's state cleaned up. Skipped when libcoap is missing, a failure when
 * LWM2M_REQUIRE_INTEROP=1 (CI).
 */
import { coapClient, peerOrSkip, stopAll } from '@lwm2m-ts/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import type { BootstrapEvents } from './events.js';
import { BootstrapServer } from './server.js';

afterAll(stopAll);

const client = peerOrSkip('coap-client-notls');

describe.skipIf(!client)('libcoap coap-client-notls → Bootstrap-Request', () => {
  it('gets 2.04 and starts the sequence, which fails on the step timeout [interop peer=coap-client-notls ours=bootstrap transport=coap op=bootstrap-request]', async (t) => {
    const server = new BootstrapServer({
      coap: { address: '127.0.0.1', port: 0 },
      dtls: false,
      stepTimeout: 500,
    });
    t.onTestFinished(() => server.close());
    await server.start();
    await server.putConfig('dev', {
      servers: [
        { shortServerId: 1, uri: 'coap://127.0.0.1:5683', securityMode: 'nosec', lifetime: 60 },
      ],
    });
    const started: BootstrapEvents['bootstrapStarted'][0][] = [];
    server.on('bootstrapStarted', (e) => started.push(e));
    const failed = new Promise<BootstrapEvents['bootstrapFailed'][0]>((r) =>
      server.once('bootstrapFailed', r),
    );
    const { port } = server.addresses().coap!;
    const res = await coapClient({
      uri: `coap://127.0.0.1:${port}/bs?ep=dev`,
      method: 'post',
      timeoutSec: 3,
    });
    expect(res.responseCode, res.stdout + res.stderr).toBe('2.04');
    expect(started).toMatchObject([{ endpoint: 'dev', transport: 'udp', mode: 'request' }]);
    const f = await failed;
    expect(f.step).toMatchObject({ index: 0, operation: 'delete', path: '/' });
    // Unanswered (libcoap has usually exited); an RST from a still-running client also ends it.
    expect(f.reason).toMatch(/^(no answer within 500 ms|request failed: .*)$/);
    expect(f.code).toBeUndefined();
    expect(server.activeSessions()).toEqual([]);

    const unknown = await coapClient({
      uri: `coap://127.0.0.1:${port}/bs?ep=nobody`,
      method: 'post',
      timeoutSec: 3,
    });
    expect(unknown.responseCode).toBe('4.00');
  });
});
