import { CoapEndpoint, type RequestHandler } from '@lwm2m-ts/coap';
import { DtlsClientSocket } from '@lwm2m-ts/dtls';
import { afterEach, describe, expect, it } from 'vitest';
import { boundAddresses, listenCoap, listenDtls } from './transports.js';

const open: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((o) => o.close()));
});

const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

function answer(text: string): RequestHandler {
  return (req) => ({
    code: '2.05',
    payload: Buffer.from(`${text} ${req.path.join('/')} ${req.peer.identity ?? '-'}`),
  });
}

async function client(socket?: DtlsClientSocket): Promise<CoapEndpoint> {
  const c = new CoapEndpoint({
    address: '127.0.0.1',
    ...(socket && { socket, closeSocket: true }),
  });
  open.push(c);
  await c.listen();
  return c;
}

function dtlsSocket(port: number, key: Uint8Array) {
  return new DtlsClientSocket({
    type: 'udp4',
    address: '127.0.0.1',
    port,
    psk: { identity: 'dev-1', key },
    handshakeTimeoutMs: 3000,
  });
}

describe('listenCoap', () => {
  it('listens where asked (all interfaces by default) and serves the handler', async () => {
    const coap = await listenCoap(
      { address: '127.0.0.1', port: 0 },
      { defaultPort: 1, handler: answer('udp') },
    );
    open.push(coap);
    const bound = boundAddresses({ coap, dtls: undefined });
    expect(bound).toEqual({ coap: { address: '127.0.0.1', port: expect.any(Number) } });
    const c = await client();
    const res = await c.request(bound.coap!, { method: 'GET', path: '/3/0' });
    expect(res.code).toBe('2.05');
    expect(Buffer.from(res.payload).toString()).toBe('udp 3/0 -');

    const wild = await listenCoap(undefined, { defaultPort: 0, handler: answer('x') });
    open.push(wild);
    expect(wild.address().address).toBe('0.0.0.0');
    expect(boundAddresses({ coap: undefined, dtls: undefined })).toEqual({});
  });

  it('rejects when the port is taken', async () => {
    const first = await listenCoap(
      { address: '127.0.0.1', port: 0 },
      { defaultPort: 0, handler: answer('a') },
    );
    open.push(first);
    const { port } = first.address();
    await expect(
      listenCoap({ address: '127.0.0.1' }, { defaultPort: port, handler: answer('b') }),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('recvBufferSize', () => {
  const bufferOf = (e: CoapEndpoint) =>
    (e as unknown as { socket: { getRecvBufferSize(): number } }).socket.getRecvBufferSize();

  it('sizes the receive buffer of both sockets (bursts of registrations are not dropped)', async () => {
    const coap = await listenCoap(
      { address: '127.0.0.1', port: 0, recvBufferSize: 262_144 },
      { defaultPort: 0, handler: answer('udp') },
    );
    open.push(coap);
    // Linux doubles the value (capped at 2 × net.core.rmem_max, never below the default).
    expect(bufferOf(coap)).toBeGreaterThanOrEqual(262_144);
    const c = await client();
    const res = await c.request(boundAddresses({ coap, dtls: undefined }).coap!, {
      method: 'GET',
      path: '/x',
    });
    expect(res.code).toBe('2.05');

    const dtls = await listenDtls(
      { address: '127.0.0.1', port: 0, recvBufferSize: 262_144 },
      {
        defaultPort: 0,
        handler: answer('dtls'),
        psk: () => KEY,
        onHandshakeError: () => {},
      },
    );
    open.push(dtls);
    expect(bufferOf(dtls)).toBeGreaterThanOrEqual(262_144);
  });

  it('refuses a size that is not a whole number of bytes', async () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      await expect(
        listenCoap(
          { address: '127.0.0.1', port: 0, recvBufferSize: bad },
          {
            defaultPort: 0,
            handler: answer('x'),
          },
        ),
      ).rejects.toThrow(RangeError);
    }
  });
});

describe('listenDtls', () => {
  it('serves PSK sessions with the identity on each request and reports failed handshakes', async () => {
    const failures: string[] = [];
    const dtls = await listenDtls(
      { address: '127.0.0.1', port: 0, identityHint: 'hint', maxSessions: 10 },
      {
        defaultPort: 1,
        handler: answer('dtls'),
        psk: (identity) => (identity === 'dev-1' ? KEY : undefined),
        onHandshakeError: (peer, message) => failures.push(`${peer.address} ${message}`),
        coapOptions: { ackTimeout: 1, maxRetransmit: 1 },
      },
    );
    open.push(dtls);
    const { dtls: bound } = boundAddresses({ coap: undefined, dtls });
    const good = await client(dtlsSocket(bound!.port, KEY));
    const res = await good.request(bound!, { method: 'GET', path: '/bs' });
    expect(Buffer.from(res.payload).toString()).toBe('dtls bs dev-1');
    expect(failures).toEqual([]);

    const bad = await client(dtlsSocket(bound!.port, Buffer.from('not the key')));
    await expect(
      bad.request(bound!, { method: 'GET', path: '/bs', timeout: 4000 }),
    ).rejects.toThrow();
    await expect.poll(() => failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^127\.0\.0\.1 DTLS handshake failed: /);
  });
});
