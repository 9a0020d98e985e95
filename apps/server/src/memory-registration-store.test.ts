import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryRegistrationStore } from './memory-registration-store.js';
import type { Registration } from './registration.js';

function reg(id: string, endpoint: string, expiresAt: number, extra: Partial<Registration> = {}) {
  const r: Registration = {
    id,
    endpoint,
    lwm2mVersion: '1.1',
    lifetime: 60,
    binding: 'U',
    queueMode: false,
    rootPath: '/',
    objectLinks: [{ objectId: 3, instanceId: 0 }],
    address: '127.0.0.1',
    port: 5683,
    transport: 'udp',
    registeredAt: 0,
    lastUpdate: 0,
    expiresAt,
    ...extra,
  };
  return r;
}

const ids = (regs: readonly Registration[]) => regs.map((r) => r.id).sort();

function heapSize(store: InMemoryRegistrationStore): number {
  return (store as unknown as { heap: { size: number } }).heap.size;
}

describe('InMemoryRegistrationStore', () => {
  it('finds a registration by id and by endpoint, and lists it', async () => {
    const store = new InMemoryRegistrationStore();
    const a = reg('a', 'ep-a', 1000);
    expect(await store.add(a)).toBeUndefined();
    expect(await store.getById('a')).toBe(a);
    expect(await store.getByEndpoint('ep-a')).toBe(a);
    expect(await store.getById('b')).toBeUndefined();
    expect(await store.getByEndpoint('ep-b')).toBeUndefined();
    expect(await store.list()).toEqual([a]);
    expect(store.size).toBe(1);
  });

  it('replaces the registration of the same endpoint and returns the old one', async () => {
    const store = new InMemoryRegistrationStore();
    const first = reg('a', 'ep', 1000);
    const second = reg('b', 'ep', 2000);
    await store.add(first);
    expect(await store.add(second)).toBe(first);
    expect(await store.getById('a')).toBeUndefined();
    expect(await store.getById('b')).toBe(second);
    expect(await store.getByEndpoint('ep')).toBe(second);
    expect(await store.list()).toEqual([second]);
    // The replaced registration never expires from the store.
    expect(await store.nextExpiry()).toBe(2000);
    expect(ids(await store.removeExpired(1500))).toEqual([]);
    expect(ids(await store.removeExpired(2000))).toEqual(['b']);
  });

  it('re-adding the same id for the same endpoint replaces it', async () => {
    const store = new InMemoryRegistrationStore();
    const first = reg('a', 'ep', 1000);
    const again = reg('a', 'ep', 3000);
    await store.add(first);
    expect(await store.add(again)).toBe(first);
    expect(await store.getById('a')).toBe(again);
    expect(await store.removeExpired(2000)).toEqual([]);
    expect(await store.removeExpired(3000)).toEqual([again]);
  });

  it('refuses an id that another endpoint holds', async () => {
    const store = new InMemoryRegistrationStore();
    await store.add(reg('a', 'ep-1', 1000));
    await expect(store.add(reg('a', 'ep-2', 1000))).rejects.toThrow(TypeError);
    expect((await store.getById('a'))?.endpoint).toBe('ep-1');
    expect(await store.getByEndpoint('ep-2')).toBeUndefined();
  });

  it('refuses a non-finite expiresAt', async () => {
    const store = new InMemoryRegistrationStore();
    await expect(store.add(reg('a', 'ep', Number.NaN))).rejects.toThrow(TypeError);
    expect(store.size).toBe(0);
  });

  it('updates atomically and returns before and after', async () => {
    const store = new InMemoryRegistrationStore();
    const a = reg('a', 'ep', 1000);
    await store.add(a);
    const result = await store.update('a', (cur) => ({ ...cur, lifetime: 120, expiresAt: 5000 }));
    expect(result?.before).toBe(a);
    expect(result?.after.lifetime).toBe(120);
    expect(await store.getById('a')).toBe(result?.after);
    expect(await store.getByEndpoint('ep')).toBe(result?.after);
    expect(await store.update('missing', (cur) => cur)).toBeUndefined();
  });

  it('sees every earlier change when updates race', async () => {
    const store = new InMemoryRegistrationStore();
    await store.add(reg('a', 'ep', 1000, { lifetime: 0 }));
    await Promise.all(
      Array.from({ length: 50 }, () =>
        store.update('a', (cur) => ({ ...cur, lifetime: cur.lifetime + 1 })),
      ),
    );
    expect((await store.getById('a'))?.lifetime).toBe(50);
  });

  it('rejects an update that changes id or endpoint and keeps the registration', async () => {
    const store = new InMemoryRegistrationStore();
    const a = reg('a', 'ep', 1000);
    await store.add(a);
    await expect(store.update('a', (cur) => ({ ...cur, id: 'b' }))).rejects.toThrow(TypeError);
    await expect(store.update('a', (cur) => ({ ...cur, endpoint: 'other' }))).rejects.toThrow(
      TypeError,
    );
    await expect(
      store.update('a', () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await store.getById('a')).toBe(a);
    expect(await store.getByEndpoint('ep')).toBe(a);
    expect(await store.getById('b')).toBeUndefined();
    expect(await store.getByEndpoint('other')).toBeUndefined();
  });

  it('removes once', async () => {
    const store = new InMemoryRegistrationStore();
    const a = reg('a', 'ep', 1000);
    await store.add(a);
    const [r1, r2] = await Promise.all([store.remove('a'), store.remove('a')]);
    expect([r1, r2].filter((r) => r !== undefined)).toEqual([a]);
    expect(await store.getByEndpoint('ep')).toBeUndefined();
    expect(await store.nextExpiry()).toBeUndefined();
    expect(await store.removeExpired(5000)).toEqual([]);
  });

  it('expires registrations whose expiresAt <= now, each once', async () => {
    const store = new InMemoryRegistrationStore();
    await store.add(reg('a', 'ep-a', 3000));
    await store.add(reg('b', 'ep-b', 1000));
    await store.add(reg('c', 'ep-c', 2000));
    await store.add(reg('d', 'ep-d', 2000));
    expect(await store.nextExpiry()).toBe(1000);
    expect(ids(await store.removeExpired(999))).toEqual([]);
    expect(ids(await store.removeExpired(1000))).toEqual(['b']);
    expect(ids(await store.removeExpired(1000))).toEqual([]);
    expect(await store.nextExpiry()).toBe(2000);
    expect(ids(await store.removeExpired(2500))).toEqual(['c', 'd']);
    expect(await store.getByEndpoint('ep-c')).toBeUndefined();
    expect(ids(await store.list())).toEqual(['a']);
    expect(ids(await store.removeExpired(10_000))).toEqual(['a']);
    expect(await store.nextExpiry()).toBeUndefined();
  });

  it('does not expire a registration whose Update moved expiresAt forward', async () => {
    const store = new InMemoryRegistrationStore();
    await store.add(reg('a', 'ep', 1000));
    await store.update('a', (cur) => ({ ...cur, expiresAt: 5000 }));
    expect(await store.nextExpiry()).toBe(5000);
    expect(await store.removeExpired(4999)).toEqual([]);
    expect(await store.getById('a')).toBeDefined();
    expect(ids(await store.removeExpired(5000))).toEqual(['a']);
  });

  it('expires early when an Update moved expiresAt back', async () => {
    const store = new InMemoryRegistrationStore();
    await store.add(reg('a', 'ep', 5000));
    await store.update('a', (cur) => ({ ...cur, expiresAt: 1000 }));
    expect(await store.nextExpiry()).toBe(1000);
    expect(ids(await store.removeExpired(1000))).toEqual(['a']);
    expect(await store.removeExpired(6000)).toEqual([]);
  });

  it('expires a registration removed and added again under the same id once', async () => {
    const store = new InMemoryRegistrationStore();
    await store.add(reg('a', 'ep', 1000));
    await store.remove('a');
    await store.add(reg('a', 'ep', 1000));
    expect(ids(await store.removeExpired(1000))).toEqual(['a']);
    expect(await store.list()).toEqual([]);
  });

  it('keeps the heap small under many updates of the same registrations', async () => {
    const store = new InMemoryRegistrationStore();
    for (let i = 0; i < 10; i++) await store.add(reg(`r${i}`, `ep${i}`, 1000));
    for (let n = 1; n <= 5000; n++) {
      await store.update(`r${n % 10}`, (cur) => ({ ...cur, expiresAt: 1000 + n }));
    }
    expect(heapSize(store)).toBeLessThanOrEqual(2 * 10 + 1024 + 1);
    expect(await store.nextExpiry()).toBe(1000 + 4991);
    expect(ids(await store.removeExpired(1000 + 4995))).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(ids(await store.removeExpired(1_000_000))).toEqual(['r0', 'r6', 'r7', 'r8', 'r9']);
  });

  it('handles 100,000 registrations quickly', async () => {
    const store = new InMemoryRegistrationStore();
    const n = 100_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++)
      await store.add(reg(`id${i}`, `ep${i}`, 1_000_000 + ((i * 7919) % n)));
    // Every client updates once, moving its expiry forward by n.
    for (let i = 0; i < n; i++) {
      await store.update(`id${i}`, (cur) => ({ ...cur, expiresAt: cur.expiresAt + n }));
    }
    expect(await store.removeExpired(1_000_000 + n - 1)).toEqual([]);
    expect(await store.nextExpiry()).toBe(1_000_000 + n);
    let removed = 0;
    // Expire in 100 slices, asking for the next expiry each time, as the server's timer does.
    for (let t = 1_000_000 + n; t < 1_000_000 + 2 * n; t += n / 100) {
      await store.nextExpiry();
      removed += (await store.removeExpired(t + n / 100 - 1)).length;
    }
    expect(removed).toBe(n);
    expect(store.size).toBe(0);
    // About a second here; a full scan per call would take minutes.
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it('matches a simple model under random operations', async () => {
    type Op =
      | { kind: 'add'; id: number; ep: number; at: number }
      | { kind: 'update'; id: number; at: number }
      | { kind: 'remove'; id: number }
      | { kind: 'expire'; now: number };
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('add' as const),
        id: fc.nat(20),
        ep: fc.nat(8),
        at: fc.nat(100),
      }),
      fc.record({ kind: fc.constant('update' as const), id: fc.nat(20), at: fc.nat(100) }),
      fc.record({ kind: fc.constant('remove' as const), id: fc.nat(20) }),
      fc.record({ kind: fc.constant('expire' as const), now: fc.nat(100) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 80 }), async (ops: Op[]) => {
        const store = new InMemoryRegistrationStore();
        const model = new Map<string, Registration>();
        for (const o of ops) {
          if (o.kind === 'add') {
            const r = reg(`i${o.id}`, `e${o.ep}`, o.at);
            const holder = model.get(r.id);
            if (holder !== undefined && holder.endpoint !== r.endpoint) {
              await expect(store.add(r)).rejects.toThrow(TypeError);
              continue;
            }
            const prev = [...model.values()].find((m) => m.endpoint === r.endpoint);
            if (prev !== undefined) model.delete(prev.id);
            model.set(r.id, r);
            expect(await store.add(r)).toBe(prev);
          } else if (o.kind === 'update') {
            const id = `i${o.id}`;
            const res = await store.update(id, (cur) => ({ ...cur, expiresAt: o.at }));
            const cur = model.get(id);
            expect(res?.before).toBe(cur);
            if (res !== undefined) model.set(id, res.after);
          } else if (o.kind === 'remove') {
            const id = `i${o.id}`;
            expect(await store.remove(id)).toBe(model.get(id));
            model.delete(id);
          } else {
            const want = [...model.values()].filter((m) => m.expiresAt <= o.now);
            for (const m of want) model.delete(m.id);
            expect(ids(await store.removeExpired(o.now))).toEqual(ids(want));
          }
          const times = [...model.values()].map((m) => m.expiresAt);
          expect(await store.nextExpiry()).toBe(times.length ? Math.min(...times) : undefined);
          expect(ids(await store.list())).toEqual(ids([...model.values()]));
          for (const m of model.values()) expect(await store.getByEndpoint(m.endpoint)).toBe(m);
        }
      }),
      { numRuns: 300 },
    );
  });
});
