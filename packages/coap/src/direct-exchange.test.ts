import { EntityTooLargeError, TimeoutError } from '@lwm2m-ts/core';
import { describe, expect, it } from 'vitest';
import type { CoapEndpoint } from './index.js';
import { decodeBlock, encodeBlock, encodeUint, OptionNumber } from './options.js';
import { endpoint, RawPeer, type Received, sleep, text } from './test-util.js';
import { codeByte, encodeMessage, MessageType, optionValue, optionValues } from './wire.js';

/** Whether the endpoint has built node-coap's agent (direct exchanges never need it). */
function usedNodeCoapAgent(ep: CoapEndpoint): boolean {
  return (ep as unknown as { nodeAgent?: unknown }).nodeAgent !== undefined;
}

function ackWith(
  r: Received,
  code: string,
  options: { number: number; value: Buffer }[] = [],
  payload?: Buffer,
): Buffer {
  return encodeMessage({
    type: MessageType.ACK,
    code: codeByte(code),
    messageId: r.msg.messageId,
    token: r.msg.token,
    options,
    ...(payload !== undefined && { payload }),
  });
}

describe('requests the endpoint sends itself', () => {
  it('puts every option on the wire in order and completes on the piggybacked answer', async () => {
    const raw = await RawPeer.create();
    raw.onMessage = (r) =>
      raw.send(
        ackWith(r, '2.01', [{ number: OptionNumber.LOCATION_PATH, value: Buffer.from('rd') }]),
        r.rinfo,
      );
    const client = await endpoint();
    const res = await client.request(
      { address: '127.0.0.1', port: raw.port },
      {
        method: 'POST',
        path: '/rd',
        query: ['ep=a', 'lt=60'],
        contentFormat: 40,
        accept: 60,
        payload: Buffer.from('</1/0>'),
        options: [{ number: 2048, value: Buffer.of(9) }],
      },
    );
    expect(res.code).toBe('2.01');
    expect(res.locationPath).toEqual(['rd']);
    const sent = raw.received[0]!.msg;
    expect(sent.type).toBe(MessageType.CON);
    expect(sent.code).toBe(0x02);
    expect(sent.token.length).toBe(8);
    expect(sent.numbers).toEqual([11, 12, 15, 15, 17, 2048]);
    expect(optionValues(sent, OptionNumber.URI_QUERY).map(text)).toEqual(['ep=a', 'lt=60']);
    expect(optionValue(sent, OptionNumber.ACCEPT)).toEqual(encodeUint(60));
    expect(text(sent.payload)).toBe('</1/0>');
    expect(usedNodeCoapAgent(client)).toBe(false);
  });

  it('retransmits until the empty ACK, then waits for the separate response', async () => {
    const raw = await RawPeer.create();
    const client = await endpoint({ ackTimeout: 0.05, ackRandomFactor: 1 });
    const pending = client.request(
      { address: '127.0.0.1', port: raw.port },
      {
        method: 'GET',
        path: '/late',
      },
    );
    const first = await raw.next();
    const again = await raw.next(() => true, 2000, 1);
    expect(again.raw).toEqual(first.raw);
    // An ACK for another message id changes nothing.
    raw.send(
      encodeMessage({
        type: MessageType.ACK,
        code: 0,
        messageId: (first.msg.messageId + 1) & 0xffff,
      }),
      first.rinfo,
    );
    await raw.next(() => true, 2000, 2);
    raw.send(
      encodeMessage({ type: MessageType.ACK, code: 0, messageId: first.msg.messageId }),
      first.rinfo,
    );
    await sleep(50);
    const count = raw.received.length;
    await sleep(250);
    expect(raw.received.length).toBe(count);
    raw.send(
      encodeMessage({
        type: MessageType.CON,
        code: codeByte('2.05'),
        messageId: 0x7777,
        token: first.msg.token,
        payload: Buffer.from('finally'),
      }),
      first.rinfo,
    );
    const res = await pending;
    expect(text(res.payload)).toBe('finally');
    const ack = await raw.next((r) => r.msg.messageId === 0x7777);
    expect(ack.msg).toMatchObject({ type: MessageType.ACK, code: 0 });
  });

  it('ignores a piggybacked answer with another token, and takes the right one', async () => {
    const raw = await RawPeer.create();
    const client = await endpoint({ ackTimeout: 0.05, ackRandomFactor: 1 });
    const pending = client.request({ address: '127.0.0.1', port: raw.port }, { method: 'GET' });
    const first = await raw.next();
    raw.send(
      encodeMessage({
        type: MessageType.ACK,
        code: codeByte('2.05'),
        messageId: first.msg.messageId,
        token: Buffer.of(1, 2, 3),
        payload: Buffer.from('wrong'),
      }),
      first.rinfo,
    );
    // Still retransmitted: that was not our answer.
    const again = await raw.next(() => true, 2000, 1);
    raw.send(
      encodeMessage({
        type: MessageType.NON,
        code: codeByte('2.05'),
        messageId: 0x1234,
        token: again.msg.token,
        payload: Buffer.from('right'),
      }),
      first.rinfo,
    );
    expect(text((await pending).payload)).toBe('right');
  });

  it('sends a NON request once and takes the NON response', async () => {
    const raw = await RawPeer.create();
    raw.onMessage = (r) =>
      raw.send(
        encodeMessage({
          type: MessageType.NON,
          code: codeByte('2.05'),
          messageId: 0x4242,
          token: r.msg.token,
          payload: Buffer.from('non'),
        }),
        r.rinfo,
      );
    const client = await endpoint({ ackTimeout: 0.05, ackRandomFactor: 1 });
    const res = await client.request(
      { address: '127.0.0.1', port: raw.port },
      { method: 'GET', confirmable: false },
    );
    expect(text(res.payload)).toBe('non');
    await sleep(200);
    expect(raw.received.length).toBe(1);
    expect(raw.received[0]!.msg.type).toBe(MessageType.NON);
  });

  it('fetches a Block2 body block by block: same token, new message ids, code and options of block 0', async () => {
    const body = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz!');
    const raw = await RawPeer.create();
    raw.onMessage = (r) => {
      const b2raw = optionValue(r.msg, OptionNumber.BLOCK2);
      const num = b2raw === undefined ? 0 : decodeBlock(b2raw)!.num;
      const chunk = body.subarray(num * 16, num * 16 + 16);
      const more = (num + 1) * 16 < body.length;
      raw.send(
        ackWith(
          r,
          num === 0 ? '2.05' : '2.05',
          [
            ...(num === 0 ? [{ number: OptionNumber.CONTENT_FORMAT, value: encodeUint(42) }] : []),
            { number: OptionNumber.BLOCK2, value: encodeBlock({ num, more, szx: 0 }) },
          ],
          chunk,
        ),
        r.rinfo,
      );
    };
    const client = await endpoint();
    const res = await client.request(
      { address: '127.0.0.1', port: raw.port },
      { method: 'GET', path: '/big', query: ['q'] },
    );
    expect(Buffer.from(res.payload)).toEqual(body);
    expect(res.contentFormat).toBe(42);
    const sent = raw.received.map((r) => r.msg);
    expect(sent.length).toBe(3);
    expect(new Set(sent.map((m) => m.token.toString('hex'))).size).toBe(1);
    expect(new Set(sent.map((m) => m.messageId)).size).toBe(3);
    expect(optionValue(sent[0]!, OptionNumber.BLOCK2)).toBeUndefined();
    expect(
      sent.slice(1).map((m) => decodeBlock(optionValue(m, OptionNumber.BLOCK2)!)!.num),
    ).toEqual([1, 2]);
    for (const m of sent) {
      expect(optionValues(m, OptionNumber.URI_PATH).map(text)).toEqual(['big']);
      expect(optionValues(m, OptionNumber.URI_QUERY).map(text)).toEqual(['q']);
    }
  });

  it('stops a Block2 download over maxBodySize', async () => {
    const raw = await RawPeer.create();
    raw.onMessage = (r) =>
      raw.send(
        ackWith(
          r,
          '2.05',
          [{ number: OptionNumber.BLOCK2, value: encodeBlock({ num: 0, more: true, szx: 6 }) }],
          Buffer.alloc(1024),
        ),
        r.rinfo,
      );
    const client = await endpoint({ maxBodySize: 1000 });
    await expect(
      client.request({ address: '127.0.0.1', port: raw.port }, { method: 'GET' }),
    ).rejects.toBeInstanceOf(EntityTooLargeError);
  });

  it('refuses a request that does not fit in one message with EntityTooLargeError', async () => {
    const raw = await RawPeer.create();
    const client = await endpoint();
    const long = 'q'.repeat(250);
    const err = await client
      .request(
        { address: '127.0.0.1', port: raw.port },
        {
          method: 'GET',
          query: [long, long, long, long, long, long],
        },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EntityTooLargeError);
    expect((err as Error).message).toMatch(/does not fit in one message/);
    await sleep(50);
    expect(raw.received.length).toBe(0);
  });

  it('times out a CON nobody acknowledges after MAX_TRANSMIT_WAIT, leaving no timer', async () => {
    const raw = await RawPeer.create();
    const client = await endpoint({ ackTimeout: 0.02, ackRandomFactor: 1, maxRetransmit: 2 });
    const err = await client
      .request({ address: '127.0.0.1', port: raw.port }, { method: 'GET', timeout: 5000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/did not acknowledge/);
    expect(raw.received.length).toBe(3);
  });
});
