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

export function machineLine(): string {
  return `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}`;
}

export function markdownTable(rows: readonly Comparison[]): string {
  const lines = [
    '| benchmark | subject | per call | ops/s | reference | per call | ops/s | ratio | goal |',
    '|---|---|---:|---:|---|---:|---:|---:|---|',
  ];
  for (const c of rows) {
    lines.push(
      `| ${c.name} | ${c.subject} | ${fmtMs(c.subjectMs)} | ${fmtOps(c.subjectMs)} | ${c.reference} | ${fmtMs(c.referenceMs)} | ${fmtOps(c.referenceMs)} | ${c.ratio.toFixed(2)}× | ${c.goal ?? ''} |`,
    );
  }
  return lines.join('\n');
}

function fmtMs(ms: number): string {
  return ms >= 1 ? `${ms.toFixed(1)} ms` : `${(ms * 1000).toFixed(2)} µs`;
}

function fmtOps(ms: number): string {
  return Math.round(1000 / ms).toLocaleString('en-US');
}
