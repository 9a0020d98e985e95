import { EncodeError, type TypedValue, typedValue } from '@lwm2m-ts/core';
import { checkValueForModel } from './wire-value.js';

const FORMAT = 'opaque';

/**
 * application/octet-stream (content format 42, Core TS 1.2 §7.4.2): the raw bytes of one Opaque
 * value (firmware images, application-specific blobs). Other types have no opaque form.
 */
export function encodeOpaque(value: TypedValue): Uint8Array {
  if (value.type !== 'opaque') {
    throw new EncodeError(`only Opaque values have an opaque form, not ${value.type}`, {
      format: FORMAT,
    });
  }
  checkValueForModel(value, undefined, { format: FORMAT, path: 'value' });
  // A copy: the caller may reuse its buffer while the message is in flight.
  return new Uint8Array(value.value);
}

/** Any byte sequence is an Opaque value; the result is a plain copy, not a view of `bytes`. */
export function decodeOpaque(bytes: Uint8Array): TypedValue {
  return typedValue('opaque', new Uint8Array(bytes));
}
