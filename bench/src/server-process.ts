import { type ChildProcess, fork } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LwM2mServerOptions, RedisStores } from '@lwm2m-ts/server';
import type { ChildConfig, ChildStats, Command, MemorySample } from './server-child.js';

const CHILD = fileURLToPath(new URL('./server-child.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

/** Where `--cpu-prof` writes the server's CPU profile, when set (`--profile`). */
let profileDir: string | undefined;
let profiles = 0;
export function profileServerTo(dir: string | undefined): void {
  profileDir = dir;
}

/**
 * The `LwM2mServer` options for stores opened by `openRedisStores`, as `lwm2m-server --store
 * redis://…` sets them (apps/server/src/cli.ts): the three stores, and cluster mode on their bus.
 */
export function redisServerOptions(
  stores: RedisStores,
): Pick<
  LwM2mServerOptions,
  'registrationStore' | 'observationStore' | 'securityStore' | 'cluster'
> {
  return {
    registrationStore: stores.registrationStore,
    observationStore: stores.observationStore,
    securityStore: stores.securityStore,
    cluster: { bus: stores.bus },
  };
}

/** Every child still running, so an interrupted run can stop them. */
const live = new Set<ChildProcess>();
export function killAllServers(): void {
  for (const c of live) c.kill('SIGKILL');
}

/** An `LwM2mServer` in a child process of its own (server-child.ts), driven over IPC. */
export class ServerProcess {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  #next = 0;
  #exited: Promise<void>;

  private constructor(
    child: ChildProcess,
    readonly udpPort: number,
    readonly dtlsPort: number,
  ) {
    this.#child = child;
    this.#exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    child.on('message', (m: { id?: number; ok?: boolean; result?: unknown; error?: string }) => {
      if (m.id === undefined) return;
      const w = this.#waiting.get(m.id);
      this.#waiting.delete(m.id);
      if (m.ok) w?.resolve(m.result);
      else w?.reject(new Error(`server child: ${m.error}`));
    });
    child.once('exit', (code, signal) => {
      live.delete(child);
      for (const w of this.#waiting.values()) {
        w.reject(new Error(`server child exited (${code ?? signal})`));
      }
      this.#waiting.clear();
    });
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /** Starts a child; `label` names the directory of its CPU profile (`NN-<label>/`) with `--profile`. */
  static async start(config: ChildConfig, label = 'server'): Promise<ServerProcess> {
    const execArgv = ['--expose-gc', '--import', TSX];
    if (profileDir !== undefined) {
      // A directory per child: its module-loader thread writes a profile of its own.
      const dir = join(profileDir, `${String(++profiles).padStart(2, '0')}-${label}`);
      execArgv.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
    }
    const child = fork(CHILD, [JSON.stringify(config)], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    live.add(child);
    const ready = await new Promise<{ udpPort?: number; dtlsPort?: number }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('server child did not start in 30 s')),
        30_000,
      );
      child.once('message', (m: { udpPort?: number; dtlsPort?: number }) => {
        clearTimeout(timer);
        resolve(m);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server child exited with ${code} before it was ready`));
      });
    }).catch((err: unknown) => {
      child.kill('SIGKILL');
      throw err;
    });
    return new ServerProcess(child, ready.udpPort ?? 0, ready.dtlsPort ?? 0);
  }

  call(command: Command): Promise<unknown> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#child.send({ id, command });
    });
  }

  /** Heap and RSS after two full GCs. */
  memory(): Promise<MemorySample> {
    return this.call({ cmd: 'mem' }) as Promise<MemorySample>;
  }

  stats(): Promise<ChildStats> {
    return this.call({ cmd: 'stats' }) as Promise<ChildStats>;
  }

  /** Datagrams the kernel dropped at the server's UDP socket (receive buffer full). */
  udpDrops(): number {
    return udpDrops(this.udpPort);
  }

  /** Closes the server and waits for the process to exit (killed after 10 s). */
  async close(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      await Promise.race([
        this.call({ cmd: 'close' }).catch(() => {}),
        new Promise((r) => setTimeout(r, 10_000)),
      ]);
    }
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await this.#exited;
    clearTimeout(timer);
  }
}

/**
 * Drops counted by the kernel for the UDP socket bound to 127.0.0.1:`port` (the last column of
 * /proc/net/udp on Linux); 0 where that file does not exist.
 */
export function udpDrops(port: number): number {
  let text: string;
  try {
    text = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return 0;
  }
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[1] === local) return Number(cols.at(-1));
  }
  return 0;
}

/** The main thread's profile of each child under `dir` (the biggest file of each child's directory). */
export function serverProfiles(dir: string): string[] {
  const out: string[] = [];
  for (const child of readdirSync(dir).sort()) {
    const sub = join(dir, child);
    if (!statSync(sub).isDirectory()) continue;
    const files = readdirSync(sub)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(sub, f))
      .sort((a, b) => statSync(b).size - statSync(a).size);
    if (files[0] !== undefined) out.push(files[0]);
  }
  return out;
}
