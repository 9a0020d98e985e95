import {
  CoapEndpoint,
  type IncomingResponse,
  type OutgoingRequest,
  type ServerObservation,
} from '@lwm2m-ts/coap';
import {
  decode,
  decodeValues,
  encode,
  encodeSenmlCborPaths,
  encodeSenmlJsonPaths,
  type LwM2mVersion,
} from '@lwm2m-ts/codecs';
import {
  type AttributeUpdate,
  applyAttributeUpdate,
  ContentFormat,
  LwM2mPath,
  lwm2mObject,
  multipleResource,
  objectInstance,
  resourceInstance,
  singleResource,
  type WriteAttributes,
} from '@lwm2m-ts/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDmHandler, encodeRead } from './dm-handler.js';
import { builtinModel, InstanceObject } from './instance-object.js';
import type { RequestOrigin } from './object-enabler.js';
import { ObjectTree } from './object-tree.js';
import { TEST_MODEL, testValues } from './test-object-models.js';

const SERVER: RequestOrigin = { kind: 'server', shortServerId: 1 };
const open: CoapEndpoint[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
});

interface Observed {
  paths: string[];
  composite: boolean;
  format: number;
  obs: ServerObservation | undefined;
}

async function setup(version: LwM2mVersion = '1.2', origin: RequestOrigin = SERVER) {
  const tree = new ObjectTree();
  const reboot = vi.fn();
  const device = new InstanceObject(builtinModel(3), {
    instances: { 0: { 0: 'ACME', 7: { 0: 3800, 1: 5000 }, 11: [0], 16: 'U' } },
    onExecute: { 4: reboot },
  });
  const test = new InstanceObject(TEST_MODEL, {
    instances: { 0: testValues(0), 1: testValues(1) },
  });
  const security = new InstanceObject(builtinModel(0), {
    instances: {
      0: {
        0: 'coap://x',
        1: false,
        2: 3,
        3: new Uint8Array(),
        4: new Uint8Array(),
        5: new Uint8Array(),
      },
    },
  });
  tree.add(security).add(device).add(test);

  const attributes = new Map<string, WriteAttributes>();
  const observed: Observed[] = [];
  const client = new CoapEndpoint({ address: '127.0.0.1' });
  const server = new CoapEndpoint({ address: '127.0.0.1' });
  open.push(client, server);
  client.setHandler(
    createDmHandler(tree, {
      version,
      origin: () => origin,
      observe: (_req, ctx, paths, composite, format) => {
        observed.push({ paths: paths.map(String), composite, format, obs: ctx.observe() });
        return encodeRead(tree, paths, composite, format, SERVER);
      },
      writeAttributes: (path: LwM2mPath, update: AttributeUpdate) => {
        const level = path.level === 'root' ? 'object' : path.level;
        const rm = tree.resourceModel(path);
        const numeric =
          rm === undefined ? undefined : ['integer', 'unsigned', 'float'].includes(rm.type);
        attributes.set(
          `${path}`,
          applyAttributeUpdate(attributes.get(`${path}`) ?? {}, update, {
            level,
            ...(numeric !== undefined && { resourceIsNumeric: numeric }),
          }),
        );
      },
      discoverAttributes: (path) => attributes.get(`${path}`) ?? {},
    }),
  );
  await client.listen();
  await server.listen();
  const peer = { address: '127.0.0.1', port: client.address().port };
  const send = (r: OutgoingRequest): Promise<IncomingResponse> =>
    server.request(peer, { timeout: 5000, ...r });
  return { tree, device, test, reboot, attributes, observed, server, peer, send };
}

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const models = (tree: ObjectTree) => ({ model: tree.models() });

describe('Read', () => {
  it('answers a single resource in text/plain when no Accept is given', async () => {
    const { send } = await setup('1.0');
    const res = await send({ method: 'GET', path: '/3/0/0' });
    expect(res.code).toBe('2.05');
    expect(res.contentFormat).toBe(ContentFormat.TEXT);
    expect(str(res.payload)).toBe('ACME');
  });

  it('answers an opaque resource in opaque when no Accept is given', async () => {
    const { send } = await setup();
    const res = await send({ method: 'GET', path: '/33000/0/5' });
    expect(res.contentFormat).toBe(ContentFormat.OPAQUE);
    expect([...res.payload]).toEqual([1, 2, 3]);
  });

  it.each([
    ['1.0', ContentFormat.TLV],
    ['1.1', ContentFormat.SENML_CBOR],
    ['1.2', ContentFormat.SENML_CBOR],
  ] as const)(
    'answers an instance of a %s client in %i without Accept',
    async (version, format) => {
      const { send, tree } = await setup(version);
      const res = await send({ method: 'GET', path: '/3/0' });
      expect(res.code).toBe('2.05');
      expect(res.contentFormat).toBe(format);
      expect(decode(format, res.payload, { path: '/3/0', ...models(tree) })).toEqual(
        await tree.read(LwM2mPath.parse('/3/0'), SERVER),
      );
    },
  );

  // Every format at every level: what it can carry is answered, the rest is 4.06.
  const FORMATS = [
    ContentFormat.TEXT,
    ContentFormat.OPAQUE,
    ContentFormat.CBOR,
    ContentFormat.SENML_JSON,
    ContentFormat.SENML_CBOR,
    ContentFormat.TLV,
    ContentFormat.LWM2M_JSON,
    ContentFormat.LWM2M_CBOR,
  ];
  const SINGLE = new Set<number>([ContentFormat.TEXT, ContentFormat.CBOR]);
  const LEVELS: [string, string, (f: number) => boolean][] = [
    ['object', '/33000', (f) => !SINGLE.has(f) && f !== ContentFormat.OPAQUE],
    ['instance', '/33000/1', (f) => !SINGLE.has(f) && f !== ContentFormat.OPAQUE],
    ['string resource', '/33000/0/0', (f) => f !== ContentFormat.OPAQUE],
    ['opaque resource', '/33000/0/5', () => true],
    ['time resource', '/33000/0/6', (f) => f !== ContentFormat.OPAQUE],
    ['objlnk resource', '/33000/0/7', (f) => f !== ContentFormat.OPAQUE],
    ['multiple resource', '/33000/0/9', (f) => !SINGLE.has(f) && f !== ContentFormat.OPAQUE],
    ['resource instance', '/33000/0/9/1', (f) => f !== ContentFormat.OPAQUE],
  ];
  for (const [level, path, carries] of LEVELS) {
    it(`reads the ${level} ${path} in every 1.2 format it can carry, 4.06 otherwise`, async () => {
      const { send, tree } = await setup('1.2');
      const expected = await tree.read(LwM2mPath.parse(path), SERVER);
      for (const format of FORMATS) {
        const res = await send({ method: 'GET', path, accept: format });
        if (carries(format)) {
          expect([format, res.code]).toEqual([format, '2.05']);
          expect(res.contentFormat).toBe(format);
          expect(decode(format, res.payload, { path, ...models(tree) })).toEqual(expected);
        } else {
          expect([format, res.code]).toEqual([format, '4.06']);
        }
      }
    });
  }

  it('a 1.0 client answers 4.06 to formats 1.0 does not define, and takes the legacy TLV number', async () => {
    const { send } = await setup('1.0');
    for (const f of [
      ContentFormat.CBOR,
      ContentFormat.SENML_JSON,
      ContentFormat.SENML_CBOR,
      ContentFormat.LWM2M_CBOR,
      9999,
    ]) {
      expect((await send({ method: 'GET', path: '/3/0', accept: f })).code).toBe('4.06');
    }
    const res = await send({ method: 'GET', path: '/3/0', accept: ContentFormat.LEGACY_TLV });
    expect(res.code).toBe('2.05');
    expect(res.contentFormat).toBe(ContentFormat.TLV);
  });

  it.each([
    ['/33000/0/10', '4.05'],
    ['/33000/0/11', '4.05'],
    ['/33000/0/99', '4.04'],
    ['/33000/5', '4.04'],
    ['/4', '4.04'],
    ['/0/0', '4.04'],
    ['/3/0/1', '4.04'],
    ['/foo', '4.04'],
    ['/3/00', '4.04'],
    ['/', '4.05'],
  ])('GET %s → %s', async (path, expected) => {
    const { send } = await setup();
    const res = await send({ method: 'GET', path: path === '/' ? [] : path });
    expect(res.code).toBe(expected);
  });

  it('an unknown path is 4.04 even with an Accept it could not carry', async () => {
    const { send } = await setup();
    expect((await send({ method: 'GET', path: '/44', accept: ContentFormat.TEXT })).code).toBe(
      '4.04',
    );
  });
});

describe('Write', () => {
  it('writes a single resource in text, CBOR, opaque and the node formats', async () => {
    const { send, test, tree } = await setup();
    let res = await send({
      method: 'PUT',
      path: '/33000/0/0',
      payload: text('hello'),
      contentFormat: ContentFormat.TEXT,
    });
    expect(res.code).toBe('2.04');
    expect(test.get(0, 0)).toBe('hello');
    const cbor = encode(ContentFormat.CBOR, singleResource(3, 'float', 7.25), {
      path: '/33000/0/3',
      ...models(tree),
    });
    res = await send({
      method: 'PUT',
      path: '/33000/0/3',
      payload: cbor,
      contentFormat: ContentFormat.CBOR,
    });
    expect(res.code).toBe('2.04');
    expect(test.get(0, 3)).toBe(7.25);
    res = await send({
      method: 'PUT',
      path: '/33000/0/5',
      payload: new Uint8Array([9, 8]),
      contentFormat: ContentFormat.OPAQUE,
    });
    expect(test.get(0, 5)).toEqual(new Uint8Array([9, 8]));
    for (const f of [
      ContentFormat.TLV,
      ContentFormat.SENML_JSON,
      ContentFormat.SENML_CBOR,
      ContentFormat.LWM2M_JSON,
      ContentFormat.LWM2M_CBOR,
    ]) {
      const payload = encode(f, singleResource(1, 'integer', f % 100), {
        path: '/33000/0/1',
        ...models(tree),
      });
      res = await send({ method: 'PUT', path: '/33000/0/1', payload, contentFormat: f });
      expect([f, res.code]).toEqual([f, '2.04']);
      expect(test.get(0, 1)).toBe(BigInt(f % 100));
    }
  });

  it('replaces an instance in every node format', async () => {
    const { send, test, tree } = await setup();
    for (const f of [
      ContentFormat.TLV,
      ContentFormat.SENML_JSON,
      ContentFormat.SENML_CBOR,
      ContentFormat.LWM2M_JSON,
      ContentFormat.LWM2M_CBOR,
    ]) {
      await send({
        method: 'PUT',
        path: '/33000/1/3',
        payload: text('1.0'),
        contentFormat: ContentFormat.TEXT,
      });
      const node = objectInstance(1, [
        singleResource(0, 'string', `f${f}`),
        multipleResource(9, 'integer', { 3: 3 }),
      ]);
      const res = await send({
        method: 'PUT',
        path: '/33000/1',
        payload: encode(f, node, { path: '/33000/1', ...models(tree) }),
        contentFormat: f,
      });
      expect([f, res.code]).toEqual([f, '2.04']);
      expect(test.get(1, 0)).toBe(`f${f}`);
      expect(test.get(1, 9)).toEqual(new Map([[3, 3n]]));
      // Replace: the writable float not given is gone, the read-only label stays.
      expect(test.get(1, 3)).toBeUndefined();
      expect(test.get(1, 12)).toBe('label');
    }
  });

  it('POST on an instance is a partial update', async () => {
    const { send, test, tree } = await setup('1.0');
    const node = objectInstance(0, [singleResource(3, 'float', 0.5)]);
    const res = await send({
      method: 'POST',
      path: '/33000/0',
      payload: encode(ContentFormat.TLV, node, { path: '/33000/0', ...models(tree) }),
      contentFormat: ContentFormat.TLV,
    });
    expect(res.code).toBe('2.04');
    expect(test.get(0, 3)).toBe(0.5);
    expect(test.get(0, 0)).toBe('text 0');
  });

  it('1.1+: POST on a multiple resource adds instances; PUT replaces them', async () => {
    const { send, test, tree } = await setup('1.1');
    const add = multipleResource(9, 'integer', { 5: 5 });
    let res = await send({
      method: 'POST',
      path: '/33000/0/9',
      payload: encode(ContentFormat.SENML_JSON, add, { path: '/33000/0/9', ...models(tree) }),
      contentFormat: ContentFormat.SENML_JSON,
    });
    expect(res.code).toBe('2.04');
    expect([...(test.get(0, 9) as Map<number, bigint>).keys()]).toEqual([0, 1, 5]);
    res = await send({
      method: 'PUT',
      path: '/33000/0/9',
      payload: encode(ContentFormat.SENML_JSON, add, { path: '/33000/0/9', ...models(tree) }),
      contentFormat: ContentFormat.SENML_JSON,
    });
    expect([...(test.get(0, 9) as Map<number, bigint>).keys()]).toEqual([5]);
    res = await send({
      method: 'PUT',
      path: '/33000/0/9/8',
      payload: text('8'),
      contentFormat: ContentFormat.TEXT,
    });
    expect(res.code).toBe('2.04');
    expect([...(test.get(0, 9) as Map<number, bigint>).keys()]).toEqual([5, 8]);
  });

  it('takes a write without Content-Format as text/plain for a single value only', async () => {
    const { send, test } = await setup('1.0');
    expect((await send({ method: 'PUT', path: '/33000/0/0', payload: text('plain') })).code).toBe(
      '2.04',
    );
    expect(test.get(0, 0)).toBe('plain');
    expect((await send({ method: 'PUT', path: '/33000/0', payload: text('x') })).code).toBe('4.15');
  });

  it('carries a large value block-wise', async () => {
    const { send, test, tree } = await setup();
    const big = new Uint8Array(5000).map((_, i) => i % 251);
    const res = await send({
      method: 'PUT',
      path: '/33000/0/5',
      payload: big,
      contentFormat: ContentFormat.OPAQUE,
    });
    expect(res.code).toBe('2.04');
    expect(test.get(0, 5)).toEqual(big);
    const back = await send({ method: 'GET', path: '/33000/0', accept: ContentFormat.TLV });
    expect(back.payload.length).toBeGreaterThan(5000);
    const node = decode(ContentFormat.TLV, back.payload, { path: '/33000/0', ...models(tree) });
    expect(node.kind === 'instance' && node.resources.find((r) => r.id === 5)).toEqual(
      singleResource(5, 'opaque', big),
    );
  });

  it.each([
    ['text into an integer', '/33000/0/1', 'abc', ContentFormat.TEXT, '4.00'],
    ['a value out of range', '/33000/0/1', '101', ContentFormat.TEXT, '4.00'],
    ['a read-only resource', '/33000/0/2', '1', ContentFormat.TEXT, '4.05'],
    ['an executable resource', '/33000/0/10', '1', ContentFormat.TEXT, '4.05'],
    ['an unknown resource', '/33000/0/99', '1', ContentFormat.TEXT, '4.04'],
    ['an unknown instance', '/33000/9/0', '1', ContentFormat.TEXT, '4.04'],
    ['an unknown object', '/44/0/0', '1', ContentFormat.TEXT, '4.04'],
    ['the Security object', '/0/0/0', 'x', ContentFormat.TEXT, '4.04'],
    ['an object', '/33000', 'x', ContentFormat.TEXT, '4.05'],
    ['an unknown content format', '/33000/0/0', 'x', 9999, '4.15'],
    ['link-format', '/33000/0/0', '</1>', ContentFormat.LINK_FORMAT, '4.15'],
    ['text for an instance', '/33000/0', 'x', ContentFormat.TEXT, '4.15'],
    ['a malformed SenML payload', '/33000/0', '[{"n":', ContentFormat.SENML_JSON, '4.00'],
    [
      'a SenML value outside the target',
      '/33000/0/0',
      '[{"n":"/33000/0/3","v":1}]',
      ContentFormat.SENML_JSON,
      '4.00',
    ],
  ])('refuses %s (%s) with %s', async (_, path, payload, contentFormat, expected) => {
    const { send } = await setup();
    const res = await send({ method: 'PUT', path, payload: text(payload), contentFormat });
    expect(res.code).toBe(expected);
  });

  it('refuses a TLV instance that is not the one addressed with 4.00', async () => {
    const { send, tree } = await setup('1.0');
    const node = objectInstance(1, [singleResource(0, 'string', 'x')]);
    const payload = encode(ContentFormat.TLV, lwm2mObject(33000, [node]), {
      path: '/33000',
      ...models(tree),
    });
    const res = await send({
      method: 'PUT',
      path: '/33000/0',
      payload,
      contentFormat: ContentFormat.TLV,
    });
    expect(res.code).toBe('4.00');
  });

  it('a 1.0 client refuses 1.1 formats with 4.15', async () => {
    const { send, tree } = await setup('1.0');
    const payload = encode(ContentFormat.SENML_CBOR, singleResource(0, 'string', 'x'), {
      path: '/33000/0/0',
      ...models(tree),
    });
    expect(
      (
        await send({
          method: 'PUT',
          path: '/33000/0/0',
          payload,
          contentFormat: ContentFormat.SENML_CBOR,
        })
      ).code,
    ).toBe('4.15');
  });
});

describe('bootstrap origin', () => {
  it('reads and writes Security, creating a missing instance', async () => {
    const { send, tree } = await setup('1.1', { kind: 'bootstrap' });
    const res = await send({ method: 'GET', path: '/0/0/0' });
    expect(str(res.payload)).toBe('coap://x');
    const inst = objectInstance(3, [
      singleResource(0, 'string', 'coap://dm'),
      singleResource(1, 'boolean', false),
      singleResource(10, 'integer', 7),
    ]);
    const payload = encode(ContentFormat.TLV, inst, { path: '/0/3', ...models(tree) });
    const put = await send({
      method: 'PUT',
      path: '/0/3',
      payload,
      contentFormat: ContentFormat.TLV,
    });
    expect(put.code).toBe('2.04');
    expect(await tree.read(LwM2mPath.parse('/0/3/10'), { kind: 'local' })).toEqual(
      singleResource(10, 'integer', 7),
    );
  });
});

describe('Write-Attributes and Discover', () => {
  it('writes attributes from the query and lists them in Discover', async () => {
    const { send, attributes } = await setup('1.1');
    expect((await send({ method: 'PUT', path: '/3', query: ['pmin=10'] })).code).toBe('2.04');
    expect((await send({ method: 'PUT', path: '/3/0', query: ['pmax=60'] })).code).toBe('2.04');
    expect((await send({ method: 'PUT', path: '/3/0/7', query: ['gt=50', 'lt=42.2'] })).code).toBe(
      '2.04',
    );
    expect(attributes.get('/3/0/7')).toEqual({ gt: 50, lt: 42.2 });

    const object = await send({ method: 'GET', path: '/3', accept: ContentFormat.LINK_FORMAT });
    expect(object.code).toBe('2.05');
    expect(object.contentFormat).toBe(ContentFormat.LINK_FORMAT);
    expect(str(object.payload)).toBe(
      '</3>;ver=1.2;pmin=10,</3/0>;pmax=60,</3/0/0>,</3/0/4>,</3/0/7>;dim=2;gt=50;lt=42.2,</3/0/11>;dim=1,</3/0/16>',
    );
    const instance = await send({ method: 'GET', path: '/3/0', accept: ContentFormat.LINK_FORMAT });
    expect(str(instance.payload)).toBe(
      '</3/0>;pmax=60,</3/0/0>,</3/0/4>,</3/0/7>;dim=2;gt=50;lt=42.2,</3/0/11>;dim=1,</3/0/16>',
    );
    // At resource level the inherited attributes show, and (1.1+) the resource instances.
    const resource = await send({
      method: 'GET',
      path: '/3/0/7',
      accept: ContentFormat.LINK_FORMAT,
    });
    expect(str(resource.payload)).toBe(
      '</3/0/7>;dim=2;pmin=10;pmax=60;gt=50;lt=42.2,</3/0/7/0>,</3/0/7/1>',
    );
  });

  it('a 1.0 Discover of a resource lists the resource alone', async () => {
    const { send } = await setup('1.0');
    const res = await send({ method: 'GET', path: '/3/0/7', accept: ContentFormat.LINK_FORMAT });
    expect(str(res.payload)).toBe('</3/0/7>;dim=2');
  });

  it('unsets an attribute given without a value', async () => {
    const { send, attributes } = await setup();
    await send({ method: 'PUT', path: '/3/0', query: ['pmin=5', 'pmax=50'] });
    expect((await send({ method: 'PUT', path: '/3/0', query: ['pmin'] })).code).toBe('2.04');
    expect(attributes.get('/3/0')).toEqual({ pmax: 50 });
  });

  it.each([
    ['an unknown attribute', '/3/0', ['foo=1'], '4.00'],
    ['a malformed value', '/3/0', ['pmin=x'], '4.00'],
    ['gt on an instance', '/3/0', ['gt=5'], '4.00'],
    ['gt on a string resource', '/3/0/0', ['gt=5'], '4.00'],
    ['lt above gt', '/3/0/7', ['gt=1', 'lt=5'], '4.00'],
    ['an unknown instance', '/3/5', ['pmin=1'], '4.04'],
    ['a resource without value', '/3/0/1', ['pmin=1'], '4.04'],
    ['the Security object', '/0/0', ['pmin=1'], '4.04'],
    ['the root', '/', ['pmin=1'], '4.05'],
  ])('refuses %s', async (_, path, query, expected) => {
    const { send } = await setup();
    const res = await send({ method: 'PUT', path: path === '/' ? [] : path, query });
    expect(res.code).toBe(expected);
  });

  it.each([
    ['/0', '4.04'],
    ['/44', '4.04'],
    ['/3/1', '4.04'],
    ['/3/0/1', '4.04'],
    ['/3/0/7/0', '4.05'],
    ['/', '4.05'],
  ])('Discover %s → %s', async (path, expected) => {
    const { send } = await setup();
    const res = await send({
      method: 'GET',
      path: path === '/' ? [] : path,
      accept: ContentFormat.LINK_FORMAT,
    });
    expect(res.code).toBe(expected);
  });
});

describe('Execute, Create, Delete', () => {
  it('executes with the payload as arguments', async () => {
    const { send, reboot } = await setup();
    expect((await send({ method: 'POST', path: '/3/0/4' })).code).toBe('2.04');
    expect(
      (
        await send({
          method: 'POST',
          path: '/3/0/4',
          payload: text("0='a'"),
          contentFormat: ContentFormat.TEXT,
        })
      ).code,
    ).toBe('2.04');
    expect(reboot.mock.calls.map((c) => c[1])).toEqual(['', "0='a'"]);
    expect((await send({ method: 'POST', path: '/3/0/0' })).code).toBe('4.05');
    expect((await send({ method: 'POST', path: '/3/0/999' })).code).toBe('4.04');
    expect((await send({ method: 'POST', path: '/3/0/7/0' })).code).toBe('4.05');
    expect((await send({ method: 'POST', path: [] })).code).toBe('4.05');
  });

  const RESOURCES = [singleResource(0, 'string', 'new'), singleResource(12, 'string', 'lbl')];

  it('creates with TLV resources only: the client picks the lowest free id', async () => {
    const { send, test, tree } = await setup('1.0');
    await test.delete(0, SERVER);
    const payload = encode(ContentFormat.TLV, objectInstance(0, RESOURCES), {
      path: '/33000/0',
      ...models(tree),
    });
    const res = await send({
      method: 'POST',
      path: '/33000',
      payload,
      contentFormat: ContentFormat.TLV,
    });
    expect(res.code).toBe('2.01');
    expect(res.locationPath).toEqual(['33000', '0']);
    const again = await send({
      method: 'POST',
      path: '/33000',
      payload,
      contentFormat: ContentFormat.TLV,
    });
    expect(again.locationPath).toEqual(['33000', '2']);
    expect(test.get(2, 12)).toBe('lbl');
  });

  it.each([
    ContentFormat.TLV,
    ContentFormat.LWM2M_JSON,
    ContentFormat.SENML_JSON,
    ContentFormat.SENML_CBOR,
    ContentFormat.LWM2M_CBOR,
  ])('creates with the id the server gives in format %i', async (f) => {
    const { send, test, tree } = await setup('1.2');
    const payload = encode(f, lwm2mObject(33000, [objectInstance(7, RESOURCES)]), {
      path: '/33000',
      ...models(tree),
    });
    const res = await send({ method: 'POST', path: '/33000', payload, contentFormat: f });
    expect(res.code).toBe('2.01');
    expect(res.locationPath).toEqual(['33000', '7']);
    expect(test.get(7, 0)).toBe('new');
  });

  it.each([
    ['an id in use', 1, RESOURCES, '4.00'],
    ['a missing mandatory resource', 7, [RESOURCES[0]!], '4.00'],
  ])('refuses a Create with %s', async (_, id, resources, expected) => {
    const { send, tree } = await setup();
    const payload = encode(
      ContentFormat.SENML_JSON,
      lwm2mObject(33000, [objectInstance(id, resources)]),
      { path: '/33000', ...models(tree) },
    );
    expect(
      (
        await send({
          method: 'POST',
          path: '/33000',
          payload,
          contentFormat: ContentFormat.SENML_JSON,
        })
      ).code,
    ).toBe(expected);
  });

  it('refuses a Create of two instances, of a single-instance object, of Security', async () => {
    const { send, tree } = await setup();
    const two = encode(
      ContentFormat.SENML_JSON,
      lwm2mObject(33000, [objectInstance(7, RESOURCES), objectInstance(8, RESOURCES)]),
      { path: '/33000', ...models(tree) },
    );
    expect(
      (
        await send({
          method: 'POST',
          path: '/33000',
          payload: two,
          contentFormat: ContentFormat.SENML_JSON,
        })
      ).code,
    ).toBe('4.00');
    const dev = encode(
      ContentFormat.SENML_JSON,
      lwm2mObject(3, [objectInstance(1, [singleResource(0, 'string', 'x')])]),
      { path: '/3', ...models(tree) },
    );
    expect(
      (
        await send({
          method: 'POST',
          path: '/3',
          payload: dev,
          contentFormat: ContentFormat.SENML_JSON,
        })
      ).code,
    ).toBe('4.05');
    expect(
      (
        await send({
          method: 'POST',
          path: '/0',
          payload: dev,
          contentFormat: ContentFormat.SENML_JSON,
        })
      ).code,
    ).toBe('4.04');
    expect(
      (
        await send({
          method: 'POST',
          path: '/33000',
          payload: text('x'),
          contentFormat: ContentFormat.TEXT,
        })
      ).code,
    ).toBe('4.15');
  });

  it('deletes instances only', async () => {
    const { send, test } = await setup();
    expect((await send({ method: 'DELETE', path: '/33000/1' })).code).toBe('2.02');
    expect(test.instanceIds()).toEqual([0]);
    expect((await send({ method: 'DELETE', path: '/33000/1' })).code).toBe('4.04');
    expect((await send({ method: 'DELETE', path: '/33000' })).code).toBe('4.05');
    expect((await send({ method: 'DELETE', path: '/3/0' })).code).toBe('4.05');
    expect((await send({ method: 'DELETE', path: '/0/0' })).code).toBe('4.04');
  });

  it('refuses other methods with 4.05', async () => {
    const { send } = await setup();
    expect((await send({ method: 'PATCH', path: '/3/0' })).code).toBe('4.05');
  });
});

describe('composite operations', () => {
  const paths = [
    LwM2mPath.parse('/3/0/0'),
    LwM2mPath.parse('/33000/0/9'),
    LwM2mPath.parse('/44/0'),
  ];

  it('Read-Composite answers in the Accept format, or in the request format', async () => {
    const { send, tree } = await setup('1.2');
    for (const [request, cf, accept, expected] of [
      [encodeSenmlJsonPaths(paths), ContentFormat.SENML_JSON, undefined, ContentFormat.SENML_JSON],
      [encodeSenmlCborPaths(paths), ContentFormat.SENML_CBOR, undefined, ContentFormat.SENML_CBOR],
      [
        encodeSenmlJsonPaths(paths),
        ContentFormat.SENML_JSON,
        ContentFormat.SENML_CBOR,
        ContentFormat.SENML_CBOR,
      ],
      [
        encodeSenmlCborPaths(paths),
        ContentFormat.SENML_CBOR,
        ContentFormat.LWM2M_CBOR,
        ContentFormat.LWM2M_CBOR,
      ],
    ] as const) {
      const res = await send({
        method: 'FETCH',
        path: [],
        payload: request,
        contentFormat: cf,
        ...(accept !== undefined && { accept }),
      });
      expect(res.code).toBe('2.05');
      expect(res.contentFormat).toBe(expected);
      const values = decodeValues(expected, res.payload, models(tree));
      // The missing /44/0 is skipped.
      expect(values.map((v) => `${v.path}`)).toEqual(['/3/0/0', '/33000/0/9/0', '/33000/0/9/1']);
      expect(values[0]!.value).toEqual({ type: 'string', value: 'ACME' });
    }
  });

  it('composite refusals: 4.06, 4.15, 4.05 on 1.0 and off the root', async () => {
    const { send } = await setup('1.1');
    const payload = encodeSenmlJsonPaths(paths);
    const cf = ContentFormat.SENML_JSON;
    expect(
      (
        await send({
          method: 'FETCH',
          path: [],
          payload,
          contentFormat: cf,
          accept: ContentFormat.LWM2M_CBOR,
        })
      ).code,
    ).toBe('4.06');
    expect(
      (
        await send({
          method: 'FETCH',
          path: [],
          payload,
          contentFormat: cf,
          accept: ContentFormat.TLV,
        })
      ).code,
    ).toBe('4.06');
    expect(
      (await send({ method: 'FETCH', path: [], payload, contentFormat: ContentFormat.TLV })).code,
    ).toBe('4.15');
    expect((await send({ method: 'FETCH', path: '/3', payload, contentFormat: cf })).code).toBe(
      '4.05',
    );
    expect(
      (await send({ method: 'FETCH', path: [], payload: text('[{"n":'), contentFormat: cf })).code,
    ).toBe('4.00');
    const { send: send10 } = await setup('1.0');
    expect((await send10({ method: 'FETCH', path: [], payload, contentFormat: cf })).code).toBe(
      '4.05',
    );
    expect((await send10({ method: 'iPATCH', path: [], payload, contentFormat: cf })).code).toBe(
      '4.05',
    );
  });

  it('Write-Composite writes every value, or none when one is refused', async () => {
    const { send, test, device } = await setup('1.2');
    const good = [
      { path: LwM2mPath.parse('/33000/0/3'), value: { type: 'float', value: 6.5 } },
      { path: LwM2mPath.parse('/33000/1/9/4'), value: { type: 'integer', value: 4n } },
      { path: LwM2mPath.parse('/3/0/14'), value: { type: 'string', value: '+02:00' } },
    ] as const;
    for (const f of [
      ContentFormat.SENML_CBOR,
      ContentFormat.SENML_JSON,
      ContentFormat.LWM2M_CBOR,
    ]) {
      const res = await send({
        method: 'iPATCH',
        path: [],
        payload: encode(f, good, { path: '/' }),
        contentFormat: f,
      });
      expect([f, res.code]).toEqual([f, '2.04']);
    }
    expect(test.get(0, 3)).toBe(6.5);
    expect([...(test.get(1, 9) as Map<number, bigint>).keys()]).toEqual([0, 1, 4]);
    expect(device.get(0, 14)).toBe('+02:00');

    const bad = [
      { path: LwM2mPath.parse('/33000/0/3'), value: { type: 'float', value: 9.5 } },
      { path: LwM2mPath.parse('/33000/0/12'), value: { type: 'string', value: 'ro' } },
    ] as const;
    const res = await send({
      method: 'iPATCH',
      path: [],
      payload: encode(ContentFormat.SENML_JSON, bad, { path: '/' }),
      contentFormat: ContentFormat.SENML_JSON,
    });
    expect(res.code).toBe('4.05');
    expect(test.get(0, 3)).toBe(6.5);
    expect(
      (
        await send({
          method: 'iPATCH',
          path: [],
          payload: text('1'),
          contentFormat: ContentFormat.TEXT,
        })
      ).code,
    ).toBe('4.15');
    const dup = encode(ContentFormat.SENML_JSON, [good[0], good[0]], { path: '/' });
    expect(
      (
        await send({
          method: 'iPATCH',
          path: [],
          payload: dup,
          contentFormat: ContentFormat.SENML_JSON,
        })
      ).code,
    ).toBe('4.00');
  });
});

describe('Observe', () => {
  it('delegates Observe with the negotiated format and answers the first notification', async () => {
    const { server, peer, observed, tree, device } = await setup('1.1');
    const obs = await server.observe(peer, {
      method: 'GET',
      path: '/3/0',
      accept: ContentFormat.SENML_JSON,
      timeout: 5000,
    });
    expect(obs.first.code).toBe('2.05');
    expect(obs.first.contentFormat).toBe(ContentFormat.SENML_JSON);
    expect(observed).toHaveLength(1);
    expect(observed[0]).toMatchObject({
      paths: ['/3/0'],
      composite: false,
      format: ContentFormat.SENML_JSON,
    });
    expect(observed[0]!.obs).toBeDefined();
    // The manager notifies through the observation it accepted.
    const next = new Promise<IncomingResponse>((resolve) => obs.once('notification', resolve));
    device.set(0, 0, 'Changed');
    observed[0]!.obs!.notify(
      await encodeRead(tree, [LwM2mPath.parse('/3/0')], false, ContentFormat.SENML_JSON, SERVER),
    );
    const n = await next;
    const values = decodeValues(ContentFormat.SENML_JSON, n.payload, models(tree));
    expect(values.find((v) => `${v.path}` === '/3/0/0')?.value.value).toBe('Changed');
    await obs.cancel('reactive');
  });

  it('delegates Observe-Composite', async () => {
    const { server, peer, observed } = await setup('1.2');
    const obs = await server.observe(peer, {
      method: 'FETCH',
      path: [],
      payload: encodeSenmlCborPaths([LwM2mPath.parse('/3/0/0'), LwM2mPath.parse('/33000/0/1')]),
      contentFormat: ContentFormat.SENML_CBOR,
      accept: ContentFormat.SENML_CBOR,
      timeout: 5000,
    });
    expect(obs.first.code).toBe('2.05');
    expect(observed[0]).toMatchObject({
      paths: ['/3/0/0', '/33000/0/1'],
      composite: true,
      format: ContentFormat.SENML_CBOR,
    });
    await obs.cancel('reactive');
  });

  it('an Observe of an unknown path is 4.04 before the observer is asked', async () => {
    const { server, peer, observed } = await setup();
    await expect(
      server.observe(peer, { method: 'GET', path: '/44/0', timeout: 5000 }),
    ).rejects.toThrow(/4.04/);
    await expect(
      server.observe(peer, {
        method: 'GET',
        path: '/3/0',
        accept: ContentFormat.TEXT,
        timeout: 5000,
      }),
    ).rejects.toThrow(/4.06/);
    expect(observed).toHaveLength(0);
  });
});

describe('values round-trip', () => {
  it('every data type survives a read in each self-describing format', async () => {
    const { send, tree } = await setup('1.2');
    const expected = await tree.read(LwM2mPath.parse('/33000/0'), SERVER);
    for (const f of [
      ContentFormat.SENML_JSON,
      ContentFormat.SENML_CBOR,
      ContentFormat.LWM2M_JSON,
      ContentFormat.LWM2M_CBOR,
      ContentFormat.TLV,
    ]) {
      const res = await send({ method: 'GET', path: '/33000/0', accept: f });
      expect(decode(f, res.payload, { path: '/33000/0', ...models(tree) })).toEqual(expected);
    }
    expect(expected.kind === 'instance' && expected.resources.find((r) => r.id === 9)).toEqual(
      multipleResource(9, 'integer', [
        resourceInstance(0, 'integer', 10),
        resourceInstance(1, 'integer', 11),
      ]),
    );
  });
});
