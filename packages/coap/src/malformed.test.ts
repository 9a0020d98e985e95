/**
 * Bad input into a live endpoint (issue 5, "Bad input and faults"): every named malformed
 * datagram of the testkit, then 20 000 random datagrams and mutated valid messages from raw UDP
 * sockets. testkit's strict decoder is the independent oracle: whatever it rejects as a message
 * format error must be rejected by the endpoint too (counted, never handed to the handler,
 * answered with RST exactly when it is a CON with a readable header, otherwise ignored).
 *
 * No sleeps: after each batch a CoAP ping goes out from the same socket ("fence"); the endpoint
 * handles datagrams in order and replies to one socket arrive in order, so once the fence's RST is
 * back every reply to the batch before it has been received.
 */
import dgram from 'node:dgram';
import {
  CoapFormatError,
  decodeCoapMessage,
  encodeCoapMessage,
  malformedDatagrams,
  mutateDatagram,
  randomDatagrams,
  uriPathOptions,
} from '@lwm2m-ts/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import type { CoapLogger, CoapRequest, MalformedReason, Peer } from './index.js';
import { endpoint, peerOf, text } from './test-util.js';

/** A raw UDP socket that keeps every reply, undecoded. */
class Probe {
  readonly replies: Buffer[] = [];
  private fenceWaiter: { mid: number; resolve: () => void } | undefined;

  private constructor(readonly socket: dgram.Socket) {
    socket.on('message', (buf) => {
      this.replies.push(buf);
      const w = this.fenceWaiter;
      if (w !== undefined && isRstFor(buf, w.mid)) {
        this.fenceWaiter = undefined;
        w.resolve();
      }
    });
  }

  static async open(): Promise<Probe> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    probes.push(socket);
    return new Probe(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(data: Uint8Array, to: Peer): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(data, to.port, to.address, (err) => (err ? reject(err) : resolve())),
    );
  }

  /**
   * Sends a ping (Empty CON) with a message id no datagram of the batch used, and resolves when
   * its RST is back: every reply to what was sent before it has arrived by then.
   */
  async fence(to: Peer, batch: readonly Uint8Array[]): Promise<void> {
    const used = new Set(batch.filter((d) => d.length >= 4).map((d) => (d[2]! << 8) | d[3]!));
    let mid = 0xf00d;
    while (used.has(mid)) mid = (mid + 1) & 0xffff;
    const done = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`fence ${mid} not answered`)), 5000);
      this.fenceWaiter = {
        mid,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      };
    });
    await this.send(encodeCoapMessage({ type: 'CON', code: 0, messageId: mid }), to);
    await done;
    // The fence's own RST is not a reply to the batch.
    this.replies.pop();
  }
}

const probes: dgram.Socket[] = [];

afterEach(async () => {
  await Promise.all(probes.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

function isRstFor(buf: Buffer, mid: number): boolean {
  return buf.length === 4 && buf[0] === 0x70 && buf[1] === 0 && buf.readUInt16BE(2) === mid;
}

/** testkit's strict RFC 7252 §3 decoder as the oracle: undefined for a message format error. */
function strictDecode(d: Uint8Array) {
  try {
    return decodeCoapMessage(d);
  } catch (err) {
    if (err instanceof CoapFormatError) return undefined;
    throw err;
  }
}

/** RFC 7252 §4.2: a rejected CON is answered with RST, which needs its message id (a version-1 header). */
function rstExpected(d: Uint8Array): boolean {
  return d.length >= 4 && d[0]! >> 6 === 1 && ((d[0]! >> 4) & 3) === 0;
}

/**
 * Critical options a request may reach the handler with: RFC 7252 Table 4 and RFC 7959 §2.1, with
 * their value lengths and whether they repeat. Anything else critical (OSCORE, Q-Block, unknown
 * numbers), a bad length or a repeated non-repeatable one must have been refused with 4.02.
 */
const CRITICAL: ReadonlyMap<number, readonly [min: number, max: number, repeatable: boolean]> =
  new Map([
    [1, [0, 8, true]], // If-Match
    [3, [1, 255, false]], // Uri-Host
    [5, [0, 0, false]], // If-None-Match
    [7, [0, 2, false]], // Uri-Port
    [11, [0, 255, true]], // Uri-Path
    [15, [0, 255, true]], // Uri-Query
    [17, [0, 2, false]], // Accept
    [23, [0, 3, false]], // Block2
    [27, [0, 3, false]], // Block1
    [35, [1, 1034, false]], // Proxy-Uri
    [39, [1, 255, false]], // Proxy-Scheme
  ]);

function unacceptableCriticalOption(req: CoapRequest): number | undefined {
  const count = new Map<number, number>();
  for (const o of req.options) count.set(o.number, (count.get(o.number) ?? 0) + 1);
  for (const o of req.options) {
    if ((o.number & 1) === 0) continue;
    const spec = CRITICAL.get(o.number);
    if (spec === undefined) return o.number;
    const [min, max, repeatable] = spec;
    if (o.value.length < min || o.value.length > max) return o.number;
    if (!repeatable && count.get(o.number)! > 1) return o.number;
  }
  return undefined;
}

/** An endpoint that records everything that could show a fault. */
async function target() {
  const calls: CoapRequest[] = [];
  const malformed: [Peer, MalformedReason][] = [];
  const errors: Error[] = [];
  const warnings: string[] = [];
  const logger: CoapLogger = { warn: (_obj, msg) => warnings.push(msg) };
  const ep = await endpoint({
    logger,
    handler: (req) => {
      calls.push(req);
      return { code: '2.05', payload: Buffer.from('ok'), contentFormat: 0 };
    },
  });
  ep.on('malformed', (peer, reason) => malformed.push([peer, reason]));
  ep.on('error', (err) => errors.push(err));
  return { ep, to: peerOf(ep), calls, malformed, errors, warnings };
}

describe('malformed datagrams (testkit cases)', () => {
  it('rejects each as RFC 7252 says, never calls the handler for one, and counts them', async () => {
    const t = await target();
    const cases = malformedDatagrams();
    let formatErrors = 0;
    let badOptions = 0;
    for (const c of cases) {
      // A socket per case: the cases share message id 0x1234, and a second well-formed request
      // with it from the same peer would rightly be answered as a duplicate.
      const probe = await Probe.open();
      const before = t.malformed.length;
      await probe.send(c.bytes, t.to);
      await probe.fence(t.to, [c.bytes]);
      const replies = probe.replies.map((r) => decodeCoapMessage(r));
      const decoded = strictDecode(c.bytes);
      if (decoded === undefined) {
        formatErrors++;
        expect(t.malformed.length - before, c.name).toBe(1);
        expect(t.malformed.at(-1)![0].port, c.name).toBe(probe.port);
      }
      switch (c.expected) {
        case 'ignore': // too short for a message id, or not version 1: silence
          expect(replies, c.name).toEqual([]);
          break;
        case 'reject': // a CON with a readable header: RST with its message id, nothing else
          expect(replies, c.name).toHaveLength(1);
          expect(replies[0], c.name).toMatchObject({
            type: 'RST',
            code: '0.00',
            messageId: 0x1234,
          });
          break;
        case 'bad-option': {
          badOptions++;
          expect(replies, c.name).toHaveLength(1);
          expect(replies[0], c.name).toMatchObject({
            type: 'ACK',
            code: '4.02',
            messageId: 0x1234,
          });
          expect(Buffer.from(replies[0]!.token), c.name).toEqual(Buffer.from(decoded!.token));
          break;
        }
        case 'any': // no particular answer, but never a successful one
          for (const r of replies) expect(r.code, c.name).not.toMatch(/^2\./);
          break;
      }
    }
    expect(t.calls).toEqual([]);
    // Well-formed but reserved (7.31): rejected as malformed as well (RFC 7252 §12.1).
    expect(t.malformed.map(([, r]) => r)).toContain('reserved-code-class');
    expect(formatErrors).toBeGreaterThanOrEqual(20);
    expect(t.ep.stats()).toMatchObject({
      malformed: t.malformed.length,
      badOptions,
      received: cases.length + cases.length, // every case and its fence
      pings: cases.length,
    });
    expect(t.errors).toEqual([]);
    expect(t.warnings).not.toContain('coap: failed to process a datagram');

    const ok = await healthyGet(t.to);
    expect(ok).toBe('ok');
  });
});

describe('fuzzing a live endpoint', () => {
  it('survives 20 000 random and 6 000 mutated datagrams, rejecting exactly the malformed ones', async () => {
    const t = await target();
    const random = randomDatagrams(0x5eed, 20_000);
    const mutated = validMessages().flatMap((valid, k) =>
      Array.from({ length: 1000 }, (_, i) => {
        const d = mutateDatagram(valid, 1_000_000 * (k + 1) + i);
        // A message id of its own (where there is one), so that mutations of one base are not
        // all answered as duplicates of the first and the handler path is exercised too.
        if (d.length >= 4) {
          d[2] = (1000 * k + i) >> 8;
          d[3] = (1000 * k + i) & 0xff;
        }
        return d;
      }),
    );
    const all = [...random, ...mutated];
    // Malformed datagrams go out from one socket, well-formed ones from another: whatever reaches
    // the handler from the first is a fault, and its replies can be counted exactly.
    const bad = all.filter((d) => strictDecode(d) === undefined);
    const good = all.filter((d) => strictDecode(d) !== undefined);
    expect(bad.length).toBeGreaterThan(10_000);
    expect(good.length).toBeGreaterThan(1_000);
    const badProbe = await Probe.open();
    const goodProbe = await Probe.open();

    // Batches small enough for the receive buffers (nothing may be lost for the counts to hold).
    const BATCH = 100;
    const send = async (probe: Probe, list: Uint8Array[]) => {
      for (let i = 0; i < list.length; i += BATCH) {
        const batch = list.slice(i, i + BATCH);
        await Promise.all(batch.map((d) => probe.send(d, t.to)));
        await probe.fence(t.to, batch);
      }
    };
    const started = performance.now();
    await send(badProbe, bad);
    await send(goodProbe, good);
    const elapsed = performance.now() - started;

    const fences = Math.ceil(bad.length / BATCH) + Math.ceil(good.length / BATCH);
    expect(t.ep.stats().received).toBe(all.length + fences); // nothing lost on the way

    // Every malformed datagram was counted and reported with its sender, …
    const fromBad = t.malformed.filter(([p]) => p.port === badProbe.port);
    expect(fromBad).toHaveLength(bad.length);
    expect(t.ep.stats().malformed).toBe(t.malformed.length);
    // … none reached the handler, …
    expect(t.calls.filter((r) => r.peer.port === badProbe.port)).toEqual([]);
    // … and the only answers were RSTs, one per CON whose header could be read (§4.2, §4.3).
    expect(badProbe.replies.every((r) => r.length === 4 && r[0] === 0x70 && r[1] === 0)).toBe(true);
    const rstMids = badProbe.replies.map((r) => r.readUInt16BE(2)).sort((a, b) => a - b);
    const expectedMids = bad
      .filter(rstExpected)
      .map((d) => (d[2]! << 8) | d[3]!)
      .sort((a, b) => a - b);
    expect(rstMids).toEqual(expectedMids);

    // Well-formed input: the handler never sees an unrecognised critical option (§5.4.1: 4.02),
    // and everything the endpoint sends is itself well-formed.
    expect(t.calls.length).toBeGreaterThan(0);
    for (const req of t.calls) expect(unacceptableCriticalOption(req)).toBeUndefined();
    for (const r of goodProbe.replies) expect(strictDecode(r)).toBeDefined();
    expect(t.ep.stats().badOptions).toBeGreaterThan(0);

    expect(t.errors).toEqual([]);
    expect(t.warnings).not.toContain('coap: failed to process a datagram');
    expect(t.warnings).not.toContain('coap: node-coap failed on a request');
    expect(t.warnings).not.toContain('coap: request handler failed');

    // And it still serves a normal request promptly.
    const t0 = performance.now();
    expect(await healthyGet(t.to)).toBe('ok');
    expect(performance.now() - t0).toBeLessThan(500);
    // Bounded: 26 000 datagrams in well under the test's time limit.
    expect(elapsed).toBeLessThan(20_000);
  }, 30_000);
});

/** Valid messages of every kind the endpoint handles, as fuzz bases. */
function validMessages(): Uint8Array[] {
  const token = Uint8Array.of(1, 2, 3, 4);
  return [
    // CON GET /3/0/0?a=1 with Accept
    encodeCoapMessage({
      messageId: 0x0101,
      token,
      options: [...uriPathOptions('3/0/0'), { number: 15, value: 'a=1' }, { number: 17, value: 0 }],
    }),
    // CON POST /rd with Content-Format and a payload
    encodeCoapMessage({
      code: '0.02',
      messageId: 0x0102,
      token,
      options: [...uriPathOptions('rd'), { number: 12, value: 40 }, { number: 15, value: 'ep=x' }],
      payload: '</1/0>,</3/0>',
    }),
    // CON PUT with Block1 (block 0 of a larger body, 16-byte blocks) and Size1
    encodeCoapMessage({
      code: '0.03',
      messageId: 0x0103,
      token,
      options: [
        ...uriPathOptions('fw'),
        { number: 27, value: 0x08 },
        { number: 60, value: 64 },
        { number: 292, value: Uint8Array.of(7, 7) },
      ],
      payload: new Uint8Array(16).fill(0x61),
    }),
    // NON GET with Observe=0 and Block2
    encodeCoapMessage({
      type: 'NON',
      messageId: 0x0104,
      token,
      options: [...uriPathOptions('obs'), { number: 6, value: 0 }, { number: 23, value: 0x02 }],
    }),
    // A CON notification for an unknown token (answered with RST)
    encodeCoapMessage({
      code: '2.05',
      messageId: 0x0105,
      token,
      options: [
        { number: 6, value: 7 },
        { number: 12, value: 0 },
      ],
      payload: '21.5',
    }),
    // A piggybacked response nobody asked for (ignored)
    encodeCoapMessage({ type: 'ACK', code: '2.05', messageId: 0x0106, token, payload: 'x' }),
  ];
}

/** A plain GET from a fresh raw socket: the payload of the answer. */
async function healthyGet(to: Peer): Promise<string> {
  const probe = await Probe.open();
  const reply = new Promise<Buffer>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no answer to a normal GET')), 2000);
    probe.socket.on('message', (buf) => {
      clearTimeout(t);
      resolve(buf);
    });
  });
  await probe.send(
    encodeCoapMessage({
      messageId: 0x4242,
      token: Uint8Array.of(0x42),
      options: uriPathOptions('x'),
    }),
    to,
  );
  const m = decodeCoapMessage(await reply);
  expect(m).toMatchObject({ type: 'ACK', code: '2.05', messageId: 0x4242 });
  return text(m.payload);
}
