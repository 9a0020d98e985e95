import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { peerOrSkip } from './peer-binary.js';
import { freeTcpPort, LOOPBACK_V4 } from './ports.js';
import { type ProcessHandle, startProcess } from './processes.js';

/** A RESP reply: simple string, integer, bulk string (null when absent) or array. */
export type RespValue = string | number | null | RespValue[];

/** An error reply (`-ERR …`, `-LOADING …`) from {@link redisCommand}. */
export class RedisReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisReplyError';
  }
}

function encodeCommand(args: readonly (string | number)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

type Parsed = { value: RespValue | RedisReplyError; end: number } | undefined;

/** Parses one RESP2 reply at `at`; undefined when `buf` does not hold all of it yet. */
function parseReply(buf: Buffer, at: number): Parsed {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[at]!);
  const line = buf.toString('utf8', at + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new RedisReplyError(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, end: next };
      if (buf.length < next + len + 2) return undefined;
      return { value: buf.toString('utf8', next, next + len), end: next + len + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let pos = next;
      for (let i = 0; i < n; i++) {
        const item = parseReply(buf, pos);
        if (item === undefined) return undefined;
        if (item.value instanceof RedisReplyError) throw item.value;
        items.push(item.value);
        pos = item.end;
      }
      return { value: items, end: pos };
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(type)}`);
  }
}

export interface RedisCommandOptions {
  host?: string;
  /** Bound on connecting and on the reply (default 2000 ms). */
  timeoutMs?: number;
}

/**
 * Sends one command to a Redis server on a fresh TCP connection and resolves with its reply
 * (rejects with {@link RedisReplyError} for an error reply). A tiny RESP2 client for test set-up
 * and checks, so tests need no Redis client library.
 */
export function redisCommand(
  port: number,
  args: readonly (string | number)[],
  options: RedisCommandOptions = {},
): Promise<RespValue> {
  const host = options.host ?? LOOPBACK_V4;
  const timeoutMs = options.timeoutMs ?? 2000;
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let settled = false;
    const socket = net.connect({ host, port });
    const finish = (err: Error | undefined, value?: RespValue) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value ?? null);
    };
    const timer = setTimeout(
      () => finish(new Error(`redis ${host}:${port}: no reply to ${args[0]} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once('error', (err) => finish(err));
    socket.once('close', () => finish(new Error(`redis ${host}:${port} closed the connection`)));
    socket.once('connect', () => socket.write(encodeCommand(args)));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      let parsed: Parsed;
      try {
        parsed = parseReply(buf, 0);
      } catch (err) {
        finish(err as Error);
        return;
      }
      if (parsed === undefined) return;
      if (parsed.value instanceof RedisReplyError) finish(parsed.value);
      else finish(undefined, parsed.value);
    });
  });
}

/** `redis-server`'s path, or undefined (skip) — throws when `LWM2M_REQUIRE_INTEROP=1`. */
export function redisServerOrSkip(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return peerOrSkip('redis-server', env);
}

export interface StartRedisOptions {
  /** TCP port on 127.0.0.1; default a free one. */
  port?: number;
  /** Data directory (kept by `stop()`); default a new temporary one (removed by `stop()`). */
  dir?: string;
  /** Append-only file, so what was acknowledged survives a restart (default true). */
  appendOnly?: boolean;
  /** `appendfsync` policy: `everysec` (default), `always` or `no`. */
  appendFsync?: 'always' | 'everysec' | 'no';
  /** RDB snapshot rule (`save`), default `''`: no snapshots. */
  save?: string;
  /** More `redis-server` arguments (`['--maxmemory', '64mb']`). */
  extraArgs?: readonly string[];
  /** Bound on the start, until it answers PING (default 10 000 ms). */
  readyTimeoutMs?: number;
  /** `redis-server` binary (default from PATH). */
  binary?: string;
}

export interface RedisServer {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Its data directory (AOF, RDB). */
  readonly dir: string;
  /** The running process; undefined while it is down. */
  readonly process: ProcessHandle | undefined;
  readonly running: boolean;
  /** Sends one command (see {@link redisCommand}). */
  command(...args: (string | number)[]): Promise<RespValue>;
  /** Stops the server (SIGTERM: it writes its AOF and exits) and keeps the data directory. */
  down(): Promise<void>;
  /** Starts it again on the same port and directory; resolves once it answers PING. */
  up(): Promise<void>;
  /** `down()`, waits `downtimeMs` (default 0), then `up()`: the same data, the same port. */
  restart(options?: { downtimeMs?: number }): Promise<void>;
  /** Stops the server and removes the data directory if it was a temporary one. */
  stop(): Promise<void>;
}

const tempDirs = new Set<string>();
let exitHookInstalled = false;

function removeTempDirsAtExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
}

async function waitForPing(
  host: string,
  port: number,
  handle: ProcessHandle,
  timeoutMs: number,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (!handle.running) {
      throw new Error(
        `${handle.commandLine} exited before answering PING; output:\n${handle.output().slice(-2000)}`,
      );
    }
    try {
      // INFO fails with LOADING while the data loads; process_id proves the server answering is
      // this one, not another that holds the port.
      const info = await redisCommand(port, ['INFO', 'server'], { host, timeoutMs: 1000 });
      if (typeof info === 'string' && info.includes(`process_id:${handle.pid}\r\n`)) {
        if ((await redisCommand(port, ['PING'], { host, timeoutMs: 1000 })) === 'PONG') return;
      } else {
        last = 'another server answers on this port';
      }
    } catch (err) {
      last = (err as Error).message; // refused while starting, or LOADING
    }
    if (performance.now() > deadline) {
      throw new Error(
        `redis-server on ${host}:${port} did not answer PING within ${timeoutMs} ms (${last}); ` +
          `output:\n${handle.output().slice(-2000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Starts a real `redis-server` on 127.0.0.1 (a free port unless given) with its own data directory
 * (a temporary one unless given), append-only persistence and no RDB snapshots unless asked
 * otherwise, and resolves once it answers PING. The process is tracked by `startProcess`, so
 * `stopAll()` ends it too; `stop()` also removes the temporary directory.
 *
 * ```ts
 * const bin = redisServerOrSkip();
 * describe.skipIf(!bin)('on Redis', () => {
 *   let redis: RedisServer;
 *   beforeAll(async () => { redis = await startRedis(); });
 *   afterAll(() => redis?.stop());
 * });
 * ```
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const host = LOOPBACK_V4;
  const binary = options.binary ?? 'redis-server';
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'lwm2m-redis-'));
  if (ownDir) {
    removeTempDirsAtExit();
    tempDirs.add(dir);
  }
  const args = (port: number): string[] => [
    '--port',
    String(port),
    '--bind',
    host,
    '--dir',
    dir,
    '--save',
    options.save ?? '',
    '--appendonly',
    options.appendOnly === false ? 'no' : 'yes',
    '--appendfsync',
    options.appendFsync ?? 'everysec',
    '--daemonize',
    'no',
    '--protected-mode',
    'yes',
    '--logfile',
    '',
    ...(options.extraArgs ?? []),
  ];

  let port = options.port ?? 0;
  let handle: ProcessHandle | undefined;

  const launch = async (): Promise<void> => {
    const h = await startProcess(binary, args(port), { stopGraceMs: 5000 });
    try {
      await waitForPing(host, port, h, readyTimeoutMs);
    } catch (err) {
      await h.stop();
      throw err;
    }
    handle = h;
  };

  // A free port can be taken between the check and redis-server's bind: try a few.
  for (let attempt = 1; ; attempt++) {
    if (options.port === undefined) port = await freeTcpPort(host);
    try {
      await launch();
      break;
    } catch (err) {
      const inUse = /Address already in use|bind/i.test((err as Error).message);
      if (options.port !== undefined || !inUse || attempt >= 5) {
        if (ownDir) {
          rmSync(dir, { recursive: true, force: true });
          tempDirs.delete(dir);
        }
        throw err;
      }
    }
  }

  const down = async (): Promise<void> => {
    const h = handle;
    handle = undefined;
    if (h !== undefined) await h.stop();
  };
  const up = async (): Promise<void> => {
    if (handle?.running) return;
    await launch();
  };

  return {
    url: `redis://${host}:${port}`,
    host,
    port,
    dir,
    get process() {
      return handle;
    },
    get running() {
      return handle?.running ?? false;
    },
    command: (...cmd) => redisCommand(port, cmd, { host }),
    down,
    up,
    restart: async ({ downtimeMs = 0 } = {}) => {
      await down();
      if (downtimeMs > 0) await new Promise((r) => setTimeout(r, downtimeMs));
      await up();
    },
    stop: async () => {
      await down();
      if (ownDir) {
        rmSync(dir, { recursive: true, force: true });
        tempDirs.delete(dir);
      }
    },
  };
}
