import { describe, expect, it } from 'vitest';
import { RedisQueueStore } from './queue-store.js';
import { freshPrefix, keysUnder, redisBin, useRedis } from './test-redis.js';

interface Queued {
  readonly kind: 'read' | 'write' | 'execute';
  readonly path: string;
  readonly payload?: string;
  readonly deadline: number;
}

describe.skipIf(!redisBin)('RedisQueueStore', () => {
  const redis = useRedis();

  it('queues descriptors per registration, in order, bounded', async () => {
    const prefix = freshPrefix();
    const q = new RedisQueueStore<Queued>({ redis: redis.client(), keyPrefix: prefix });
    const r1: Queued = { kind: 'read', path: '/3/0', deadline: 1 };
    const w1: Queued = { kind: 'write', path: '/1/0/1', payload: '3600', deadline: 2 };
    const x1: Queued = { kind: 'execute', path: '/3/0/4', deadline: 3 };
    expect(await q.push('reg-1', r1, 2)).toBe(1);
    expect(await q.push('reg-1', w1, 2)).toBe(2);
    expect(await q.push('reg-1', x1, 2)).toBeUndefined(); // full
    expect(await q.push('reg-2', x1)).toBe(1);
    expect(await q.length('reg-1')).toBe(2);
    expect(await q.list('reg-1')).toEqual([r1, w1]);
    expect(await q.shift('reg-1')).toEqual(r1);
    expect(await q.takeAll('reg-1')).toEqual([w1]);
    expect(await q.takeAll('reg-1')).toEqual([]);
    expect(await q.shift('reg-1')).toBeUndefined();
    expect(await q.length('reg-1')).toBe(0);
    await expect(q.push('reg-1', r1, -1)).rejects.toThrow(RangeError);
    expect(await q.takeAll('reg-2')).toEqual([x1]);
    expect(await keysUnder(redis.server, prefix)).toEqual([]);
  });

  it('hands a queue to one of two processes waking at once', async () => {
    const keyPrefix = freshPrefix();
    const q1 = new RedisQueueStore<number>({ redis: redis.client(), keyPrefix });
    const q2 = new RedisQueueStore<number>({ redis: redis.client(), keyPrefix });
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 5; i++) await q1.push('reg', i);
      const [a, b] = await Promise.all([q1.takeAll('reg'), q2.takeAll('reg')]);
      expect([a, b].filter((x) => x.length > 0)).toEqual([[0, 1, 2, 3, 4]]);
    }
  });
});
