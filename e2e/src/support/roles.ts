/**
 * The three roles as users run them: `lwm2m-server`, `lwm2m-bootstrap` and `lwm2m-client`, each a
 * separate process started through its bin launcher (which loads the built `dist/cli.js`; turbo
 * builds every app before e2e's tests run). Loopback only, ports picked by the OS (port 0) and read
 * back from the ready line, unless the caller gives fixed ones (a restart on the same ports).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ProcessHandle, startProcess } from '@lwm2m-ts/testkit';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

const BINS = {
  server: 'apps/server/bin/lwm2m-server.js',
  bootstrap: 'apps/bootstrap/bin/lwm2m-bootstrap.js',
  client: 'apps/client/bin/lwm2m-client.js',
} as const;

type Role = keyof typeof BINS;

function bin(role: Role): string {
  const dist = `${REPO}apps/${role}/dist/cli.js`;
  if (!existsSync(dist)) {
    throw new Error(`${dist} is missing: run "pnpm build" first (turbo does before "pnpm test")`);
  }
  return `${REPO}${BINS[role]}`;
}

/** Where a server role listens, from its ready line. */
export interface Listening {
  readonly proc: ProcessHandle;
  /** `http://127.0.0.1:<port>` of the REST API. */
  readonly base: string;
  readonly coapPort: number;
  readonly dtlsPort: number;
  readonly httpPort: number;
}

const READY = /lwm2m-(?:server|bootstrap) listening: (.*)\n/;

export interface ServerRoleOptions {
  /** Ports to bind (default 0: the OS picks). */
  readonly ports?: { coap: number; dtls: number; http: number };
  readonly extraArgs?: readonly string[];
}

async function startListening(
  role: 'server' | 'bootstrap',
  options: ServerRoleOptions,
): Promise<Listening> {
  const p = options.ports ?? { coap: 0, dtls: 0, http: 0 };
  const proc = await startProcess(
    process.execPath,
    [
      bin(role),
      '--coap-address=127.0.0.1',
      `--coap-port=${p.coap}`,
      '--dtls-address=127.0.0.1',
      `--dtls-port=${p.dtls}`,
      '--http-address=127.0.0.1',
      `--http-port=${p.http}`,
      '--log-level=warn',
      ...(options.extraArgs ?? []),
    ],
    { cwd: REPO, readyWhen: READY, readyTimeoutMs: 20_000 },
  );
  const line = READY.exec(proc.stdout())?.[1] ?? '';
  const port = (name: string) => {
    const m = new RegExp(`${name} (?:udp|http)://127\\.0\\.0\\.1:(\\d+)`).exec(line);
    if (m === null) throw new Error(`no ${name} port in the ready line "${line}"`);
    return Number(m[1]);
  };
  const httpPort = port('http');
  return {
    proc,
    base: `http://127.0.0.1:${httpPort}`,
    coapPort: port('coap'),
    dtlsPort: port('coaps'),
    httpPort,
  };
}

/** `lwm2m-server` on loopback; `extraArgs` e.g. `--psk-file`, `--request-timeout`. */
export function startServerCli(options: ServerRoleOptions = {}): Promise<Listening> {
  return startListening('server', options);
}

/** `lwm2m-bootstrap` on loopback; `extraArgs` e.g. `--dm-server URL`, `--config-file`. */
export function startBootstrapCli(options: ServerRoleOptions = {}): Promise<Listening> {
  return startListening('bootstrap', options);
}

/** A running `lwm2m-client` with its console on stdin. */
export interface ClientCli {
  readonly proc: ProcessHandle;
  /**
   * Types a console line and resolves once the client's stdout, from now on, matches `expect`
   * (bounded); returns that new output.
   */
  command(line: string, expect: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves once stdout written after `from` (an offset into stdout) matches. */
  waitForLine(match: RegExp, options?: { from?: number; timeoutMs?: number }): Promise<string>;
}

export async function startClientCli(args: readonly string[]): Promise<ClientCli> {
  const proc = await startProcess(
    process.execPath,
    [bin('client'), '--local-address=127.0.0.1', ...args],
    { cwd: REPO, stdin: 'pipe' },
  );
  const waitForLine = async (
    match: RegExp,
    options: { from?: number; timeoutMs?: number } = {},
  ): Promise<string> => {
    const from = options.from ?? 0;
    await proc.waitForOutput(
      () => match.test(proc.stdout().slice(from)),
      options.timeoutMs ?? 15_000,
    );
    return proc.stdout().slice(from);
  };
  return {
    proc,
    waitForLine,
    command: async (line, expect, timeoutMs = 15_000) => {
      const from = proc.stdout().length;
      proc.proc.stdin!.write(`${line}\n`);
      return waitForLine(expect, { from, timeoutMs });
    },
  };
}

/** SIGTERM, then the exit status (SIGKILL after `graceMs`: then the signal is not null). */
export async function terminate(
  proc: ProcessHandle,
  graceMs = 10_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  proc.proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.proc.kill('SIGKILL'), graceMs);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}
