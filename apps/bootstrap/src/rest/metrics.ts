/**
 * Prometheus text exposition format 0.0.4 for `GET /metrics`, by hand (it is a few lines):
 * every `stats()` counter as `lwm2m_bootstrap_<snake_case>_total`, `sessions` as the gauge
 * `lwm2m_bootstrap_sessions`, plus `lwm2m_bootstrap_configs`, `lwm2m_bootstrap_sse_clients` and
 * `lwm2m_bootstrap_http_requests_total{method,status}`.
 */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly samples: readonly { readonly labels?: Record<string, string>; readonly value: number }[];
}

const GAUGES = new Set(['sessions']);

function snake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export function formatMetrics(metrics: readonly Metric[]): string {
  const lines: string[] = [];
  for (const m of metrics) {
    lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
    for (const s of m.samples) {
      const labels = Object.entries(s.labels ?? {});
      const text =
        labels.length === 0 ? '' : `{${labels.map(([k, v]) => `${k}="${label(v)}"`).join(',')}}`;
      lines.push(`${m.name}${text} ${String(s.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** One metric per numeric entry of `stats`. */
export function statsMetrics(stats: object): Metric[] {
  return Object.entries(stats)
    .filter((e): e is [string, number] => typeof e[1] === 'number')
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, value]) => {
      const gauge = GAUGES.has(key);
      return {
        name: `lwm2m_bootstrap_${snake(key)}${gauge ? '' : '_total'}`,
        help: `Bootstrap server ${gauge ? 'level' : 'count'} "${key}".`,
        type: gauge ? 'gauge' : 'counter',
        samples: [{ value }],
      };
    });
}

/** Counts answered HTTP requests by method and status. */
export class HttpRequestCounter {
  readonly #counts = new Map<string, number>();

  record(method: string, status: number): void {
    const key = `${method} ${status}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  metric(): Metric {
    return {
      name: 'lwm2m_bootstrap_http_requests_total',
      help: 'REST API requests answered, by method and status.',
      type: 'counter',
      samples: [...this.#counts.entries()].sort().map(([key, value]) => {
        const [method = '', status = ''] = key.split(' ');
        return { labels: { method, status }, value };
      }),
    };
  }
}
