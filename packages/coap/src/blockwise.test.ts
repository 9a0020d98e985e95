import { ContentFormat, EntityTooLargeError, NotAcceptableError } from '@lwm2m-ts/core';
import { CoapOptionNumber, encodeCoapMessage } from '@lwm2m-ts/testkit';
import { describe, expect, it } from 'vitest';
import { type CoapRequest, OptionNumber } from './index.js';
import { decodeBlock, decodeUint, encodeBlock, encodeUint } from './options.js';
import { endpoint, peerOf, RawPeer, text } from './test-util.js';
import { codeByte, codeString, encodeMessage, MessageType, optionValue } from './wire.js';

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

describe('Block2 (large responses)', () => {
  it('serves and fetches a 10 kB response in 64-byte blocks, keeping Content-Format', async () => {
    const body = pattern(10_000);
    let calls = 0;
    const server = await endpoint({
      blockSize: 64,
      handler: async () => {
        calls++;
        return { code: '2.05', payload: body, contentFormat: ContentFormat.OPAQUE };
      },
    });
    const client = await endpoint();
    const res = await client.request(peerOf(server), { method: 'GET', path: '/5/0/0' });
    expect(res.code).toBe('2.05');
    expect(Buffer.compare(Buffer.from(res.payload), body)).toBe(0);
    expect(res.contentFormat).toBe(42);
    expect(calls).toBe(1); // the follow-up blocks come from node-coap's cache
  });

  it('asks for its own block size when it is smaller (early negotiation, RFC 7959 §2.4)', async () => {
    const body = pattern(3000);
    const raw = await RawPeer.create();
    const sizes: number[] = [];
    raw.onMessage = ({ msg, rinfo }) => {
      const b2 = decodeBlock(optionValue(msg, OptionNumber.BLOCK2) ?? Buffer.alloc(0))!;
      const size = 1 << (b2.szx + 4);
      sizes.push(size);
      const more = (b2.num + 1) * size < body.length;
      raw.send(
        encodeMessage({
          type: MessageType.ACK,
          code: codeByte('2.05'),
          messageId: msg.messageId,
          token: msg.token,
          options: [
            { number: OptionNumber.CONTENT_FORMAT, value: encodeUint(42) },
            { number: OptionNumber.BLOCK2, value: encodeBlock({ num: b2.num, more, szx: b2.szx }) },
          ],
          payload: body.subarray(b2.num * size, (b2.num + 1) * size),
        }),
        rinfo,
      );
    };
    const client = await endpoint({ blockSize: 128 });
    const res = await client.request(
      { address: '127.0.0.1', port: raw.port },
      { method: 'GET', path: '/fw' },
    );
    expect(Buffer.compare(Buffer.from(res.payload), body)).toBe(0);
    expect(new Set(sizes)).toEqual(new Set([128]));
    expect(sizes.length).toBe(Math.ceil(3000 / 128));
  });

  it('completes a download whose every first copy is lost, without growing the back-off per block', async () => {
    const body = pattern(640);
    const raw = await RawPeer.create();
    const seen = new Set<number>();
    raw.onMessage = ({ msg, rinfo }) => {
      if (!seen.has(msg.messageId)) {
        seen.add(msg.messageId); // lose the first copy of every request
        return;
      }
      const b2 = decodeBlock(optionValue(msg, OptionNumber.BLOCK2) ?? Buffer.alloc(0)) ?? {
        num: 0,
        more: false,
        szx: 2,
      };
      const more = (b2.num + 1) * 64 < body.length;
      raw.send(
        encodeMessage({
          type: MessageType.ACK,
          code: codeByte('2.05'),
          messageId: msg.messageId,
          token: msg.token,
          options: [
            { number: OptionNumber.BLOCK2, value: encodeBlock({ num: b2.num, more, szx: 2 }) },
          ],
          payload: body.subarray(b2.num * 64, (b2.num + 1) * 64),
        }),
        rinfo,
      );
    };
    const client = await endpoint({ ackTimeout: 0.04, ackRandomFactor: 1, maxRetransmit: 3 });
    const started = Date.now();
    const res = await client.request({ address: '127.0.0.1', port: raw.port }, { method: 'GET' });
    expect(Buffer.compare(Buffer.from(res.payload), body)).toBe(0);
    // 10 blocks × one 40 ms timeout; a back-off carried over from block to block would take minutes.
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('stops a download over maxBodySize with EntityTooLargeError', async () => {
    const server = await endpoint({
      blockSize: 256,
      handler: () => ({ code: '2.05', payload: pattern(20_000) }),
    });
    const client = await endpoint({ maxBodySize: 4096 });
    const err = await client.request(peerOf(server), { method: 'GET' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EntityTooLargeError);
    expect((err as EntityTooLargeError).coapCode).toBe('4.13');
  });
});

describe('Block1 (large request bodies)', () => {
  it.each([
    [1024, 1024],
    [64, 1024],
    [1024, 64], // the server negotiates the client down to 64
  ] as const)(
    'uploads 50 kB both ways (client blocks %i, server blocks %i)',
    async (clientBlock, serverBlock) => {
      const body = pattern(50_000);
      const seenA: CoapRequest[] = [];
      const seenB: CoapRequest[] = [];
      const a = await endpoint({
        blockSize: serverBlock,
        handler: (req) => {
          seenA.push(req);
          return { code: '2.04', payload: Buffer.from(String(req.payload.length)) };
        },
      });
      const b = await endpoint({
        blockSize: clientBlock,
        handler: (req) => {
          seenB.push(req);
          return { code: '2.04' };
        },
      });
      const res = await b.request(peerOf(a), {
        method: 'PUT',
        path: '/5/0/0',
        payload: body,
        contentFormat: ContentFormat.OPAQUE,
      });
      expect(res.code).toBe('2.04');
      expect(Buffer.from(res.payload).toString()).toBe('50000');
      expect(seenA.length).toBe(1);
      expect(Buffer.compare(Buffer.from(seenA[0]!.payload), body)).toBe(0);
      expect(seenA[0]!.contentFormat).toBe(42);
      expect(seenA[0]!.path).toEqual(['5', '0', '0']);
      expect(seenA[0]!.options.some((o) => o.number === OptionNumber.BLOCK1)).toBe(false);

      const back = await a.request(peerOf(b), { method: 'POST', path: '/up', payload: body });
      expect(back.code).toBe('2.04');
      expect(Buffer.compare(Buffer.from(seenB[0]!.payload), body)).toBe(0);
    },
  );

  it('answers 4.13 with Size1 when the body exceeds maxBodySize', async () => {
    let calls = 0;
    const server = await endpoint({
      maxBodySize: 10_000,
      handler: () => {
        calls++;
        return { code: '2.04' };
      },
    });
    const client = await endpoint({ blockSize: 512 });
    const res = await client.request(peerOf(server), {
      method: 'PUT',
      path: '/5/0/0',
      payload: pattern(50_000),
    });
    expect(res.code).toBe('4.13');
    const size1 = res.options.find((o) => o.number === OptionNumber.SIZE1);
    expect(size1 && decodeUint(size1.value)).toBe(10_000);
    expect(calls).toBe(0);
  });

  it('reassembles a client that changes the token on every block (as libcoap does), and answers a gap with 4.08', async () => {
    const seen: CoapRequest[] = [];
    const server = await endpoint({
      handler: (req) => {
        seen.push(req);
        return { code: '2.04' };
      },
    });
    const raw = await RawPeer.create();
    const body = pattern(64 * 3 + 10);
    const block = (mid: number, num: number, more: boolean, path = 'fw') =>
      encodeMessage({
        type: MessageType.CON,
        code: 0x03,
        messageId: mid,
        token: Buffer.of(num + 1, mid & 0xff),
        options: [
          { number: OptionNumber.URI_PATH, value: Buffer.from(path) },
          { number: OptionNumber.BLOCK1, value: encodeBlock({ num, more, szx: 2 }) },
        ],
        payload: body.subarray(num * 64, (num + 1) * 64),
      });
    for (let num = 0; num < 4; num++) {
      raw.send(block(500 + num, num, num < 3), peerOf(server));
      const r = await raw.next((x) => x.msg.messageId === 500 + num);
      expect(r.msg.code).toBe(codeByte(num < 3 ? '2.31' : '2.04'));
      expect(decodeBlock(optionValue(r.msg, OptionNumber.BLOCK1)!)).toEqual({
        num,
        more: num < 3,
        szx: 2,
      });
    }
    expect(seen.length).toBe(1);
    expect(Buffer.compare(Buffer.from(seen[0]!.payload), body)).toBe(0);

    raw.send(block(600, 0, true, 'gap'), peerOf(server));
    await raw.next((x) => x.msg.messageId === 600);
    raw.send(block(601, 2, true, 'gap'), peerOf(server));
    expect((await raw.next((x) => x.msg.messageId === 601)).msg.code).toBe(codeByte('4.08'));
    expect(seen.length).toBe(1);
  });

  it('keeps concurrent uploads apart by Request-Tag', async () => {
    const seen: string[] = [];
    const server = await endpoint({
      handler: (req) => {
        seen.push(Buffer.from(req.payload).toString());
        return { code: '2.04' };
      },
    });
    const client = await endpoint({ blockSize: 16 });
    const bodies = ['a'.repeat(100), 'b'.repeat(100), 'c'.repeat(100)];
    const results = await Promise.all(
      bodies.map((b) =>
        client.request(peerOf(server), { method: 'PUT', path: '/same', payload: Buffer.from(b) }),
      ),
    );
    expect(results.map((r) => r.code)).toEqual(['2.04', '2.04', '2.04']);
    expect(seen.sort()).toEqual(bodies);
  });
});

describe('Block2 and response codes (RFC 7959 §2.2, RFC 7252 §5.5.2)', () => {
  // 71 bytes: more than a 64-byte block.
  const LONG = 'Accept 11543 is not supported for /3/0: only 11542 (TLV) and 112 (SenML CBOR)';

  it.each([
    [1024, 64], // a requester that does not ask for a block size: the server's 64 bytes
    [64, 64], // early negotiation (Block2 in the request)
    [16, 16], // the requester asks for less: the diagnostic fits its block
  ] as const)(
    'answers a handler error with a long message as 4.06 in one message (requester blocks %i: diagnostic ≤ %i bytes)',
    async (clientBlock, limit) => {
      expect(Buffer.byteLength(LONG)).toBeGreaterThan(64);
      const server = await endpoint({
        blockSize: 64,
        handler: () => {
          throw new NotAcceptableError(LONG);
        },
      });
      const client = await endpoint({ blockSize: clientBlock });
      const res = await client.request(peerOf(server), {
        method: 'GET',
        path: '/3/0',
        accept: 11543,
      });
      expect(res.code).toBe('4.06');
      expect(res.contentFormat).toBeUndefined();
      expect(res.payload.length).toBeLessThanOrEqual(limit);
      const diag = text(res.payload);
      expect(diag.endsWith('…')).toBe(true);
      expect(LONG.startsWith(diag.slice(0, -1))).toBe(true);
      // Not block-wise at all: no Block2, no ETag on an error response.
      expect(res.options.map((o) => o.number)).not.toContain(OptionNumber.BLOCK2);
      expect(res.options.map((o) => o.number)).not.toContain(OptionNumber.ETAG);
    },
  );

  it('cuts a diagnostic at a UTF-8 character boundary, and leaves a short one alone', async () => {
    const server = await endpoint({
      blockSize: 64,
      handler: (req) => {
        throw new NotAcceptableError(req.path[0] === 'short' ? 'nö' : 'ü'.repeat(40)); // 80 bytes
      },
    });
    const client = await endpoint();
    const res = await client.request(peerOf(server), { method: 'GET', path: '/long' });
    expect(res.code).toBe('4.06');
    expect(res.payload.length).toBeLessThanOrEqual(64);
    expect(text(res.payload)).toMatch(/^ü+…$/);
    const short = await client.request(peerOf(server), { method: 'GET', path: '/short' });
    expect(text(short.payload)).toBe('nö');
  });

  it('answers a Block2 request for a later block with the handler error, not 4.02', async () => {
    const server = await endpoint({
      blockSize: 64,
      handler: () => {
        throw new NotAcceptableError(LONG);
      },
    });
    const raw = await RawPeer.create();
    raw.send(
      encodeMessage({
        type: MessageType.CON,
        code: 0x01,
        messageId: 7,
        token: Buffer.of(7),
        options: [
          { number: OptionNumber.BLOCK2, value: encodeBlock({ num: 1, more: false, szx: 2 }) },
        ],
      }),
      peerOf(server),
    );
    const r = await raw.next((x) => x.msg.messageId === 7);
    expect(codeString(r.msg.code)).toBe('4.06');
    expect(optionValue(r.msg, OptionNumber.BLOCK2)).toBeUndefined();
    expect(r.msg.payload.length).toBeLessThanOrEqual(64);
  });

  it('keeps the code of a block-wise response on every block it serves (2.04, and a 4.00 with a Content-Format)', async () => {
    const changed = pattern(150);
    const problem = Buffer.from(JSON.stringify({ title: 'x'.repeat(120) }));
    const server = await endpoint({
      blockSize: 64,
      handler: async (req) =>
        req.method === 'POST'
          ? { code: '2.04', payload: changed }
          : { code: '4.00', payload: problem, contentFormat: ContentFormat.CBOR },
    });
    // On the wire, as a peer sees it: every block, follow-ups from node-coap's cache included.
    const raw = await RawPeer.create();
    for (const [code, body, method] of [
      ['2.04', changed, 0x02],
      ['4.00', problem, 0x01],
    ] as const) {
      const blocks: Buffer[] = [];
      for (let num = 0; ; num++) {
        const mid = method * 100 + num;
        raw.send(
          encodeMessage({
            type: MessageType.CON,
            code: method,
            messageId: mid,
            token: Buffer.of(method, 1),
            options: [
              { number: OptionNumber.BLOCK2, value: encodeBlock({ num, more: false, szx: 2 }) },
            ],
          }),
          peerOf(server),
        );
        const r = await raw.next((x) => x.msg.messageId === mid);
        expect(codeString(r.msg.code)).toBe(code);
        if (code === '4.00') {
          expect(decodeUint(optionValue(r.msg, OptionNumber.CONTENT_FORMAT)!)).toBe(60);
        }
        blocks.push(r.msg.payload);
        const b2 = decodeBlock(optionValue(r.msg, OptionNumber.BLOCK2)!)!;
        expect(b2.num).toBe(num);
        if (!b2.more) break;
      }
      expect(blocks.length).toBe(Math.ceil(body.length / 64));
      expect(Buffer.compare(Buffer.concat(blocks), body)).toBe(0);
    }
    // And through our own requester.
    const client = await endpoint();
    const post = await client.request(peerOf(server), { method: 'POST', path: '/1/0/8' });
    expect(post.code).toBe('2.04');
    expect(Buffer.compare(Buffer.from(post.payload), changed)).toBe(0);
    const get = await client.request(peerOf(server), { method: 'GET', path: '/x' });
    expect(get.code).toBe('4.00');
    expect(get.contentFormat).toBe(60);
    expect(Buffer.compare(Buffer.from(get.payload), problem)).toBe(0);
  });

  /** A raw peer (testkit's independent encoder) answering every GET with `body` in 64-byte blocks. */
  async function blockwisePeer(body: Buffer, codeOf: (num: number) => string): Promise<RawPeer> {
    const raw = await RawPeer.create();
    raw.onMessage = ({ msg, rinfo }) => {
      if (msg.code !== 0x01) return;
      const b2raw = optionValue(msg, OptionNumber.BLOCK2);
      const b2 = b2raw === undefined ? { num: 0, szx: 2 } : decodeBlock(b2raw)!;
      const size = 1 << (b2.szx + 4);
      const more = (b2.num + 1) * size < body.length;
      raw.send(
        Buffer.from(
          encodeCoapMessage({
            type: 'ACK',
            code: codeOf(b2.num),
            messageId: msg.messageId,
            token: msg.token,
            options: [
              { number: CoapOptionNumber.Block2, value: b2.num * 16 + (more ? 8 : 0) + b2.szx },
            ],
            payload: body.subarray(b2.num * size, (b2.num + 1) * size),
          }),
        ),
        rinfo,
      );
    };
    return raw;
  }

  it('reassembles a 4.04 a peer sends in two Block2 blocks: 4.04 with the whole diagnostic', async () => {
    const diag = Buffer.from(`no such object instance: ${'/3303/7/5700, '.repeat(5)}`);
    expect(diag.length).toBeGreaterThan(64);
    expect(diag.length).toBeLessThanOrEqual(128);
    const raw = await blockwisePeer(diag, () => '4.04');
    const client = await endpoint();
    const res = await client.request(
      { address: '127.0.0.1', port: raw.port },
      { method: 'GET', path: '/3303/7/5700' },
    );
    expect(res.code).toBe('4.04');
    expect(res.contentFormat).toBeUndefined();
    expect(text(res.payload)).toBe(diag.toString());
    expect(raw.received.filter((r) => r.msg.code === 0x01)).toHaveLength(2);
  });

  it('takes the code of block 0 from a peer that answers later blocks 2.05 (as node-coap does)', async () => {
    const diag = Buffer.from('x'.repeat(100));
    const raw = await blockwisePeer(diag, (num) => (num === 0 ? '4.04' : '2.05'));
    const client = await endpoint();
    const res = await client.request({ address: '127.0.0.1', port: raw.port }, { method: 'GET' });
    expect(res.code).toBe('4.04');
    expect(text(res.payload)).toBe(diag.toString());
  });
});
