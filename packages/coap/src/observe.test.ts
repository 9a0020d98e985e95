import { describe, expect, it } from 'vitest';
import {
  type ClientObservationEndReason,
  type CoapEndpoint,
  type EndpointOptions,
  type IncomingResponse,
  ObservationEndedError,
  OptionNumber,
  type ServerObservation,
  UnexpectedResponseError,
} from './index.js';
import { decodeUint, encodeUint } from './options.js';
import { endpoint, peerOf, RawPeer, sleep, text } from './test-util.js';
import { codeByte, encodeMessage, MessageType, optionValue } from './wire.js';

/** A raw CON GET with Observe=0 (RFC 7641 §3.1) from `raw` to `server`; resolves on its answer. */
async function registerRaw(raw: RawPeer, server: CoapEndpoint, messageId: number, token: number) {
  raw.send(
    encodeMessage({
      type: MessageType.CON,
      code: 1,
      messageId,
      token: Buffer.of(token),
      options: [{ number: OptionNumber.OBSERVE, value: Buffer.alloc(0) }],
    }),
    peerOf(server),
  );
  return raw.next();
}

/** An endpoint serving an observable counter at /3303/0/5700; `observations` holds what it accepted. */
async function observable(options: Omit<EndpointOptions, 'handler'> = {}) {
  const observations: ServerObservation[] = [];
  const server = await endpoint({
    ...options,
    handler: (req, ctx) => {
      if (req.path.join('/') === 'none') return { code: '2.05', payload: Buffer.from('static') };
      if (req.path.join('/') === 'missing') return { code: '4.04' };
      const obs = ctx.observe();
      if (obs !== undefined) observations.push(obs);
      return { code: '2.05', payload: Buffer.from('v0'), contentFormat: 0 };
    },
  });
  return { server, observations };
}

function collect(obs: { on(e: 'notification', l: (n: IncomingResponse) => void): unknown }) {
  const got: IncomingResponse[] = [];
  obs.on('notification', (n) => got.push(n));
  return got;
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('observe between two endpoints', () => {
  it('delivers 5 notifications in order, then a proactive cancel aborts the server side', async () => {
    const { server, observations } = await observable();
    const client = await endpoint();
    const obs = await client.observe(peerOf(server), { method: 'GET', path: '/3303/0/5700' });
    expect(text(obs.first.payload)).toBe('v0');
    expect(obs.first.observe).toBeTypeOf('number');
    expect(obs.first.contentFormat).toBe(0);
    const got = collect(obs);
    const serverObs = observations[0]!;
    for (let i = 1; i <= 5; i++)
      serverObs.notify({ code: '2.05', payload: Buffer.from(`v${i}`), contentFormat: 0 });
    await until(() => got.length === 5);
    expect(got.map((n) => text(n.payload))).toEqual(['v1', 'v2', 'v3', 'v4', 'v5']);
    const seqs = got.map((n) => n.observe!);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(seqs[0]!).toBeGreaterThan(obs.first.observe!);
    expect(got.every((n) => n.contentFormat === 0)).toBe(true);

    const ends: ClientObservationEndReason[] = [];
    obs.on('end', (r) => ends.push(r));
    await obs.cancel(); // proactive: GET Observe=1
    expect(ends).toEqual(['cancelled']);
    expect(serverObs.cancelled).toBe(true);
    expect(serverObs.signal.aborted).toBe(true);
    expect(serverObs.endReason).toBe('deregistered');
    expect(serverObs.signal.reason).toBeInstanceOf(ObservationEndedError);
  });

  it('reactive cancel: the next notification is answered with RST and the server side aborts', async () => {
    const { server, observations } = await observable();
    const client = await endpoint();
    const obs = await client.observe(peerOf(server), { method: 'GET', path: '/3303/0/5700' });
    const got = collect(obs);
    const serverObs = observations[0]!;
    serverObs.notify({ code: '2.05', payload: Buffer.from('a') });
    await until(() => got.length === 1);
    await obs.cancel('reactive');
    const aborted = new Promise((resolve) => serverObs.signal.addEventListener('abort', resolve));
    serverObs.notify({ code: '2.05', payload: Buffer.from('b') }); // NON: answered with RST
    await aborted;
    expect(serverObs.endReason).toBe('reset');
    expect(got.length).toBe(1);
  });

  it('iterates notifications with for-await; leaving the loop cancels', async () => {
    const { server, observations } = await observable();
    const client = await endpoint();
    const obs = await client.observe(peerOf(server), { method: 'GET', path: '/3303/0/5700' });
    const serverObs = observations[0]!;
    setTimeout(() => {
      for (let i = 1; i <= 3; i++)
        serverObs.notify({ code: '2.05', payload: Buffer.from(`n${i}`) });
    }, 10);
    const seen: string[] = [];
    for await (const n of obs) {
      seen.push(text(n.payload));
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(['n1', 'n2', 'n3']);
    await until(() => serverObs.cancelled);
    expect(obs.endReason).toBe('cancelled');
  });

  it('sends every n-th notification as CON and a non-2.xx one ends both sides', async () => {
    const { server, observations } = await observable({ observeConEvery: 2 });
    const client = await endpoint();
    const obs = await client.observe(peerOf(server), { method: 'GET', path: '/3303/0/5700' });
    const got = collect(obs);
    const ended = new Promise<ClientObservationEndReason>((r) => obs.on('end', r));
    const serverObs = observations[0]!;
    for (let i = 1; i <= 4; i++) serverObs.notify({ code: '2.05', payload: Buffer.from(`${i}`) });
    serverObs.notify({ code: '4.04' });
    expect(serverObs.endReason).toBe('error-response');
    expect(await ended).toBe('error');
    expect(got.map((n) => n.code)).toEqual(['2.05', '2.05', '2.05', '2.05', '4.04']);
    expect(got[4]!.observe).toBeUndefined();
  });

  it('refuses observe() when the resource is not observable or missing', async () => {
    const { server } = await observable();
    const client = await endpoint();
    const notObservable = await client
      .observe(peerOf(server), { method: 'GET', path: '/none' })
      .catch((e) => e);
    expect(notObservable).toBeInstanceOf(UnexpectedResponseError);
    expect((notObservable as UnexpectedResponseError).response.code).toBe('2.05');
    const missing = await client
      .observe(peerOf(server), { method: 'GET', path: '/missing' })
      .catch((e) => e);
    expect((missing as UnexpectedResponseError).coapCode).toBe('4.04');
  });

  it('ends observations on both sides when an endpoint closes', async () => {
    const { server, observations } = await observable();
    const client = await endpoint();
    const obs = await client.observe(peerOf(server), { method: 'GET', path: '/3303/0/5700' });
    await server.close();
    expect(observations[0]!.endReason).toBe('endpoint-closed');
    const ended = new Promise((r) => obs.on('end', r));
    await client.close();
    expect(await ended).toBe('closed');
  });

  it('sends a notification bigger than a message as its first block; the client fetches the rest (RFC 7959 §2.6)', async () => {
    const big = Buffer.alloc(3000, 0x61);
    let current = Buffer.from('small');
    const observations: ServerObservation[] = [];
    const server = await endpoint({
      blockSize: 256,
      handler: (_req, ctx) => {
        const o = ctx.observe();
        if (o) observations.push(o);
        return { code: '2.05', payload: current };
      },
    });
    const client = await endpoint();
    const obs = await client.observe(peerOf(server), { method: 'GET', path: '/5/0' });
    const got = collect(obs);
    current = big;
    observations[0]!.notify({ code: '2.05', payload: big });
    await until(() => got.length === 1);
    expect(got[0]!.payload.length).toBe(3000);
    expect(Buffer.compare(Buffer.from(got[0]!.payload), big)).toBe(0);
    await obs.cancel();
  });
});

describe('observe against a raw peer', () => {
  it('drops stale (reordered) notifications per RFC 7641 §3.4 and ACKs CON ones', async () => {
    const raw = await RawPeer.create();
    raw.onMessage = ({ msg, rinfo }) => {
      if (msg.code === 0x01 && optionValue(msg, OptionNumber.OBSERVE) !== undefined) {
        raw.send(
          encodeMessage({
            type: MessageType.ACK,
            code: codeByte('2.05'),
            messageId: msg.messageId,
            token: msg.token,
            options: [{ number: OptionNumber.OBSERVE, value: encodeUint(10) }],
            payload: Buffer.from('10'),
          }),
          rinfo,
        );
      }
    };
    const client = await endpoint();
    const to = { address: '127.0.0.1', port: raw.port };
    const obs = await client.observe(to, { method: 'GET', path: '/x' });
    const token = obs.token;
    const got = collect(obs);
    const notify = (mid: number, seq: number, type: 0 | 1) =>
      raw.send(
        encodeMessage({
          type,
          code: codeByte('2.05'),
          messageId: mid,
          token,
          options: [{ number: OptionNumber.OBSERVE, value: encodeUint(seq) }],
          payload: Buffer.from(String(seq)),
        }),
        peerOf(client),
      );
    notify(1, 12, MessageType.NON);
    notify(2, 11, MessageType.NON); // older than 12: dropped
    notify(3, 13, MessageType.CON);
    notify(4, 0x800000 + 20, MessageType.NON); // more than 2^23 ahead: counts as older
    notify(5, 14, MessageType.NON);
    await until(() => got.length === 3);
    await sleep(20);
    expect(got.map((n) => n.observe)).toEqual([12, 13, 14]);
    const acks = raw.received.filter((r) => r.msg.type === MessageType.ACK);
    expect(acks.map((r) => r.msg.messageId)).toEqual([3]);
    await obs.cancel('reactive');
    notify(6, 15, MessageType.NON);
    const rst = await raw.next((r) => r.msg.type === MessageType.RST);
    expect(rst.msg.messageId).toBe(6);
  });

  it('serves an observation to a raw client: CON every n-th, RST cancels, re-registration replaces', async () => {
    const observations: ServerObservation[] = [];
    const server = await endpoint({
      observeConEvery: 3,
      handler: (_req, ctx) => {
        const o = ctx.observe();
        if (o) observations.push(o);
        return { code: '2.05', payload: Buffer.from('x') };
      },
    });
    const raw = await RawPeer.create();
    const register = (mid: number) =>
      raw.send(
        encodeMessage({
          type: MessageType.CON,
          code: 1,
          messageId: mid,
          token: Buffer.of(0xab),
          options: [
            { number: OptionNumber.OBSERVE, value: Buffer.alloc(0) },
            { number: OptionNumber.URI_PATH, value: Buffer.from('t') },
          ],
        }),
        peerOf(server),
      );
    register(100);
    const first = await raw.next();
    expect(first.msg.type).toBe(MessageType.ACK);
    expect(optionValue(first.msg, OptionNumber.OBSERVE)).toBeDefined();
    const o = observations[0]!;
    for (let i = 0; i < 3; i++) o.notify({ code: '2.05', payload: Buffer.from(`${i}`) });
    const notes = [
      await raw.next((_r) => true, 2000, 1),
      await raw.next((_r) => true, 2000, 2),
      await raw.next((_r) => true, 2000, 3),
    ];
    expect(notes.map((n) => n.msg.type)).toEqual([
      MessageType.NON,
      MessageType.NON,
      MessageType.CON,
    ]);
    const seqs = [first, ...notes].map((n) =>
      decodeUint(optionValue(n.msg, OptionNumber.OBSERVE)!),
    );
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    // ACK the CON one: no retransmission follows.
    raw.send(
      encodeMessage({ type: MessageType.ACK, code: 0, messageId: notes[2]!.msg.messageId }),
      peerOf(server),
    );

    // Re-registration with the same token replaces the observation (RFC 7641 §4.1).
    register(101);
    await raw.next((r) => r.msg.messageId === 101);
    expect(o.endReason).toBe('replaced');
    const o2 = observations[1]!;
    o2.notify({ code: '2.05', payload: Buffer.from('y') });
    const n = await raw.next((r) => r.msg.payload.toString() === 'y');
    raw.send(
      encodeMessage({ type: MessageType.RST, code: 0, messageId: n.msg.messageId }),
      peerOf(server),
    );
    await until(() => o2.cancelled);
    expect(o2.endReason).toBe('reset');
  });

  it('keeps one CON in flight (a newer notification replaces it) and retransmits a final 4.04 until ACKed', async () => {
    const { server, observations } = await observable({
      ackTimeout: 0.03,
      ackRandomFactor: 1,
      maxRetransmit: 3,
    });
    const raw = await RawPeer.create();
    await registerRaw(raw, server, 8, 2);
    const o = observations[0]!;
    o.notify({ code: '2.05', payload: Buffer.from('a') }, { confirmable: true });
    o.notify({ code: '2.05', payload: Buffer.from('b') }, { confirmable: false });
    const b = await raw.next((r) => r.msg.payload.toString() === 'b');
    expect(b.msg.type).toBe(MessageType.CON); // took over from the unacknowledged 'a'
    raw.send(
      encodeMessage({ type: MessageType.ACK, code: 0, messageId: b.msg.messageId }),
      peerOf(server),
    );
    await sleep(100);
    expect(o.cancelled).toBe(false);
    o.notify({ code: '4.04' });
    expect(o.endReason).toBe('error-response');
    const end = await raw.next((r) => r.msg.code === codeByte('4.04'));
    expect(end.msg.type).toBe(MessageType.CON);
    raw.send(
      encodeMessage({ type: MessageType.ACK, code: 0, messageId: end.msg.messageId }),
      peerOf(server),
    );
    await sleep(150);
    expect(raw.received.filter((r) => r.msg.code === codeByte('4.04')).length).toBe(1);
  });

  it('sends a final error notification with a long diagnostic in one message, cut to fit (RFC 7252 §5.5.2)', async () => {
    const { server, observations } = await observable({ blockSize: 64 });
    const raw = await RawPeer.create();
    await registerRaw(raw, server, 9, 3);
    const o = observations[0]!;
    const message = 'sensor 0 removed: '.repeat(100); // 1800 bytes
    o.notify({ code: '5.03', payload: Buffer.from(message) });
    const end = await raw.next((r) => r.msg.code === codeByte('5.03'));
    expect(optionValue(end.msg, OptionNumber.BLOCK2)).toBeUndefined();
    expect(end.msg.payload.length).toBeLessThanOrEqual(1024);
    const diag = end.msg.payload.toString('utf8');
    expect(diag.endsWith('…')).toBe(true);
    expect(message.startsWith(diag.slice(0, -1))).toBe(true);
  });

  it('drops an observer whose CON notification is never acknowledged (RFC 7641 §4.5)', async () => {
    const { server, observations } = await observable({
      ackTimeout: 0.03,
      ackRandomFactor: 1,
      maxRetransmit: 2,
    });
    const raw = await RawPeer.create();
    await registerRaw(raw, server, 7, 1);
    const o = observations[0]!;
    o.notify({ code: '2.05', payload: Buffer.from('c') }, { confirmable: true });
    await until(() => o.cancelled, 2000);
    expect(o.endReason).toBe('timeout');
    const copies = raw.received.filter((r) => r.msg.payload.toString() === 'c');
    expect(copies.length).toBe(3);
  });
});
