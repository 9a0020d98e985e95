/**
 * The server's metrics (`GET /metrics`, Prometheus text from app-kit):
 *
 * - every numeric `server.stats()` entry becomes a metric, its name in snake case
 *   (`requestsSent` → `lwm2m_requests_sent_total`): a counter, except the names in `GAUGE_STATS`
 *   (levels that go down: `queuedRequests` → `lwm2m_queued_requests`), which are gauges; a
 *   stat whose name clashes with one below is left out (`registrations` is the store's count);
 * - `lwm2m_registrations` (gauge): registrations held now;
 * - `lwm2m_sse_clients` (gauge): open `/api/events` streams;
 * - `lwm2m_http_requests_total{method, status}` (counter): REST requests answered.
 */
import {
  HttpRequestCounter as Counter,
  type Metric,
  statsMetrics as toMetrics,
} from '@lwm2m-ts/app-kit';

export {
  formatMetrics,
  METRICS_CONTENT_TYPE,
  type Metric,
  metricName,
} from '@lwm2m-ts/app-kit';

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

/** Metrics from `server.stats()`; names that would clash with `reserved` are skipped. */
export function statsMetrics(stats: object, reserved: ReadonlySet<string>): Metric[] {
  return toMetrics(stats, {
    prefix: 'lwm2m_',
    subject: 'LwM2M server',
    gauges: GAUGE_STATS,
    reserved,
  });
}

/** Counts answered HTTP requests by method and status (`lwm2m_http_requests_total`). */
export class HttpRequestCounter extends Counter {
  constructor() {
    super('lwm2m_http_requests_total');
  }
}
