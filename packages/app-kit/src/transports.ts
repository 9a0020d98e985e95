/**
 * The two sockets of an LwM2M server role: plain CoAP, and CoAP over DTLS 1.2 with PSK. Both
 * listen on all interfaces by default (devices reach the server from the network).
 */
import type dgram from 'node:dgram';
import { createSocket } from 'node:dgram';
import {
  CoapEndpoint,
  type CoapLogger,
  type EndpointOptions,
  type RequestHandler,
} from '@lwm2m-ts/coap';
import {
  type CipherSuiteName,
  type DtlsPeer,
  DtlsServerSocket,
  type PskLookup,
} from '@lwm2m-ts/dtls';

export interface TransportOptions {
  /** Default `0.0.0.0` (`::` for udp6): devices reach the server from the network. */
  readonly address?: string;
  /** Default: the role's port (server 5683/5684, bootstrap 5783/5784); 0 picks a free port. */
  readonly port?: number;
  readonly type?: 'udp4' | 'udp6';
  /**
   * SO_RCVBUF of the socket, in bytes (Linux doubles it and caps it at `net.core.rmem_max`).
   * Datagrams that arrive while the buffer is full are dropped by the kernel: a bigger buffer
   * rides out bursts such as thousands of devices registering at once. Default: the system's
   * (`net.core.rmem_default`, often 208 KB).
   */
  readonly recvBufferSize?: number;
}

export interface DtlsTransportOptions extends TransportOptions {
  readonly identityHint?: string;
  readonly cipherSuites?: readonly CipherSuiteName[];
  readonly maxSessions?: number;
}

/** CoAP transmission parameters (RFC 7252 §4.8) and block size, the same for both transports. */
export type CoapTuning = Pick<
  EndpointOptions,
  'ackTimeout' | 'ackRandomFactor' | 'maxRetransmit' | 'blockSize' | 'maxBodySize'
>;

export interface EndpointSetup {
  /** The port when the options name none. */
  readonly defaultPort: number;
  readonly handler: RequestHandler;
  readonly coapOptions?: CoapTuning | undefined;
  readonly logger?: CoapLogger | undefined;
}

export interface DtlsEndpointSetup extends EndpointSetup {
  /** The key of a PSK identity; undefined for an unknown one. */
  readonly psk: PskLookup;
  /** A handshake failed; `message` is `DTLS handshake failed: <why>`. */
  readonly onHandshakeError: (peer: DtlsPeer, message: string) => void;
}

function wildcard(type: 'udp4' | 'udp6'): string {
  return type === 'udp6' ? '::' : '0.0.0.0';
}

async function listen(
  endpoint: CoapEndpoint,
  socket: dgram.Socket,
  recvBufferSize: number | undefined,
): Promise<CoapEndpoint> {
  try {
    await endpoint.listen();
    // Only a bound socket has a buffer to size.
    if (recvBufferSize !== undefined) socket.setRecvBufferSize(recvBufferSize);
  } catch (err) {
    await endpoint.close().catch(() => {});
    throw err;
  }
  return endpoint;
}

/** A plain CoAP endpoint, listening (closed again when it cannot listen). */
export function listenCoap(
  options: TransportOptions | undefined,
  setup: EndpointSetup,
): Promise<CoapEndpoint> {
  const type = options?.type ?? 'udp4';
  const bad = badBufferSize(options?.recvBufferSize);
  if (bad !== undefined) return Promise.reject(bad);
  const socket = createSocket(type);
  return listen(
    new CoapEndpoint({
      ...setup.coapOptions,
      socket,
      closeSocket: true,
      address: options?.address ?? wildcard(type),
      port: options?.port ?? setup.defaultPort,
      handler: setup.handler,
      ...(setup.logger && { logger: setup.logger }),
    }),
    socket,
    options?.recvBufferSize,
  );
}

/** A CoAP endpoint on a DTLS 1.2 PSK server socket, listening (closed again when it cannot). */
export function listenDtls(
  options: DtlsTransportOptions | undefined,
  setup: DtlsEndpointSetup,
): Promise<CoapEndpoint> {
  const type = options?.type ?? 'udp4';
  const bad = badBufferSize(options?.recvBufferSize);
  if (bad !== undefined) return Promise.reject(bad);
  const socket = new DtlsServerSocket({
    type,
    psk: setup.psk,
    ...(options?.identityHint !== undefined && { identityHint: options.identityHint }),
    ...(options?.cipherSuites && { cipherSuites: options.cipherSuites }),
    ...(options?.maxSessions !== undefined && { maxSessions: options.maxSessions }),
  });
  socket.on('handshakeError', (err, peer) =>
    setup.onHandshakeError(peer, `DTLS handshake failed: ${err.message}`),
  );
  return listen(
    new CoapEndpoint({
      ...setup.coapOptions,
      socket,
      closeSocket: true,
      address: options?.address ?? wildcard(type),
      port: options?.port ?? setup.defaultPort,
      handler: setup.handler,
      ...(setup.logger && { logger: setup.logger }),
    }),
    socket,
    options?.recvBufferSize,
  );
}

function badBufferSize(size: number | undefined): RangeError | undefined {
  if (size === undefined || (Number.isSafeInteger(size) && size > 0)) return undefined;
  return new RangeError(`recvBufferSize must be a whole number of bytes > 0, got ${size}`);
}

/** Where the endpoints are bound, for `addresses()`. */
export function boundAddresses(endpoints: {
  readonly coap: CoapEndpoint | undefined;
  readonly dtls: CoapEndpoint | undefined;
}): {
  coap?: { address: string; port: number };
  dtls?: { address: string; port: number };
} {
  const pick = (e: CoapEndpoint | undefined) => {
    if (e === undefined) return undefined;
    const { address, port } = e.address();
    return { address, port };
  };
  const coap = pick(endpoints.coap);
  const dtls = pick(endpoints.dtls);
  return { ...(coap && { coap }), ...(dtls && { dtls }) };
}
