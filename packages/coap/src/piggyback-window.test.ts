import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type PiggybackEntry, PiggybackWindow } from './piggyback-window.js';

interface Entry extends PiggybackEntry {
  readonly id: number;
}

const entry = (id: number): Entry => ({ id, done: false, deadline: 0 });

describe('PiggybackWindow', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('expires entries not done within the window, in order, on one timer', () => {
    const expired: number[] = [];
    const w = new PiggybackWindow<Entry>(100, (e) => expired.push(e.id));
    const a = entry(1);
    const b = entry(2);
    const c = entry(3);
    w.add(a);
    vi.advanceTimersByTime(30);
    w.add(b);
    vi.advanceTimersByTime(30);
    w.add(c);
    expect(vi.getTimerCount()).toBe(1);
    b.done = true;
    vi.advanceTimersByTime(40); // a's window closes
    expect(expired).toEqual([1]);
    expect(a.done).toBe(true);
    vi.advanceTimersByTime(59); // b was done; c's window closes at 160
    expect(expired).toEqual([1]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual([1, 3]);
    expect(vi.getTimerCount()).toBe(0);
    expect(w.size).toBe(0);
  });

  it('arms no timer once everything was answered, and drops answered entries as it goes', () => {
    const expired: number[] = [];
    const w = new PiggybackWindow<Entry>(1000, (e) => expired.push(e.id));
    for (let i = 0; i < 5000; i++) {
      const e = entry(i);
      w.add(e);
      e.done = true;
    }
    // Answered entries at the head are dropped when the next one is added.
    expect(w.size).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(expired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stops its timer on clear()', () => {
    const expired: number[] = [];
    const w = new PiggybackWindow<Entry>(50, (e) => expired.push(e.id));
    w.add(entry(1));
    w.clear();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(100);
    expect(expired).toEqual([]);
    w.add(entry(2));
    vi.advanceTimersByTime(50);
    expect(expired).toEqual([2]);
  });
});
