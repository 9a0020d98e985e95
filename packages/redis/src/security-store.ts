import { identityInUseMessage, normalizeSecurityEntry, type SecurityEntry } from '@lwm2m-ts/core';
import {
  LuaScript,
  mgetChunked,
  parseJson,
  RedisConnection,
  type RedisStoreOptions,
  strings,
} from './connection.js';
import { IdentityInUseError } from './errors.js';

// The entry type and its check live in core (shared with the server's stores); re-exported here
// because they were this package's API first.
export { normalizeSecurityEntry, type SecurityEntry };

/** How an entry sits in Redis: the key as hex. */
type StoredEntry =
  | { endpoint: string; mode: 'psk'; identity: string; key: string }
  | { endpoint: string; mode: 'nosec' };

function toStored(e: SecurityEntry): StoredEntry {
  return e.mode === 'psk'
    ? {
        endpoint: e.endpoint,
        mode: 'psk',
        identity: e.identity,
        key: Buffer.from(e.key.buffer, e.key.byteOffset, e.key.byteLength).toString('hex'),
      }
    : { endpoint: e.endpoint, mode: 'nosec' };
}

function fromStored(json: string): SecurityEntry {
  const s = parseJson<StoredEntry>(json, 'security entry');
  if (s.mode === 'psk') {
    return Object.freeze({
      endpoint: s.endpoint,
      mode: 'psk',
      identity: s.identity,
      key: Uint8Array.from(Buffer.from(s.key, 'hex')),
    });
  }
  return Object.freeze({ endpoint: s.endpoint, mode: 'nosec' });
}

// Keys: P sec:<endpoint> → entry JSON (key in hex); P sec-id:<identity> → endpoint;
// P sec-order → sorted set of endpoints scored by first insertion (from the counter P sec-seq),
// so list() keeps insertion order like the in-memory store, across processes.

const PUT = new LuaScript(
  'security put',
  `if ARGV[4] ~= '' then
  local holder = redis.call('GET', ARGV[1] .. ARGV[4])
  if holder and holder ~= ARGV[2] then return {'clash', holder} end
end
local prev = redis.call('GET', KEYS[1])
if prev then
  local pid = cjson.decode(prev).identity
  if type(pid) == 'string' and redis.call('GET', ARGV[1] .. pid) == ARGV[2] then
    redis.call('DEL', ARGV[1] .. pid)
  end
end
redis.call('SET', KEYS[1], ARGV[3])
if ARGV[4] ~= '' then redis.call('SET', ARGV[1] .. ARGV[4], ARGV[2]) end
if not redis.call('ZSCORE', KEYS[2], ARGV[2]) then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[2])
end
if prev then return {'ok', prev} end
return {'ok'}`,
);

const REMOVE = new LuaScript(
  'security remove',
  `local prev = redis.call('GET', KEYS[1])
if not prev then return {} end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
local pid = cjson.decode(prev).identity
if type(pid) == 'string' and redis.call('GET', ARGV[1] .. pid) == ARGV[2] then
  redis.call('DEL', ARGV[1] .. pid)
end
return {prev}`,
);

const GET_BY_IDENTITY = new LuaScript(
  'security getByIdentity',
  `local ep = redis.call('GET', KEYS[1])
if not ep then return {} end
local cur = redis.call('GET', ARGV[1] .. ep)
if not cur then return {} end
return {cur}`,
);

/**
 * Endpoint credentials (PSK entries) in Redis, shared by a cluster's processes. The semantics of
 * the server's in-memory store: `put` checks the entry (`InvalidValueError`), refuses an identity
 * another endpoint holds with `IdentityInUseError` (409) atomically across processes, frees the
 * replaced entry's identity, and stores its own copy (keys as hex); `list()` keeps insertion order.
 */
export class RedisSecurityStore {
  readonly #conn: RedisConnection;

  constructor(options: RedisStoreOptions) {
    this.#conn = new RedisConnection(options);
  }

  get connection(): RedisConnection {
    return this.#conn;
  }

  async getByEndpoint(endpoint: string): Promise<SecurityEntry | undefined> {
    const c = this.#conn;
    const json = await c.run('security get', (cl) => cl.get(c.key(`sec:${endpoint}`)));
    return json === null ? undefined : fromStored(json);
  }

  async getByIdentity(identity: string): Promise<SecurityEntry | undefined> {
    const c = this.#conn;
    const reply = strings(
      await c.eval(GET_BY_IDENTITY, [c.key(`sec-id:${identity}`)], [c.key('sec:')]),
    );
    return reply[0] === undefined ? undefined : fromStored(reply[0]);
  }

  async list(): Promise<readonly SecurityEntry[]> {
    const c = this.#conn;
    const endpoints = await c.run('security list', (cl) =>
      cl.zrange(c.key('sec-order'), '0', '-1'),
    );
    const values = await mgetChunked(
      c,
      endpoints.map((e) => c.key(`sec:${e}`)),
      'security list',
    );
    return values.filter((v): v is string => v !== null).map(fromStored);
  }

  /** Adds or replaces the endpoint's entry; returns the previous one. */
  async put(info: SecurityEntry): Promise<SecurityEntry | undefined> {
    const entry = normalizeSecurityEntry(info);
    const c = this.#conn;
    const reply = strings(
      await c.eval(
        PUT,
        [c.key(`sec:${entry.endpoint}`), c.key('sec-order'), c.key('sec-seq')],
        [
          c.key('sec-id:'),
          entry.endpoint,
          JSON.stringify(toStored(entry)),
          entry.mode === 'psk' ? entry.identity : '',
        ],
      ),
    );
    if (reply[0] === 'clash') {
      throw new IdentityInUseError(
        identityInUseMessage(entry.mode === 'psk' ? entry.identity : '', reply[1]),
      );
    }
    return reply[1] === undefined ? undefined : fromStored(reply[1]);
  }

  /** Removes and returns the endpoint's entry. */
  async remove(endpoint: string): Promise<SecurityEntry | undefined> {
    const c = this.#conn;
    const reply = strings(
      await c.eval(
        REMOVE,
        [c.key(`sec:${endpoint}`), c.key('sec-order')],
        [c.key('sec-id:'), endpoint],
      ),
    );
    return reply[0] === undefined ? undefined : fromStored(reply[0]);
  }

  async close(): Promise<void> {
    await this.#conn.close();
  }
}
