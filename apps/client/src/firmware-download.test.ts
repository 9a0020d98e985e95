import dgram from 'node:dgram';
import { CoapEndpoint, type CoapRequest, type CoapResponse } from '@lwm2m-ts/coap';
import { DtlsServerSocket } from '@lwm2m-ts/dtls';
import { describe, expect, it, type TestContext } from 'vitest';
import {
  downloadPackage,
  FirmwareUpdateError,
  parsePackageUri,
  UpdateResult,
} from './firmware-download.js';

type Scope = Pick<TestContext, 'onTestFinished'>;

function image(size: number, seed = 1): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

/** A CoAP endpoint on loopback serving `body` at /fw/image (others: 4.04), closed after the test. */
async function packageServer(
  t: Scope,
  body: Uint8Array,
  options: { socket?: dgram.Socket; handler?: (req: CoapRequest) => Promise<CoapResponse> } = {},
) {
  const requests: CoapRequest[] = [];
  const ep = new CoapEndpoint({
    address: '127.0.0.1',
    blockSize: 512,
    ...(options.socket !== undefined ? { socket: options.socket, closeSocket: true } : {}),
    handler: async (req) => {
      requests.push(req);
      if (options.handler !== undefined) return options.handler(req);
      if (req.method === 'GET' && req.path.join('/') === 'fw/image') {
        return { code: '2.05', payload: body, contentFormat: 42 };
      }
      return { code: '4.04' };
    },
  });
  t.onTestFinished(() => ep.close());
  const { port } = await ep.listen();
  return { ep, port, requests };
}

/** A bound UDP socket that never answers. */
async function silentPort(t: Scope): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  t.onTestFinished(() => new Promise<void>((r) => s.close(() => r())));
  return s.address().port;
}

async function failure(p: Promise<unknown>): Promise<FirmwareUpdateError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FirmwareUpdateError);
  return err as FirmwareUpdateError;
}

/** UDP handles open after a turn of the event loop (closed ones go in the next close phase). */
async function udpHandles(): Promise<number> {
  await new Promise((r) => setTimeout(r, 10));
  return process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
}

describe('parsePackageUri (RFC 7252 §6.4)', () => {
  it('takes coap and coaps URIs apart, with default ports and decoded segments', () => {
    expect(parsePackageUri('coap://127.0.0.1/fw/a%20b.bin?v=1&x=%26')).toEqual({
      scheme: 'coap',
      host: '127.0.0.1',
      port: 5683,
      path: ['fw', 'a b.bin'],
      query: ['v=1', 'x=&'],
    });
    expect(parsePackageUri('COAPS://[::1]:7000')).toEqual({
      scheme: 'coaps',
      host: '::1',
      port: 7000,
      path: [],
      query: [],
    });
    expect(parsePackageUri('coaps://example.org/').port).toBe(5684);
  });

  it.each([
    ['http://example.org/fw.bin'],
    ['https://example.org/fw.bin'],
    ['coap+tcp://example.org/fw.bin'],
    ['ftp://example.org/fw.bin'],
  ])('answers 9 (unsupported protocol) for %s', (uri) => {
    let err: unknown;
    try {
      parsePackageUri(uri);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FirmwareUpdateError);
    expect((err as FirmwareUpdateError).result).toBe(UpdateResult.UnsupportedProtocol);
  });

  it.each([
    ['garbage'],
    ['/fw/image'],
    ['coap://'],
    ['coap:///fw'],
    ['coap://host/fw#frag'],
    ['coap://user@host/fw'],
    ['coap://host/%zz'],
    ['coap://bad host/fw'],
    ['coap://host:99999/fw'],
  ])('answers 7 (invalid URI) for %s', (uri) => {
    let err: unknown;
    try {
      parsePackageUri(uri);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FirmwareUpdateError);
    expect((err as FirmwareUpdateError).result).toBe(UpdateResult.InvalidUri);
  });
});

describe('downloadPackage', () => {
  it('downloads a 10 kB package block-wise over coap:// and closes its socket', async (t) => {
    const body = image(10_000);
    const srv = await packageServer(t, body);
    const before = await udpHandles();
    const got = await downloadPackage(`coap://127.0.0.1:${srv.port}/fw/image`, {
      localAddress: '127.0.0.1',
      timeoutMs: 5000,
    });
    expect(Buffer.from(got).equals(Buffer.from(body))).toBe(true);
    // 512-byte blocks: 20 GETs (the handler runs once; the endpoint serves the blocks, RFC 7959 Block2).
    expect(srv.ep.stats().received).toBe(20);
    expect(srv.requests.map((r) => r.path.join('/'))).toEqual(['fw/image']);
    expect(await udpHandles()).toBeLessThanOrEqual(before);
  });

  it('sends the query as Uri-Query options', async (t) => {
    const srv = await packageServer(t, image(10), {
      handler: async (req) => ({ code: '2.05', payload: Buffer.from(req.query.join('|')) }),
    });
    const got = await downloadPackage(`coap://127.0.0.1:${srv.port}/fw?a=1&b=x%20y`, {
      localAddress: '127.0.0.1',
    });
    expect(Buffer.from(got).toString()).toBe('a=1|b=x y');
  });

  it('maps 4.04 to 7 (invalid URI) and 5.00 to 4 (connection lost)', async (t) => {
    const srv = await packageServer(t, image(10), {
      handler: async (req) => ({ code: req.path[0] === 'boom' ? '5.00' : '4.04' }),
    });
    const notFound = await failure(
      downloadPackage(`coap://127.0.0.1:${srv.port}/nothing`, { localAddress: '127.0.0.1' }),
    );
    expect(notFound.result).toBe(UpdateResult.InvalidUri);
    expect(notFound.message).toMatch(/4\.04/);
    const broken = await failure(
      downloadPackage(`coap://127.0.0.1:${srv.port}/boom`, { localAddress: '127.0.0.1' }),
    );
    expect(broken.result).toBe(UpdateResult.ConnectionLost);
  });

  it('fails with 4 (connection lost) when nobody answers in time', async (t) => {
    const port = await silentPort(t);
    const before = await udpHandles();
    const started = Date.now();
    const err = await failure(
      downloadPackage(`coap://127.0.0.1:${port}/fw`, { localAddress: '127.0.0.1', timeoutMs: 300 }),
    );
    expect(err.result).toBe(UpdateResult.ConnectionLost);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await udpHandles()).toBeLessThanOrEqual(before);
  });

  it('retransmits with the CoAP parameters it is given (the client passes its own)', async (t) => {
    const port = await silentPort(t);
    const started = Date.now();
    const err = await failure(
      downloadPackage(`coap://127.0.0.1:${port}/fw`, {
        localAddress: '127.0.0.1',
        timeoutMs: 20_000,
        coap: { ackTimeout: 0.05, ackRandomFactor: 1, maxRetransmit: 2 },
      }),
    );
    expect(err.result).toBe(UpdateResult.ConnectionLost);
    // 50 + 100 + 200 ms of retransmission, not RFC 7252's 2 s timer up to the 20 s limit.
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('fails with 2 (not enough flash) past maxSize, in the middle of the transfer', async (t) => {
    const srv = await packageServer(t, image(10_000));
    const err = await failure(
      downloadPackage(`coap://127.0.0.1:${srv.port}/fw/image`, {
        localAddress: '127.0.0.1',
        maxSize: 4000,
      }),
    );
    expect(err.result).toBe(UpdateResult.NotEnoughFlash);
    // It stopped once past 4000 bytes, not after all 20 blocks.
    expect(srv.ep.stats().received).toBeLessThan(20);
  });

  it('fails with 10 (cancelled) when aborted, and closes its socket', async (t) => {
    let open = (): void => {};
    const gate = { promise: new Promise<void>((r) => (open = r)) };
    t.onTestFinished(() => open());
    const srv = await packageServer(t, image(10), {
      handler: async () => {
        await gate.promise;
        return { code: '2.05', payload: image(10) };
      },
    });
    const before = await udpHandles();
    const controller = new AbortController();
    const p = downloadPackage(`coap://127.0.0.1:${srv.port}/fw`, {
      localAddress: '127.0.0.1',
      signal: controller.signal,
    });
    await expect.poll(() => srv.requests.length).toBe(1);
    controller.abort();
    const err = await failure(p);
    expect(err.result).toBe(UpdateResult.Cancelled);
    expect(await udpHandles()).toBeLessThanOrEqual(before);
  });

  it('rejects unsupported and invalid URIs before opening a socket', async () => {
    const before = await udpHandles();
    expect((await failure(downloadPackage('http://127.0.0.1/fw'))).result).toBe(9);
    expect((await failure(downloadPackage('not a uri'))).result).toBe(7);
    expect((await failure(downloadPackage('coaps://127.0.0.1/fw'))).result).toBe(7); // no PSK
    expect(await udpHandles()).toBe(before);
  });

  describe('coaps:// (DTLS PSK)', () => {
    async function dtlsPackageServer(t: Scope, body: Uint8Array) {
      const socket = new DtlsServerSocket({
        type: 'udp4',
        psk: async (identity) => (identity === 'fw-client' ? Buffer.from('fw-secret') : undefined),
      });
      return packageServer(t, body, { socket });
    }

    it('downloads block-wise over DTLS with the PSK given', async (t) => {
      const body = image(6000, 3);
      const srv = await dtlsPackageServer(t, body);
      const before = await udpHandles();
      const got = await downloadPackage(`coaps://127.0.0.1:${srv.port}/fw/image`, {
        localAddress: '127.0.0.1',
        psk: { identity: 'fw-client', key: Buffer.from('fw-secret') },
        timeoutMs: 10_000,
      });
      expect(Buffer.from(got).equals(Buffer.from(body))).toBe(true);
      expect(srv.ep.stats().received).toBe(12); // 512-byte blocks
      expect(srv.requests.map((r) => r.peer.identity)).toEqual(['fw-client']);
      expect(await udpHandles()).toBeLessThanOrEqual(before);
    });

    it('fails with 4 (connection lost) when the handshake fails', async (t) => {
      const srv = await dtlsPackageServer(t, image(100));
      const err = await failure(
        downloadPackage(`coaps://127.0.0.1:${srv.port}/fw/image`, {
          localAddress: '127.0.0.1',
          psk: { identity: 'fw-client', key: Buffer.from('wrong-key') },
          timeoutMs: 1500,
        }),
      );
      expect(err.result).toBe(UpdateResult.ConnectionLost);
      expect(srv.requests).toHaveLength(0);
    });
  });
});
