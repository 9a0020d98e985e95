/**
 * Reassembly of Block1 request bodies (RFC 7959 §2.3, §2.5).
 *
 * Why not node-coap's: its server collects blocks by token, but a client may change the token on
 * every block (libcoap does; RFC 7959 §2.3 lets it), so those uploads fail with 5.00. Here a
 * transfer is identified by the peer, the request method, Uri-Path, Uri-Query and Request-Tag
 * (RFC 9175 §3.3), which stay the same for all blocks of one body.
 */
import { type BlockValue, blockSizeOf } from './options.js';

export type Block1Outcome =
  /** Answer 2.31 Continue carrying `block` (its SZX may be smaller than the client's: negotiation). */
  | { readonly kind: 'continue'; readonly block: BlockValue }
  /** The last block arrived: hand `payload` to the handler; echo `block` in the final response. */
  | { readonly kind: 'complete'; readonly payload: Buffer; readonly block: BlockValue }
  | {
      readonly kind: 'error';
      readonly code: '4.00' | '4.08' | '4.13' | '5.03';
      readonly message: string;
      /** For 4.13: the largest body accepted (RFC 7959 §2.9.3, §4). */
      readonly size1?: number;
    };

export interface Block1Options {
  /** Largest body accepted, in bytes. */
  readonly maxBodySize: number;
  /** The block-size exponent this endpoint prefers (SZX, 0–6). */
  readonly preferredSzx: number;
  /** A transfer with no block for this long is dropped. */
  readonly timeoutMs: number;
  /** Concurrent transfers kept at once; more are refused with 5.03. */
  readonly maxTransfers: number;
}

interface Transfer {
  chunks: Buffer[];
  received: number;
  lastOffset: number;
  lastLength: number;
  expires: number;
}

export class Block1Reassembler {
  private readonly transfers = new Map<string, Transfer>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: Block1Options,
    private readonly now: () => number = Date.now,
  ) {}

  get pending(): number {
    return this.transfers.size;
  }

  /** Takes one block of the transfer `key`. */
  offer(key: string, block: BlockValue, payload: Buffer, size1: number | undefined): Block1Outcome {
    const now = this.now();
    this.expire(now);
    const size = blockSizeOf(block.szx);
    const offset = block.num * size;
    // §2.2: with M=1 the payload is exactly one block; the last block may be shorter.
    if (block.more ? payload.length !== size : payload.length > size) {
      this.transfers.delete(key);
      return {
        kind: 'error',
        code: '4.00',
        message: `Block1 ${block.num}: ${payload.length} bytes in a block of ${size}`,
      };
    }
    let t = this.transfers.get(key);
    if (block.num === 0) {
      if (size1 !== undefined && size1 > this.opts.maxBodySize) {
        this.transfers.delete(key);
        return this.tooLarge();
      }
      if (t === undefined && this.transfers.size >= this.opts.maxTransfers) {
        return {
          kind: 'error',
          code: '5.03',
          message: 'too many block-wise transfers in progress',
        };
      }
      // Block 0 (re)starts the transfer. Retransmissions of it carry the same message id and
      // never get here (deduplication answers them), so a block 0 here is a new body.
      t = { chunks: [], received: 0, lastOffset: -1, lastLength: 0, expires: 0 };
      this.transfers.set(key, t);
    }
    if (t === undefined) {
      // §2.9.2: a block that does not continue a transfer we know.
      return {
        kind: 'error',
        code: '4.08',
        message: `Block1 ${block.num} without the blocks before it`,
      };
    }
    t.expires = now + this.opts.timeoutMs;
    if (offset === t.received) {
      if (t.received + payload.length > this.opts.maxBodySize) {
        this.transfers.delete(key);
        return this.tooLarge();
      }
      t.chunks.push(payload);
      t.received += payload.length;
      t.lastOffset = offset;
      t.lastLength = payload.length;
    } else if (!(offset === t.lastOffset && payload.length === t.lastLength)) {
      // Out of order or a gap (a repeat of the last block is just acknowledged again).
      this.transfers.delete(key);
      return {
        kind: 'error',
        code: '4.08',
        message: `Block1 ${block.num} at byte ${offset}, expected byte ${t.received}`,
      };
    }
    this.schedule();
    const szx = Math.min(block.szx, this.opts.preferredSzx);
    if (block.more) return { kind: 'continue', block: { num: block.num, more: true, szx } };
    this.transfers.delete(key);
    const body = t.chunks.length === 1 ? t.chunks[0]! : Buffer.concat(t.chunks, t.received);
    return {
      kind: 'complete',
      payload: body,
      block: { num: block.num, more: false, szx: block.szx },
    };
  }

  clear(): void {
    if (this.transfers.size > 0) this.transfers.clear();
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tooLarge(): Block1Outcome {
    return {
      kind: 'error',
      code: '4.13',
      message: `request body exceeds ${this.opts.maxBodySize} bytes`,
      size1: this.opts.maxBodySize,
    };
  }

  private expire(now: number): void {
    for (const [k, t] of this.transfers) if (t.expires <= now) this.transfers.delete(k);
    if (this.transfers.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Stale transfers are dropped by a sweep that runs only while transfers exist (and never holds the process open). */
  private schedule(): void {
    if (this.timer !== undefined) return;
    const period = Math.max(50, Math.min(this.opts.timeoutMs, 60_000) / 2);
    this.timer = setInterval(() => this.expire(this.now()), period);
    this.timer.unref();
  }
}
