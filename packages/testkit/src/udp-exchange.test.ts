import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { freeUdpPort } from './ports.js';
import { coapPing, udpExchange } from './udp-exchange.js';

describe('udpExchange / coapPing', () => {
  it('returns the reply, or undefined when nobody answers', async () => {
    const server = dgram.createSocket('udp4');
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
    server.on('message', (msg, rinfo) => {
      // Answer a CoAP ping with a RST carrying the same message id.
      const rst = Buffer.from([0x70, 0x00, msg[2]!, msg[3]!]);
      server.send(msg.length === 4 ? rst : Buffer.from('pong'), rinfo.port, rinfo.address);
    });
    try {
      const { port } = server.address();
      const reply = await udpExchange({ host: '127.0.0.1', port, data: Buffer.from('hello') });
      expect(Buffer.from(reply!).toString()).toBe('pong');
      expect(await coapPing('127.0.0.1', port)).toBe(true);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    const silent = await freeUdpPort();
    expect(await coapPing('127.0.0.1', silent, 100)).toBe(false);
  });
});
