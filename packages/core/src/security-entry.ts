import { InvalidValueError } from './errors.js';

/**
 * An endpoint's credentials: a pre-shared key over DTLS, or explicitly none (plain CoAP allowed
 * even where unknown plain-CoAP clients are refused). What the server's security stores (in
 * memory, file, Redis) keep; the server calls it `SecurityInfo`.
 */
export type SecurityEntry =
  | {
      readonly endpoint: string;
      readonly mode: 'psk';
      readonly identity: string;
      readonly key: Uint8Array;
    }
  | { readonly endpoint: string; readonly mode: 'nosec' };

/**
 * How messages about security entries show a value: a string quoted (cut after 64 characters),
 * anything else by its kind (`null`, `an array`, `a number`), so a key never ends up in a log.
 */
export function describeSecurityValue(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  }
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/** The message of the error a store raises when another endpoint already holds a PSK identity. */
export function identityInUseMessage(identity: unknown, holderEndpoint: unknown): string {
  return `PSK identity ${describeSecurityValue(identity)} is already used by endpoint ${describeSecurityValue(holderEndpoint)}`;
}

/**
 * Checks a security entry and returns a frozen copy holding only its own fields and its own copy
 * of the key, so later changes to the caller's object or key bytes do not reach a store.
 * Throws `InvalidValueError` (4.00) naming the bad field.
 */
export function normalizeSecurityEntry(info: SecurityEntry): SecurityEntry {
  const show = describeSecurityValue;
  if (typeof info !== 'object' || info === null) {
    throw new InvalidValueError(`a security entry must be an object, got ${show(info)}`);
  }
  const { endpoint, mode } = info as { endpoint: unknown; mode: unknown };
  if (typeof endpoint !== 'string' || endpoint.length === 0) {
    throw new InvalidValueError(
      `security entry: endpoint must be a non-empty string, got ${show(endpoint)}`,
    );
  }
  if (mode === 'nosec') return Object.freeze({ endpoint, mode });
  if (mode !== 'psk') {
    throw new InvalidValueError(
      `security entry of ${show(endpoint)}: mode must be "psk" or "nosec", got ${show(mode)}`,
    );
  }
  const { identity, key } = info as { identity: unknown; key: unknown };
  if (typeof identity !== 'string' || identity.length === 0) {
    throw new InvalidValueError(
      `security entry of ${show(endpoint)}: PSK identity must be a non-empty string, got ${show(identity)}`,
    );
  }
  if (!(key instanceof Uint8Array) || key.length === 0) {
    throw new InvalidValueError(
      `security entry of ${show(endpoint)}: PSK key must be a non-empty Uint8Array`,
    );
  }
  return Object.freeze({ endpoint, mode, identity, key: Uint8Array.from(key) });
}
