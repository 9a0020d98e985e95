import { expect } from 'vitest';

/** An error class, for `toBeInstanceOf` (each implementation has its own, e.g. `IdentityInUseError`). */
export type ErrorClass = abstract new (...args: never[]) => Error;

/** What a contract may ask of an implementation's store that is not in the interface. */
export type Awaitable<T> = T | Promise<T>;

/**
 * The assertion for "the store gave back this record": the very object where the store keeps
 * what it is given (`keepsObjects`, the in-memory stores), an equal copy otherwise.
 */
export function sameRecord(keepsObjects: boolean): (actual: unknown, expected: unknown) => void {
  return keepsObjects
    ? (actual, expected) => expect(actual).toBe(expected)
    : (actual, expected) => expect(actual).toEqual(expected);
}
