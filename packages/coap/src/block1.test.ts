import { describe, expect, it } from 'vitest';
import { Block1Reassembler } from './block1.js';

const opts = { maxBodySize: 1000, preferredSzx: 2, timeoutMs: 1000, maxTransfers: 2 };
const fill = (n: number, v: number) => Buffer.alloc(n, v);

describe('Block1Reassembler', () => {
  it('reassembles in order and echoes the last block', () => {
    const r = new Block1Reassembler(opts);
    expect(r.offer('k', { num: 0, more: true, szx: 2 }, fill(64, 1), undefined).kind).toBe(
      'continue',
    );
    expect(r.offer('k', { num: 1, more: true, szx: 2 }, fill(64, 2), undefined).kind).toBe(
      'continue',
    );
    const done = r.offer('k', { num: 2, more: false, szx: 2 }, fill(10, 3), undefined);
    expect(done.kind).toBe('complete');
    if (done.kind !== 'complete') return;
    expect(done.payload.length).toBe(138);
    expect(done.payload[64]).toBe(2);
    expect(done.block).toEqual({ num: 2, more: false, szx: 2 });
    expect(r.pending).toBe(0);
  });

  it('negotiates a smaller block size and follows the client to it (RFC 7959 Figure 5)', () => {
    const r = new Block1Reassembler(opts);
    const first = r.offer('k', { num: 0, more: true, szx: 3 }, fill(128, 1), undefined);
    expect(first).toEqual({ kind: 'continue', block: { num: 0, more: true, szx: 2 } });
    // The client goes on at byte 128 with 64-byte blocks: block 2.
    expect(r.offer('k', { num: 2, more: true, szx: 2 }, fill(64, 2), undefined).kind).toBe(
      'continue',
    );
    const done = r.offer('k', { num: 3, more: false, szx: 2 }, fill(1, 3), undefined);
    expect(done.kind === 'complete' && done.payload.length).toBe(193);
  });

  it('answers 4.08 for a gap or a block without its predecessors', () => {
    const r = new Block1Reassembler(opts);
    expect(r.offer('k', { num: 1, more: true, szx: 2 }, fill(64, 1), undefined)).toMatchObject({
      code: '4.08',
    });
    r.offer('k', { num: 0, more: true, szx: 2 }, fill(64, 1), undefined);
    expect(r.offer('k', { num: 2, more: true, szx: 2 }, fill(64, 1), undefined)).toMatchObject({
      code: '4.08',
    });
    expect(r.pending).toBe(0);
  });

  it('acknowledges a repeated last block again without appending it', () => {
    const r = new Block1Reassembler(opts);
    r.offer('k', { num: 0, more: true, szx: 2 }, fill(64, 1), undefined);
    r.offer('k', { num: 1, more: true, szx: 2 }, fill(64, 2), undefined);
    expect(r.offer('k', { num: 1, more: true, szx: 2 }, fill(64, 2), undefined).kind).toBe(
      'continue',
    );
    const done = r.offer('k', { num: 2, more: false, szx: 2 }, fill(1, 3), undefined);
    expect(done.kind === 'complete' && done.payload.length).toBe(129);
  });

  it('answers 4.13 with Size1 from Size1 or from the bytes received', () => {
    const r = new Block1Reassembler(opts);
    expect(r.offer('k', { num: 0, more: true, szx: 2 }, fill(64, 1), 5000)).toEqual({
      kind: 'error',
      code: '4.13',
      message: 'request body exceeds 1000 bytes',
      size1: 1000,
    });
    for (let n = 0; n < 15; n++)
      r.offer('k', { num: n, more: true, szx: 2 }, fill(64, 1), undefined);
    expect(r.offer('k', { num: 15, more: true, szx: 2 }, fill(64, 1), undefined)).toMatchObject({
      code: '4.13',
      size1: 1000,
    });
  });

  it('refuses a short block that claims more (4.00) and too many transfers (5.03)', () => {
    const r = new Block1Reassembler(opts);
    expect(r.offer('a', { num: 0, more: true, szx: 2 }, fill(10, 1), undefined)).toMatchObject({
      code: '4.00',
    });
    r.offer('a', { num: 0, more: true, szx: 2 }, fill(64, 1), undefined);
    r.offer('b', { num: 0, more: true, szx: 2 }, fill(64, 1), undefined);
    expect(r.offer('c', { num: 0, more: true, szx: 2 }, fill(64, 1), undefined)).toMatchObject({
      code: '5.03',
    });
    r.clear();
  });

  it('drops stale transfers', () => {
    let now = 0;
    const r = new Block1Reassembler(opts, () => now);
    r.offer('k', { num: 0, more: true, szx: 2 }, fill(64, 1), undefined);
    now = 1500;
    expect(r.offer('k', { num: 1, more: true, szx: 2 }, fill(64, 1), undefined)).toMatchObject({
      code: '4.08',
    });
    r.clear();
  });
});
