import dgram from 'node:dgram';
import { CoapEndpoint, type CoapRequest, type CoapResponse } from '@lwm2m-ts/coap';
import {
  InvalidValueError,
  MethodNotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
  singleResource,
} from '@lwm2m-ts/core';
import { DtlsServerSocket } from '@lwm2m-ts/dtls';
import { describe, expect, it, type TestContext } from 'vitest';
import { createDmHandler } from '../dm-handler.js';
import { builtinModel } from '../instance-object.js';
import type { RequestOrigin } from '../object-enabler.js';
import { ObjectTree } from '../object-tree.js';
import {
  FirmwareState,
  FirmwareUpdateError,
  type FirmwareUpdateObject,
  type FirmwareUpdateOptions,
  firmwareUpdateObject,
  UpdateResult,
} from './firmware-update.js';

type Scope = Pick<TestContext, 'onTestFinished'>;

const SERVER: RequestOrigin = { kind: 'server', shortServerId: 1 };

function image(size: number, seed = 1): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 29 + seed * 13 + (i >> 9)) & 0xff;
  return b;
}

/** The enabler with a record of every State/Update Result change, as observers would see them. */
function fwObject(t: Scope, options: FirmwareUpdateOptions = {}) {
  const fw = firmwareUpdateObject({ downloadLocalAddress: '127.0.0.1', ...options });
  t.onTestFinished(() => fw.close());
  const states: number[] = [];
  const results: number[] = [];
  const changes: number[][] = [];
  fw.onChange((instanceId, ids) => {
    expect(instanceId).toBe(0);
    changes.push([...(ids ?? [])]);
    if (ids?.includes(3)) states.push(fw.state);
    if (ids?.includes(5)) results.push(fw.updateResult);
  });
  return { fw, states, results, changes };
}

function value(fw: FirmwareUpdateObject, id: number): unknown {
  const [r] = fw.read(0, id, SERVER);
  return r?.kind === 'singleResource' ? r.value : r;
}

const writeUri = (fw: FirmwareUpdateObject, uri: string) =>
  fw.write(0, [singleResource(1, 'string', uri)], 'update', SERVER);
const writePackage = (fw: FirmwareUpdateObject, pkg: Uint8Array) =>
  fw.write(0, [singleResource(0, 'opaque', pkg)], 'update', SERVER);

/** A CoAP endpoint on loopback serving `body` at /fw/image (else 4.04), closed after the test. */
async function packageServer(
  t: Scope,
  body: Uint8Array,
  options: { socket?: dgram.Socket; handler?: (req: CoapRequest) => Promise<CoapResponse> } = {},
) {
  const requests: CoapRequest[] = [];
  const ep = new CoapEndpoint({
    address: '127.0.0.1',
    blockSize: 512,
    ...(options.socket !== undefined ? { socket: options.socket, closeSocket: true } : {}),
    handler: async (req) => {
      requests.push(req);
      if (options.handler !== undefined) return options.handler(req);
      if (req.method === 'GET' && req.path.join('/') === 'fw/image') {
        return { code: '2.05', payload: body, contentFormat: 42 };
      }
      return { code: '4.04' };
    },
  });
  t.onTestFinished(() => ep.close());
  const { port } = await ep.listen();
  const scheme = options.socket === undefined ? 'coap' : 'coaps';
  return { ep, port, requests, uri: `${scheme}://127.0.0.1:${port}/fw/image` };
}

/**
 * The device side of a CoAP pair: the client's object tree and DM handler with the object in
 * it; `paths` records the tree's change events, which drive observations of /5/0/3 and /5/0/5.
 */
async function device(t: Scope, fw: FirmwareUpdateObject) {
  const tree = new ObjectTree().add(fw);
  const paths: string[] = [];
  tree.onChange((ps) => paths.push(...ps.map(String)));
  const ep = new CoapEndpoint({
    address: '127.0.0.1',
    handler: createDmHandler(tree, {
      version: '1.1',
      origin: () => SERVER,
      observe: () => {
        throw new MethodNotAllowedError('not in this test');
      },
      writeAttributes: () => {},
      discoverAttributes: () => ({}),
    }),
  });
  t.onTestFinished(() => ep.close());
  const { port } = await ep.listen();
  return { ep, paths, peer: { address: '127.0.0.1', port } };
}

/** An LwM2M server stand-in: a plain endpoint that sends requests to the device. */
async function server(t: Scope) {
  const ep = new CoapEndpoint({ address: '127.0.0.1', blockSize: 512 });
  t.onTestFinished(() => ep.close());
  await ep.listen();
  return ep;
}

async function thrown(f: () => unknown): Promise<unknown> {
  try {
    await f();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('Firmware Update object (5)', () => {
  it('starts Idle with result 0 and describes what it supports', (t) => {
    const { fw } = fwObject(t);
    expect(fw.model.id).toBe(5);
    expect(fw.instanceIds()).toEqual([0]);
    expect(value(fw, 3)).toBe(0n);
    expect(value(fw, 5)).toBe(0n);
    expect(value(fw, 1)).toBe('');
    expect(value(fw, 9)).toBe(2n); // both push and pull
    const protocols = fw.read(0, 8, SERVER)[0]!;
    expect(
      protocols.kind === 'multipleResource' && protocols.instances.map((x) => x.value),
    ).toEqual([0n]);
    // Instance read: readable resources only (no Package, Update, Cancel).
    const ids = fw.read(0, undefined, SERVER).map((r) => r.id);
    expect(ids).toEqual([1, 3, 5, 6, 7, 8, 9, 11, 13, 14]);
    expect(() => fw.read(0, 0, SERVER)).toThrow(MethodNotAllowedError);
    expect(() => fw.read(1, 3, SERVER)).toThrow(NotFoundError);
    expect(() => fw.read(0, 4, SERVER)).toThrow(NotFoundError);

    const withPsk = fwObject(t, { downloadPsk: () => undefined, delivery: 'pull' }).fw;
    const p2 = withPsk.read(0, 8, SERVER)[0]!;
    expect(p2.kind === 'multipleResource' && p2.instances.map((x) => x.value)).toEqual([0n, 1n]);
    expect(value(withPsk, 9)).toBe(0n);
  });

  it('push: a 5 kB package written block-wise is Downloaded, then Update applies the same bytes', async (t) => {
    const pkg = image(5000);
    const applied: Uint8Array[] = [];
    const updated: unknown[] = [];
    const { fw, states, results } = fwObject(t, {
      integrity: (p) => p.length === 5000,
      packageInfo: () => ({ name: 'acme-fw', version: '2.0.1' }),
      apply: async (p, info) => {
        applied.push(p.slice());
        expect(info).toEqual({ name: 'acme-fw', version: '2.0.1' });
      },
      onUpdated: ({ info }) => {
        updated.push(info);
      },
    });
    const dev = await device(t, fw);
    const srv = await server(t);

    const put = await srv.request(dev.peer, {
      method: 'PUT',
      path: '/5/0/0',
      payload: pkg,
      contentFormat: 42,
    });
    expect(put.code).toBe('2.04');
    // Sent as ten 512-byte Block1 blocks (RFC 7959), reassembled by the endpoint.
    expect(dev.ep.stats().received).toBeGreaterThanOrEqual(10);
    // The Write answers once the package is checked: Downloaded at once.
    expect(fw.state).toBe(FirmwareState.Downloaded);
    expect(Buffer.from(fw.package!).equals(Buffer.from(pkg))).toBe(true);
    const read = async (r: number) =>
      Buffer.from(
        (await srv.request(dev.peer, { method: 'GET', path: `/5/0/${r}`, accept: 0 })).payload,
      ).toString();
    expect(await read(3)).toBe('2');
    expect(await read(6)).toBe('acme-fw');
    expect(await read(7)).toBe('2.0.1');

    expect((await srv.request(dev.peer, { method: 'POST', path: '/5/0/2' })).code).toBe('2.04');
    await fw.settled();
    expect(applied).toHaveLength(1);
    expect(Buffer.from(applied[0]!).equals(Buffer.from(pkg))).toBe(true);
    expect(updated).toEqual([{ name: 'acme-fw', version: '2.0.1' }]);
    expect(await read(3)).toBe('0');
    expect(await read(5)).toBe('1');
    expect(states).toEqual([1, 2, 3, 0]);
    expect(results).toEqual([1]);
    expect(fw.package).toBeUndefined();
    expect(value(fw, 12)).toBeInstanceOf(Date); // Last State Change Time
    // The tree saw each change at its resource path: what observations of /5/0/3 and /5/0/5 use.
    expect(dev.paths.filter((p) => p === '/5/0/3')).toHaveLength(4);
    expect(dev.paths.filter((p) => p === '/5/0/5')).toHaveLength(1);
  });

  it('pull: downloads a 10 kB package from a package server, then Update applies it', async (t) => {
    const pkg = image(10_000, 2);
    const srvPkg = await packageServer(t, pkg);
    const applied: Uint8Array[] = [];
    const { fw, states, results, changes } = fwObject(t, {
      apply: (p) => {
        applied.push(p.slice());
      },
    });
    const dev = await device(t, fw);
    const srv = await server(t);

    const put = await srv.request(dev.peer, {
      method: 'PUT',
      path: '/5/0/1',
      payload: Buffer.from(srvPkg.uri),
      contentFormat: 0,
    });
    // The Write answers at once; the download runs after it.
    expect(put.code).toBe('2.04');
    expect(value(fw, 1)).toBe(srvPkg.uri);
    await expect.poll(() => fw.state, { timeout: 5000 }).toBe(FirmwareState.Downloaded);
    expect(srvPkg.ep.stats().received).toBe(20); // 512-byte Block2 blocks
    expect(Buffer.from(fw.package!).equals(Buffer.from(pkg))).toBe(true);

    fw.execute(0, 2, '', SERVER);
    expect(fw.state).toBe(FirmwareState.Updating);
    await fw.settled();
    expect(applied).toHaveLength(1);
    expect(Buffer.from(applied[0]!).equals(Buffer.from(pkg))).toBe(true);
    expect(fw.state).toBe(FirmwareState.Idle);
    expect(fw.updateResult).toBe(UpdateResult.Success);
    expect(states).toEqual([1, 2, 3, 0]);
    expect(results).toEqual([1]);
    // Every change names its resources; the first is the URI itself.
    expect(changes[0]).toEqual([1]);
    expect(changes.slice(1).every((c) => c.includes(3) || c.includes(5))).toBe(true);
  });

  it('pull over coaps:// with the PSK the downloadPsk option gives', async (t) => {
    const pkg = image(3000, 5);
    const socket = new DtlsServerSocket({
      type: 'udp4',
      psk: async (identity) => (identity === 'dev-fw' ? Buffer.from('fw-key-123') : undefined),
    });
    const srvPkg = await packageServer(t, pkg, { socket });
    const asked: string[] = [];
    const { fw, states } = fwObject(t, {
      downloadPsk: (uri) => {
        asked.push(uri);
        return { identity: 'dev-fw', key: Buffer.from('fw-key-123') };
      },
    });
    await writeUri(fw, srvPkg.uri);
    expect(asked).toEqual([srvPkg.uri]);
    await fw.settled();
    expect(fw.state).toBe(FirmwareState.Downloaded);
    expect(Buffer.from(fw.package!).equals(Buffer.from(pkg))).toBe(true);
    expect(srvPkg.requests[0]!.peer.identity).toBe('dev-fw');
    expect(states).toEqual([1, 2]);
  });

  describe('failures set the Update Result and go back to Idle', () => {
    // Decision: a 4.04 from the package server is 7 (invalid URI): the URI leads to no package,
    // and 4 (connection lost) would suggest that trying the same URI again could work.
    it('4.04 from the package server → 7', async (t) => {
      const srvPkg = await packageServer(t, image(100));
      const { fw, states, results } = fwObject(t);
      await writeUri(fw, `coap://127.0.0.1:${srvPkg.port}/fw/missing`);
      await fw.settled();
      expect(srvPkg.requests).toHaveLength(1);
      expect(states).toEqual([1, 0]);
      expect(results).toEqual([UpdateResult.InvalidUri]);
      expect(value(fw, 5)).toBe(7n);
    });

    it('no answer within downloadTimeoutMs → 4', async (t) => {
      const silent = dgram.createSocket('udp4');
      await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
      t.onTestFinished(() => new Promise<void>((r) => silent.close(() => r())));
      const { fw, states, results } = fwObject(t, { downloadTimeoutMs: 300 });
      await writeUri(fw, `coap://127.0.0.1:${silent.address().port}/fw`);
      expect(fw.state).toBe(FirmwareState.Downloading);
      await fw.settled();
      expect(states).toEqual([1, 0]);
      expect(results).toEqual([UpdateResult.ConnectionLost]);
    });

    it('integrity hook false → 5, or the result it gives (6)', async (t) => {
      const srvPkg = await packageServer(t, image(2000));
      const seen: number[] = [];
      let verdict: boolean | 6 = false;
      const { fw, results } = fwObject(t, {
        integrity: async (p) => {
          seen.push(p.length);
          return verdict;
        },
      });
      await writeUri(fw, srvPkg.uri);
      await fw.settled();
      expect(seen).toEqual([2000]);
      expect(fw.state).toBe(FirmwareState.Idle);
      expect(fw.updateResult).toBe(UpdateResult.IntegrityCheckFailure);
      expect(fw.package).toBeUndefined();

      verdict = 6;
      await writePackage(fw, image(100));
      expect(fw.state).toBe(FirmwareState.Idle);
      // Each delivery resets the result to 0 first (DDF, Update Result), then sets its own.
      expect(results).toEqual([5, 0, 6]);
    });

    it('a throwing integrity hook → 5, or the FirmwareUpdateError result it carries', async (t) => {
      let err: Error = new Error('checksum tool crashed');
      const { fw } = fwObject(t, {
        integrity: () => {
          throw err;
        },
      });
      await writePackage(fw, image(100));
      expect(fw.updateResult).toBe(5);
      err = new FirmwareUpdateError(UpdateResult.OutOfRam, 'no RAM to check it');
      await writePackage(fw, image(100));
      expect(fw.updateResult).toBe(3);
    });

    it('a package over maxPackageSize → 2, pulled (mid-transfer) or pushed', async (t) => {
      const srvPkg = await packageServer(t, image(10_000));
      const checked: number[] = [];
      const { fw, states } = fwObject(t, {
        maxPackageSize: 4096,
        integrity: (p) => {
          checked.push(p.length);
          return true;
        },
      });
      await writeUri(fw, srvPkg.uri);
      await fw.settled();
      expect(fw.updateResult).toBe(UpdateResult.NotEnoughFlash);
      expect(srvPkg.ep.stats().received).toBeLessThan(20);
      await writePackage(fw, image(5000));
      expect(fw.updateResult).toBe(UpdateResult.NotEnoughFlash);
      expect(checked).toEqual([]);
      expect(states).toEqual([1, 0, 1, 0]);
    });

    it('http:// → 9 and a garbage URI → 7, with no download and State left Idle', async (t) => {
      const { fw, states, results } = fwObject(t);
      await writeUri(fw, 'http://127.0.0.1/fw.bin');
      expect(fw.updateResult).toBe(UpdateResult.UnsupportedProtocol);
      expect(value(fw, 1)).toBe('http://127.0.0.1/fw.bin');
      await writeUri(fw, 'this is not a URI');
      expect(fw.updateResult).toBe(UpdateResult.InvalidUri);
      await writeUri(fw, 'coaps://127.0.0.1/fw.bin'); // no downloadPsk: CoAPS not offered
      expect(fw.updateResult).toBe(UpdateResult.UnsupportedProtocol);
      await fw.settled();
      expect(states).toEqual([]);
      expect(results).toEqual([9, 7, 9]);
    });

    it('coaps:// without a PSK for that URI → 7', async (t) => {
      const { fw } = fwObject(t, { downloadPsk: () => undefined });
      await writeUri(fw, 'coaps://127.0.0.1/fw.bin');
      expect(fw.state).toBe(FirmwareState.Idle);
      expect(fw.updateResult).toBe(UpdateResult.InvalidUri);
    });

    it('an empty downloaded package → 5', async (t) => {
      const srvPkg = await packageServer(t, new Uint8Array(0));
      const { fw } = fwObject(t);
      await writeUri(fw, srvPkg.uri);
      await fw.settled();
      expect(fw.updateResult).toBe(UpdateResult.IntegrityCheckFailure);
    });
  });

  describe('reset and cancel', () => {
    it('an empty Package URI cancels a download in progress: Idle, result 0, socket closed', async (t) => {
      let release = (): void => {};
      const gate = new Promise<void>((r) => (release = r));
      t.onTestFinished(() => release());
      const srvPkg = await packageServer(t, image(10), {
        handler: async () => {
          await gate;
          return { code: '2.05', payload: image(10) };
        },
      });
      const { fw, states, results } = fwObject(t);
      await writeUri(fw, srvPkg.uri);
      await expect.poll(() => srvPkg.requests.length).toBe(1);
      expect(fw.state).toBe(FirmwareState.Downloading);
      await writeUri(fw, '');
      expect(fw.state).toBe(FirmwareState.Idle);
      expect(fw.updateResult).toBe(UpdateResult.Initial);
      expect(value(fw, 1)).toBe('');
      release();
      await fw.settled();
      // The aborted download changed nothing afterwards.
      expect(states).toEqual([1, 0]);
      expect(results).toEqual([]);
      expect(fw.package).toBeUndefined();
    });

    it('an empty or NULL (\\0) Package resets a Downloaded package', async (t) => {
      const { fw, states, results } = fwObject(t);
      for (const empty of [new Uint8Array(0), new Uint8Array([0])]) {
        await writePackage(fw, image(300));
        expect(fw.state).toBe(FirmwareState.Downloaded);
        await writePackage(fw, empty);
        expect(fw.state).toBe(FirmwareState.Idle);
        expect(fw.package).toBeUndefined();
      }
      expect(states).toEqual([1, 2, 0, 1, 2, 0]);
      expect(results).toEqual([]);
    });

    it('Cancel (/5/0/10) in Downloaded → Idle with result 10; elsewhere 4.05', async (t) => {
      const { fw } = fwObject(t);
      expect(() => fw.execute(0, 10, '', SERVER)).toThrow(MethodNotAllowedError); // Idle
      await writePackage(fw, image(300));
      fw.execute(0, 10, '', SERVER);
      expect(fw.state).toBe(FirmwareState.Idle);
      expect(fw.updateResult).toBe(UpdateResult.Cancelled);
      expect(fw.package).toBeUndefined();
    });

    it('refuses what the state machine does not allow, changing nothing', async (t) => {
      let finish: (() => void) | undefined;
      const { fw } = fwObject(t, {
        apply: () => new Promise<void>((r) => (finish = r)),
      });
      // Update outside Downloaded: 4.05.
      expect(() => fw.execute(0, 2, '', SERVER)).toThrow(MethodNotAllowedError);
      await writePackage(fw, image(300));
      // A new delivery while one is held: 4.05 (reset first).
      expect(await thrown(() => writeUri(fw, 'coap://127.0.0.1/fw'))).toBeInstanceOf(
        MethodNotAllowedError,
      );
      expect(await thrown(() => writePackage(fw, image(10)))).toBeInstanceOf(MethodNotAllowedError);
      expect(fw.state).toBe(FirmwareState.Downloaded);
      fw.execute(0, 2, '', SERVER);
      expect(fw.state).toBe(FirmwareState.Updating);
      // While installing: no reset, no cancel, no second Update.
      expect(await thrown(() => writeUri(fw, ''))).toBeInstanceOf(MethodNotAllowedError);
      expect(() => fw.execute(0, 10, '', SERVER)).toThrow(MethodNotAllowedError);
      expect(() => fw.execute(0, 2, '', SERVER)).toThrow(MethodNotAllowedError);
      expect(fw.state).toBe(FirmwareState.Updating);
      await expect.poll(() => finish).toBeTypeOf('function');
      finish!();
      await fw.settled();
      expect(fw.updateResult).toBe(UpdateResult.Success);
      // Not writable, not executable, not there.
      expect(() => fw.execute(0, 3, '', SERVER)).toThrow(MethodNotAllowedError);
      expect(() => fw.execute(0, 4, '', SERVER)).toThrow(NotFoundError);
      expect(
        await thrown(() => fw.write(0, [singleResource(3, 'integer', 2)], 'update', SERVER)),
      ).toBeInstanceOf(MethodNotAllowedError);
      expect(
        await thrown(() =>
          fw.write(
            0,
            [singleResource(0, 'opaque', image(5)), singleResource(1, 'string', 'coap://h/x')],
            'update',
            SERVER,
          ),
        ),
      ).toBeInstanceOf(InvalidValueError);
      expect(await thrown(() => writeUri(fw, `coap://h/${'x'.repeat(250)}`))).toBeInstanceOf(
        InvalidValueError,
      );
      expect(() => fw.create(1, [], SERVER)).toThrow(MethodNotAllowedError);
      expect(() => fw.delete(0, SERVER)).toThrow(MethodNotAllowedError);
      expect(fw.state).toBe(FirmwareState.Idle);
      expect(fw.updateResult).toBe(UpdateResult.Success);
    });

    it('refuses the delivery method it does not offer (/5/0/9)', async (t) => {
      const pull = fwObject(t, { delivery: 'pull' }).fw;
      expect(await thrown(() => writePackage(pull, image(10)))).toBeInstanceOf(
        MethodNotAllowedError,
      );
      const push = fwObject(t, { delivery: 'push' }).fw;
      expect(await thrown(() => writeUri(push, 'coap://127.0.0.1/fw'))).toBeInstanceOf(
        MethodNotAllowedError,
      );
      await writeUri(push, ''); // a reset is always allowed
      expect(value(push, 9)).toBe(1n);
    });
  });

  describe('update outcome', () => {
    it('a failed apply goes back to Downloaded with result 8, and Update can be tried again', async (t) => {
      let attempt = 0;
      const { fw, states, results } = fwObject(t, {
        apply: () => {
          attempt++;
          if (attempt === 1) throw new Error('flash write failed');
        },
      });
      await writePackage(fw, image(300));
      fw.execute(0, 2, '', SERVER);
      await fw.settled();
      expect(fw.state).toBe(FirmwareState.Downloaded);
      expect(fw.updateResult).toBe(UpdateResult.UpdateFailed);
      expect(fw.package).toBeDefined();
      fw.execute(0, 2, '', SERVER);
      await fw.settled();
      expect(fw.state).toBe(FirmwareState.Idle);
      expect(states).toEqual([1, 2, 3, 2, 3, 0]);
      expect(results).toEqual([8, 0, 1]);
    });

    it('an apply that finds the package bad (result 5 or 6) drops it and goes to Idle', async (t) => {
      const { fw, states } = fwObject(t, {
        apply: () => {
          throw new FirmwareUpdateError(UpdateResult.UnsupportedPackageType, 'wrong board');
        },
      });
      await writePackage(fw, image(300));
      fw.execute(0, 2, '', SERVER);
      await fw.settled();
      expect(fw.state).toBe(FirmwareState.Idle);
      expect(fw.updateResult).toBe(UpdateResult.UnsupportedPackageType);
      expect(fw.package).toBeUndefined();
      expect(states).toEqual([1, 2, 3, 0]);
    });

    it('Automatic Upgrade at Download (/5/0/14) updates without an Execute', async (t) => {
      const applied: number[] = [];
      const { fw, states } = fwObject(t, { apply: (p) => void applied.push(p.length) });
      await fw.write(0, [singleResource(14, 'boolean', true)], 'update', SERVER);
      expect(value(fw, 14)).toBe(true);
      await writePackage(fw, image(700));
      await fw.settled();
      expect(applied).toEqual([700]);
      expect(states).toEqual([1, 2, 3, 0]);
      expect(fw.updateResult).toBe(UpdateResult.Success);
    });

    it('keeps the writable settings, and puts them back to defaults on a replace', async (t) => {
      const { fw, changes } = fwObject(t);
      await fw.write(
        0,
        [singleResource(11, 'integer', 0), singleResource(13, 'unsigned', 3600)],
        'update',
        SERVER,
      );
      expect(value(fw, 11)).toBe(0n);
      expect(value(fw, 13)).toBe(3600n);
      expect(changes).toEqual([[11, 13]]);
      await fw.write(0, [singleResource(13, 'unsigned', 60)], 'replace', SERVER);
      expect(value(fw, 11)).toBe(1n);
      expect(value(fw, 13)).toBe(60n);
      expect(
        await thrown(() => fw.write(0, [singleResource(11, 'integer', 3)], 'update', SERVER)),
      ).toBeInstanceOf(InvalidValueError);
    });
  });

  it('close() aborts a download and releases its socket; later deliveries get 5.03', async (t) => {
    let release = (): void => {};
    const gate = new Promise<void>((r) => (release = r));
    t.onTestFinished(() => release());
    const srvPkg = await packageServer(t, image(10), {
      handler: async () => {
        await gate;
        return { code: '2.05', payload: image(10) };
      },
    });
    // UDP handles open, after a turn of the event loop (a closed one goes in the next close phase).
    const handles = async () => {
      await new Promise((r) => setTimeout(r, 10));
      return process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
    };
    const { fw } = fwObject(t);
    const before = await handles();
    await writeUri(fw, srvPkg.uri);
    await expect.poll(() => srvPkg.requests.length).toBe(1);
    expect(await handles()).toBe(before + 1);
    await fw.close();
    expect(await handles()).toBe(before);
    expect(await thrown(() => writePackage(fw, image(10)))).toBeInstanceOf(ServiceUnavailableError);
  });

  it('works with an older model of object 5 (1.0: no Cancel, no settings)', async (t) => {
    // A model of another object, or a version not built in, is refused.
    expect(() => firmwareUpdateObject({ model: builtinModel(3) })).toThrow(InvalidValueError);
    expect(() => firmwareUpdateObject({ version: '9.9' })).toThrow(InvalidValueError);
    const { fw, changes } = fwObject(t, { version: '1.0' });
    expect(fw.model.version).toBe('1.0');
    expect(fw.read(0, undefined, SERVER).map((r) => r.id)).toEqual([1, 3, 5, 6, 7, 8, 9]);
    expect(() => fw.execute(0, 10, '', SERVER)).toThrow(NotFoundError);
    await writePackage(fw, image(10));
    // No Last State Change Time (12) in 1.0: never named in a change.
    expect(changes.flat()).not.toContain(12);
  });
});
