/**
 * Bootstrap configurations on Redis for `lwm2m-bootstrap --store redis://…`: the
 * `RedisBootstrapConfigStore` of `@lwm2m-ts/redis`, an optional peer dependency imported only
 * here and only when asked for, so in-memory users never load it (or ioredis).
 */
import type { BootstrapConfig } from './config.js';
import type { BootstrapConfigStore } from './config-store.js';

export interface RedisConfigStoreOptions {
  /** `redis://` or `rediss://` URL. */
  readonly url: string;
  /** Prefix of every key (default `lwm2m:`). */
  readonly keyPrefix?: string;
  /** Bound on waiting for the connection and for each reply, in ms (default 5000). */
  readonly timeoutMs?: number;
}

/** `@lwm2m-ts/redis` is not installed: a message that says what to do. */
export class RedisPackageMissingError extends Error {
  constructor(cause: unknown) {
    super(
      'Redis stores need the @lwm2m-ts/redis package: install it next to @lwm2m-ts/bootstrap ' +
        '(npm install @lwm2m-ts/redis)',
      { cause },
    );
    this.name = 'RedisPackageMissingError';
  }
}

/**
 * A configuration store on Redis (its connection is made in the background; operations fail
 * with `StoreUnavailableError`, CoAP 5.03 / HTTP 503, while Redis cannot be reached). `close()`
 * ends the connection.
 */
export async function openRedisConfigStore(
  options: RedisConfigStoreOptions,
): Promise<BootstrapConfigStore> {
  let r: typeof import('@lwm2m-ts/redis');
  try {
    r = await import('@lwm2m-ts/redis');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new RedisPackageMissingError(err);
    }
    throw err;
  }
  return new r.RedisBootstrapConfigStore<BootstrapConfig>({
    redis: options.url,
    ...(options.keyPrefix !== undefined && { keyPrefix: options.keyPrefix }),
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
  });
}
