import { TimeoutError } from '@lwm2m-ts/core';
import { afterEach, describe, expect, it } from 'vitest';
import { CipherSuite } from './cipher.js';
import { AlertDescription, AlertLevel, ContentType, DTLS_1_0, ExtensionType } from './constants.js';
import type { DtlsServerSocket } from './dtls-server-socket.js';
import { DtlsAlertError, DtlsError } from './errors.js';
import { encodeRecord } from './record.js';
import { TestClient, type TestClientOptions } from './test-client.js';
import { closeServer, echo, startServer, until } from './test-helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(options: Parameters<typeof startServer>[0] = {}) {
  const s = await startServer(options);
  cleanups.push(() => closeServer(s.server));
  return s;
}

async function client(port: number, options: Partial<TestClientOptions> = {}) {
  const c = await new TestClient({ identity: 'dev1', key: 'secretkey', ...options }).open(port);
  cleanups.push(() => c.close());
  return c;
}

function events(s: DtlsServerSocket) {
  const log = {
    sessions: [] as string[],
    errors: [] as Error[],
    ends: [] as string[],
    messages: [] as string[],
  };
  s.on('session', (i) => log.sessions.push(`${i.identity}@${i.port}/${i.cipherSuite}`));
  s.on('handshakeError', (e) => log.errors.push(e));
  s.on('sessionEnd', (i, reason) => log.ends.push(`${i.port}:${reason}`));
  s.on('message', (m) => log.messages.push(m.toString()));
  return log;
}

describe('handshake', () => {
  it.each([
    ['TLS_PSK_WITH_AES_128_CCM_8', true],
    ['TLS_PSK_WITH_AES_128_CCM_8', false],
    ['TLS_PSK_WITH_AES_128_CBC_SHA256', true],
    ['TLS_PSK_WITH_AES_128_CBC_SHA256', false],
    ['TLS_PSK_WITH_AES_128_GCM_SHA256', true],
    ['TLS_PSK_WITH_AES_128_CCM', false],
  ] as const)(
    'completes with %s (extended master secret: %s) and carries data both ways',
    async (suite, ems) => {
      const { server: s, port } = await server();
      const log = events(s);
      echo(s);
      const c = await client(port, {
        cipherSuites: [CipherSuite[suite]],
        extendedMasterSecret: ems,
      });
      expect(await c.handshake()).toBe(true);
      expect(c.suite).toBe(CipherSuite[suite]);
      expect(c.serverExtensions.has(ExtensionType.EXTENDED_MASTER_SECRET)).toBe(ems);
      expect(log.sessions).toEqual([`dev1@${c.port}/${suite}`]);
      c.sendApp('ping');
      expect((await c.nextApp())?.toString()).toBe('dev1:ping');
      expect(s.session('127.0.0.1', c.port)?.extendedMasterSecret).toBe(ems);
      expect(s.stats()).toMatchObject({
        sessionsLive: 1,
        handshakesCompleted: 1,
        helloVerifyRequests: 1,
      });
    },
  );

  it('picks the first suite of the server preference the client offers', async () => {
    const { port } = await server({
      cipherSuites: ['TLS_PSK_WITH_AES_128_CBC_SHA256', 'TLS_PSK_WITH_AES_128_CCM_8'],
    });
    const c = await client(port, {
      cipherSuites: [
        0xc0ab,
        CipherSuite.TLS_PSK_WITH_AES_128_CCM_8,
        CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256,
      ],
    });
    expect(await c.handshake()).toBe(true);
    expect(c.suite).toBe(CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256);
  });

  it('answers the renegotiation SCSV with an empty renegotiation_info (RFC 5746)', async () => {
    const { port } = await server();
    const c = await client(port, { renegotiationScsv: true });
    expect(await c.handshake()).toBe(true);
    expect(c.serverExtensions.get(ExtensionType.RENEGOTIATION_INFO)).toEqual(Buffer.from([0]));
    const plain = await client(port);
    expect(await plain.handshake()).toBe(true);
    expect(plain.serverExtensions.has(ExtensionType.RENEGOTIATION_INFO)).toBe(false);
  });

  it('sends the identity hint in ServerKeyExchange only when configured', async () => {
    const { port } = await server({ identityHint: 'lwm2m-server' });
    const c = await client(port);
    expect(await c.handshake()).toBe(true);
    expect(c.hint?.toString()).toBe('lwm2m-server');
    const { port: port2 } = await server();
    const c2 = await client(port2);
    expect(await c2.handshake()).toBe(true);
    expect(c2.hint).toBeUndefined();
  });

  it('answers a ClientHello without a cookie, or with a forged one, with a HelloVerifyRequest and keeps no state', async () => {
    const { server: s, port } = await server();
    const c = await client(port);
    const cookie = await c.helloVerify();
    expect(cookie.length).toBe(32);
    c.cookie = Buffer.from(cookie);
    c.cookie[0]! ^= 1;
    c.sendRaw(c.helloWithCookie());
    const again = await c.waitFor((r) => r.type === ContentType.HANDSHAKE);
    expect(again?.plaintext?.[0]).toBe(3); // another HelloVerifyRequest
    expect(s.stats()).toMatchObject({
      helloVerifyRequests: 2,
      sessionsLive: 0,
      handshakesInProgress: 0,
    });
  });

  it('refuses an unknown identity with unknown_psk_identity (115) and keeps serving', async () => {
    const { server: s, port } = await server();
    const log = events(s);
    const bad = await client(port, { identity: 'nobody' });
    await bad.helloVerify();
    bad.sendRaw(bad.helloWithCookie());
    await bad.readServerFlight();
    bad.sendRaw(Buffer.concat(bad.keyExchangeRecords()));
    expect(await bad.waitForAlert()).toEqual({ level: AlertLevel.FATAL, description: 115 });
    expect(log.errors).toHaveLength(1);
    const err = log.errors[0] as DtlsAlertError;
    expect(err).toBeInstanceOf(DtlsAlertError);
    expect([err.alert, err.direction, err.coapCode]).toEqual([115, 'sent', '4.01']);
    const good = await client(port);
    expect(await good.handshake()).toBe(true);
    expect(s.stats()).toMatchObject({
      handshakesFailed: 1,
      handshakesCompleted: 1,
      sessionsLive: 1,
    });
  });

  it.each(['TLS_PSK_WITH_AES_128_CCM_8', 'TLS_PSK_WITH_AES_128_CBC_SHA256'] as const)(
    'refuses a wrong key with bad_record_mac (%s), then serves a correct client',
    async (suite) => {
      const { server: s, port } = await server({ cipherSuites: [suite] });
      const log = events(s);
      const bad = await client(port, { key: 'not the key', cipherSuites: [CipherSuite[suite]] });
      await bad.helloVerify();
      bad.sendRaw(bad.helloWithCookie());
      await bad.readServerFlight();
      bad.sendRaw(Buffer.concat(bad.keyExchangeRecords()));
      expect(await bad.waitForAlert()).toEqual({
        level: AlertLevel.FATAL,
        description: AlertDescription.BAD_RECORD_MAC,
      });
      expect((log.errors[0] as DtlsAlertError).alert).toBe(20);
      const good = await client(port, { cipherSuites: [CipherSuite[suite]] });
      expect(await good.handshake()).toBe(true);
      expect(s.stats().handshakesFailed).toBe(1);
    },
  );

  it('waits for an async PSK lookup, queueing the rest of the flight', async () => {
    const { server: s, port } = await server({
      psk: (id) =>
        new Promise((resolve) =>
          setTimeout(() => resolve(id === 'dev1' ? Buffer.from('secretkey') : undefined), 50),
        ),
    });
    events(s);
    const c = await client(port);
    expect(await c.handshake()).toBe(true);
    const c2 = await client(port, { identity: 'other' });
    await c2.helloVerify();
    c2.sendRaw(c2.helloWithCookie());
    await c2.readServerFlight();
    c2.sendRaw(Buffer.concat(c2.keyExchangeRecords()));
    expect((await c2.waitForAlert())?.description).toBe(115);
  });

  it('answers internal_error when the lookup throws or rejects', async () => {
    for (const psk of [
      () => {
        throw new Error('store down');
      },
      () => Promise.reject(new Error('store down')),
    ]) {
      const { server: s, port } = await server({ psk });
      const log = events(s);
      const c = await client(port);
      await c.helloVerify();
      c.sendRaw(c.helloWithCookie());
      await c.readServerFlight();
      c.sendRaw(Buffer.concat(c.keyExchangeRecords()));
      expect((await c.waitForAlert())?.description).toBe(AlertDescription.INTERNAL_ERROR);
      expect((log.errors[0] as DtlsAlertError).cause).toBeInstanceOf(Error);
    }
  });

  it('refuses DTLS 1.0 clients, clients without a common suite, and EMS-less clients when EMS is required', async () => {
    const cases: [Parameters<typeof startServer>[0], Partial<TestClientOptions>, number][] = [
      [{}, { clientVersion: DTLS_1_0 }, AlertDescription.PROTOCOL_VERSION],
      [{}, { cipherSuites: [0xc0ab, 0x008c] }, AlertDescription.HANDSHAKE_FAILURE],
      [
        { requireExtendedMasterSecret: true },
        { extendedMasterSecret: false },
        AlertDescription.HANDSHAKE_FAILURE,
      ],
    ];
    for (const [so, co, alert] of cases) {
      const { server: s, port } = await server(so);
      const log = events(s);
      const c = await client(port, co);
      await c.helloVerify();
      c.sendRaw(c.helloWithCookie());
      expect((await c.waitForAlert())?.description).toBe(alert);
      expect(log.errors).toHaveLength(1);
      expect(s.stats().handshakesInProgress).toBe(0);
    }
  });

  it('refuses a client Finished that does not verify with decrypt_error', async () => {
    const { server: s, port } = await server();
    const log = events(s);
    const c = await client(port);
    await c.helloVerify();
    c.sendRaw(c.helloWithCookie());
    await c.readServerFlight();
    const records = c.keyExchangeRecords();
    // Replace the Finished by one with zero verify_data, sealed with the right keys.
    c.writeSeq[1] = 0;
    const bogus = Buffer.alloc(24);
    bogus[0] = 20;
    bogus.writeUIntBE(12, 1, 3);
    bogus.writeUInt16BE(3, 4);
    bogus.writeUIntBE(12, 9, 3);
    records[records.length - 1] = c.record(ContentType.HANDSHAKE, 1, bogus);
    c.sendRaw(Buffer.concat(records));
    expect((await c.waitForAlert())?.description).toBe(AlertDescription.DECRYPT_ERROR);
    expect((log.errors[0] as DtlsAlertError).alert).toBe(51);
  });
});

describe('fragmentation and retransmission', () => {
  it('fragments its flight to fit maxDatagramSize and reassembles the client’s out-of-order, repeated fragments', async () => {
    const hint = 'h'.repeat(600);
    const { server: s, port } = await server({ identityHint: hint, maxDatagramSize: 200 });
    const log = events(s);
    echo(s);
    const identity = 'dev1';
    const c = await client(port, { fragmentSize: 3, identity });
    await c.helloVerify();
    c.sendRaw(c.helloWithCookie());
    // Count datagrams of the server's flight: the 600-byte hint needs several.
    expect(await c.readServerFlight()).toBe(true);
    expect(c.hint?.toString()).toBe(hint);
    const records = c.keyExchangeRecords();
    // CKE is 6 bytes of body in 3-byte fragments: send the second first, then everything twice.
    const [cke1, cke2, ...rest] = records;
    c.sendRaw(cke2!);
    c.sendRaw(cke1!);
    c.sendRaw(cke2!);
    for (const r of rest) c.sendRaw(r);
    expect(await c.readServerFinished()).toBe(true);
    expect(log.sessions).toHaveLength(1);
    c.sendApp('after fragments');
    expect((await c.nextApp())?.toString()).toBe('dev1:after fragments');
  });

  it('retransmits its flight on a doubling timer while the client is silent', async () => {
    const { port } = await server({ retransmitMs: 80, maxRetransmitMs: 160 });
    const c = await client(port);
    await c.helloVerify();
    c.sendRaw(c.helloWithCookie());
    const times: number[] = [];
    const start = Date.now();
    for (let i = 0; i < 4; i++) {
      const d = await c.nextDatagram(1000);
      expect(d).toBeDefined();
      times.push(Date.now() - start);
    }
    // First flight at once, then after ~80, ~160 (+80), ~160 (capped) more.
    expect(times[0]).toBeLessThan(60);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(60);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(140);
    expect(times[3]! - times[2]!).toBeGreaterThanOrEqual(140);
    expect(times[3]! - times[2]!).toBeLessThan(300);
  });

  it('repeats its flight at once when the client repeats its ClientHello, and finishes', async () => {
    const { port } = await server();
    const c = await client(port);
    await c.helloVerify();
    const hello = c.helloWithCookie();
    c.sendRaw(hello);
    expect(await c.nextDatagram()).toBeDefined();
    // Same hello again (a new record number, as a client's retransmission would have).
    const again = Buffer.from(hello);
    again.writeUIntBE(c.writeSeq[0]!, 5, 6);
    c.writeSeq[0] = c.writeSeq[0]! + 1;
    const t = Date.now();
    c.sendRaw(again);
    expect(await c.readServerFlight(500)).toBe(true);
    expect(Date.now() - t).toBeLessThan(300);
    c.sendRaw(Buffer.concat(c.keyExchangeRecords()));
    expect(await c.readServerFinished()).toBe(true);
  });

  it('repeats its final flight when the client repeats its own (our Finished was lost)', async () => {
    const { server: s, port } = await server();
    const log = events(s);
    echo(s);
    const c = await client(port);
    await c.helloVerify();
    c.sendRaw(c.helloWithCookie());
    await c.readServerFlight();
    const records = c.keyExchangeRecords();
    c.sendRaw(Buffer.concat(records));
    expect(await c.nextDatagram()).toBeDefined(); // CCS + Finished, "lost"
    // Retransmit flight 5 with fresh record numbers: re-encode the same plaintexts.
    const resend = [
      encodeRecord(ContentType.HANDSHAKE, 0xfefd, 0, c.writeSeq[0]!, records[0]!.subarray(13)),
      encodeRecord(ContentType.CHANGE_CIPHER_SPEC, 0xfefd, 0, c.writeSeq[0]! + 1, Buffer.from([1])),
    ];
    c.writeSeq[0] = c.writeSeq[0]! + 2;
    c.sendRaw(Buffer.concat(resend));
    expect(await c.readServerFinished()).toBe(true);
    expect(log.sessions).toHaveLength(1);
    c.sendApp('x');
    expect((await c.nextApp())?.toString()).toBe('dev1:x');
  });

  it('accepts a Finished that overtakes the ChangeCipherSpec', async () => {
    const { port } = await server();
    const c = await client(port);
    await c.helloVerify();
    c.sendRaw(c.helloWithCookie());
    await c.readServerFlight();
    const [cke, ccs, fin] = c.keyExchangeRecords();
    c.sendRaw(Buffer.concat([cke!, fin!]));
    c.sendRaw(ccs!);
    expect(await c.readServerFinished()).toBe(true);
  });

  it('forgets a half-open handshake after handshakeTimeoutMs and reports it', async () => {
    const { server: s, port } = await server({ handshakeTimeoutMs: 150, retransmitMs: 1000 });
    const log = events(s);
    const c = await client(port);
    await c.helloVerify();
    c.sendRaw(c.helloWithCookie());
    await c.readServerFlight();
    expect(s.stats().handshakesInProgress).toBe(1);
    expect(await until(() => log.errors.length === 1, 1000)).toBe(true);
    expect(log.errors[0]).toBeInstanceOf(TimeoutError);
    expect(s.stats()).toMatchObject({ handshakesInProgress: 0, handshakesFailed: 1 });
  });
});

describe('records after the handshake', () => {
  async function established(options: Parameters<typeof startServer>[0] = {}) {
    const { server: s, port } = await server(options);
    const log = events(s);
    const c = await client(port);
    expect(await c.handshake()).toBe(true);
    return { s, port, log, c };
  }

  it('drops replayed records and counts them', async () => {
    const { s, log, c } = await established();
    const d = c.sendApp('once');
    c.sendRaw(d);
    c.sendRaw(d);
    const later = c.sendApp('later');
    const older = c.sendApp('older', false);
    c.sendRaw(older);
    c.sendRaw(later);
    expect(await until(() => log.messages.length >= 3)).toBe(true);
    await new Promise((r) => setTimeout(r, 30));
    expect(log.messages).toEqual(['once', 'later', 'older']);
    expect(s.stats().recordsDropped.replay).toBe(3);
  });

  it('drops garbage, truncated, wrong-epoch and bad-MAC records silently and keeps the session', async () => {
    const { s, log, c } = await established();
    c.sendRaw(Buffer.from('not dtls at all'));
    c.sendRaw(encodeRecord(99, 0xfefd, 1, 1000, Buffer.from('unknown content type')));
    c.sendRaw(Buffer.alloc(0));
    const good = c.sendApp('x', false);
    c.sendRaw(good.subarray(0, good.length - 3)); // truncated
    const tampered = Buffer.from(c.sendApp('y', false));
    tampered[tampered.length - 1]! ^= 0x80;
    c.sendRaw(tampered);
    const wrongEpoch = Buffer.from(c.sendApp('z', false));
    wrongEpoch.writeUInt16BE(7, 3);
    c.sendRaw(wrongEpoch);
    c.sendRaw(encodeRecord(ContentType.APPLICATION_DATA, 0xfefd, 0, 99, Buffer.from('plain'))); // epoch 0 data
    c.sendApp('still here');
    expect(await until(() => log.messages.includes('still here'))).toBe(true);
    expect(log.messages).toEqual(['still here']);
    const d = s.stats().recordsDropped;
    expect(d).toMatchObject({ truncated: 2, badMac: 1, epoch: 1, malformed: 1, unexpected: 1 });
    expect(c.alerts).toEqual([]);
    expect(s.stats().sessionsLive).toBe(1);
  });

  it('ends the session on close_notify and answers it', async () => {
    const { s, log, c } = await established();
    c.sendAlert(AlertLevel.WARNING, AlertDescription.CLOSE_NOTIFY);
    expect(await c.waitForAlert()).toEqual({ level: 1, description: 0 });
    expect(await until(() => log.ends.length === 1)).toBe(true);
    expect(log.ends).toEqual([`${c.port}:close_notify`]);
    expect(s.stats().sessionsLive).toBe(0);
    const err = await new Promise<Error | null>((resolve) =>
      s.send('x', c.port, '127.0.0.1', resolve),
    );
    expect(err).toBeInstanceOf(DtlsError);
    expect((err as DtlsError).code).toBe('NO_SESSION');
  });

  it('ends the session on a fatal alert from the client', async () => {
    const { s, log, c } = await established();
    c.sendAlert(AlertLevel.FATAL, AlertDescription.INTERNAL_ERROR);
    expect(await until(() => log.ends.length === 1)).toBe(true);
    expect(log.ends).toEqual([`${c.port}:alert`]);
    expect(s.stats()).toMatchObject({ sessionsLive: 0, alertsReceived: 1 });
  });

  it('refuses renegotiation with a no_renegotiation warning and keeps the session', async () => {
    const { log, c } = await established();
    const hello = Buffer.from('0100000000000000000000', 'hex');
    c.sendRaw(c.record(ContentType.HANDSHAKE, 1, Buffer.concat([hello, Buffer.alloc(1)])));
    expect(await c.waitForAlert()).toEqual({
      level: 1,
      description: AlertDescription.NO_RENEGOTIATION,
    });
    c.sendApp('still');
    expect(await until(() => log.messages.includes('still'))).toBe(true);
  });

  it('starts a fresh handshake for a new ClientHello from a peer with a session, without touching others', async () => {
    const { s, port, log, c } = await established();
    echo(s);
    const other = await client(port, {
      identity: 'dev2',
      key: Buffer.from('0123456789abcdef0123456789abcdef', 'hex'),
    });
    expect(await other.handshake()).toBe(true);
    // Same address and port, a new handshake from scratch (a rebooted device).
    c.restart();
    expect(await c.handshake()).toBe(true);
    expect(log.ends).toContain(`${c.port}:replaced`);
    other.sendApp('other still works');
    expect((await other.nextApp())?.toString()).toBe('dev2:other still works');
    expect(s.stats()).toMatchObject({ sessionsLive: 2, handshakesCompleted: 3 });
    c.sendApp('new session works');
    expect((await c.nextApp())?.toString()).toBe('dev1:new session works');
  });

  it('evicts idle sessions', async () => {
    const { s, log, c } = await established({ idleTimeoutMs: 120 });
    expect(await until(() => log.ends.length === 1, 2000)).toBe(true);
    expect(log.ends).toEqual([`${c.port}:idle`]);
    expect(s.stats()).toMatchObject({ sessionsLive: 0, sessionsEvicted: 1 });
  });

  it('keeps at most maxSessions, pushing out the quietest', async () => {
    const { server: s, port } = await server({ maxSessions: 2 });
    const log = events(s);
    const a = await client(port);
    expect(await a.handshake()).toBe(true);
    const b = await client(port);
    expect(await b.handshake()).toBe(true);
    b.sendApp('b is busy');
    await until(() => log.messages.length === 1);
    const c = await client(port);
    expect(await c.handshake()).toBe(true);
    expect(log.ends).toEqual([`${a.port}:evicted`]);
    expect(s.stats()).toMatchObject({ sessionsLive: 2, sessionsEvicted: 1 });
  });

  it('sends close_notify to every session on close()', async () => {
    const { server: s, port } = await startServer();
    const a = await client(port);
    const b = await client(port);
    expect(await a.handshake()).toBe(true);
    expect(await b.handshake()).toBe(true);
    await closeServer(s);
    expect(await a.waitForAlert()).toEqual({ level: 1, description: 0 });
    expect(await b.waitForAlert()).toEqual({ level: 1, description: 0 });
  });
});

describe('session resumption (RFC 5246 §7.3)', () => {
  it('resumes with the abbreviated handshake and carries data', async () => {
    const { server: s, port } = await server();
    const log = events(s);
    echo(s);
    const c = await client(port);
    expect(await c.handshake()).toBe(true);
    expect(c.sessionId.length).toBe(32);
    c.sendApp('first');
    expect((await c.nextApp())?.toString()).toBe('dev1:first');
    const id = Buffer.from(c.sessionId);
    expect(await c.resumeHandshake()).toBe(true);
    c.sendApp('resumed');
    expect((await c.nextApp())?.toString()).toBe('dev1:resumed');
    expect(c.sessionId).toEqual(id);
    expect(s.session('127.0.0.1', c.port)).toMatchObject({ identity: 'dev1', resumed: true });
    expect(s.stats()).toMatchObject({
      handshakesCompleted: 2,
      sessionsResumed: 1,
      sessionsLive: 1,
    });
    expect(log.ends).toEqual([`${c.port}:replaced`]);
  });

  it('falls back to a full handshake when the key changed, resumption is off, or the session ended in a fatal alert', async () => {
    const keys: Record<string, string> = { dev1: 'secretkey' };
    const { port } = await server({ psk: (id) => (keys[id] ? Buffer.from(keys[id]) : undefined) });
    const c = await client(port);
    expect(await c.handshake()).toBe(true);
    keys.dev1 = 'rotated';
    expect(await c.resumeHandshake()).toBe(false);

    const { port: port2 } = await server({ sessionCache: false });
    const c2 = await client(port2);
    expect(await c2.handshake()).toBe(true);
    expect(c2.sessionId.length).toBe(0);

    const { port: port3 } = await server();
    const c3 = await client(port3);
    expect(await c3.handshake()).toBe(true);
    c3.sendAlert(AlertLevel.FATAL, AlertDescription.INTERNAL_ERROR);
    await new Promise((r) => setTimeout(r, 20));
    expect(await c3.resumeHandshake()).toBe(false);
  });

  it('repeats its abbreviated flight on the timer until the client finishes', async () => {
    const { port } = await server({ retransmitMs: 50 });
    const c = await client(port);
    expect(await c.handshake()).toBe(true);
    // Lose the first ServerHello datagram: the server must send its flight again.
    let lost = 0;
    c.dropFilter = (d) => d[0] === ContentType.HANDSHAKE && d[13] === 2 && lost++ === 0;
    const t = Date.now();
    expect(await c.resumeHandshake()).toBe(true);
    expect(lost).toBe(2);
    expect(Date.now() - t).toBeGreaterThanOrEqual(40);
  });
});
