import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineObjectModel, InvalidPathError, type ObjectModel } from '@lwm2m-ts/core';
import { describe, expect, it } from 'vitest';
import { ObjectRegistry } from './object-registry.js';

function model(
  id: number,
  version: string,
  resources: number[] = [0],
  name = `M${id}`,
): ObjectModel {
  return defineObjectModel({
    id,
    name,
    version,
    lwm2mVersion: '1.1',
    multiple: true,
    mandatory: false,
    resources: resources.map((rid) => ({
      id: rid,
      name: `R${rid}@${version}`,
      operations: 'R',
      multiple: false,
      mandatory: false,
      type: 'integer',
    })),
  });
}

describe('ObjectRegistry', () => {
  const builtins = ObjectRegistry.withBuiltins();

  it('holds the versions of the LwM2M Server object (1) side by side', () => {
    expect(builtins.versions(1)).toEqual(['1.0', '1.1', '1.2']);
    expect(builtins.get(1, '1.0')!.resources.size).toBe(9);
    expect(builtins.get(1, '1.1')!.resources.size).toBe(24);
    expect(builtins.get(1)!.version).toBe('1.2');
    expect(builtins.get(1, '1.7')).toBeUndefined();
    expect(builtins.get(60000)).toBeUndefined();
  });

  it('resolves exact, nearest and unknown', () => {
    expect(builtins.resolve(1, '1.1')).toMatchObject({ match: 'exact', model: { version: '1.1' } });
    expect(builtins.resolve(1)).toMatchObject({ match: 'exact', model: { version: '1.2' } });
    // Highest version not above the request, else the latest.
    expect(builtins.resolve(1, '1.5')).toMatchObject({
      match: 'nearest',
      model: { version: '1.2' },
    });
    // Numeric: 1.25 is above 1.3, so object 4's 1.3 is the highest not above it.
    expect(builtins.resolve(4, '1.25')).toMatchObject({
      match: 'nearest',
      model: { version: '1.3' },
    });
    expect(builtins.resolve(4, '1.2')).toMatchObject({ match: 'exact', model: { version: '1.2' } });
    expect(builtins.resolve(1, '0.9')).toMatchObject({
      match: 'nearest',
      model: { version: '1.2' },
    });
    expect(builtins.resolve(1, 'x')).toMatchObject({ match: 'nearest', model: { version: '1.2' } });

    const unknown = builtins.resolve(60000, '2.0');
    expect(unknown.match).toBe('unknown');
    expect(unknown.model).toMatchObject({ id: 60000, name: 'Object 60000', version: '2.0' });
    expect(unknown.model.resources.size).toBe(0);
    expect(builtins.resolve(60000).model.version).toBe('1.0');
  });

  it('compares versions numerically', () => {
    const reg = new ObjectRegistry([
      model(30000, '1.10'),
      model(30000, '1.9'),
      model(30000, '1.2'),
    ]);
    expect(reg.versions(30000)).toEqual(['1.2', '1.9', '1.10']);
    expect(reg.get(30000)!.version).toBe('1.10');
    expect(reg.resolve(30000, '1.5').model.version).toBe('1.2');
  });

  it('resolves resources, falling back to an opaque one', () => {
    expect(builtins.resource(3, 0)).toMatchObject({
      match: 'exact',
      resource: { name: 'Manufacturer', type: 'string' },
    });
    // Object 1 1.0 has no resource 20; it is known only from 1.1 on.
    expect(builtins.resource(1, 20, '1.0').match).toBe('unknown');
    expect(builtins.resource(1, 20, '1.1').match).toBe('exact');
    expect(builtins.resource(1, 20, '1.5').match).toBe('nearest');
    const synthetic = builtins.resource(3, 9999);
    expect(synthetic).toEqual({
      match: 'unknown',
      resource: {
        id: 9999,
        name: 'Resource 9999',
        operations: 'RW',
        multiple: false,
        mandatory: false,
        type: 'opaque',
      },
    });
    expect(Object.isFrozen(synthetic.resource)).toBe(true);
    expect(builtins.resource(60000, 1).match).toBe('unknown');
  });

  it('rejects ids outside 0..65535', () => {
    expect(() => builtins.resolve(70000)).toThrow(InvalidPathError);
    expect(() => builtins.resource(3, -1)).toThrow(InvalidPathError);
  });

  it('lets a user model override a built-in one of the same version', () => {
    const reg = ObjectRegistry.withBuiltins();
    const before = reg.size;
    const mine = model(3, '1.2', [0, 1], 'My Device');
    reg.add(mine);
    expect(reg.size).toBe(before);
    expect(reg.get(3, '1.2')).toBe(mine);
    expect(reg.resolve(3).model.name).toBe('My Device');
    expect(reg.get(3, '1.1')!.name).toBe('Device');
    // Other registries are not affected.
    expect(ObjectRegistry.withBuiltins().get(3)!.name).toBe('Device');
  });

  it('adds one model or many, later ones winning', () => {
    const reg = new ObjectRegistry();
    reg
      .add(model(40000, '1.0', [0], 'first'))
      .add([model(40000, '1.0', [0], 'second'), model(40001, '1.0')]);
    expect(reg.size).toBe(2);
    expect(reg.get(40000)!.name).toBe('second');
    expect(reg.objectIds()).toEqual([40000, 40001]);
    expect([...reg.models()].map((m) => m.id)).toEqual([40000, 40001]);
  });

  it('knows the built-in objects', () => {
    const ids = builtins.objectIds();
    for (const id of [
      0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 16, 19, 21, 3200, 3203, 3300, 3303, 3350,
    ]) {
      expect(ids).toContain(id);
    }
    expect(ids.every((id) => id <= 21 || (id >= 3200 && id <= 3350))).toBe(true);
    expect(builtins.size).toBeGreaterThan(ids.length);
  });

  it('loads a directory over the built-ins and reports bad files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lwm2m-reg-'));
    try {
      await writeFile(
        join(dir, 'device.xml'),
        `<LWM2M><Object ObjectType="MODefinition"><Name>Vendor Device</Name><ObjectID>3</ObjectID>
         <ObjectVersion>1.2</ObjectVersion><MultipleInstances>Single</MultipleInstances>
         <Mandatory>Mandatory</Mandatory><Resources/></Object></LWM2M>`,
      );
      await writeFile(join(dir, 'broken.xml'), '<LWM2M><Object>');
      const reg = ObjectRegistry.withBuiltins();
      const result = await reg.loadDirectory(dir);
      expect(result.models).toHaveLength(1);
      expect(result.errors.map((e) => e.source)).toEqual([join(dir, 'broken.xml')]);
      expect(reg.get(3)!.name).toBe('Vendor Device');
      expect(reg.get(3)!.resources.size).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
