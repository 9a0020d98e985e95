import {
  describeRegistrationStoreContract,
  contractRegistration as reg,
} from '@lwm2m-ts/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { InMemoryRegistrationStore } from './memory-registration-store.js';

function heapSize(store: InMemoryRegistrationStore): number {
  return (store as unknown as { heap: { size: number } }).heap.size;
}

describeRegistrationStoreContract('InMemoryRegistrationStore', {
  create: () => new InMemoryRegistrationStore(),
  count: (store) => store.size,
  keepsObjects: true,
  footprint: {
    updates: 5000,
    // The heap keeps stale entries until they outnumber live ones.
    afterUpdates: (store) => expect(heapSize(store)).toBeLessThanOrEqual(2 * 10 + 1024 + 1),
  },
});

describe('InMemoryRegistrationStore', () => {
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
});
