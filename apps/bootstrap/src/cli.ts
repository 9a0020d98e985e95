/**
 * `lwm2m-bootstrap`: a thin shell over `BootstrapServer` and its REST API. Options are parsed in
 * cli-options.ts; this file wires things up, prints the ready line once the signal handlers are
 * in place, and on SIGINT/SIGTERM stops HTTP, then the bootstrap server, then the config file.
 *
 * Exit status: 0 after a clean shutdown or `--help`; 2 for bad options (or a config file that
 * cannot be used); 1 when the server fails to start or to stop.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { type DestinationStream, type Logger, pino } from 'pino';
import {
  CliOptionError,
  type CliOptions,
  parseCliOptions,
  readyLine,
  USAGE,
} from './cli-options.js';
import { FileBootstrapConfigStore } from './file-config-store.js';
import { createRestApi } from './rest/app.js';
import { BootstrapServer } from './server.js';

/** A failure of the inputs (exit status 2). */
class StartupInputError extends Error {}

function fail(message: string, code: number): never {
  process.stderr.write(`lwm2m-bootstrap: ${message}\n`);
  process.exit(code);
}

/** JSON lines on stderr; pretty when stderr is a terminal and pino-pretty is installed. */
async function createLogger(level: CliOptions['logLevel']): Promise<Logger> {
  let stream: DestinationStream = pino.destination(2);
  if (process.stderr.isTTY) {
    const name = 'pino-pretty';
    try {
      const mod = (await import(name)) as { default: (opts: object) => DestinationStream };
      stream = mod.default({ destination: 2, colorize: true });
    } catch {
      // Not installed: plain JSON.
    }
  }
  return pino({ name: 'lwm2m-bootstrap', level }, stream);
}

function readDefaultConfig(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new StartupInputError(`--default-config ${path}: ${(err as Error).message}`);
  }
}

async function main(): Promise<void> {
  let options: CliOptions;
  try {
    const parsed = parseCliOptions(process.argv.slice(2), process.env);
    if (parsed.help) {
      process.stdout.write(USAGE);
      return;
    }
    options = parsed.options;
  } catch (err) {
    if (err instanceof CliOptionError) {
      fail(`${err.message}\nRun "lwm2m-bootstrap --help" for the options.`, 2);
    }
    throw err;
  }

  const log = await createLogger(options.logLevel);
  let store: FileBootstrapConfigStore | undefined;
  let server: BootstrapServer | undefined;
  let app: ReturnType<typeof createRestApi> | undefined;
  const cleanup = async () => {
    await app?.close();
    await server?.close();
    await store?.close();
  };

  try {
    const registry = ObjectRegistry.withBuiltins();
    if (options.configFile !== undefined) {
      try {
        store = await FileBootstrapConfigStore.open(options.configFile, registry);
      } catch (err) {
        throw new StartupInputError(`--config-file: ${(err as Error).message}`);
      }
    }
    const defaultConfig =
      options.defaultConfig === undefined ? undefined : readDefaultConfig(options.defaultConfig);
    try {
      server = new BootstrapServer({
        coap: options.noCoap ? false : { address: options.coapAddress, port: options.coapPort },
        dtls: options.noDtls ? false : { address: options.dtlsAddress, port: options.dtlsPort },
        ...(store && { configStore: store }),
        ...(defaultConfig !== undefined && { defaultConfig }),
        registry,
        stepTimeout: options.stepTimeout,
        ...(options.dmServer !== undefined && {
          dmServer: {
            url: options.dmServer,
            ...(options.dmServerToken !== undefined && { token: options.dmServerToken }),
          },
        }),
        logger: log.child({ component: 'bootstrap' }),
      });
    } catch (err) {
      throw new StartupInputError(
        `${options.defaultConfig === undefined ? '' : `--default-config ${options.defaultConfig}: `}${(err as Error).message}`,
      );
    }
    server.on('bootstrapFinished', (e) =>
      log.info({ endpoint: e.endpoint, steps: e.steps }, 'bootstrap finished'),
    );
    server.on('bootstrapFailed', (e) =>
      log.warn(
        { endpoint: e.endpoint, step: e.step, code: e.code },
        `bootstrap failed: ${e.reason}`,
      ),
    );
    server.on('dmServerHandoff', (e) => {
      if (!e.ok)
        log.warn(
          { endpoint: e.endpoint, status: e.status },
          `DM server hand-off failed: ${e.message}`,
        );
    });
    await server.start();
    app = createRestApi(server, { token: options.token, logger: log.child({ component: 'http' }) });
    await app.listen({ host: options.httpAddress, port: options.httpPort });
  } catch (err) {
    await cleanup().catch(() => {});
    if (err instanceof StartupInputError) fail(err.message, 2);
    log.error({ err }, 'failed to start');
    fail(`failed to start: ${(err as Error).message}`, 1);
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) fail(`${signal} again: exiting at once`, 1);
    stopping = true;
    log.info({ signal }, 'shutting down');
    const limit = options.stepTimeout + 5000;
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
  const http = app.server.address() as AddressInfo;
  const addresses = server.addresses();
  process.stdout.write(
    `${readyLine({ coap: addresses.coap, dtls: addresses.dtls, http: { address: http.address, port: http.port } })}\n`,
  );
}

main().catch((err: unknown) => {
  fail(`unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, 1);
});
