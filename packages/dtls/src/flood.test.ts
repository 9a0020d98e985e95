import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CipherSuite } from './cipher.js';
import { ContentType, DTLS_1_0, HandshakeType } from './constants.js';
import type { DtlsServerSocket } from './dtls-server-socket.js';
import { encodeClientHello, encodeHandshake } from './handshake.js';
import { encodeRecord } from './record.js';
import { TestClient } from './test-client.js';
import { closeServer, startServer, until } from './test-helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

function clientHello(): Buffer {
  const body = encodeClientHello({
    random: randomBytes(32),
    cipherSuites: [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8],
    extensions: [[0x0017, Buffer.alloc(0)]],
  });
  return encodeRecord(
    ContentType.HANDSHAKE,
    DTLS_1_0,
    0,
    0,
    encodeHandshake(HandshakeType.CLIENT_HELLO, 0, body),
  );
}

describe('a flood of ClientHellos without cookies', () => {
  let server: DtlsServerSocket;
  let port: number;
  const senders: dgram.Socket[] = [];

  beforeAll(async () => {
    ({ server, port } = await startServer());
    for (let i = 0; i < 50; i++) {
      const s = dgram.createSocket('udp4');
      s.bind(0, '127.0.0.1');
      await once(s, 'listening');
      senders.push(s);
    }
  });

  afterAll(async () => {
    await Promise.all(senders.map((s) => new Promise<void>((r) => s.close(() => r()))));
    await closeServer(server);
  });

  it('keeps no per-peer state and a flat heap over 10,000 hellos from 50 ports', async () => {
    const hellos = Array.from({ length: 200 }, clientHello);
    const before = heapAfterGc();
    let sent = 0;
    const total = 10_000;
    // Batches of 250, waiting for the answers, so the loopback receive buffer never overflows.
    while (sent < total) {
      for (let i = 0; i < 250; i++, sent++) {
        senders[sent % senders.length]!.send(hellos[sent % hellos.length]!, port, '127.0.0.1');
      }
      expect(await until(() => server.stats().helloVerifyRequests === sent, 5000, 1)).toBe(true);
    }
    const after = heapAfterGc();
    const stats = server.stats();
    expect(stats).toMatchObject({
      helloVerifyRequests: total,
      sessionsLive: 0,
      handshakesInProgress: 0,
    });
    expect(server.sessions()).toEqual([]);
    // Generous bound: a per-peer leak would be ≥ 10,000 × hundreds of bytes.
    expect(after - before).toBeLessThan(1_500_000);

    // The server still completes a real handshake afterwards.
    const c = await new TestClient({ identity: 'dev1', key: 'secretkey' }).open(port);
    try {
      expect(await c.handshake()).toBe(true);
    } finally {
      await c.close();
    }
  });
});
