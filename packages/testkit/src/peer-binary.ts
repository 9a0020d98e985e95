import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** The environment variable CI sets so that a missing interop peer fails instead of skipping. */
export const REQUIRE_INTEROP_ENV = 'LWM2M_REQUIRE_INTEROP';

/** True when `LWM2M_REQUIRE_INTEROP` is `1` (or `true`): missing peers must fail the run. */
export function interopRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env[REQUIRE_INTEROP_ENV]?.trim().toLowerCase();
  return value === '1' || value === 'true';
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The absolute path of an executable called `name` on `PATH` (or `name` itself when it contains a
 * slash and is executable), else `undefined`.
 */
export function findPeerBinary(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (name.length === 0) return undefined;
  if (name.includes('/')) {
    const file = path.resolve(name);
    return isExecutableFile(file) ? file : undefined;
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const file = path.join(dir, name);
    if (isExecutableFile(file)) return file;
  }
  return undefined;
}

/** Thrown when an interop peer is missing while `LWM2M_REQUIRE_INTEROP=1`. */
export class MissingPeerError extends Error {
  constructor(readonly names: readonly string[]) {
    super(
      `interop peer${names.length === 1 ? '' : 's'} not found on PATH: ${names.join(', ')} ` +
        `(${REQUIRE_INTEROP_ENV}=1 makes this a failure; install them, e.g. Debian libcoap3-bin)`,
    );
    this.name = 'MissingPeerError';
  }
}

/** `{ path }` when the peer exists, else `{ skip: reason }`. Never throws. */
export function requirePeer(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): { path: string } | { skip: string } {
  const found = findPeerBinary(name, env);
  return found === undefined ? { skip: `${name} not found on PATH` } : { path: found };
}

const warned = new Set<string>();

function reportSkip(names: readonly string[], env: NodeJS.ProcessEnv): void {
  if (interopRequired(env)) throw new MissingPeerError(names);
  const key = names.join(',');
  if (warned.has(key)) return;
  warned.add(key);
  console.warn(
    `[testkit] skipping: ${names.join(', ')} not found on PATH ` +
      `(set ${REQUIRE_INTEROP_ENV}=1 to fail instead)`,
  );
}

/**
 * The peer's path, or `undefined` (with a one-time warning) so the test can skip; throws
 * {@link MissingPeerError} instead when `LWM2M_REQUIRE_INTEROP=1`. Call it at collection time:
 *
 * ```ts
 * const server = peerOrSkip('coap-server-openssl');
 * describe.skipIf(!server)('against libcoap (OpenSSL)', () => { ... });
 * ```
 */
export function peerOrSkip(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const found = findPeerBinary(name, env);
  if (found === undefined) reportSkip([name], env);
  return found;
}

/**
 * All the named peers as `{ name: path }`, or `undefined` when any is missing (throws instead when
 * `LWM2M_REQUIRE_INTEROP=1`, naming every missing one).
 *
 * ```ts
 * const peers = peersOrSkip(['coap-client-gnutls', 'coap-server-gnutls']);
 * describe.skipIf(!peers)('gnutls', () => { it('...', () => peers!['coap-client-gnutls']) });
 * ```
 */
export function peersOrSkip<const N extends string>(
  names: readonly N[],
  env: NodeJS.ProcessEnv = process.env,
): Record<N, string> | undefined {
  const found: Partial<Record<N, string>> = {};
  const missing: N[] = [];
  for (const name of names) {
    const file = findPeerBinary(name, env);
    if (file === undefined) missing.push(name);
    else found[name] = file;
  }
  if (missing.length > 0) {
    reportSkip(missing, env);
    return undefined;
  }
  return found as Record<N, string>;
}
