/**
 * Interop with real DTLS clients: libcoap's coap-client (OpenSSL and GnuTLS builds, Debian
 * libcoap3-bin) and node-dtls-client, against a DtlsServerSocket with a tiny CoAP responder.
 * With LWM2M_REQUIRE_INTEROP=1 a missing libcoap binary fails instead of skipping.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coapClient, liveProcesses, peerOrSkip, runProcess, stopAll } from '@lwm2m-ts/testkit';
import { dtls } from 'node-dtls-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CipherSuiteName } from './cipher.js';
import type { DtlsServerSocket } from './dtls-server-socket.js';
import type { DtlsAlertError } from './errors.js';
import { closeServer, startServer, until } from './test-helpers.js';

const PSK = { identity: 'dev1', key: 'secretkey' };

/**
 * Answers every confirmable request with a piggybacked 2.05 ACK (RFC 7252 §5.2.1) carrying
 * `hello <identity>`: just the 4-byte header and the token are read.
 */
function respond(server: DtlsServerSocket): void {
  server.on('message', (msg, rinfo) => {
    if (msg.length < 4 || msg[0]! >> 6 !== 1) return;
    const type = (msg[0]! >> 4) & 0x03;
    const tkl = msg[0]! & 0x0f;
    if (type !== 0 || msg.length < 4 + tkl) return;
    const header = Buffer.from([0x60 | tkl, 0x45, msg[2]!, msg[3]!]);
    const token = msg.subarray(4, 4 + tkl);
    const payload = Buffer.from(`hello ${rinfo.identity}`);
    server.send(
      Buffer.concat([header, token, Buffer.from([0xff]), payload]),
      rinfo.port,
      rinfo.address,
    );
  });
}

async function coapsServer(options: Parameters<typeof startServer>[0] = {}) {
  const { server, port } = await startServer(options);
  respond(server);
  const log = { suites: [] as string[], errors: [] as DtlsAlertError[] };
  server.on('session', (s) => log.suites.push(s.cipherSuite));
  server.on('handshakeError', (e) => log.errors.push(e as DtlsAlertError));
  return { server, port, log, uri: `coaps://127.0.0.1:${port}/x` };
}

afterAll(async () => {
  await stopAll();
  expect(liveProcesses()).toHaveLength(0);
});

const SUITES: CipherSuiteName[] = [
  'TLS_PSK_WITH_AES_128_CCM_8',
  'TLS_PSK_WITH_AES_128_CBC_SHA256',
  'TLS_PSK_WITH_AES_128_GCM_SHA256',
  'TLS_PSK_WITH_AES_128_CCM',
];

describe.each(['openssl', 'gnutls'] as const)(
  'coap-client-%s against DtlsServerSocket',
  (variant) => {
    const binary = peerOrSkip(`coap-client-${variant}`);

    it.skipIf(!binary)(
      `GETs over the default suite (CCM_8) and prints the payload [interop peer=coap-client-${variant} ours=dtls-server transport=dtls-psk op=handshake]`,
      async () => {
        const { server, log, uri } = await coapsServer({ identityHint: 'lwm2m' });
        try {
          const r = await coapClient({ variant, uri, psk: PSK });
          expect(r.text).toBe('hello dev1');
          expect(r.responseCode).toBe('2.05');
          expect(log.suites).toEqual(['TLS_PSK_WITH_AES_128_CCM_8']);
        } finally {
          await closeServer(server);
        }
      },
    );

    it.skipIf(!binary).each(SUITES)(
      `GETs with %s (forced by the server) [interop peer=coap-client-${variant} ours=dtls-server transport=dtls-psk op=cipher-suites]`,
      async (suite) => {
        const { server, log, uri } = await coapsServer({ cipherSuites: [suite] });
        try {
          const r = await coapClient({ variant, uri, psk: PSK });
          expect(r.text).toBe('hello dev1');
          expect(log.suites).toEqual([suite]);
        } finally {
          await closeServer(server);
        }
      },
    );

    it.skipIf(!binary)(
      `fails a wrong key with bad_record_mac, then serves the right key [interop peer=coap-client-${variant} ours=dtls-server transport=dtls-psk op=wrong-psk]`,
      async () => {
        const { server, log, uri } = await coapsServer();
        try {
          const bad = await coapClient({
            variant,
            uri,
            psk: { ...PSK, key: 'wrong' },
            timeoutSec: 2,
          });
          expect(bad.responseCode).toBeUndefined();
          expect(bad.stdout + bad.stderr).toMatch(/bad record mac|Alert '20'/i);
          expect(log.errors.map((e) => [e.alert, e.direction])).toEqual([[20, 'sent']]);
          const good = await coapClient({ variant, uri, psk: PSK });
          expect(good.text).toBe('hello dev1');
          expect(server.stats()).toMatchObject({ handshakesFailed: 1, handshakesCompleted: 1 });
        } finally {
          await closeServer(server);
        }
      },
    );

    it.skipIf(!binary)(
      `refuses an unknown identity with unknown_psk_identity (115) [interop peer=coap-client-${variant} ours=dtls-server transport=dtls-psk op=unknown-identity]`,
      async () => {
        const { server, log, uri } = await coapsServer();
        try {
          const r = await coapClient({
            variant,
            uri,
            psk: { identity: 'nobody', key: 'x' },
            timeoutSec: 2,
          });
          expect(r.responseCode).toBeUndefined();
          expect(r.stdout + r.stderr).toMatch(/unknown PSK identity|Alert '115'/i);
          expect(log.errors.map((e) => e.alert)).toEqual([115]);
        } finally {
          await closeServer(server);
        }
      },
    );
  },
);

/**
 * GnuTLS reads GNUTLS_SYSTEM_PRIORITY_FILE; its `[overrides]` section can disable ciphers for
 * every priority string, so the client offers only what is left. libcoap's OpenSSL build sets
 * its own cipher list (`PSK:!NULL`) on each session, so it cannot be narrowed this way.
 */
describe('coap-client-gnutls with its offer narrowed to one suite', () => {
  const binary = peerOrSkip('coap-client-gnutls');
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dtls-gnutls-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function wrapper(name: string, disabled: readonly string[]): Promise<string> {
    const conf = join(dir, `${name}.conf`);
    await writeFile(
      conf,
      `[overrides]\n${disabled.map((c) => `tls-disabled-cipher = ${c}\n`).join('')}`,
    );
    const script = join(dir, name);
    await writeFile(
      script,
      `#!/bin/sh\nGNUTLS_SYSTEM_PRIORITY_FILE='${conf}' exec '${binary}' "$@"\n`,
    );
    await chmod(script, 0o755);
    return script;
  }

  const AEAD = [
    'AES-128-GCM',
    'AES-256-GCM',
    'AES-128-CCM',
    'AES-256-CCM',
    'AES-256-CCM-8',
    'CHACHA20-POLY1305',
  ];

  it.skipIf(!binary)(
    'CBC_SHA256 when the client offers no AEAD suite [interop peer=coap-client-gnutls ours=dtls-server transport=dtls-psk op=cipher-suites]',
    async () => {
      const { server, log, uri } = await coapsServer();
      try {
        const only = await wrapper('cbc', [...AEAD, 'AES-128-CCM-8']);
        const r = await coapClient({ variant: 'gnutls', uri, psk: PSK, binary: only });
        expect(r.text).toBe('hello dev1');
        expect(log.suites).toEqual(['TLS_PSK_WITH_AES_128_CBC_SHA256']);
      } finally {
        await closeServer(server);
      }
    },
  );

  it.skipIf(!binary)(
    'CCM_8 when the client offers nothing else, even if the server prefers CBC [interop peer=coap-client-gnutls ours=dtls-server transport=dtls-psk op=cipher-suites]',
    async () => {
      const { server, log, uri } = await coapsServer({
        cipherSuites: ['TLS_PSK_WITH_AES_128_CBC_SHA256', 'TLS_PSK_WITH_AES_128_CCM_8'],
      });
      try {
        const only = await wrapper('ccm8', [...AEAD, 'AES-128-CBC', 'AES-256-CBC', '3DES-CBC']);
        const r = await coapClient({ variant: 'gnutls', uri, psk: PSK, binary: only });
        expect(r.text).toBe('hello dev1');
        expect(log.suites).toEqual(['TLS_PSK_WITH_AES_128_CCM_8']);
      } finally {
        await closeServer(server);
      }
    },
  );
});

describe('node-dtls-client against DtlsServerSocket', () => {
  it.each(['TLS_PSK_WITH_AES_128_CCM_8', 'TLS_PSK_WITH_AES_128_CBC_SHA256'] as const)(
    'connects with %s and exchanges datagrams [interop peer=node-dtls-client ours=dtls-server transport=dtls-psk op=cipher-suites]',
    async (suite) => {
      const { server, port, log } = await coapsServer();
      server.removeAllListeners('message');
      server.on('message', (msg, rinfo) =>
        server.send(Buffer.concat([Buffer.from('echo '), msg]), rinfo.port, rinfo.address),
      );
      const client = dtls.createSocket({
        type: 'udp4',
        address: '127.0.0.1',
        port,
        psk: { [PSK.identity]: PSK.key },
        timeout: 3000,
        ciphers: [suite],
      });
      try {
        const reply = await new Promise<string>((resolve, reject) => {
          client.on('error', reject);
          client.on('connected', () => client.send(Buffer.from('ping')));
          client.on('message', (m) => resolve(m.toString()));
        });
        expect(reply).toBe('echo ping');
        expect(log.suites).toEqual([suite]);
      } finally {
        await new Promise<void>((resolve) => client.close(() => resolve()));
        expect(await until(() => server.stats().sessionsLive === 0)).toBe(true);
        await closeServer(server);
      }
    },
  );
});

/**
 * OpenSSL's own DTLS client (`openssl s_client -dtls1_2 -psk`): forces one suite with
 * `-cipher`, and resumes a saved session with `-sess_out` / `-sess_in`.
 */
describe('openssl s_client against DtlsServerSocket', () => {
  const binary = peerOrSkip('openssl');
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dtls-sclient-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function sClient(port: number, cipher: string, extra: readonly string[] = []) {
    const args = [
      's_client',
      '-dtls1_2',
      '-connect',
      `127.0.0.1:${port}`,
      '-psk',
      Buffer.from(PSK.key).toString('hex'),
      '-psk_identity',
      PSK.identity,
      '-cipher',
      cipher,
      '-no_ticket',
      ...extra,
    ];
    const r = await runProcess(binary!, args, { input: 'ping\n', timeoutMs: 5000 });
    return r.stdout + r.stderr;
  }

  async function pingServer(options: Parameters<typeof startServer>[0] = {}) {
    const s = await coapsServer(options);
    const pings: string[] = [];
    s.server.removeAllListeners('message');
    s.server.on('message', (m, rinfo) => pings.push(`${rinfo.identity}:${m.toString().trim()}`));
    return { ...s, pings };
  }

  it.skipIf(!binary).each([
    ['PSK-AES128-CCM8', 'TLS_PSK_WITH_AES_128_CCM_8'],
    ['PSK-AES128-CBC-SHA256', 'TLS_PSK_WITH_AES_128_CBC_SHA256'],
    ['PSK-AES128-GCM-SHA256', 'TLS_PSK_WITH_AES_128_GCM_SHA256'],
    ['PSK-AES128-CCM', 'TLS_PSK_WITH_AES_128_CCM'],
  ])(
    'handshakes with -cipher %s (forced by the client) [interop peer=openssl-s_client ours=dtls-server transport=dtls-psk op=cipher-suites]',
    async (cipher, suite) => {
      const { server, port, log, pings } = await pingServer();
      try {
        const out = await sClient(port, cipher);
        expect(out).toMatch(new RegExp(`New, TLSv1\\.\\d, Cipher is ${cipher}`));
        expect(out).toMatch(/Extended master secret: yes/);
        expect(await until(() => pings.length === 1)).toBe(true);
        expect(pings).toEqual(['dev1:ping']);
        expect(log.suites).toEqual([suite]);
      } finally {
        await closeServer(server);
      }
    },
  );

  it.skipIf(!binary)(
    'resumes a saved session with the abbreviated handshake [interop peer=openssl-s_client ours=dtls-server transport=dtls-psk op=session-resumption]',
    async () => {
      const { server, port, pings } = await pingServer();
      try {
        const saved = join(dir, 'session.pem');
        expect(await sClient(port, 'PSK-AES128-CCM8', ['-sess_out', saved])).toMatch(
          /New, TLSv1\.2/,
        );
        const out = await sClient(port, 'PSK-AES128-CCM8', ['-sess_in', saved]);
        expect(out).toMatch(/Reused, TLSv1\.2, Cipher is PSK-AES128-CCM8/);
        expect(await until(() => pings.length === 2)).toBe(true);
        expect(server.stats()).toMatchObject({ handshakesCompleted: 2, sessionsResumed: 1 });
      } finally {
        await closeServer(server);
      }
    },
  );
});
