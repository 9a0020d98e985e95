import dgram from 'node:dgram';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { DtlsServerSocket } from './dtls-server-socket.js';
import { DtlsError } from './errors.js';
import { TestClient } from './test-client.js';
import { closeServer, lookup, startServer, until } from './test-helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function connected() {
  const { server, port } = await startServer();
  cleanups.push(() => closeServer(server));
  const c = await new TestClient({ identity: 'dev1', key: 'secretkey' }).open(port);
  cleanups.push(() => c.close());
  expect(await c.handshake()).toBe(true);
  return { server, port, c };
}

function sendResult(fn: (cb: (err: Error | null, bytes: number) => void) => void) {
  return new Promise<[Error | null, number]>((resolve) =>
    fn((err, bytes) => resolve([err, bytes])),
  );
}

describe('DtlsServerSocket as a dgram.Socket', () => {
  it('is an instance of dgram.Socket and binds like one', async () => {
    const s = new DtlsServerSocket({ type: 'udp4', psk: lookup });
    expect(s).toBeInstanceOf(dgram.Socket);
    const listening = new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    await listening;
    expect(s.address()).toMatchObject({ address: '127.0.0.1', family: 'IPv4' });
    expect(s.address().port).toBeGreaterThan(0);
    expect(s.getRecvBufferSize()).toBeGreaterThan(0);
    await closeServer(s);
  });

  it('binds with an options object and on IPv6 loopback', async () => {
    const s = new DtlsServerSocket({ type: 'udp6', psk: lookup });
    s.bind({ port: 0, address: '::1' });
    await once(s, 'listening');
    expect(s.address().family).toBe('IPv6');
    await closeServer(s);
  });

  it('emits close once and calls the close callback, bound or not', async () => {
    const unbound = new DtlsServerSocket({ type: 'udp4', psk: lookup });
    let closes = 0;
    unbound.on('close', () => closes++);
    await new Promise<void>((resolve) => unbound.close(resolve));
    unbound.close();
    await new Promise((r) => setTimeout(r, 10));
    expect(closes).toBe(1);
  });

  it('sends with every dgram argument shape, encrypting to the peer', async () => {
    const { server, c } = await connected();
    const port = c.port;
    const results = [
      await sendResult((cb) => server.send(Buffer.from('a'), port, '127.0.0.1', cb)),
      await sendResult((cb) => server.send(Buffer.from('xbx'), 1, 1, port, '127.0.0.1', cb)),
      await sendResult((cb) => server.send('c', port, cb)), // no address: localhost, as dgram
      await sendResult((cb) => server.send([Buffer.from('d'), 'e'], port, '127.0.0.1', cb)),
      await sendResult((cb) => server.send(new Uint8Array([0x66]), 0, 1, port, cb)),
    ];
    expect(results).toEqual([
      [null, 1],
      [null, 1],
      [null, 1],
      [null, 2],
      [null, 1],
    ]);
    const got: string[] = [];
    for (let i = 0; i < 5; i++) got.push((await c.nextApp())?.toString() ?? '');
    expect(got).toEqual(['a', 'b', 'c', 'de', 'f']);
  });

  it('reports send errors as DtlsError values: to the callback, else as an error event', async () => {
    const { server, c } = await connected();
    const [noSession] = await sendResult((cb) => server.send('x', 9, '127.0.0.1', cb));
    expect(noSession).toBeInstanceOf(DtlsError);
    expect((noSession as DtlsError).code).toBe('NO_SESSION');
    expect((noSession as DtlsError).coapCode).toBe('5.03');
    const [tooLarge] = await sendResult((cb) =>
      server.send(Buffer.alloc(20_000), c.port, '127.0.0.1', cb),
    );
    expect((tooLarge as DtlsError).code).toBe('MESSAGE_TOO_LARGE');
    const emitted = once(server, 'error');
    server.send('x', 9, '127.0.0.1');
    expect(((await emitted)[0] as DtlsError).code).toBe('NO_SESSION');
  });

  it('refuses multicast and connect with UNSUPPORTED', () => {
    const s = new DtlsServerSocket({ type: 'udp4', psk: lookup });
    for (const call of [
      () => s.addMembership('224.0.1.187'),
      () => s.setMulticastLoopback(true),
      () => s.connect(1),
      () => s.setBroadcast(true),
    ]) {
      expect(call).toThrow(DtlsError);
    }
    s.close();
  });

  it('validates its options', () => {
    expect(() => new DtlsServerSocket({ type: 'udp4', psk: lookup, retransmitMs: 0 })).toThrow(
      /retransmitMs/,
    );
    expect(
      () =>
        new DtlsServerSocket({
          type: 'udp4',
          psk: lookup,
          cipherSuites: ['TLS_RSA_WITH_NULL' as never],
        }),
    ).toThrow(DtlsError);
  });

  it('carries the identity in rinfo and reports session and session end events', async () => {
    const { server, c } = await connected();
    const message = once(server, 'message');
    c.sendApp('hi');
    const [msg, rinfo] = (await message) as [
      Buffer,
      { identity: string; port: number; size: number; family: string },
    ];
    expect(msg.toString()).toBe('hi');
    expect(rinfo).toMatchObject({
      identity: 'dev1',
      port: c.port,
      size: 2,
      family: 'IPv4',
      address: '127.0.0.1',
    });
    expect(server.sessions().map((s) => s.identity)).toEqual(['dev1']);
    const ended = once(server, 'sessionEnd');
    expect(server.closeSession('127.0.0.1', c.port)).toBe(true);
    expect((await ended)[1]).toBe('closed');
    expect(await c.waitForAlert()).toEqual({ level: 1, description: 0 });
    expect(await until(() => server.stats().sessionsLive === 0)).toBe(true);
  });
});
