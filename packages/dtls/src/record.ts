import {
  ContentType,
  MAX_CIPHERTEXT_LENGTH,
  MAX_SEQUENCE_NUMBER,
  RECORD_HEADER_LENGTH,
} from './constants.js';

/** One DTLS record as read off the wire (RFC 6347 §4.1); `fragment` is still protected. */
export interface DtlsRecord {
  readonly type: number;
  readonly version: number;
  readonly epoch: number;
  /** 48-bit sequence number; exact as a JS number (< 2^53). */
  readonly seq: number;
  readonly fragment: Buffer;
}

/** Why a record, or the rest of a datagram, was dropped. */
export type DropReason =
  /** A header or fragment runs past the end of the datagram. */
  | 'truncated'
  /** Unknown content type, a major version other than DTLS's 254, or an oversized fragment. */
  | 'malformed'
  /** An epoch this session does not read right now. */
  | 'epoch'
  /** Failed authentication (bad MAC, bad tag, bad padding). */
  | 'badMac'
  /** Already seen, or older than the 64-record window. */
  | 'replay'
  /** Application data or handshake records from a peer that has no session. */
  | 'noSession'
  /** A record that the session's state does not expect (e.g. application data mid-handshake). */
  | 'unexpected'
  /** A ClientHello with no or a stale cookie was answered statelessly; counted apart. */
  | 'badHandshake';

export const DROP_REASONS: readonly DropReason[] = [
  'truncated',
  'malformed',
  'epoch',
  'badMac',
  'replay',
  'noSession',
  'unexpected',
  'badHandshake',
];

const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(ContentType));

/**
 * Splits a datagram into its records (RFC 6347 §4.1.1: several records may share a datagram).
 * A record with an unknown type or version is skipped and reported; a truncated header or
 * fragment ends the datagram, since nothing after it can be framed.
 */
export function parseRecords(datagram: Buffer, onDrop: (reason: DropReason) => void): DtlsRecord[] {
  const records: DtlsRecord[] = [];
  let at = 0;
  while (at < datagram.length) {
    if (datagram.length - at < RECORD_HEADER_LENGTH) {
      onDrop('truncated');
      break;
    }
    const type = datagram[at]!;
    const version = datagram.readUInt16BE(at + 1);
    const epoch = datagram.readUInt16BE(at + 3);
    const seq = datagram.readUIntBE(at + 5, 6);
    const length = datagram.readUInt16BE(at + 11);
    const start = at + RECORD_HEADER_LENGTH;
    if (start + length > datagram.length) {
      onDrop('truncated');
      break;
    }
    at = start + length;
    if (!KNOWN_TYPES.has(type) || version >> 8 !== 0xfe || length > MAX_CIPHERTEXT_LENGTH) {
      onDrop('malformed');
      continue;
    }
    records.push({ type, version, epoch, seq, fragment: datagram.subarray(start, at) });
  }
  return records;
}

/** Encodes one record: the 13-byte header followed by the (already protected) fragment. */
export function encodeRecord(
  type: number,
  version: number,
  epoch: number,
  seq: number,
  fragment: Uint8Array,
): Buffer {
  if (seq > MAX_SEQUENCE_NUMBER) throw new RangeError('DTLS sequence number space exhausted');
  const out = Buffer.allocUnsafe(RECORD_HEADER_LENGTH + fragment.length);
  out[0] = type;
  out.writeUInt16BE(version, 1);
  out.writeUInt16BE(epoch, 3);
  out.writeUIntBE(seq, 5, 6);
  out.writeUInt16BE(fragment.length, 11);
  out.set(fragment, RECORD_HEADER_LENGTH);
  return out;
}

/** Size of the anti-replay window (RFC 6347 §4.1.2.6 asks for at least 32; 64 is the default). */
export const REPLAY_WINDOW_SIZE = 64;

/**
 * The anti-replay sliding window of RFC 6347 §4.1.2.6 for one epoch. `check` before
 * authenticating a record, `accept` only once it authenticated, so forged records cannot move
 * the window.
 */
export class ReplayWindow {
  /** Highest accepted sequence number, -1 before any. */
  #top = -1;
  /** Bit i set: sequence number top - i was accepted. Two 32-bit halves: bits 0–31, 32–63. */
  #low = 0;
  #high = 0;

  get highest(): number {
    return this.#top;
  }

  /** False for a sequence number already accepted or left of the window. */
  check(seq: number): boolean {
    if (seq > this.#top) return true;
    const offset = this.#top - seq;
    if (offset >= REPLAY_WINDOW_SIZE) return false;
    return !this.#bit(offset);
  }

  /** Marks `seq` received, sliding the window right when it is the newest. */
  accept(seq: number): void {
    if (seq > this.#top) {
      const shift = this.#top < 0 ? REPLAY_WINDOW_SIZE : seq - this.#top;
      this.#shift(shift);
      this.#top = seq;
      this.#low |= 1;
    } else {
      const offset = this.#top - seq;
      if (offset < 32) this.#low |= 1 << offset;
      else if (offset < REPLAY_WINDOW_SIZE) this.#high |= 1 << (offset - 32);
    }
  }

  #bit(offset: number): boolean {
    return offset < 32
      ? (this.#low & (1 << offset)) !== 0
      : (this.#high & (1 << (offset - 32))) !== 0;
  }

  #shift(n: number): void {
    if (n >= REPLAY_WINDOW_SIZE) {
      this.#low = 0;
      this.#high = 0;
    } else if (n >= 32) {
      this.#high = n === 32 ? this.#low : this.#low << (n - 32);
      this.#low = 0;
    } else if (n > 0) {
      this.#high = (this.#high << n) | (this.#low >>> (32 - n));
      this.#low <<= n;
    }
  }
}
