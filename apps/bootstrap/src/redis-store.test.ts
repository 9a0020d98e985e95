/**
 * `lwm2m-bootstrap --store redis://…`: the option, the type-level fit of `RedisBootstrapConfigStore`
 * to the server's store interface, and two bootstrap server processes sharing one real Redis
 * (`startRedis` from testkit; skipped without redis-server unless LWM2M_REQUIRE_INTEROP=1).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RedisBootstrapConfigStore } from '@lwm2m-ts/redis';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import {
  type ProcessHandle,
  type RedisServer,
  redisServerOrSkip,
  sourceCli,
  startRedis,
} from '@lwm2m-ts/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CliOptionError, DEFAULTS, parseCliOptions } from './cli-options.js';
import { type BootstrapConfig, validateBootstrapConfig } from './config.js';
import type { BootstrapConfigStore } from './config-store.js';
import { call } from './rest/test-http.js';
import { BootstrapDevice } from './test-device.js';

// Type-level: the Redis store is a BootstrapConfigStore (tsc fails otherwise).
const fits = (url: string): BootstrapConfigStore =>
  new RedisBootstrapConfigStore<BootstrapConfig>({ redis: url, keyPrefix: 'never-used:' });
void fits;

const cli = sourceCli({
  packageDir: join(dirname(fileURLToPath(import.meta.url)), '..'),
  ready: /lwm2m-bootstrap listening: coap udp:\/\/127\.0\.0\.1:(\d+), .*http (http:\/\/\S+)\n/,
});
const LOCAL = [
  '--coap-address=127.0.0.1',
  '--coap-port=0',
  '--no-dtls',
  '--http-port=0',
  '--log-level=warn',
];
const CONFIG = {
  servers: [
    { shortServerId: 1, uri: 'coap://127.0.0.1:5683', securityMode: 'nosec', lifetime: 60 },
  ],
};
const WITH_PSK = { ...CONFIG, bootstrapCredentials: { identity: 'dev-9-bs', key: '0a0b0c0d' } };

describe('--store option', () => {
  const parse = (argv: string[], env: Record<string, string> = {}) => {
    const r = parseCliOptions(argv, env);
    if (r.help) throw new Error('unexpected --help');
    return r.options;
  };
  const error = (argv: string[]) => {
    try {
      parseCliOptions(argv);
    } catch (err) {
      expect(err).toBeInstanceOf(CliOptionError);
      return (err as Error).message;
    }
    throw new Error('expected an error');
  };

  it('defaults to memory; takes a redis:// URL, prefix and timeout from flags or env', () => {
    expect(DEFAULTS).toMatchObject({ store: 'memory', storePrefix: 'lwm2m:', storeTimeout: 5000 });
    expect(parse(['--store', 'redis://127.0.0.1:6379', '--store-prefix', 'bs:'])).toMatchObject({
      store: 'redis://127.0.0.1:6379',
      storePrefix: 'bs:',
    });
    expect(
      parse([], {
        LWM2M_BOOTSTRAP_STORE: 'rediss://h:6380/2',
        LWM2M_BOOTSTRAP_STORE_TIMEOUT: '1500',
      }),
    ).toMatchObject({ store: 'rediss://h:6380/2', storeTimeout: 1500 });
  });

  it('refuses other stores and --config-file with Redis', () => {
    expect(error(['--store', 'mysql://x'])).toContain(
      '--store: "mysql://x" is neither "memory" nor a redis:// or rediss:// URL',
    );
    expect(error(['--store', 'redis://127.0.0.1', '--config-file', 'c.json'])).toContain(
      '--config-file and --store',
    );
  });
});

const bin = redisServerOrSkip();

describe.skipIf(!bin)('two lwm2m-bootstrap processes on one Redis', { timeout: 60_000 }, () => {
  let redis: RedisServer;
  const devices: BootstrapDevice[] = [];
  const procs: ProcessHandle[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    await Promise.all(devices.splice(0).map((d) => d.close()));
    // Not stopAll(): it would stop redis-server too.
    await Promise.all(procs.splice(0).map((p) => p.stop()));
  });

  async function start(args: string[]) {
    const { proc, match } = await cli.start([...LOCAL, ...args]);
    procs.push(proc);
    return { proc, coapPort: Number(match[1]), base: match[2]! };
  }

  it('a configuration PUT through one is served by the other and kept in Redis', async () => {
    const store = ['--store', redis.url, '--store-prefix', 'bs-test:'];
    const [a, b] = await Promise.all([start(store), start(store)]);
    expect((await call(a.base, 'PUT', '/api/bootstrap/dev-1', { body: CONFIG })).status).toBe(201);
    const got = await call(b.base, 'GET', '/api/bootstrap/dev-1');
    expect(got.status).toBe(200);
    expect(got.body.servers[0].uri).toBe(CONFIG.servers[0]!.uri);
    // An identity is unique across both processes.
    expect((await call(a.base, 'PUT', '/api/bootstrap/dev-9', { body: WITH_PSK })).status).toBe(
      201,
    );
    const clash = await call(b.base, 'PUT', '/api/bootstrap/dev-2', { body: WITH_PSK });
    expect(clash.status).toBe(409);
    expect(clash.body.error).toBe('IdentityInUseError');

    const d = await BootstrapDevice.start();
    devices.push(d);
    const finished = d.finished();
    expect((await d.bootstrap({ port: b.coapPort }, 'dev-1')).code).toBe('2.04');
    await finished;
    expect(d.log()).toEqual(['DELETE /', 'PUT /0/1', 'PUT /1/0', 'POST /bs']);

    // Stored as JSON under the prefix; what comes back is what validation made of it.
    const raw = await redis.command('GET', 'bs-test:bs:dev-1');
    expect(JSON.parse(String(raw))).toEqual(
      JSON.parse(JSON.stringify(validateBootstrapConfig(CONFIG, ObjectRegistry.withBuiltins()))),
    );
    expect(await a.proc.stop()).toBe(0);
    expect(await b.proc.stop()).toBe(0);
  });

  it('answers 503 with a clear JSON error while Redis is down, and recovers', async () => {
    const a = await start(['--store', redis.url, '--store-timeout', '1000']);
    await redis.down();
    try {
      const r = await call(a.base, 'GET', '/api/bootstrap');
      expect(r.status).toBe(503);
      expect(r.body.error).toBe('StoreUnavailableError');
      expect(r.body.message).toMatch(/Redis at 127\.0\.0\.1:\d+/);
      const d = await BootstrapDevice.start();
      devices.push(d);
      expect((await d.bootstrap({ port: a.coapPort }, 'dev-1')).code).toBe('5.03');
    } finally {
      await redis.up();
    }
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await call(a.base, 'GET', '/api/bootstrap')).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect(await a.proc.stop()).toBe(0);
  });

  it('fails with status 2 and a clear message for a bad --store', async () => {
    const r = await cli.run(['--store', 'memcached://x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--store');
  });
});
