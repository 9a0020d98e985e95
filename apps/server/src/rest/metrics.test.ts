import { InvalidPathError, TimeoutError } from '@lwm2m-ts/core';
import { describe, expect, it } from 'vitest';
import { QueueFullError, UnknownClientError } from '../errors.js';
import { ClientAnswerError, errorToJson, RestError } from './http-errors.js';
import { formatMetrics, HttpRequestCounter, metricName, statsMetrics } from './metrics.js';

describe('metrics text', () => {
  it('names stats in snake case, counters with _total, levels as gauges', () => {
    expect(metricName('requestsSent')).toBe('requests_sent');
    expect(metricName('coap-errors')).toBe('coap_errors');
    expect(metricName('1x')).toBe('_1x');
    const metrics = statsMetrics(
      { requestsSent: 3, queuedRequests: 2, registrations: 5, note: 'x', failed_total: 1 },
      new Set(['lwm2m_registrations']),
    );
    expect(metrics.map((m) => [m.name, m.type, m.samples[0]!.value])).toEqual([
      ['lwm2m_failed_total', 'counter', 1],
      ['lwm2m_queued_requests', 'gauge', 2],
      // `registrations` clashes with the reserved gauge and is left out; `note` is no number.
      ['lwm2m_requests_sent_total', 'counter', 3],
    ]);
  });

  it('formats HELP, TYPE and samples with escaped labels', () => {
    const counter = new HttpRequestCounter();
    counter.record('GET', 200);
    counter.record('GET', 200);
    counter.record('POST', 404);
    const text = formatMetrics([
      { name: 'a', help: 'line\nbreak \\ here', type: 'gauge', samples: [{ value: Number.NaN }] },
      { name: 'b', help: 'b', type: 'gauge', samples: [{ labels: { x: 'q"\\\n' }, value: -1 }] },
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
        '# HELP lwm2m_http_requests_total REST API requests answered, by method and status.',
        '# TYPE lwm2m_http_requests_total counter',
        'lwm2m_http_requests_total{method="GET",status="200"} 2',
        'lwm2m_http_requests_total{method="POST",status="404"} 1',
        '',
      ].join('\n'),
    );
  });
});

describe('errorToJson', () => {
  it('maps each kind of failure to its status and JSON', () => {
    expect(errorToJson(new UnknownClientError('no dev'))).toEqual({
      status: 404,
      body: { error: 'UnknownClientError', message: 'no dev', coapCode: '4.04' },
      internal: false,
    });
    expect(errorToJson(new TimeoutError('slow')).status).toBe(504);
    expect(errorToJson(new QueueFullError('full')).status).toBe(409);
    expect(errorToJson(new InvalidPathError('bad')).body.error).toBe('InvalidPathError');
    expect(errorToJson(new ClientAnswerError('4.05', 'read-only', 'Write /3/0/0'))).toEqual({
      status: 405,
      body: {
        error: 'METHOD_NOT_ALLOWED',
        message: 'Write /3/0/0: the client answered 4.05 METHOD_NOT_ALLOWED: read-only',
        coapCode: '4.05',
      },
      internal: false,
    });
    expect(errorToJson(new RestError(405, 'MethodNotAllowed', 'no')).status).toBe(405);
    expect(errorToJson({ statusCode: 415, message: 'bad type' })).toEqual({
      status: 415,
      body: { error: 'UnsupportedMediaType', message: 'bad type' },
      internal: false,
    });
    const internal = errorToJson(new Error('secret detail'));
    expect(internal.status).toBe(500);
    expect(internal.internal).toBe(true);
    expect(internal.body.message).not.toContain('secret');
  });
});
