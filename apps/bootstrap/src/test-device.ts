/**
 * A small device for the bootstrap server's tests: a real CoapEndpoint on loopback that sends a
 * Bootstrap-Request, answers Bootstrap-Delete/Discover/Read/Write/Finish from a map of values
 * through the real codecs, and records what it was asked, in order. Not a client implementation
 * (that is apps/client); just enough to drive the server over the wire.
 */
import type { Socket } from 'node:dgram';
import { CoapEndpoint, type CoapRequest, type CoapResponse } from '@lwm2m-ts/coap';
import { decodeValues, encode, type TimedValue } from '@lwm2m-ts/codecs';
import {
  ContentFormat,
  formatLinkFormat,
  type LinkAttribute,
  LwM2mPath,
  type ResponseCode,
  type TypedValue,
} from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';

const registry = ObjectRegistry.withBuiltins();

export interface BootstrapDeviceOptions {
  readonly socket?: Socket;
  /** Formats refused: 4.15 as a write's Content-Format, 4.06 as a read's Accept. */
  readonly refuse?: readonly number[];
  /** Answers these requests (`PUT /1/0`) with this code instead. */
  readonly answers?: Readonly<Record<string, ResponseCode>>;
  /** The version the root link of Bootstrap-Discover names (`lwm2m="1.1"`); none for 1.0. */
  readonly version?: '1.0' | '1.1' | '1.2';
  /** The bootstrap account's Security instance id (default 0). */
  readonly bootstrapAccountId?: number;
}

/** The values a factory-fresh device holds: its bootstrap account, an old DM account, /3/0. */
export function initialValues(bsId = 0): Map<string, TypedValue> {
  return new Map<string, TypedValue>([
    [`/0/${bsId}/0`, { type: 'string', value: 'coap://bootstrap.example:5783' }],
    [`/0/${bsId}/1`, { type: 'boolean', value: true }],
    [`/0/${bsId}/2`, { type: 'integer', value: 3n }],
    ['/0/7/0', { type: 'string', value: 'coap://old-dm.example:5683' }],
    ['/0/7/1', { type: 'boolean', value: false }],
    ['/0/7/10', { type: 'integer', value: 99n }],
    ['/1/7/0', { type: 'integer', value: 99n }],
    ['/1/7/1', { type: 'integer', value: 60n }],
    ['/3/0/0', { type: 'string', value: 'ACME' }],
  ]);
}

export class BootstrapDevice {
  readonly values: Map<string, TypedValue>;
  readonly requests: CoapRequest[] = [];
  readonly refuse: Set<number>;
  answers: Record<string, ResponseCode>;
  /** Requests are recorded but never answered while true. */
  silent = false;
  readonly #version: '1.0' | '1.1' | '1.2' | undefined;
  #onFinish: (() => void)[] = [];

  private constructor(
    readonly endpoint: CoapEndpoint,
    options: BootstrapDeviceOptions,
  ) {
    this.values = initialValues(options.bootstrapAccountId);
    this.refuse = new Set(options.refuse ?? []);
    this.answers = { ...options.answers };
    this.#version = options.version;
  }

  static async start(options: BootstrapDeviceOptions = {}): Promise<BootstrapDevice> {
    const endpoint = new CoapEndpoint({
      address: '127.0.0.1',
      ...(options.socket && { socket: options.socket, closeSocket: true }),
    });
    const device = new BootstrapDevice(endpoint, options);
    endpoint.setHandler((req) => device.#handle(req));
    await endpoint.listen();
    return device;
  }

  get port(): number {
    return this.endpoint.address().port;
  }

  /** `DELETE /`, `PUT /0/1`, `POST /bs`, … in the order received. */
  log(): string[] {
    return this.requests.map((r) => `${r.method} /${r.path.join('/')}`);
  }

  /** Resolves when the next Bootstrap-Finish arrives. */
  finished(): Promise<void> {
    return new Promise((resolve) => this.#onFinish.push(resolve));
  }

  bootstrap(server: { port: number }, ep: string, extraQuery: readonly string[] = []) {
    return this.endpoint.request(
      { address: '127.0.0.1', port: server.port },
      { method: 'POST', path: '/bs', query: [`ep=${ep}`, ...extraQuery], timeout: 5000 },
    );
  }

  pack(server: { port: number }, ep: string, accept?: number) {
    return this.endpoint.request(
      { address: '127.0.0.1', port: server.port },
      {
        method: 'GET',
        path: '/bspack',
        query: [`ep=${ep}`],
        timeout: 5000,
        ...(accept !== undefined && { accept }),
      },
    );
  }

  /** The values under `path`, keyed by path string. */
  under(path: string): Map<string, TypedValue> {
    const p = LwM2mPath.parse(path);
    const out = new Map<string, TypedValue>();
    for (const [k, v] of this.values) if (p.contains(LwM2mPath.parse(k))) out.set(k, v);
    return out;
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }

  #timed(p: LwM2mPath): TimedValue[] {
    return [...this.under(`${p}`)].map(([k, value]) => ({ path: LwM2mPath.parse(k), value }));
  }

  #handle(req: CoapRequest): Promise<CoapResponse> {
    this.requests.push(req);
    if (this.silent) return new Promise(() => {});
    const key = `${req.method} /${req.path.join('/')}`;
    const forced = this.answers[key];
    if (forced !== undefined) return Promise.resolve({ code: forced });
    if (key === 'POST /bs') {
      for (const f of this.#onFinish.splice(0)) f();
      return Promise.resolve({ code: '2.04' });
    }
    return Promise.resolve(this.#answer(req));
  }

  #answer(req: CoapRequest): CoapResponse {
    const p = req.path.length === 0 ? LwM2mPath.ROOT : LwM2mPath.parse(`/${req.path.join('/')}`);
    switch (req.method) {
      case 'DELETE': {
        // Bootstrap-Delete keeps the bootstrap-server account and the Device object (§6.1.7.5).
        for (const k of [...this.values.keys()]) {
          const kp = LwM2mPath.parse(k);
          if (!p.contains(kp) || kp.objectId === 3) continue;
          if (kp.objectId === 0 && this.#isBootstrapAccount(kp.instanceId!)) continue;
          this.values.delete(k);
        }
        return { code: '2.02' };
      }
      case 'GET': {
        if (req.accept === ContentFormat.LINK_FORMAT) {
          return {
            code: '2.05',
            contentFormat: ContentFormat.LINK_FORMAT,
            payload: Buffer.from(this.#discover()),
          };
        }
        const accept = req.accept ?? ContentFormat.TLV;
        if (this.refuse.has(accept)) return { code: '4.06' };
        return {
          code: '2.05',
          contentFormat: accept,
          payload: encode(accept, this.#timed(p), { path: p, model: registry }),
        };
      }
      case 'PUT': {
        const format = req.contentFormat ?? ContentFormat.TLV;
        if (this.refuse.has(format)) return { code: '4.15' };
        const values = decodeValues(format, req.payload, { path: p, model: registry });
        for (const k of this.under(`${p}`).keys()) this.values.delete(k);
        for (const v of values) this.values.set(`${v.path}`, v.value);
        return { code: '2.04' };
      }
      default:
        return { code: '4.05' };
    }
  }

  #isBootstrapAccount(instanceId: number): boolean {
    const v = this.values.get(`/0/${instanceId}/1`);
    return v?.type === 'boolean' && v.value;
  }

  #discover(): string {
    const instances = new Set<string>();
    for (const k of this.values.keys()) instances.add(k.split('/').slice(0, 3).join('/'));
    const links: { uri: string; attributes: LinkAttribute[] }[] = [];
    if (this.#version !== undefined) {
      links.push({ uri: '/', attributes: [['lwm2m', { kind: 'quoted', value: this.#version }]] });
    }
    for (const i of [...instances].sort()) {
      const p = LwM2mPath.parse(i);
      const ssid = this.values.get(`${i}/${p.objectId === 0 ? 10 : 0}`);
      const attributes: LinkAttribute[] =
        this.#version !== undefined && (p.objectId === 0 || p.objectId === 1) && ssid !== undefined
          ? [['ssid', { kind: 'token', value: String(ssid.value) }]]
          : [];
      links.push({ uri: i, attributes });
    }
    return formatLinkFormat(links);
  }
}
