/**
 * When an observation notifies: pure functions over the effective <NOTIFICATION> attributes
 * (Core TS 1.2 §5.1.2, Table 5.1.2-2), the state of one observed path and the clock. No timers
 * here: `ObservationManager` asks `nextWakeUp` when to look again, and `due` whether to send.
 *
 * The model, in the spec's words:
 *
 * - "In the message sent by an LwM2M Client in response to an Observe operation, the current
 *   Resource value is reported; this event can be considered as the initial notification", and
 *   "each time a Resource notification is sent, the Minimum Period and Maximum Period timers …
 *   are restarted" (§5.1.2): `startTrack` and `afterNotify`.
 * - "the notification … will be sent when a valid Change Value Condition (gt, lt, OR st) — if any
 *   is defined — AND the Minimum Period Timing Conditions are both fulfilled … OR the Maximum
 *   Period Timing Condition is fulfilled" (§5.1.2): `changeConditionMet` sets `pending`, and
 *   `due` answers `'change'` once pmin has run, or `'pmax'`.
 * - pmin: "If a notification … is supposed to be generated but it is before pmin expiry,
 *   notification MUST be sent as soon as pmin expires" (Table 5.1.2-2): a pending change waits.
 * - epmin/epmax (1.1+): "the minimum time … the LwM2M Client MUST wait between two evaluations
 *   of reporting criteria" / "when the Maximum Evaluation Period expires after the previous
 *   evaluation, a new evaluation MUST occur" (Table 5.1.2-2): `canEvaluate`, `evaluationDue`.
 *
 * - con (1.2) picks CON or NON per notification: `confirmableOf`.
 * - hqmax (1.2) sizes the history kept while the client is offline with notification storing on
 *   (Table 5.1.2-2, Server object `/1/x/6`); it does not decide when to notify, so it plays no
 *   part here (the attribute store keeps it for Discover).
 *
 * Times are milliseconds on any monotonic-enough clock; attribute periods are seconds.
 */
import type { TypedValue, WriteAttributes } from '@lwm2m-ts/core';

/** A leaf value reduced to what the rules compare: numbers, booleans, or a text key. */
export type LeafValue = number | bigint | boolean | string;

/** The observed leaves (resources, resource instances) by path string, at one moment. */
export type Snapshot = ReadonlyMap<string, LeafValue>;

/** The comparable form of a value: numbers stay numbers (integers as bigint, losslessly). */
export function leafValue(v: TypedValue): LeafValue {
  switch (v.type) {
    case 'integer':
    case 'unsigned':
    case 'float':
    case 'boolean':
      return v.value;
    case 'time':
      return `t:${v.value.getTime()}`;
    case 'opaque':
      return `x:${Buffer.from(v.value.buffer, v.value.byteOffset, v.value.byteLength).toString('hex')}`;
    case 'objlnk':
      return `o:${v.value.objectId}:${v.value.instanceId}`;
    default:
      return `s:${v.value}`;
  }
}

/** A snapshot from path→value pairs. */
export function snapshotOf(
  values: Iterable<{ readonly path: { toString(): string }; readonly value: TypedValue }>,
): Snapshot {
  const out = new Map<string, LeafValue>();
  for (const { path, value } of values) out.set(path.toString(), leafValue(value));
  return out;
}

/** The timing attributes in milliseconds, with the spec's "ignore" rules applied. */
export interface Periods {
  readonly pmin: number;
  /** Undefined: no periodic notification. */
  readonly pmax: number | undefined;
  readonly epmin: number | undefined;
  readonly epmax: number | undefined;
}

/**
 * - pmin absent → 0 (Table 5.1.2-2 default; the server's Default Minimum Period is folded in by
 *   `AttributeStore.effective` before this).
 * - pmax absent or 0 → none ("The value of 0, means pmax MUST be ignored"); pmax below pmin →
 *   none ("a Maximum Period (pmax) applied to a Resource that is smaller than the Minimum Period
 *   … MUST be ignored for that Resource", §5.1.2). pmax equal to pmin is valid (Table 5.1.2-2:
 *   "greater than or equal to").
 * - epmin/epmax absent or 0 → none ("In the absence of this parameter, the … Period is not
 *   defined"); both present with epmin ≥ epmax → both ignored, as they cannot both hold
 *   ("the epmin value must be less than the epmax value", §5.1.2).
 */
export function periodsOf(attrs: WriteAttributes): Periods {
  const pmin = attrs.pmin ?? 0;
  const pmax =
    attrs.pmax === undefined || attrs.pmax === 0 || attrs.pmax < pmin ? undefined : attrs.pmax;
  let epmin = attrs.epmin === undefined || attrs.epmin === 0 ? undefined : attrs.epmin;
  let epmax = attrs.epmax === undefined || attrs.epmax === 0 ? undefined : attrs.epmax;
  if (epmin !== undefined && epmax !== undefined && epmin >= epmax) {
    epmin = undefined;
    epmax = undefined;
  }
  return {
    pmin: pmin * 1000,
    pmax: pmax === undefined ? undefined : pmax * 1000,
    epmin: epmin === undefined ? undefined : epmin * 1000,
    epmax: epmax === undefined ? undefined : epmax * 1000,
  };
}

/**
 * `con` (1.2, Table 5.1.2-2): 1 → CON, 0 → NON, absent → the CoAP layer's default. A notification
 * carrying several observed paths is CON "if at least one of the Notification components has
 * con=1".
 */
export function confirmableOf(attrs: readonly WriteAttributes[]): boolean | undefined {
  if (attrs.some((a) => a.con === 1)) return true;
  if (attrs.some((a) => a.con === 0)) return false;
  return undefined;
}

function isNumeric(v: LeafValue | undefined): v is number | bigint {
  return typeof v === 'number' || typeof v === 'bigint';
}

function toNumber(v: number | bigint): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

/**
 * Whether `cur` lies on the other side of a threshold than `prev`. gt's sides are "> gt" and
 * "≤ gt", lt's "< lt" and "≥ lt": the value crossed the threshold "in either direction" (Table
 * 5.1.2-2: "each time the Observed Resource value crosses this threshold").
 */
export function crossed(
  prev: number | bigint,
  cur: number | bigint,
  threshold: number,
  kind: 'gt' | 'lt',
): boolean {
  return kind === 'gt'
    ? prev > threshold !== cur > threshold
    : prev < threshold !== cur < threshold;
}

/**
 * Step (Table 5.1.2-2): "the Change Value Condition will occur when the value variation since
 * the last notification … is greater or equal to the Step Attribute value".
 */
export function stepped(lastNotified: number | bigint, cur: number | bigint, st: number): boolean {
  const diff =
    typeof lastNotified === 'bigint' && typeof cur === 'bigint'
      ? Number(cur >= lastNotified ? cur - lastNotified : lastNotified - cur)
      : Math.abs(toNumber(cur) - toNumber(lastNotified));
  return diff >= st;
}

/**
 * Whether one leaf's change from `prev` (its previous evaluation) to `cur` meets a Change Value
 * Condition, `lastNotified` being its value in the last notification (for `st`).
 *
 * - No change since the previous evaluation: nothing to report (pmax covers the periodic case).
 * - A leaf appearing or disappearing is a change of the observed content: it reports.
 * - Numeric leaves: gt crossed, lt crossed, OR a step ≥ st (§5.1.2: "gt, lt, OR st").
 * - Boolean leaves with `edge` (1.2): the chosen transition only, false→true for edge=1,
 *   true→false for edge=0 (Table 5.1.2-2).
 * - None of those applies to the leaf (none set, or set for another kind of value): any change
 *   reports (Core TS 1.2 §6.4.2: without conditions "the Notify operation will be sent upon any
 *   change").
 */
export function leafConditionMet(
  attrs: WriteAttributes,
  prev: LeafValue | undefined,
  cur: LeafValue | undefined,
  lastNotified: LeafValue | undefined,
): boolean {
  // Object.is: a float that stays NaN has not changed.
  if (Object.is(prev, cur)) return false;
  if (prev === undefined || cur === undefined) return true;
  let applicable = false;
  let met = false;
  if (isNumeric(prev) && isNumeric(cur)) {
    if (attrs.gt !== undefined) {
      applicable = true;
      met ||= crossed(prev, cur, attrs.gt, 'gt');
    }
    if (attrs.lt !== undefined) {
      applicable = true;
      met ||= crossed(prev, cur, attrs.lt, 'lt');
    }
    if (attrs.st !== undefined) {
      applicable = true;
      met ||= isNumeric(lastNotified) ? stepped(lastNotified, cur, attrs.st) : true;
    }
  } else if (typeof prev === 'boolean' && typeof cur === 'boolean' && attrs.edge !== undefined) {
    applicable = true;
    met = attrs.edge === 1 ? !prev && cur : prev && !cur;
  }
  return applicable ? met : true;
}

/** Whether any leaf of the observed content meets a Change Value Condition (`leafConditionMet`). */
export function changeConditionMet(
  attrs: WriteAttributes,
  previous: Snapshot,
  lastNotified: Snapshot,
  current: Snapshot,
): boolean {
  for (const [key, cur] of current) {
    if (leafConditionMet(attrs, previous.get(key), cur, lastNotified.get(key))) return true;
  }
  for (const key of previous.keys()) {
    if (!current.has(key)) return true;
  }
  return false;
}

/** What the rules remember about one observed path between evaluations. */
export interface TrackState {
  /** When the last notification (or the first response) went out. */
  readonly notifiedAt: number;
  /** The values it carried: the reference for `st`. */
  readonly notified: Snapshot;
  /** When the values were last evaluated. */
  readonly evaluatedAt: number;
  /** The values then: the reference for crossings, edges and plain changes. */
  readonly sampled: Snapshot;
  /** A Change Value Condition was met and waits for pmin to run out. */
  readonly pending: boolean;
}

/** The state after the first response, which counts as the initial notification (§5.1.2). */
export function startTrack(snapshot: Snapshot, now: number): TrackState {
  return {
    notifiedAt: now,
    notified: snapshot,
    evaluatedAt: now,
    sampled: snapshot,
    pending: false,
  };
}

/** Evaluates new values: records them, and marks a notification pending when a condition is met. */
export function evaluate(
  state: TrackState,
  attrs: WriteAttributes,
  current: Snapshot,
  now: number,
): TrackState {
  const met = changeConditionMet(attrs, state.sampled, state.notified, current);
  return { ...state, evaluatedAt: now, sampled: current, pending: state.pending || met };
}

/** Why a notification is due now, if it is. */
export type DueReason = 'change' | 'pmax';

/**
 * `'change'`: a condition was met and pmin has run since the last notification; `'pmax'`: pmax
 * has run since the last notification, change or not ("When this Maximum Period expires after
 * the last notification, a new notification MUST be sent", Table 5.1.2-2).
 */
export function due(state: TrackState, attrs: WriteAttributes, now: number): DueReason | undefined {
  const p = periodsOf(attrs);
  if (state.pending && now >= state.notifiedAt + p.pmin) return 'change';
  if (p.pmax !== undefined && now >= state.notifiedAt + p.pmax) return 'pmax';
  return undefined;
}

/** The state after a notification carrying `snapshot` went out: both periods restart. */
export function afterNotify(snapshot: Snapshot, now: number): TrackState {
  return startTrack(snapshot, now);
}

/** Whether a value change may be evaluated now: epmin has run since the last evaluation. */
export function canEvaluate(state: TrackState, attrs: WriteAttributes, now: number): boolean {
  const { epmin } = periodsOf(attrs);
  return epmin === undefined || now >= state.evaluatedAt + epmin;
}

/** Whether epmax has run since the last evaluation, so the values must be sampled now. */
export function evaluationDue(state: TrackState, attrs: WriteAttributes, now: number): boolean {
  const { epmax } = periodsOf(attrs);
  return epmax !== undefined && now >= state.evaluatedAt + epmax;
}

/**
 * The earliest time something has to happen for this path: a pending change's pmin running
 * out, pmax, epmax, or — when a change is known but not evaluated yet (`changed`) — epmin
 * letting it be evaluated. Undefined: nothing until the values change.
 */
export function nextWakeUp(
  state: TrackState,
  attrs: WriteAttributes,
  changed: boolean,
): number | undefined {
  const p = periodsOf(attrs);
  const times: number[] = [];
  if (state.pending) times.push(state.notifiedAt + p.pmin);
  if (p.pmax !== undefined) times.push(state.notifiedAt + p.pmax);
  if (p.epmax !== undefined) times.push(state.evaluatedAt + p.epmax);
  if (changed) times.push(state.evaluatedAt + (p.epmin ?? 0));
  return times.length === 0 ? undefined : Math.min(...times);
}
