import { InvalidAttributeError, LwM2mPath, type ResourceModel } from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { describe, expect, it } from 'vitest';
import {
  AttributeStore,
  attributeNamesOf,
  attributesForVersion,
  attributeTargetInfo,
} from './attribute-store.js';

const p = (s: string) => LwM2mPath.parse(s);
const NUMERIC = { resourceIsNumeric: true, resourceIsBoolean: false, resourceIsMultiple: false };

function rejects(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(InvalidAttributeError);
  expect((caught as InvalidAttributeError).coapCode).toBe('4.00');
  expect((caught as Error).message).toMatch(message);
}

describe('AttributeStore.apply', () => {
  it('sets, keeps and unsets attributes at one level (Core TS 1.2 §6.3.4)', () => {
    const s = new AttributeStore();
    expect(s.apply(p('/3/0'), { pmin: 10, pmax: 60 })).toEqual({ pmin: 10, pmax: 60 });
    expect(s.apply(p('/3/0'), { pmax: 120 })).toEqual({ pmin: 10, pmax: 120 });
    expect(s.apply(p('/3/0'), { pmin: null })).toEqual({ pmax: 120 });
    expect(s.forPath(p('/3/0'))).toEqual({ pmax: 120 });
    expect(s.forPath(p('/3'))).toEqual({});
    s.apply(p('/3/0'), { pmax: null });
    expect(s.entries()).toEqual([]);
  });

  it('lists what is assigned in path order', () => {
    const s = new AttributeStore();
    s.apply(p('/4/0/2'), { gt: 1 }, NUMERIC);
    s.apply(p('/3'), { pmin: 1 });
    s.apply(p('/3/0'), { pmax: 9 });
    expect(s.entries().map((e) => [e.path.toString(), e.attributes])).toEqual([
      ['/3', { pmin: 1 }],
      ['/3/0', { pmax: 9 }],
      ['/4/0/2', { gt: 1 }],
    ]);
  });

  it('refuses gt/lt/st/edge above resource level', () => {
    const s = new AttributeStore();
    rejects(() => s.apply(p('/3/0'), { gt: 5 }), /resource/);
    rejects(() => s.apply(p('/3'), { st: 1 }), /resource/);
    rejects(() => s.apply(p('/3/0'), { edge: 1 }), /resource/);
  });

  it('refuses gt/lt/st on a non-numeric resource and edge on a non-boolean one', () => {
    const s = new AttributeStore();
    const text = { resourceIsNumeric: false, resourceIsBoolean: false };
    rejects(() => s.apply(p('/3/0/0'), { gt: 5 }, text), /numeric/);
    rejects(() => s.apply(p('/3/0/0'), { st: 5 }, text), /numeric/);
    rejects(() => s.apply(p('/3/0/9'), { edge: 1 }, NUMERIC), /boolean/);
    expect(
      s.apply(p('/3/0/30'), { edge: 0 }, { resourceIsNumeric: false, resourceIsBoolean: true }),
    ).toEqual({ edge: 0 });
  });

  it('enforces lt < gt and lt + 2·st < gt, also across two requests (§5.1.2)', () => {
    const s = new AttributeStore();
    rejects(() => s.apply(p('/3303/0/5700'), { gt: 10, lt: 10 }, NUMERIC), /less than gt/);
    rejects(() => s.apply(p('/3303/0/5700'), { gt: 10, lt: 5, st: 3 }, NUMERIC), /2 × st/);
    s.apply(p('/3303/0/5700'), { gt: 10, lt: 5, st: 2 }, NUMERIC);
    rejects(() => s.apply(p('/3303/0/5700'), { st: 2.5 }, NUMERIC), /2 × st/);
    expect(s.forPath(p('/3303/0/5700'))).toEqual({ gt: 10, lt: 5, st: 2 });
  });

  it('refuses a request that itself sets pmax below pmin, but accepts the mix from two requests', () => {
    const s = new AttributeStore();
    rejects(() => s.apply(p('/3/0/9'), { pmin: 10, pmax: 5 }), /pmax \(5\).*pmin \(10\)/);
    expect(s.forPath(p('/3/0/9'))).toEqual({});
    // pmax = 0 means "no pmax": never a contradiction.
    expect(s.apply(p('/3/0/9'), { pmin: 10, pmax: 0 })).toEqual({ pmin: 10, pmax: 0 });
    // The client ignores such a pmax when evaluating (§5.1.2) rather than refuse the request.
    expect(s.apply(p('/3/0/9'), { pmax: 5 })).toEqual({ pmin: 10, pmax: 5 });
  });

  it('enforces epmin < epmax', () => {
    const s = new AttributeStore();
    rejects(() => s.apply(p('/3/0/9'), { epmin: 5, epmax: 5 }), /epmin/);
    s.apply(p('/3/0/9'), { epmin: 5 });
    rejects(() => s.apply(p('/3/0/9'), { epmax: 2 }), /epmin/);
  });

  it('refuses the root, unknown names, bad values, and a resource instance of a single resource', () => {
    const s = new AttributeStore();
    rejects(() => s.apply(LwM2mPath.ROOT, { pmin: 1 }), /root/);
    rejects(() => s.apply(p('/3/0'), { dim: 1 } as never), /unknown attribute "dim"/);
    rejects(() => s.apply(p('/3/0'), { pmin: -1 }), /pmin/);
    rejects(() => s.apply(p('/3/0'), { con: 2 as never }), /con/);
    rejects(() => s.apply(p('/3/0/9/0'), { pmin: 1 }, { resourceIsMultiple: false }), /single/);
    expect(s.apply(p('/3/0/7/1'), { lt: 45 }, { ...NUMERIC, resourceIsMultiple: true })).toEqual({
      lt: 45,
    });
  });

  it('refuses attributes the registered version does not define', () => {
    const v10 = new AttributeStore({ version: '1.0' });
    rejects(() => v10.apply(p('/3/0'), { epmin: 1 }), /not defined in LwM2M 1\.0/);
    rejects(() => v10.apply(p('/3/0'), { con: 1 }), /not defined in LwM2M 1\.0/);
    expect(v10.apply(p('/3/0'), { pmin: 1, pmax: 2 })).toEqual({ pmin: 1, pmax: 2 });
    const v11 = new AttributeStore({ version: '1.1' });
    expect(v11.apply(p('/3/0'), { epmin: 1, epmax: 2 })).toEqual({ epmin: 1, epmax: 2 });
    rejects(() => v11.apply(p('/3/0'), { hqmax: 3 }), /not defined in LwM2M 1\.1/);
    rejects(() => v11.apply(p('/3/0/30'), { edge: 1 }), /not defined in LwM2M 1\.1/);
    expect(new AttributeStore().apply(p('/3/0'), { con: 1, hqmax: 3 })).toEqual({
      con: 1,
      hqmax: 3,
    });
  });

  it('leaves the stored attributes as they were when a request is refused', () => {
    const s = new AttributeStore();
    s.apply(p('/3303/0/5700'), { pmin: 1, gt: 30 }, NUMERIC);
    rejects(() => s.apply(p('/3303/0/5700'), { pmin: 5, lt: 40 }, NUMERIC), /less than gt/);
    expect(s.forPath(p('/3303/0/5700'))).toEqual({ pmin: 1, gt: 30 });
  });
});

describe('inheritance (Core TS 1.2 §5.1.1)', () => {
  // The attributes of the Discover examples of Core TS 1.2 §6.3.2.
  function device() {
    const s = new AttributeStore();
    s.apply(p('/3'), { pmin: 10 });
    s.apply(p('/3/0'), { pmax: 60 });
    s.apply(p('/3/0/7'), { gt: 50, lt: 42.2 }, { ...NUMERIC, resourceIsMultiple: true });
    s.apply(p('/3/0/7/1'), { lt: 45 }, { ...NUMERIC, resourceIsMultiple: true });
    return s;
  }

  it('inherited() is what Discover shows on its target: own plus inherited', () => {
    const s = device();
    expect(s.inherited(p('/3'))).toEqual({ pmin: 10 });
    expect(s.inherited(p('/3/0'))).toEqual({ pmin: 10, pmax: 60 });
    expect(s.inherited(p('/3/0/7'))).toEqual({ pmin: 10, pmax: 60, gt: 50, lt: 42.2 });
    expect(s.inherited(p('/3/0/7/1'))).toEqual({ pmin: 10, pmax: 60, gt: 50, lt: 45 });
    expect(s.inherited(p('/3/0/7/0'))).toEqual({ pmin: 10, pmax: 60, gt: 50, lt: 42.2 });
    expect(s.inherited(p('/3/1/7'))).toEqual({ pmin: 10 });
    expect(s.inherited(p('/4/0'))).toEqual({});
    expect(s.inherited(LwM2mPath.ROOT)).toEqual({});
  });

  it('forPath() is what Discover shows on a child link: only what is assigned there', () => {
    const s = device();
    expect(s.forPath(p('/3/0'))).toEqual({ pmax: 60 });
    expect(s.forPath(p('/3/0/7'))).toEqual({ gt: 50, lt: 42.2 });
    expect(s.forPath(p('/3/0/7/1'))).toEqual({ lt: 45 });
    expect(s.forPath(p('/3/0/7/0'))).toEqual({});
  });

  it('the nearest level wins per attribute (Rules 1, 3, 3a)', () => {
    const s = device();
    s.apply(p('/3/0/7'), { pmin: 2 });
    expect(s.inherited(p('/3/0/7'))).toMatchObject({ pmin: 2, pmax: 60 });
    expect(s.inherited(p('/3/0/8'))).toMatchObject({ pmin: 10, pmax: 60 });
    s.apply(p('/3/0'), { pmin: 5 });
    expect(s.inherited(p('/3/0/8'))).toMatchObject({ pmin: 5 });
    expect(s.inherited(p('/3/0/7/1'))).toMatchObject({ pmin: 2 });
  });
});

describe('effective()', () => {
  it('fills pmin/pmax from the server account defaults (/1/x/2, /1/x/3), read each time', () => {
    let defaults: { pmin?: number; pmax?: number } = { pmin: 1, pmax: 300 };
    const s = new AttributeStore({ defaultPeriods: () => defaults });
    expect(s.effective(p('/3303/0/5700'))).toEqual({ pmin: 1, pmax: 300 });
    s.apply(p('/3303/0'), { pmax: 30 });
    expect(s.effective(p('/3303/0/5700'))).toEqual({ pmin: 1, pmax: 30 });
    defaults = {};
    expect(s.effective(p('/3303/0/5700'))).toEqual({ pmax: 30 });
    // Defaults are neither attached nor assigned: Discover does not show them.
    defaults = { pmin: 7 };
    expect(s.inherited(p('/3303/0/5700'))).toEqual({ pmax: 30 });
  });

  it('observation attributes replace every assigned one (Core TS 1.2 §6.4.1)', () => {
    const s = new AttributeStore({ defaultPeriods: () => ({ pmin: 1 }) });
    s.apply(p('/3303'), { pmax: 100 });
    s.apply(p('/3303/0/5700'), { gt: 30, pmin: 5 }, NUMERIC);
    expect(s.effective(p('/3303/0/5700'), { observation: { st: 2 } })).toEqual({ st: 2, pmin: 1 });
    expect(s.effective(p('/3303/0/5700'), { observation: {} })).toEqual({
      pmin: 5,
      pmax: 100,
      gt: 30,
    });
  });

  it('for a composite observation they replace only the Object-level ones (§6.4.4)', () => {
    const s = new AttributeStore();
    s.apply(p('/3'), { pmin: 60 });
    s.apply(p('/4'), { pmax: 300 });
    s.apply(p('/4/0/2'), { lt: -90 }, NUMERIC);
    const own = { epmin: 30 };
    expect(s.effective(p('/3/0/8'), { observation: own, composite: true })).toEqual({ epmin: 30 });
    expect(s.effective(p('/4/0/2'), { observation: own, composite: true })).toEqual({
      lt: -90,
      epmin: 30,
    });
    expect(s.effective(p('/4/0/2'), { composite: true })).toEqual({ pmax: 300, lt: -90 });
  });

  it('drops what the version does not define', () => {
    const s = new AttributeStore({ version: '1.1' });
    expect(s.effective(p('/3/0/1'), { observation: { pmin: 1, con: 1, edge: 1 } })).toEqual({
      pmin: 1,
    });
  });
});

describe('observationAttributes()', () => {
  it('checks an Observe query like a Write-Attributes, stores nothing, drops bare names', () => {
    const s = new AttributeStore();
    expect(
      s.observationAttributes(p('/3303/0/5700'), { pmin: 1, gt: 20, st: null }, NUMERIC),
    ).toEqual({ pmin: 1, gt: 20 });
    expect(s.entries()).toEqual([]);
    rejects(() => s.observationAttributes(p('/3303/0'), { gt: 20 }), /resource/);
    rejects(() => s.observationAttributes(p('/3303/0/5700'), { pmin: 9, pmax: 3 }), /pmax/);
    rejects(() => s.observationAttributes(LwM2mPath.ROOT, { pmin: 1 }), /root/);
  });
  it('takes only Object-level attributes for a composite observation', () => {
    const s = new AttributeStore();
    expect(
      s.observationAttributes(
        LwM2mPath.ROOT,
        { pmin: 1, pmax: 5, epmin: 1, epmax: 2, con: 1 },
        {
          composite: true,
        },
      ),
    ).toEqual({ pmin: 1, pmax: 5, epmin: 1, epmax: 2, con: 1 });
    rejects(
      () => s.observationAttributes(LwM2mPath.ROOT, { gt: 1 }, { composite: true }),
      /Observe-Composite/,
    );
    rejects(
      () => s.observationAttributes(LwM2mPath.ROOT, { hqmax: 1 }, { composite: true }),
      /Observe-Composite/,
    );
  });
});

describe('clear() and onChange()', () => {
  it('forgets a deleted instance and everything below it, not its neighbours', () => {
    const s = new AttributeStore();
    s.apply(p('/3303'), { pmin: 1 });
    s.apply(p('/3303/0'), { pmax: 9 });
    s.apply(p('/3303/0/5700'), { gt: 3 }, NUMERIC);
    s.apply(p('/3303/1'), { pmax: 8 });
    s.apply(p('/3303/10/5700'), { lt: 3 }, NUMERIC);
    s.clear(p('/3303/0'));
    expect(s.entries().map((e) => e.path.toString())).toEqual([
      '/3303',
      '/3303/1',
      '/3303/10/5700',
    ]);
    s.clear(LwM2mPath.ROOT);
    expect(s.entries()).toEqual([]);
  });

  it('tells listeners which path changed, until they unsubscribe', () => {
    const s = new AttributeStore();
    const seen: string[] = [];
    const off = s.onChange((path) => seen.push(path.toString()));
    s.apply(p('/3/0'), { pmin: 1 });
    s.clear(p('/3/0'));
    s.clear(p('/3/0')); // nothing left: no event
    try {
      s.apply(p('/3/0'), { pmin: -1 });
    } catch {
      // refused: no event
    }
    off();
    s.apply(p('/3/0'), { pmin: 2 });
    expect(seen).toEqual(['/3/0', '/3/0']);
  });
});

describe('helpers', () => {
  it('attributeTargetInfo reads the resource model', () => {
    const registry = ObjectRegistry.withBuiltins();
    const model = (o: number, r: number) => registry.get(o)!.resources.get(r) as ResourceModel;
    expect(attributeTargetInfo(model(3303, 5700))).toEqual({
      resourceIsNumeric: true,
      resourceIsBoolean: false,
      resourceIsMultiple: false,
    });
    expect(attributeTargetInfo(model(3, 0))).toMatchObject({ resourceIsNumeric: false });
    expect(attributeTargetInfo(model(3, 7))).toMatchObject({ resourceIsMultiple: true });
    expect(attributeTargetInfo(undefined)).toEqual({});
  });
  it('attributesForVersion and attributeNamesOf follow the versions', () => {
    expect([...attributeNamesOf('1.0')]).toEqual(['pmin', 'pmax', 'gt', 'lt', 'st']);
    expect(attributeNamesOf('1.1').has('epmax')).toBe(true);
    expect(attributeNamesOf('1.1').has('con')).toBe(false);
    expect(attributesForVersion({ pmin: 1, epmin: 2, edge: 1 }, '1.0')).toEqual({ pmin: 1 });
    expect(attributesForVersion({ pmin: 1, epmin: 2, edge: 1 }, '1.2')).toEqual({
      pmin: 1,
      epmin: 2,
      edge: 1,
    });
  });
});
