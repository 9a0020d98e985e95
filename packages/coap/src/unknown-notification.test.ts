/**
 * The `unknownNotification` hook and `adoptObservation()`: a notification whose token this
 * endpoint does not know (another process registered the observation) is offered to the hook
 * before RST, and an adopted token is matched here from then on. A raw UDP socket on loopback
 * plays the device.
 */
import { describe, expect, it } from 'vitest';
import {
  type ClientObservation,
  type ClientObservationEndReason,
  type CoapEndpoint,
  EndpointClosedError,
  type IncomingResponse,
  OptionNumber,
  TokenInUseError,
  type UnknownNotification,
  type UnknownNotificationHandler,
} from './index.js';
import { decodeUint, encodeUint } from './options.js';
import { endpoint, peerOf, RawPeer, type Received, sleep, text } from './test-util.js';
import { codeByte, encodeMessage, MessageType, optionValue } from './wire.js';

const TOKEN = Buffer.from('a1b2c3d4e5f60708', 'hex');

/** A notification as a device sends it: 2.05, Observe `seq`, text payload. */
function notification(
  type: 'CON' | 'NON',
  messageId: number,
  seq: number,
  payload: string,
  token: Buffer = TOKEN,
): Buffer {
  return encodeMessage({
    type: type === 'CON' ? MessageType.CON : MessageType.NON,
    code: codeByte('2.05'),
    messageId,
    token,
    options: [
      { number: OptionNumber.OBSERVE, value: encodeUint(seq) },
      { number: OptionNumber.CONTENT_FORMAT, value: encodeUint(0) },
    ],
    payload: Buffer.from(payload),
  });
}

/** An endpoint whose hook records what it was asked and answers as `decide` says. */
async function withHook(
  decide: (n: UnknownNotification, signal: AbortSignal) => boolean | Promise<boolean>,
  ackTimeout = 2,
) {
  const asked: UnknownNotification[] = [];
  const hook: UnknownNotificationHandler = (n, signal) => {
    asked.push(n);
    return decide(n, signal);
  };
  const ep = await endpoint({ unknownNotification: hook, ackTimeout, ackRandomFactor: 1 });
  const device = await RawPeer.create();
  return { ep, device, asked };
}

/** The registration request the other process sent (what a proactive cancel repeats). */
const REQUEST = { method: 'GET', path: '/3303/0/5700', accept: 0 } as const;

function adoptIn(ep: CoapEndpoint, n: UnknownNotification) {
  const obs = ep.adoptObservation(n.peer, REQUEST, n.token, n);
  const got: IncomingResponse[] = [];
  const ends: ClientObservationEndReason[] = [];
  obs.on('notification', (x) => got.push(x));
  obs.on('end', (r) => ends.push(r));
  return { obs, got, ends };
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

const isAck = (mid: number) => (r: Received) =>
  r.msg.type === MessageType.ACK && r.msg.messageId === mid;
const isRst = (mid: number) => (r: Received) =>
  r.msg.type === MessageType.RST && r.msg.messageId === mid;

describe('unknownNotification', () => {
  it('accepted: a CON is ACKed (no RST) and later ones are delivered on the adopted observation', async () => {
    let adopted: ReturnType<typeof adoptIn> | undefined;
    const { ep, device, asked } = await withHook(async (n) => {
      await sleep(20); // a store lookup
      adopted = adoptIn(ep, n);
      return true;
    });
    device.send(notification('CON', 0x100, 5, 'v5'), peerOf(ep));
    const ack = await device.next(isAck(0x100));
    expect(ack.msg.code).toBe(0);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({
      code: '2.05',
      observe: 5,
      contentFormat: 0,
      confirmable: true,
      peer: { address: '127.0.0.1', port: device.port },
    });
    expect(Buffer.from(asked[0]!.token).equals(TOKEN)).toBe(true);
    expect(text(asked[0]!.payload)).toBe('v5');
    // The notification asked about is delivered to the observation adopted for it.
    await until(() => adopted!.got.length === 1);
    expect(text(adopted!.got[0]!.payload)).toBe('v5');
    expect(adopted!.obs.first.observe).toBe(5);

    // The next ones (NON, then CON) are matched without the hook.
    device.send(notification('NON', 0x101, 6, 'v6'), peerOf(ep));
    device.send(notification('CON', 0x102, 7, 'v7'), peerOf(ep));
    await device.next(isAck(0x102));
    await until(() => adopted!.got.length === 3);
    expect(adopted!.got.map((n) => text(n.payload))).toEqual(['v5', 'v6', 'v7']);
    // Older than the last one delivered (RFC 7641 §3.4): dropped, though ACKed.
    device.send(notification('CON', 0x103, 6, 'old'), peerOf(ep));
    await device.next(isAck(0x103));
    await sleep(30);
    expect(adopted!.got).toHaveLength(3);
    expect(asked).toHaveLength(1);
    expect(device.received.filter((r) => r.msg.type === MessageType.RST)).toEqual([]);
    expect(ep.stats()).toMatchObject({ unknownTokens: 0, claimedNotifications: 1 });
  });

  it('accepted: a NON gets no answer and is delivered', async () => {
    let adopted: ReturnType<typeof adoptIn> | undefined;
    const { ep, device } = await withHook((n) => {
      adopted = adoptIn(ep, n);
      return true;
    });
    device.send(notification('NON', 0x200, 9, 'n9'), peerOf(ep));
    await until(() => adopted?.got.length === 1);
    expect(text(adopted!.got[0]!.payload)).toBe('n9');
    await sleep(50);
    expect(device.received).toEqual([]);
  });

  it('refused: CON and NON get RST, as without the hook', async () => {
    const { ep, device, asked } = await withHook(() => false);
    device.send(notification('CON', 0x300, 1, 'x'), peerOf(ep));
    await device.next(isRst(0x300));
    device.send(notification('NON', 0x301, 2, 'y', Buffer.of(9, 9)), peerOf(ep));
    await device.next(isRst(0x301));
    expect(asked.map((n) => n.confirmable)).toEqual([true, false]);
    expect(device.received.filter((r) => r.msg.type === MessageType.ACK)).toEqual([]);
    // A duplicate of the refused CON gets the same RST again (RFC 7252 §4.5), no second question.
    device.send(notification('CON', 0x300, 1, 'x'), peerOf(ep));
    await device.next(isRst(0x300), 2000, 2);
    expect(asked).toHaveLength(2);
    expect(ep.stats()).toMatchObject({ unknownTokens: 2, claimedNotifications: 0 });
  });

  it('a hook that throws or rejects: RST', async () => {
    let calls = 0;
    const { ep, device } = await withHook(() => {
      calls++;
      if (calls === 1) throw new Error('boom');
      return Promise.reject(new Error('store down'));
    });
    device.send(notification('CON', 0x310, 1, 'x'), peerOf(ep));
    await device.next(isRst(0x310));
    device.send(notification('CON', 0x311, 1, 'x', Buffer.of(7)), peerOf(ep));
    await device.next(isRst(0x311));
    expect(calls).toBe(2);
  });

  it('too slow: RST after ACK_TIMEOUT, the signal aborts, and a late adoption ends at once', async () => {
    let signal: AbortSignal | undefined;
    let finish: (() => void) | undefined;
    let late: ReturnType<typeof adoptIn> | undefined;
    const { ep, device } = await withHook(async (n, s) => {
      signal = s;
      await new Promise<void>((r) => {
        finish = r;
      });
      late = adoptIn(ep, n); // ignoring the signal: the endpoint still ends it
      return true;
    }, 0.15);
    const sent = Date.now();
    device.send(notification('CON', 0x400, 3, 'slow'), peerOf(ep));
    await device.next(isRst(0x400), 3000);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(140);
    expect(signal?.aborted).toBe(true);
    finish!();
    await until(() => late?.ends.length === 1);
    expect(late!.ends).toEqual(['cancelled']);
    expect(late!.got).toEqual([]);
    expect(device.received.filter((r) => r.msg.type === MessageType.ACK)).toEqual([]);
  });

  it('duplicates while the hook runs are ignored; the next notification waits for the same decision', async () => {
    let release: ((ok: boolean) => void) | undefined;
    let adopted: ReturnType<typeof adoptIn> | undefined;
    const { ep, device, asked } = await withHook(
      (n) =>
        new Promise<boolean>((resolve) => {
          release = (ok) => {
            if (ok) adopted = adoptIn(ep, n);
            resolve(ok);
          };
        }),
    );
    const first = notification('CON', 0x500, 10, 'a');
    device.send(first, peerOf(ep));
    await until(() => asked.length === 1);
    device.send(first, peerOf(ep)); // a retransmission
    device.send(first, peerOf(ep));
    device.send(notification('CON', 0x501, 11, 'b'), peerOf(ep)); // the next notification
    await sleep(50);
    expect(device.received).toEqual([]); // nothing answered while undecided
    expect(asked).toHaveLength(1);
    expect(ep.stats().duplicates).toBe(2);
    release!(true);
    await device.next(isAck(0x500));
    await device.next(isAck(0x501));
    await until(() => adopted!.got.length === 2);
    expect(adopted!.got.map((n) => text(n.payload))).toEqual(['a', 'b']);
    // Later duplicates get the ACK that was sent.
    device.send(first, peerOf(ep));
    await until(() => device.received.filter(isAck(0x500)).length === 2);
    expect(asked).toHaveLength(1);
  });

  it('refused after waiting: every waiting notification gets RST', async () => {
    let release: ((ok: boolean) => void) | undefined;
    const { ep, device, asked } = await withHook(
      () =>
        new Promise<boolean>((resolve) => {
          release = resolve;
        }),
    );
    device.send(notification('CON', 0x600, 1, 'a'), peerOf(ep));
    await until(() => asked.length === 1);
    device.send(notification('NON', 0x601, 2, 'b'), peerOf(ep));
    await sleep(20);
    release!(false);
    await device.next(isRst(0x600));
    await device.next(isRst(0x601));
    expect(asked).toHaveLength(1);
  });

  it('a response without Observe is not a notification: RST, the hook is not asked', async () => {
    const { ep, device, asked } = await withHook(() => true);
    device.send(
      encodeMessage({
        type: MessageType.CON,
        code: codeByte('2.05'),
        messageId: 0x700,
        token: TOKEN,
      }),
      peerOf(ep),
    );
    await device.next(isRst(0x700));
    expect(asked).toEqual([]);
  });

  it('without the option an unknown notification gets RST at once', async () => {
    const ep = await endpoint();
    const device = await RawPeer.create();
    device.send(notification('CON', 0x800, 1, 'x'), peerOf(ep));
    await device.next(isRst(0x800), 500);
    device.send(notification('NON', 0x801, 2, 'x'), peerOf(ep));
    await device.next(isRst(0x801), 500);
    expect(ep.stats()).toMatchObject({ unknownTokens: 2, claimedNotifications: 0 });
  });

  it('setUnknownNotificationHandler installs and removes the hook', async () => {
    const ep = await endpoint();
    const device = await RawPeer.create();
    const asked: UnknownNotification[] = [];
    ep.setUnknownNotificationHandler((n) => {
      asked.push(n);
      return false;
    });
    device.send(notification('CON', 0x900, 1, 'x'), peerOf(ep));
    await device.next(isRst(0x900));
    expect(asked).toHaveLength(1);
    ep.setUnknownNotificationHandler(undefined);
    device.send(notification('CON', 0x901, 1, 'x', Buffer.of(5)), peerOf(ep));
    await device.next(isRst(0x901));
    expect(asked).toHaveLength(1);
  });
});

describe('adoptObservation', () => {
  async function adopted() {
    let obs: ClientObservation | undefined;
    const { ep, device } = await withHook((n) => {
      obs = ep.adoptObservation(n.peer, REQUEST, n.token, n);
      return true;
    });
    device.send(notification('CON', 0xa00, 1, 'v1'), peerOf(ep));
    await device.next(isAck(0xa00));
    await until(() => obs !== undefined);
    return { ep, device, obs: obs! };
  }

  it('a proactive cancel sends GET with Observe=1 and the same token to the device (RFC 7641 §3.6)', async () => {
    const { device, obs } = await adopted();
    device.onMessage = (r) => {
      if (r.msg.type !== MessageType.CON || r.msg.code !== codeByte('0.01')) return;
      device.send(
        encodeMessage({
          type: MessageType.ACK,
          code: codeByte('2.05'),
          messageId: r.msg.messageId,
          token: r.msg.token,
          payload: Buffer.from('last'),
        }),
        { address: r.rinfo.address, port: r.rinfo.port },
      );
    };
    await obs.cancel();
    const get = device.received.find((r) => r.msg.code === codeByte('0.01'))!;
    expect(get.msg.token.equals(TOKEN)).toBe(true);
    expect(decodeUint(optionValue(get.msg, OptionNumber.OBSERVE)!)).toBe(1);
    const path = get.msg.numbers
      .map((n, k) => (n === OptionNumber.URI_PATH ? get.msg.values[k]!.toString() : undefined))
      .filter((x) => x !== undefined);
    expect(path).toEqual(['3303', '0', '5700']);
    expect(obs.endReason).toBe('cancelled');
  });

  it('a reactive cancel forgets the token: the next notification gets RST', async () => {
    const { ep, device, obs } = await adopted();
    await obs.cancel('reactive');
    ep.setUnknownNotificationHandler(undefined);
    device.send(notification('CON', 0xa01, 2, 'v2'), peerOf(ep));
    await device.next(isRst(0xa01));
    expect(device.received.some((r) => r.msg.code === codeByte('0.01'))).toBe(false);
  });

  it('refuses a token in use, a token over 8 bytes, and a closed endpoint', async () => {
    const { ep, device, obs } = await adopted();
    const first = obs.first;
    const peer = { address: '127.0.0.1', port: device.port };
    expect(() => ep.adoptObservation(peer, REQUEST, TOKEN, first)).toThrow(TokenInUseError);
    try {
      ep.adoptObservation(peer, REQUEST, TOKEN, first);
    } catch (err) {
      expect((err as TokenInUseError).coapCode).toBe('5.03');
    }
    expect(() => ep.adoptObservation(peer, REQUEST, Buffer.alloc(9), first)).toThrow(RangeError);
    await ep.close();
    expect(obs.endReason).toBe('closed');
    expect(() => ep.adoptObservation(peer, REQUEST, Buffer.of(1), first)).toThrow(
      EndpointClosedError,
    );
  });

  it('closing while the hook runs aborts its signal and answers nothing', async () => {
    let signal: AbortSignal | undefined;
    const { ep, device, asked } = await withHook(
      (_n, s) =>
        new Promise<boolean>((resolve) => {
          signal = s;
          s.addEventListener('abort', () => resolve(true));
        }),
    );
    device.send(notification('CON', 0xb00, 1, 'x'), peerOf(ep));
    await until(() => asked.length === 1);
    await ep.close();
    expect(signal?.aborted).toBe(true);
    await sleep(50);
    expect(device.received).toEqual([]);
  });
});
