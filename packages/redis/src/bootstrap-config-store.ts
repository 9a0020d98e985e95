import {
  LuaScript,
  mgetChunked,
  parseJson,
  RedisConnection,
  type RedisStoreOptions,
  strings,
} from './connection.js';
import { IdentityInUseError } from './errors.js';

/** What the bootstrap config store needs of a configuration; `BootstrapConfig` has it. */
export interface BootstrapConfigLike {
  /** The DTLS identity that decides which configuration a device gets; unique across endpoints. */
  readonly bootstrapCredentials?: { readonly identity: string } | undefined;
}

/** One endpoint's configuration, as `list()` and `getByIdentity()` give them. */
export interface StoredBootstrapConfig<C> {
  readonly endpoint: string;
  readonly config: C;
}

// Keys: P bs:<endpoint> → configuration JSON; P bs-id:<identity> → endpoint; P bs-all → set of
// endpoints. ARGV[4] is '1' when the new configuration has an identity (ARGV[5]).

const IDENTITY_OF = `local function identityOf(json)
  local c = cjson.decode(json).bootstrapCredentials
  if type(c) == 'table' and type(c.identity) == 'string' then return c.identity end
  return nil
end
`;

const PUT = new LuaScript(
  'bootstrap config put',
  `${IDENTITY_OF}if ARGV[4] == '1' then
  local holder = redis.call('GET', ARGV[1] .. ARGV[5])
  if holder and holder ~= ARGV[2] then return {'clash', holder} end
end
local prev = redis.call('GET', KEYS[1])
if prev then
  local pid = identityOf(prev)
  if pid and redis.call('GET', ARGV[1] .. pid) == ARGV[2] then redis.call('DEL', ARGV[1] .. pid) end
end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[2])
if ARGV[4] == '1' then redis.call('SET', ARGV[1] .. ARGV[5], ARGV[2]) end
if prev then return {'ok', prev} end
return {'ok'}`,
);

const DELETE = new LuaScript(
  'bootstrap config delete',
  `${IDENTITY_OF}local prev = redis.call('GET', KEYS[1])
if not prev then return {} end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
local pid = identityOf(prev)
if pid and redis.call('GET', ARGV[1] .. pid) == ARGV[2] then redis.call('DEL', ARGV[1] .. pid) end
return {prev}`,
);

const GET_BY_IDENTITY = new LuaScript(
  'bootstrap config getByIdentity',
  `local ep = redis.call('GET', KEYS[1])
if not ep then return {} end
local cur = redis.call('GET', ARGV[1] .. ep)
if not cur then return {} end
return {ep, cur}`,
);

/**
 * Bootstrap configurations in Redis, shared by several bootstrap server processes; the semantics
 * of the bootstrap server's in-memory store. It keeps what it is given (validate before `put`),
 * as JSON; `put` rejects with `IdentityInUseError` (409) when another endpoint already has the
 * same `bootstrapCredentials.identity`, atomically across processes.
 */
export class RedisBootstrapConfigStore<C extends BootstrapConfigLike = BootstrapConfigLike> {
  readonly #conn: RedisConnection;

  constructor(options: RedisStoreOptions) {
    this.#conn = new RedisConnection(options);
  }

  get connection(): RedisConnection {
    return this.#conn;
  }

  async get(endpoint: string): Promise<C | undefined> {
    const c = this.#conn;
    const json = await c.run('bootstrap config get', (cl) => cl.get(c.key(`bs:${endpoint}`)));
    return json === null ? undefined : parseJson<C>(json, 'bootstrap configuration');
  }

  /** Stores `config` for `endpoint`; resolves with the configuration it replaced. */
  async put(endpoint: string, config: C): Promise<C | undefined> {
    if (typeof endpoint !== 'string') throw new TypeError('endpoint must be a string');
    if (typeof config !== 'object' || config === null) {
      throw new TypeError('a bootstrap configuration must be an object');
    }
    const identity = config.bootstrapCredentials?.identity;
    const c = this.#conn;
    const reply = strings(
      await c.eval(
        PUT,
        [c.key(`bs:${endpoint}`), c.key('bs-all')],
        [
          c.key('bs-id:'),
          endpoint,
          JSON.stringify(config),
          identity === undefined ? '0' : '1',
          identity ?? '',
        ],
      ),
    );
    if (reply[0] === 'clash') {
      throw new IdentityInUseError(
        `bootstrapCredentials.identity ${JSON.stringify(identity)} is already used by endpoint ${JSON.stringify(reply[1])}`,
      );
    }
    return reply[1] === undefined ? undefined : parseJson<C>(reply[1], 'bootstrap configuration');
  }

  /** Resolves with the removed configuration, or undefined when there was none. */
  async delete(endpoint: string): Promise<C | undefined> {
    const c = this.#conn;
    const reply = strings(
      await c.eval(DELETE, [c.key(`bs:${endpoint}`), c.key('bs-all')], [c.key('bs-id:'), endpoint]),
    );
    return reply[0] === undefined ? undefined : parseJson<C>(reply[0], 'bootstrap configuration');
  }

  /** Every configuration, sorted by endpoint name (as JavaScript compares strings). */
  async list(): Promise<readonly StoredBootstrapConfig<C>[]> {
    const c = this.#conn;
    const endpoints = await c.run('bootstrap config list', (cl) => cl.smembers(c.key('bs-all')));
    endpoints.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const values = await mgetChunked(
      c,
      endpoints.map((e) => c.key(`bs:${e}`)),
      'bootstrap config list',
    );
    const out: StoredBootstrapConfig<C>[] = [];
    values.forEach((v, i) => {
      if (v !== null) {
        out.push({ endpoint: endpoints[i]!, config: parseJson<C>(v, 'bootstrap configuration') });
      }
    });
    return out;
  }

  /** The endpoint whose `bootstrapCredentials.identity` is `identity`. */
  async getByIdentity(identity: string): Promise<StoredBootstrapConfig<C> | undefined> {
    const c = this.#conn;
    const reply = strings(
      await c.eval(GET_BY_IDENTITY, [c.key(`bs-id:${identity}`)], [c.key('bs:')]),
    );
    if (reply[0] === undefined || reply[1] === undefined) return undefined;
    return { endpoint: reply[0], config: parseJson<C>(reply[1], 'bootstrap configuration') };
  }

  async close(): Promise<void> {
    await this.#conn.close();
  }
}
