import { PassThrough } from 'node:stream';
import { decodeValues } from '@lwm2m-ts/codecs';
import { ContentFormat } from '@lwm2m-ts/core';
import { afterEach, describe, expect, it } from 'vitest';
import { LwM2mClient } from './client.js';
import { ClientConsole, formatValue, parseValue, runCommand } from './console.js';
import { TestServer } from './test-server.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function setup() {
  const server = await TestServer.start();
  open.push(server);
  const client = new LwM2mClient({
    endpoint: 'console-dev',
    local: { address: '127.0.0.1' },
    server: { uri: server.uri },
    requestTimeout: 2000,
  });
  open.push(client);
  return { server, client };
}

const lines = async (client: LwM2mClient, line: string) => (await runCommand(client, line)).lines;

describe('console values', () => {
  it('parses console text by the resource type', () => {
    expect(parseValue('float', '21.5')).toEqual({ type: 'float', value: 21.5 });
    expect(parseValue('integer', '-3')).toEqual({ type: 'integer', value: -3n });
    expect(parseValue('boolean', 'true')).toEqual({ type: 'boolean', value: true });
    expect(parseValue('boolean', '0')).toEqual({ type: 'boolean', value: false });
    expect(parseValue('string', ' "two words" ')).toEqual({ type: 'string', value: 'two words' });
    expect(parseValue('opaque', '0x0a0b')).toEqual({
      type: 'opaque',
      value: new Uint8Array([10, 11]),
    });
    expect(parseValue('time', '2024-01-02T03:04:05Z').value).toEqual(
      new Date('2024-01-02T03:04:05Z'),
    );
    expect(parseValue('objlnk', '3:0')).toEqual({
      type: 'objlnk',
      value: { objectId: 3, instanceId: 0 },
    });
    expect(() => parseValue('float', 'warm')).toThrow(/not a valid float/);
    expect(() => parseValue('boolean', 'maybe')).toThrow(/not a boolean/);
  });

  it('formats values for display', () => {
    expect(formatValue({ type: 'opaque', value: new Uint8Array([1, 255]) })).toBe('0x01ff');
    expect(formatValue({ type: 'boolean', value: true })).toBe('true');
    expect(formatValue({ type: 'float', value: 21 })).toBe('21.0');
  });
});

describe('runCommand', () => {
  it('set, get, objects, help and unknown commands', async () => {
    const { client } = await setup();
    expect(await lines(client, 'set /3303/0/5700 21.5')).toEqual(['/3303/0/5700 = 21.5']);
    expect(await lines(client, 'get /3303/0/5700')).toEqual(['/3303/0/5700 = 21.5']);
    expect(await lines(client, 'set /3/0/0 Big Corp')).toEqual(['/3/0/0 = Big Corp']);
    expect(await lines(client, 'get /3/0/0')).toEqual(['/3/0/0 = Big Corp']);
    expect(await lines(client, 'set /3/0/11/0 5')).toEqual(['/3/0/11/0 = 5']);
    expect(await lines(client, 'get /3/0/11')).toEqual(['/3/0/11/0 = 5']);
    expect((await lines(client, 'set /3/0/11 5'))[0]).toMatch(/multiple resource/);
    expect((await lines(client, 'set /3303/0/5700 warm'))[0]).toMatch(/^error 4\.00: .*float/);
    expect((await lines(client, 'set /3/0/4 1'))[0]).toMatch(/^error 4\.05/);
    expect((await lines(client, 'get /99/0'))[0]).toMatch(/^error 4\.04/);
    expect((await lines(client, 'get /3/x'))[0]).toMatch(/^error 4\.00/);
    const objects = await lines(client, 'objects');
    expect(objects).toContain('/3 Device v1.2: /3/0');
    expect(objects.find((l) => l.startsWith('/3303 '))).toMatch(/: \/3303\/0$/);
    expect((await lines(client, 'help')).join('\n')).toContain('send PATH');
    expect(await lines(client, 'frobnicate')).toEqual([
      'unknown command "frobnicate" (help lists them)',
    ]);
    expect(await lines(client, '   ')).toEqual([]);
    expect((await runCommand(client, 'quit')).quit).toBe(true);
  });

  it('register, send, update, deregister against the server', async () => {
    const { server, client } = await setup();
    expect((await lines(client, 'send /3/0/0'))[0]).toMatch(/not registered/);
    expect(await lines(client, 'register')).toEqual([]);
    expect(client.registration?.location).toBe('/rd/1');
    expect(await lines(client, 'register')).toEqual(['already registered as /rd/1']);
    await lines(client, 'set /3303/0/5700 19.5');
    expect(await lines(client, 'send /3303/0/5700 /3/0/0')).toEqual(['sent 2 value(s) (2.04)']);
    const [dp] = server.filter('POST', 'dp');
    const values = decodeValues(ContentFormat.SENML_CBOR, dp!.payload, {});
    expect(values.map((v) => `${v.path}`)).toEqual(['/3/0/0', '/3303/0/5700']);
    expect(await lines(client, 'update')).toEqual(['updated /rd/1']);
    expect(server.updates()).toHaveLength(1);
    expect(await lines(client, 'deregister')).toEqual([]);
    expect(server.filter('DELETE', 'rd')).toHaveLength(1);
    expect(await lines(client, 'deregister')).toEqual(['not registered']);
  });
});

describe('ClientConsole', () => {
  it('runs lines in order and keeps the client running at end of input without a terminal', async () => {
    const { client } = await setup();
    const input = new PassThrough();
    const output = new PassThrough();
    let text = '';
    output.on('data', (c: Buffer) => {
      text += c.toString();
    });
    let quits = 0;
    const console = new ClientConsole(client, {
      input,
      output,
      interactive: false,
      onQuit: () => quits++,
    });
    input.write('set /3303/0/5700 30\nget /3303/0/5700\n');
    input.end();
    await expect.poll(() => text).toBe('/3303/0/5700 = 30.0\n/3303/0/5700 = 30.0\n');
    await new Promise((r) => setTimeout(r, 50));
    expect(quits).toBe(0);
    console.close();
  });

  it('quits on "quit" and, at a terminal, at end of input', async () => {
    const { client } = await setup();
    const quitCmd = new PassThrough();
    let quits = 0;
    new ClientConsole(client, {
      input: quitCmd,
      output: new PassThrough(),
      interactive: false,
      onQuit: () => quits++,
    });
    quitCmd.write('quit\n');
    await expect.poll(() => quits).toBe(1);

    const tty = new PassThrough();
    let ttyQuits = 0;
    new ClientConsole(client, {
      input: tty,
      output: new PassThrough(),
      interactive: true,
      onQuit: () => ttyQuits++,
    });
    tty.end();
    await expect.poll(() => ttyQuits).toBe(1);
  });
});
