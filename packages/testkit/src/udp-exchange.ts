import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { decodeCoapMessage, encodeCoapMessage } from './coap-message.js';

export interface UdpExchangeOptions {
  host: string;
  port: number;
  data: Uint8Array;
  /** How long to wait for replies (default 1 000 ms). */
  timeoutMs?: number;
  /** Stop at the first reply for which this returns true (default: the first reply). */
  accept?: (reply: Uint8Array) => boolean;
}

/**
 * Sends one datagram from a fresh loopback socket and resolves with the first (accepted) reply, or
 * `undefined` when none came within the timeout (also when the port answered with ICMP
 * unreachable). The socket is always closed.
 */
export function udpExchange(options: UdpExchangeOptions): Promise<Uint8Array | undefined> {
  const { host, port, data } = options;
  const v6 = net.isIPv6(host);
  const socket = dgram.createSocket(v6 ? 'udp6' : 'udp4');
  return new Promise<Uint8Array | undefined>((resolve) => {
    let done = false;
    const finish = (reply: Uint8Array | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close(() => resolve(reply));
    };
    const timer = setTimeout(() => finish(undefined), options.timeoutMs ?? 1000);
    // ECONNREFUSED from ICMP unreachable and the like: nobody is listening.
    socket.on('error', () => finish(undefined));
    socket.on('message', (msg, rinfo) => {
      if (rinfo.port !== port) return;
      const reply = new Uint8Array(msg);
      if (options.accept === undefined || options.accept(reply)) finish(reply);
    });
    socket.bind(0, v6 ? '::1' : '127.0.0.1', () => {
      socket.send(data, port, host, (err) => {
        if (err) finish(undefined);
      });
    });
  });
}

/**
 * CoAP ping (RFC 7252 §4.3): sends an Empty CON and resolves true when the endpoint answers with
 * a message carrying the same message id (a RST, normally) within the timeout.
 */
export async function coapPing(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  const messageId = randomInt(0, 0x10000);
  const reply = await udpExchange({
    host,
    port,
    data: encodeCoapMessage({ type: 'CON', code: 0, messageId }),
    timeoutMs,
    accept: (bytes) => {
      try {
        return decodeCoapMessage(bytes).messageId === messageId;
      } catch {
        return false;
      }
    },
  });
  return reply !== undefined;
}
