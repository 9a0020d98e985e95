/**
 * The shell of a server CLI: options or `--help`, a pino logger, start-up, the ready line on
 * stdout once SIGINT/SIGTERM handlers are in place, and a clean shutdown.
 *
 * Exit status: 0 after a clean shutdown or `--help`; 2 for bad options (`OptionError`) or inputs
 * that cannot be used (`StartupInputError`); 1 when the server fails to start or to stop, or on a
 * second signal during shutdown.
 */
import { isIP } from 'node:net';
import { type DestinationStream, type Logger, pino } from 'pino';
import { type LogLevel, OptionError, type ParsedOptions } from './options.js';

/** A start-up input (a file, a directory) that cannot be used: exit status 2, like bad options. */
export class StartupInputError extends Error {}

/** JSON lines on stderr; pretty when stderr is a terminal and pino-pretty is installed. */
export async function createCliLogger(name: string, level: LogLevel): Promise<Logger> {
  let stream: DestinationStream = pino.destination(2);
  if (process.stderr.isTTY) {
    const module = 'pino-pretty';
    try {
      const mod = (await import(module)) as { default: (opts: object) => DestinationStream };
      stream = mod.default({ destination: 2, colorize: true });
    } catch {
      // Not installed: plain JSON.
    }
  }
  return pino({ name, level }, stream);
}

/** `udp://0.0.0.0:5683`, `http://[::1]:8080`. */
export function formatUrl(scheme: string, address: string, port: number): string {
  return `${scheme}://${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
}

interface Bound {
  readonly address: string;
  readonly port: number;
}

/** Where a started server listens. */
export interface ReadyAddresses {
  readonly coap?: Bound | undefined;
  readonly dtls?: Bound | undefined;
  readonly http: Bound;
}

/** `<name> listening: coap udp://…, coaps udp://…, http http://…` (what is open). */
export function readyLine(name: string, addresses: ReadyAddresses): string {
  const parts: string[] = [];
  if (addresses.coap) {
    parts.push(`coap ${formatUrl('udp', addresses.coap.address, addresses.coap.port)}`);
  }
  if (addresses.dtls) {
    parts.push(`coaps ${formatUrl('udp', addresses.dtls.address, addresses.dtls.port)}`);
  }
  parts.push(`http ${formatUrl('http', addresses.http.address, addresses.http.port)}`);
  return `${name} listening: ${parts.join(', ')}`;
}

export interface CliContext {
  readonly log: Logger;
  /**
   * Closes `resource` on shutdown, or when the start fails: in the reverse order of the calls,
   * one after the other, so register each part as soon as it exists.
   */
  closeOnExit(resource: { close(): Promise<unknown> }): void;
}

export interface CliSpec<O> {
  /** The command's name: message prefix, logger name and start of the ready line. */
  readonly name: string;
  readonly usage: string;
  /** Options from the arguments and environment; throws `OptionError` for bad ones. */
  parse(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedOptions<O>;
  logLevel(options: O): LogLevel;
  /** How long a shutdown may take before the process exits with status 1 (ms). */
  shutdownLimitMs(options: O): number;
  /** Starts everything; resolves with where it listens. */
  start(options: O, ctx: CliContext): Promise<ReadyAddresses>;
}

function exit(name: string, message: string, code: number): never {
  process.stderr.write(`${name}: ${message}\n`);
  process.exit(code);
}

async function main<O>(spec: CliSpec<O>): Promise<void> {
  const fail = (message: string, code: number) => exit(spec.name, message, code);
  let options: O;
  try {
    const parsed = spec.parse(process.argv.slice(2), process.env);
    if (parsed.help) {
      process.stdout.write(spec.usage);
      return;
    }
    options = parsed.options;
  } catch (err) {
    if (err instanceof OptionError) {
      fail(`${err.message}\nRun "${spec.name} --help" for the options.`, 2);
    }
    throw err;
  }

  const log = await createCliLogger(spec.name, spec.logLevel(options));
  const resources: { close(): Promise<unknown> }[] = [];
  const cleanup = async () => {
    for (const r of resources.splice(0).reverse()) await r.close();
  };
  let addresses: ReadyAddresses;
  try {
    addresses = await spec.start(options, { log, closeOnExit: (r) => resources.push(r) });
  } catch (err) {
    await cleanup().catch(() => {});
    if (err instanceof StartupInputError) fail(err.message, 2);
    log.error({ err }, 'failed to start');
    exit(spec.name, `failed to start: ${(err as Error).message}`, 1);
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) fail(`${signal} again: exiting at once`, 1);
    stopping = true;
    log.info({ signal }, 'shutting down');
    const limit = spec.shutdownLimitMs(options);
    const timer = setTimeout(() => fail(`shutdown took more than ${limit} ms`, 1), limit);
    timer.unref();
    cleanup().then(
      () => {
        clearTimeout(timer);
        log.info('stopped');
        log.flush();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        fail(`shutdown failed: ${(err as Error).message}`, 1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  // Printed only once the signal handlers are in place: whoever waits for it may signal at once.
  process.stdout.write(`${readyLine(spec.name, addresses)}\n`);
}

/** Runs the CLI described by `spec` in this process (which it ends with the exit status). */
export function runCli<O>(spec: CliSpec<O>): Promise<void> {
  return main(spec).catch((err: unknown) => {
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    exit(spec.name, `unexpected error: ${text}`, 1);
  });
}
