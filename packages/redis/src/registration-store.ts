import {
  LuaScript,
  mgetChunked,
  parseJson,
  RedisConnection,
  type RedisStoreOptions,
  scoreArg,
  strings,
} from './connection.js';
import { StoreUnavailableError } from './errors.js';

/** What the registration store needs of a record; the server's `Registration` has all of it. */
export interface RegistrationLike {
  readonly id: string;
  readonly endpoint: string;
  /** ms since 1970; the registration is removed by `removeExpired(now)` once `expiresAt <= now`. */
  readonly expiresAt: number;
}

export interface RedisRegistrationStoreOptions extends RedisStoreOptions {
  /** Registrations `removeExpired` takes per Lua call, so Redis is never blocked long (1000). */
  readonly expiryBatch?: number;
  /** Attempts of an `update` that keeps losing races before it gives up (default 1000). */
  readonly maxUpdateAttempts?: number;
  /**
   * Where a registration's device sends from (the server passes `transport|address|port`), for
   * `getByPeer`: a process that never saw a device's Register finds its registration when the
   * device's Send arrives there. Without it `getByPeer` finds nothing and no index is kept.
   */
  readonly peerOf?: (registration: never) => string | undefined;
}

// Keys (P = keyPrefix): P reg:<id> → the registration as JSON; P reg-ep:<endpoint> → its id;
// P reg-expiry → sorted set of ids scored by expiresAt. Every script keeps the three in step.
// With `peerOf`, P reg-peer:<peer> → the id of the registration last added or updated from that
// peer, expiring with it (PX): not removed with the registration, so `getByPeer` checks that the
// registration it leads to still comes from that peer.

const ADD = new LuaScript(
  'registration add',
  `local cur = redis.call('GET', KEYS[1])
if cur then
  local holder = cjson.decode(cur).endpoint
  if holder ~= ARGV[3] then return {'clash', holder} end
end
local prevId = redis.call('GET', KEYS[2])
local prev = nil
if prevId then
  local pk = ARGV[1] .. prevId
  prev = redis.call('GET', pk)
  redis.call('DEL', pk)
  redis.call('ZREM', KEYS[3], prevId)
end
redis.call('SET', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[2])
if ARGV[6] ~= '' then redis.call('SET', ARGV[6], ARGV[2], 'PX', ARGV[7]) end
if prev then return {'ok', prev} end
return {'ok'}`,
);

/** Compare-and-set: writes only if the stored JSON is still what `update` read. */
const UPDATE = new LuaScript(
  'registration update',
  `local cur = redis.call('GET', KEYS[1])
if not cur then return 'gone' end
if cur ~= ARGV[1] then return 'changed' end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
if ARGV[5] ~= '' then redis.call('SET', ARGV[5], ARGV[4], 'PX', ARGV[6]) end
return 'ok'`,
);

const REMOVE = new LuaScript(
  'registration remove',
  `local cur = redis.call('GET', KEYS[1])
if not cur then return {} end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
local ek = ARGV[1] .. cjson.decode(cur).endpoint
if redis.call('GET', ek) == ARGV[2] then redis.call('DEL', ek) end
return {cur}`,
);

/** The registration an index key (`reg-ep:<endpoint>` or `reg-peer:<peer>`) leads to. */
const GET_BY_INDEX = new LuaScript(
  'registration get by index',
  `local id = redis.call('GET', KEYS[1])
if not id then return {} end
local cur = redis.call('GET', ARGV[1] .. id)
if not cur then return {} end
return {cur}`,
);

/** Claims (removes) up to ARGV[4] expired registrations; returns {ids scanned, [json...]}. */
const REMOVE_EXPIRED = new LuaScript(
  'registration removeExpired',
  `local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local k = ARGV[1] .. id
  local cur = redis.call('GET', k)
  if cur then
    redis.call('DEL', k)
    local ek = ARGV[2] .. cjson.decode(cur).endpoint
    if redis.call('GET', ek) == id then redis.call('DEL', ek) end
    out[#out + 1] = cur
  end
end
return {#ids, out}`,
);

function checkExpiry(reg: RegistrationLike): void {
  if (!Number.isFinite(reg.expiresAt)) {
    throw new TypeError(
      `registration ${JSON.stringify(reg.id)} has a non-finite expiresAt (${reg.expiresAt})`,
    );
  }
}

function checkRecord(reg: RegistrationLike): void {
  if (typeof reg !== 'object' || reg === null)
    throw new TypeError('a registration must be an object');
  if (typeof reg.id !== 'string' || typeof reg.endpoint !== 'string') {
    throw new TypeError('a registration needs a string id and endpoint');
  }
  checkExpiry(reg);
}

/**
 * Registrations in Redis, shared by every server process of a cluster; the same semantics as the
 * server's in-memory store, made atomic across processes with Lua scripts:
 *
 * - `add` replaces and returns the endpoint's previous registration in one script;
 * - `update(id, change)` reads, applies `change` in this process, and writes with a
 *   compare-and-set script, retrying when another process changed the registration meanwhile.
 *   An update racing with an expiry either wins (the registration gets its new `expiresAt` and is
 *   not expired) or loses (the registration is gone and `update` resolves undefined); it is never
 *   silently overwritten;
 * - `remove` and `removeExpired` return each registration to one caller only, whichever process
 *   asks first: `removeExpired` claims expired ids from a sorted set scored by `expiresAt` and
 *   deletes them in the same script.
 *
 * Records are stored as JSON, so they must be plain data (the server's `Registration` is); what
 * the methods return are fresh copies parsed from Redis.
 */
export class RedisRegistrationStore<R extends RegistrationLike = RegistrationLike> {
  readonly #conn: RedisConnection;
  readonly #expiryBatch: number;
  readonly #maxAttempts: number;
  readonly #peerOf: ((registration: R) => string | undefined) | undefined;

  constructor(options: RedisRegistrationStoreOptions) {
    this.#conn = new RedisConnection(options);
    this.#peerOf = options.peerOf as ((registration: R) => string | undefined) | undefined;
    this.#expiryBatch = options.expiryBatch ?? 1000;
    this.#maxAttempts = options.maxUpdateAttempts ?? 1000;
    if (!(Number.isInteger(this.#expiryBatch) && this.#expiryBatch > 0)) {
      throw new RangeError(`expiryBatch must be a positive integer, got ${options.expiryBatch}`);
    }
    if (!(Number.isInteger(this.#maxAttempts) && this.#maxAttempts > 0)) {
      throw new RangeError(
        `maxUpdateAttempts must be a positive integer, got ${options.maxUpdateAttempts}`,
      );
    }
  }

  /** The connection (its client, prefix and bounds). */
  get connection(): RedisConnection {
    return this.#conn;
  }

  /**
   * Adds a registration; one the same endpoint held is removed and returned. Rejects with a
   * TypeError when the id is held by another endpoint or `expiresAt` is not finite.
   */
  async add(registration: R): Promise<R | undefined> {
    checkRecord(registration);
    const c = this.#conn;
    const json = JSON.stringify(registration);
    const reply = strings(
      await c.eval(
        ADD,
        [
          c.key(`reg:${registration.id}`),
          c.key(`reg-ep:${registration.endpoint}`),
          c.key('reg-expiry'),
        ],
        [
          c.key('reg:'),
          registration.id,
          registration.endpoint,
          json,
          scoreArg(registration.expiresAt),
          ...this.#peerArgs(registration),
        ],
      ),
    );
    if (reply[0] === 'clash') {
      throw new TypeError(
        `registration id ${JSON.stringify(registration.id)} is already used by endpoint ${JSON.stringify(reply[1])}`,
      );
    }
    return reply[1] === undefined ? undefined : this.#parse(reply[1]);
  }

  /**
   * Applies `change` to the registration with this id atomically: if another process changes or
   * removes it meanwhile, `change` runs again on the new value (so it must be a pure function of
   * its argument) or the update resolves undefined. `change` must keep `id` and `endpoint`.
   */
  async update(
    id: string,
    change: (current: R) => R,
  ): Promise<{ readonly before: R; readonly after: R } | undefined> {
    const c = this.#conn;
    const key = c.key(`reg:${id}`);
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const json = await c.run('registration get', (cl) => cl.get(key));
      if (json === null) return undefined;
      const before = this.#parse(json);
      const after = change(this.#parse(json));
      if (
        typeof after !== 'object' ||
        after === null ||
        after.id !== before.id ||
        after.endpoint !== before.endpoint
      ) {
        throw new TypeError(
          `a registration update must keep id and endpoint (${JSON.stringify(before.id)}, ${JSON.stringify(before.endpoint)}), got (${JSON.stringify(after?.id)}, ${JSON.stringify(after?.endpoint)})`,
        );
      }
      checkExpiry(after);
      // Written once and parsed back, so `after` is what Redis holds (undefined members gone).
      const afterJson = JSON.stringify(after);
      const status = await c.eval(
        UPDATE,
        [key, c.key('reg-expiry')],
        [json, afterJson, scoreArg(after.expiresAt), id, ...this.#peerArgs(after)],
      );
      if (status === 'ok') return { before, after: this.#parse(afterJson) };
      if (status === 'gone') return undefined;
      // 'changed': another process won this round; back off a little under heavy contention.
      if (attempt > 3)
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(attempt, 20)));
    }
    throw new StoreUnavailableError(
      `registration ${JSON.stringify(id)} changed under ${this.#maxAttempts} update attempts in a row`,
    );
  }

  /** Removes and returns it, or undefined when it was not there (one caller of many wins). */
  async remove(id: string): Promise<R | undefined> {
    const c = this.#conn;
    const reply = strings(
      await c.eval(REMOVE, [c.key(`reg:${id}`), c.key('reg-expiry')], [c.key('reg-ep:'), id]),
    );
    return reply[0] === undefined ? undefined : this.#parse(reply[0]);
  }

  /**
   * The registration whose device sends from `peer` (as `peerOf` gives it), if it still does;
   * undefined without `peerOf`.
   */
  async getByPeer(peer: string): Promise<R | undefined> {
    const peerOf = this.#peerOf;
    if (peerOf === undefined) return undefined;
    const c = this.#conn;
    const reply = strings(await c.eval(GET_BY_INDEX, [c.key(`reg-peer:${peer}`)], [c.key('reg:')]));
    if (reply[0] === undefined) return undefined;
    const reg = this.#parse(reply[0]);
    // The index is not cleaned when a registration goes or moves: check it is still right.
    return peerOf(reg) === peer ? reg : undefined;
  }

  /** The peer index's key and time to live for `reg` (two empty strings: none). */
  #peerArgs(reg: R): [string, string] {
    const peer = this.#peerOf?.(reg);
    if (peer === undefined) return ['', ''];
    const ttl = Math.max(1, Math.ceil(reg.expiresAt - Date.now()));
    return [this.#conn.key(`reg-peer:${peer}`), String(ttl)];
  }

  async getById(id: string): Promise<R | undefined> {
    const c = this.#conn;
    const json = await c.run('registration get', (cl) => cl.get(c.key(`reg:${id}`)));
    return json === null ? undefined : this.#parse(json);
  }

  async getByEndpoint(endpoint: string): Promise<R | undefined> {
    const c = this.#conn;
    const reply = strings(
      await c.eval(GET_BY_INDEX, [c.key(`reg-ep:${endpoint}`)], [c.key('reg:')]),
    );
    return reply[0] === undefined ? undefined : this.#parse(reply[0]);
  }

  /** Every registration held (ids from the expiry set, records fetched in chunks of 1000). */
  async list(): Promise<readonly R[]> {
    const c = this.#conn;
    const ids = await c.run('registration list', (cl) => cl.zrange(c.key('reg-expiry'), '0', '-1'));
    const values = await mgetChunked(
      c,
      ids.map((id) => c.key(`reg:${id}`)),
      'registration list',
    );
    const out: R[] = [];
    for (const v of values) if (v !== null) out.push(this.#parse(v));
    return out;
  }

  /** How many registrations are held. */
  async count(): Promise<number> {
    const c = this.#conn;
    return c.run('registration count', (cl) => cl.zcard(c.key('reg-expiry')));
  }

  /**
   * Removes and returns every registration with `expiresAt <= now`. Each is returned once only,
   * across all processes sharing the store: the script that claims an id also deletes it.
   */
  async removeExpired(now: number): Promise<readonly R[]> {
    if (Number.isNaN(now)) return [];
    const c = this.#conn;
    const expired: R[] = [];
    for (;;) {
      const reply = await c.eval(
        REMOVE_EXPIRED,
        [c.key('reg-expiry')],
        [c.key('reg:'), c.key('reg-ep:'), scoreArg(now), this.#expiryBatch],
      );
      const [scanned, jsons] = Array.isArray(reply) ? reply : [0, []];
      for (const json of strings(jsons)) expired.push(this.#parse(json));
      if (Number(scanned) < this.#expiryBatch) return expired;
    }
  }

  /** The earliest `expiresAt` held, undefined when none. */
  async nextExpiry(): Promise<number | undefined> {
    const c = this.#conn;
    const reply = await c.run('registration nextExpiry', (cl) =>
      cl.zrange(c.key('reg-expiry'), '0', '0', 'WITHSCORES'),
    );
    return reply[1] === undefined ? undefined : Number(reply[1]);
  }

  /** Ends the connection if the store opened it (a client handed in stays open). */
  async close(): Promise<void> {
    await this.#conn.close();
  }

  #parse(json: string): R {
    return parseJson<R>(json, 'registration');
  }
}
