/**
 * What the DTLS server and client sockets share to pass for a `dgram.Socket`: the extended
 * constructor, dgram's `send` argument shapes, typed listeners, and the methods they delegate to
 * the UDP socket underneath or refuse.
 */
import dgram from 'node:dgram';
import { DtlsError } from './errors.js';

export type SendCallback = (error: Error | null, bytes: number) => void;
export type Message =
  | string
  | NodeJS.ArrayBufferView
  | readonly (string | NodeJS.ArrayBufferView)[];

/** What the `send` overloads carry, as dgram reads them. */
export interface SendArguments {
  readonly data: Buffer;
  readonly port: unknown;
  readonly address: unknown;
  readonly callback: SendCallback | undefined;
}

/**
 * dgram.Socket's constructor, typed with the options it takes at run time (the typings declare
 * none). Extending it makes `instanceof dgram.Socket` true, which node-coap checks.
 */
const UdpSocket = dgram.Socket as unknown as new (options: dgram.SocketOptions) => dgram.Socket;

type Listener = (...args: never[]) => void;

export function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new DtlsError('INVALID_ARGUMENT', `${name} must be a positive number, got ${value}`);
  }
  return value;
}

export function toBuffer(msg: Message): Buffer {
  if (Buffer.isBuffer(msg)) return msg;
  if (typeof msg === 'string') return Buffer.from(msg);
  if (Array.isArray(msg))
    return Buffer.concat((msg as readonly (string | NodeJS.ArrayBufferView)[]).map(toBuffer));
  const view = msg as NodeJS.ArrayBufferView;
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * Reads `send`'s argument shapes as dgram does for an unconnected socket: an address, or a port
 * that is not a callback, in the fourth place means (msg, offset, length, port, ...).
 */
export function sendArguments(msg: Message, rest: readonly unknown[]): SendArguments {
  let data = toBuffer(msg);
  let [port, address, callback] = rest;
  const [offset, length, p4, a5, c6] = rest;
  if (a5 || (p4 && typeof p4 !== 'function')) {
    const from = typeof offset === 'number' ? offset : 0;
    const count = typeof length === 'number' ? length : data.length - from;
    data = data.subarray(from, from + count);
    [port, address, callback] = [p4, a5, c6];
  }
  if (typeof port === 'function') [port, address, callback] = [undefined, undefined, port];
  if (typeof address === 'function') [address, callback] = [undefined, address];
  return {
    data,
    port,
    address,
    callback: typeof callback === 'function' ? (callback as SendCallback) : undefined,
  };
}

/**
 * The common part of {@link DtlsServerSocket} and {@link DtlsClientSocket}: a class that extends
 * `dgram.Socket` itself, so `instanceof` holds, but never binds the inherited UDP handle (libuv
 * opens no file descriptor for an unbound UDP handle). The wire traffic goes through another
 * UDP socket, {@link udpSocket}; subclasses override `bind`, `address`, `close`, `ref`/`unref`
 * and implement {@link sendPlaintext}. Multicast and broadcast make no sense for DTLS and throw
 * `DtlsError` with code `UNSUPPORTED`.
 */
export abstract class DtlsDgramSocket<
  Events extends { [E in keyof Events]: Listener },
> extends UdpSocket {
  /** `server` or `client`, for error messages. */
  protected abstract readonly role: 'server' | 'client';

  /** The UDP socket carrying the datagrams now, if there is one. */
  protected abstract udpSocket(): dgram.Socket | undefined;

  /** Encrypts and sends one datagram; errors go to `callback`, else to an `error` event. */
  protected abstract sendPlaintext(
    data: Buffer,
    port: unknown,
    address: unknown,
    callback: SendCallback | undefined,
  ): void;

  override on<E extends keyof Events>(event: E, listener: Events[E]): this;
  override on(event: string | symbol, listener: (...args: never[]) => void): this;
  override on(event: string | symbol, listener: (...args: never[]) => void): this {
    return super.on(event as string, listener as (...args: unknown[]) => void);
  }

  override once<E extends keyof Events>(event: E, listener: Events[E]): this;
  override once(event: string | symbol, listener: (...args: never[]) => void): this;
  override once(event: string | symbol, listener: (...args: never[]) => void): this {
    return super.once(event as string, listener as (...args: unknown[]) => void);
  }

  override off<E extends keyof Events>(event: E, listener: Events[E]): this;
  override off(event: string | symbol, listener: (...args: never[]) => void): this;
  override off(event: string | symbol, listener: (...args: never[]) => void): this {
    return super.off(event as string, listener as (...args: unknown[]) => void);
  }

  override send(msg: Message, port?: number, address?: string, callback?: SendCallback): void;
  override send(msg: Message, port?: number, callback?: SendCallback): void;
  override send(msg: Message, callback?: SendCallback): void;
  override send(
    msg: string | NodeJS.ArrayBufferView,
    offset: number,
    length: number,
    port?: number,
    address?: string,
    callback?: SendCallback,
  ): void;
  override send(
    msg: string | NodeJS.ArrayBufferView,
    offset: number,
    length: number,
    port?: number,
    callback?: SendCallback,
  ): void;
  override send(
    msg: string | NodeJS.ArrayBufferView,
    offset: number,
    length: number,
    callback?: SendCallback,
  ): void;
  override send(msg: Message, ...rest: unknown[]): void {
    const { data, port, address, callback } = sendArguments(msg, rest);
    this.sendPlaintext(data, port, address, callback);
  }

  /** Reports a failed send as dgram does: to the callback, else as an `error` event. */
  protected failSend(error: Error, callback: SendCallback | undefined): void {
    process.nextTick(() => {
      if (callback !== undefined) callback(error, 0);
      else this.emit('error', error);
    });
  }

  override setRecvBufferSize(size: number): void {
    this.#udp('setRecvBufferSize').setRecvBufferSize(size);
  }

  override setSendBufferSize(size: number): void {
    this.#udp('setSendBufferSize').setSendBufferSize(size);
  }

  override getRecvBufferSize(): number {
    return this.#udp('getRecvBufferSize').getRecvBufferSize();
  }

  override getSendBufferSize(): number {
    return this.#udp('getSendBufferSize').getSendBufferSize();
  }

  override getSendQueueSize(): number {
    return this.udpSocket()?.getSendQueueSize() ?? 0;
  }

  override getSendQueueCount(): number {
    return this.udpSocket()?.getSendQueueCount() ?? 0;
  }

  override setTTL(ttl: number): number {
    return this.#udp('setTTL').setTTL(ttl);
  }

  override setBroadcast(_flag: boolean): void {
    throw this.unsupported('broadcast');
  }

  override addMembership(_group: string, _iface?: string): void {
    throw this.unsupported('multicast');
  }

  override dropMembership(_group: string, _iface?: string): void {
    throw this.unsupported('multicast');
  }

  override addSourceSpecificMembership(_source: string, _group: string, _iface?: string): void {
    throw this.unsupported('multicast');
  }

  override dropSourceSpecificMembership(_source: string, _group: string, _iface?: string): void {
    throw this.unsupported('multicast');
  }

  override setMulticastTTL(_ttl: number): number {
    throw this.unsupported('multicast');
  }

  override setMulticastLoopback(_flag: boolean): boolean {
    throw this.unsupported('multicast');
  }

  override setMulticastInterface(_iface: string): void {
    throw this.unsupported('multicast');
  }

  protected unsupported(what: string): DtlsError {
    return new DtlsError('UNSUPPORTED', `${what} is not supported on a DTLS ${this.role} socket`);
  }

  #udp(method: string): dgram.Socket {
    const udp = this.udpSocket();
    if (udp === undefined) {
      throw new DtlsError(
        'NOT_BOUND',
        `${method}: the DTLS ${this.role} socket has no UDP socket open now`,
      );
    }
    return udp;
  }
}
