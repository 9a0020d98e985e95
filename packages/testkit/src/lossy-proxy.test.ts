import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { type LossyUdpProxy, startLossyUdpProxy } from './lossy-proxy.js';

type Family = 'udp4' | 'udp6';
const loopback = (f: Family) => (f === 'udp6' ? '::1' : '127.0.0.1');

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

async function socket(family: Family = 'udp4'): Promise<dgram.Socket> {
  const s = dgram.createSocket(family);
  await new Promise<void>((r) => s.bind(0, loopback(family), () => r()));
  opened.push({ close: () => new Promise<void>((r) => s.close(() => r())) });
  return s;
}

async function echoServer(family: Family = 'udp4'): Promise<{ address: string; port: number }> {
  const s = await socket(family);
  s.on('message', (msg, rinfo) => s.send(msg, rinfo.port, rinfo.address));
  return { address: loopback(family), port: s.address().port };
}

async function proxy(options: Parameters<typeof startLossyUdpProxy>[0]): Promise<LossyUdpProxy> {
  const p = await startLossyUdpProxy(options);
  opened.push(p);
  return p;
}

async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * Sends `count` numbered datagrams through the proxy to an echo server, in batches that let every
 * datagram settle (so the OS never drops any), and returns the numbers that came back.
 */
async function pump(p: LossyUdpProxy, client: dgram.Socket, count: number): Promise<number[]> {
  const got: number[] = [];
  client.on('message', (msg) => got.push(msg.readUInt32BE(0)));
  const settled = (sent: number) => {
    const s = p.stats;
    return (
      s.upstream.forwarded + s.upstream.dropped === sent &&
      s.downstream.forwarded + s.downstream.dropped === s.upstream.forwarded &&
      got.length === s.downstream.forwarded
    );
  };
  for (let i = 0; i < count; ) {
    const end = Math.min(count, i + 50);
    for (; i < end; i++) {
      const b = Buffer.alloc(8);
      b.writeUInt32BE(i, 0);
      client.send(b, p.address.port, p.address.address);
    }
    await until(() => settled(end));
  }
  client.removeAllListeners('message');
  return got;
}

describe('startLossyUdpProxy', () => {
  it('forwards everything both ways with dropRate 0', async () => {
    const target = await echoServer();
    const p = await proxy({ target, dropRate: 0 });
    const got = await pump(p, await socket(), 300);
    expect(got).toHaveLength(300);
    expect(p.stats).toMatchObject({
      upstream: { forwarded: 300, dropped: 0 },
      downstream: { forwarded: 300, dropped: 0 },
      forwarded: 600,
      dropped: 0,
      clients: 1,
    });
  });

  it('drops about 30% per direction at 0.3, the same datagrams for the same seed', async () => {
    const target = await echoServer();
    const run = async (seed: number) => {
      const p = await proxy({ target, dropRate: 0.3, seed });
      const got = await pump(p, await socket(), 1000);
      const s = p.stats;
      await p.close();
      return { got, s };
    };
    const a = await run(42);
    const upRate = a.s.upstream.dropped / 1000;
    const downRate = a.s.downstream.dropped / a.s.upstream.forwarded;
    expect(upRate).toBeGreaterThan(0.2);
    expect(upRate).toBeLessThan(0.4);
    expect(downRate).toBeGreaterThan(0.2);
    expect(downRate).toBeLessThan(0.4);
    expect(a.got.length).toBe(a.s.downstream.forwarded);
    const b = await run(42);
    expect(b.got).toEqual(a.got);
    expect(b.s).toEqual(a.s);
    const c = await run(43);
    expect(c.got).not.toEqual(a.got);
  });

  it('drops the first N datagrams, then forwards', async () => {
    const target = await echoServer();
    const p = await proxy({ target, dropFirst: 3 });
    const got = await pump(p, await socket(), 10);
    expect(got).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(p.stats.upstream.dropped).toBe(3);
  });

  it('drops per direction, by rule and by setDropRate', async () => {
    const target = await echoServer();
    const p = await proxy({
      target,
      dropFirst: { downstream: 2 },
      decide: (d) => (d.direction === 'upstream' && d.index === 5 ? 'drop' : undefined),
    });
    const client = await socket();
    expect(await pump(p, client, 8)).toEqual([2, 3, 4, 6, 7]);
    p.setDropRate({ upstream: 1 });
    const before = p.stats.upstream.dropped;
    client.send(Buffer.alloc(8), p.address.port, p.address.address);
    await until(() => p.stats.upstream.dropped === before + 1);
    expect(() => p.setDropRate(1.5)).toThrow(RangeError);
  });

  it('keeps one upstream socket per client so replies go back to the right one', async () => {
    const target = await echoServer();
    const p = await proxy({ target });
    const [a, b] = [await socket(), await socket()];
    const replies = (s: dgram.Socket) =>
      new Promise<string>((resolve) => s.once('message', (m) => resolve(m.toString())));
    const [ra, rb] = [replies(a), replies(b)];
    a.send('from-a', p.address.port, p.address.address);
    b.send('from-b', p.address.port, p.address.address);
    expect(await ra).toBe('from-a');
    expect(await rb).toBe('from-b');
    expect(p.stats.clients).toBe(2);
  });

  it('works over IPv6 loopback and delays datagrams', async () => {
    const target = await echoServer('udp6');
    const p = await proxy({ target, delayMs: 30 });
    expect(p.address.address).toBe('::1');
    const client = await socket('udp6');
    const t0 = performance.now();
    const reply = new Promise<string>((r) => client.once('message', (m) => r(m.toString())));
    client.send('ping', p.address.port, '::1');
    expect(await reply).toBe('ping');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
  });

  it('releases its sockets on close', async () => {
    const target = await echoServer();
    const p = await startLossyUdpProxy({ target, delayMs: 1000 });
    const client = await socket();
    client.send('x', p.address.port, p.address.address);
    await until(() => p.stats.upstream.forwarded === 1);
    await p.close();
    await p.close();
    const again = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.bind(p.address.port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((r) => again.close(() => r()));
  });
});
