import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { PACKAGE_DIR, REGISTRY_DIR } from './test-paths.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from source in a real Node process (tsx loader), with a time limit. */
function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', ...args],
      { cwd: PACKAGE_DIR, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

// Each case is its own process, so they run concurrently (with the test's own `expect`).
describe('lwm2m-registry CLI', { timeout: 90_000, concurrent: true }, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lwm2m-cli-'));
    await writeFile(
      join(dir, 'mine.xml'),
      `<LWM2M><Object ObjectType="MODefinition"><Name>My Object</Name><ObjectID>42000</ObjectID>
       <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory><Resources>
       <Item ID="1"><Name>Level</Name><Operations>RW</Operations><MultipleInstances>Single</MultipleInstances>
       <Mandatory>Mandatory</Mandatory><Type>Float</Type><RangeEnumeration>0..10</RangeEnumeration>
       <Units>m</Units></Item></Resources></Object></LWM2M>`,
    );
    await writeFile(join(dir, 'bad.xml'), '<LWM2M><Object><ObjectID>x</ObjectID></Object></LWM2M>');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints help', async ({ expect }) => {
    const run = await cli('--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Usage: lwm2m-registry/);
  });

  it('shows an object and its resources', async ({ expect }) => {
    const run = await cli('show', '3');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^Object 3: Device\n {2}version 1\.2 \(LwM2M 1\.1\), urn:oma:lwm2m:oma:3:1\.2/,
    );
    expect(run.stdout).toMatch(/single instance, mandatory/);
    expect(run.stdout).toMatch(/^ 0 {2}Manufacturer +R +string +single +optional *$/m);
    expect(run.stdout).toMatch(
      /^ 9 {2}Battery Level +R +integer +single +optional +0\.\.100 +\/100$/m,
    );
    expect(run.stdout).toMatch(/^ 4 {2}Reboot +E +none /m);
  });

  it('shows a given version, or says which version stands in', async ({ expect }) => {
    const exact = await cli('show', '1@1.0');
    expect(exact.code).toBe(0);
    expect(exact.stdout).toMatch(/version 1\.0 /);
    const nearest = await cli('show', '1@1.5');
    expect(nearest.code).toBe(0);
    expect(nearest.stderr).toMatch(/no version 1\.5; showing version 1\.2/);
  });

  it('shows objects from --dir', async ({ expect }) => {
    const run = await cli('show', '42000', '--dir', dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Object 42000: My Object/);
    expect(run.stdout).toMatch(/1 {2}Level +RW +float +single +mandatory +0\.\.10 +m/);
    expect(run.stderr).toMatch(/warning: .*bad\.xml/);
  });

  it('lists objects and versions', async ({ expect }) => {
    const run = await cli('list');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ +1 {2}LwM2M Server +1\.0, 1\.1, 1\.2$/m);
    expect(run.stdout).toMatch(/^3303 {2}Temperature +1\.0, 1\.1$/m);
  });

  it('validates the whole registry', async ({ expect }) => {
    const run = await cli('validate', REGISTRY_DIR, '--recursive');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/751 object definitions valid, 0 invalid/);
    expect(run.stdout).toMatch(/skipped .*DDF\.xml: root element is <DDFList>/);
  });

  it('validates a file', async ({ expect }) => {
    const run = await cli('validate', join(REGISTRY_DIR, '3.xml'));
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/1 object definition valid, 0 invalid/);
  });

  it('exits 1 when a DDF is invalid', async ({ expect }) => {
    const run = await cli('validate', dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/error: .*bad\.xml: <Object> #1: ObjectID "x" is not a number/);
    expect(run.stdout).toMatch(/1 object definition valid, 1 invalid/);
  });

  it.for([
    [['show', '99999'], /not <objectId>\[@major\.minor\]/],
    [['show', '60000'], /unknown object 60000/],
    [['show'], /show takes one/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [[], /missing command/],
    [['list', '--nope'], /Unknown option '--nope'/],
    [['validate', join(tmpdir(), 'no-such-lwm2m-dir')], /no such file or directory/],
    [['list', '--dir', join(tmpdir(), 'no-such-lwm2m-dir')], /cannot read directory/],
  ] as [string[], RegExp][])('exits 2 on bad usage: %j', async ([args, message], { expect }) => {
    const run = await cli(...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});
