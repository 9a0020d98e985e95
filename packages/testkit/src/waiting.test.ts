import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { fromCallback } from './node-lib.js';
import { nextEmitted, within } from './waiting.js';

describe('nextEmitted', () => {
  it('resolves with the arguments of the first event the filter accepts, then stops listening', async () => {
    const e = new EventEmitter();
    const next = nextEmitted<[string, number]>(e, 'x', 1000, (_s, n) => n > 1);
    e.emit('x', 'a', 1);
    e.emit('x', 'b', 2);
    expect(await next).toEqual(['b', 2]);
    expect(e.listenerCount('x')).toBe(0);
  });

  it('rejects after the time limit and stops listening', async () => {
    const e = new EventEmitter();
    await expect(nextEmitted(e, 'never', 20)).rejects.toThrow('no never event within 20 ms');
    expect(e.listenerCount('never')).toBe(0);
  });
});

describe('within and fromCallback', () => {
  it('passes a result through, or rejects naming what hung', async () => {
    expect(await within(Promise.resolve(1), 100, 'x')).toBe(1);
    await expect(within(new Promise(() => {}), 20, 'peer')).rejects.toThrow(
      'peer: no answer within 20 ms',
    );
    expect(await fromCallback<number>((cb) => cb(null, 7))).toBe(7);
    await expect(fromCallback((cb) => cb(new Error('nope')))).rejects.toThrow('nope');
  });
});
