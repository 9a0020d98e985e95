import { typedValue } from '@lwm2m-ts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeOpaque, encodeOpaque } from './opaque.js';
import { arbValue, fuzzDecoder } from './test-arbitraries.js';
import { encodeError } from './test-fixtures.js';

describe('application/octet-stream (Core TS 1.2 §7.4.2)', () => {
  it('carries the raw bytes of an Opaque value both ways', () => {
    const bytes = Uint8Array.of(0x00, 0xff, 0x10);
    expect(encodeOpaque(typedValue('opaque', bytes))).toEqual(bytes);
    expect(decodeOpaque(bytes)).toEqual(typedValue('opaque', bytes));
    expect(decodeOpaque(new Uint8Array())).toEqual(typedValue('opaque', new Uint8Array()));
  });

  it('copies: neither side shares memory with the other', () => {
    const bytes = Uint8Array.of(1, 2, 3);
    const decoded = decodeOpaque(bytes);
    bytes[0] = 9;
    expect(decoded.value).toEqual(Uint8Array.of(1, 2, 3));
    const encoded = encodeOpaque(decoded);
    encoded[1] = 9;
    expect(decoded.value).toEqual(Uint8Array.of(1, 2, 3));
  });

  it('returns plain Uint8Arrays, also for Buffer input', () => {
    const decoded = decodeOpaque(Buffer.from([1, 2]));
    expect(Object.getPrototypeOf(decoded.value)).toBe(Uint8Array.prototype);
  });

  it.each([typedValue('string', 'abc'), typedValue('integer', 1), typedValue('boolean', true)])(
    'refuses a %o: only Opaque has an opaque form',
    (v) => {
      encodeError('opaque', () => encodeOpaque(v));
    },
  );

  it('round trip', () => {
    fc.assert(
      fc.property(arbValue('opaque'), (v) => {
        expect(decodeOpaque(encodeOpaque(v))).toEqual(v);
      }),
      { numRuns: 1000 },
    );
  });

  it('fuzz: any bytes decode', () => {
    fuzzDecoder(
      'opaque',
      (bytes) => expect(decodeOpaque(bytes).value).toEqual(bytes),
      [Uint8Array.of(1, 2, 3)],
      {
        runs: 100_000,
      },
    );
  }, 120_000);
});
