import {
  formatLinkFormat,
  InvalidValueError,
  LwM2mPath,
  MethodNotAllowedError,
  multipleResource,
  NotFoundError,
  objectInstance,
  resourceInstance,
  singleResource,
} from '@lwm2m-ts/core';
import { describe, expect, it, vi } from 'vitest';
import { builtinModel, InstanceObject } from './instance-object.js';
import type { RequestOrigin } from './object-enabler.js';
import { ObjectTree } from './object-tree.js';
import { TEST_MODEL, testValues } from './test-object-models.js';

const server: RequestOrigin = { kind: 'server', shortServerId: 1 };
const bootstrap: RequestOrigin = { kind: 'bootstrap' };
const local: RequestOrigin = { kind: 'local' };
const p = (s: string) => LwM2mPath.parse(s);

function setup() {
  const tree = new ObjectTree();
  const security = new InstanceObject(builtinModel(0), {
    instances: {
      0: {
        0: 'coap://bs',
        1: true,
        2: 3,
        3: new Uint8Array(),
        4: new Uint8Array(),
        5: new Uint8Array(),
      },
      1: {
        0: 'coap://dm',
        1: false,
        2: 3,
        3: new Uint8Array(),
        4: new Uint8Array(),
        5: new Uint8Array(),
        10: 1,
      },
    },
  });
  const serverObj = new InstanceObject(builtinModel(1), {
    instances: { 0: { 0: 1, 1: 300, 6: true, 7: 'U' } },
  });
  const device = new InstanceObject(builtinModel(3), {
    instances: { 0: { 0: 'ACME', 11: [0], 16: 'U' } },
    onExecute: { 4: vi.fn() },
  });
  const test = new InstanceObject(TEST_MODEL, {
    instances: { 0: testValues(0), 1: testValues(1) },
  });
  const firmware = new InstanceObject(builtinModel(5));
  tree.add(security).add(serverObj).add(device).add(test).add(firmware);
  return { tree, security, serverObj, device, test, firmware };
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (e) {
    return (e as { coapCode?: string }).coapCode ?? String(e);
  }
}

describe('ObjectTree registry of objects', () => {
  it('adds, lists, replaces and removes enablers', () => {
    const { tree, device } = setup();
    expect(tree.objectIds()).toEqual([0, 1, 3, 5, 33000]);
    expect(tree.get(3)).toBe(device);
    const other = new InstanceObject(builtinModel(3), { instances: { 0: {} } });
    tree.add(other);
    expect(tree.get(3)).toBe(other);
    expect(tree.remove(3)).toBe(true);
    expect(tree.remove(3)).toBe(false);
    expect(tree.objectIds()).toEqual([0, 1, 5, 33000]);
  });

  it('models() serves the enablers models, then the registry', () => {
    const { tree } = setup();
    expect(tree.models().get(33000)).toBe(TEST_MODEL);
    expect(tree.models().get(3303)?.name).toBe('Temperature');
    expect(tree.models().get(60000)).toBeUndefined();
  });
});

describe('objectLinks', () => {
  it('1.0: no root link, no ver, object 0 never listed, empty objects as object links', () => {
    const { tree } = setup();
    expect(formatLinkFormat(tree.objectLinks('1.0'))).toBe(
      '</1/0>,</3/0>,</5>,</33000/0>,</33000/1>',
    );
  });

  it('1.1: root link with rt and the formats we decode; ver on objects not at 1.0', () => {
    const { tree } = setup();
    expect(formatLinkFormat(tree.objectLinks('1.1'))).toBe(
      '</>;rt="oma.lwm2m";ct="60 110 112 11542 11543",</1>;ver=1.2,</1/0>,</3>;ver=1.2,</3/0>,</5>;ver=1.2,</33000>;ver=1.1,</33000/0>,</33000/1>',
    );
  });

  it('1.2 adds LwM2M CBOR; a 1.0 model carries no ver', () => {
    const tree = new ObjectTree();
    tree.add(new InstanceObject(builtinModel(3, '1.0'), { instances: { 0: {} } }));
    expect(formatLinkFormat(tree.objectLinks('1.2'))).toBe(
      '</>;rt="oma.lwm2m";ct="60 110 112 11542 11543 11544",</3/0>',
    );
  });
});

describe('read', () => {
  it('reads object, instance, resource and resource instance', async () => {
    const { tree } = setup();
    expect(await tree.read(p('/3/0/0'), server)).toEqual(singleResource(0, 'string', 'ACME'));
    expect(await tree.read(p('/33000/0/9/1'), server)).toEqual(resourceInstance(1, 'integer', 11));
    const instance = await tree.read(p('/3/0'), server);
    expect(instance).toEqual(
      objectInstance(0, [
        singleResource(0, 'string', 'ACME'),
        multipleResource(11, 'integer', { 0: 0 }),
        singleResource(16, 'string', 'U'),
      ]),
    );
    const object = await tree.read(p('/33000'), server);
    expect(object.kind === 'object' && object.instances.map((i) => i.id)).toEqual([0, 1]);
  });

  it('an instance read gives a server the readable resources only', async () => {
    const { tree } = setup();
    const node = await tree.read(p('/33000/0'), server);
    const ids = node.kind === 'instance' ? node.resources.map((r) => r.id) : [];
    expect(ids).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12]);
    const all = await tree.read(p('/33000/0'), local);
    expect(all.kind === 'instance' && all.resources.map((r) => r.id)).toContain(11);
  });

  it.each([
    ['/33000/0/10', '4.05'], // executable
    ['/33000/0/11', '4.05'], // write-only
    ['/33000/0/99', '4.04'], // not in the model
    ['/33000/7/0', '4.04'], // no such instance
    ['/44/0/0', '4.04'], // no such object
    ['/3/0/1', '4.04'], // in the model, no value
    ['/33000/0/9/5', '4.04'], // no such resource instance
    ['/33000/0/0/0', '4.04'], // single resource has no instances
    ['/', '4.05'],
  ])('read %s → %s', async (path, expected) => {
    const { tree } = setup();
    expect(await code(tree.read(p(path), server))).toBe(expected);
  });

  it('hides Security (0) from DM servers only', async () => {
    const { tree } = setup();
    expect(await code(tree.read(p('/0'), server))).toBe('4.04');
    expect(await code(tree.read(p('/0/1/0'), server))).toBe('4.04');
    expect(
      await code(tree.write(p('/0/1/0'), singleResource(0, 'string', 'x'), 'replace', server)),
    ).toBe('4.04');
    expect(await code(tree.delete(p('/0/1'), server))).toBe('4.04');
    expect(await code(tree.create(0, undefined, [], server))).toBe('4.04');
    expect(await tree.read(p('/0/1/0'), bootstrap)).toEqual(
      singleResource(0, 'string', 'coap://dm'),
    );
    expect(await tree.read(p('/0/0/1'), local)).toEqual(singleResource(1, 'boolean', true));
  });

  it('readValues flattens, skips missing paths, dedupes overlaps and sorts', async () => {
    const { tree } = setup();
    const values = await tree.readValues(
      [p('/3/0/0'), p('/33000/1/9'), p('/3/0'), p('/3/0/1'), p('/99/0')],
      server,
    );
    expect(values.map((v) => `${v.path}`)).toEqual([
      '/3/0/0',
      '/3/0/11/0',
      '/3/0/16',
      '/33000/1/9/0',
      '/33000/1/9/1',
    ]);
    expect(await code(tree.readValues([p('/33000/0/10')], server))).toBe('4.05');
  });

  it('readValues of / reads every object the origin may see', async () => {
    const { tree } = setup();
    const paths = (await tree.readValues([LwM2mPath.ROOT], server)).map((v) => v.path.objectId);
    expect(new Set(paths)).toEqual(new Set([1, 3, 33000]));
  });
});

describe('write', () => {
  it('replaces a single resource and checks W', async () => {
    const { tree, test } = setup();
    await tree.write(p('/33000/0/3'), singleResource(3, 'float', 9.5), 'replace', server);
    expect(test.get(0, 3)).toBe(9.5);
    await tree.write(p('/33000/0/11'), singleResource(11, 'string', 'w'), 'replace', server);
    expect(test.get(0, 11)).toBe('w');
    expect(
      await code(tree.write(p('/33000/0/2'), singleResource(2, 'unsigned', 1n), 'replace', server)),
    ).toBe('4.05');
    expect(
      await code(tree.write(p('/33000/0/10'), singleResource(10, 'string', ''), 'replace', server)),
    ).toBe('4.05');
    // The device itself and the bootstrap server may set read-only resources.
    await tree.write(p('/33000/0/2'), singleResource(2, 'unsigned', 1n), 'replace', bootstrap);
    expect(test.get(0, 2)).toBe(1n);
  });

  it('refuses values of the wrong type or out of range with 4.00', async () => {
    const { tree } = setup();
    expect(
      await code(tree.write(p('/33000/0/1'), singleResource(1, 'string', 'x'), 'replace', server)),
    ).toBe('4.00');
    expect(
      await code(tree.write(p('/33000/0/1'), singleResource(1, 'integer', 101), 'replace', server)),
    ).toBe('4.00');
    expect(
      await code(tree.write(p('/33000/0/9'), singleResource(9, 'integer', 1), 'replace', server)),
    ).toBe('4.00');
    expect(
      await code(tree.write(p('/33000/0/3'), singleResource(4, 'float', 1), 'replace', server)),
    ).toBe('4.00');
  });

  it('a resource replace replaces all its instances; an update merges them', async () => {
    const { tree, test } = setup();
    await tree.write(p('/33000/0/9'), multipleResource(9, 'integer', { 5: 50 }), 'replace', server);
    expect(test.get(0, 9)).toEqual(new Map([[5, 50n]]));
    await tree.write(
      p('/33000/0/9'),
      multipleResource(9, 'integer', { 1: 1, 5: 55 }),
      'update',
      server,
    );
    expect(test.get(0, 9)).toEqual(
      new Map([
        [1, 1n],
        [5, 55n],
      ]),
    );
    await tree.write(p('/33000/0/9/7'), resourceInstance(7, 'integer', 7), 'replace', server);
    expect([...(test.get(0, 9) as Map<number, bigint>).keys()]).toEqual([1, 5, 7]);
    expect(
      await code(
        tree.write(p('/33000/0/0/1'), resourceInstance(1, 'string', 'x'), 'replace', server),
      ),
    ).toBe('4.04');
  });

  it('instance replace needs the mandatory writable resources and resets the others', async () => {
    const { tree, test } = setup();
    const without = objectInstance(0, [singleResource(3, 'float', 1)]);
    expect(await code(tree.write(p('/33000/0'), without, 'replace', server))).toBe('4.00');
    const withIt = objectInstance(0, [
      singleResource(0, 'string', 'm'),
      singleResource(3, 'float', 1),
    ]);
    await tree.write(p('/33000/0'), withIt, 'replace', server);
    expect(test.get(0, 1)).toBeUndefined();
    expect(test.get(0, 12)).toBe('label');
    await tree.write(
      p('/33000/0'),
      objectInstance(0, [singleResource(1, 'integer', 3)]),
      'update',
      server,
    );
    expect(test.get(0, 1)).toBe(3n);
    expect(test.get(0, 0)).toBe('m');
  });

  it('refuses read-only or unknown resources inside an instance write', async () => {
    const { tree } = setup();
    const readOnly = objectInstance(0, [singleResource(12, 'string', 'x')]);
    expect(await code(tree.write(p('/33000/0'), readOnly, 'update', server))).toBe('4.05');
    const unknown = objectInstance(0, [singleResource(99, 'string', 'x')]);
    expect(await code(tree.write(p('/33000/0'), unknown, 'update', server))).toBe('4.04');
    const wrongId = objectInstance(1, [singleResource(0, 'string', 'x')]);
    expect(await code(tree.write(p('/33000/0'), wrongId, 'update', server))).toBe('4.00');
  });

  it('a DM server cannot write an object; the bootstrap server writes and creates instances', async () => {
    const { tree, security } = setup();
    const node = {
      kind: 'object' as const,
      id: 0,
      instances: [
        objectInstance(1, [singleResource(0, 'string', 'coap://new')]),
        objectInstance(4, [
          singleResource(0, 'string', 'coap://other'),
          singleResource(1, 'boolean', false),
        ]),
      ],
    };
    expect(await code(tree.write(p('/33000'), node, 'replace', server))).toBe('4.05');
    await tree.write(p('/0'), node, 'replace', bootstrap);
    expect(security.instanceIds()).toEqual([0, 1, 4]);
    expect(security.get(1, 0)).toBe('coap://new');
    expect(security.get(1, 10)).toBe(1n);
  });

  it('a bootstrap write of a missing instance creates it; a server write is 4.04', async () => {
    const { tree, security, serverObj } = setup();
    const inst = objectInstance(2, [
      singleResource(0, 'string', 'coap://third'),
      singleResource(1, 'boolean', false),
    ]);
    expect(await code(tree.write(p('/33000/7'), inst, 'replace', server))).toBe('4.04');
    await tree.write(p('/0/2'), inst, 'replace', bootstrap);
    expect(security.get(2, 0)).toBe('coap://third');
    await tree.write(p('/1/4/1'), singleResource(1, 'integer', 60), 'replace', bootstrap);
    expect(serverObj.instanceIds()).toEqual([0, 4]);
    expect(serverObj.get(4, 1)).toBe(60n);
  });

  it('writeValues checks every target before writing any', async () => {
    const { tree, test } = setup();
    const values = [
      { path: p('/33000/0/3'), value: { type: 'float', value: 3.25 } },
      { path: p('/33000/0/2'), value: { type: 'unsigned', value: 1n } },
    ] as const;
    expect(await code(tree.writeValues(values, server))).toBe('4.05');
    expect(test.get(0, 3)).toBe(1.5);
    await tree.writeValues(
      [
        { path: p('/33000/0/3'), value: { type: 'float', value: 3.25 } },
        { path: p('/33000/1/9/4'), value: { type: 'integer', value: 4n } },
        { path: p('/3/0/13'), value: { type: 'time', value: new Date(0) } },
      ],
      server,
    );
    expect(test.get(0, 3)).toBe(3.25);
    expect([...(test.get(1, 9) as Map<number, bigint>).keys()]).toEqual([0, 1, 4]);
    expect(
      await code(
        tree.writeValues([{ path: p('/33000/0'), value: { type: 'float', value: 1 } }], server),
      ),
    ).toBe('4.00');
    expect(
      await code(
        tree.writeValues([{ path: p('/33000/9/3'), value: { type: 'float', value: 1 } }], server),
      ),
    ).toBe('4.04');
  });
});

describe('execute', () => {
  it('executes E resources only', async () => {
    const { tree, device } = setup();
    await tree.execute(p('/3/0/4'), 'now', server);
    expect(await code(tree.execute(p('/3/0/0'), '', server))).toBe('4.05');
    expect(await code(tree.execute(p('/3/0'), '', server))).toBe('4.05');
    expect(await code(tree.execute(p('/3/0/999'), '', server))).toBe('4.04');
    expect(await code(tree.execute(p('/3/1/4'), '', server))).toBe('4.04');
    expect(device).toBeDefined();
  });
});

describe('create', () => {
  it('picks the lowest free id, or takes the one given', async () => {
    const { tree, test } = setup();
    await tree.delete(p('/33000/0'), server);
    const res = [singleResource(0, 'string', 'n'), singleResource(12, 'string', 'l')];
    expect(await tree.create(33000, undefined, res, server)).toBe(0);
    expect(await tree.create(33000, undefined, res, server)).toBe(2);
    expect(await tree.create(33000, 10, res, server)).toBe(10);
    expect(test.instanceIds()).toEqual([0, 1, 2, 10]);
    // Create may set read-only resources such as 12.
    expect(test.get(10, 12)).toBe('l');
  });

  it.each([
    ['an id in use', 33000, 1, '4.00'],
    ['a second instance of a single-instance object', 3, undefined, '4.05'],
    ['an unknown object', 4444, undefined, '4.04'],
  ])('refuses %s', async (_, objectId, instanceId, expected) => {
    const { tree } = setup();
    const res = [singleResource(0, 'string', 'n'), singleResource(12, 'string', 'l')];
    expect(
      await code(tree.create(objectId, instanceId, objectId === 33000 ? res : [], server)),
    ).toBe(expected);
  });

  it('a server must give the mandatory resources', async () => {
    const { tree } = setup();
    expect(
      await code(tree.create(33000, undefined, [singleResource(0, 'string', 'n')], server)),
    ).toBe('4.00');
    expect(
      await code(tree.create(33000, undefined, [singleResource(10, 'string', 'n')], server)),
    ).toBe('4.05');
  });
});

describe('delete', () => {
  it.each([
    ['/33000/0', 'ok'],
    ['/33000/5', '4.04'],
    ['/33000', '4.05'],
    ['/', '4.05'],
    ['/33000/0/1', '4.05'],
    ['/3/0', '4.05'], // the Device instance stays
    ['/0/1', '4.04'],
  ])('a server deleting %s → %s', async (path, expected) => {
    const { tree } = setup();
    expect(await code(tree.delete(p(path), server))).toBe(expected);
  });

  it('the bootstrap server deletes everything but its own account and the Device', async () => {
    const { tree, security, serverObj, device, test } = setup();
    await tree.delete(LwM2mPath.ROOT, bootstrap);
    expect(security.instanceIds()).toEqual([0]);
    expect(serverObj.instanceIds()).toEqual([]);
    expect(device.instanceIds()).toEqual([0]);
    expect(test.instanceIds()).toEqual([]);
  });
});

describe('changes', () => {
  it('reports changes as paths: resources, instances, objects', async () => {
    const { tree, device, test } = setup();
    const seen: string[][] = [];
    const off = tree.onChange((paths) => seen.push(paths.map(String)));
    device.set(0, 0, 'New');
    await tree.write(
      p('/33000/0'),
      objectInstance(0, [singleResource(1, 'integer', 1), singleResource(3, 'float', 2)]),
      'update',
      server,
    );
    await tree.create(
      33000,
      5,
      [singleResource(0, 'string', 'a'), singleResource(12, 'string', 'b')],
      server,
    );
    tree.add(new InstanceObject(builtinModel(6)));
    tree.remove(6);
    off();
    device.set(0, 0, 'Newer');
    expect(seen).toEqual([['/3/0/0'], ['/33000/0/1', '/33000/0/3'], ['/33000/5'], ['/6'], ['/6']]);
    // A removed enabler no longer reports.
    tree.remove(33000);
    const after: string[][] = [];
    tree.onChange((paths) => after.push(paths.map(String)));
    test.set(0, 0, 'gone');
    expect(after).toEqual([]);
  });

  it('exists() tells objects, instances and resource values apart', async () => {
    const { tree } = setup();
    expect(await tree.exists(p('/3/0/0'), server)).toBe(true);
    expect(await tree.exists(p('/3/0/1'), server)).toBe(false);
    expect(await tree.exists(p('/3/1'), server)).toBe(false);
    expect(await tree.exists(p('/0/0'), server)).toBe(false);
    expect(await tree.exists(p('/0/0'), bootstrap)).toBe(true);
    expect(await tree.exists(p('/5'), server)).toBe(true);
  });

  it('typed errors, never strings', async () => {
    const { tree } = setup();
    await expect(tree.read(p('/44'), server)).rejects.toBeInstanceOf(NotFoundError);
    await expect(tree.read(p('/33000/0/10'), server)).rejects.toBeInstanceOf(MethodNotAllowedError);
    await expect(tree.create(33000, 0, [], server)).rejects.toBeInstanceOf(InvalidValueError);
  });
});

describe('lazy objects', () => {
  function lazyTree() {
    const tree = new ObjectTree();
    const built: number[] = [];
    const entries = new Map([
      [3, { model: builtinModel(3), instanceIds: [0] }],
      [5, { model: builtinModel(5), instanceIds: [] }],
    ]);
    tree.addLazy({
      entries,
      build: (id) => {
        built.push(id);
        return id === 3
          ? new InstanceObject(builtinModel(3), { instances: { 0: { 0: 'ACME', 16: 'U' } } })
          : new InstanceObject(builtinModel(5));
      },
    });
    return { tree, built, entries };
  }

  it('lists, models and links lazy objects without building them; builds one at first use', async () => {
    const { tree, built } = lazyTree();
    expect(tree.objectIds()).toEqual([3, 5]);
    expect(tree.isLazy(3)).toBe(true);
    expect(tree.models().get(3)).toBe(builtinModel(3));
    expect(tree.resourceModel(p('/3/0/0'))?.name).toBe('Manufacturer');
    expect(formatLinkFormat(tree.objectLinks('1.1'))).toContain('</3/0>');
    expect(tree.hasInstance(3, 0, server)).toBe(true);
    expect(tree.hasInstance(5, undefined, server)).toBe(true);
    expect(tree.builtEnablers()).toEqual([]);
    expect(built).toEqual([]);

    expect(await tree.read(p('/3/0/0'), server)).toEqual(singleResource(0, 'string', 'ACME'));
    expect(built).toEqual([3]);
    expect(tree.isLazy(3)).toBe(false);
    expect(tree.isLazy(5)).toBe(true);
    expect(tree.get(3)).toBe(tree.builtEnablers()[0]);
    // Built once; its changes are reported like those of an object added directly.
    const changes: string[] = [];
    tree.onChange((paths) => changes.push(...paths.map(String)));
    await tree.write(p('/3/0/14'), singleResource(14, 'string', '+01:00'), 'replace', server);
    expect(changes).toEqual(['/3/0/14']);
    expect(built).toEqual([3]);
  });

  it('add() and remove() replace or drop a lazy object, which is then never built', async () => {
    const { tree, built } = lazyTree();
    const firmware = new InstanceObject(builtinModel(5));
    const changes: string[] = [];
    tree.onChange((paths) => changes.push(...paths.map(String)));
    tree.add(firmware);
    expect(tree.get(5)).toBe(firmware);
    expect(tree.isLazy(5)).toBe(false);
    expect(tree.remove(3)).toBe(true);
    expect(tree.remove(3)).toBe(false);
    expect(tree.objectIds()).toEqual([5]);
    expect(tree.get(3)).toBeUndefined();
    await expect(tree.read(p('/3/0/0'), server)).rejects.toBeInstanceOf(NotFoundError);
    expect(changes).toEqual(['/5', '/3']);
    expect(built).toEqual([]);
  });

  it('two trees sharing entries keep their own objects and values', async () => {
    const a = lazyTree();
    const b = new ObjectTree().addLazy({
      entries: a.entries,
      build: () =>
        new InstanceObject(builtinModel(3), { instances: { 0: { 0: 'Other', 16: 'U' } } }),
    });
    await a.tree.write(p('/3/0/14'), singleResource(14, 'string', '+02:00'), 'replace', server);
    await expect(b.read(p('/3/0/14'), server)).rejects.toBeInstanceOf(NotFoundError);
    expect(await b.read(p('/3/0/0'), server)).toEqual(singleResource(0, 'string', 'Other'));
    expect(await a.tree.read(p('/3/0/14'), server)).toEqual(singleResource(14, 'string', '+02:00'));
    expect(a.tree.get(3)).not.toBe(b.get(3));
    // The entries are not changed by either tree.
    expect([...a.entries.keys()]).toEqual([3, 5]);
  });

  it('a build giving another object is an error', () => {
    const tree = new ObjectTree().addLazy({
      entries: new Map([[3, { model: builtinModel(3), instanceIds: [0] }]]),
      build: () => new InstanceObject(builtinModel(4)),
    });
    expect(() => tree.get(3)).toThrow(InvalidValueError);
  });

  it('objectLinksText is objectLinks in link format', () => {
    const { tree } = setup();
    tree.add(new InstanceObject(builtinModel(3303)));
    for (const version of ['1.0', '1.1', '1.2'] as const) {
      expect(tree.objectLinksText(version)).toBe(formatLinkFormat(tree.objectLinks(version)));
    }
    const lazy = lazyTree().tree;
    for (const version of ['1.0', '1.1', '1.2'] as const) {
      expect(lazy.objectLinksText(version)).toBe(formatLinkFormat(lazy.objectLinks(version)));
    }
  });
});
