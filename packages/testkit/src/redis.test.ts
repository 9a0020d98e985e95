import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { liveProcesses, stopAll } from './processes.js';
import { RedisReplyError, redisCommand, redisServerOrSkip, startRedis } from './redis.js';

const bin = redisServerOrSkip();

afterEach(async () => {
  await stopAll();
  expect(liveProcesses()).toHaveLength(0);
});

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe.skipIf(!bin)('startRedis', () => {
  it('starts redis-server on a free loopback port with a temporary directory', async () => {
    const redis = await startRedis();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(redis.running).toBe(true);
    expect(existsSync(redis.dir)).toBe(true);
    expect(await redis.command('PING')).toBe('PONG');
    expect(await redis.command('SET', 'k', 'v')).toBe('OK');
    expect(await redis.command('GET', 'k')).toBe('v');
    expect(await redis.command('GET', 'missing')).toBeNull();
    expect(await redis.command('RPUSH', 'l', 'a', 'b')).toBe(2);
    expect(await redis.command('LRANGE', 'l', 0, -1)).toEqual(['a', 'b']);
    expect(await redis.command('CONFIG', 'GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await redis.command('CONFIG', 'GET', 'save')).toEqual(['save', '']);
    expect(await redis.command('CONFIG', 'GET', 'bind')).toEqual(['bind', '127.0.0.1']);
    await expect(redis.command('NOSUCHCOMMAND')).rejects.toThrow(RedisReplyError);
    await redis.stop();
    expect(redis.running).toBe(false);
    expect(existsSync(redis.dir)).toBe(false);
    expect(await refused(redis.port)).toBe(true);
    await redis.stop(); // idempotent
  });

  it('restarts on the same port with the same data (append-only file)', async () => {
    const redis = await startRedis();
    await redis.command('SET', 'kept', '1');
    const pid = redis.process?.pid;
    await redis.restart({ downtimeMs: 100 });
    expect(redis.process?.pid).not.toBe(pid);
    expect(await redis.command('GET', 'kept')).toBe('1');
    await redis.down();
    expect(redis.running).toBe(false);
    expect(await refused(redis.port)).toBe(true);
    await expect(redisCommand(redis.port, ['PING'], { timeoutMs: 500 })).rejects.toThrow();
    await redis.up();
    expect(await redis.command('GET', 'kept')).toBe('1');
    await redis.stop();
  });

  it('keeps a directory it was given, and stopAll ends the server', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'redis-test-'));
    try {
      const redis = await startRedis({ dir, appendOnly: false, save: '3600 1' });
      expect(await redis.command('CONFIG', 'GET', 'appendonly')).toEqual(['appendonly', 'no']);
      expect(liveProcesses()).toContain(redis.process);
      await stopAll();
      expect(redis.running).toBe(false);
      await redis.stop();
      expect(existsSync(dir)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails clearly when the port is taken', async () => {
    const first = await startRedis();
    await expect(startRedis({ port: first.port, readyTimeoutMs: 3000 })).rejects.toThrow(
      /exited before answering PING|Address already in use/,
    );
    await first.stop();
  });
});
