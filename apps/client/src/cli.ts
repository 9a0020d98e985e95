/**
 * `lwm2m-client`: a thin shell over `LwM2mClient`. Options are parsed and checked in config.ts;
 * this file wires the client, prints one line per registration event, runs the console and
 * shuts down on SIGINT/SIGTERM (De-register first).
 *
 * Subcommands (`lwm2m-client <name> …`) live in `commands`; without one the device runs.
 *
 * Exit status: 0 after a clean shutdown or `--help`; 2 for bad options (or a models directory
 * that cannot be used); 1 when the client fails to start or to stop, or fails to register for
 * good without a console to try again from.
 */
import type { ObjectModel } from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { type ClientLogger, LwM2mClient } from './client.js';
import { FileClientState } from './client-state.js';
import { type ClientConfig, ConfigError, parseConfig, USAGE } from './config.js';
import { ClientConsole } from './console.js';
import { runFleetCommand } from './fleet-command.js';
import { InstanceObject } from './instance-object.js';
import type { ObjectEnabler } from './object-enabler.js';

/** What a command gets from the process (tests could pass their own). */
export interface CliContext {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** A subcommand: runs until done and resolves with the exit status. */
export type Command = (ctx: CliContext) => Promise<number>;

/** `lwm2m-client <name> …`; the fleet simulator registers here. */
export const commands: Record<string, Command> = {
  fleet: (ctx) => runFleetCommand(ctx.argv, ctx),
};

/** Objects the built-in ones do not cover, loaded with --models. */
const BUILTIN_IDS = new Set([0, 1, 2, 3, 4, 5, 6, 3300, 3303]);

class StartupInputError extends Error {}

function stderrLogger(ctx: CliContext, verbose: boolean): ClientLogger {
  const line = (level: string, obj: object, msg: string) => {
    const err = (obj as { err?: unknown }).err;
    const detail = err instanceof Error ? `: ${err.message}` : '';
    ctx.stderr.write(`lwm2m-client: ${level}: ${msg}${detail}\n`);
  };
  return {
    warn: (obj, msg) => line('warn', obj, msg),
    info: (obj, msg) => line('info', obj, msg),
    ...(verbose && { debug: (obj: object, msg: string) => line('debug', obj, msg) }),
  };
}

async function loadModels(
  config: ClientConfig,
  ctx: CliContext,
): Promise<{
  registry: ObjectRegistry;
  extra: ObjectModel[];
}> {
  const registry = ObjectRegistry.withBuiltins();
  const extra = new Map<number, ObjectModel>();
  for (const dir of config.models) {
    let result: Awaited<ReturnType<ObjectRegistry['loadDirectory']>>;
    try {
      result = await registry.loadDirectory(dir);
    } catch (err) {
      throw new StartupInputError(`--models ${dir}: ${(err as Error).message}`);
    }
    for (const m of result.models) if (!BUILTIN_IDS.has(m.id)) extra.set(m.id, m);
    for (const e of result.errors) {
      ctx.stderr.write(`lwm2m-client: --models ${dir}: not loaded: ${e.message}\n`);
    }
  }
  return { registry, extra: [...extra.values()] };
}

/** The device: registers, serves, takes console commands, and stops on a signal or `quit`. */
export async function runClient(ctx: CliContext): Promise<number> {
  let config: ClientConfig;
  try {
    const parsed = parseConfig({ argv: ctx.argv, env: ctx.env });
    if (parsed.help) {
      ctx.stdout.write(USAGE);
      return 0;
    }
    config = parsed.config;
  } catch (err) {
    if (err instanceof ConfigError) {
      ctx.stderr.write(
        `lwm2m-client: ${err.message}\nRun "lwm2m-client --help" for the options.\n`,
      );
      return 2;
    }
    throw err;
  }

  let models: Awaited<ReturnType<typeof loadModels>>;
  try {
    models = await loadModels(config, ctx);
  } catch (err) {
    ctx.stderr.write(`lwm2m-client: ${(err as Error).message}\n`);
    return 2;
  }
  // Objects from --models start empty: the server creates their instances.
  const objects: ObjectEnabler[] = models.extra.map((m) => new InstanceObject(m));

  const logger = stderrLogger(ctx, config.verbose);
  const client = new LwM2mClient({
    endpoint: config.endpoint,
    lwm2mVersion: config.lwm2m,
    versionFallback: config.versionFallback,
    ...(config.server !== undefined && {
      server: {
        uri: config.server,
        ...(config.pskIdentity !== undefined &&
          config.pskKey !== undefined && {
            psk: { identity: config.pskIdentity, key: config.pskKey },
          }),
        lifetime: config.lifetime,
        queueMode: config.queue,
        ...(config.awakeTime !== undefined && { awakeTime: config.awakeTime }),
      },
    }),
    // Without --server the account comes from the bootstrap server: queue mode is said here.
    queueMode: config.queue,
    ...(config.handshakeTimeout !== undefined && {
      dtlsHandshakeTimeout: config.handshakeTimeout,
    }),
    ...(config.stateFile !== undefined && { state: new FileClientState(config.stateFile) }),
    ...(config.awakeTime !== undefined && { awakeTime: config.awakeTime }),
    ...(config.bootstrap !== undefined && {
      bootstrap: {
        uri: config.bootstrap,
        ...(config.bsPskIdentity !== undefined &&
          config.bsPskKey !== undefined && {
            psk: { identity: config.bsPskIdentity, key: config.bsPskKey },
          }),
        pack: config.bootstrapPack,
      },
    }),
    registry: models.registry,
    objects,
    local: {
      ...(config.localAddress !== undefined && { address: config.localAddress }),
      ...(config.localPort !== undefined && { port: config.localPort }),
    },
    logger,
  });

  let console: ClientConsole | undefined;
  const print = (line: string) => {
    if (console !== undefined) console.print(line);
    else ctx.stdout.write(`${line}\n`);
  };
  client.on('registered', (r) =>
    print(`registered ${r.endpoint} at ${r.serverUri} as ${r.location}`),
  );
  client.on('deregistered', (d) =>
    print(`deregistered ${d.endpoint} (${d.location}${d.confirmed ? '' : ', not confirmed'})`),
  );
  client.on('registrationFailed', (f) =>
    ctx.stderr.write(`lwm2m-client: registration failed: ${f.error.message}\n`),
  );
  client.on('registrationLost', (l) =>
    ctx.stderr.write(
      `lwm2m-client: registration ${l.location} lost (${l.error.message}): registering again\n`,
    ),
  );
  client.on('retry', (r) =>
    ctx.stderr.write(
      `lwm2m-client: Register failed (${r.error.message}); retrying in ${(r.delay / 1000).toFixed(1)} s\n`,
    ),
  );
  client.on('bootstrapFinished', (b) => print(`bootstrapped ${client.endpointName} from ${b.uri}`));
  client.on('bootstrapFailed', (b) =>
    ctx.stderr.write(
      `lwm2m-client: bootstrap from ${b.uri} failed (${b.reason})${
        b.willRetry ? `; retrying in ${((b.delay ?? 0) / 1000).toFixed(1)} s` : ''
      }\n`,
    ),
  );
  client.on('sleeping', () => print('sleeping'));
  client.on('awake', () => print('awake'));
  client.on('error', (err) => ctx.stderr.write(`lwm2m-client: ${err.message}\n`));
  if (config.verbose) {
    client.on('updated', (r) => print(`updated ${r.location}`));
    client.on('request', (r) => print(`request ${r.method} ${r.path} ${r.code}`));
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (code: number, reason: string) => {
      if (stopping) {
        // A second signal: do not wait any longer.
        resolve(1);
        return;
      }
      stopping = true;
      logger.debug?.({ reason }, 'shutting down');
      console?.close();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.on('SIGINT', onSecondSignal);
      process.on('SIGTERM', onSecondSignal);
      client.close().then(
        () => resolve(code),
        (err: unknown) => {
          ctx.stderr.write(`lwm2m-client: shutdown failed: ${(err as Error).message}\n`);
          resolve(1);
        },
      );
    };
    const onSignal = (signal: NodeJS.Signals) => stop(0, signal);
    const onSecondSignal = () => resolve(1);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    if (config.console) {
      console = new ClientConsole(client, {
        input: ctx.stdin,
        output: ctx.stdout,
        interactive: ctx.stdin.isTTY === true,
        onQuit: () => stop(0, 'quit'),
      });
    }
    client.start().catch((err: Error) => {
      if (stopping) return;
      if (err.name === 'RegistrationAbortedError') return; // deregister/close came first
      ctx.stderr.write(`lwm2m-client: ${err.message}\n`);
      // With a console the user can fix things and `register` again; without one, give up.
      if (console === undefined) stop(1, 'registration failed');
    });
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const [first] = argv;
  const command = first !== undefined && !first.startsWith('-') ? commands[first] : undefined;
  const ctx: CliContext = {
    argv: command === undefined ? argv : argv.slice(1),
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
  };
  const code = await (command ?? runClient)(ctx);
  // Let stdout drain before exiting (a pipe may still hold the last lines).
  process.stdout.write('', () => process.exit(code));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `lwm2m-client: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
