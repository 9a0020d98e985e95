/**
 * The seam to node-coap. Nothing here is exported from the package: the public API speaks only
 * this package's own types (DESIGN.md: the LwM2M logic must not depend on node-coap objects).
 *
 * node-coap is driven, not subclassed: its `Server` and `Agent` are given a virtual socket each
 * (below) and the endpoint hands them parsed packets through their `_handle` methods (declared
 * public in node-coap's typings). The narrow interfaces here type the internal fields the
 * endpoint reaches into; every such place in endpoint.ts says why.
 */

import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ContentFormat, contentFormatMediaType } from '@lwm2m-ts/core';
import { Agent, registerFormat, Server } from 'coap';
import type { NodeCoapOption, Packet } from './wire.js';

type SendCallback = (error: Error | null, bytes?: number) => void;
export type RawSend = (buf: Buffer, port: number, address: string, cb?: SendCallback) => void;

/**
 * What node-coap gets instead of the real socket.
 *
 * Why: one real socket is shared by node-coap's server (incoming requests) and agent (outgoing
 * requests). Left to themselves, both listen to every datagram, the agent answers requests it
 * does not know with RST races, both draw message ids independently, and neither can be told
 * which ACK belongs to whom. The endpoint reads every datagram once and routes it; node-coap only
 * sends through this object, and each send is shown to the endpoint first (to learn message ids
 * of outgoing CONs and to keep replies for deduplication).
 */
export class VirtualSocket extends EventEmitter {
  constructor(
    readonly type: 'udp4' | 'udp6',
    private readonly sendRaw: RawSend,
    private readonly addressOf: () => AddressInfo,
  ) {
    super();
  }

  send(
    buf: Buffer,
    offset: number,
    length: number,
    port: number,
    address: string,
    cb?: SendCallback,
  ): void {
    const msg = offset === 0 && length === buf.length ? buf : buf.subarray(offset, offset + length);
    this.sendRaw(msg, port, address, cb);
  }

  address(): AddressInfo {
    return this.addressOf();
  }
}

/** node-coap's OutgoingMessage as the server hands it to a request listener. */
export interface NodeCoapResponse extends EventEmitter {
  _packet: {
    messageId?: number;
    token?: Buffer;
    options?: NodeCoapOption[];
    confirmable: boolean;
    ack: boolean;
  };
  _request: { options?: NodeCoapOption[] };
  _cachekey?: string;
  _ackTimer: NodeJS.Timeout | null;
  statusCode: string;
  setOption(name: string, value: Buffer | Buffer[]): unknown;
  end(payload?: Buffer): unknown;
}

export interface NodeCoapIncoming {
  _packet: Packet;
  rsinfo: AddressInfo;
  payload: Buffer;
}

interface Block2Entry {
  buffer: Buffer;
  options: NodeCoapOption[];
  /**
   * Ours, not node-coap's: the code byte of the response whose body this is. node-coap answers
   * follow-up blocks from the cache with its default 2.05 whatever the first block's code was;
   * the endpoint puts this code back (RFC 7959 §2.2: every block carries the response's code).
   */
  code?: number;
}

interface BlockCache {
  get(key: string): Block2Entry | null | undefined;
  add(key: string, entry: Block2Entry): void;
  remove(key: string): boolean;
  _cache: Map<string, unknown>;
}

export interface ServerInternals extends EventEmitter {
  _handle(packet: Packet, rsinfo: AddressInfo): void;
  /** Reply cache, keyed `${address}:${port}/${messageId}${token hex if ACK or NON}`. */
  _lru: { delete(key: string): boolean };
  _block2Cache: BlockCache;
  listen(socket: EventEmitter, done?: () => void): unknown;
  close(): unknown;
}

/** node-coap's OutgoingMessage on the agent side (a request in flight). */
export interface AgentRequest extends EventEmitter {
  _packet: { messageId?: number; token?: Buffer; options?: NodeCoapOption[] };
  /** node-coap's RetrySend: `_currentTime` is the next retransmission timeout in ms. */
  sender: EventEmitter & { reset(): void; _currentTime: number };
  end(payload?: Buffer): unknown;
}

export interface AgentInternals extends EventEmitter {
  _handle(packet: Packet, rsinfo: AddressInfo, outSocket: AddressInfo): void;
  _nextMessageId: () => number;
  _msgIdToReq: Map<number, unknown>;
  _tkToReq: Map<string, unknown>;
  request(params: AgentRequestParams): AgentRequest;
}

export interface AgentRequestParams {
  hostname: string;
  port: number;
  method: string;
  confirmable: boolean;
  token: Buffer;
  retrySend: number;
  options: Record<string, Buffer | Buffer[]>;
}

export function createServer(socket: VirtualSocket, piggybackReplyMs: number): ServerInternals {
  // sendAcksForNonConfirmablePackets: node-coap's name for "send the response to a NON request".
  const server = new Server({
    type: socket.type,
    piggybackReplyMs,
    sendAcksForNonConfirmablePackets: true,
  }) as unknown as ServerInternals;
  server.listen(socket);
  // node-coap re-adds the Block2 cache entry on every block it serves, with an empty option list,
  // so from the third block on a response loses Content-Format and the other options. Keep the
  // options (and our response code) when the same body is stored again.
  const cache = server._block2Cache;
  const add = cache.add.bind(cache);
  cache.add = (key, entry) => {
    const old = cache.get(key);
    if (old != null && old.buffer === entry.buffer) {
      if (entry.options.length === 0) entry.options = old.options;
      entry.code ??= old.code;
    }
    add(key, entry);
  };
  return server;
}

/**
 * The key of node-coap's Block2 body cache: the request's token and node-coap's default client
 * identifier (`address:port`). Undefined for an empty token (node-coap caches nothing then).
 */
export function block2CacheKey(token: Buffer, rinfo: AddressInfo): string | undefined {
  if (token.length === 0) return undefined;
  return `${token.toString('hex')}/${rinfo.address}:${rinfo.port}`;
}

/**
 * What node-coap's server does when a request for block 0, or without Block2, comes with a token
 * it keeps a Block2 body for: forget the body (the next follow-up request is for a new body).
 */
export function forgetBlock2Body(server: ServerInternals, token: Buffer, rinfo: AddressInfo): void {
  const cache = server._block2Cache;
  if (cache._cache.size === 0) return;
  const key = block2CacheKey(token, rinfo);
  if (key !== undefined) cache.remove(key);
}

export function createAgent(socket: VirtualSocket): AgentInternals {
  return new Agent({ socket: socket as never }) as unknown as AgentInternals;
}

let formatsRegistered = false;

/**
 * Makes every content format of `@lwm2m-ts/core` known to node-coap (its `registerFormat`), so
 * node-coap's own header conversion names them. node-coap 1.5.0 already knows 0, 40, 42, 60, 110,
 * 112 and 11542–11544; the legacy 1542/1543 get distinct names so that registering them does not
 * re-point the TLV/JSON media types at the legacy numbers. Our own API passes numbers and raw
 * bytes, so this only matters to node-coap's internals; it runs once per process.
 */
export function registerLwm2mFormats(): void {
  if (formatsRegistered) return;
  formatsRegistered = true;
  for (const format of Object.values(ContentFormat)) {
    const media = contentFormatMediaType(format);
    const legacy = format === ContentFormat.LEGACY_TLV || format === ContentFormat.LEGACY_JSON;
    registerFormat(legacy ? `${media}; lwm2m-legacy=${format}` : media, format);
  }
}
