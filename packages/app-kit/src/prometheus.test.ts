import { describe, expect, it } from 'vitest';
import { formatMetrics, HttpRequestCounter, metricName, statsMetrics } from './prometheus.js';

describe('metricName', () => {
  it('snake case, only [a-z0-9_], no leading digit', () => {
    expect(metricName('requestsSent')).toBe('requests_sent');
    expect(metricName('coap-errors')).toBe('coap_errors');
    expect(metricName('dtlsSessions2')).toBe('dtls_sessions2');
    expect(metricName('1x')).toBe('_1x');
  });
});

describe('statsMetrics', () => {
  it('counters with _total, the named levels as gauges, reserved names left out, sorted', () => {
    const metrics = statsMetrics(
      { requestsSent: 3, queuedRequests: 2, registrations: 5, note: 'x', failed_total: 1 },
      {
        prefix: 'lwm2m_',
        subject: 'LwM2M server',
        gauges: new Set(['queued_requests', 'registrations']),
        reserved: new Set(['lwm2m_registrations']),
      },
    );
    expect(metrics.map((m) => [m.name, m.type, m.samples[0]!.value])).toEqual([
      ['lwm2m_failed_total', 'counter', 1],
      ['lwm2m_queued_requests', 'gauge', 2],
      // `registrations` clashes with the reserved gauge and is left out; `note` is no number.
      ['lwm2m_requests_sent_total', 'counter', 3],
    ]);
    expect(metrics[1]!.help).toBe('LwM2M server level "queuedRequests".');
    expect(metrics[2]!.help).toBe('LwM2M server count "requestsSent".');
  });

  it('takes any prefix and subject', () => {
    const metrics = statsMetrics(
      { sessions: 1, bootstrapRequests: 4 },
      { prefix: 'lwm2m_bootstrap_', subject: 'Bootstrap server', gauges: new Set(['sessions']) },
    );
    expect(metrics).toEqual([
      {
        name: 'lwm2m_bootstrap_bootstrap_requests_total',
        help: 'Bootstrap server count "bootstrapRequests".',
        type: 'counter',
        samples: [{ value: 4 }],
      },
      {
        name: 'lwm2m_bootstrap_sessions',
        help: 'Bootstrap server level "sessions".',
        type: 'gauge',
        samples: [{ value: 1 }],
      },
    ]);
  });
});

describe('formatMetrics', () => {
  it('formats HELP, TYPE and samples with escaped help and labels, special numbers', () => {
    const counter = new HttpRequestCounter('http_requests_total');
    counter.record('POST', 404);
    counter.record('GET', 200);
    counter.record('GET', 200);
    const text = formatMetrics([
      { name: 'a', help: 'line\nbreak \\ here', type: 'gauge', samples: [{ value: Number.NaN }] },
      { name: 'b', help: 'b', type: 'gauge', samples: [{ labels: { x: 'q"\\\n' }, value: -1 }] },
      {
        name: 'c',
        help: 'c',
        type: 'gauge',
        samples: [{ value: Number.POSITIVE_INFINITY }, { value: Number.NEGATIVE_INFINITY }],
      },
      counter.metric(),
    ]);
    expect(text).toBe(
      [
        '# HELP a line\\nbreak \\\\ here',
        '# TYPE a gauge',
        'a NaN',
        '# HELP b b',
        '# TYPE b gauge',
        'b{x="q\\"\\\\\\n"} -1',
        '# HELP c c',
        '# TYPE c gauge',
        'c +Inf',
        'c -Inf',
        '# HELP http_requests_total REST API requests answered, by method and status.',
        '# TYPE http_requests_total counter',
        'http_requests_total{method="GET",status="200"} 2',
        'http_requests_total{method="POST",status="404"} 1',
        '',
      ].join('\n'),
    );
  });

  it('an empty counter is a metric without samples', () => {
    expect(formatMetrics([new HttpRequestCounter('n').metric()])).toBe(
      '# HELP n REST API requests answered, by method and status.\n# TYPE n counter\n',
    );
  });
});
