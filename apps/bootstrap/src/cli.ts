/**
 * `lwm2m-bootstrap`: a thin shell over `BootstrapServer` and its REST API. Options are parsed in
 * cli-options.ts; `runCli` (app-kit) prints the ready line once the signal handlers are in place,
 * and on SIGINT/SIGTERM stops HTTP, then the bootstrap server, then the config file.
 *
 * Exit status: 0 after a clean shutdown or `--help`; 2 for bad options (or a config file that
 * cannot be used); 1 when the server fails to start or to stop.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { runCli, StartupInputError } from '@lwm2m-ts/app-kit';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { type CliOptions, parseCliOptions, USAGE } from './cli-options.js';
import type { BootstrapConfigStore } from './config-store.js';
import { FileBootstrapConfigStore } from './file-config-store.js';
import { openRedisConfigStore, RedisPackageMissingError } from './redis-config-store.js';
import { createRestApi } from './rest/app.js';
import { BootstrapServer } from './server.js';

function readDefaultConfig(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new StartupInputError(`--default-config ${path}: ${(err as Error).message}`);
  }
}

void runCli<CliOptions>({
  name: 'lwm2m-bootstrap',
  usage: USAGE,
  parse: parseCliOptions,
  logLevel: (options) => options.logLevel,
  shutdownLimitMs: (options) => options.stepTimeout + 5000,
  async start(options, { log, closeOnExit }) {
    const registry = ObjectRegistry.withBuiltins();
    let store: BootstrapConfigStore | undefined;
    if (options.store !== 'memory') {
      try {
        store = await openRedisConfigStore({
          url: options.store,
          keyPrefix: options.storePrefix,
          timeoutMs: options.storeTimeout,
        });
      } catch (err) {
        if (err instanceof RedisPackageMissingError) {
          throw new StartupInputError(`--store: ${err.message}`);
        }
        throw err;
      }
      closeOnExit(store);
    } else if (options.configFile !== undefined) {
      try {
        store = await FileBootstrapConfigStore.open(options.configFile, registry);
      } catch (err) {
        throw new StartupInputError(`--config-file: ${(err as Error).message}`);
      }
      closeOnExit(store);
    }
    const defaultConfig =
      options.defaultConfig === undefined ? undefined : readDefaultConfig(options.defaultConfig);
    let server: BootstrapServer;
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
    closeOnExit(server);
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
    const app = createRestApi(server, {
      token: options.token,
      logger: log.child({ component: 'http' }),
    });
    closeOnExit(app);
    await app.listen({ host: options.httpAddress, port: options.httpPort });
    const http = app.server.address() as AddressInfo;
    return { ...server.addresses(), http: { address: http.address, port: http.port } };
  },
});
