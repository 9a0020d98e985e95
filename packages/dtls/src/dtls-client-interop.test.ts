/**
 * DtlsClientSocket against libcoap's example servers (`coap-server-openssl`, `coap-server-gnutls`,
 * Debian libcoap3-bin) with a PSK: CoAP GETs built by hand, the suites each one takes, a wrong
 * key, and a restart that forgets the session. With LWM2M_REQUIRE_INTEROP=1 a missing binary
 * fails instead of skipping.
 */
import { once } from 'node:events';
import { TimeoutError } from '@lwm2m-ts/core';
import {
  type CoapMessage,
  decodeCoapMessage,
  encodeCoapMessage,
  type LibcoapServer,
  liveProcesses,
  peerOrSkip,
  startLibcoapServer,
  stopAll,
  uriPathOptions,
} from '@lwm2m-ts/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type DtlsClientCipherSuite,
  DtlsClientSocket,
  type DtlsClientSocketOptions,
} from './dtls-client-socket.js';
import { DtlsAlertError } from './errors.js';

const PSK = { identity: 'dev1', key: 'secretkey' };

afterAll(async () => {
  await stopAll();
  expect(liveProcesses()).toHaveLength(0);
});

const clients: DtlsClientSocket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await new Promise<void>((r) => c.close(() => r()));
});

function client(port: number, options: Partial<DtlsClientSocketOptions> = {}): DtlsClientSocket {
  const c = new DtlsClientSocket({
    type: 'udp4',
    address: '127.0.0.1',
    port,
    psk: { identity: PSK.identity, key: Buffer.from(PSK.key) },
    ...options,
  });
  clients.push(c);
  return c;
}

let messageId = 0x1000;

/** Sends a confirmable GET and resolves with the reply carrying its token (or undefined). */
function get(
  c: DtlsClientSocket,
  path: string,
  timeoutMs = 2000,
): Promise<CoapMessage | undefined> {
  const token = Buffer.from((messageId & 0xffff).toString(16).padStart(4, '0'), 'hex');
  const id = messageId++ & 0xffff;
  return new Promise((resolve, reject) => {
    const done = (m: CoapMessage | undefined): void => {
      clearTimeout(timer);
      c.off('message', onMessage);
      c.off('error', reject);
      resolve(m);
    };
    const onMessage = (msg: Buffer): void => {
      const m = decodeCoapMessage(msg);
      if (Buffer.from(m.token).equals(token)) done(m);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    c.on('message', onMessage);
    c.once('error', reject);
    c.send(
      encodeCoapMessage({
        type: 'CON',
        code: '0.01',
        messageId: id,
        token,
        options: uriPathOptions(path),
      }),
    );
  });
}

const text = (m: CoapMessage | undefined): string => Buffer.from(m?.payload ?? []).toString();

/** The suites each server takes from node-dtls-client (OpenSSL refuses CBC_SHA256 for DTLS). */
const ACCEPTED: Record<'openssl' | 'gnutls', DtlsClientCipherSuite[]> = {
  openssl: [
    'TLS_PSK_WITH_AES_128_CCM_8',
    'TLS_PSK_WITH_AES_128_GCM_SHA256',
    'TLS_PSK_WITH_AES_128_CCM',
  ],
  gnutls: [
    'TLS_PSK_WITH_AES_128_CCM_8',
    'TLS_PSK_WITH_AES_128_GCM_SHA256',
    'TLS_PSK_WITH_AES_128_CCM',
    'TLS_PSK_WITH_AES_128_CBC_SHA256',
  ],
};

describe.each(['openssl', 'gnutls'] as const)(
  'DtlsClientSocket against coap-server-%s',
  (variant) => {
    const binary = peerOrSkip(`coap-server-${variant}`);
    let server: LibcoapServer;
    beforeAll(async () => {
      if (binary !== undefined) server = await startLibcoapServer({ variant, psk: PSK });
    });

    it.skipIf(!binary)(
      `GETs / and /.well-known/core with 2.05 over the default offer [interop peer=coap-server-${variant} ours=dtls-client transport=dtls-psk op=handshake,discovery]`,
      async () => {
        const c = client(server.dtlsPort);
        const root = await get(c, '/');
        expect(root).toMatchObject({ type: 'ACK', code: '2.05' });
        expect(text(root)).toMatch(/libcoap/i);
        const core = await get(c, '/.well-known/core');
        expect(core).toMatchObject({ type: 'ACK', code: '2.05' });
        expect(text(core)).toContain('</time>');
        expect(c.stats()).toMatchObject({ handshakeAttempts: 1, handshakesCompleted: 1 });
      },
    );

    it.skipIf(!binary).each(ACCEPTED[variant])(
      `GETs with %s offered alone [interop peer=coap-server-${variant} ours=dtls-client transport=dtls-psk op=cipher-suites]`,
      async (suite) => {
        const c = client(server.dtlsPort, { cipherSuites: [suite] });
        expect((await get(c, '/.well-known/core'))?.code).toBe('2.05');
      },
    );

    it.skipIf(!binary)(
      `times out on a wrong key, saying the server answered the hello only [interop peer=coap-server-${variant} ours=dtls-client transport=dtls-psk op=wrong-psk]`,
      async () => {
        const c = client(server.dtlsPort, {
          psk: { identity: PSK.identity, key: Buffer.from('wrong') },
          handshakeTimeoutMs: 500,
          retries: 1,
        });
        const started = performance.now();
        c.connect();
        const [err] = (await once(c, 'error').catch((e: unknown) => [e])) as [Error];
        expect(performance.now() - started).toBeLessThan(900);
        expect(err).toBeInstanceOf(TimeoutError);
        expect(err.message).toMatch(
          /not finished within 500 ms \(2 attempts\): the server answered the ClientHello but not the Finished: a wrong PSK/,
        );
        expect(c.state).toBe('idle');
      },
    );
  },
);

describe('DtlsClientSocket against coap-server-openssl, refusals and restarts', () => {
  const binary = peerOrSkip('coap-server-openssl');

  it.skipIf(!binary)(
    'gets handshake_failure when it offers only CBC_SHA256 [interop peer=coap-server-openssl ours=dtls-client transport=dtls-psk op=cipher-suites]',
    async () => {
      const server = await startLibcoapServer({ variant: 'openssl', psk: PSK });
      const c = client(server.dtlsPort, { cipherSuites: ['TLS_PSK_WITH_AES_128_CBC_SHA256'] });
      c.connect();
      const [err] = (await once(c, 'error').catch((e: unknown) => [e])) as [DtlsAlertError];
      expect(err).toBeInstanceOf(DtlsAlertError);
      expect(err).toMatchObject({ alert: 40, direction: 'received' });
      await server.stop();
    },
  );

  it.skipIf(!binary)(
    'restores traffic with reconnect() after the server crashed, restarted and forgot the session [interop peer=coap-server-openssl ours=dtls-client transport=dtls-psk op=peer-restart]',
    async () => {
      const first = await startLibcoapServer({ variant: 'openssl', psk: PSK });
      const c = client(first.dtlsPort);
      expect((await get(c, '/'))?.code).toBe('2.05');
      first.process.proc.kill('SIGKILL'); // no close_notify
      await first.process.exited;
      const restarted = await startLibcoapServer({
        variant: 'openssl',
        psk: PSK,
        port: first.port,
      });
      // OpenSSL drops records of a session it does not have: nothing comes back.
      expect(await get(c, '/', 300)).toBeUndefined();
      expect(c.state).toBe('connected');
      c.reconnect(); // what the CoAP layer does after repeated timeouts
      expect((await get(c, '/'))?.code).toBe('2.05');
      expect(c.stats()).toMatchObject({ handshakesCompleted: 2, reconnects: 1 });
      await restarted.stop();
    },
  );

  it.skipIf(!binary)(
    'handshakes again by itself after the server shut down with close_notify [interop peer=coap-server-openssl ours=dtls-client transport=dtls-psk op=peer-restart]',
    async () => {
      const first = await startLibcoapServer({ variant: 'openssl', psk: PSK });
      const c = client(first.dtlsPort);
      expect((await get(c, '/'))?.code).toBe('2.05');
      const ended = once(c, 'sessionEnd');
      await first.stop(); // SIGTERM: libcoap ends its sessions with close_notify
      expect(await ended).toEqual(['close_notify']);
      expect(c.state).toBe('idle');
      const restarted = await startLibcoapServer({
        variant: 'openssl',
        psk: PSK,
        port: first.port,
      });
      expect((await get(c, '/'))?.code).toBe('2.05');
      expect(c.stats()).toMatchObject({ handshakesCompleted: 2, reconnects: 0 });
      await restarted.stop();
    },
  );
});
