/**
 * `lwm2m-server`: a thin shell over `LwM2mServer` and the REST API. Options are parsed and
 * checked in config.ts; this file only wires things up, prints the ready line and shuts down on
 * SIGINT/SIGTERM (HTTP first, then the LwM2M server, then the PSK file).
 *
 * Exit status: 0 after a clean shutdown or `--help`; 2 for bad options (or a PSK file / models
 * directory that cannot be used); 1 when the server fails to start or to stop.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { type DestinationStream, type Logger, pino } from 'pino';
import { ConfigError, parseConfig, readyLine, type ServerConfig, USAGE } from './config.js';
import { FileSecurityStore } from './file-security-store.js';
import { createRestApi } from './rest/app.js';
import { LwM2mServer } from './server.js';

/** A failure of the configuration's inputs (exit status 2). */
class StartupInputError extends Error {}

function fail(message: string, code: number): never {
  process.stderr.write(`lwm2m-server: ${message}\n`);
  process.exit(code);
}

/** JSON lines on stderr; pretty when stderr is a terminal and pino-pretty is installed. */
async function createLogger(level: ServerConfig['logLevel']): Promise<Logger> {
  let stream: DestinationStream = pino.destination(2);
  if (process.stderr.isTTY) {
    const name = 'pino-pretty';
    try {
      const mod = (await import(name)) as {
        default: (opts: object) => DestinationStream;
      };
      stream = mod.default({ destination: 2, colorize: true });
    } catch {
      // Not installed: plain JSON.
    }
  }
  return pino({ name: 'lwm2m-server', level }, stream);
}

async function loadModels(registry: ObjectRegistry, dirs: readonly string[], log: Logger) {
  for (const dir of dirs) {
    let result: Awaited<ReturnType<ObjectRegistry['loadDirectory']>>;
    try {
      result = await registry.loadDirectory(dir);
    } catch (err) {
      throw new StartupInputError(`--models ${dir}: ${(err as Error).message}`);
    }
    log.info({ dir, models: result.models.length }, 'loaded object models');
    for (const e of result.errors) {
      log.warn({ dir, file: e.source, err: e.message }, 'object model file not loaded');
      process.stderr.write(`lwm2m-server: --models ${dir}: not loaded: ${e.message}\n`);
    }
  }
}

async function main(): Promise<void> {
  let config: ServerConfig;
  try {
    const parsed = parseConfig({
      argv: process.argv.slice(2),
      env: process.env,
      readFile: (path) => readFileSync(path, 'utf8'),
    });
    if (parsed.help) {
      process.stdout.write(USAGE);
      return;
    }
    config = parsed.config;
  } catch (err) {
    if (err instanceof ConfigError) {
      fail(`${err.message}\nRun "lwm2m-server --help" for the options.`, 2);
    }
    throw err;
  }

  const log = await createLogger(config.logLevel);
  let security: FileSecurityStore | undefined;
  let server: LwM2mServer | undefined;
  let app: ReturnType<typeof createRestApi> | undefined;
  const cleanup = async () => {
    await app?.close();
    await server?.close();
    await security?.close();
  };

  try {
    if (config.pskFile !== undefined) {
      try {
        security = await FileSecurityStore.open(config.pskFile);
      } catch (err) {
        throw new StartupInputError(`--psk-file: ${(err as Error).message}`);
      }
    }
    const registry = ObjectRegistry.withBuiltins();
    await loadModels(registry, config.models, log);
    server = new LwM2mServer({
      coap: config.noCoap ? false : { address: config.coapAddress, port: config.coapPort },
      dtls: config.noDtls ? false : { address: config.dtlsAddress, port: config.dtlsPort },
      ...(security === undefined ? {} : { securityStore: security }),
      registry,
      allowUnsecured: !config.noUnsecured,
      requestTimeout: config.requestTimeout,
      logger: log.child({ component: 'lwm2m' }),
    });
    await server.start();
    app = createRestApi(server, {
      token: config.token,
      logger: log.child({ component: 'http' }),
    });
    await app.listen({ host: config.httpAddress, port: config.httpPort });
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
    // HTTP requests in flight may wait for a device up to the request timeout.
    const limit = config.requestTimeout + 5000;
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
