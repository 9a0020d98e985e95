import dgram from 'node:dgram';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { freeTcpPort, freeUdpPort, freeUdpPortPair, freeUdpPorts } from './ports.js';

function bindUdp(port: number, host = '127.0.0.1'): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    s.once('error', reject);
    s.bind(port, host, () => resolve(s));
  });
}

const close = (s: dgram.Socket) => new Promise<void>((r) => s.close(() => r()));

describe('free ports', () => {
  it('finds a UDP port that can be bound', async () => {
    const port = await freeUdpPort();
    expect(port).toBeGreaterThan(0);
    await close(await bindUdp(port));
  });

  it('finds a UDP port on ::1', async () => {
    const port = await freeUdpPort('::1');
    await close(await bindUdp(port, '::1'));
  });

  it('finds distinct UDP ports', async () => {
    const ports = await freeUdpPorts(8);
    expect(new Set(ports).size).toBe(8);
    const sockets = await Promise.all(ports.map((p) => bindUdp(p)));
    await Promise.all(sockets.map(close));
  });

  it('finds a pair P, P+1 free for UDP and TCP', async () => {
    const port = await freeUdpPortPair({ tcp: true });
    const a = await bindUdp(port);
    const b = await bindUdp(port + 1);
    await Promise.all([close(a), close(b)]);
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(port + 1, '127.0.0.1', () => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('finds a TCP port', async () => {
    const port = await freeTcpPort();
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });
});
