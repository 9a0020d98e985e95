import {
  LuaScript,
  parseJson,
  RedisConnection,
  type RedisStoreOptions,
  strings,
} from './connection.js';

/** What the observation store needs of a record; the server's `ObservationRecord` has it. */
export interface ObservationLike {
  /** The CoAP token in hex: what a notification arriving at any process is matched by. */
  readonly id: string;
  readonly registrationId: string;
}

// Keys: P obs:<id> → the observation as JSON; P obs-reg:<registrationId> → set of its ids.

const ADD = new LuaScript(
  'observation add',
  `local cur = redis.call('GET', KEYS[1])
if cur then
  local old = cjson.decode(cur).registrationId
  if old ~= ARGV[3] then
    local ok = ARGV[1] .. old
    redis.call('SREM', ok, ARGV[2])
  end
end
redis.call('SET', KEYS[1], ARGV[4])
redis.call('SADD', ARGV[1] .. ARGV[3], ARGV[2])
return 1`,
);

const LIST_BY_REGISTRATION = new LuaScript(
  'observation listByRegistration',
  `local ids = redis.call('SMEMBERS', KEYS[1])
local out = {}
for _, id in ipairs(ids) do
  local cur = redis.call('GET', ARGV[1] .. id)
  if cur then out[#out + 1] = cur end
end
return out`,
);

const REMOVE = new LuaScript(
  'observation remove',
  `local cur = redis.call('GET', KEYS[1])
if not cur then return {} end
redis.call('DEL', KEYS[1])
redis.call('SREM', ARGV[1] .. cjson.decode(cur).registrationId, ARGV[2])
return {cur}`,
);

const REMOVE_BY_REGISTRATION = new LuaScript(
  'observation removeByRegistration',
  `local ids = redis.call('SMEMBERS', KEYS[1])
local out = {}
for _, id in ipairs(ids) do
  local k = ARGV[1] .. id
  local cur = redis.call('GET', k)
  if cur then
    redis.call('DEL', k)
    out[#out + 1] = cur
  end
end
redis.call('DEL', KEYS[1])
return out`,
);

/**
 * Observations in Redis, by id (the token in hex) so a notification reaching any process of a
 * cluster finds its observation, with an index per registration; the semantics of the server's
 * in-memory store. Adding an id already held replaces it, moving it to its new registration if
 * need be; `remove` and `removeByRegistration` return each observation to one caller only.
 * Records are stored as JSON (plain data).
 */
export class RedisObservationStore<O extends ObservationLike = ObservationLike> {
  readonly #conn: RedisConnection;

  constructor(options: RedisStoreOptions) {
    this.#conn = new RedisConnection(options);
  }

  get connection(): RedisConnection {
    return this.#conn;
  }

  async add(observation: O): Promise<void> {
    if (
      typeof observation !== 'object' ||
      observation === null ||
      typeof observation.id !== 'string' ||
      typeof observation.registrationId !== 'string'
    ) {
      throw new TypeError('an observation needs a string id and registrationId');
    }
    const c = this.#conn;
    await c.eval(
      ADD,
      [c.key(`obs:${observation.id}`)],
      [c.key('obs-reg:'), observation.id, observation.registrationId, JSON.stringify(observation)],
    );
  }

  async get(id: string): Promise<O | undefined> {
    const c = this.#conn;
    const json = await c.run('observation get', (cl) => cl.get(c.key(`obs:${id}`)));
    return json === null ? undefined : parseJson<O>(json, 'observation');
  }

  async listByRegistration(registrationId: string): Promise<readonly O[]> {
    const c = this.#conn;
    const reply = await c.eval(
      LIST_BY_REGISTRATION,
      [c.key(`obs-reg:${registrationId}`)],
      [c.key('obs:')],
    );
    return strings(reply).map((j) => parseJson<O>(j, 'observation'));
  }

  /** Removes and returns it, or undefined when it was not there. */
  async remove(id: string): Promise<O | undefined> {
    const c = this.#conn;
    const reply = strings(await c.eval(REMOVE, [c.key(`obs:${id}`)], [c.key('obs-reg:'), id]));
    return reply[0] === undefined ? undefined : parseJson<O>(reply[0], 'observation');
  }

  /** Removes and returns all observations of a registration. */
  async removeByRegistration(registrationId: string): Promise<readonly O[]> {
    const c = this.#conn;
    const reply = await c.eval(
      REMOVE_BY_REGISTRATION,
      [c.key(`obs-reg:${registrationId}`)],
      [c.key('obs:')],
    );
    return strings(reply).map((j) => parseJson<O>(j, 'observation'));
  }

  async close(): Promise<void> {
    await this.#conn.close();
  }
}
