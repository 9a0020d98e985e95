/**
 * The client's one socket to its LwM2M server: plain UDP for `coap://`, DTLS with a pre-shared
 * key for `coaps://` (Core TS 1.2 §7.1 security modes NoSec and PSK), under one `CoapEndpoint`
 * that both sends the registration requests and serves the server's device-management requests
 * from the same address and port, as the server expects (Core TS 1.2 §6.2: the server sends its
 * requests to the address the registration came from).
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { CoapEndpoint, type EndpointOptions, type Peer } from '@lwm2m-ts/coap';
import { InvalidValueError } from '@lwm2m-ts/core';
import { DtlsClientSocket } from '@lwm2m-ts/dtls';

/** CoAP over UDP (RFC 7252 §6.1) and over DTLS (§6.2) default ports. */
export const COAP_PORT = 5683;
export const COAPS_PORT = 5684;

/** A server URI (`/0/x/0`) that is not `coap://host[:port]` or `coaps://host[:port]`. */
export class InvalidServerUriError extends InvalidValueError {}

export interface ServerUri {
  readonly scheme: 'coap' | 'coaps';
  /** Host name or IP literal (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `coap://127.0.0.1:5683`, `coaps://[::1]`, `coap://lwm2m.example.com`. Results are
 * remembered (a fleet's devices share one URI, and URL parsing takes microseconds).
 */
export function parseServerUri(uri: string): ServerUri {
  let parsed = parsedUris.get(uri);
  if (parsed === undefined) {
    parsed = Object.freeze(parse(uri));
    if (parsedUris.size >= 256) parsedUris.clear();
    parsedUris.set(uri, parsed);
  }
  return parsed;
}
const parsedUris = new Map<string, ServerUri>();

function parse(uri: string): ServerUri {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new InvalidServerUriError(`server URI ${JSON.stringify(uri)} is not a URI`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'coap' && scheme !== 'coaps') {
    throw new InvalidServerUriError(
      `server URI ${JSON.stringify(uri)}: scheme must be coap or coaps (CoAP over UDP or DTLS), got ${scheme}`,
    );
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (host === '') throw new InvalidServerUriError(`server URI ${JSON.stringify(uri)} has no host`);
  if (url.username !== '' || url.password !== '') {
    throw new InvalidServerUriError(`server URI ${JSON.stringify(uri)} must not carry user info`);
  }
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
    // The registration path is always /rd (Core TS 1.2 §6.2.1); a path here would be ignored.
    throw new InvalidServerUriError(
      `server URI ${JSON.stringify(uri)} must have no path, query or fragment`,
    );
  }
  const port = url.port === '' ? (scheme === 'coaps' ? COAPS_PORT : COAP_PORT) : Number(url.port);
  if (port === 0) throw new InvalidServerUriError(`server URI ${JSON.stringify(uri)}: port 0`);
  return { scheme, host, port };
}

/** CoAP transmission parameters and limits passed through to the endpoint. */
export type TransportCoapOptions = Omit<
  EndpointOptions,
  'socket' | 'type' | 'address' | 'port' | 'closeSocket' | 'handler' | 'logger'
>;

export interface PskCredentials {
  /** The PSK identity (ASCII). */
  readonly identity: string;
  readonly key: Uint8Array;
}

export interface TransportOptions {
  readonly uri: string;
  /** Required for coaps://. */
  readonly psk?: PskCredentials | undefined;
  /** Local bind address and port (default: all interfaces, a free port). */
  readonly local?: { readonly address?: string; readonly port?: number } | undefined;
  readonly coap?: TransportCoapOptions | undefined;
  readonly logger?: EndpointOptions['logger'];
  /** DTLS handshake time limit in ms, retries included (default: the DTLS package's, 10 s). */
  readonly handshakeTimeoutMs?: number | undefined;
}

/** The endpoint, the socket under it and the server as a CoAP peer. */
export class Transport {
  readonly endpoint: CoapEndpoint;
  /** Where requests go. */
  readonly server: Peer;
  readonly uri: ServerUri;
  /** The datagram socket the endpoint reads and writes (a `DtlsClientSocket` for coaps://). */
  readonly socket: dgram.Socket;
  private closing: Promise<void> | undefined;
  /** The socket emitted `close` (the endpoint closes it; closing it again throws). */
  private socketClosed = false;
  private bound = false;
  private readonly local: TransportOptions['local'];

  constructor(options: TransportOptions) {
    const uri = parseServerUri(options.uri);
    this.uri = uri;
    const ipv6 =
      isIP(uri.host) === 6 || (options.local?.address && isIP(options.local.address) === 6);
    const type = ipv6 ? 'udp6' : 'udp4';
    if (uri.scheme === 'coaps') {
      if (options.psk === undefined) {
        throw new InvalidServerUriError(
          `server URI ${options.uri}: coaps:// needs a PSK identity and key (only PSK is supported)`,
        );
      }
      this.socket = new DtlsClientSocket({
        type,
        address: uri.host,
        port: uri.port,
        psk: { identity: options.psk.identity, key: options.psk.key },
        ...(options.handshakeTimeoutMs !== undefined && {
          handshakeTimeoutMs: options.handshakeTimeoutMs,
        }),
      });
    } else {
      this.socket = dgram.createSocket(type);
    }
    this.endpoint = new CoapEndpoint({
      ...options.coap,
      socket: this.socket,
      closeSocket: true,
      type,
      ...(options.local?.address !== undefined && { address: options.local.address }),
      ...(options.local?.port !== undefined && { port: options.local.port }),
      ...(options.logger !== undefined && { logger: options.logger }),
    });
    this.server = { address: uri.host, port: uri.port };
    this.local = options.local;
    this.socket.once('close', () => {
      this.socketClosed = true;
    });
  }

  get secure(): boolean {
    return this.uri.scheme === 'coaps';
  }

  /** Binds the socket (once). */
  async open(): Promise<{ address: string; port: number }> {
    if (!this.secure && !this.bound) {
      // A plain UDP socket is bound here, and the endpoint takes it bound: it would otherwise
      // find out whether it is by catching the exception `address()` throws, a cost per device.
      const local = this.local;
      await new Promise<void>((resolve, reject) => {
        this.socket.once('error', reject);
        this.socket.bind(local?.port ?? 0, local?.address, () => {
          this.socket.off('error', reject);
          resolve();
        });
      });
      this.bound = true;
    }
    return this.endpoint.listen();
  }

  /** The local address and port, once open. */
  address(): { address: string; port: number } {
    const a = this.endpoint.address();
    return { address: a.address, port: a.port };
  }

  /** Closes the endpoint and the socket (the DTLS socket sends close_notify). Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await this.endpoint.close();
    if (this.socketClosed) return;
    // An endpoint that never listened does not own a bound socket; close it here then.
    await new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // closed by the endpoint already
      }
    });
  }
}
