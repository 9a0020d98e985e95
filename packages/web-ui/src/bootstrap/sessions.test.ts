import { describe, expect, it } from 'vitest';
import {
  applyBsEvent,
  failureWords,
  type LogEntry,
  lastSessions,
  MAX_ENTRIES,
  refusalWords,
  type SessionEntry,
} from './sessions';
import { matches, summaries } from './summary';

const INFO = {
  sessionId: 's1',
  endpoint: 'dev-1',
  mode: 'request',
  transport: 'dtls',
  address: '127.0.0.1',
  port: 40000,
  identity: 'dev-1-bs',
};

describe('the session log', () => {
  it('follows a session from start to finish', () => {
    let log: readonly LogEntry[] = [];
    log = applyBsEvent(log, 'bootstrap-started', { ...INFO, defaultConfig: false }, 1000);
    log = applyBsEvent(
      log,
      'step-done',
      {
        ...INFO,
        step: { index: 0, operation: 'delete', path: '/' },
        code: '2.02',
        ok: true,
        durationMs: 3,
      },
      1010,
    );
    log = applyBsEvent(
      log,
      'dm-server-handoff',
      { endpoint: 'dev-1', sessionId: 's1', shortServerId: 101, ok: true },
      1015,
    );
    log = applyBsEvent(log, 'bootstrap-finished', { ...INFO, steps: 4, durationMs: 40 }, 1040);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      kind: 'session',
      endpoint: 'dev-1',
      transport: 'dtls',
      identity: 'dev-1-bs',
      state: 'finished',
      startedAt: 1000,
      durationMs: 40,
      steps: [{ operation: 'delete', path: '/', code: '2.02', ok: true }],
      handoffs: ['101: the PSK was handed to the DM server'],
    });
    // A second start of the same session changes nothing; events that are not objects neither.
    expect(applyBsEvent(log, 'bootstrap-started', INFO, 2000)).toBe(log);
    expect(applyBsEvent(log, 'step-done', 'junk', 2000)).toBe(log);
  });

  it('keeps the failure, its step and reason; starts sessions it missed the start of', () => {
    const log = applyBsEvent(
      [],
      'bootstrap-failed',
      {
        ...INFO,
        step: { index: 3, operation: 'write', path: '/0/1' },
        code: '4.00',
        reason: 'the client answered 4.00 Bad Request to Bootstrap-Write /0/1',
        restarted: false,
        durationMs: 500,
      },
      10_000,
    );
    const s = log[0] as SessionEntry;
    expect(s).toMatchObject({ state: 'failed', failedAt: 'write /0/1', startedAt: 9500 });
    expect(failureWords(s)).toBe('the client answered 4.00 Bad Request to Bootstrap-Write /0/1');
    expect(failureWords({ ...s, restarted: true })).toMatch(/new bootstrap/);
    expect(failureWords({ ...s, reason: 'no answer within 5000 ms' })).toMatch(
      /^the device did not answer in time/,
    );
  });

  it('lists refused requests, newest first, and keeps a bounded log', () => {
    let log: readonly LogEntry[] = [];
    log = applyBsEvent(log, 'bootstrap-started', INFO, 1);
    log = applyBsEvent(
      log,
      'coap-error',
      { endpoint: 'nobody', address: '127.0.0.1', port: 1, code: '4.00', message: 'no config' },
      2,
    );
    expect(log.map((e) => e.kind)).toEqual(['refused', 'session']);
    expect(refusalWords(log[0] as never)).toMatch(/no configuration/);
    expect(lastSessions(log).get('dev-1')?.id).toBe('s1');
    for (let i = 0; i < MAX_ENTRIES + 5; i++) {
      log = applyBsEvent(log, 'bootstrap-started', { ...INFO, sessionId: `x${i}` }, i);
    }
    expect(log).toHaveLength(MAX_ENTRIES);
    expect(log[0]).toMatchObject({ id: `x${MAX_ENTRIES + 4}` });
  });
});

describe('the configuration list', () => {
  it('counts servers and security entries, names the modes, searches every word', () => {
    const list = summaries({
      'dev-10': { servers: [] },
      'dev-2': {
        servers: [
          { shortServerId: 101, uri: 'coap://a', securityMode: 'nosec', lifetime: 60 },
          { shortServerId: 102, uri: 'coaps://b', securityMode: 'psk', lifetime: 60 },
        ],
        bootstrapServer: { uri: 'coaps://bs', securityMode: 'psk' },
        bootstrapCredentials: { identity: 'id-2', key: '00' },
        acls: [{ objectId: 3, instanceId: 0, acl: {}, owner: 101 }],
      },
    });
    expect(list.map((s) => s.endpoint)).toEqual(['dev-2', 'dev-10']);
    expect(list[0]).toMatchObject({
      servers: 2,
      securityEntries: 3,
      modes: ['nosec', 'psk'],
      identity: 'id-2',
      extras: ['bootstrap account', '1 ACL'],
    });
    expect(matches(list[0]!, 'psk coaps://b')).toBe(true);
    expect(matches(list[0]!, 'id-2 dev-10')).toBe(false);
    expect(matches(list[1]!, '')).toBe(true);
  });
});
