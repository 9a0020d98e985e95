/**
 * `lwm2m-server`: a thin shell over `LwM2mServer` and the REST API. Options are parsed and
 * checked in config.ts; `runCli` (app-kit) prints the ready line once the signal handlers are in
 * place and shuts down on SIGINT/SIGTERM (HTTP first, then the LwM2M server, then the PSK file).
 *
 * With `--store redis://…` the stores are Redis ones (redis-stores.ts, `@lwm2m-ts/redis` loaded
 * only then) and the server runs in cluster mode (cluster.ts); Redis unreachable at start means
 * the start fails (status 1) after `--store-timeout`.
 *
 * Exit status: 0 after a clean shutdown or `--help`; 2 for bad options (or a PSK file / models
 * directory that cannot be used); 1 when the server fails to start or to stop.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { runCli, StartupInputError } from '@lwm2m-ts/app-kit';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import type { Logger } from 'pino';
import { parseConfig, type ServerConfig, USAGE } from './config.js';
import { FileSecurityStore } from './file-security-store.js';
import { openRedisStores, RedisPackageMissingError, type RedisStores } from './redis-stores.js';
import { createRestApi } from './rest/app.js';
import { LwM2mServer } from './server.js';

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

void runCli<ServerConfig>({
  name: 'lwm2m-server',
  usage: USAGE,
  parse: (argv, env) => {
    const parsed = parseConfig({ argv, env, readFile: (path) => readFileSync(path, 'utf8') });
    return parsed.help ? parsed : { help: false, options: parsed.config };
  },
  logLevel: (config) => config.logLevel,
  // HTTP requests in flight may wait for a device up to the request timeout.
  shutdownLimitMs: (config) => config.requestTimeout + 5000,
  async start(config, { log, closeOnExit }) {
    let security: FileSecurityStore | undefined;
    if (config.pskFile !== undefined) {
      try {
        security = await FileSecurityStore.open(config.pskFile);
      } catch (err) {
        throw new StartupInputError(`--psk-file: ${(err as Error).message}`);
      }
      closeOnExit(security);
    }
    let redis: RedisStores | undefined;
    if (config.store !== 'memory') {
      try {
        redis = await openRedisStores({
          url: config.store,
          keyPrefix: config.storePrefix,
          timeoutMs: config.storeTimeout,
        });
      } catch (err) {
        if (err instanceof RedisPackageMissingError) {
          throw new StartupInputError(`--store: ${err.message}`);
        }
        throw err;
      }
      closeOnExit(redis);
    }
    const registry = ObjectRegistry.withBuiltins();
    await loadModels(registry, config.models, log);
    const server = new LwM2mServer({
      coap: config.noCoap
        ? false
        : { address: config.coapAddress, port: config.coapPort, recvBufferSize: config.recvBuffer },
      dtls: config.noDtls
        ? false
        : { address: config.dtlsAddress, port: config.dtlsPort, recvBufferSize: config.recvBuffer },
      queue: { awakeTimeMs: config.awakeTime, maxQueued: config.maxQueued },
      // The CoAP layer counts ACK_TIMEOUT in seconds.
      coapOptions: { ackTimeout: config.ackTimeout / 1000, maxRetransmit: config.maxRetransmit },
      ...(security === undefined ? {} : { securityStore: security }),
      ...(redis && {
        registrationStore: redis.registrationStore,
        observationStore: redis.observationStore,
        securityStore: redis.securityStore,
        cluster: {
          bus: redis.bus,
          ...(config.nodeId !== undefined && { nodeId: config.nodeId }),
        },
      }),
      registry,
      allowUnsecured: !config.noUnsecured,
      requestTimeout: config.requestTimeout,
      logger: log.child({ component: 'lwm2m' }),
    });
    closeOnExit(server);
    await server.start();
    if (redis !== undefined) {
      log.info(
        { redis: redis.address, prefix: config.storePrefix, node: server.nodeId },
        'cluster mode: state in Redis',
      );
    }
    const app = createRestApi(server, {
      token: config.token,
      logger: log.child({ component: 'http' }),
    });
    closeOnExit(app);
    await app.listen({ host: config.httpAddress, port: config.httpPort });
    const http = app.server.address() as AddressInfo;
    return { ...server.addresses(), http: { address: http.address, port: http.port } };
  },
});
