/**
 * The `lwm2m-server` CLI as a real process. It runs from source through the tsx loader (the
 * same way the registry's CLI test does), so the test never runs a stale `dist/`; the bin
 * launcher only imports `dist/cli.js`, which is this file compiled.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitsWithin, sourceCli } from '@lwm2m-ts/testkit';
import { useCleanup, useTempDir } from '@lwm2m-ts/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { call } from './rest/test-http.js';
import { TestDevice } from './test-device.js';

/** Loopback only, free ports picked by the OS; the ready line says which. */
const LOCAL = [
  '--coap-address=127.0.0.1',
  '--coap-port=0',
  '--dtls-address=127.0.0.1',
  '--dtls-port=0',
  '--http-port=0',
  '--log-level=warn',
];

const cli = sourceCli({
  packageDir: join(dirname(fileURLToPath(import.meta.url)), '..'),
  ready: /lwm2m-server listening: .*http (http:\/\/\S+)\n/,
});
const run = cli.run;

async function start(args: string[], env: Record<string, string> = {}) {
  const { proc, match, line } = await cli.start(args, env);
  return { proc, base: match[1]!, line };
}

const tmp = useTempDir('lwm2m-server-cli-');
const devices = useCleanup<TestDevice>();

describe('lwm2m-server CLI', { timeout: 40_000 }, () => {
  it('--help exits 0 with the usage on stdout', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: lwm2m-server/);
    expect(r.stdout).toContain('--no-unsecured');
  });

  it('a bad flag or value exits 2 with a clear message', async () => {
    const bad = await run(['--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bogus/);
    expect(bad.stderr).toContain('lwm2m-server --help');
    const port = await run(['--http-port', '70000']);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('--http-port: "70000" is not a port (0..65535)');
    const env = await run([], { LWM2M_SERVER_LOG_LEVEL: 'chatty' });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('LWM2M_SERVER_LOG_LEVEL');
  });

  it('serves, prints the ready line, answers /health and a registered device, exits 0 on SIGTERM', async () => {
    const { proc, base, line } = await start(LOCAL);
    expect(line).toMatch(
      /^lwm2m-server listening: coap udp:\/\/127\.0\.0\.1:\d+, coaps udp:\/\/127\.0\.0\.1:\d+, http http:\/\/127\.0\.0\.1:\d+\n$/,
    );
    const health = await call(base, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });

    const coapPort = Number(/coap udp:\/\/127\.0\.0\.1:(\d+)/.exec(line)![1]);
    const d = await TestDevice.start();
    devices.push(d);
    expect((await d.register({ port: coapPort }, ['ep=cli-dev', 'lt=60'])).code).toBe('2.01');
    const read = await call(base, 'GET', '/api/clients/cli-dev/3/0/0');
    expect(read.body).toMatchObject({ status: '2.05', content: { value: 'ACME' } });

    proc.proc.kill('SIGTERM');
    const exit = await exitsWithin(proc, 5000);
    expect(exit).toEqual({ code: 0, signal: null });
  });

  it('SIGINT also exits 0; --no-dtls leaves coaps out', async () => {
    const { proc, line } = await start([...LOCAL, '--no-dtls']);
    expect(line).not.toContain('coaps');
    proc.proc.kill('SIGINT');
    expect(await exitsWithin(proc, 5000)).toEqual({ code: 0, signal: null });
  });

  it('takes the token from the environment and PSKs from --psk-file', async () => {
    const psk = join(tmp.path, 'psk.json');
    await writeFile(
      psk,
      JSON.stringify({
        version: 1,
        entries: [{ endpoint: 'dev-a', mode: 'psk', identity: 'a', key: '0a0b' }],
      }),
    );
    const { base } = await start([...LOCAL, '--psk-file', psk], { LWM2M_SERVER_TOKEN: 'tok' });
    expect((await call(base, 'GET', '/api/security/clients')).status).toBe(401);
    const auth = { authorization: 'Bearer tok' };
    const list = await call(base, 'GET', '/api/security/clients', { headers: auth });
    expect(list.body).toEqual([{ endpoint: 'dev-a', mode: 'psk', identity: 'a', key: '0a0b' }]);
    const put = await call(base, 'PUT', '/api/security/clients/dev-b', {
      headers: auth,
      body: { mode: 'nosec' },
    });
    expect(put.status).toBe(201);
    expect(JSON.parse(await readFile(psk, 'utf8')).entries).toContainEqual({
      endpoint: 'dev-b',
      mode: 'nosec',
    });
  });

  it('loads --models from a directory and reports files that failed', async () => {
    const models = join(tmp.path, 'models');
    await import('node:fs/promises').then((fs) => fs.mkdir(models, { recursive: true }));
    await writeFile(
      join(models, 'mine.xml'),
      `<LWM2M><Object ObjectType="MODefinition"><Name>My Object</Name><ObjectID>42000</ObjectID>
       <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory><Resources>
       <Item ID="1"><Name>Level</Name><Operations>RW</Operations><MultipleInstances>Single</MultipleInstances>
       <Mandatory>Mandatory</Mandatory><Type>Float</Type><RangeEnumeration>0..10</RangeEnumeration>
       <Units>m</Units></Item></Resources></Object></LWM2M>`,
    );
    await writeFile(
      join(models, 'bad.xml'),
      '<LWM2M><Object><ObjectID>x</ObjectID></Object></LWM2M>',
    );
    const { proc, base } = await start([...LOCAL, '--models', models]);
    expect(proc.stderr()).toMatch(/not loaded: .*bad\.xml/);
    const spec = await call(base, 'GET', '/api/objectspecs/42000');
    expect(spec.status).toBe(200);
    expect(spec.body).toMatchObject({
      name: 'My Object',
      resources: [{ id: 1, name: 'Level', type: 'float', units: 'm', rangeEnumeration: '0..10' }],
    });
  });

  it('a missing --models directory or a broken --psk-file exits 2', async () => {
    const missing = await run([...LOCAL, '--models', join(tmp.path, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--models');
    const broken = join(tmp.path, 'broken.json');
    await writeFile(broken, '{ nope');
    const psk = await run([...LOCAL, '--psk-file', broken]);
    expect(psk.code).toBe(2);
    expect(psk.stderr).toContain('--psk-file');
  });

  it('a port in use exits 1', async () => {
    const first = await start(LOCAL);
    const httpPort = new URL(first.base).port;
    const second = await run([
      ...LOCAL.filter((a) => !a.startsWith('--http-port')),
      `--http-port=${httpPort}`,
    ]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/failed to start/);
  });
});
