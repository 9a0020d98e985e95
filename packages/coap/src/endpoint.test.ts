import dgram from 'node:dgram';
import { ContentFormat, NotFoundError, TimeoutError } from '@lwm2m-ts/core';
import { describe, expect, it } from 'vitest';
import {
  type CoapRequest,
  EndpointClosedError,
  type MalformedReason,
  OptionNumber,
  type Peer,
  PeerResetError,
  RequestAbortedError,
} from './index.js';
import { encodeUint } from './options.js';
import { endpoint, peerOf, RawPeer, sleep, text } from './test-util.js';
import { codeByte, encodeMessage, MessageType, optionValue } from './wire.js';

const GET = 0x01;

function rawGet(
  messageId: number,
  token: string,
  path: string[],
  type: 0 | 1 = MessageType.CON,
): Buffer {
  return encodeMessage({
    type,
    code: GET,
    messageId,
    token: Buffer.from(token, 'hex'),
    options: path.map((p) => ({ number: OptionNumber.URI_PATH, value: Buffer.from(p) })),
  });
}

describe.each([
  ['udp4', '127.0.0.1'],
  ['udp6', '::1'],
] as const)('two endpoints over %s', (type, address) => {
  it('serve and request each other over the same socket pair', async () => {
    const seenByA: CoapRequest[] = [];
    const seenByB: CoapRequest[] = [];
    const a = await endpoint({
      type,
      handler: (req) => {
        seenByA.push(req);
        return { code: '2.05', payload: Buffer.from('from A') };
      },
    });
    const b = await endpoint({
      type,
      handler: (req) => {
        seenByB.push(req);
        return { code: '2.05', payload: Buffer.from('from B') };
      },
    });
    const ra = await b.request(peerOf(a), { method: 'GET', path: '/a' });
    expect(text(ra.payload)).toBe('from A');
    expect(ra.peer).toEqual({ address, port: a.address().port });
    // B's request came from the port B listens on: what LwM2M needs (the server reaches a
    // client at the address it registered from).
    expect(seenByA[0]!.peer).toEqual({ address, port: b.address().port });

    const rb = await a.request(peerOf(b), { method: 'GET', path: '/b' });
    expect(text(rb.payload)).toBe('from B');
    expect(seenByB[0]!.peer).toEqual({ address, port: a.address().port });
  });
});

describe('requests and responses', () => {
  it('carries methods, payloads, content formats, query and Location-Path', async () => {
    const seen: CoapRequest[] = [];
    const server = await endpoint({
      handler: (req) => {
        seen.push(req);
        switch (req.method) {
          case 'POST':
            return { code: '2.01', locationPath: ['rd', 'abc'] };
          case 'PUT':
            return { code: '2.04' };
          case 'DELETE':
            return { code: '2.02' };
          default:
            return {
              code: '2.05',
              payload: Buffer.from('</1/0>,</3/0>'),
              contentFormat: ContentFormat.LINK_FORMAT,
              options: [{ number: OptionNumber.MAX_AGE, value: encodeUint(60) }],
            };
        }
      },
    });
    const client = await endpoint();
    const to = peerOf(server);

    const post = await client.request(to, {
      method: 'POST',
      path: ['rd'],
      query: ['ep=dev1', 'lt=300', 'lwm2m=1.1'],
      payload: Buffer.from('</1/0>'),
      contentFormat: ContentFormat.LINK_FORMAT,
    });
    expect(post.code).toBe('2.01');
    expect(post.locationPath).toEqual(['rd', 'abc']);
    expect(seen[0]).toMatchObject({
      method: 'POST',
      path: ['rd'],
      query: ['ep=dev1', 'lt=300', 'lwm2m=1.1'],
      contentFormat: 40,
      confirmable: true,
    });
    expect(text(seen[0]!.payload)).toBe('</1/0>');

    const put = await client.request(to, {
      method: 'PUT',
      path: '/3/0/14',
      payload: Buffer.from('+02'),
      contentFormat: ContentFormat.TEXT,
    });
    expect(put.code).toBe('2.04');
    expect(seen[1]).toMatchObject({ method: 'PUT', path: ['3', '0', '14'], contentFormat: 0 });
    expect(text(seen[1]!.payload)).toBe('+02');

    const get = await client.request(to, {
      method: 'GET',
      path: '/3/0',
      accept: ContentFormat.SENML_CBOR,
    });
    expect(get.code).toBe('2.05');
    expect(get.contentFormat).toBe(40);
    expect(text(get.payload)).toBe('</1/0>,</3/0>');
    expect(get.options.find((o) => o.number === OptionNumber.MAX_AGE)?.value).toEqual(
      encodeUint(60),
    );
    expect(seen[2]!.accept).toBe(112);

    expect((await client.request(to, { method: 'DELETE', path: '/rd/abc' })).code).toBe('2.02');
    expect(seen[3]!.method).toBe('DELETE');

    // A host name is looked up once; routing then uses the address.
    const byName = await client.request({ address: 'localhost', port: to.port }, { method: 'GET' });
    expect(byName.code).toBe('2.05');
  });

  it('puts the identity a DTLS socket reports with each datagram on the request (rinfo.identity)', async () => {
    const socket = dgram.createSocket('udp4');
    // Stands in for a DTLS socket (issue 6): it adds the PSK identity to the remote info.
    const emit = socket.emit.bind(socket) as (event: string, ...args: unknown[]) => boolean;
    socket.emit = ((event: string, ...args: unknown[]) => {
      if (event === 'message') args[1] = { ...(args[1] as object), identity: 'dev-psk-1' };
      return emit(event, ...args);
    }) as typeof socket.emit;
    const peers: CoapRequest['peer'][] = [];
    const server = await endpoint({
      socket,
      closeSocket: true,
      handler: (req) => {
        peers.push(req.peer);
        return { code: '2.05' };
      },
    });
    const client = await endpoint();
    await client.request(peerOf(server), { method: 'GET' });
    expect(peers[0]).toEqual({
      address: '127.0.0.1',
      port: client.address().port,
      identity: 'dev-psk-1',
    });
  });

  it('uses a socket it is given and leaves it open on close', async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    const server = await endpoint({ socket, handler: () => ({ code: '2.05' }) });
    expect(server.address().port).toBe(socket.address().port);
    const client = await endpoint();
    expect((await client.request(peerOf(server), { method: 'GET' })).code).toBe('2.05');
    await server.close();
    expect(socket.address().port).toBeGreaterThan(0); // still bound
    await new Promise<void>((r) => socket.close(() => r()));
  });

  it('answers a thrown NotFoundError with 4.04 and its message as diagnostic payload', async () => {
    const server = await endpoint({
      handler: () => {
        throw new NotFoundError('no object 77');
      },
    });
    const client = await endpoint();
    const res = await client.request(peerOf(server), { method: 'GET', path: '/77' });
    expect(res.code).toBe('4.04');
    expect(text(res.payload)).toBe('no object 77');
    expect(res.contentFormat).toBeUndefined();
  });

  it('answers 4.04 without a handler and 5.00 (no details) for a handler bug', async () => {
    const server = await endpoint();
    const client = await endpoint();
    expect((await client.request(peerOf(server), { method: 'GET', path: '/x' })).code).toBe('4.04');
    const warnings: string[] = [];
    server.setHandler(async () => {
      throw new Error('secret internals');
    });
    const bad = await endpoint({
      handler: () => {
        throw new TypeError('boom');
      },
      logger: { warn: (_o, m) => warnings.push(m) },
    });
    const res = await client.request(peerOf(server), { method: 'GET', path: '/x' });
    expect(res.code).toBe('5.00');
    expect(res.payload.length).toBe(0);
    expect((await client.request(peerOf(bad), { method: 'GET' })).code).toBe('5.00');
    expect(warnings).toContain('coap: request handler failed');
  });

  it('sends and serves NON requests', async () => {
    const seen: boolean[] = [];
    const server = await endpoint({
      handler: (req) => {
        seen.push(req.confirmable);
        return { code: '2.05', payload: Buffer.from('non') };
      },
    });
    const client = await endpoint();
    const res = await client.request(peerOf(server), {
      method: 'GET',
      path: '/n',
      confirmable: false,
    });
    expect(text(res.payload)).toBe('non');
    expect(seen).toEqual([false]);

    // The raw view: a NON request gets a NON response with its own message id and our token.
    const raw = await RawPeer.create();
    raw.send(rawGet(0x4242, '0102', ['n'], MessageType.NON), peerOf(server));
    const r = await raw.next();
    expect(r.msg.type).toBe(MessageType.NON);
    expect(r.msg.token.toString('hex')).toBe('0102');
  });

  it('answers a slow handler with an empty ACK, then a separate CON response', async () => {
    const server = await endpoint({
      piggybackTimeout: 50,
      handler: async () => {
        await sleep(200);
        return { code: '2.05', payload: Buffer.from('late') };
      },
    });
    const raw = await RawPeer.create();
    raw.send(rawGet(0x1001, 'aabb', ['slow']), peerOf(server));
    const ack = await raw.next();
    expect(ack.msg).toMatchObject({ type: MessageType.ACK, code: 0, messageId: 0x1001 });
    const res = await raw.next((r) => r.msg.code !== 0);
    expect(res.msg.type).toBe(MessageType.CON);
    expect(res.msg.token.toString('hex')).toBe('aabb');
    expect(res.msg.messageId).not.toBe(0x1001);
    expect(res.msg.payload.toString()).toBe('late');
    raw.send(
      encodeMessage({ type: MessageType.ACK, code: 0, messageId: res.msg.messageId }),
      peerOf(server),
    );

    // And our own client copes with a separate response.
    const client = await endpoint();
    const viaClient = await client.request(peerOf(server), { method: 'GET', path: '/slow' });
    expect(text(viaClient.payload)).toBe('late');
  });
});

describe('message layer', () => {
  it('runs the handler once for a duplicate CON and answers both copies the same', async () => {
    let calls = 0;
    const server = await endpoint({
      handler: () => {
        calls++;
        return { code: '2.05', payload: Buffer.from(`call ${calls}`) };
      },
    });
    const raw = await RawPeer.create();
    const datagram = rawGet(0x2222, 'cafe', ['dup']);
    raw.send(datagram, peerOf(server));
    const first = await raw.next();
    raw.send(datagram, peerOf(server));
    const second = await raw.next(() => true, 2000, 1);
    expect(calls).toBe(1);
    expect(second.raw).toEqual(first.raw);
    expect(first.msg.payload.toString()).toBe('call 1');
    expect(server.stats().duplicates).toBe(1);
  });

  it('keeps only the bytes of a reply for duplicates, not what node-coap hangs on it', async () => {
    // node-coap's server attaches its retransmission helper to the Buffer it sends (`sender`,
    // holding the response, the request and their streams): kept for EXCHANGE_LIFETIME per
    // request, that was ~5 KB of heap per recent exchange under load.
    const server = await endpoint({ handler: () => ({ code: '2.05', payload: Buffer.from('v') }) });
    const raw = await RawPeer.create();
    const datagram = rawGet(0x2424, 'f00d', ['kept']);
    raw.send(datagram, peerOf(server));
    const first = await raw.next();
    const dedup = (
      server as unknown as {
        dedup: { get(address: string, port: number, mid: number): { reply?: Buffer } };
      }
    ).dedup;
    const kept = dedup.get('127.0.0.1', raw.port, 0x2424)?.reply;
    expect(kept).toBeDefined();
    expect(kept).toEqual(first.raw);
    expect(Object.keys(kept as object).filter((k) => !/^\d+$/.test(k))).toEqual([]);
    raw.send(datagram, peerOf(server));
    const second = await raw.next(() => true, 2000, 1);
    expect(second.raw).toEqual(first.raw);
  });

  it('runs a slow handler once when the duplicate comes while it runs', async () => {
    let calls = 0;
    const server = await endpoint({
      handler: async () => {
        calls++;
        await sleep(100);
        return { code: '2.05' };
      },
    });
    const raw = await RawPeer.create();
    const datagram = rawGet(0x2323, 'beef', ['dup']);
    raw.send(datagram, peerOf(server));
    await sleep(20);
    raw.send(datagram, peerOf(server));
    await raw.next((r) => r.msg.code === codeByte('2.05'));
    raw.send(datagram, peerOf(server));
    await raw.next(() => true, 2000, 1);
    expect(calls).toBe(1);
  });

  it('retransmits a CON until acknowledged (ACK_TIMEOUT 0.1 s)', async () => {
    const raw = await RawPeer.create();
    const copies: number[] = [];
    raw.onMessage = ({ msg, rinfo }) => {
      copies.push(msg.messageId);
      if (copies.length < 3) return; // lose the first two copies
      raw.send(
        encodeMessage({
          type: MessageType.ACK,
          code: codeByte('2.05'),
          messageId: msg.messageId,
          token: msg.token,
          payload: Buffer.from('third time'),
        }),
        rinfo,
      );
    };
    const client = await endpoint({ ackTimeout: 0.1, ackRandomFactor: 1.5, maxRetransmit: 4 });
    const started = Date.now();
    const res = await client.request(
      { address: '127.0.0.1', port: raw.port },
      { method: 'GET', path: '/r' },
    );
    expect(text(res.payload)).toBe('third time');
    expect(copies.length).toBe(3);
    expect(new Set(copies).size).toBe(1); // the same message id each time
    // 0.1–0.15 s, then twice that: at least 0.3 s, well under the default 2 s timer.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('gives up with TimeoutError after MAX_TRANSMIT_WAIT without an ACK', async () => {
    const raw = await RawPeer.create();
    const client = await endpoint({ ackTimeout: 0.05, ackRandomFactor: 1, maxRetransmit: 2 });
    const started = Date.now();
    const err = await client
      .request({ address: '127.0.0.1', port: raw.port }, { method: 'GET', timeout: 5000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).coapCode).toBe('5.04');
    expect(raw.received.length).toBe(3); // first + MAX_RETRANSMIT copies
    // MAX_TRANSMIT_WAIT = 0.05 × (2^3 − 1) = 0.35 s
    expect(Date.now() - started).toBeGreaterThanOrEqual(340);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('rejects with TimeoutError when the overall timeout passes', async () => {
    const raw = await RawPeer.create();
    const client = await endpoint();
    await expect(
      client.request({ address: '127.0.0.1', port: raw.port }, { method: 'GET', timeout: 200 }),
    ).rejects.toBeInstanceOf(TimeoutError);
  });

  it('rejects with PeerResetError on RST, and RequestAbortedError on abort', async () => {
    const raw = await RawPeer.create();
    raw.onMessage = ({ msg, rinfo }) => {
      if (
        msg.token.toString('hex') !== '' &&
        text(optionValue(msg, OptionNumber.URI_PATH) ?? Buffer.alloc(0)) === 'rst'
      ) {
        raw.send(
          encodeMessage({ type: MessageType.RST, code: 0, messageId: msg.messageId }),
          rinfo,
        );
      }
    };
    const client = await endpoint();
    const to = { address: '127.0.0.1', port: raw.port };
    await expect(client.request(to, { method: 'GET', path: '/rst' })).rejects.toBeInstanceOf(
      PeerResetError,
    );
    const ac = new AbortController();
    const p = client.request(to, { method: 'GET', path: '/quiet', signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(RequestAbortedError);
  });

  it('rejects pending requests when closed', async () => {
    const raw = await RawPeer.create();
    const client = await endpoint();
    const p = client.request({ address: '127.0.0.1', port: raw.port }, { method: 'GET' });
    await raw.next();
    await client.close();
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EndpointClosedError);
    expect((err as EndpointClosedError).coapCode).toBe('5.03');
    await expect(
      client.request({ address: '127.0.0.1', port: raw.port }, { method: 'GET' }),
    ).rejects.toBeInstanceOf(EndpointClosedError);
  });

  it('rejects malformed datagrams (RST for a CON), answers pings, 4.02 and 4.05, and keeps serving', async () => {
    const malformed: [Peer, MalformedReason][] = [];
    const server = await endpoint({
      handler: () => ({ code: '2.05', payload: Buffer.from('ok') }),
    });
    server.on('malformed', (peer, reason) => malformed.push([peer, reason]));
    const raw = await RawPeer.create();
    const to = peerOf(server);

    raw.send(Buffer.from('40010abcf0', 'hex'), to); // CON, option delta 15
    expect((await raw.next()).msg).toMatchObject({ type: MessageType.RST, messageId: 0x0abc });
    expect(malformed[0]![1]).toBe('bad-option-delta');
    expect(malformed[0]![0].port).toBe(raw.port);

    raw.send(Buffer.from('5001'), to); // NON, truncated: dropped silently
    raw.send(Buffer.from('40000777', 'hex'), to); // empty CON: ping
    expect((await raw.next((r) => r.msg.messageId === 0x0777)).msg.type).toBe(MessageType.RST);

    raw.send(
      encodeMessage({
        type: MessageType.CON,
        code: GET,
        messageId: 0x0901,
        token: Buffer.of(9),
        options: [{ number: 9, value: Buffer.alloc(0) }],
      }),
      to,
    );
    const badOption = await raw.next((r) => r.msg.messageId === 0x0901);
    expect(badOption.msg).toMatchObject({ type: MessageType.ACK, code: codeByte('4.02') });

    raw.send(
      encodeMessage({ type: MessageType.CON, code: 0x0a, messageId: 0x0902, token: Buffer.of(1) }),
      to,
    );
    expect((await raw.next((r) => r.msg.messageId === 0x0902)).msg.code).toBe(codeByte('4.05'));

    raw.send(rawGet(0x0903, '07', ['ok']), to);
    expect((await raw.next((r) => r.msg.messageId === 0x0903)).msg.payload.toString()).toBe('ok');
    expect(server.stats()).toMatchObject({ malformed: 2, pings: 1, badOptions: 1 });
  });

  it('answers a response with an unknown token with RST', async () => {
    const client = await endpoint();
    const raw = await RawPeer.create();
    raw.send(
      encodeMessage({
        type: MessageType.CON,
        code: codeByte('2.05'),
        messageId: 0x3131,
        token: Buffer.of(1, 2, 3),
      }),
      peerOf(client),
    );
    expect((await raw.next()).msg).toMatchObject({ type: MessageType.RST, messageId: 0x3131 });
  });

  it('keeps per-endpoint timing apart from other endpoints', async () => {
    const raw = await RawPeer.create();
    const slow = await endpoint({ ackTimeout: 5 });
    const fast = await endpoint({ ackTimeout: 0.05, ackRandomFactor: 1, maxRetransmit: 1 });
    const to = { address: '127.0.0.1', port: raw.port };
    const slowRequest = slow
      .request(to, { method: 'GET', path: '/slow', timeout: 400 })
      .catch(() => 'timeout');
    await expect(
      fast.request(to, { method: 'GET', path: '/fast', timeout: 5000 }),
    ).rejects.toBeInstanceOf(TimeoutError);
    await slowRequest;
    const paths = raw.received.map((r) => text(optionValue(r.msg, OptionNumber.URI_PATH)!));
    expect(paths.filter((p) => p === 'fast').length).toBe(2);
    expect(paths.filter((p) => p === 'slow').length).toBe(1); // first retransmission due after 5 s
  });
});
