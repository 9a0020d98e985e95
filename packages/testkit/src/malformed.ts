import {
  CoapOptionNumber,
  concatBytes,
  encodeCoapMessage,
  encodeOption,
  uriPathOptions,
} from './coap-message.js';
import { createRng } from './prng.js';

/**
 * What RFC 7252 asks of the receiver:
 * - `ignore`: silently ignore (too short to hold a message id, or version ≠ 1; §3, §4.2);
 * - `reject`: message format error: a CON is rejected with RST or ignored, a NON is ignored; never
 *   a response, never a crash (§4.2, §4.3);
 * - `bad-option`: well-formed request with an unrecognised critical option: a CON gets a
 *   4.02 Bad Option response (§5.4.1);
 * - `any`: no particular answer required; the endpoint just has to keep serving.
 */
export type MalformedExpectation = 'ignore' | 'reject' | 'bad-option' | 'any';

export interface MalformedCase {
  /** Stable kebab-case name, usable as a test title. */
  name: string;
  description: string;
  bytes: Uint8Array;
  expected: MalformedExpectation;
}

export interface MalformedOptions {
  /** Message id used wherever the header is complete (default 0x1234). */
  messageId?: number;
  /** Seed for the random parts (default 1). */
  seed?: number;
}

function header(byte0: number, code: number, messageId: number): number[] {
  return [byte0, code, messageId >> 8, messageId & 0xff];
}

/**
 * The named malformed CoAP datagrams: one per way the wire format can be broken, plus well-formed
 * requests an endpoint must refuse. All are CON (where a type exists) so an endpoint that rejects
 * them answers with RST. Deterministic for a given seed.
 */
export function malformedDatagrams(options: MalformedOptions = {}): MalformedCase[] {
  const mid = options.messageId ?? 0x1234;
  const rng = createRng(options.seed ?? 1);
  const CON_GET_TKL0 = header(0x40, 0x01, mid);
  const bytes = (...parts: Array<number[] | Uint8Array>) =>
    concatBytes(parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p))));
  const withVersion = (version: number) => {
    const valid = encodeCoapMessage({ messageId: mid, options: uriPathOptions('x') });
    valid[0] = (valid[0]! & 0x3f) | (version << 6);
    return valid;
  };
  const cases: MalformedCase[] = [
    {
      name: 'empty',
      description: 'empty datagram (0 bytes)',
      bytes: new Uint8Array(0),
      expected: 'ignore',
    },
    {
      name: 'truncated-header-1',
      description: 'one byte: a header needs 4',
      bytes: bytes([0x40]),
      expected: 'ignore',
    },
    {
      name: 'truncated-header-3',
      description: 'three bytes: the message id is cut in half',
      bytes: bytes(CON_GET_TKL0.slice(0, 3)),
      expected: 'ignore',
    },
    ...[0, 2, 3].map(
      (v): MalformedCase => ({
        name: `version-${v}`,
        description: `GET /x with version ${v} (must be 1)`,
        bytes: withVersion(v),
        expected: 'ignore',
      }),
    ),
    ...[9, 10, 11, 12, 13, 14, 15].map(
      (tkl): MalformedCase => ({
        name: `token-length-${tkl}`,
        description:
          `token length nibble ${tkl} (reserved in RFC 7252), 16 bytes follow` +
          (tkl === 13 || tkl === 14
            ? '; under RFC 8974 the extended length is too long for them'
            : ''),
        bytes: bytes(header(0x40 | tkl, 0x01, mid), new Array<number>(16).fill(0xa5)),
        expected: 'reject',
      }),
    ),
    {
      name: 'token-truncated',
      description: 'token length 8 but only 3 token bytes',
      bytes: bytes(header(0x48, 0x01, mid), [1, 2, 3]),
      expected: 'reject',
    },
    {
      name: 'option-delta-15',
      description: 'option delta nibble 15 in a byte that is not the payload marker (0xF1)',
      bytes: bytes(CON_GET_TKL0, [0xf1, 0x78]),
      expected: 'reject',
    },
    {
      name: 'option-length-15',
      description: 'Uri-Path with option length nibble 15 (reserved)',
      bytes: bytes(CON_GET_TKL0, [0xbf, 0x78]),
      expected: 'reject',
    },
    {
      name: 'option-delta-13-truncated',
      description: 'option delta 13 with its extension byte missing',
      bytes: bytes(CON_GET_TKL0, [0xd0]),
      expected: 'reject',
    },
    {
      name: 'option-delta-14-truncated',
      description: 'option delta 14 with one of its two extension bytes',
      bytes: bytes(CON_GET_TKL0, [0xe0, 0x01]),
      expected: 'reject',
    },
    {
      name: 'option-length-14-truncated',
      description: 'Uri-Path with length 14 and one of its two extension bytes',
      bytes: bytes(CON_GET_TKL0, [0xbe, 0x00]),
      expected: 'reject',
    },
    {
      name: 'option-value-overrun',
      description: 'Uri-Path says 10 bytes, 2 follow',
      bytes: bytes(CON_GET_TKL0, [0xba, 0x61, 0x62]),
      expected: 'reject',
    },
    {
      name: 'option-number-overflow',
      description: 'option delta 14 + 0xFFFF: number 65804 is past 65535',
      bytes: bytes(CON_GET_TKL0, [0xe0, 0xff, 0xff]),
      expected: 'reject',
    },
    {
      name: 'payload-marker-no-payload',
      description: 'GET /x ending in the payload marker 0xFF with no payload',
      bytes: bytes(encodeCoapMessage({ messageId: mid, options: uriPathOptions('x') }), [0xff]),
      expected: 'reject',
    },
    {
      name: 'empty-message-with-token',
      description: 'Empty message (0.00) with a 2-byte token',
      bytes: bytes(header(0x42, 0x00, mid), [0xbe, 0xef]),
      expected: 'reject',
    },
    {
      name: 'empty-message-with-payload',
      description: 'Empty message (0.00) with bytes after the message id',
      bytes: bytes(header(0x40, 0x00, mid), [0xff, 0x78]),
      expected: 'reject',
    },
    {
      name: 'unknown-critical-option-65001',
      description: 'GET / with option 65001 (odd = critical, experimental range, unknown)',
      bytes: encodeCoapMessage({ messageId: mid, options: [{ number: 65001, value: 'x' }] }),
      expected: 'bad-option',
    },
    {
      name: 'unknown-critical-option-9',
      description:
        'GET / with option 9 (critical: OSCORE, RFC 8613) holding a bogus value; ' +
        'an endpoint without OSCORE answers 4.02',
      bytes: encodeCoapMessage({
        messageId: mid,
        options: [{ number: CoapOptionNumber.Oscore, value: Uint8Array.of(0xff, 0xff) }],
      }),
      expected: 'bad-option',
    },
    {
      name: 'garbage-after-message-id',
      description: 'a valid CON GET header, then 32 random bytes',
      bytes: bytes(CON_GET_TKL0, rng.bytes(32)),
      expected: 'any',
    },
    {
      name: 'random-2k',
      description:
        '2,048 random bytes behind a version-1 CON GET header (larger than any CoAP MTU)',
      bytes: bytes(CON_GET_TKL0, rng.bytes(2044)),
      expected: 'any',
    },
    {
      name: 'reserved-code-class-7',
      description: 'CON with reserved code class 7 (7.31)',
      bytes: bytes(header(0x40, (7 << 5) | 31, mid), encodeOption(11, Uint8Array.of(0x78))),
      expected: 'any',
    },
  ];
  return cases;
}

export interface RandomDatagramOptions {
  /** Longest datagram (default 128). */
  maxLength?: number;
  /** Share of datagrams that start with a plausible CoAP header (version 1, TKL ≤ 8); default 0.5. */
  coapLike?: number;
}

/** `count` random datagrams, reproducible from `seed`. */
export function randomDatagrams(
  seed: number,
  count: number,
  options: RandomDatagramOptions = {},
): Uint8Array[] {
  const rng = createRng(seed);
  const maxLength = options.maxLength ?? 128;
  const coapLike = options.coapLike ?? 0.5;
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const d = rng.bytes(rng.int(maxLength + 1));
    if (d.length >= 1 && rng.next() < coapLike) {
      d[0] = 0x40 | (rng.int(4) << 4) | rng.int(9);
      if (d.length >= 2) d[1] = rng.pick([0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x45, 0x84, 0xa0]);
    }
    out.push(d);
  }
  return out;
}

const INTERESTING = [0x00, 0x01, 0x0c, 0x0d, 0x0e, 0x0f, 0x7f, 0x80, 0xd0, 0xe0, 0xf0, 0xff];

export interface MutateOptions {
  /** How many mutations to apply (default 1–4, from the seed). */
  mutations?: number;
}

/**
 * A mutated copy of `valid` (never the same bytes; `valid` is not modified): bit flips, byte
 * overwrites with boundary values, truncation, insertion, deletion and duplication.
 */
export function mutateDatagram(
  valid: Uint8Array,
  seed: number,
  options: MutateOptions = {},
): Uint8Array {
  const rng = createRng(seed);
  let d: Uint8Array = Uint8Array.from(valid);
  const count = options.mutations ?? rng.range(1, 4);
  for (let i = 0; i < count; i++) {
    const op = d.length === 0 ? 4 : rng.int(7);
    const at = d.length === 0 ? 0 : rng.int(d.length);
    switch (op) {
      case 0: // flip a bit
        d[at]! ^= 1 << rng.int(8);
        break;
      case 1: // random byte
        d[at] = rng.int(256);
        break;
      case 2: // boundary value
        d[at] = rng.pick(INTERESTING);
        break;
      case 3: // truncate
        d = d.slice(0, at);
        break;
      case 4: // insert random bytes
        d = concatBytes([d.slice(0, at), rng.bytes(rng.range(1, 8)), d.slice(at)]);
        break;
      case 5: // delete a range
        d = concatBytes([d.slice(0, at), d.slice(at + rng.range(1, 8))]);
        break;
      default: {
        // duplicate a range
        const end = Math.min(d.length, at + rng.range(1, 8));
        d = concatBytes([d.slice(0, end), d.slice(at, end), d.slice(end)]);
      }
    }
  }
  if (d.length === valid.length && d.every((b, i) => b === valid[i])) {
    if (d.length === 0) return Uint8Array.of(rng.int(256));
    d[rng.int(d.length)]! ^= 1 << rng.int(8);
  }
  return d;
}
