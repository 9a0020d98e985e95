import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryObservationStore } from './memory-observation-store.js';
import type { ObservationRecord } from './observation-store.js';

function obs(id: string, registrationId: string, paths: string[] = ['/3/0/1']): ObservationRecord {
  return {
    id,
    registrationId,
    endpoint: `ep-${registrationId}`,
    paths,
    composite: paths.length > 1,
    createdAt: 0,
  };
}

const ids = (list: readonly ObservationRecord[]) => list.map((o) => o.id).sort();

describe('InMemoryObservationStore', () => {
  it('adds, gets and lists by registration', async () => {
    const store = new InMemoryObservationStore();
    const a = obs('aa', 'r1');
    const b = obs('bb', 'r1', ['/3/0/1', '/3/0/2']);
    const c = obs('cc', 'r2');
    await store.add(a);
    await store.add(b);
    await store.add(c);
    expect(await store.get('aa')).toBe(a);
    expect(await store.get('zz')).toBeUndefined();
    expect(ids(await store.listByRegistration('r1'))).toEqual(['aa', 'bb']);
    expect(ids(await store.listByRegistration('r2'))).toEqual(['cc']);
    expect(await store.listByRegistration('r3')).toEqual([]);
    expect(store.size).toBe(3);
  });

  it('removes one observation once and updates the index', async () => {
    const store = new InMemoryObservationStore();
    const a = obs('aa', 'r1');
    await store.add(a);
    await store.add(obs('bb', 'r1'));
    expect(await store.remove('aa')).toBe(a);
    expect(await store.remove('aa')).toBeUndefined();
    expect(ids(await store.listByRegistration('r1'))).toEqual(['bb']);
  });

  it('removes all observations of a registration', async () => {
    const store = new InMemoryObservationStore();
    await store.add(obs('aa', 'r1'));
    await store.add(obs('bb', 'r1'));
    await store.add(obs('cc', 'r2'));
    expect(ids(await store.removeByRegistration('r1'))).toEqual(['aa', 'bb']);
    expect(await store.removeByRegistration('r1')).toEqual([]);
    expect(await store.get('aa')).toBeUndefined();
    expect(await store.listByRegistration('r1')).toEqual([]);
    expect(ids(await store.listByRegistration('r2'))).toEqual(['cc']);
    expect(store.size).toBe(1);
  });

  it('replaces an observation with the same id, also across registrations', async () => {
    const store = new InMemoryObservationStore();
    await store.add(obs('aa', 'r1'));
    const moved = obs('aa', 'r2', ['/5/0/3']);
    await store.add(moved);
    expect(await store.get('aa')).toBe(moved);
    expect(await store.listByRegistration('r1')).toEqual([]);
    expect(await store.listByRegistration('r2')).toEqual([moved]);
    expect(store.size).toBe(1);
  });

  it('matches a simple model under random operations', async () => {
    const op = fc.oneof(
      fc.tuple(fc.constant('add' as const), fc.nat(10), fc.nat(3)),
      fc.tuple(fc.constant('remove' as const), fc.nat(10), fc.constant(0)),
      fc.tuple(fc.constant('removeReg' as const), fc.nat(3), fc.constant(0)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const store = new InMemoryObservationStore();
        const model = new Map<string, ObservationRecord>();
        for (const [kind, a, b] of ops) {
          if (kind === 'add') {
            const o = obs(`t${a}`, `r${b}`);
            model.set(o.id, o);
            await store.add(o);
          } else if (kind === 'remove') {
            expect(await store.remove(`t${a}`)).toBe(model.get(`t${a}`));
            model.delete(`t${a}`);
          } else {
            const want = [...model.values()].filter((o) => o.registrationId === `r${a}`);
            for (const o of want) model.delete(o.id);
            expect(ids(await store.removeByRegistration(`r${a}`))).toEqual(ids(want));
          }
          for (let r = 0; r <= 3; r++) {
            const want = [...model.values()].filter((o) => o.registrationId === `r${r}`);
            expect(ids(await store.listByRegistration(`r${r}`))).toEqual(ids(want));
          }
          expect(store.size).toBe(model.size);
        }
      }),
      { numRuns: 200 },
    );
  });
});
