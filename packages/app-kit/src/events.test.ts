import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { listenTo } from './events.js';

interface Events {
  ping: [event: { readonly n: number }];
  pong: [a: string, b: number];
}

describe('listenTo', () => {
  it('adds typed listeners and removes exactly those', () => {
    const emitter = new EventEmitter<Events>();
    const other = () => {};
    emitter.on('ping', other);
    const got: string[] = [];
    const off = listenTo(emitter, {
      ping: (e) => got.push(`ping ${e.n}`),
      pong: (a, b) => got.push(`pong ${a} ${b}`),
    });
    emitter.emit('ping', { n: 1 });
    emitter.emit('pong', 'x', 2);
    expect(got).toEqual(['ping 1', 'pong x 2']);
    off();
    off();
    emitter.emit('ping', { n: 3 });
    expect(got).toHaveLength(2);
    expect(emitter.listeners('ping')).toEqual([other]);
    expect(emitter.listenerCount('pong')).toBe(0);
  });

  it('without onError a throwing listener throws into emit; with it, the error is reported', () => {
    const emitter = new EventEmitter<Events>();
    const boom = () => {
      throw new Error('boom');
    };
    const offPlain = listenTo(emitter, { ping: boom });
    expect(() => emitter.emit('ping', { n: 1 })).toThrow('boom');
    offPlain();
    const errors: string[] = [];
    listenTo(emitter, { ping: boom }, (err, event) =>
      errors.push(`${event}: ${(err as Error).message}`),
    );
    expect(emitter.emit('ping', { n: 2 })).toBe(true);
    expect(errors).toEqual(['ping: boom']);
  });
});
