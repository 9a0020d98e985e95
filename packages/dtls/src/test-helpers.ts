/** Test helpers: a server on a free loopback port, event collection, waiting. */
import { once } from 'node:events';
import { DtlsServerSocket, type DtlsServerSocketOptions } from './dtls-server-socket.js';

export const KEYS: Record<string, Buffer> = {
  dev1: Buffer.from('secretkey'),
  dev2: Buffer.from('0123456789abcdef0123456789abcdef', 'hex'),
};

export const lookup = (identity: string): Buffer | undefined => KEYS[identity];

/** Starts a server on 127.0.0.1 with an ephemeral port (the kernel picks a free one). */
export async function startServer(
  options: Partial<DtlsServerSocketOptions> = {},
): Promise<{ server: DtlsServerSocket; port: number }> {
  const server = new DtlsServerSocket({ type: 'udp4', psk: lookup, ...options });
  server.bind(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: server.address().port };
}

export function closeServer(server: DtlsServerSocket): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Polls `pred` until true or `timeoutMs` passes. */
export async function until(pred: () => boolean, timeoutMs = 2000, stepMs = 5): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return true;
}

/** An echo responder: every decrypted datagram goes back to its sender prefixed by the identity. */
export function echo(server: DtlsServerSocket): void {
  server.on('message', (msg, rinfo) => {
    server.send(Buffer.concat([Buffer.from(`${rinfo.identity}:`), msg]), rinfo.port, rinfo.address);
  });
}
