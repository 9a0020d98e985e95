/**
 * The `lwm2m-bootstrap` CLI as a real process, run from source through the tsx loader (the bin
 * launcher only imports `dist/cli.js`, which is this file compiled).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceCli } from '@lwm2m-ts/testkit';
import { useCleanup, useTempDir } from '@lwm2m-ts/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { call } from './rest/test-http.js';
import { BootstrapDevice } from './test-device.js';

const LOCAL = [
  '--coap-address=127.0.0.1',
  '--coap-port=0',
  '--dtls-address=127.0.0.1',
  '--dtls-port=0',
  '--http-port=0',
  '--log-level=warn',
];
const CONFIG = {
  servers: [
    { shortServerId: 1, uri: 'coap://127.0.0.1:5683', securityMode: 'nosec', lifetime: 60 },
  ],
};

const cli = sourceCli({
  packageDir: join(dirname(fileURLToPath(import.meta.url)), '..'),
  ready: /lwm2m-bootstrap listening: coap udp:\/\/127\.0\.0\.1:(\d+), .*http (http:\/\/\S+)\n/,
});
const run = cli.run;

async function start(args: string[]) {
  const { proc, match, line } = await cli.start(args);
  return { proc, coapPort: Number(match[1]), base: match[2]!, line };
}

const tmp = useTempDir('lwm2m-bootstrap-cli-');
const devices = useCleanup<BootstrapDevice>();

describe('lwm2m-bootstrap CLI', { timeout: 60_000 }, () => {
  it('--help exits 0 with the usage on stdout', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: lwm2m-bootstrap/);
    expect(r.stdout).toContain('--config-file FILE');
  });

  it('a bad flag or value exits 2 with a clear message', async () => {
    const bad = await run(['--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bogus/);
    expect(bad.stderr).toContain('lwm2m-bootstrap --help');
    const port = await run(['--coap-port', 'x']);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('--coap-port: "x" is not a port');
    const corrupt = join(tmp.path, 'corrupt.json');
    await writeFile(corrupt, '{ nope');
    const file = await run([...LOCAL, '--config-file', corrupt]);
    expect(file.code).toBe(2);
    expect(file.stderr).toContain(`--config-file: ${corrupt}: not valid JSON`);
    const def = join(tmp.path, 'default.json');
    await writeFile(def, JSON.stringify({ servers: [{ uri: 'x' }] }));
    const bDef = await run([...LOCAL, '--default-config', def]);
    expect(bDef.code).toBe(2);
    expect(bDef.stderr).toContain('servers[0].uri');
  });

  it('serves, bootstraps a device, keeps the config file across restarts and exits 0 on SIGTERM', async () => {
    const file = join(tmp.path, 'configs.json');
    const first = await start([...LOCAL, '--config-file', file]);
    expect(first.line).toMatch(
      /^lwm2m-bootstrap listening: coap udp:\/\/127\.0\.0\.1:\d+, coaps udp:\/\/127\.0\.0\.1:\d+, http http:\/\/127\.0\.0\.1:\d+\n$/,
    );
    expect((await call(first.base, 'GET', '/health')).body).toEqual({ status: 'ok' });
    expect((await call(first.base, 'PUT', '/api/bootstrap/dev-1', { body: CONFIG })).status).toBe(
      201,
    );
    const d = await BootstrapDevice.start();
    devices.push(d);
    const finished = d.finished();
    expect((await d.bootstrap({ port: first.coapPort }, 'dev-1')).code).toBe('2.04');
    await finished;
    expect(d.log()).toEqual(['DELETE /', 'PUT /0/1', 'PUT /1/0', 'POST /bs']);
    expect(await first.proc.stop()).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8')).configs['dev-1'].servers[0].uri).toBe(
      CONFIG.servers[0]!.uri,
    );

    const second = await start([...LOCAL, '--config-file', file, '--no-dtls']);
    expect(second.line).not.toContain('coaps');
    const got = await call(second.base, 'GET', '/api/bootstrap/dev-1');
    expect(got.status).toBe(200);
    expect(got.body.servers[0].shortServerId).toBe(1);
    second.proc.proc.kill('SIGINT');
    expect((await second.proc.exited).code).toBe(0);
  });
});
