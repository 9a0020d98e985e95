import { type ChildProcess, spawn } from 'node:child_process';

/** How a process ended: its exit code, or the signal that ended it. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartProcessOptions {
  /**
   * Resolve `startProcess` only once the process's output (stdout and stderr interleaved, as text)
   * matches. Without it, `startProcess` resolves as soon as the process has spawned.
   */
  readyWhen?: RegExp | ((output: string) => boolean);
  /** How long to wait for `readyWhen` (default 10 000 ms); the process is stopped on timeout. */
  readyTimeoutMs?: number;
  /** Extra environment variables, laid over `process.env` (`undefined` removes one). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Time between SIGTERM and SIGKILL in `stop()` (default 2 000 ms). */
  stopGraceMs?: number;
  /** `'pipe'` to write to `proc.stdin` yourself; default `'ignore'` (stdin is /dev/null). */
  stdin?: 'ignore' | 'pipe';
  /** Keep at most this many characters of each stream (the newest); default 4 MiB. */
  maxOutputChars?: number;
}

export interface ProcessHandle {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** `cmd args...`, for messages. */
  readonly commandLine: string;
  /** Everything the process wrote to stdout so far (text). */
  stdout(): string;
  /** Everything the process wrote to stderr so far (text). */
  stderr(): string;
  /** stdout and stderr interleaved in arrival order. */
  output(): string;
  /** True until the process has exited. */
  readonly running: boolean;
  /** Settles when the process has exited and its output is drained. */
  readonly exited: Promise<ExitInfo>;
  /** Waits until the interleaved output matches (bounded); rejects if the process exits first. */
  waitForOutput(match: RegExp | ((output: string) => boolean), timeoutMs?: number): Promise<void>;
  /**
   * SIGTERM, then SIGKILL after the grace period; resolves with the exit code (`null` when a signal
   * ended it) once the process is gone. Safe to call many times.
   */
  stop(): Promise<number | null>;
}

const live = new Set<ProcessHandle>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when a test runner exits without cleanup: never leave children behind.
  process.on('exit', () => {
    for (const handle of live) {
      try {
        handle.proc.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** Processes started through this module that have not exited yet. */
export function liveProcesses(): readonly ProcessHandle[] {
  return [...live];
}

/**
 * Stops every process started by {@link startProcess} or {@link runProcess} that is still running
 * and waits for them to exit. Use it in `afterEach`/`afterAll` so nothing leaks when a test fails.
 */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((handle) => handle.stop()));
}

function matches(match: RegExp | ((output: string) => boolean), text: string): boolean {
  if (typeof match === 'function') return match(text);
  match.lastIndex = 0;
  return match.test(text);
}

function tail(text: string, chars = 2000): string {
  return text.length <= chars ? text : `…${text.slice(-chars)}`;
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

function spawnTracked(
  cmd: string,
  args: readonly string[],
  options: StartProcessOptions,
): Promise<ProcessHandle> {
  installExitHook();
  const commandLine = [cmd, ...args].map(quote).join(' ');
  const maxChars = options.maxOutputChars ?? 4 * 1024 * 1024;
  const graceMs = options.stopGraceMs ?? 2000;
  const proc = spawn(cmd, [...args], {
    cwd: options.cwd,
    env: options.env === undefined ? process.env : { ...process.env, ...options.env },
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });

  let out = '';
  let err = '';
  let both = '';
  const listeners = new Set<() => void>();
  const cap = (s: string) => (s.length > maxChars ? s.slice(s.length - maxChars) : s);
  proc.stdout?.setEncoding('utf8');
  proc.stderr?.setEncoding('utf8');
  proc.stdout?.on('data', (chunk: string) => {
    out = cap(out + chunk);
    both = cap(both + chunk);
    for (const l of listeners) l();
  });
  proc.stderr?.on('data', (chunk: string) => {
    err = cap(err + chunk);
    both = cap(both + chunk);
    for (const l of listeners) l();
  });
  proc.stdin?.on('error', () => {
    // EPIPE when the process exits before reading its input: not our concern here.
  });

  let running = true;
  let resolveExit!: (info: ExitInfo) => void;
  const exited = new Promise<ExitInfo>((resolve) => {
    resolveExit = resolve;
  });
  let exitInfo: ExitInfo | undefined;

  const finish = (info: ExitInfo) => {
    if (exitInfo !== undefined) return;
    exitInfo = info;
    running = false;
    live.delete(handle);
    for (const l of listeners) l();
    resolveExit(info);
  };

  proc.once('exit', (code, signal) => {
    // Let the pipes drain (bounded: a grandchild may hold them open).
    let drained = false;
    const done = () => {
      if (drained) return;
      drained = true;
      clearTimeout(timer);
      finish({ code, signal });
    };
    const timer = setTimeout(done, 250);
    proc.once('close', done);
  });

  let stopping: Promise<number | null> | undefined;
  const stop = (): Promise<number | null> => {
    if (exitInfo !== undefined) return Promise.resolve(exitInfo.code);
    stopping ??= (async () => {
      try {
        proc.kill('SIGTERM');
      } catch {
        // gone already
      }
      const killTimer = setTimeout(() => {
        try {
          proc.kill('SIGKILL');
        } catch {
          // gone already
        }
      }, graceMs);
      try {
        const info = await exited;
        return info.code;
      } finally {
        clearTimeout(killTimer);
      }
    })();
    return stopping;
  };

  const waitForOutput = (
    match: RegExp | ((output: string) => boolean),
    timeoutMs = 10_000,
  ): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (matches(match, both)) {
          cleanup();
          resolve();
        } else if (exitInfo !== undefined) {
          cleanup();
          reject(
            new Error(
              `${commandLine} exited (code ${exitInfo.code}, signal ${exitInfo.signal}) ` +
                `before its output matched ${String(match)}; output:\n${tail(both)}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `${commandLine}: output did not match ${String(match)} within ${timeoutMs} ms; ` +
              `output:\n${tail(both)}`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });

  const handle: ProcessHandle = {
    proc,
    get pid() {
      return proc.pid ?? -1;
    },
    commandLine,
    stdout: () => out,
    stderr: () => err,
    output: () => both,
    get running() {
      return running;
    },
    exited,
    waitForOutput,
    stop,
  };

  return new Promise<ProcessHandle>((resolve, reject) => {
    proc.once('error', (error) => {
      // Spawn failures (ENOENT, EACCES) emit 'error' and may never emit 'exit'.
      if (proc.pid === undefined) {
        finish({ code: null, signal: null });
        reject(new Error(`cannot start ${commandLine}: ${error.message}`, { cause: error }));
      }
    });
    proc.once('spawn', () => {
      live.add(handle);
      // It may have exited already in the meantime (very short-lived commands).
      if (exitInfo !== undefined) live.delete(handle);
      resolve(handle);
    });
  });
}

/**
 * Starts a long-running process (a peer server, say), tracked so {@link stopAll} can end it. With
 * `readyWhen` it resolves only once the output shows the process is ready (bounded by
 * `readyTimeoutMs`; on timeout or early exit the process is stopped and the promise rejects with
 * the output so far).
 */
export async function startProcess(
  cmd: string,
  args: readonly string[] = [],
  options: StartProcessOptions = {},
): Promise<ProcessHandle> {
  const handle = await spawnTracked(cmd, args, options);
  if (options.readyWhen !== undefined) {
    try {
      await handle.waitForOutput(options.readyWhen, options.readyTimeoutMs ?? 10_000);
    } catch (error) {
      await handle.stop();
      throw error;
    }
  }
  return handle;
}

export interface RunProcessOptions {
  /** Hard limit: the process is killed (SIGTERM, then SIGKILL) after this long. Default 10 000. */
  timeoutMs?: number;
  /** Written to stdin, which is then closed (stdin is /dev/null without it). */
  input?: string | Uint8Array;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Time between SIGTERM and SIGKILL on timeout (default 1 000 ms). */
  killGraceMs?: number;
}

export interface RunResult {
  /** Exit code; `null` when a signal ended it (e.g. killed on timeout). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the process was killed because it ran past `timeoutMs`. */
  timedOut: boolean;
  durationMs: number;
}

/**
 * Runs a one-shot command to completion (bounded by `timeoutMs`, after which it is killed) and
 * returns its exit status and output. It does not throw for a non-zero exit or a timeout; it
 * rejects only when the command cannot be started.
 */
export async function runProcess(
  cmd: string,
  args: readonly string[] = [],
  options: RunProcessOptions = {},
): Promise<RunResult> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 10_000;
  const handle = await spawnTracked(cmd, args, {
    env: options.env,
    cwd: options.cwd,
    stdin: options.input === undefined ? 'ignore' : 'pipe',
    stopGraceMs: options.killGraceMs ?? 1000,
  });
  if (options.input !== undefined) handle.proc.stdin?.end(options.input);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void handle.stop();
  }, timeoutMs);
  try {
    const info = await handle.exited;
    return {
      code: info.code,
      signal: info.signal,
      stdout: handle.stdout(),
      stderr: handle.stderr(),
      timedOut,
      durationMs: performance.now() - started,
    };
  } finally {
    clearTimeout(timer);
  }
}
