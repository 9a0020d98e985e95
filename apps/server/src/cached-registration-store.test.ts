import {
  describeRegistrationStoreContract,
  contractRegistration as reg,
} from '@lwm2m-ts/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { CachedRegistrationStore } from './cached-registration-store.js';
import { InMemoryRegistrationStore } from './memory-registration-store.js';
import type { Registration } from './registration.js';

/** The shared store, counting the lookups that reach it. */
class CountingStore extends InMemoryRegistrationStore {
  lookups = 0;
  /** When set, lookups wait for it (a slow network). */
  gate: Promise<void> | undefined;

  override async getByEndpoint(endpoint: string): Promise<Registration | undefined> {
    this.lookups++;
    const found = await super.getByEndpoint(endpoint);
    await this.gate;
    return found;
  }

  override async getById(id: string): Promise<Registration | undefined> {
    this.lookups++;
    const found = await super.getById(id);
    await this.gate;
    return found;
  }
}

const FAR = 10_000_000_000_000; // expiresAt far in the future

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

describeRegistrationStoreContract('CachedRegistrationStore over InMemoryRegistrationStore', {
  create: () => new CachedRegistrationStore(new InMemoryRegistrationStore()),
  count: async (store) => (await store.list()).length,
  keepsObjects: true,
  footprint: {
    updates: 5000,
    afterUpdates: (store) => expect(store.size).toBeLessThanOrEqual(10),
    afterExpiry: (store) => expect(store.size).toBe(0),
  },
});

describe('CachedRegistrationStore', () => {
  it('answers repeated lookups from its copy until the time is up', async () => {
    const inner = new CountingStore();
    const c = clock();
    const store = new CachedRegistrationStore(inner, { ttlMs: 1000, now: c.now });
    await store.add(reg('a', 'ep-a', FAR));
    for (let i = 0; i < 5; i++) expect((await store.getByEndpoint('ep-a'))?.id).toBe('a');
    expect((await store.getById('a'))?.endpoint).toBe('ep-a');
    expect(inner.lookups).toBe(0); // add() kept it
    c.t += 1000;
    expect((await store.getByEndpoint('ep-a'))?.id).toBe('a');
    expect(inner.lookups).toBe(1);
    expect((await store.getByEndpoint('ep-a'))?.id).toBe('a');
    expect(inner.lookups).toBe(1);
  });

  it('does not remember that an endpoint is absent, nor hand out a registration past its lifetime', async () => {
    const inner = new CountingStore();
    const c = clock();
    const store = new CachedRegistrationStore(inner, { now: c.now });
    expect(await store.getByEndpoint('ep-b')).toBeUndefined();
    // Another process registers it meanwhile: found at once.
    await inner.add(reg('b', 'ep-b', c.t + 500));
    expect((await store.getByEndpoint('ep-b'))?.id).toBe('b');
    c.t += 500; // its lifetime is over: the store decides, not the copy
    const before = inner.lookups;
    await store.getByEndpoint('ep-b');
    expect(inner.lookups).toBe(before + 1);
  });

  it('sees a change made through another process once evicted, and at the latest after the time', async () => {
    const inner = new InMemoryRegistrationStore();
    const c = clock();
    const here = new CachedRegistrationStore(inner, { ttlMs: 1000, now: c.now });
    const there = new CachedRegistrationStore(inner, { ttlMs: 1000, now: c.now });
    await here.add(reg('a', 'ep-a', FAR, { port: 1000 }));
    await there.update('a', (cur) => ({ ...cur, port: 2000 }));
    expect((await here.getByEndpoint('ep-a'))?.port).toBe(1000); // no event yet
    here.evict('ep-a'); // the `updated` event arrives
    expect((await here.getByEndpoint('ep-a'))?.port).toBe(2000);

    await there.update('a', (cur) => ({ ...cur, port: 3000 })); // its event is lost
    expect((await here.getById('a'))?.port).toBe(2000);
    c.t += 1000;
    expect((await here.getById('a'))?.port).toBe(3000);

    // Removed elsewhere, then re-registered under a new id: the old id is not answered.
    await there.remove('a');
    await there.add(reg('a2', 'ep-a', FAR));
    here.evict('ep-a');
    expect(await here.getById('a')).toBeUndefined();
    expect((await here.getByEndpoint('ep-a'))?.id).toBe('a2');
  });

  it('writes go to the shared store first; an update of a registration removed elsewhere fails', async () => {
    const inner = new InMemoryRegistrationStore();
    const here = new CachedRegistrationStore(inner);
    const there = new CachedRegistrationStore(inner);
    await here.add(reg('a', 'ep-a', FAR));
    await there.remove('a');
    expect(await here.update('a', (cur) => ({ ...cur, port: 9 }))).toBeUndefined();
    expect(await here.getByEndpoint('ep-a')).toBeUndefined();
    expect(here.size).toBe(0);
  });

  it('does not keep a lookup that was under way while something was evicted', async () => {
    const inner = new CountingStore();
    const store = new CachedRegistrationStore(inner);
    await inner.add(reg('a', 'ep-a', FAR, { port: 1 }));
    let open!: () => void;
    inner.gate = new Promise((resolve) => {
      open = resolve;
    });
    const pending = store.getByEndpoint('ep-a');
    await inner.update('a', (cur) => ({ ...cur, port: 2 })); // elsewhere, during the lookup
    store.evict('ep-a'); // its event
    open();
    inner.gate = undefined;
    expect((await pending)?.port).toBe(1); // the answer as it was read
    expect((await store.getByEndpoint('ep-a'))?.port).toBe(2); // but not kept
  });

  it('holds at most maxEntries registrations, dropping the oldest', async () => {
    const inner = new CountingStore();
    const store = new CachedRegistrationStore(inner, { maxEntries: 3 });
    for (const i of [1, 2, 3, 4]) await store.add(reg(`id${i}`, `ep${i}`, FAR));
    expect(store.size).toBe(3);
    await store.getByEndpoint('ep1');
    expect(inner.lookups).toBe(1); // the oldest went
    await store.getByEndpoint('ep4');
    expect(inner.lookups).toBe(1);
    store.evictAll();
    expect(store.size).toBe(0);
  });

  it('checks its options', () => {
    const inner = new InMemoryRegistrationStore();
    expect(() => new CachedRegistrationStore(inner, { ttlMs: -1 })).toThrow(RangeError);
    expect(() => new CachedRegistrationStore(inner, { maxEntries: 0 })).toThrow(RangeError);
  });
});
