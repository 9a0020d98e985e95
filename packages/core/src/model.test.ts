import { describe, expect, it } from 'vitest';
import { ModelError } from './errors.js';
import {
  compareVersions,
  defineObjectModel,
  isExecutable,
  isReadable,
  isWritable,
  type ResourceModel,
} from './model.js';

const res = (id: number, operations: ResourceModel['operations']): ResourceModel => ({
  id,
  name: `R${id}`,
  operations,
  multiple: false,
  mandatory: false,
  type: operations === 'E' ? 'none' : 'string',
});

const spec = {
  id: 3,
  name: 'Device',
  version: '1.2',
  lwm2mVersion: '1.1',
  multiple: false,
  mandatory: true,
  resources: [res(0, 'R'), res(4, 'E'), res(14, 'RW')],
};

describe('defineObjectModel', () => {
  it('indexes resources by id and freezes everything', () => {
    const m = defineObjectModel(spec);
    expect([...m.resources.keys()]).toEqual([0, 4, 14]);
    expect(Object.isFrozen(m)).toBe(true);
    expect(Object.isFrozen(m.resources.get(0))).toBe(true);
    expect(() => (m.resources as Map<number, ResourceModel>).set(1, res(1, 'R'))).toThrow(
      /immutable/,
    );
    expect(() => (m.resources as Map<number, ResourceModel>).delete(0)).toThrow(/immutable/);
    expect(m.resources.size).toBe(3);
  });

  it('refuses broken models with the source named', () => {
    expect(() =>
      defineObjectModel({ ...spec, resources: [res(1, 'R'), res(1, 'W')] }, 'x.xml'),
    ).toThrow('x.xml: object 3: duplicate resource id 1');
    expect(() => defineObjectModel({ ...spec, id: 70000 })).toThrow(ModelError);
    expect(() => defineObjectModel({ ...spec, version: 'v1' })).toThrow(/major.minor/);
    expect(() => defineObjectModel({ ...spec, resources: [res(-1, 'R')] })).toThrow(/0..65535/);
  });
});

describe('model helpers', () => {
  it('compares versions numerically', () => {
    expect(compareVersions('1.10', '1.9')).toBeGreaterThan(0);
    expect(compareVersions('1.0', '1.0')).toBe(0);
    expect(compareVersions('1.2', '2.0')).toBeLessThan(0);
  });

  it('reads operations', () => {
    expect(isReadable(res(0, 'RW'))).toBe(true);
    expect(isWritable(res(0, 'R'))).toBe(false);
    expect(isExecutable(res(0, 'E'))).toBe(true);
    expect(isReadable(res(0, 'NONE'))).toBe(false);
  });
});
