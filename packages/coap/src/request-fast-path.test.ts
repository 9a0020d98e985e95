import { ContentFormat } from '@lwm2m-ts/core';
import { describe, expect, it } from 'vitest';
import type { CoapEndpoint, CoapResponse } from './index.js';
import { decodeBlock, encodeBlock, encodeUint, OptionNumber } from './options.js';
import { endpoint, peerOf, RawPeer, sleep, text } from './test-util.js';
import {
  codeByte,
  encodeMessage,
  MessageType,
  optionValue,
  optionValues,
  parseMessage,
} from './wire.js';

const GET = 0x01;
const POST = 0x02;

function request(opts: {
  messageId: number;
  token?: string;
  type?: 0 | 1;
  code?: number;
  path?: string[];
  options?: { number: number; value: Buffer }[];
  payload?: Buffer;
}): Buffer {
  return encodeMessage({
    type: opts.type ?? MessageType.CON,
    code: opts.code ?? GET,
    messageId: opts.messageId,
    token: Buffer.from(opts.token ?? 'f00d', 'hex'),
    options: [
      ...(opts.path ?? ['x']).map((p) => ({
        number: OptionNumber.URI_PATH,
        value: Buffer.from(p),
      })),
      ...(opts.options ?? []),
    ],
    ...(opts.payload !== undefined && { payload: opts.payload }),
  });
}

/** Whether the endpoint has built node-coap's server (the fast path never needs it). */
function usedNodeCoapServer(ep: CoapEndpoint): boolean {
  return (ep as unknown as { nodeServer?: unknown }).nodeServer !== undefined;
}

describe('the fast path for requests', () => {
  it('answers a CON piggybacked, with every response option, without node-coap', async () => {
    const server = await endpoint({
      handler: (req) =>
        req.method === 'POST'
          ? { code: '2.01', locationPath: ['rd', 'a1b2'] }
          : {
              code: '2.05',
              payload: Buffer.from('</3/0>'),
              contentFormat: ContentFormat.LINK_FORMAT,
              options: [
                { number: OptionNumber.MAX_AGE, value: encodeUint(60) },
                { number: OptionNumber.ETAG, value: Buffer.of(1, 2) },
                { number: OptionNumber.ETAG, value: Buffer.of(3) },
              ],
            },
    });
    const raw = await RawPeer.create();
    raw.send(request({ messageId: 0x0101, token: 'a1' }), peerOf(server));
    const get = (await raw.next()).msg;
    expect(get).toMatchObject({
      type: MessageType.ACK,
      code: codeByte('2.05'),
      messageId: 0x0101,
    });
    expect(get.token.toString('hex')).toBe('a1');
    expect(get.numbers).toEqual([4, 4, 12, 14]);
    expect(optionValues(get, OptionNumber.ETAG)).toEqual([Buffer.of(1, 2), Buffer.of(3)]);
    expect(optionValue(get, OptionNumber.CONTENT_FORMAT)).toEqual(encodeUint(40));
    expect(get.payload.toString()).toBe('</3/0>');

    raw.send(request({ messageId: 0x0102, code: POST, path: ['rd'] }), peerOf(server));
    const post = (await raw.next((r) => r.msg.messageId === 0x0102)).msg;
    expect(post.code).toBe(codeByte('2.01'));
    expect(optionValues(post, OptionNumber.LOCATION_PATH).map(text)).toEqual(['rd', 'a1b2']);
    expect(usedNodeCoapServer(server)).toBe(false);
  });

  it('lets response options replace Content-Format and Location-Path, as node-coap did', async () => {
    const server = await endpoint({
      handler: () => ({
        code: '2.05',
        contentFormat: 0,
        locationPath: ['a'],
        options: [
          { number: OptionNumber.CONTENT_FORMAT, value: encodeUint(60) },
          { number: OptionNumber.LOCATION_PATH, value: Buffer.from('b') },
        ],
      }),
    });
    const raw = await RawPeer.create();
    raw.send(request({ messageId: 0x0103 }), peerOf(server));
    const msg = (await raw.next()).msg;
    expect(optionValues(msg, OptionNumber.CONTENT_FORMAT)).toEqual([encodeUint(60)]);
    expect(optionValues(msg, OptionNumber.LOCATION_PATH).map(text)).toEqual(['b']);
  });

  it('answers a duplicate CON from the cache with the same bytes, running the handler once', async () => {
    let calls = 0;
    const server = await endpoint({
      handler: async () => {
        calls++;
        return { code: '2.05', payload: Buffer.from(`call ${calls}`) };
      },
    });
    const raw = await RawPeer.create();
    const datagram = request({ messageId: 0x0201, token: 'c0ffee' });
    raw.send(datagram, peerOf(server));
    const first = await raw.next();
    raw.send(datagram, peerOf(server));
    raw.send(datagram, peerOf(server));
    const second = await raw.next(() => true, 2000, 1);
    const third = await raw.next(() => true, 2000, 2);
    expect(second.raw).toEqual(first.raw);
    expect(third.raw).toEqual(first.raw);
    expect(first.msg.payload.toString()).toBe('call 1');
    expect(calls).toBe(1);
    expect(server.stats().duplicates).toBe(2);
    // The same message id from another port is another message (§4.5: keyed by the sender).
    const other = await RawPeer.create();
    other.send(datagram, peerOf(server));
    expect((await other.next()).msg.payload.toString()).toBe('call 2');
  });

  it('answers a NON request with a NON response of its own message id, and drops a duplicate NON', async () => {
    let calls = 0;
    const server = await endpoint({
      handler: () => {
        calls++;
        return { code: '2.05', payload: Buffer.from('non') };
      },
    });
    const raw = await RawPeer.create();
    const datagram = request({ messageId: 0x0301, token: '0102', type: MessageType.NON });
    raw.send(datagram, peerOf(server));
    const r = await raw.next();
    expect(r.msg.type).toBe(MessageType.NON);
    expect(r.msg.code).toBe(codeByte('2.05'));
    expect(r.msg.messageId).not.toBe(0x0301);
    expect(r.msg.token.toString('hex')).toBe('0102');
    raw.send(datagram, peerOf(server));
    await sleep(100);
    expect(raw.received.length).toBe(1);
    expect(calls).toBe(1);
    expect(server.stats().duplicates).toBe(1);
  });

  it('answers an async handler within the window piggybacked, with no empty ACK', async () => {
    const server = await endpoint({
      piggybackTimeout: 500,
      handler: async () => {
        await sleep(30);
        return { code: '2.04' };
      },
    });
    const raw = await RawPeer.create();
    raw.send(request({ messageId: 0x0401, code: 0x03 }), peerOf(server));
    const r = await raw.next();
    expect(r.msg).toMatchObject({
      type: MessageType.ACK,
      code: codeByte('2.04'),
      messageId: 0x0401,
    });
    await sleep(600);
    expect(raw.received.length).toBe(1);
  });

  it('answers a handler slower than the window with an empty ACK, then a separate CON until ACKed', async () => {
    const server = await endpoint({
      piggybackTimeout: 50,
      ackTimeout: 0.1,
      ackRandomFactor: 1,
      handler: async (req) => {
        await sleep(req.path[0] === 'slower' ? 300 : 150);
        return { code: '2.05', payload: Buffer.from(`late ${req.path[0]}`) };
      },
    });
    const raw = await RawPeer.create();
    const datagram = request({ messageId: 0x0501, token: 'aabb', path: ['slow'] });
    raw.send(datagram, peerOf(server));
    const ack = await raw.next();
    expect(ack.msg).toMatchObject({ type: MessageType.ACK, code: 0, messageId: 0x0501 });
    expect(ack.msg.token.length).toBe(0);
    // A duplicate while the handler runs gets the empty ACK again.
    raw.send(datagram, peerOf(server));
    const again = await raw.next(() => true, 2000, 1);
    expect(again.raw).toEqual(ack.raw);

    const res = await raw.next((r) => r.msg.code !== 0);
    expect(res.msg.type).toBe(MessageType.CON);
    expect(res.msg.token.toString('hex')).toBe('aabb');
    expect(res.msg.messageId).not.toBe(0x0501);
    expect(res.msg.payload.toString()).toBe('late slow');
    // Not acknowledged: retransmitted (ACK_TIMEOUT 0.1 s), then acknowledged: no more.
    const retransmitted = await raw.next(
      (r) => r.msg.code !== 0 && r.msg.messageId === res.msg.messageId && r !== res,
    );
    expect(retransmitted.raw).toEqual(res.raw);
    raw.send(
      encodeMessage({ type: MessageType.ACK, code: 0, messageId: res.msg.messageId }),
      peerOf(server),
    );
    await sleep(400);
    const copies = raw.received.filter((r) => r.msg.messageId === res.msg.messageId).length;
    await sleep(400);
    expect(raw.received.filter((r) => r.msg.messageId === res.msg.messageId).length).toBe(copies);

    // Several requests waiting at once each get their empty ACK, in order.
    raw.received.length = 0;
    raw.send(request({ messageId: 0x0502, token: '01', path: ['slower'] }), peerOf(server));
    await sleep(20);
    raw.send(request({ messageId: 0x0503, token: '02', path: ['slow'] }), peerOf(server));
    const acks = [
      await raw.next((r) => r.msg.messageId === 0x0502),
      await raw.next((r) => r.msg.messageId === 0x0503),
    ];
    expect(acks.map((a) => a.msg.code)).toEqual([0, 0]);
    const late = await raw.next(
      (r) => r.msg.type === MessageType.CON && text(r.msg.payload) === 'late slower',
    );
    expect(late.msg.token.toString('hex')).toBe('01');

    // And our own client copes with a separate response.
    const client = await endpoint();
    const viaClient = await client.request(peerOf(server), { method: 'GET', path: '/slow' });
    expect(text(viaClient.payload)).toBe('late slow');
  });

  it('sends no empty ACK for a slow NON request, and answers it with a NON', async () => {
    const server = await endpoint({
      piggybackTimeout: 30,
      handler: async () => {
        await sleep(120);
        return { code: '2.05', payload: Buffer.from('slow non') };
      },
    });
    const raw = await RawPeer.create();
    raw.send(request({ messageId: 0x0601, type: MessageType.NON }), peerOf(server));
    const r = await raw.next();
    expect(r.msg.type).toBe(MessageType.NON);
    expect(r.msg.payload.toString()).toBe('slow non');
    expect(raw.received.length).toBe(1);
  });

  it('hands a response that needs Block2 to node-coap, piggybacked or separate', async () => {
    const body = Buffer.alloc(300, 0x61);
    const server = await endpoint({
      blockSize: 128,
      piggybackTimeout: 40,
      handler: async (req) => {
        if (req.path[0] === 'slow') await sleep(100);
        return { code: '2.05', payload: body, contentFormat: ContentFormat.OPAQUE };
      },
    });
    const raw = await RawPeer.create();
    raw.send(request({ messageId: 0x0701, token: '0a', path: ['fast'] }), peerOf(server));
    const first = (await raw.next()).msg;
    expect(first).toMatchObject({ type: MessageType.ACK, code: codeByte('2.05') });
    expect(decodeBlock(optionValue(first, OptionNumber.BLOCK2)!)).toEqual({
      num: 0,
      more: true,
      szx: 3,
    });
    expect(first.payload.length).toBe(128);
    // The follow-up block is served from node-coap's cache, with Content-Format.
    raw.send(
      request({
        messageId: 0x0702,
        token: '0a',
        path: ['fast'],
        options: [
          { number: OptionNumber.BLOCK2, value: encodeBlock({ num: 2, more: false, szx: 3 }) },
        ],
      }),
      peerOf(server),
    );
    const last = (await raw.next((r) => r.msg.messageId === 0x0702)).msg;
    expect(decodeBlock(optionValue(last, OptionNumber.BLOCK2)!)).toMatchObject({
      num: 2,
      more: false,
    });
    expect(last.payload.length).toBe(300 - 256);
    expect(optionValue(last, OptionNumber.CONTENT_FORMAT)).toEqual(
      encodeUint(ContentFormat.OPAQUE),
    );

    raw.send(request({ messageId: 0x0703, token: '0b', path: ['slow'] }), peerOf(server));
    expect((await raw.next((r) => r.msg.messageId === 0x0703)).msg.code).toBe(0);
    const separate = (await raw.next((r) => r.msg.type === MessageType.CON)).msg;
    expect(separate.code).toBe(codeByte('2.05'));
    expect(separate.token.toString('hex')).toBe('0b');
    expect(decodeBlock(optionValue(separate, OptionNumber.BLOCK2)!)).toMatchObject({
      num: 0,
      more: true,
    });
    raw.send(
      encodeMessage({ type: MessageType.ACK, code: 0, messageId: separate.messageId }),
      peerOf(server),
    );

    // A whole download through our own client.
    const client = await endpoint({ blockSize: 128 });
    for (const path of ['fast', 'slow']) {
      const res = await client.request(peerOf(server), { method: 'GET', path });
      expect(Buffer.from(res.payload)).toEqual(body);
      expect(res.contentFormat).toBe(ContentFormat.OPAQUE);
    }
  });

  it('answers a response that cannot be encoded in one message with 5.00', async () => {
    const server = await endpoint({
      handler: () => ({
        code: '2.05',
        payload: Buffer.from('x'),
        options: [{ number: 2048, value: Buffer.alloc(1200) }],
      }),
    });
    const raw = await RawPeer.create();
    raw.send(request({ messageId: 0x0801 }), peerOf(server));
    expect((await raw.next()).msg).toMatchObject({
      type: MessageType.ACK,
      code: codeByte('5.00'),
      messageId: 0x0801,
    });
  });

  it('answers an invalid handler result with 5.00 and a handler throw with its code', async () => {
    const server = await endpoint({
      handler: (req) => {
        if (req.path[0] === 'bad') return { code: '9.99' } as unknown as CoapResponse;
        throw new Error('bug');
      },
    });
    const raw = await RawPeer.create();
    raw.send(request({ messageId: 0x0901, path: ['bad'] }), peerOf(server));
    expect((await raw.next()).msg.code).toBe(codeByte('5.00'));
    raw.send(request({ messageId: 0x0902, path: ['throw'] }), peerOf(server));
    const r = (await raw.next((x) => x.msg.messageId === 0x0902)).msg;
    expect(r.code).toBe(codeByte('5.00'));
    expect(r.payload.length).toBe(0);
  });

  it('answers 5.00 when the response cannot be encoded (a payload that is no Uint8Array)', async () => {
    const warnings: string[] = [];
    const server = await endpoint({
      logger: { warn: (_o, msg) => warnings.push(msg) },
      handler: async (req) => {
        if (req.path[0] === 'slow') await new Promise((resolve) => setTimeout(resolve, 80));
        return { code: '2.05', payload: 'text' as unknown as Uint8Array };
      },
      piggybackTimeout: 40,
    });
    const raw = await RawPeer.create();
    raw.send(request({ messageId: 0x0911 }), peerOf(server));
    expect((await raw.next()).msg).toMatchObject({
      type: MessageType.ACK,
      code: codeByte('5.00'),
      messageId: 0x0911,
    });
    // After the empty ACK: a NON 5.00 (as the node-coap path answered a failed separate response).
    raw.send(request({ messageId: 0x0912, path: ['slow'] }), peerOf(server));
    expect((await raw.next((x) => x.msg.messageId === 0x0912)).msg.code).toBe(0);
    const late = (
      await raw.next((x) => x.msg.code === codeByte('5.00') && x.msg.messageId !== 0x0911)
    ).msg;
    expect(late.type).toBe(MessageType.NON);
    expect(warnings).toContain('coap: response could not be sent');
  });

  it('rejects bad options as before: 4.02 for an unknown critical option, 4.00 for a bad Block1, RST for a malformed one', async () => {
    let calls = 0;
    const server = await endpoint({
      handler: () => {
        calls++;
        return { code: '2.05', payload: Buffer.from('ok') };
      },
    });
    const raw = await RawPeer.create();
    const to = peerOf(server);
    // RFC 7252 §5.4.1: an unrecognised critical option (2049, odd) in a CON: 4.02.
    raw.send(request({ messageId: 0x0a01, options: [{ number: 2049, value: Buffer.of(1) }] }), to);
    const critical = (await raw.next((r) => r.msg.messageId === 0x0a01)).msg;
    expect(critical).toMatchObject({ type: MessageType.ACK, code: codeByte('4.02') });
    // A known critical option with a value of a bad length (Uri-Host empty): 4.02 too.
    raw.send(request({ messageId: 0x0a02, options: [{ number: 3, value: Buffer.alloc(0) }] }), to);
    expect((await raw.next((r) => r.msg.messageId === 0x0a02)).msg.code).toBe(codeByte('4.02'));
    // The same in a NON is dropped.
    raw.send(
      request({
        messageId: 0x0a03,
        type: MessageType.NON,
        options: [{ number: 2049, value: Buffer.of(1) }],
      }),
      to,
    );
    // An unknown elective option (2048, even) is ignored: served.
    raw.send(request({ messageId: 0x0a04, options: [{ number: 2048, value: Buffer.of(1) }] }), to);
    expect((await raw.next((r) => r.msg.messageId === 0x0a04)).msg.payload.toString()).toBe('ok');
    // A Block1 value with SZX 7 (reserved): 4.00.
    raw.send(
      request({
        messageId: 0x0a05,
        code: POST,
        options: [{ number: OptionNumber.BLOCK1, value: Buffer.of(0x0f) }],
        payload: Buffer.from('x'),
      }),
      to,
    );
    expect((await raw.next((r) => r.msg.messageId === 0x0a05)).msg.code).toBe(codeByte('4.00'));
    // An option running past the end of the datagram: RST.
    const truncated = Buffer.concat([request({ messageId: 0x0a06 }), Buffer.of(0x03, 0x61)]);
    raw.send(truncated, to);
    expect((await raw.next((r) => r.msg.messageId === 0x0a06)).msg.type).toBe(MessageType.RST);
    await sleep(50);
    expect(raw.received.some((r) => r.msg.messageId === 0x0a03)).toBe(false);
    expect(calls).toBe(1);
    expect(server.stats()).toMatchObject({ badOptions: 3, malformed: 1 });
  });

  it('serves Observe registrations through node-coap and plain requests beside them', async () => {
    const server = await endpoint({
      handler: (req, ctx) => {
        const obs = ctx.observe();
        if (req.observe === 0) expect(obs).toBeDefined();
        else expect(obs).toBeUndefined();
        return { code: '2.05', payload: Buffer.from('v'), contentFormat: 0 };
      },
    });
    const client = await endpoint();
    const obs = await client.observe(peerOf(server), { method: 'GET', path: '/3/0/0' });
    expect(obs.first.observe).toBeDefined();
    expect(usedNodeCoapServer(server)).toBe(true);
    const plain = await client.request(peerOf(server), { method: 'GET', path: '/3/0/0' });
    expect(plain.observe).toBeUndefined();
    await obs.cancel();
  });

  it('sends nothing for a handler that answers after close()', async () => {
    let finish: (() => void) | undefined;
    const server = await endpoint({
      piggybackTimeout: 50,
      handler: () =>
        new Promise<CoapResponse>((resolve) => {
          finish = () => resolve({ code: '2.05' });
        }),
    });
    const raw = await RawPeer.create();
    raw.send(request({ messageId: 0x0b01 }), peerOf(server));
    await sleep(20);
    await server.close();
    finish?.();
    await sleep(100);
    expect(raw.received.length).toBe(0);
  });
});

describe('the wire format of fast-path answers', () => {
  it('is what parseMessage reads back (token, options sorted, payload marker)', async () => {
    const server = await endpoint({
      handler: () => ({
        code: '2.05',
        payload: Buffer.from('p'),
        contentFormat: 11542,
        options: [{ number: 300, value: Buffer.of(7) }],
      }),
    });
    const raw = await RawPeer.create();
    raw.send(request({ messageId: 0x0c01, token: '0102030405060708' }), peerOf(server));
    const r = await raw.next();
    const again = parseMessage(r.raw);
    expect(again).toMatchObject({ numbers: [12, 300] });
    expect(r.raw.subarray(4, 12).toString('hex')).toBe('0102030405060708');
  });
});
