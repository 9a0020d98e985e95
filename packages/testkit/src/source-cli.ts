import {
  type ExitInfo,
  type ProcessHandle,
  type RunResult,
  runProcess,
  startProcess,
} from './processes.js';

export interface SourceCliOptions {
  /** The package directory: the processes' working directory, which `entry` is relative to. */
  readonly packageDir: string;
  /** What the CLI prints on stdout once it serves; `start` waits for it and returns the match. */
  readonly ready: RegExp;
  /** The CLI's source file (default `src/cli.ts`). */
  readonly entry?: string;
  /** Node options before the entry (default `--import tsx`, so the source runs, never a stale dist). */
  readonly nodeArgs?: readonly string[];
  /** Bound of a `run` and of the wait for the ready line (default 20 000 ms). */
  readonly timeoutMs?: number;
}

/** A CLI process `start` left running, with its ready line. */
export interface StartedCli {
  readonly proc: ProcessHandle;
  /** The ready pattern's match on stdout (its groups: ports, URLs). */
  readonly match: RegExpExecArray;
  /** The whole ready line as matched. */
  readonly line: string;
}

export interface SourceCli {
  /** Runs the CLI to completion (exit status and output; it does not throw on a failure exit). */
  run(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<RunResult>;
  /** Starts the CLI and resolves once stdout shows the ready line; `stopAll()` ends it. */
  start(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<StartedCli>;
}

/**
 * A package's CLI run from source in a real Node process (through the tsx loader by default),
 * as the apps' CLI tests do: `run` for one-shot calls (`--help`, bad flags), `start` for a
 * serving process and its ready line.
 */
export function sourceCli(options: SourceCliOptions): SourceCli {
  const { packageDir, ready } = options;
  const args = (extra: readonly string[]) => [
    ...(options.nodeArgs ?? ['--import', 'tsx']),
    options.entry ?? 'src/cli.ts',
    ...extra,
  ];
  const timeoutMs = options.timeoutMs ?? 20_000;
  return {
    run: (extra, env = {}) =>
      runProcess(process.execPath, args(extra), { cwd: packageDir, env, timeoutMs }),
    async start(extra, env = {}) {
      const proc = await startProcess(process.execPath, args(extra), {
        cwd: packageDir,
        env,
        readyWhen: ready,
        readyTimeoutMs: timeoutMs,
      });
      const match = ready.exec(proc.stdout());
      if (match === null) {
        throw new Error(`the ready line ${ready} is not on stdout:\n${proc.output()}`);
      }
      return { proc, match, line: match[0] };
    },
  };
}

/** How the process exited, or `'timeout'` when it is still running after `ms`. */
export async function exitsWithin(proc: ProcessHandle, ms: number): Promise<ExitInfo | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([proc.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
