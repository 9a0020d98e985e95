// Test helpers (not built): one real redis-server per test file, a fresh key prefix per store.
import { type RedisServer, redisServerOrSkip, startRedis, stopAll } from '@lwm2m-ts/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { closeClient, recommendedRedisOptions } from './connection.js';

/** `redis-server`'s path, or undefined: `describe.skipIf(!redisBin)` (CI fails instead). */
export const redisBin = redisServerOrSkip();

let prefixes = 0;

/** A key prefix no other store of this test file uses. */
export function freshPrefix(): string {
  prefixes += 1;
  return `t${process.pid}-${prefixes}:`;
}

export interface RedisFixture {
  readonly server: RedisServer;
  /** A new ioredis client on the server with the recommended options, closed after the file. */
  client(timeoutMs?: number): Redis;
}

/** Starts redis-server before the file's tests and stops it (and every client) after them. */
export function useRedis(): RedisFixture {
  let server: RedisServer | undefined;
  const clients: Redis[] = [];
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => closeClient(c, 1000)));
    await server?.stop();
    await stopAll();
  });
  return {
    get server() {
      if (server === undefined) throw new Error('redis-server is not started yet');
      return server;
    },
    client(timeoutMs = 2000) {
      if (server === undefined) throw new Error('redis-server is not started yet');
      const c = new Redis(server.url, recommendedRedisOptions(timeoutMs));
      clients.push(c);
      return c;
    },
  };
}

/** Keys under `prefix` on the server (KEYS is fine on a test server). */
export async function keysUnder(server: RedisServer, prefix: string): Promise<string[]> {
  const reply = await server.command('KEYS', `${prefix}*`);
  return (Array.isArray(reply) ? (reply as string[]) : []).sort();
}
