/**
 * CoAP over DTLS 1.2 PSK (issues 5 and 6): our endpoint on `@lwm2m-ts/dtls`'s DtlsServerSocket,
 * against libcoap 4.3.1's `coap-client-openssl` and `coap-client-gnutls` (`-u IDENTITY -k KEY
 * coaps://…`). Each variant is skipped when its client is missing, a failure when
 * LWM2M_REQUIRE_INTEROP=1 (CI).
 */
import { DtlsServerSocket } from '@lwm2m-ts/dtls';
import { coapClient, peerOrSkip, stopAll } from '@lwm2m-ts/testkit';
import { afterAll, describe, it } from 'vitest';
import type { CoapRequest, ServerObservation } from './index.js';
import { type Scope, scopedEndpoint } from './test-scoped.js';
import { text } from './test-util.js';

afterAll(stopAll);

const KEYS = new Map([
  ['dev-1', Buffer.from('secret-key-1')],
  ['dev-2', Buffer.from('another-key-2')],
]);
const DEV1 = { identity: 'dev-1', key: 'secret-key-1' };
const DEV2 = { identity: 'dev-2', key: 'another-key-2' };

/** An endpoint on a DTLS server socket whose PSK lookup reads the map, recording what it sees. */
async function coapsEndpoint(t: Scope) {
  const seen: CoapRequest[] = [];
  const observations: ServerObservation[] = [];
  const handshakeErrors: { message: string; port: number }[] = [];
  const socket = new DtlsServerSocket({
    type: 'udp4',
    psk: async (identity) => KEYS.get(identity),
  });
  socket.on('handshakeError', (err, peer) =>
    handshakeErrors.push({ message: err.message, port: peer.port }),
  );
  const ep = await scopedEndpoint(t, {
    socket,
    closeSocket: true,
    handler: (req, ctx) => {
      seen.push(req);
      const obs = ctx.observe();
      if (obs !== undefined) {
        observations.push(obs);
        let n = 0;
        const timer = setInterval(
          () => obs.notify({ code: '2.05', payload: Buffer.from(`n${++n};`), contentFormat: 0 }),
          300,
        );
        obs.signal.addEventListener('abort', () => clearInterval(timer));
        t.onTestFinished(() => clearInterval(timer));
        return { code: '2.05', payload: Buffer.from('n0;'), contentFormat: 0 };
      }
      if (req.method === 'PUT') return { code: '2.04' };
      return {
        code: '2.05',
        payload: Buffer.from(`hello ${req.peer.identity}`),
        contentFormat: 0,
      };
    },
  });
  const uri = `coaps://127.0.0.1:${ep.address().port}`;
  return { ep, socket, uri, seen, observations, handshakeErrors };
}

describe.concurrent.each(['openssl', 'gnutls'] as const)(
  'coap-client-%s → our endpoint over DTLS',
  (variant) => {
    const client = peerOrSkip(`coap-client-${variant}`);

    it.skipIf(!client)(
      'GET, PUT and observe with PSK; the handler sees the identity',
      async ({ expect, onTestFinished }) => {
        const s = await coapsEndpoint({ onTestFinished });
        const [get, put, observe, other] = await Promise.all([
          coapClient({ variant, uri: `${s.uri}/3/0/0`, psk: DEV1 }),
          coapClient({
            variant,
            method: 'put',
            uri: `${s.uri}/1/0/1?pmin=10`,
            psk: DEV1,
            payload: '300',
            contentFormat: 0,
          }),
          coapClient({ variant, uri: `${s.uri}/3303/0/5700`, psk: DEV1, observeSeconds: 2 }),
          coapClient({ variant, uri: `${s.uri}/3/0/1`, psk: DEV2 }),
        ]);

        expect(get.responseCode).toBe('2.05');
        expect(get.text).toBe('hello dev-1');
        expect(put.responseCode).toBe('2.04');
        expect(other.responseCode).toBe('2.05');
        expect(other.text).toBe('hello dev-2');
        // The first response and at least two notifications, all carrying Observe.
        const notifications = observe.responses.filter((m) => /Observe:\d+/.test(m.options));
        expect(notifications.length).toBeGreaterThanOrEqual(3);
        expect(observe.text).toMatch(/^n0;n1;n2;/);
        expect(s.observations).toHaveLength(1);
        await expect.poll(() => s.observations[0]!.endReason).toBe('deregistered');

        const putReq = s.seen.find((r) => r.method === 'PUT')!;
        expect(putReq).toMatchObject({
          path: ['1', '0', '1'],
          query: ['pmin=10'],
          contentFormat: 0,
        });
        expect(text(putReq.payload)).toBe('300');
        for (const r of s.seen) {
          expect(r.peer.address).toBe('127.0.0.1');
          expect(r.peer.identity).toBe(r.path.join('/') === '3/0/1' ? 'dev-2' : 'dev-1');
        }
        // Each client run is its own DTLS session (its own port): identities are per session.
        expect(new Set(s.seen.map((r) => r.peer.port)).size).toBe(4);
        expect(s.handshakeErrors).toEqual([]);
      },
    );

    it.skipIf(!client)(
      'transfers block-wise both ways over DTLS',
      async ({ expect, onTestFinished }) => {
        const s = await coapsEndpoint({ onTestFinished });
        const body = Buffer.alloc(5000);
        for (let i = 0; i < body.length; i++) body[i] = (i * 7 + 1) & 0xff;
        const uploads: Buffer[] = [];
        s.ep.setHandler((req) => {
          if (req.method === 'PUT') {
            uploads.push(Buffer.from(req.payload));
            return { code: '2.04' };
          }
          return { code: '2.05', payload: body, contentFormat: 42 };
        });
        const upload = Buffer.alloc(20_000);
        for (let i = 0; i < upload.length; i++) upload[i] = (i * 3) & 0xff;
        const [get, put] = await Promise.all([
          coapClient({ variant, uri: `${s.uri}/5/0/0`, psk: DEV1, blockSize: 64 }),
          coapClient({
            variant,
            method: 'put',
            uri: `${s.uri}/5/0/0`,
            psk: DEV1,
            payload: upload,
            blockSize: 128,
          }),
        ]);
        expect(get.responseCode).toBe('2.05');
        expect(Buffer.from(get.payload).equals(body)).toBe(true);
        expect(put.responseCode).toBe('2.04');
        expect(uploads).toHaveLength(1);
        expect(uploads[0]!.equals(upload)).toBe(true);
      },
    );

    it.skipIf(!client)(
      'answers nothing to a wrong key or an unknown identity, and keeps serving the right one',
      async ({ expect, onTestFinished }) => {
        const s = await coapsEndpoint({ onTestFinished });
        const bad = { variant, uri: `${s.uri}/3/0/0`, timeoutSec: 1 } as const;
        const [wrongKey, unknownIdentity, right] = await Promise.all([
          coapClient({ ...bad, psk: { ...DEV1, key: 'not-the-key' } }),
          coapClient({ ...bad, psk: { identity: 'dev-9', key: 'secret-key-1' } }),
          coapClient({ variant, uri: `${s.uri}/3/0/0`, psk: DEV1 }),
        ]);
        expect(wrongKey.responseCode).toBeUndefined();
        expect(unknownIdentity.responseCode).toBeUndefined();
        expect(right.responseCode).toBe('2.05');
        expect(right.text).toBe('hello dev-1');
        // Both failed handshakes were reported by the DTLS socket (a client repeating its flight may
        // add more); no request got through from them.
        const messages = s.handshakeErrors.map((e) => e.message).join('\n');
        expect(messages).toMatch(/bad_record_mac/);
        expect(messages).toMatch(/unknown_psk_identity/);
        expect(s.socket.stats().handshakesFailed).toBeGreaterThanOrEqual(2);
        expect(s.seen).toHaveLength(1);
        expect(s.seen[0]!.peer.identity).toBe('dev-1');

        // And afterwards, still.
        const again = await coapClient({ variant, uri: `${s.uri}/3/0/0`, psk: DEV1 });
        expect(again.responseCode).toBe('2.05');
        expect(again.text).toBe('hello dev-1');
      },
    );
  },
);
