/**
 * The live log of bootstrap sessions, folded from the bootstrap server's events: one entry per
 * session (started → steps → finished or failed, with the reason) and one per request the server
 * refused (unknown endpoint, wrong credentials), newest first.
 */
import type { BsEventName } from './api';

export interface StepLine {
  readonly operation: string;
  readonly path: string;
  readonly code: string;
  readonly ok: boolean;
  readonly durationMs: number;
  readonly detail?: string;
}

export interface SessionEntry {
  readonly kind: 'session';
  readonly id: string;
  readonly endpoint: string;
  /** `request` (Bootstrap-Request) or `pack` (Bootstrap-Pack-Request). */
  readonly mode: string;
  readonly transport: string;
  readonly address: string;
  readonly port: number;
  readonly identity?: string;
  readonly defaultConfig: boolean;
  readonly startedAt: number;
  readonly state: 'running' | 'finished' | 'failed';
  readonly steps: readonly StepLine[];
  readonly durationMs?: number;
  /** Why it failed, as the server says it. */
  readonly reason?: string;
  readonly failedAt?: string;
  readonly restarted?: boolean;
  /** DM server hand-offs: `101 ok` or `101 failed: …`. */
  readonly handoffs: readonly string[];
}

export interface RefusedEntry {
  readonly kind: 'refused';
  readonly id: string;
  readonly endpoint?: string;
  readonly address: string;
  readonly port: number;
  readonly code: string;
  readonly message: string;
  readonly at: number;
}

export type LogEntry = SessionEntry | RefusedEntry;

/** How many entries the log keeps (the oldest go first). */
export const MAX_ENTRIES = 100;
const MAX_STEPS = 60;

// biome-ignore lint/suspicious/noExplicitAny: event data is JSON, read field by field
type Data = any;

function base(d: Data, now: number): SessionEntry {
  return {
    kind: 'session',
    id: String(d.sessionId),
    endpoint: String(d.endpoint),
    mode: String(d.mode ?? 'request'),
    transport: String(d.transport ?? 'udp'),
    address: String(d.address ?? ''),
    port: Number(d.port ?? 0),
    ...(typeof d.identity === 'string' && { identity: d.identity }),
    defaultConfig: d.defaultConfig === true,
    startedAt: now,
    state: 'running',
    steps: [],
    handoffs: [],
  };
}

function stepName(step: Data): string {
  return step === undefined || step === null ? '' : `${step.operation} ${step.path}`;
}

/** The log after one event; unknown or malformed events leave it as it is. */
export function applyBsEvent(
  log: readonly LogEntry[],
  name: BsEventName,
  d: Data,
  now: number,
): readonly LogEntry[] {
  if (typeof d !== 'object' || d === null) return log;
  if (name === 'coap-error') {
    const entry: RefusedEntry = {
      kind: 'refused',
      id: `refused-${now}-${log.length}-${d.port}`,
      ...(typeof d.endpoint === 'string' && { endpoint: d.endpoint }),
      address: String(d.address ?? ''),
      port: Number(d.port ?? 0),
      code: String(d.code ?? ''),
      message: String(d.message ?? ''),
      at: now,
    };
    return [entry, ...log].slice(0, MAX_ENTRIES);
  }
  if (typeof d.sessionId !== 'string') return log;
  const i = log.findIndex((e) => e.kind === 'session' && e.id === d.sessionId);
  if (name === 'bootstrap-started') {
    if (i >= 0) return log;
    return [base(d, now), ...log].slice(0, MAX_ENTRIES);
  }
  // An event of a session that started before the page was opened: start it here.
  const current =
    i >= 0
      ? (log[i] as SessionEntry)
      : { ...base(d, now), startedAt: now - Number(d.durationMs ?? 0) };
  let next: SessionEntry;
  switch (name) {
    case 'step-done': {
      const line: StepLine = {
        operation: String(d.step?.operation ?? '?'),
        path: String(d.step?.path ?? ''),
        code: String(d.code ?? ''),
        ok: d.ok === true,
        durationMs: Number(d.durationMs ?? 0),
        ...(typeof d.diagnostic === 'string' && { detail: d.diagnostic }),
      };
      next = { ...current, steps: [...current.steps, line].slice(-MAX_STEPS) };
      break;
    }
    case 'bootstrap-finished':
      next = { ...current, state: 'finished', durationMs: Number(d.durationMs ?? 0) };
      break;
    case 'bootstrap-failed':
      next = {
        ...current,
        state: 'failed',
        durationMs: Number(d.durationMs ?? 0),
        reason: String(d.reason ?? 'unknown'),
        restarted: d.restarted === true,
        ...(d.step != null && { failedAt: stepName(d.step) }),
      };
      break;
    case 'dm-server-handoff':
      next = {
        ...current,
        handoffs: [
          ...current.handoffs,
          d.ok === true
            ? `${d.shortServerId}: the PSK was handed to the DM server`
            : `${d.shortServerId}: the hand-off to the DM server failed${d.message ? ` (${d.message})` : ''}`,
        ],
      };
      break;
    default:
      return log;
  }
  if (i < 0) return [next, ...log].slice(0, MAX_ENTRIES);
  const out = [...log];
  out[i] = next;
  return out;
}

/** The failure of a session in words. */
export function failureWords(s: SessionEntry): string {
  if (s.restarted) return 'the device started a new bootstrap before this one ended';
  const reason = s.reason ?? 'unknown';
  if (/\b(timed? ?out|no answer)\b/i.test(reason)) {
    return `the device did not answer in time (${reason})`;
  }
  return reason;
}

/** A refused request in words, by the CoAP code the server answered. */
export function refusalWords(e: RefusedEntry): string {
  if (e.code === '4.03') return 'refused: the credentials do not match this endpoint';
  if (e.code === '4.00') return 'refused: no configuration for this endpoint, or a bad request';
  return `refused (${e.code})`;
}

/** The latest session of each endpoint. */
export function lastSessions(log: readonly LogEntry[]): Map<string, SessionEntry> {
  const out = new Map<string, SessionEntry>();
  for (const e of log) if (e.kind === 'session' && !out.has(e.endpoint)) out.set(e.endpoint, e);
  return out;
}
