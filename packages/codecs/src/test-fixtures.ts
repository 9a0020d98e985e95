// Shared fixtures for codec tests: error assertions, model builders, the all-types test object
// and the Device example values of the Core TS. Test-only (excluded from the build).
import {
  type DataType,
  DecodeError,
  defineObjectModel,
  EncodeError,
  LwM2mPath,
  type ObjectModel,
  type ResourceModel,
  typedValue,
} from '@lwm2m-ts/core';
import { expect } from 'vitest';
import type { TimedValue } from './content.js';

/** Bytes from hex written with any white space. */
export const hex = (s: string): Uint8Array =>
  Uint8Array.from(s.replace(/\s+/g, '').match(/../g) ?? [], (b) => Number.parseInt(b, 16));
/** UTF-8 bytes of `s`. */
export const text = (s: string) => new TextEncoder().encode(s);
/** `b` read as UTF-8. */
export const str = (b: Uint8Array) => new TextDecoder().decode(b);

function thrown<E extends DecodeError | EncodeError>(
  kind: abstract new (...args: never[]) => E,
  expected: string,
  format: string,
  fn: () => unknown,
): E {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(kind);
    expect((e as E).format).toBe(format);
    return e as E;
  }
  throw new Error(`expected ${expected}`);
}

/** Runs `fn`, asserts it throws a DecodeError of `format`, and returns it. */
export const decodeError = (format: string, fn: () => unknown): DecodeError =>
  thrown(DecodeError, 'a DecodeError', format, fn);

/** Runs `fn`, asserts it throws an EncodeError of `format`, and returns it. */
export const encodeError = (format: string, fn: () => unknown): EncodeError =>
  thrown(EncodeError, 'an EncodeError', format, fn);

/** A readable and writable, optional resource `R<id>` of `type`. */
export const res = (id: number, type: ResourceModel['type'], multiple = false): ResourceModel => ({
  id,
  name: `R${id}`,
  operations: 'RW',
  multiple,
  mandatory: false,
  type,
});

/** A multiple-instance, optional object model (name `O<id>`, LwM2M 1.0 unless told). */
export const obj = (
  id: number,
  resources: readonly ResourceModel[],
  { name = `O${id}`, lwm2mVersion = '1.0' }: { name?: string; lwm2mVersion?: string } = {},
): ObjectModel =>
  defineObjectModel({
    id,
    name,
    version: '1.0',
    lwm2mVersion,
    multiple: true,
    mandatory: false,
    resources: [...resources],
  });

/**
 * A test object with every data type (ids as in the test object 3442 of the OMA registry), for
 * the LwM2M version of the format under test.
 */
export const allTypesObject = (lwm2mVersion: string): ObjectModel =>
  obj(
    3442,
    [
      res(110, 'string'),
      res(120, 'integer'),
      res(125, 'unsigned'),
      res(130, 'float'),
      res(140, 'boolean'),
      res(150, 'opaque'),
      res(160, 'time'),
      res(170, 'objlnk'),
      res(180, 'corelnk'),
      res(1110, 'string', true),
    ],
    { name: 'Test', lwm2mVersion },
  );

/** The timed value `typedValue(type, value)` at `path`, with `time` when given. */
export function v(path: string, type: DataType, value: unknown, time?: number): TimedValue {
  const at = LwM2mPath.parse(path);
  const typed = typedValue(type, value as never);
  return time === undefined ? { path: at, value: typed } : { path: at, value: typed, time };
}

/**
 * The Device object instance /3/0 of the Core TS data-format examples (Read /3/0 in TLV, LwM2M
 * JSON, SenML JSON and SenML CBOR, §7.4), as timed values without time.
 */
export const DEVICE_VALUES: readonly TimedValue[] = Object.freeze([
  v('/3/0/0', 'string', 'Open Mobile Alliance'),
  v('/3/0/1', 'string', 'Lightweight M2M Client'),
  v('/3/0/2', 'string', '345000123'),
  v('/3/0/3', 'string', '1.0'),
  v('/3/0/6/0', 'integer', 1),
  v('/3/0/6/1', 'integer', 5),
  v('/3/0/7/0', 'integer', 3800),
  v('/3/0/7/1', 'integer', 5000),
  v('/3/0/8/0', 'integer', 125),
  v('/3/0/8/1', 'integer', 900),
  v('/3/0/9', 'integer', 100),
  v('/3/0/10', 'integer', 15),
  v('/3/0/11/0', 'integer', 0),
  v('/3/0/13', 'time', new Date(1_367_491_215_000)),
  v('/3/0/14', 'string', '+02:00'),
  v('/3/0/16', 'string', 'U'),
]);
