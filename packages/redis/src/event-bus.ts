import { Redis } from 'ioredis';
import { createRedisClient, RedisConnection, type RedisStoreOptions } from './connection.js';

/** Receives one message published on a channel, parsed from JSON. */
export type EventHandler<T = unknown> = (message: T, channel: string) => void;

export interface RedisEventBusOptions extends RedisStoreOptions {
  /**
   * Called when a received message is not valid JSON or a handler throws (default: ignored, the
   * other handlers still run).
   */
  readonly onError?: (error: unknown, channel: string) => void;
}

/**
 * Publish/subscribe between the processes of a cluster over Redis pub/sub, for events every
 * process must see (a registration through process B shown on process A's SSE stream).
 *
 * Messages are JSON; channels are put under the key prefix (`lwm2m:events:<channel>`), so
 * deployments sharing a Redis do not hear each other. Subscriptions use a connection of their
 * own (a connection in subscriber mode can send nothing else) and are renewed by ioredis after a
 * reconnect. Redis pub/sub delivers at most once: a message published while a subscriber is
 * disconnected is lost to it, so use it for notifications, never as the record of state (the
 * stores are that).
 */
export class RedisEventBus {
  readonly #pub: RedisConnection;
  readonly #sub: RedisConnection;
  readonly #handlers = new Map<string, Set<EventHandler<never>>>();
  readonly #subscribing = new Map<string, Promise<void>>();
  readonly #onError: (error: unknown, channel: string) => void;

  constructor(options: RedisEventBusOptions) {
    this.#pub = new RedisConnection(options);
    const subClient =
      options.redis instanceof Redis
        ? options.redis.duplicate()
        : createRedisClient(options.redis, options.redisOptions, this.#pub.timeoutMs);
    this.#sub = new RedisConnection({ ...options, redis: subClient }, true);
    this.#onError = options.onError ?? (() => {});
    subClient.on('message', (channel: string, message: string) => this.#deliver(channel, message));
  }

  /** The channel's name in Redis. */
  channelName(channel: string): string {
    return this.#pub.key(`events:${channel}`);
  }

  /** Publishes `message` as JSON; resolves with the number of subscribed connections reached. */
  async publish(channel: string, message: unknown): Promise<number> {
    const json = JSON.stringify(message);
    if (json === undefined) throw new TypeError('the message must be JSON-serializable');
    const name = this.channelName(channel);
    return this.#pub.run('publish', (c) => c.publish(name, json));
  }

  /**
   * Calls `handler` for every message on `channel` from now on (resolves once Redis has confirmed
   * the subscription); resolves with a function that removes this handler again.
   */
  async subscribe<T = unknown>(
    channel: string,
    handler: EventHandler<T>,
  ): Promise<() => Promise<void>> {
    const name = this.channelName(channel);
    let set = this.#handlers.get(name);
    if (set === undefined) {
      set = new Set();
      this.#handlers.set(name, set);
    }
    set.add(handler as EventHandler<never>);
    let pending = this.#subscribing.get(name);
    if (pending === undefined) {
      pending = this.#sub.run('subscribe', async (c) => {
        await c.subscribe(name);
      });
      this.#subscribing.set(name, pending);
      pending.catch(() => this.#subscribing.delete(name));
    }
    try {
      await pending;
    } catch (err) {
      set.delete(handler as EventHandler<never>);
      if (set.size === 0) this.#handlers.delete(name);
      throw err;
    }
    let removed = false;
    return async () => {
      if (removed) return;
      removed = true;
      const handlers = this.#handlers.get(name);
      handlers?.delete(handler as EventHandler<never>);
      if (handlers === undefined || handlers.size > 0) return;
      this.#handlers.delete(name);
      this.#subscribing.delete(name);
      if (!this.#sub.closed) {
        await this.#sub.run('unsubscribe', async (c) => {
          await c.unsubscribe(name);
        });
      }
    };
  }

  /** Ends the subscriber connection, and the publisher's if the bus opened it. */
  async close(): Promise<void> {
    this.#handlers.clear();
    this.#subscribing.clear();
    await Promise.all([this.#sub.close(), this.#pub.close()]);
  }

  #deliver(name: string, message: string): void {
    const handlers = this.#handlers.get(name);
    if (handlers === undefined) return;
    const channel = name.slice(this.#pub.key('events:').length);
    let value: unknown;
    try {
      value = JSON.parse(message);
    } catch (err) {
      this.#onError(err, channel);
      return;
    }
    for (const h of [...handlers]) {
      try {
        (h as EventHandler<unknown>)(value, channel);
      } catch (err) {
        this.#onError(err, channel);
      }
    }
  }
}
