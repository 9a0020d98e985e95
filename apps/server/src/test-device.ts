/**
 * A small LwM2M device for the server's tests: a real CoapEndpoint on loopback that registers,
 * serves values from a map through the real codecs, and records what it was asked. Not a client
 * implementation (that is apps/client); just enough to exercise the server over the wire.
 */
import dgram from 'node:dgram';
import type { CoapEndpoint, CoapRequest, CoapResponse, ServerObservation } from '@lwm2m-ts/coap';
import { CoapEndpoint as Endpoint } from '@lwm2m-ts/coap';
import {
  decodeSenmlCborPaths,
  decodeSenmlJsonPaths,
  decodeValues,
  encode,
  type TimedValue,
} from '@lwm2m-ts/codecs';
import {
  ContentFormat,
  formatLinkFormat,
  LwM2mPath,
  link,
  NotFoundError,
  nodeFromValues,
  type TypedValue,
} from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import {
  type CoapMessage,
  CoapOptionNumber,
  decodeCoapMessage,
  encodeCoapMessage,
} from '@lwm2m-ts/testkit';

const registry = ObjectRegistry.withBuiltins();

export interface TestDeviceOptions {
  /** Formats answered with 4.06 (Accept) or 4.15 (Content-Format). */
  readonly refuse?: readonly number[];
  /** Does not answer at all (to test timeouts). */
  readonly silent?: boolean;
  readonly socket?: dgram.Socket;
}

export function initialValues(): Map<string, TypedValue> {
  return new Map<string, TypedValue>([
    ['/1/0/0', { type: 'integer', value: 1n }],
    ['/1/0/1', { type: 'integer', value: 300n }],
    ['/1/0/7', { type: 'string', value: 'U' }],
    ['/3/0/0', { type: 'string', value: 'ACME' }],
    ['/3/0/1', { type: 'string', value: 'Model 1' }],
    ['/3/0/7/0', { type: 'integer', value: 3800n }],
    ['/3/0/7/1', { type: 'integer', value: 5000n }],
    ['/3/0/9', { type: 'integer', value: 87n }],
    ['/3/0/14', { type: 'string', value: '+01:00' }],
    ['/3303/0/5700', { type: 'float', value: 21.5 }],
  ]);
}

export class TestDevice {
  readonly values = initialValues();
  readonly requests: CoapRequest[] = [];
  readonly observations: { path: string; obs: ServerObservation }[] = [];
  readonly executed: { path: string; args: string }[] = [];
  readonly refuse: Set<number>;
  silent: boolean;
  location: string[] = [];

  private constructor(
    readonly endpoint: CoapEndpoint,
    options: TestDeviceOptions,
  ) {
    this.refuse = new Set(options.refuse ?? []);
    this.silent = options.silent ?? false;
  }

  static async start(options: TestDeviceOptions = {}): Promise<TestDevice> {
    const endpoint = new Endpoint({
      address: '127.0.0.1',
      ...(options.socket && { socket: options.socket, closeSocket: true }),
    });
    const device = new TestDevice(endpoint, options);
    endpoint.setHandler((req, ctx) => device.handle(req, ctx.observe()));
    await endpoint.listen();
    return device;
  }

  get port(): number {
    return this.endpoint.address().port;
  }

  /** `</1/0>,</3/0>,</3303/0>` from the values held. */
  objectLinks(): string {
    const instances = new Set<string>();
    for (const p of this.values.keys()) instances.add(p.split('/').slice(0, 3).join('/'));
    return [...instances].map((p) => `<${p}>`).join(',');
  }

  async register(server: { port: number }, query: readonly string[], payload = this.objectLinks()) {
    const res = await this.endpoint.request(
      { address: '127.0.0.1', port: server.port },
      {
        method: 'POST',
        path: '/rd',
        query,
        payload: Buffer.from(payload),
        contentFormat: ContentFormat.LINK_FORMAT,
        timeout: 5000,
      },
    );
    if (res.code === '2.01') this.location = [...res.locationPath];
    return res;
  }

  update(server: { port: number }, query: readonly string[] = [], payload?: string) {
    return this.endpoint.request(
      { address: '127.0.0.1', port: server.port },
      {
        method: 'POST',
        path: this.location,
        query,
        timeout: 5000,
        ...(payload !== undefined && {
          payload: Buffer.from(payload),
          contentFormat: ContentFormat.LINK_FORMAT,
        }),
      },
    );
  }

  deregister(server: { port: number }) {
    return this.endpoint.request(
      { address: '127.0.0.1', port: server.port },
      { method: 'DELETE', path: this.location, timeout: 5000 },
    );
  }

  send(server: { port: number }, payload: Uint8Array, contentFormat: number) {
    return this.endpoint.request(
      { address: '127.0.0.1', port: server.port },
      { method: 'POST', path: '/dp', payload, contentFormat, timeout: 5000 },
    );
  }

  /** Changes a value and notifies every observation of a path that contains it. */
  set(path: string, value: TypedValue): void {
    this.values.set(path, value);
    const changed = LwM2mPath.parse(path);
    for (const { path: observed, obs } of this.observations) {
      if (obs.cancelled) continue;
      const p = LwM2mPath.parse(observed);
      if (!p.contains(changed)) continue;
      obs.notify(this.read(p, ContentFormat.SENML_JSON));
    }
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }

  private under(p: LwM2mPath): TimedValue[] {
    const out: TimedValue[] = [];
    for (const [k, value] of this.values) {
      const path = LwM2mPath.parse(k);
      if (p.contains(path)) out.push({ path, value });
    }
    return out;
  }

  private read(p: LwM2mPath, accept: number): CoapResponse {
    const values = this.under(p);
    if (values.length === 0) throw new NotFoundError(`${p} not found`);
    const node = nodeFromValues(p, values);
    return {
      code: '2.05',
      contentFormat: accept,
      payload: encode(accept, node, { path: p, model: registry }),
    };
  }

  private handle(req: CoapRequest, obs: ServerObservation | undefined): Promise<CoapResponse> {
    this.requests.push(req);
    if (this.silent) return new Promise(() => {});
    return Promise.resolve(this.answer(req, obs));
  }

  private answer(req: CoapRequest, obs: ServerObservation | undefined): CoapResponse {
    const p = req.path.length === 0 ? LwM2mPath.ROOT : LwM2mPath.parse(`/${req.path.join('/')}`);
    if (req.accept !== undefined && this.refuse.has(req.accept)) return { code: '4.06' };
    if (req.contentFormat !== undefined && this.refuse.has(req.contentFormat))
      return { code: '4.15' };
    switch (req.method) {
      case 'GET': {
        if (req.accept === ContentFormat.LINK_FORMAT) {
          const links = this.under(p).map((v) => link(`${v.path}`));
          return { code: '2.05', contentFormat: 40, payload: Buffer.from(formatLinkFormat(links)) };
        }
        const res = this.read(p, req.accept ?? ContentFormat.TLV);
        if (obs !== undefined) this.observations.push({ path: `${p}`, obs });
        return res;
      }
      case 'FETCH': {
        const paths =
          req.contentFormat === ContentFormat.SENML_JSON
            ? decodeSenmlJsonPaths(req.payload)
            : decodeSenmlCborPaths(req.payload);
        const values = paths.flatMap((q) => this.under(q));
        const accept = req.accept ?? ContentFormat.SENML_CBOR;
        if (obs !== undefined) for (const q of paths) this.observations.push({ path: `${q}`, obs });
        return {
          code: '2.05',
          contentFormat: accept,
          payload: encode(accept, values, { path: LwM2mPath.ROOT, model: registry }),
        };
      }
      case 'PUT':
      case 'POST':
      case 'iPATCH': {
        if (req.method === 'PUT' && req.payload.length === 0) return { code: '2.04' }; // attributes
        if (req.method === 'POST' && p.level === 'resource') {
          this.executed.push({ path: `${p}`, args: Buffer.from(req.payload).toString() });
          return { code: '2.04' };
        }
        const format = req.contentFormat ?? ContentFormat.TLV;
        const decodeAt = (path: LwM2mPath | undefined) =>
          decodeValues(format, req.payload, { ...(path && { path }), model: registry });
        let values: TimedValue[];
        if (req.method === 'iPATCH') values = decodeAt(undefined);
        else if (p.level !== 'object') values = decodeAt(p);
        else {
          // Create: an instance with its id, or (TLV) resources only for the device to number.
          try {
            values = decodeAt(p);
          } catch {
            values = decodeAt(p.child(0));
          }
        }
        for (const v of values) this.values.set(`${v.path}`, v.value);
        if (req.method === 'POST' && p.level === 'object') {
          const created = values[0]?.path.instanceId ?? 0;
          return { code: '2.01', locationPath: [String(p.objectId), String(created)] };
        }
        return { code: '2.04' };
      }
      case 'DELETE': {
        const gone = this.under(p);
        if (gone.length === 0) return { code: '4.04' };
        for (const v of gone) this.values.delete(`${v.path}`);
        return { code: '2.02' };
      }
      default:
        return { code: '4.05' };
    }
  }
}

/**
 * A bare UDP socket on loopback that sends notifications by hand (a device's packet a balancer
 * handed to some process) and records the ACKs and RSTs it gets back.
 */
export class RawNotifier {
  readonly replies: CoapMessage[] = [];
  #nextId = 0x4000;

  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (buf) => {
      try {
        this.replies.push(decodeCoapMessage(buf));
      } catch {
        // not CoAP: not ours to judge here
      }
    });
  }

  static async open(): Promise<RawNotifier> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new RawNotifier(socket);
  }

  /** Sends a 2.05 notification with `token` (hex) and Observe `seq`; resolves with its message id. */
  notify(
    to: { port: number },
    token: string,
    seq: number,
    payload: string,
    options: { readonly type?: 'CON' | 'NON'; readonly contentFormat?: number } = {},
  ): number {
    const messageId = this.#nextId++;
    const bytes = encodeCoapMessage({
      type: options.type ?? 'CON',
      code: '2.05',
      messageId,
      token: Buffer.from(token, 'hex'),
      options: [
        { number: CoapOptionNumber.Observe, value: seq },
        { number: CoapOptionNumber.ContentFormat, value: options.contentFormat ?? 110 },
      ],
      payload,
    });
    this.socket.send(bytes, to.port, '127.0.0.1');
    return messageId;
  }

  /** The ACK or RST for `messageId`, once it came (polls up to `ms`). */
  async reply(messageId: number, ms = 3000): Promise<CoapMessage> {
    const end = Date.now() + ms;
    for (;;) {
      const r = this.replies.find((m) => m.messageId === messageId && m.code === '0.00');
      if (r !== undefined) return r;
      if (Date.now() > end) throw new Error(`no ACK or RST for message ${messageId}`);
      await new Promise((res) => setTimeout(res, 10));
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
