import { describe, expect, it } from 'vitest';
import {
  applyEvent,
  countStates,
  fromList,
  matches,
  queueStateOf,
  serverSort,
  visibleRows,
} from './devices';
import type { Registration } from './model';

function reg(endpoint: string, extra: Partial<Registration> = {}): Registration {
  return {
    endpoint,
    registrationId: `id-${endpoint}`,
    lwm2mVersion: '1.1',
    lifetime: 300,
    binding: 'U',
    queueMode: false,
    rootPath: '/',
    objectLinks: [],
    address: '127.0.0.1',
    port: 5683,
    transport: 'udp',
    secure: false,
    registeredAt: '2024-05-01T12:00:00.000Z',
    lastUpdate: '2024-05-01T12:00:00.000Z',
    expiresAt: '2024-05-01T12:05:00.000Z',
    ...extra,
  };
}

describe('applyEvent', () => {
  it('adds, updates, sleeps, wakes and removes devices', () => {
    let d = fromList([reg('a')]);
    d = applyEvent(
      d,
      'registration',
      { endpoint: 'b', registration: reg('b', { queueMode: true }) },
      5,
    );
    expect([...d.keys()]).toEqual(['a', 'b']);
    expect(d.get('b')?.lastSeen).toBe(5);
    d = applyEvent(d, 'sleeping', { endpoint: 'b' }, 6);
    expect(queueStateOf(d.get('b')!.reg)).toBe('sleeping');
    expect(d.get('b')?.lastSeen).toBe(5);
    d = applyEvent(d, 'awake', { endpoint: 'b' }, 7);
    expect(queueStateOf(d.get('b')!.reg)).toBe('awake');
    expect(d.get('b')?.lastSeen).toBe(7);
    d = applyEvent(d, 'update', { endpoint: 'a', registration: reg('a', { lifetime: 60 }) }, 8);
    expect(d.get('a')?.reg.lifetime).toBe(60);
    d = applyEvent(d, 'notification', { endpoint: 'a' }, 9);
    expect(d.get('a')?.lastSeen).toBe(9);
    // A de-registration of an older registration of "a" leaves the new one.
    const same = applyEvent(
      d,
      'deregistration',
      { endpoint: 'a', registration: { registrationId: 'old' } },
      10,
    );
    expect(same.has('a')).toBe(true);
    d = applyEvent(d, 'deregistration', { endpoint: 'a', registration: reg('a') }, 10);
    expect([...d.keys()]).toEqual(['b']);
    expect(applyEvent(d, 'coap-error', { address: 'x' }, 11)).toBe(d);
    expect(applyEvent(d, 'update', { endpoint: 'zz' }, 11)).toBe(d);
  });
});

describe('visibleRows', () => {
  const d = fromList([
    reg('dev-10', { lifetime: 30, lwm2mVersion: '1.0' }),
    reg('dev-2', { lifetime: 600, queueMode: true, queue: { awake: false, queued: 2 } }),
    reg('other', { lifetime: 60, address: '10.0.0.5' }),
  ]);

  it('sorts naturally, by any column, both ways', () => {
    const names = (sort: Parameters<typeof visibleRows>[1]) =>
      visibleRows(d, sort).map((r) => r.reg.endpoint);
    expect(names({ search: '', sort: 'endpoint', descending: false })).toEqual([
      'dev-2',
      'dev-10',
      'other',
    ]);
    expect(names({ search: '', sort: 'lifetime', descending: true })).toEqual([
      'dev-2',
      'other',
      'dev-10',
    ]);
    expect(names({ search: '', sort: 'state', descending: false })).toEqual([
      'dev-10',
      'other',
      'dev-2',
    ]);
  });

  it('searches endpoint, address, version and state, every word', () => {
    expect(matches(d.get('other')!, '10.0.0')).toBe(true);
    expect(matches(d.get('dev-2')!, 'sleeping dev')).toBe(true);
    expect(matches(d.get('dev-2')!, 'sleeping other')).toBe(false);
    expect(visibleRows(d, { search: 'DEV', sort: 'endpoint', descending: false })).toHaveLength(2);
    expect(
      visibleRows(d, { search: 'lwm2m 1.0', sort: 'endpoint', descending: false }),
    ).toHaveLength(1);
  });

  it('counts states', () => {
    expect(countStates(d)).toEqual({ total: 3, online: 2, awake: 0, sleeping: 1 });
  });
});

describe('big fleets', () => {
  it('keeps what was seen live when a page is loaded again', () => {
    const first = fromList([reg('a'), reg('b')]);
    const seen = applyEvent(first, 'notification', { endpoint: 'a' }, Date.parse('2030-01-01'));
    const again = fromList([reg('a'), reg('c')], seen);
    expect([...again.keys()]).toEqual(['a', 'c']);
    expect(again.get('a')?.lastSeen).toBe(Date.parse('2030-01-01'));
    expect(again.get('c')?.lastSeen).toBe(Date.parse('2024-05-01T12:00:00.000Z'));
  });

  it("sorts by the server's fields", () => {
    expect(serverSort('lastSeen')).toBe('lastUpdate');
    expect(serverSort('endpoint')).toBe('endpoint');
    expect(serverSort('state')).toBe('state');
  });
});
