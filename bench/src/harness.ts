import { cpus } from 'node:os';

/** One benchmark row: a subject and the reference it is measured against, in the same run. */
export interface Comparison {
  readonly name: string;
  readonly subject: string;
  readonly reference: string;
  /** Median wall time of one subject run, ms. */
  readonly subjectMs: number;
  /** Median wall time of one reference run, ms. */
  readonly referenceMs: number;
  /** subjectMs / referenceMs: how many times the reference's cost the subject takes. */
  readonly ratio: number;
  readonly goal?: string;
}

/**
 * Times `subject` and `reference` alternately (so machine noise hits both alike) for `rounds`
 * rounds after `warmup` unmeasured ones, and reports the medians and their ratio.
 */
export async function compare(opts: {
  name: string;
  subject: [string, () => unknown | Promise<unknown>];
  reference: [string, () => unknown | Promise<unknown>];
  rounds?: number;
  warmup?: number;
  /** Calls of each function per round; times are reported per call. */
  iterations?: number;
  goal?: string;
}): Promise<Comparison> {
  const rounds = opts.rounds ?? 15;
  const warmup = opts.warmup ?? 3;
  const n = opts.iterations ?? 1;
  const s: number[] = [];
  const r: number[] = [];
  for (let i = 0; i < warmup + rounds; i++) {
    const order = i % 2 === 0 ? [opts.subject, opts.reference] : [opts.reference, opts.subject];
    for (const [label, fn] of order) {
      collectGarbage();
      const t0 = performance.now();
      for (let k = 0; k < n; k++) {
        // Await only real promises: a microtask per call would swamp microsecond codecs.
        const r = fn();
        if (r instanceof Promise) await r;
      }
      const dt = (performance.now() - t0) / n;
      if (i >= warmup) (label === opts.subject[0] ? s : r).push(dt);
    }
  }
  const subjectMs = median(s);
  const referenceMs = median(r);
  return {
    name: opts.name,
    subject: opts.subject[0],
    reference: opts.reference[0],
    subjectMs,
    referenceMs,
    ratio: subjectMs / referenceMs,
    ...(opts.goal === undefined ? {} : { goal: opts.goal }),
  };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A full GC when the process runs with --expose-gc (so one lane's garbage is not collected in the next lane's time). */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export function machineLine(): string {
  return `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}`;
}

/**
 * One line of the table: a figure, and the reference it is compared with, measured in the same
 * run. `ratio` is subject ÷ reference in the row's own unit: for rates (ops/s) above 1 means the
 * subject is faster; for costs (bytes) below 1 means it is cheaper.
 */
export interface Row {
  readonly section: string;
  readonly name: string;
  readonly subject: string;
  readonly value: number;
  readonly unit: string;
  /** Latency percentiles, ms. */
  readonly p50?: number;
  readonly p99?: number;
  readonly reference?: string;
  readonly referenceValue?: number;
  readonly goal?: string;
  /** Whether the goal is met; undefined without a goal. */
  readonly met?: boolean;
  readonly note?: string;
}

export function ratioOf(r: Row): number | undefined {
  return r.referenceValue === undefined || r.referenceValue === 0
    ? undefined
    : r.value / r.referenceValue;
}

/** A time comparison (`compare()`) as a row of rates: ops/s of subject and reference. */
export function rateRow(
  section: string,
  c: Comparison,
  goal?: { readonly text: string; readonly minRatio: number },
): Row {
  const ratio = c.referenceMs / c.subjectMs;
  return {
    section,
    name: c.name,
    subject: c.subject,
    value: 1000 / c.subjectMs,
    unit: 'ops/s',
    reference: c.reference,
    referenceValue: 1000 / c.referenceMs,
    ...(goal !== undefined && { goal: goal.text, met: ratio >= goal.minRatio }),
  };
}

/** Nearest-rank percentile of unsorted samples (sorted here). */
export function percentile(samples: ArrayLike<number>, q: number): number | undefined {
  const s = Float64Array.from(samples).sort();
  if (s.length === 0) return undefined;
  return s[Math.min(s.length, Math.max(1, Math.ceil(q * s.length))) - 1];
}

export function markdownTable(rows: readonly Row[]): string {
  const lines = [
    '| benchmark | subject | result | p50 | p99 | reference (same run) | reference result | ratio | goal |',
    '|---|---|---:|---:|---:|---|---:|---:|---|',
  ];
  let section: string | undefined;
  for (const r of rows) {
    if (r.section !== section) {
      section = r.section;
      lines.push(`| **${section}** | | | | | | | | |`);
    }
    const ratio = ratioOf(r);
    const goal = r.goal === undefined ? '' : `${r.met ? '✅ met' : '❌ missed'}: ${r.goal}`;
    const name = r.note === undefined ? r.name : `${r.name} (${r.note})`;
    lines.push(
      `| ${name} | ${r.subject} | ${fmtValue(r.value, r.unit)} | ${fmtLatency(r.p50)} | ${fmtLatency(r.p99)} | ${r.reference ?? ''} | ${r.referenceValue === undefined ? '' : fmtValue(r.referenceValue, r.unit)} | ${ratio === undefined ? '' : `${ratio.toFixed(2)}×`} | ${goal} |`,
    );
  }
  return lines.join('\n');
}

function fmtValue(v: number, unit: string): string {
  if (unit === 'bytes') {
    return v >= 10_240
      ? `${(v / 1024).toFixed(1)} KB`
      : `${Math.round(v).toLocaleString('en-US')} B`;
  }
  if (unit === 'ms')
    return v >= 100 ? `${Math.round(v).toLocaleString('en-US')} ms` : `${v.toFixed(2)} ms`;
  const n = v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(3);
  return `${n} ${unit}`;
}

function fmtLatency(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ms >= 1 ? `${ms.toFixed(1)} ms` : `${(ms * 1000).toFixed(0)} µs`;
}
