import {
  LuaScript,
  parseJson,
  RedisConnection,
  type RedisStoreOptions,
  strings,
} from './connection.js';

// Keys: P queue:<registrationId> → list of request descriptors as JSON, oldest first.

const PUSH = new LuaScript(
  'queue push',
  `local max = tonumber(ARGV[2])
if max >= 0 and redis.call('LLEN', KEYS[1]) >= max then return -1 end
return redis.call('RPUSH', KEYS[1], ARGV[1])`,
);

const TAKE_ALL = new LuaScript(
  'queue takeAll',
  `local items = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return items`,
);

/**
 * Queue-mode state shared by a cluster: per registration, the descriptors of the requests waiting
 * for a sleeping client (plain data: what to send, not a callback), so whichever process the
 * client wakes up at can send them. `takeAll` hands the whole queue to one process only.
 */
export class RedisQueueStore<D = unknown> {
  readonly #conn: RedisConnection;

  constructor(options: RedisStoreOptions) {
    this.#conn = new RedisConnection(options);
  }

  get connection(): RedisConnection {
    return this.#conn;
  }

  /**
   * Appends a descriptor to the registration's queue; resolves with the queue's new length, or
   * undefined (nothing added) when it already holds `maxLength` descriptors.
   */
  async push(
    registrationId: string,
    descriptor: D,
    maxLength?: number,
  ): Promise<number | undefined> {
    if (maxLength !== undefined && !(Number.isInteger(maxLength) && maxLength >= 0)) {
      throw new RangeError(`maxLength must be a non-negative integer, got ${maxLength}`);
    }
    const c = this.#conn;
    const n = Number(
      await c.eval(
        PUSH,
        [c.key(`queue:${registrationId}`)],
        [JSON.stringify(descriptor), maxLength ?? -1],
      ),
    );
    return n < 0 ? undefined : n;
  }

  /** Removes and returns the oldest descriptor. */
  async shift(registrationId: string): Promise<D | undefined> {
    const c = this.#conn;
    const json = await c.run('queue shift', (cl) => cl.lpop(c.key(`queue:${registrationId}`)));
    return json === null ? undefined : parseJson<D>(json, 'queued request');
  }

  /** Removes and returns every descriptor, oldest first (one caller of many gets them). */
  async takeAll(registrationId: string): Promise<D[]> {
    const c = this.#conn;
    const reply = await c.eval(TAKE_ALL, [c.key(`queue:${registrationId}`)], []);
    return strings(reply).map((j) => parseJson<D>(j, 'queued request'));
  }

  /** The descriptors waiting, oldest first, without removing them. */
  async list(registrationId: string): Promise<D[]> {
    const c = this.#conn;
    const items = await c.run('queue list', (cl) =>
      cl.lrange(c.key(`queue:${registrationId}`), 0, -1),
    );
    return items.map((j) => parseJson<D>(j, 'queued request'));
  }

  async length(registrationId: string): Promise<number> {
    const c = this.#conn;
    return c.run('queue length', (cl) => cl.llen(c.key(`queue:${registrationId}`)));
  }

  async close(): Promise<void> {
    await this.#conn.close();
  }
}
