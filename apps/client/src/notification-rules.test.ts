import { typedValue, type WriteAttributes } from '@lwm2m-ts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  afterNotify,
  canEvaluate,
  changeConditionMet,
  confirmableOf,
  crossed,
  due,
  evaluate,
  evaluationDue,
  type LeafValue,
  leafConditionMet,
  leafValue,
  nextWakeUp,
  periodsOf,
  type Snapshot,
  snapshotOf,
  startTrack,
  stepped,
  type TrackState,
} from './notification-rules.js';

const P = '/3303/0/5700';
const snap = (v: LeafValue, path = P): Snapshot => new Map([[path, v]]);

describe('periodsOf', () => {
  it('defaults pmin to 0 and has no pmax, epmin or epmax', () => {
    expect(periodsOf({})).toEqual({ pmin: 0, pmax: undefined, epmin: undefined, epmax: undefined });
  });
  it('converts seconds to milliseconds', () => {
    expect(periodsOf({ pmin: 2, pmax: 10, epmin: 1, epmax: 5 })).toEqual({
      pmin: 2000,
      pmax: 10000,
      epmin: 1000,
      epmax: 5000,
    });
  });
  it('ignores pmax = 0 (Table 5.1.2-2: "pmax MUST be ignored")', () => {
    expect(periodsOf({ pmax: 0 }).pmax).toBeUndefined();
  });
  it('ignores a pmax below pmin (§5.1.2) but keeps one equal to it', () => {
    expect(periodsOf({ pmin: 10, pmax: 5 }).pmax).toBeUndefined();
    expect(periodsOf({ pmin: 10, pmax: 5 }).pmin).toBe(10000);
    expect(periodsOf({ pmin: 10, pmax: 10 }).pmax).toBe(10000);
  });
  it('ignores epmin/epmax that contradict each other, and zeros', () => {
    expect(periodsOf({ epmin: 5, epmax: 5 })).toMatchObject({ epmin: undefined, epmax: undefined });
    expect(periodsOf({ epmin: 0, epmax: 0 })).toMatchObject({ epmin: undefined, epmax: undefined });
    expect(periodsOf({ epmin: 5 })).toMatchObject({ epmin: 5000, epmax: undefined });
  });
});

describe('confirmableOf', () => {
  it('is CON when any part says con=1, NON when only con=0 is said, default otherwise', () => {
    expect(confirmableOf([{}, {}])).toBeUndefined();
    expect(confirmableOf([{ con: 0 }, {}])).toBe(false);
    expect(confirmableOf([{ con: 0 }, { con: 1 }])).toBe(true);
    expect(confirmableOf([{ con: 1 }])).toBe(true);
    expect(confirmableOf([])).toBeUndefined();
  });
});

describe('leafValue / snapshotOf', () => {
  it('keeps numbers and booleans comparable and turns other values into distinct keys', () => {
    expect(leafValue(typedValue('float', 21.5))).toBe(21.5);
    expect(leafValue(typedValue('integer', 7))).toBe(7n);
    expect(leafValue(typedValue('unsigned', 2n ** 60n))).toBe(2n ** 60n);
    expect(leafValue(typedValue('boolean', true))).toBe(true);
    expect(leafValue(typedValue('string', 'a'))).toBe('s:a');
    expect(leafValue(typedValue('opaque', new Uint8Array([1, 255])))).toBe('x:01ff');
    expect(leafValue(typedValue('objlnk', { objectId: 3, instanceId: 0 }))).toBe('o:3:0');
    expect(leafValue(typedValue('time', new Date(5000)))).toBe('t:5000');
    expect(leafValue(typedValue('time', new Date(5000)))).not.toBe(
      leafValue(typedValue('time', new Date(6000))),
    );
  });
  it('keys leaves by path', () => {
    const s = snapshotOf([
      { path: '/3/0/0', value: typedValue('string', 'ACME') },
      { path: '/3/0/9', value: typedValue('integer', 90) },
    ]);
    expect([...s]).toEqual([
      ['/3/0/0', 's:ACME'],
      ['/3/0/9', 90n],
    ]);
  });
});

describe('crossed / stepped', () => {
  it('gt: crossing upwards and downwards counts, staying on one side does not', () => {
    expect(crossed(10, 30, 20, 'gt')).toBe(true);
    expect(crossed(30, 10, 20, 'gt')).toBe(true);
    expect(crossed(10, 19, 20, 'gt')).toBe(false);
    expect(crossed(21, 50, 20, 'gt')).toBe(false);
    // "greater than": reaching the threshold is not being above it.
    expect(crossed(10, 20, 20, 'gt')).toBe(false);
    expect(crossed(20, 20.5, 20, 'gt')).toBe(true);
  });
  it('lt: crossing in either direction counts', () => {
    expect(crossed(10, 30, 20, 'lt')).toBe(true);
    expect(crossed(30, 10, 20, 'lt')).toBe(true);
    expect(crossed(30, 20, 20, 'lt')).toBe(false);
    expect(crossed(20, 19.9, 20, 'lt')).toBe(true);
    expect(crossed(-5, -3, -4, 'lt')).toBe(true);
  });
  it('works on bigint values against float thresholds', () => {
    expect(crossed(10n, 30n, 20.5, 'gt')).toBe(true);
    expect(crossed(10n, 20n, 20.5, 'gt')).toBe(false);
  });
  it('st: a variation ≥ step since the last notification', () => {
    expect(stepped(10, 12, 2)).toBe(true);
    expect(stepped(10, 8, 2)).toBe(true);
    expect(stepped(10, 11.9, 2)).toBe(false);
    expect(stepped(10n, 13n, 3)).toBe(true);
    expect(stepped(13n, 10n, 3)).toBe(true);
    expect(stepped(10n, 12n, 3)).toBe(false);
    expect(stepped(10n, 12.5, 2.5)).toBe(true);
  });
});

describe('leafConditionMet', () => {
  it('without a change nothing is met, whatever the attributes', () => {
    expect(leafConditionMet({}, 1, 1, 0)).toBe(false);
    expect(leafConditionMet({ st: 0 }, 1, 1, 0)).toBe(false);
    expect(leafConditionMet({}, Number.NaN, Number.NaN, 0)).toBe(false);
    expect(leafConditionMet({}, 's:a', 's:a', 's:b')).toBe(false);
  });
  it('without gt/lt/st/edge any change is met', () => {
    expect(leafConditionMet({ pmin: 5 }, 1, 2, 1)).toBe(true);
    expect(leafConditionMet({}, 's:a', 's:b', 's:a')).toBe(true);
    expect(leafConditionMet({}, true, false, true)).toBe(true);
  });
  it('a leaf appearing or disappearing is a change', () => {
    expect(leafConditionMet({ gt: 100 }, undefined, 1, undefined)).toBe(true);
    expect(leafConditionMet({ gt: 100 }, 1, undefined, 1)).toBe(true);
  });
  it('gt alone: only crossings', () => {
    const a = { gt: 20 };
    expect(leafConditionMet(a, 10, 15, 10)).toBe(false);
    expect(leafConditionMet(a, 15, 25, 10)).toBe(true);
    expect(leafConditionMet(a, 25, 40, 10)).toBe(false);
    expect(leafConditionMet(a, 40, 5, 10)).toBe(true);
  });
  it('lt alone: only crossings', () => {
    const a = { lt: 0 };
    expect(leafConditionMet(a, 5, 1, 5)).toBe(false);
    expect(leafConditionMet(a, 1, -1, 5)).toBe(true);
    expect(leafConditionMet(a, -1, -10, 5)).toBe(false);
    expect(leafConditionMet(a, -10, 3, 5)).toBe(true);
  });
  it('st alone: measured from the last notified value, so small steps add up', () => {
    const a = { st: 1 };
    expect(leafConditionMet(a, 20, 20.4, 20)).toBe(false);
    expect(leafConditionMet(a, 20.4, 20.8, 20)).toBe(false);
    expect(leafConditionMet(a, 20.8, 21, 20)).toBe(true);
    expect(leafConditionMet(a, 20.8, 19, 20)).toBe(true);
  });
  it('gt, lt and st combine with OR (§5.1.2)', () => {
    const a = { gt: 30, lt: 10, st: 5 };
    expect(leafConditionMet(a, 20, 22, 20)).toBe(false);
    expect(leafConditionMet(a, 20, 25, 20)).toBe(true); // step
    expect(leafConditionMet(a, 29, 31, 29)).toBe(true); // gt crossed
    expect(leafConditionMet(a, 11, 9, 11)).toBe(true); // lt crossed
  });
  it('edge=1 notifies on rising edges only, edge=0 on falling edges only', () => {
    expect(leafConditionMet({ edge: 1 }, false, true, false)).toBe(true);
    expect(leafConditionMet({ edge: 1 }, true, false, true)).toBe(false);
    expect(leafConditionMet({ edge: 0 }, true, false, true)).toBe(true);
    expect(leafConditionMet({ edge: 0 }, false, true, false)).toBe(false);
  });
  it('conditions for another kind of value do not apply: any change then', () => {
    expect(leafConditionMet({ edge: 1 }, 1, 2, 1)).toBe(true);
    expect(leafConditionMet({ gt: 5 }, true, false, true)).toBe(true);
    expect(leafConditionMet({ gt: 5 }, 's:a', 's:b', 's:a')).toBe(true);
  });
  it('st with no numeric last-notified value falls back to reporting', () => {
    expect(leafConditionMet({ st: 100 }, 1, 2, undefined)).toBe(true);
  });
});

describe('changeConditionMet over several leaves', () => {
  it('is met when any leaf meets it, or when a leaf disappears', () => {
    const prev = new Map<string, LeafValue>([
      ['/3/0/1', 1],
      ['/3/0/2', 2],
    ]);
    expect(changeConditionMet({}, prev, prev, new Map(prev))).toBe(false);
    expect(changeConditionMet({}, prev, prev, new Map([...prev, ['/3/0/2', 3]]))).toBe(true);
    expect(changeConditionMet({}, prev, prev, new Map([['/3/0/1', 1]]))).toBe(true);
    expect(changeConditionMet({}, prev, prev, new Map([...prev, ['/3/0/3', 0]]))).toBe(true);
    expect(changeConditionMet({ gt: 10 }, prev, prev, new Map([...prev, ['/3/0/2', 5]]))).toBe(
      false,
    );
    expect(changeConditionMet({ gt: 10 }, prev, prev, new Map([...prev, ['/3/0/2', 11]]))).toBe(
      true,
    );
  });
});

describe('the state machine', () => {
  it('sends a change at once when pmin has run since the initial notification', () => {
    const s0 = startTrack(snap(20), 0);
    const s1 = evaluate(s0, {}, snap(21), 500);
    expect(s1.pending).toBe(true);
    expect(due(s1, {}, 500)).toBe('change');
  });
  it('holds a change until pmin runs out, then sends it (Table 5.1.2-2)', () => {
    const a = { pmin: 10 };
    const s1 = evaluate(startTrack(snap(20), 0), a, snap(21), 3000);
    expect(due(s1, a, 3000)).toBeUndefined();
    expect(due(s1, a, 9999)).toBeUndefined();
    expect(nextWakeUp(s1, a, false)).toBe(10000);
    expect(due(s1, a, 10000)).toBe('change');
  });
  it('keeps a pending change pending through evaluations that meet nothing', () => {
    const a = { pmin: 10, gt: 30 };
    let s = evaluate(startTrack(snap(20), 0), a, snap(35), 1000);
    expect(s.pending).toBe(true);
    s = evaluate(s, a, snap(36), 2000);
    expect(s.pending).toBe(true);
    expect(due(s, a, 10000)).toBe('change');
  });
  it('crossings are between evaluations: up and back down inside pmin still notifies', () => {
    const a = { pmin: 10, gt: 30 };
    let s = evaluate(startTrack(snap(20), 0), a, snap(35), 1000);
    s = evaluate(s, a, snap(20), 2000);
    expect(due(s, a, 10000)).toBe('change');
  });
  it('notifies at pmax without a change, and the periods restart at each notification', () => {
    const a = { pmin: 1, pmax: 5 };
    const s0 = startTrack(snap(20), 0);
    expect(nextWakeUp(s0, a, false)).toBe(5000);
    expect(due(s0, a, 4999)).toBeUndefined();
    expect(due(s0, a, 5000)).toBe('pmax');
    const s1 = afterNotify(snap(20), 5000);
    expect(due(s1, a, 9999)).toBeUndefined();
    expect(nextWakeUp(s1, a, false)).toBe(10000);
  });
  it('has no periodic notification without pmax, with pmax=0 or with pmax < pmin', () => {
    const s0 = startTrack(snap(20), 0);
    for (const a of [{}, { pmax: 0 }, { pmin: 10, pmax: 5 }] as WriteAttributes[]) {
      expect(nextWakeUp(s0, a, false)).toBeUndefined();
      expect(due(s0, a, 1e9)).toBeUndefined();
    }
  });
  it('afterNotify clears pending and takes the sent values as the reference for st', () => {
    const a = { st: 2 };
    const s1 = afterNotify(snap(25), 100);
    expect(s1).toEqual({
      notifiedAt: 100,
      notified: snap(25),
      evaluatedAt: 100,
      sampled: snap(25),
      pending: false,
    });
    expect(evaluate(s1, a, snap(26), 200).pending).toBe(false);
    expect(evaluate(s1, a, snap(27), 200).pending).toBe(true);
  });
  it('epmin defers evaluations; the deferred one is scheduled when epmin runs out', () => {
    const a = { epmin: 2 };
    const s0 = startTrack(snap(20), 1000);
    expect(canEvaluate(s0, a, 2500)).toBe(false);
    expect(canEvaluate(s0, a, 3000)).toBe(true);
    expect(nextWakeUp(s0, a, true)).toBe(3000);
    expect(nextWakeUp(s0, a, false)).toBeUndefined();
    expect(canEvaluate(s0, {}, 1000)).toBe(true);
    expect(nextWakeUp(s0, {}, true)).toBe(1000);
  });
  it('epmax asks for an evaluation after each period without one', () => {
    const a = { epmax: 3 };
    const s0 = startTrack(snap(20), 0);
    expect(evaluationDue(s0, a, 2999)).toBe(false);
    expect(evaluationDue(s0, a, 3000)).toBe(true);
    expect(nextWakeUp(s0, a, false)).toBe(3000);
    const s1 = evaluate(s0, a, snap(20), 3000);
    expect(nextWakeUp(s1, a, false)).toBe(6000);
    expect(evaluationDue(s0, {}, 1e9)).toBe(false);
  });
  it('nextWakeUp takes the earliest of its deadlines', () => {
    const a = { pmin: 4, pmax: 30, epmax: 10 };
    const s = evaluate(startTrack(snap(1), 0), a, snap(2), 1000);
    expect(nextWakeUp(s, a, false)).toBe(4000);
    expect(nextWakeUp({ ...s, pending: false }, a, false)).toBe(11000);
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests: a discrete-event simulation of one observed numeric resource driven only by
// the functions above, as ObservationManager drives them.

interface Sim {
  notifications: { at: number; value: number }[];
  /** For each change, how many notifications had gone out when it happened. */
  sentBefore: number[];
}

function simulate(
  attrs: WriteAttributes,
  changes: { at: number; value: number }[],
  horizon: number,
): Sim {
  let value = 0;
  let state: TrackState = startTrack(snap(value), 0);
  let changed = false;
  const notifications: Sim['notifications'] = [{ at: 0, value }];
  const sentBefore: number[] = [];
  let ci = 0;
  let now = 0;
  const look = () => {
    if ((changed && canEvaluate(state, attrs, now)) || evaluationDue(state, attrs, now)) {
      state = evaluate(state, attrs, snap(value), now);
      changed = false;
    }
    if (due(state, attrs, now) !== undefined) {
      notifications.push({ at: now, value });
      state = afterNotify(snap(value), now);
      changed = false;
    }
  };
  for (let steps = 0; ; steps++) {
    // A wake-up that changes nothing would spin forever: that is a bug of the rules.
    if (steps > 10_000) throw new Error(`no progress at ${now} ms`);
    const wake = nextWakeUp(state, attrs, changed);
    const nextChange = changes[ci]?.at;
    const next = Math.min(wake ?? Number.POSITIVE_INFINITY, nextChange ?? Number.POSITIVE_INFINITY);
    if (next > horizon) break;
    now = Math.max(now, next);
    if (nextChange !== undefined && nextChange <= now) {
      value = changes[ci]!.value;
      sentBefore.push(notifications.length);
      ci++;
      changed = true;
    }
    look();
  }
  return { notifications, sentBefore };
}

const attrsArb = fc
  .record(
    {
      pmin: fc.integer({ min: 0, max: 5 }),
      pmax: fc.integer({ min: 0, max: 15 }),
      gt: fc.integer({ min: -5, max: 5 }),
      lt: fc.integer({ min: -10, max: -6 }),
      st: fc.integer({ min: 1, max: 4 }),
      epmin: fc.integer({ min: 1, max: 2 }),
      epmax: fc.integer({ min: 3, max: 8 }),
    },
    { requiredKeys: [] },
  )
  .map((a) => a as WriteAttributes);

const changesArb = fc
  .array(
    fc.record({
      dt: fc.integer({ min: 0, max: 4000 }),
      value: fc.integer({ min: -20, max: 20 }),
    }),
    { maxLength: 40 },
  )
  .map((steps) => {
    let at = 0;
    return steps.map(({ dt, value }) => {
      at += dt;
      return { at, value };
    });
  });

describe('properties of the rules', () => {
  it('never sends two notifications closer than pmin', () => {
    fc.assert(
      fc.property(attrsArb, changesArb, (attrs, changes) => {
        const { notifications } = simulate(attrs, changes, 100_000);
        const pmin = (attrs.pmin ?? 0) * 1000;
        for (let i = 1; i < notifications.length; i++) {
          expect(notifications[i]!.at - notifications[i - 1]!.at).toBeGreaterThanOrEqual(pmin);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('never leaves a gap longer than pmax when pmax ≥ pmin and pmax > 0', () => {
    fc.assert(
      fc.property(attrsArb, changesArb, (attrs, changes) => {
        const horizon = 100_000;
        const { notifications } = simulate(attrs, changes, horizon);
        const pmin = attrs.pmin ?? 0;
        const pmax = attrs.pmax;
        fc.pre(pmax !== undefined && pmax > 0 && pmax >= pmin);
        const times = [...notifications.map((n) => n.at), horizon];
        for (let i = 1; i < times.length; i++) {
          expect(times[i]! - times[i - 1]!).toBeLessThanOrEqual(pmax! * 1000);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('without change conditions or epmin, no change is lost: each is sent by max(change, last + pmin)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.option(fc.integer({ min: 0, max: 15 }), { nil: undefined }),
        changesArb,
        (pmin, pmax, changes) => {
          const attrs: WriteAttributes = pmax === undefined ? { pmin } : { pmin, pmax };
          const { notifications, sentBefore } = simulate(attrs, changes, 1_000_000);
          for (const [i, c] of changes.entries()) {
            const prevValue = i === 0 ? 0 : changes[i - 1]!.value;
            if (c.value === prevValue) continue;
            const before = notifications[sentBefore[i]! - 1]!;
            const deadline = Math.max(c.at, before.at + pmin * 1000);
            // A notification after the change, by the deadline, carries its value or a later one.
            const after = notifications.slice(sentBefore[i]!).find((n) => n.at <= deadline);
            const superseded = changes.slice(i + 1).some((d) => d.at <= deadline);
            expect(after !== undefined || superseded).toBe(true);
            if (!superseded) expect(after!.value).toBe(c.value);
          }
          // The last value always reaches the server.
          const last = changes.at(-1);
          if (last !== undefined) expect(notifications.at(-1)!.value).toBe(last.value);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('with gt only, every crossing of the threshold between samples is notified, and nothing else', () => {
    fc.assert(
      fc.property(fc.integer({ min: -5, max: 5 }), changesArb, (gt, changes) => {
        const attrs: WriteAttributes = { gt };
        const { notifications } = simulate(attrs, changes, 1_000_000);
        let prev = 0;
        const crossings: number[] = [];
        for (const c of changes) {
          if (prev > gt !== c.value > gt) crossings.push(c.at);
          prev = c.value;
        }
        // pmin = 0 and no epmin: each crossing is notified at its own time, one per change event.
        const sent = notifications.slice(1).map((n) => n.at);
        expect(sent).toEqual(crossings);
      }),
      { numRuns: 300 },
    );
  });

  it('with st only, the values notified are each at least st apart from the previous one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), changesArb, (st, changes) => {
        const { notifications } = simulate({ st }, changes, 1_000_000);
        for (let i = 1; i < notifications.length; i++) {
          expect(
            Math.abs(notifications[i]!.value - notifications[i - 1]!.value),
          ).toBeGreaterThanOrEqual(st);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('with epmin, evaluations (and so change notifications) are at least epmin apart', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), changesArb, (epmin, changes) => {
        const { notifications } = simulate({ epmin }, changes, 1_000_000);
        for (let i = 1; i < notifications.length; i++) {
          expect(notifications[i]!.at - notifications[i - 1]!.at).toBeGreaterThanOrEqual(
            epmin * 1000,
          );
        }
      }),
      { numRuns: 300 },
    );
  });
});
