import { describe, expect, it } from 'vitest';
import { RedisEventBus } from './event-bus.js';
import { freshPrefix, redisBin, useRedis } from './test-redis.js';

function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error('timed out'));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

describe.skipIf(!redisBin)('RedisEventBus', () => {
  const redis = useRedis();

  it('delivers JSON messages to every subscribed process, on its channel only', async () => {
    const keyPrefix = freshPrefix();
    const a = new RedisEventBus({ redis: redis.server.url, keyPrefix });
    const b = new RedisEventBus({ redis: redis.client(), keyPrefix });
    try {
      const gotA: unknown[] = [];
      const gotB: [unknown, string][] = [];
      await a.subscribe('registration', (m) => gotA.push(m));
      const offB = await b.subscribe<{ ep: string }>('registration', (m, ch) => gotB.push([m, ch]));
      const other: unknown[] = [];
      await b.subscribe('notification', (m) => other.push(m));
      expect(await a.publish('registration', { ep: 'dev-1', at: 1 })).toBe(2);
      await until(() => gotA.length === 1 && gotB.length === 1);
      expect(gotA).toEqual([{ ep: 'dev-1', at: 1 }]);
      expect(gotB).toEqual([[{ ep: 'dev-1', at: 1 }, 'registration']]);
      expect(other).toEqual([]);
      await offB();
      await offB(); // idempotent
      expect(await b.publish('registration', { ep: 'dev-2' })).toBe(1);
      await until(() => gotA.length === 2);
      expect(gotB).toHaveLength(1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('keeps deployments apart by key prefix', async () => {
    const a = new RedisEventBus({ redis: redis.client(), keyPrefix: 'dep-a:' });
    const b = new RedisEventBus({ redis: redis.client(), keyPrefix: 'dep-b:' });
    try {
      const got: unknown[] = [];
      await b.subscribe('x', (m) => got.push(m));
      expect(b.channelName('x')).toBe('dep-b:events:x');
      expect(await a.publish('x', 1)).toBe(0);
      expect(await b.publish('x', 2)).toBe(1);
      await until(() => got.length === 1);
      expect(got).toEqual([2]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('reports bad messages and throwing handlers, and keeps delivering', async () => {
    const errors: [unknown, string][] = [];
    const keyPrefix = freshPrefix();
    const bus = new RedisEventBus({
      redis: redis.client(),
      keyPrefix,
      onError: (e, ch) => errors.push([e, ch]),
    });
    try {
      const got: unknown[] = [];
      await bus.subscribe('c', () => {
        throw new Error('handler failed');
      });
      await bus.subscribe('c', (m) => got.push(m));
      await redis.server.command('PUBLISH', `${keyPrefix}events:c`, '{not json');
      await bus.publish('c', 'ok');
      await until(() => got.length === 1);
      expect(got).toEqual(['ok']);
      expect(errors.map(([e, ch]) => [(e as Error).name, ch])).toEqual([
        ['SyntaxError', 'c'],
        ['Error', 'c'],
      ]);
      await expect(bus.publish('c', undefined)).rejects.toThrow(TypeError);
    } finally {
      await bus.close();
    }
  });
});
