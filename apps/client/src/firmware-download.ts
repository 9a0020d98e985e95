/**
 * Pull delivery of a firmware package (Core TS 1.2 Appendix E.6, object 5 resource 1 "Package
 * URI"): a CoAP GET of `coap://` or `coaps://` (PSK) URIs, block-wise (RFC 7959 Block2, which
 * `CoapEndpoint.request` reassembles), on an endpoint of its own that lives for one download.
 *
 * Failures are `FirmwareUpdateError`s carrying the Update Result code (/5/0/5) the object
 * reports, as the spec wants every firmware update failure told through that resource.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import {
  CoapEndpoint,
  type EndpointOptions,
  type IncomingResponse,
  type Peer,
  RequestAbortedError,
} from '@lwm2m-ts/coap';
import { EntityTooLargeError, LwM2mError, type ResponseCode, TimeoutError } from '@lwm2m-ts/core';
import { DtlsClientSocket } from '@lwm2m-ts/dtls';

/** Values of the Update Result resource /5/0/5 (object 5 version 1.2). */
export const UpdateResult = {
  Initial: 0,
  Success: 1,
  NotEnoughFlash: 2,
  OutOfRam: 3,
  ConnectionLost: 4,
  IntegrityCheckFailure: 5,
  UnsupportedPackageType: 6,
  InvalidUri: 7,
  UpdateFailed: 8,
  UnsupportedProtocol: 9,
  /** Object 5 version 1.1+: the Cancel resource (/5/0/10) was executed. */
  Cancelled: 10,
  /** Object 5 version 1.1+: the user deferred the update. */
  Deferred: 11,
} as const;

export type UpdateResultCode = (typeof UpdateResult)[keyof typeof UpdateResult];

/** The Update Result codes that say a download or an update failed. */
export type FailureResult = 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;

const FAILURE_RESULTS: ReadonlySet<number> = new Set([2, 3, 4, 5, 6, 7, 8, 9, 10]);

export function isFailureResult(n: unknown): n is FailureResult {
  return typeof n === 'number' && FAILURE_RESULTS.has(n);
}

/**
 * The CoAP code each failure would map to if it ever reached a CoAP answer. It normally does
 * not: firmware update errors are reported only through Update Result, the Write of the package
 * or its URI having succeeded already.
 */
const CODE_OF: Readonly<Record<FailureResult, ResponseCode>> = {
  2: '4.13',
  3: '5.00',
  4: '5.04',
  5: '4.00',
  6: '4.15',
  7: '4.00',
  8: '5.00',
  9: '4.00',
  10: '5.03',
};

/**
 * A firmware download or update failed with this Update Result code. Thrown by
 * `downloadPackage`, and what the object's `integrity` and `apply` hooks may throw to choose the
 * code themselves.
 */
export class FirmwareUpdateError extends LwM2mError {
  readonly result: FailureResult;
  readonly coapCode: ResponseCode;

  constructor(result: FailureResult, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.result = result;
    this.coapCode = CODE_OF[result];
  }
}

/** A `coap`/`coaps` URI taken apart as RFC 7252 §6.4 does. */
export interface PackageUri {
  readonly scheme: 'coap' | 'coaps';
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** Uri-Path option values. */
  readonly path: readonly string[];
  /** Uri-Query option values. */
  readonly query: readonly string[];
}

/** A URI starts with its scheme (RFC 3986 §3.1). */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * Parses a Package URI. A string that is not a URI, or a CoAP URI that RFC 7252 §6.4 rejects
 * (no host, a fragment, user info, bad percent-encoding), fails with Update Result 7 (invalid
 * URI); a well-formed URI of another scheme (`http`, `https`, `coap+tcp`…) with 9 (unsupported
 * protocol), as the object's description of result 9 asks.
 */
export function parsePackageUri(uri: string): PackageUri {
  if (!SCHEME.test(uri)) throw invalidUri(uri, 'no scheme');
  let url: URL;
  try {
    url = new URL(uri);
  } catch (cause) {
    throw invalidUri(uri, 'not a URI', cause);
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (scheme !== 'coap' && scheme !== 'coaps') {
    throw new FirmwareUpdateError(
      UpdateResult.UnsupportedProtocol,
      `unsupported protocol '${scheme}' in package URI (only coap and coaps)`,
    );
  }
  // RFC 7252 §6.4 steps 3–5: an absolute URI with a host and no fragment.
  if (url.hostname === '') throw invalidUri(uri, 'no host');
  if (url.hash !== '' || uri.includes('#')) throw invalidUri(uri, 'a fragment');
  if (url.username !== '' || url.password !== '') throw invalidUri(uri, 'user info');
  const host =
    url.hostname.startsWith('[') && url.hostname.endsWith(']')
      ? url.hostname.slice(1, -1)
      : url.hostname;
  const port = url.port === '' ? (scheme === 'coaps' ? 5684 : 5683) : Number(url.port);
  if (!(port > 0)) throw invalidUri(uri, `port ${url.port}`);
  try {
    // §6.4 step 8: no Uri-Path for an empty path or '/', else one option per segment.
    const rawPath = url.pathname === '' || url.pathname === '/' ? [] : url.pathname.split('/');
    const path = rawPath.slice(1).map(decodeURIComponent);
    // §6.4 step 9: one Uri-Query option per '&'-separated argument.
    const query =
      url.search.length > 1 ? url.search.slice(1).split('&').map(decodeURIComponent) : [];
    return { scheme, host, port, path, query };
  } catch (cause) {
    throw invalidUri(uri, 'bad percent-encoding', cause);
  }
}

function invalidUri(uri: string, why: string, cause?: unknown): FirmwareUpdateError {
  const shown = uri.length > 80 ? `${uri.slice(0, 80)}…` : uri;
  return new FirmwareUpdateError(
    UpdateResult.InvalidUri,
    `invalid package URI '${shown}': ${why}`,
    {
      cause,
    },
  );
}

export interface DownloadOptions {
  /** Time for the whole download, DTLS handshake and all blocks included (ms). Default 300 000. */
  readonly timeoutMs?: number;
  /** Largest package accepted (bytes); beyond it: Update Result 2. Default 8 MiB. */
  readonly maxSize?: number;
  /** The PSK for a `coaps://` URI; required for one (without it: Update Result 7). */
  readonly psk?: { readonly identity: string; readonly key: Uint8Array };
  /** Local address the download socket binds to. Default: any address of the server's family. */
  readonly localAddress?: string;
  /** Aborting it ends the download with Update Result 10 (cancelled). */
  readonly signal?: AbortSignal;
  /** CoAP transmission parameters (ackTimeout, maxRetransmit, blockSize…); default RFC 7252's. */
  readonly coap?: DownloadCoapOptions;
}

/** The CoAP parameters a download takes (the socket, its address and size limit are its own). */
export type DownloadCoapOptions = Omit<
  EndpointOptions,
  'socket' | 'type' | 'address' | 'port' | 'closeSocket' | 'handler' | 'logger' | 'maxBodySize'
>;

const DEFAULT_TIMEOUT_MS = 300_000;
const DEFAULT_MAX_SIZE = 8 * 1024 * 1024;
/** node-dtls-client's handshake default, capped by the download's own time. */
const MAX_HANDSHAKE_MS = 10_000;

/**
 * Downloads a firmware package with a CoAP GET from a `coap://` or `coaps://` URI and resolves
 * with its bytes. Rejects only with `FirmwareUpdateError`, whose `result` is the Update Result
 * code to report:
 *
 * - 7 invalid URI: not a URI, no host, a host that does not resolve, no PSK for `coaps://`, or the
 *   package server answered 4.xx (4.04: nothing there; Core TS 1.2 gives no other code for "the
 *   URI does not lead to a package", and result 4 would suggest retrying the same URI);
 * - 9 unsupported protocol: a scheme other than coap/coaps;
 * - 4 connection lost: no answer in time, RST, DTLS handshake failure, a 5.xx answer (the server
 *   failed, the URI may well be right), any other transport failure;
 * - 2 not enough flash: the package is bigger than `maxSize`;
 * - 10 cancelled: `signal` aborted.
 *
 * The endpoint (and DTLS socket) made for the download is closed before this settles. Options
 * out of range (a timeout or size that is not a positive number) throw a RangeError.
 */
export async function downloadPackage(
  uri: string,
  options: DownloadOptions = {},
): Promise<Uint8Array> {
  const target = parsePackageUri(uri);
  const timeoutMs = positive('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const maxSize = positive('maxSize', options.maxSize ?? DEFAULT_MAX_SIZE);
  const deadline = Date.now() + timeoutMs;
  const signal = options.signal;
  if (signal?.aborted) throw cancelled(signal.reason);
  if (target.scheme === 'coaps' && options.psk === undefined) {
    throw new FirmwareUpdateError(
      UpdateResult.InvalidUri,
      `no PSK credentials for ${target.host}:${target.port}: cannot download from coaps://`,
    );
  }

  const address = await resolveHost(target.host);
  if (signal?.aborted) throw cancelled(signal.reason);
  const type = isIP(address) === 6 ? 'udp6' : 'udp4';
  const remaining = () => Math.max(1, deadline - Date.now());
  const local = options.localAddress !== undefined ? { address: options.localAddress } : {};
  let endpoint: CoapEndpoint;
  if (target.scheme === 'coaps') {
    let socket: DtlsClientSocket;
    try {
      socket = new DtlsClientSocket({
        type,
        address,
        port: target.port,
        psk: { identity: options.psk!.identity, key: options.psk!.key },
        handshakeTimeoutMs: Math.min(MAX_HANDSHAKE_MS, remaining()),
      });
    } catch (cause) {
      // Credentials node-dtls-client cannot use (e.g. a non-ASCII identity): no session possible.
      throw new FirmwareUpdateError(
        UpdateResult.ConnectionLost,
        `cannot open a DTLS session to ${target.host}:${target.port}: ${describe(cause)}`,
        { cause },
      );
    }
    endpoint = new CoapEndpoint({
      ...options.coap,
      socket,
      closeSocket: true,
      maxBodySize: maxSize,
      ...local,
    });
  } else {
    endpoint = new CoapEndpoint({ ...options.coap, type, maxBodySize: maxSize, ...local });
  }
  // The socket's errors (a DTLS alert during the handshake) also fail the request; keep the
  // first one as the better explanation, and keep them from being logged as unhandled.
  let socketError: Error | undefined;
  endpoint.on('error', (err) => {
    socketError ??= err;
  });
  try {
    const peer: Peer = { address, port: target.port };
    let res: IncomingResponse;
    try {
      res = await endpoint.request(peer, {
        method: 'GET',
        path: target.path,
        query: target.query,
        timeout: remaining(),
        ...(signal !== undefined ? { signal } : {}),
      });
    } catch (err) {
      throw transportFailure(err, socketError, uri);
    }
    if (res.code !== '2.05') throw responseFailure(res.code, uri);
    if (res.payload.length > maxSize) {
      throw tooBig(res.payload.length, maxSize);
    }
    return res.payload;
  } finally {
    await endpoint.close();
  }
}

async function resolveHost(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  try {
    return (await lookup(host)).address;
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    // A name that does not exist is a bad URI; a resolver that could not answer is a lost link.
    if (code === 'ENOTFOUND') {
      throw new FirmwareUpdateError(UpdateResult.InvalidUri, `host ${host} not found`, { cause });
    }
    throw new FirmwareUpdateError(UpdateResult.ConnectionLost, `cannot resolve ${host}`, {
      cause,
    });
  }
}

function cancelled(cause: unknown): FirmwareUpdateError {
  return new FirmwareUpdateError(UpdateResult.Cancelled, 'download cancelled', { cause });
}

function tooBig(size: number, maxSize: number): FirmwareUpdateError {
  return new FirmwareUpdateError(
    UpdateResult.NotEnoughFlash,
    `package of ${size} bytes is bigger than the ${maxSize} bytes allowed`,
  );
}

function transportFailure(err: unknown, socketError: Error | undefined, uri: string) {
  if (err instanceof FirmwareUpdateError) return err;
  if (err instanceof RequestAbortedError) return cancelled(err);
  if (err instanceof EntityTooLargeError) {
    return new FirmwareUpdateError(UpdateResult.NotEnoughFlash, err.message, { cause: err });
  }
  const cause = socketError ?? err;
  const what = err instanceof TimeoutError ? 'no answer in time' : describe(cause);
  return new FirmwareUpdateError(
    UpdateResult.ConnectionLost,
    `download of ${uri} failed: ${what}`,
    {
      cause,
    },
  );
}

function responseFailure(code: ResponseCode, uri: string): FirmwareUpdateError {
  // 5.xx: the package server failed, not the URI. Anything else that is not 2.05 Content (4.xx,
  // or a success code that carries no representation) says the URI leads to no package.
  const result = code.startsWith('5.') ? UpdateResult.ConnectionLost : UpdateResult.InvalidUri;
  return new FirmwareUpdateError(result, `package server answered ${code} for ${uri}`);
}

function positive(name: string, v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) {
    throw new RangeError(`${name} must be a positive number, got ${v}`);
  }
  return v;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
