/**
 * A bootstrap server by hand for the client's tests: a CoapEndpoint on loopback that answers
 * the Bootstrap-Request (`POST /bs`) and the Bootstrap-Pack-Request (`GET /bspack`) as told, then
 * runs a script of requests toward the client and logs each answer. Not a bootstrap server
 * implementation (that is apps/bootstrap, which apps/client must not import).
 */
import {
  CoapEndpoint,
  type CoapRequest,
  type CoapResponse,
  type IncomingResponse,
  type OutgoingRequest,
  type Peer,
} from '@lwm2m-ts/coap';
import { encode } from '@lwm2m-ts/codecs';
import {
  ContentFormat,
  type LwM2mObjectInstance,
  LwM2mPath,
  objectInstance,
  singleResource,
} from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';

const registry = ObjectRegistry.withBuiltins();

/** A bootstrap server by hand: answers /bs and /bspack as told, sends what the test scripts. */
export class FakeBootstrapServer {
  readonly requests: CoapRequest[] = [];
  /** What the client answered to each request sent, `PUT /0/1 2.04`. */
  readonly log: string[] = [];
  /** Answer to the Bootstrap-Request (default 2.04) and what runs after it. */
  answer: (req: CoapRequest) => CoapResponse | undefined = () => undefined;
  script: (bs: FakeBootstrapServer) => Promise<void> = async () => {};
  pack: ((req: CoapRequest) => CoapResponse) | undefined;
  client: Peer | undefined;
  scriptDone: Promise<void> = Promise.resolve();

  private constructor(readonly endpoint: CoapEndpoint) {}

  static async start(): Promise<FakeBootstrapServer> {
    const endpoint = new CoapEndpoint({ address: '127.0.0.1', port: 0 });
    const bs = new FakeBootstrapServer(endpoint);
    endpoint.setHandler((req) => bs.handle(req));
    await endpoint.listen();
    return bs;
  }

  get uri(): string {
    return `coap://127.0.0.1:${this.endpoint.address().port}`;
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }

  bootstrapRequests(): CoapRequest[] {
    return this.requests.filter((r) => r.path[0] === 'bs');
  }

  async send(req: OutgoingRequest): Promise<IncomingResponse> {
    const res = await this.endpoint.request(this.client!, { timeout: 3000, ...req });
    const path = typeof req.path === 'string' ? req.path : `/${(req.path ?? []).join('/')}`;
    this.log.push(`${req.method} ${path} ${res.code}`);
    return res;
  }

  /** Bootstrap-Write of an instance in TLV. */
  write(inst: LwM2mObjectInstance, objectId: number): Promise<IncomingResponse> {
    const path = LwM2mPath.of(objectId, inst.id);
    return this.send({
      method: 'PUT',
      path: `${path}`,
      contentFormat: ContentFormat.TLV,
      payload: encode(ContentFormat.TLV, inst, { path, model: registry }),
    });
  }

  finish(): Promise<IncomingResponse> {
    return this.send({ method: 'POST', path: '/bs' });
  }

  private handle(req: CoapRequest): CoapResponse {
    this.requests.push(req);
    if (req.path.length === 1 && req.path[0] === 'bs' && req.method === 'POST') {
      this.client = req.peer;
      const res = this.answer(req);
      if (res !== undefined) return res;
      this.scriptDone = new Promise<void>((resolve) =>
        setImmediate(() => {
          this.script(this).then(resolve, resolve);
        }),
      );
      return { code: '2.04' };
    }
    if (req.path.length === 1 && req.path[0] === 'bspack' && this.pack !== undefined) {
      return this.pack(req);
    }
    return { code: '4.04' };
  }
}

export function dmSecurity(id: number, uri: string, ssid: number): LwM2mObjectInstance {
  return objectInstance(id, [
    singleResource(0, 'string', uri),
    singleResource(1, 'boolean', false),
    singleResource(2, 'integer', 3),
    singleResource(3, 'opaque', new Uint8Array()),
    singleResource(4, 'opaque', new Uint8Array()),
    singleResource(5, 'opaque', new Uint8Array()),
    singleResource(10, 'integer', ssid),
  ]);
}

export function dmServer(id: number, ssid: number, lifetime: number): LwM2mObjectInstance {
  return objectInstance(id, [
    singleResource(0, 'integer', ssid),
    singleResource(1, 'integer', lifetime),
    singleResource(6, 'boolean', true),
    singleResource(7, 'string', 'U'),
  ]);
}

/** The usual sequence: delete everything, write a NoSec account to `dm`, finish. */
export function provision(dm: { uri: string }, ssid = 101, lifetime = 120) {
  return async (bs: FakeBootstrapServer) => {
    await bs.send({ method: 'DELETE', path: '/' });
    await bs.write(dmSecurity(1, dm.uri, ssid), 0);
    await bs.write(dmServer(0, ssid, lifetime), 1);
    await bs.finish();
  };
}
