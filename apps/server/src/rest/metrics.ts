/**
 * Prometheus text exposition format 0.0.4 (`GET /metrics`), written by hand: it is a few lines.
 *
 * - every numeric `server.stats()` entry becomes a metric, its name in snake case
 *   (`requestsSent` → `lwm2m_requests_sent_total`): a counter, except the names in `GAUGE_STATS`
 *   (levels that go down: `queuedRequests` → `lwm2m_queued_requests`), which are gauges; a
 *   stat whose name clashes with one below is left out (`registrations` is the store's count);
 * - `lwm2m_registrations` (gauge): registrations held now;
 * - `lwm2m_sse_clients` (gauge): open `/api/events` streams;
 * - `lwm2m_http_requests_total{method, status}` (counter): REST requests answered.
 */

/** Stats that are levels, not counts of events. */
const GAUGE_STATS: ReadonlySet<string> = new Set([
  'registrations',
  'queued_requests',
  'observations',
  'active_observations',
  'sessions',
  'dtls_sessions',
  'sleeping_clients',
  'awake_clients',
]);

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

/** Metrics from `server.stats()`; names that would clash with `reserved` are skipped. */
export function statsMetrics(stats: object, reserved: ReadonlySet<string>): Metric[] {
  const out: Metric[] = [];
  const seen = new Set(reserved);
  const entries = Object.entries(stats).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [key, value] of entries) {
    if (typeof value !== 'number') continue;
    const base = metricName(key);
    const gauge = GAUGE_STATS.has(base);
    const name = gauge
      ? `lwm2m_${base}`
      : `lwm2m_${base.endsWith('_total') ? base : `${base}_total`}`;
    if (seen.has(name)) continue;
    seen.add(name);
    out.push({
      name,
      help: `LwM2M server ${gauge ? 'level' : 'count'} "${key}".`,
      type: gauge ? 'gauge' : 'counter',
      samples: [{ value }],
    });
  }
  return out;
}

/** Counts answered HTTP requests by method and status. */
export class HttpRequestCounter {
  readonly #counts = new Map<string, number>();

  record(method: string, status: number): void {
    const key = `${method}\u0000${status}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  metric(): Metric {
    const samples = [...this.#counts.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => {
        const [method = '', status = ''] = key.split('\u0000');
        return { labels: { method, status }, value };
      });
    return {
      name: 'lwm2m_http_requests_total',
      help: 'REST API requests answered, by method and status.',
      type: 'counter',
      samples,
    };
  }
}
