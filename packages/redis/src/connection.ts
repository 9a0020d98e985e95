import { createHash } from 'node:crypto';
import { Redis, type RedisOptions, ReplyError } from 'ioredis';
import { StoreUnavailableError } from './errors.js';

/** Default key prefix: every key and channel these stores use starts with it. */
export const DEFAULT_KEY_PREFIX = 'lwm2m:';

/** Default bound, in ms, on waiting for a connection and on each command's reply. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** Options every Redis store (and the event bus) takes. */
export interface RedisStoreOptions {
  /**
   * An ioredis client to use, which `close()` leaves open (share one between several stores), or
   * a `redis://` / `rediss://` URL to connect to, whose connection `close()` ends.
   */
  readonly redis: Redis | string;
  /**
   * Prefix of every key (and pub/sub channel), default `lwm2m:`, so several deployments can share
   * one Redis. On Redis Cluster use a hash tag (`{lwm2m}:`) so all keys sit in one slot: the
   * stores' Lua scripts touch several keys at once.
   */
  readonly keyPrefix?: string;
  /**
   * How long an operation may wait for the connection to be ready, and then for each reply,
   * before it fails with `StoreUnavailableError` (default 5000 ms).
   */
  readonly timeoutMs?: number;
  /** Extra ioredis options when `redis` is a URL (laid over {@link recommendedRedisOptions}). */
  readonly redisOptions?: RedisOptions;
}

/**
 * The ioredis options the stores use for the connections they open, and recommend for clients
 * handed to them:
 *
 * - no offline queue and no resending of unanswered commands after a reconnect: a command never
 *   runs later than the caller was told it failed, and a write is never run twice behind its back;
 * - `commandTimeout`: a reply that does not come in time fails the command;
 * - reconnect forever, backing off from 50 ms to at most 1 s, so the store recovers by itself
 *   when Redis comes back.
 */
export function recommendedRedisOptions(timeoutMs: number = DEFAULT_TIMEOUT_MS): RedisOptions {
  return {
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: timeoutMs,
    connectTimeout: timeoutMs,
    retryStrategy: (attempt: number) => Math.min(50 * attempt, 1000),
  };
}

/** A new ioredis client on `url` with {@link recommendedRedisOptions} (and `options` over them). */
export function createRedisClient(
  url: string,
  options: RedisOptions = {},
  timeoutMs: number = DEFAULT_TIMEOUT_MS,
): Redis {
  return new Redis(url, { ...recommendedRedisOptions(timeoutMs), ...options });
}

/** A Lua script run with EVALSHA, falling back to EVAL when Redis does not have it (NOSCRIPT). */
export class LuaScript {
  readonly sha: string;
  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

/** Reply errors that mean "not now" rather than "wrong": the store is unavailable. */
const TRANSIENT_REPLY =
  /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|MISCONF)\b/;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isReplyError(err: unknown): err is Error {
  return err instanceof (ReplyError as new (...args: never[]) => Error);
}

/**
 * What the stores track of one ioredis client, shared by every store using it (one pair of
 * listeners per client however many stores share it): the last connection error, for messages,
 * and the operations waiting for it to be ready.
 */
class ClientState {
  static readonly #all = new WeakMap<Redis, ClientState>();
  lastError: Error | undefined;
  readonly waiters = new Set<() => void>();
  #refs = 0;
  readonly #onError = (err: Error) => {
    this.lastError = err;
  };
  readonly #onReady = () => {
    this.lastError = undefined;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  };

  private constructor(readonly client: Redis) {}

  static acquire(client: Redis): ClientState {
    let state = ClientState.#all.get(client);
    if (state === undefined) {
      state = new ClientState(client);
      ClientState.#all.set(client, state);
    }
    if (state.#refs++ === 0) {
      client.on('error', state.#onError);
      client.on('ready', state.#onReady);
    }
    return state;
  }

  release(): void {
    if (--this.#refs > 0) return;
    this.client.off('error', this.#onError);
    this.client.off('ready', this.#onReady);
    ClientState.#all.delete(this.client);
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }
}

/**
 * One Redis connection as the stores use it: borrowed or owned, keys under a prefix, every
 * command bounded in time, connection failures turned into `StoreUnavailableError`.
 */
export class RedisConnection {
  readonly client: Redis;
  readonly keyPrefix: string;
  readonly timeoutMs: number;
  /** True when this connection opened `client` itself (so `close()` quits it). */
  readonly owned: boolean;
  #closed = false;
  readonly #state: ClientState;

  /**
   * `own`: close a client handed in as if this connection had opened it (for a duplicate made
   * for this connection alone).
   */
  constructor(options: RedisStoreOptions, own = false) {
    const prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    if (typeof prefix !== 'string') throw new TypeError('keyPrefix must be a string');
    this.keyPrefix = prefix;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new RangeError(`timeoutMs must be a positive number, got ${timeoutMs}`);
    }
    this.timeoutMs = timeoutMs;
    if (typeof options.redis === 'string') {
      this.client = createRedisClient(options.redis, options.redisOptions, timeoutMs);
      this.owned = true;
    } else if (options.redis instanceof Redis) {
      if (options.redis.options.keyPrefix) {
        // ioredis would prefix declared keys but not those the Lua scripts build.
        throw new TypeError(
          'the ioredis client must not have its own keyPrefix: give keyPrefix to the store instead',
        );
      }
      this.client = options.redis;
      this.owned = own;
    } else {
      throw new TypeError('redis must be an ioredis client or a redis:// URL');
    }
    this.#state = ClientState.acquire(this.client);
  }

  /** `prefix + name`. */
  key(name: string): string {
    return this.keyPrefix + name;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Where the client connects, for messages. */
  get address(): string {
    const o = this.client.options;
    return o.path ? `unix:${o.path}` : `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`;
  }

  /**
   * Runs `op` once the connection is ready, bounded by `timeoutMs` for the wait and again for the
   * operation; connection failures and transient reply errors (LOADING, BUSY, READONLY, …) reject
   * with `StoreUnavailableError`, other reply errors as they are.
   */
  async run<T>(what: string, op: (client: Redis) => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreUnavailableError(`Redis store is closed (${what})`);
    await this.#ready(what);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new StoreUnavailableError(
              `Redis at ${this.address} did not answer within ${this.timeoutMs} ms (${what})`,
            ),
          ),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([op(this.client), timeout]);
    } catch (err) {
      throw this.#translate(err, what);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs a Lua script (EVALSHA, then EVAL on NOSCRIPT, as after a Redis restart). */
  eval(
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    return this.run(script.name, async (c) => {
      try {
        return await c.evalsha(script.sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (isReplyError(err) && err.message.startsWith('NOSCRIPT')) {
          return await c.eval(script.source, keys.length, ...keys, ...args);
        }
        throw err;
      }
    });
  }

  /** Quits the client if this connection opened it; a borrowed client stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#state.release();
    if (!this.owned) return;
    await closeClient(this.client, this.timeoutMs);
  }

  #ready(what: string): Promise<void> {
    const c = this.client;
    if (c.status === 'ready') return Promise.resolve();
    if (c.status === 'wait') c.connect().catch(() => {}); // lazyConnect clients
    if (c.status === 'end') {
      // An ended client (quit or disconnected by its owner) never reconnects.
      return Promise.reject(
        new StoreUnavailableError(`the Redis client for ${this.address} was closed (${what})`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#state.waiters.delete(done);
        if (this.#closed) reject(new StoreUnavailableError(`Redis store is closed (${what})`));
        else resolve();
      };
      const timer = setTimeout(() => {
        this.#state.waiters.delete(done);
        const lastError = this.#state.lastError;
        const why = lastError ? `: ${lastError.message}` : '';
        reject(
          new StoreUnavailableError(
            `Redis at ${this.address} is unavailable (${c.status} for ${this.timeoutMs} ms${why}) (${what})`,
            lastError ? { cause: lastError } : undefined,
          ),
        );
      }, this.timeoutMs);
      this.#state.waiters.add(done);
    });
  }

  #translate(err: unknown, what: string): unknown {
    if (err instanceof StoreUnavailableError) return err;
    if (isReplyError(err)) {
      if (TRANSIENT_REPLY.test(err.message)) {
        return new StoreUnavailableError(
          `Redis at ${this.address} cannot serve now (${err.message}) (${what})`,
          { cause: err },
        );
      }
      return err;
    }
    if (err instanceof Error) {
      // Connection closed, stream not writeable, command timed out, max retries, socket errors:
      // the command may or may not have reached Redis.
      return new StoreUnavailableError(
        `Redis at ${this.address} is unavailable (${errorText(err)}) (${what})`,
        { cause: err },
      );
    }
    return err;
  }
}

/** QUIT when connected (bounded), else drop the connection and stop reconnecting. */
export async function closeClient(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.quit(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('QUIT timed out')), timeoutMs);
        }),
      ]);
    } catch {
      // fall through to disconnect
    } finally {
      clearTimeout(timer);
    }
  }
  // QUIT may have ended it meanwhile (TypeScript narrowed the status before the await).
  if ((client.status as string) !== 'end') {
    // Between reconnect attempts there is no socket: disconnect() only cancels the next attempt
    // and ioredis emits no 'end' then, so there is nothing to wait for.
    const idle = client.status === 'reconnecting';
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    client.disconnect(false);
    if (idle) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      ended,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 1000);
      }),
    ]);
    clearTimeout(timer);
  }
}

/** Parses a stored JSON value. */
export function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new TypeError(`stored ${what} is not valid JSON: ${errorText(err)}`, { cause: err });
  }
}

/** A score argument for ZRANGEBYSCORE / ZADD. */
export function scoreArg(n: number): string {
  if (n === Number.POSITIVE_INFINITY) return '+inf';
  if (n === Number.NEGATIVE_INFINITY) return '-inf';
  return String(n);
}

/** Values of `MGET` for many keys, in chunks so no single reply is huge. */
export async function mgetChunked(
  conn: RedisConnection,
  keys: readonly string[],
  what: string,
  chunk = 1000,
): Promise<(string | null)[]> {
  const out: (string | null)[] = [];
  for (let i = 0; i < keys.length; i += chunk) {
    const part = keys.slice(i, i + chunk);
    out.push(...(await conn.run(what, (c) => c.mget(...part))));
  }
  return out;
}

/** A Lua reply that should be an array of strings (nil/false replies become empty). */
export function strings(reply: unknown): string[] {
  if (!Array.isArray(reply)) return [];
  return reply.filter((v): v is string => typeof v === 'string');
}
