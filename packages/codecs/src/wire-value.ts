import {
  type DataType,
  DecodeError,
  EncodeError,
  isValueOfType,
  type ObjectLink,
  type ResourceModel,
  type TypedValue,
  timeFromSeconds,
  typedValue,
} from '@lwm2m-ts/core';

/**
 * A value as self-describing formats (SenML, LwM2M JSON, LwM2M CBOR, CBOR) carry it, before the
 * object model says which LwM2M data type it is: SenML's `v` is just a number whether the
 * resource is an Integer, a Float or a Time.
 */
export type WireValue =
  | { readonly kind: 'number'; readonly value: number | bigint }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'bytes'; readonly value: Uint8Array }
  | { readonly kind: 'objlnk'; readonly value: ObjectLink };

/** Which wire kinds may carry each data type. */
const ACCEPTS: Readonly<Record<DataType, WireValue['kind']>> = {
  string: 'string',
  corelnk: 'string',
  integer: 'number',
  unsigned: 'number',
  float: 'number',
  time: 'number',
  boolean: 'boolean',
  opaque: 'bytes',
  objlnk: 'objlnk',
};

/** The data type a wire value gets when no model says otherwise. */
export function defaultTypeOf(wire: WireValue): DataType {
  switch (wire.kind) {
    case 'number':
      if (typeof wire.value === 'bigint')
        return wire.value < 0n ? 'integer' : wire.value > 2n ** 63n - 1n ? 'unsigned' : 'integer';
      return Number.isInteger(wire.value) ? 'integer' : 'float';
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'bytes':
      return 'opaque';
    case 'objlnk':
      return 'objlnk';
  }
}

/**
 * Types a decoded wire value with the resource's model: refuses (never coerces) a value whose
 * wire kind or range does not fit the model's type, e.g. a string where the model says Integer,
 * 2.5 for an Integer, -1 for an Unsigned Integer. Without a model (or for a resource of type
 * none) the wire kind decides: integral numbers become `integer`, others `float`.
 */
export function typeWireValue(
  wire: WireValue,
  resource: ResourceModel | undefined,
  // `path` is only turned into text when there is an error to report.
  where: { readonly format: string; readonly offset?: number; readonly path: string | object },
): TypedValue {
  const type: DataType =
    resource === undefined || resource.type === 'none' ? defaultTypeOf(wire) : resource.type;
  const fail = (why: string): never => {
    throw new DecodeError(`${where.path}: ${why}`, {
      format: where.format,
      ...(where.offset === undefined ? {} : { offset: where.offset }),
    });
  };
  if (ACCEPTS[type] !== wire.kind) fail(`a ${wire.kind} value where the model says ${type}`);
  // Strings and booleans were checked by kind above: build the value without checking twice
  // (this is the hot path of every self-describing decoder).
  if (wire.kind === 'string' || wire.kind === 'boolean') {
    return Object.freeze({ type, value: wire.value }) as TypedValue;
  }
  if (wire.kind !== 'number') return typedValue(type, wire.value as never);
  const n = wire.value;
  switch (type) {
    case 'float': {
      const f = Number(n);
      if (!Number.isFinite(f)) fail(`float ${n} is not finite`);
      return Object.freeze({ type: 'float', value: f });
    }
    case 'integer':
    case 'unsigned':
    case 'time': {
      if (typeof n === 'number' && !Number.isInteger(n)) fail(`${n} is not an integer (${type})`);
      if (typeof n === 'number' && !Number.isSafeInteger(n)) {
        fail(`${n} is beyond 2^53 and lost precision before reaching the model (${type})`);
      }
      const big = BigInt(n);
      if (type === 'time') {
        try {
          return typedValue('time', timeFromSeconds(big));
        } catch {
          return fail(`${big} seconds is out of range for a Time`);
        }
      }
      if (!isValueOfType(type, big)) fail(`${big} is out of range for ${type}`);
      return Object.freeze({ type, value: big });
    }
    default:
      return fail(`a number where the model says ${type}`);
  }
}

/**
 * Refuses to encode a value whose type differs from what the model declares for its resource
 * (a string into an Integer resource, an Integer into an Unsigned one): the peer would decode it
 * as something else. Floats must be finite: NaN and infinities have no form in JSON, LwM2M gives
 * them no meaning, and a sensor reporting one is broken, so no format carries them.
 */
export function checkValueForModel(
  value: TypedValue,
  resource: ResourceModel | undefined,
  where: { readonly format: string; readonly path: string },
): void {
  if (resource !== undefined && resource.type !== 'none' && resource.type !== value.type) {
    throw new EncodeError(
      `${where.path}: a ${value.type} value where the model says ${resource.type}`,
      {
        format: where.format,
      },
    );
  }
  if (!isValueOfType(value.type, value.value)) {
    throw new EncodeError(`${where.path}: not a valid ${value.type} value`, {
      format: where.format,
    });
  }
  if (value.type === 'float' && !Number.isFinite(value.value)) {
    throw new EncodeError(`${where.path}: float ${value.value} is not finite`, {
      format: where.format,
    });
  }
}
