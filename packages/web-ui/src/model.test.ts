import { describe, expect, it } from 'vitest';
import {
  applyNode,
  applyTimedValues,
  chooseSpec,
  comparePaths,
  groupObjectLinks,
  nodeToTimedValues,
  type ObjectSpec,
  parsePath,
  resourceIdsUnder,
  unitsFor,
  type ValueMap,
} from './model';

const spec = (id: number, version: string): ObjectSpec => ({
  id,
  name: `o${id}`,
  version,
  lwm2mVersion: '1.0',
  multiple: false,
  mandatory: false,
  resources: [],
});

describe('paths', () => {
  it('parses and compares id by id', () => {
    expect(parsePath('/3/0/1')).toEqual([3, 0, 1]);
    expect(parsePath('/3/0/1/2/5')).toBeUndefined();
    expect(parsePath('/70000')).toBeUndefined();
    expect(parsePath('3/0')).toBeUndefined();
    expect(['/3/0/10', '/3/0/2', '/1/0', '/3'].sort(comparePaths)).toEqual([
      '/1/0',
      '/3',
      '/3/0/2',
      '/3/0/10',
    ]);
  });
});

describe('chooseSpec', () => {
  const specs = [spec(3, '1.0'), spec(3, '1.2'), spec(3, '1.1'), spec(1, '1.1')];
  it('takes the registered version, 1.0 when none, else the newest older one, else the oldest', () => {
    expect(chooseSpec(specs, 3, '1.1')?.version).toBe('1.1');
    expect(chooseSpec(specs, 3, undefined)?.version).toBe('1.0');
    expect(chooseSpec(specs, 3, '1.3')?.version).toBe('1.2');
    expect(chooseSpec(specs, 1, undefined)?.version).toBe('1.1');
    expect(chooseSpec(specs, 9, undefined)).toBeUndefined();
  });
});

describe('groupObjectLinks', () => {
  it('groups instances by object in id order, keeping versions', () => {
    expect(
      groupObjectLinks([
        { path: '/3303/1', objectId: 3303, instanceId: 1 },
        { path: '/3/0', objectId: 3, instanceId: 0, version: '1.1' },
        { path: '/5', objectId: 5 },
        { path: '/3303/0', objectId: 3303, instanceId: 0 },
      ]),
    ).toEqual([
      { objectId: 3, version: '1.1', instances: [0] },
      { objectId: 5, instances: [] },
      { objectId: 3303, instances: [0, 1] },
    ]);
  });
});

describe('values by path', () => {
  it('folds read content in at every level', () => {
    let m: ValueMap = new Map();
    m = applyNode(
      m,
      '/3/0',
      {
        id: 0,
        kind: 'instance',
        resources: [
          { id: 0, kind: 'single', type: 'string', value: 'ACME' },
          { id: 7, kind: 'multiple', type: 'integer', values: { 0: 3800, 1: 5000 } },
        ],
      },
      10,
    );
    expect(m.get('/3/0/0')).toEqual({ type: 'string', value: 'ACME', at: 10 });
    expect(m.get('/3/0/7')).toEqual({ type: 'integer', values: { 0: 3800, 1: 5000 }, at: 10 });
    m = applyNode(
      m,
      '/3/0/7/1',
      { id: 1, kind: 'resourceInstance', type: 'integer', value: 4900 },
      11,
    );
    expect(m.get('/3/0/7')?.values).toEqual({ 0: 3800, 1: 4900 });
    m = applyNode(m, '/3/0/7', { id: 7, kind: 'multiple', type: 'integer', values: { 2: 1 } }, 12);
    expect(m.get('/3/0/7')?.values).toEqual({ 2: 1 });
    m = applyNode(
      m,
      '/1',
      {
        id: 1,
        kind: 'object',
        instances: [
          {
            id: 0,
            kind: 'instance',
            resources: [{ id: 1, kind: 'single', type: 'integer', value: 60 }],
          },
        ],
      },
      13,
    );
    expect(m.get('/1/0/1')?.value).toBe(60);
    expect(resourceIdsUnder(m, '/3/0')).toEqual([0, 7]);
  });

  it('folds timed path values in, using their own time when given', () => {
    const m = applyTimedValues(
      new Map(),
      [
        { path: '/3303/0/5700', type: 'float', value: 21.5, time: '2024-05-01T12:00:00.000Z' },
        { path: '/3/0/7/0', type: 'integer', value: 1 },
        { path: '/3/0', type: 'string', value: 'ignored' },
      ],
      99,
    );
    expect(m.get('/3303/0/5700')).toEqual({
      type: 'float',
      value: 21.5,
      at: Date.parse('2024-05-01T12:00:00.000Z'),
    });
    expect(m.get('/3/0/7')).toEqual({ type: 'integer', values: { 0: 1 }, at: 99 });
    expect(m.has('/3/0')).toBe(false);
  });

  it('flattens a node into path values', () => {
    expect(
      nodeToTimedValues('/3/0', {
        id: 0,
        kind: 'instance',
        resources: [
          { id: 9, kind: 'single', type: 'integer', value: 80 },
          { id: 6, kind: 'multiple', type: 'integer', values: { 0: 1, 1: 5 } },
        ],
      }),
    ).toEqual([
      { path: '/3/0/9', type: 'integer', value: 80 },
      { path: '/3/0/6/0', type: 'integer', value: 1 },
      { path: '/3/0/6/1', type: 'integer', value: 5 },
    ]);
    expect(
      nodeToTimedValues('/3303/0/5700', { id: 5700, kind: 'single', type: 'float', value: 2 }),
    ).toEqual([{ path: '/3303/0/5700', type: 'float', value: 2 }]);
  });
});

describe('unitsFor', () => {
  const values: ValueMap = new Map([
    ['/3303/0/5701', { type: 'string', value: 'Cel', at: 1 }],
    ['/3303/1/5701', { type: 'string', value: ' ', at: 1 }],
    ['/3300/0/5701', { type: 'string', value: 'lx', at: 1 }],
  ]);

  it("gives an IPSO sensor value (and min/max) its instance's Sensor Units", () => {
    for (const r of [5700, 5601, 5602, 5603, 5604]) {
      expect(unitsFor(`/3303/0/${r}`, undefined, values)).toBe('Cel');
    }
    // The device's word over the model's.
    expect(unitsFor('/3300/0/5700', 'm', values)).toBe('lx');
  });

  it("keeps the model's unit elsewhere, or when 5701 is unknown or blank", () => {
    expect(unitsFor('/3303/0/5750', 'x', values)).toBe('x');
    expect(unitsFor('/3303/0/5701', undefined, values)).toBeUndefined();
    expect(unitsFor('/3303/1/5700', 'K', values)).toBe('K');
    expect(unitsFor('/3303/2/5700', undefined, values)).toBeUndefined();
    expect(unitsFor('/3/0/9', '%', values)).toBe('%');
  });
});
