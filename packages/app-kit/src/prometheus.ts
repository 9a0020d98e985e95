/**
 * Prometheus text exposition format 0.0.4 (`GET /metrics`), written by hand: it is a few lines.
 */

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly samples: readonly {
    readonly labels?: Readonly<Record<string, string>>;
    readonly value: number;
  }[];
}

/** A metric name from a stats key: lowercase letters, digits and `_`, not starting with a digit. */
export function metricName(key: string): string {
  const s = key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The exposition text of `metrics`, one `# HELP` and `# TYPE` per metric. */
export function formatMetrics(metrics: readonly Metric[]): string {
  const lines: string[] = [];
  for (const m of metrics) {
    lines.push(`# HELP ${m.name} ${escapeHelp(m.help)}`);
    lines.push(`# TYPE ${m.name} ${m.type}`);
    for (const s of m.samples) {
      const labels = Object.entries(s.labels ?? {});
      const labelText =
        labels.length === 0
          ? ''
          : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
      lines.push(`${m.name}${labelText} ${formatNumber(s.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export interface StatsMetricsOptions {
  /** Put before every name, e.g. `lwm2m_`. */
  readonly prefix: string;
  /** Who counts, for the help text: `LwM2M server` → `LwM2M server count "requestsSent".` */
  readonly subject: string;
  /** Stats that are levels, not counts of events, by `metricName` (e.g. `queued_requests`). */
  readonly gauges: ReadonlySet<string>;
  /** Full metric names already taken by other metrics: stats that would clash are left out. */
  readonly reserved?: ReadonlySet<string> | undefined;
}

/**
 * One metric per numeric entry of `stats` (a `stats()` result), sorted by key: its name in snake
 * case after `prefix`, a counter ending in `_total` or, for the names in `gauges`, a gauge.
 */
export function statsMetrics(stats: object, options: StatsMetricsOptions): Metric[] {
  const out: Metric[] = [];
  const seen = new Set(options.reserved);
  const entries = Object.entries(stats).sort(([a], [b]) => compare(a, b));
  for (const [key, value] of entries) {
    if (typeof value !== 'number') continue;
    const base = metricName(key);
    const gauge = options.gauges.has(base);
    const name = `${options.prefix}${gauge || base.endsWith('_total') ? base : `${base}_total`}`;
    if (seen.has(name)) continue;
    seen.add(name);
    out.push({
      name,
      help: `${options.subject} ${gauge ? 'level' : 'count'} "${key}".`,
      type: gauge ? 'gauge' : 'counter',
      samples: [{ value }],
    });
  }
  return out;
}

/** Counts answered HTTP requests by method and status, as the counter `name`. */
export class HttpRequestCounter {
  readonly #name: string;
  readonly #counts = new Map<string, number>();

  constructor(name: string) {
    this.#name = name;
  }

  record(method: string, status: number): void {
    const key = `${method}\u0000${status}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  metric(): Metric {
    const samples = [...this.#counts.entries()]
      .sort(([a], [b]) => compare(a, b))
      .map(([key, value]) => {
        const [method = '', status = ''] = key.split('\u0000');
        return { labels: { method, status }, value };
      });
    return {
      name: this.#name,
      help: 'REST API requests answered, by method and status.',
      type: 'counter',
      samples,
    };
  }
}
