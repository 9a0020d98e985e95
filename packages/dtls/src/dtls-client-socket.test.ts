/**
 * DtlsClientSocket against this package's DtlsServerSocket, on loopback: handshakes, both
 * directions, dgram's shapes, refusals, failures (wrong key, silence), and sessions that end
 * and come back (restart, close_notify, a fatal alert, reconnect(), a server that forgot the
 * session without a word).
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { TimeoutError } from '@lwm2m-ts/core';
import { freeUdpPort } from '@lwm2m-ts/testkit';
import { dtls } from 'node-dtls-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CipherSuiteName } from './cipher.js';
import {
  type DtlsClientSessionEndReason,
  DtlsClientSocket,
  type DtlsClientSocketOptions,
} from './dtls-client-socket.js';
import { DtlsServerSocket } from './dtls-server-socket.js';
import { DtlsAlertError, DtlsError } from './errors.js';
import { closeServer, echo, startServer, until } from './test-helpers.js';

const PSK = { identity: 'dev1', key: Buffer.from('secretkey') };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

function closeClient(c: DtlsClientSocket): Promise<void> {
  return new Promise((resolve) => c.close(() => resolve()));
}

function newClient(port: number, options: Partial<DtlsClientSocketOptions> = {}) {
  const c = new DtlsClientSocket({
    type: 'udp4',
    address: '127.0.0.1',
    port,
    psk: PSK,
    ...options,
  });
  cleanups.push(() => closeClient(c));
  return c;
}

async function echoServer(cipherSuites?: CipherSuiteName[]) {
  const { server, port } = await startServer(cipherSuites ? { cipherSuites } : {});
  cleanups.push(() => closeServer(server));
  echo(server);
  const suites: string[] = [];
  server.on('session', (s) => suites.push(s.cipherSuite));
  return { server, port, suites };
}

function nextMessage(c: DtlsClientSocket): Promise<[string, dgram.RemoteInfo]> {
  return new Promise((resolve) => c.once('message', (m, r) => resolve([m.toString(), r])));
}

function nextError(c: DtlsClientSocket): Promise<Error> {
  return new Promise((resolve) => c.once('error', resolve));
}

function sendResult(fn: (cb: (err: Error | null, bytes: number) => void) => void) {
  return new Promise<[Error | null, number]>((resolve) =>
    fn((err, bytes) => resolve([err, bytes])),
  );
}

/**
 * UDP handles, open or closing, counted after a turn of the event loop (a closed handle goes
 * away in the next close phase). Unbound handles count too, so measure after creating a socket.
 */
async function udpHandles(): Promise<number> {
  await new Promise((r) => setTimeout(r, 5));
  return process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
}

/** A UDP socket that never answers, logging when datagrams arrive. */
async function silentPort() {
  const socket = dgram.createSocket('udp4');
  const arrivals: number[] = [];
  socket.on('message', () => arrivals.push(performance.now()));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { port: socket.address().port, arrivals };
}

/** The server socket's inner UDP socket (a protected method, reached for crash tests). */
function innerUdp(server: DtlsServerSocket): dgram.Socket {
  return (server as unknown as { udpSocket(): dgram.Socket }).udpSocket();
}

/** Every node-dtls-client socket the client sockets create from now on. */
function spyNodeDtlsSockets(): dtls.Socket[] {
  const sockets: dtls.Socket[] = [];
  const create = dtls.createSocket;
  vi.spyOn(dtls, 'createSocket').mockImplementation((options, cb) => {
    const s = create(options, cb);
    sockets.push(s);
    return s;
  });
  return sockets;
}

/** A CoAP CON GET /3 (RFC 7252 §3) with message ID `mid` and a 2-byte token. */
function coapGet(mid: number): Buffer {
  return Buffer.from([0x42, 0x01, mid >> 8, mid & 0xff, 0xab, 0xcd, 0xb1, 0x33]);
}

/** Answers every CoAP CON with a piggybacked 2.05 ACK (RFC 7252 §5.2.1) carrying "ok". */
function coapResponder(server: DtlsServerSocket): void {
  server.on('message', (m, rinfo) => {
    const tkl = m[0]! & 0x0f;
    const head = Buffer.from([0x60 | tkl, 0x45, m[2]!, m[3]!]);
    const ack = Buffer.concat([
      head,
      m.subarray(4, 4 + tkl),
      Buffer.from([0xff]),
      Buffer.from('ok'),
    ]);
    server.send(ack, rinfo.port, rinfo.address);
  });
}

/**
 * One CoAP exchange as a CoAP client runs it (RFC 7252 §4.2): the CON goes again every `everyMs`
 * until its ACK arrives, at most `tries` times. Resolves with the number of transmissions.
 */
function coapExchange(c: DtlsClientSocket, mid: number, everyMs: number, tries = 10) {
  return new Promise<number>((resolve, reject) => {
    let sent = 0;
    const transmit = (): void => {
      if (sent === tries) {
        finish();
        reject(new Error(`no ACK for message ${mid} after ${tries} transmissions`));
        return;
      }
      sent++;
      c.send(coapGet(mid));
    };
    const onMessage = (m: Buffer): void => {
      if (m[0] === 0x62 && m[1] === 0x45 && m.readUInt16BE(2) === mid) {
        finish();
        resolve(sent);
      }
    };
    const timer = setInterval(transmit, everyMs);
    const finish = (): void => {
      clearInterval(timer);
      c.off('message', onMessage);
    };
    c.on('message', onMessage);
    transmit();
  });
}

describe('DtlsClientSocket against DtlsServerSocket', () => {
  it('is a dgram.Socket, handshakes with CCM_8 on connect() and carries datagrams both ways', async () => {
    const { server, port, suites } = await echoServer();
    const c = newClient(port);
    expect(c).toBeInstanceOf(dgram.Socket);
    expect(c.state).toBe('idle');
    expect(() => c.address()).toThrow(DtlsError);
    c.connect();
    expect(c.state).toBe('handshaking');
    await once(c, 'connect');
    expect(c.state).toBe('connected');
    expect(suites).toEqual(['TLS_PSK_WITH_AES_128_CCM_8']);
    const local = c.address();
    expect(server.sessions()).toMatchObject([{ identity: 'dev1', port: local.port }]);
    expect(c.remoteAddress()).toEqual({ address: '127.0.0.1', family: 'IPv4', port });

    const reply = nextMessage(c);
    c.send('ping');
    expect(await reply).toEqual([
      'dev1:ping',
      { address: '127.0.0.1', family: 'IPv4', port, size: 9 },
    ]);
    const pushed = nextMessage(c);
    server.send('push', local.port, '127.0.0.1');
    expect((await pushed)[0]).toBe('push');
    expect(c.stats()).toMatchObject({ handshakeAttempts: 1, handshakesCompleted: 1 });
  });

  it('negotiates CBC_SHA256 when the server takes nothing else', async () => {
    const { port, suites } = await echoServer(['TLS_PSK_WITH_AES_128_CBC_SHA256']);
    const c = newClient(port);
    const reply = nextMessage(c);
    c.send('cbc');
    expect((await reply)[0]).toBe('dev1:cbc');
    expect(suites).toEqual(['TLS_PSK_WITH_AES_128_CBC_SHA256']);
  });

  it('handshakes on the first send and sends what waited in order, in every dgram shape', async () => {
    const { server, port } = await echoServer();
    const got: string[] = [];
    server.on('message', (m) => got.push(m.toString()));
    const c = newClient(port);
    let listening = 0;
    c.on('listening', () => listening++);
    const results = await Promise.all([
      sendResult((cb) => c.send(Buffer.from('a'), port, '127.0.0.1', cb)),
      sendResult((cb) => c.send(Buffer.from('xbx'), 1, 1, port, '127.0.0.1', cb)),
      sendResult((cb) => c.send('c', cb)),
      sendResult((cb) => c.send([Buffer.from('d'), 'e'], port, '127.0.0.1', cb)),
      sendResult((cb) => c.send(new Uint8Array([0x66]), 0, 1, port, cb)),
    ]);
    expect(results).toEqual([
      [null, 1],
      [null, 1],
      [null, 1],
      [null, 2],
      [null, 1],
    ]);
    expect(await until(() => got.length === 5)).toBe(true);
    expect(got).toEqual(['a', 'b', 'c', 'de', 'f']);
    expect(listening).toBe(1);
    expect(c.stats().handshakeAttempts).toBe(1);
  });

  it('resolves a host name and takes its address as the destination', async () => {
    const { port } = await echoServer();
    const c = newClient(port, { address: 'localhost' });
    const reply = nextMessage(c);
    // Queued before the name is resolved: checked against it once it is.
    const [wrong, right] = await Promise.all([
      sendResult((cb) => c.send('no', port, '127.0.0.9', cb)),
      sendResult((cb) => c.send('yes', port, '127.0.0.1', cb)),
    ]);
    expect((wrong[0] as DtlsError).code).toBe('WRONG_PEER');
    expect(right).toEqual([null, 3]);
    expect((await reply)[0]).toBe('dev1:yes');
    expect(c.remoteAddress().address).toBe('127.0.0.1');
  });

  it('refuses other destinations, oversized datagrams, and everything after close()', async () => {
    const { port } = await echoServer();
    const c = newClient(port);
    const [otherPort] = await sendResult((cb) => c.send('x', port + 1, '127.0.0.1', cb));
    expect((otherPort as DtlsError).code).toBe('WRONG_PEER');
    expect(otherPort?.message).toMatch(/talks to 127\.0\.0\.1:\d+ only, not to 127\.0\.0\.1:\d+/);
    const [otherHost] = await sendResult((cb) => c.send('x', port, '127.0.0.2', cb));
    expect((otherHost as DtlsError).code).toBe('WRONG_PEER');
    const emitted = nextError(c);
    c.send('x', port, '10.0.0.1');
    expect(((await emitted) as DtlsError).code).toBe('WRONG_PEER');
    expect(() => c.connect(port + 1, '127.0.0.1')).toThrow(/talks to/);
    const [tooLarge] = await sendResult((cb) => c.send(Buffer.alloc(20_000), cb));
    expect((tooLarge as DtlsError).code).toBe('MESSAGE_TOO_LARGE');
    expect(c.stats().handshakeAttempts).toBe(0);
    expect(() => c.addMembership('224.0.1.187')).toThrow(DtlsError);

    await closeClient(c);
    expect(c.state).toBe('closed');
    const [closed] = await sendResult((cb) => c.send('x', cb));
    expect((closed as DtlsError).code).toBe('SOCKET_CLOSED');
    expect(() => c.reconnect()).toThrow(DtlsError);
    expect(() => c.connect()).toThrow(DtlsError);
    await closeClient(c); // a second close() still calls back
  });

  it('binds a local address and port and keeps them across reconnections', async () => {
    const { server, port } = await echoServer();
    const local = await freeUdpPort();
    const c = newClient(port);
    await new Promise<void>((resolve) => c.bind(local, '127.0.0.1', resolve));
    expect(c.address()).toEqual({ address: '127.0.0.1', family: 'IPv4', port: local });
    expect(() => c.bind(0)).toThrow(expect.objectContaining({ code: 'ALREADY_BOUND' }));
    const ends: DtlsClientSessionEndReason[] = [];
    c.on('sessionEnd', (reason) => ends.push(reason));
    c.connect();
    await once(c, 'connect');
    expect(server.sessions().map((s) => s.port)).toEqual([local]);

    const serverEnds: string[] = [];
    server.on('sessionEnd', (_s, reason) => serverEnds.push(reason));
    const reconnected = once(c, 'connect');
    c.reconnect();
    await reconnected;
    const reply = nextMessage(c);
    c.send('again');
    expect((await reply)[0]).toBe('dev1:again');
    expect(server.sessions().map((s) => s.port)).toEqual([local]);
    expect(c.address().port).toBe(local);
    expect(ends).toEqual(['reconnect']);
    expect(serverEnds).toEqual(['close_notify']); // the old session ended cleanly
    expect(server.stats().handshakesCompleted).toBe(2);
    expect(c.stats()).toMatchObject({ handshakeAttempts: 2, reconnects: 1 });
  });

  it('reports a local port in use as an error from bind()', async () => {
    const taken = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => taken.bind(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const c = newClient(5684);
    c.bind(taken.address().port, '127.0.0.1');
    expect(((await nextError(c)) as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
    expect(() => c.address()).toThrow(DtlsError);
  });

  it('moves to another free port when the port bind(0) learnt is taken before the handshake', async () => {
    const { server, port } = await echoServer();
    const c = newClient(port);
    await new Promise<void>((resolve) => c.bind(0, '127.0.0.1', resolve));
    const learnt = c.address().port;
    // Another socket takes the port between bind(0)'s probe and the session's own bind.
    const taken = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => taken.bind(learnt, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const errors: Error[] = [];
    c.on('error', (err) => errors.push(err));
    const reply = nextMessage(c);
    c.send('hello');
    expect((await reply)[0]).toBe('dev1:hello');
    expect(errors).toEqual([]);
    expect(c.address().port).not.toBe(learnt);
    expect(server.sessions().map((s) => s.port)).toEqual([c.address().port]);
    expect(c.stats()).toMatchObject({ rebinds: 1, handshakesCompleted: 1, handshakesFailed: 0 });
  });

  it('fails a wrong key with the server’s bad_record_mac, without retrying, leaving nothing open', async () => {
    const { server, port } = await echoServer();
    const c = newClient(port, { psk: { identity: 'dev1', key: Buffer.from('wrong') } });
    const before = await udpHandles();
    const error = nextError(c);
    const [sendError] = await sendResult((cb) => c.send('x', cb));
    const err = (await error) as DtlsAlertError;
    expect(sendError).toBe(err);
    expect(err).toBeInstanceOf(DtlsAlertError);
    expect(err).toMatchObject({ alert: 20, direction: 'received', coapCode: '4.01' });
    expect(err.message).toMatch(
      /received fatal alert bad_record_mac \(20\): with 127\.0\.0\.1:\d+ as 'dev1': handshake failed \(a wrong PSK\?\)/,
    );
    expect(c.state).toBe('idle');
    expect(c.stats()).toMatchObject({ handshakeAttempts: 1, handshakesFailed: 1 });
    expect(server.stats()).toMatchObject({ handshakesFailed: 1, handshakesCompleted: 0 });
    expect(await udpHandles()).toBe(before);
  });

  it('fails an unknown identity with unknown_psk_identity', async () => {
    const { port } = await echoServer();
    const c = newClient(port, { psk: { identity: 'nobody', key: Buffer.from('x') } });
    c.connect();
    const err = (await nextError(c)) as DtlsAlertError;
    expect(err.alert).toBe(115);
    expect(err.message).toMatch(/does not know identity 'nobody'/);
  });

  it('times out against a silent port within handshakeTimeoutMs, retrying with back-off', async () => {
    const silent = await silentPort();
    const c = newClient(silent.port, { handshakeTimeoutMs: 700, retries: 2 });
    const before = await udpHandles();
    const started = performance.now();
    const error = nextError(c);
    const sent = sendResult((cb) => c.send('x', cb));
    const err = await error;
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toMatch(/not finished within 700 ms \(3 attempts\): no answer/);
    expect((await sent)[0]).toBe(err);
    expect(elapsed).toBeGreaterThanOrEqual(690);
    expect(elapsed).toBeLessThan(1100); // 700 ms of timers, plus slack for a loaded machine
    // Fresh ClientHellos after 1/7 and 3/7 of the time: 100 ms, then 200 ms later.
    expect(silent.arrivals).toHaveLength(3);
    const [a, b, d] = silent.arrivals as [number, number, number];
    expect(b - a).toBeGreaterThan(80);
    expect(d - b).toBeGreaterThan(1.3 * (b - a));
    expect(c.state).toBe('idle');
    expect(await udpHandles()).toBe(before);
  });

  it('restores traffic with reconnect() after a server restart forgot the session', async () => {
    const first = await startServer();
    echo(first.server);
    const c = newClient(first.port);
    let reply = nextMessage(c);
    c.send('one');
    expect((await reply)[0]).toBe('dev1:one');

    await closeServer(first.server);
    const restarted = new DtlsServerSocket({
      type: 'udp4',
      psk: (id) => (id === 'dev1' ? PSK.key : undefined),
    });
    cleanups.push(() => closeServer(restarted));
    echo(restarted);
    await new Promise<void>((resolve) => restarted.bind(first.port, '127.0.0.1', resolve));

    const lost: string[] = [];
    c.on('message', (m) => lost.push(m.toString()));
    c.send('into the void');
    expect(await until(() => restarted.stats().recordsDropped.noSession > 0)).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(lost).toEqual([]);
    c.removeAllListeners('message');

    // What the CoAP layer does after repeated timeouts:
    c.reconnect();
    reply = nextMessage(c);
    c.send('two'); // waits for the new session
    expect((await reply)[0]).toBe('dev1:two');
    expect(restarted.sessions()).toHaveLength(1);
  });

  it('goes idle on the server’s close_notify and handshakes again on the next send', async () => {
    const { server, port } = await echoServer();
    const c = newClient(port);
    c.connect();
    await once(c, 'connect');
    const ended = once(c, 'sessionEnd');
    expect(server.closeSession('127.0.0.1', c.address().port)).toBe(true);
    expect(await ended).toEqual(['close_notify']);
    expect(c.state).toBe('idle');
    const reply = nextMessage(c);
    c.send('back');
    expect((await reply)[0]).toBe('dev1:back');
    expect(server.stats().handshakesCompleted).toBe(2);
  });

  it('reconnects by itself after a fatal alert on an established session', async () => {
    // Neither server at hand sends a fatal alert on an established session, and one cannot be
    // forged from outside (it is encrypted): the next record node-dtls-client decrypts is
    // replaced by a fatal internal_error alert, so the rest of its path and ours run for real.
    // Application data no longer goes through node-dtls-client once connected (the client
    // opens it itself), so the record that does is the server's close_notify.
    const sockets = spyNodeDtlsSockets();
    const { server, port } = await echoServer();
    const c = newClient(port);
    c.connect();
    await once(c, 'connect');
    const recordLayer = (sockets[0] as unknown as { recordLayer: { receive: unknown } })
      .recordLayer;
    recordLayer.receive = () => [{ type: 21, data: Buffer.from([2, 80]) }];

    const ended = once(c, 'sessionEnd');
    const reconnected = once(c, 'connect');
    expect(server.closeSession('127.0.0.1', c.address().port)).toBe(true);
    const [reason, error] = (await ended) as [string, DtlsAlertError];
    expect(reason).toBe('alert');
    expect(error).toMatchObject({ alert: 80, direction: 'received' });
    expect(error.message).toMatch(/internal_error \(80\).*session ended/);
    await reconnected;
    const reply = nextMessage(c);
    c.send('still here');
    expect((await reply)[0]).toBe('dev1:still here');
    expect(sockets).toHaveLength(2);
    expect(c.stats()).toMatchObject({ reconnects: 1, handshakesCompleted: 2 });
  });

  it('sends close_notify on close(); closes at once mid-handshake without an error', async () => {
    const { server, port } = await echoServer();
    const c = newClient(port);
    c.connect();
    await once(c, 'connect');
    const serverEnd = once(server, 'sessionEnd');
    let closes = 0;
    c.on('close', () => closes++);
    await closeClient(c);
    expect((await serverEnd)[1]).toBe('close_notify');
    await new Promise((r) => setTimeout(r, 10));
    expect(closes).toBe(1);

    const silent = await silentPort();
    const d = newClient(silent.port, { handshakeTimeoutMs: 300 });
    const before = await udpHandles();
    const errors: Error[] = [];
    d.on('error', (e) => errors.push(e));
    d.connect();
    expect(await until(() => silent.arrivals.length === 1)).toBe(true);
    const [[closedSend]] = await Promise.all([
      sendResult((cb) => d.send('queued', cb)),
      closeClient(d),
    ]);
    expect((closedSend as DtlsError).code).toBe('SOCKET_CLOSED');
    await new Promise((r) => setTimeout(r, 350));
    expect(errors).toEqual([]);
    expect(await udpHandles()).toBe(before - 1); // d's own handle is gone too
  });

  it.each([
    'TLS_PSK_WITH_AES_128_CCM_8',
    'TLS_PSK_WITH_AES_128_CCM',
    'TLS_PSK_WITH_AES_128_GCM_SHA256',
    'TLS_PSK_WITH_AES_128_CBC_SHA256',
  ] as const)(
    'carries application data itself once connected (%s), numbered in step with node-dtls-client',
    async (suite) => {
      const sockets = spyNodeDtlsSockets();
      const { server, port } = await echoServer([suite]);
      const c = newClient(port);
      c.connect();
      await once(c, 'connect');
      const layer = (sockets[0] as unknown as { recordLayer: { receive: () => unknown } })
        .recordLayer;
      const receive = vi.spyOn(layer, 'receive');
      for (let i = 0; i < 40; i++) {
        const reply = nextMessage(c);
        c.send(`m${i}`.repeat(i));
        expect((await reply)[0]).toBe(`dev1:${`m${i}`.repeat(i)}`);
      }
      // Not one of the 40 replies went through node-dtls-client's record layer…
      expect(receive).not.toHaveBeenCalled();
      // …and its close_notify, numbered after our 40 records, passes the server's replay check.
      const serverEnd = once(server, 'sessionEnd');
      await closeClient(c);
      expect((await serverEnd)[1]).toBe('close_notify');
      expect(server.stats().recordsDropped).toMatchObject({ replay: 0, badMac: 0 });
    },
  );

  it('reconnects by itself when sends go unanswered after a server crash forgot the session', async () => {
    const first = await startServer();
    coapResponder(first.server);
    const c = newClient(first.port, { reconnectWhenUnanswered: { sends: 2, silentMs: 100 } });
    const ends: DtlsClientSessionEndReason[] = [];
    c.on('sessionEnd', (reason) => ends.push(reason));
    // Generous retransmission intervals where one transmission is expected: a loaded CI box
    // may take longer than 60 ms for a handshake.
    expect(await coapExchange(c, 1, 1000)).toBe(1);

    // A crash: nothing more leaves the server, not even close_notify; a new one takes the port.
    const inner = innerUdp(first.server);
    inner.send = ((...args: unknown[]) => {
      const cb = args.at(-1);
      if (typeof cb === 'function') process.nextTick(cb, null, 0);
    }) as typeof inner.send;
    await closeServer(first.server);
    const restarted = new DtlsServerSocket({
      type: 'udp4',
      psk: (id) => (id === 'dev1' ? PSK.key : undefined),
    });
    cleanups.push(() => closeServer(restarted));
    coapResponder(restarted);
    await new Promise<void>((resolve) => restarted.bind(first.port, '127.0.0.1', resolve));
    expect(c.state).toBe('connected'); // the client has heard nothing of it

    // Two transmissions vanish (the new server has no session for them); at the third the
    // client takes the session for forgotten, handshakes again, and that one gets through.
    const transmissions = await coapExchange(c, 2, 60);
    expect(transmissions).toBeGreaterThanOrEqual(3);
    expect(restarted.stats().recordsDropped.noSession).toBeGreaterThanOrEqual(2);
    expect(ends).toEqual(['unanswered']);
    expect(c.stats()).toMatchObject({ reconnects: 1, handshakesCompleted: 2 });
    expect(restarted.sessions()).toMatchObject([{ identity: 'dev1', port: c.address().port }]);
    // Later exchanges go straight through on the new session.
    expect(await coapExchange(c, 3, 1000)).toBe(1);
    expect(await coapExchange(c, 4, 1000)).toBe(1);
    expect(c.stats().reconnects).toBe(1);
  });

  it('does not reconnect while the server answers, nor before silentMs has passed', async () => {
    const { server, port } = await echoServer();
    const c = newClient(port, { reconnectWhenUnanswered: { sends: 2, silentMs: 300 } });
    const replies: string[] = [];
    c.on('message', (m) => replies.push(m.toString()));
    for (let i = 1; i <= 20; i++) {
      c.send('x');
      c.send('y'); // two sends before each answer: the count restarts at every answer
      expect(await until(() => replies.length === 2 * i)).toBe(true);
      await new Promise((r) => setTimeout(r, 20)); // 20 rounds outlast silentMs
    }
    // Unanswered sends in quick succession: more than `sends`, but within silentMs.
    const got: string[] = [];
    server.removeAllListeners('message');
    server.on('message', (m) => got.push(m.toString()));
    for (const m of ['a', 'b', 'c', 'd']) c.send(m);
    expect(await until(() => got.length === 4)).toBe(true);
    expect(c.stats()).toMatchObject({ reconnects: 0, handshakesCompleted: 1 });

    const off = newClient(port, { reconnectWhenUnanswered: false });
    const seen: string[] = [];
    server.on('message', (m, r) => {
      if (r.port === off.address().port) seen.push(m.toString());
    });
    off.send('1');
    await until(() => seen.length === 1);
    await new Promise((r) => setTimeout(r, 20));
    for (const m of ['2', '3', '4', '5']) off.send(m);
    expect(await until(() => seen.length === 5)).toBe(true);
    expect(off.stats().reconnects).toBe(0);
  });

  it('works over IPv6 loopback', async () => {
    const server = new DtlsServerSocket({ type: 'udp6', psk: () => PSK.key });
    cleanups.push(() => closeServer(server));
    echo(server);
    await new Promise<void>((resolve) => server.bind(0, '::1', resolve));
    const c = new DtlsClientSocket({
      type: 'udp6',
      address: '::1',
      port: server.address().port,
      psk: PSK,
    });
    cleanups.push(() => closeClient(c));
    c.bind(0, '::1');
    const reply = nextMessage(c);
    c.send('six', server.address().port, '0:0:0:0:0:0:0:1');
    const [text, rinfo] = await reply;
    expect(text).toBe('dev1:six');
    expect(rinfo.family).toBe('IPv6');
    expect(c.address().address).toBe('::1');
  });

  it('validates its options', () => {
    const base = { type: 'udp4', address: '127.0.0.1', port: 5684, psk: PSK } as const;
    for (const bad of [
      { ...base, port: 0 },
      { ...base, address: '' },
      { ...base, psk: { identity: '', key: PSK.key } },
      { ...base, psk: { identity: 'dév', key: PSK.key } },
      { ...base, psk: { identity: 'dev1', key: new Uint8Array() } },
      { ...base, retries: -1 },
      { ...base, handshakeTimeoutMs: 0 },
      { ...base, cipherSuites: [] },
      { ...base, cipherSuites: ['TLS_RSA_WITH_AES_128_CBC_SHA' as never] },
      { ...base, reconnectWhenUnanswered: { sends: 0 } },
      { ...base, reconnectWhenUnanswered: { sends: 1.5 } },
      { ...base, reconnectWhenUnanswered: { silentMs: -1 } },
    ]) {
      expect(() => new DtlsClientSocket(bad)).toThrow(DtlsError);
    }
  });
});
