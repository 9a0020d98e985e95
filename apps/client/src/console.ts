/**
 * The interactive console of `lwm2m-client`: one command per line on stdin, results on stdout.
 *
 *   set /3303/0/5700 21.5      set a resource (or resource instance) as the device
 *   get /3/0                   read an object, instance, resource or resource instance
 *   send /3303/0/5700 [/3/0/9 …]  Send (POST /dp) those values to the server
 *   update | register | deregister | objects | help | quit
 *
 * `runCommand` does the work and returns the lines to print (unit-tested without streams);
 * `ClientConsole` reads lines with node:readline. Without a terminal, end of input only stops
 * reading (the device keeps running: `lwm2m-client < /dev/null` is a headless device); at a
 * terminal, Ctrl-D quits like `quit`.
 */
import { createInterface, type Interface } from 'node:readline';
import {
  type DataType,
  flattenNode,
  InvalidValueError,
  LwM2mError,
  LwM2mPath,
  type TypedValue,
  timeToSeconds,
  valueFromText,
  valueToText,
} from '@lwm2m-ts/core';
import type { LwM2mClient } from './client.js';

export const CONSOLE_HELP = [
  'commands:',
  '  set PATH VALUE         set a resource, e.g. set /3303/0/5700 21.5',
  '  get PATH               read, e.g. get /3/0',
  '  send PATH [PATH…]      Send the values to the server (LwM2M 1.1+), e.g. send /3303/0/5700',
  '  update                 send a registration Update now',
  '  register               register (again)',
  '  deregister             de-register (the device keeps running)',
  '  objects                list objects and instances',
  '  help                   this list',
  '  quit                   de-register and exit',
];

/** What `runCommand` needs of the client. */
export type ConsoleClient = Pick<
  LwM2mClient,
  'tree' | 'set' | 'get' | 'send' | 'update' | 'start' | 'deregister' | 'registration'
>;

export interface CommandResult {
  readonly lines: readonly string[];
  /** `quit` was asked for. */
  readonly quit?: boolean;
}

/** A value typed as the console shows it: opaque in hex, time as ISO 8601, the rest as text/plain. */
export function formatValue(v: TypedValue): string {
  if (v.type === 'opaque') return `0x${Buffer.from(v.value).toString('hex')}`;
  if (v.type === 'time') return v.value.toISOString();
  if (v.type === 'boolean') return String(v.value);
  return valueToText(v);
}

/**
 * A value typed for a resource from console text: booleans as true/false/1/0, opaque as
 * 0x-hex or base64, time as seconds or an ISO 8601 date, the rest as text/plain writes them.
 */
export function parseValue(type: DataType, text: string): TypedValue {
  const t = text.trim();
  if (type === 'boolean') {
    if (/^(true|on|yes|1)$/i.test(t)) return { type, value: true };
    if (/^(false|off|no|0)$/i.test(t)) return { type, value: false };
    throw new InvalidValueError(`"${t}" is not a boolean (true/false, 1/0)`);
  }
  if (type === 'opaque' && /^0x([0-9a-f]{2})*$/i.test(t)) {
    return { type, value: new Uint8Array(Buffer.from(t.slice(2), 'hex')) };
  }
  if (type === 'time' && !/^[+-]?\d+$/.test(t)) {
    const date = new Date(t);
    if (Number.isNaN(date.getTime())) throw new InvalidValueError(`"${t}" is not a time`);
    return valueFromText('time', timeToSeconds(date).toString());
  }
  return valueFromText(type, type === 'string' || type === 'corelnk' ? unquote(text) : t);
}

function unquote(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

function errorLine(err: unknown): string {
  if (err instanceof LwM2mError) return `error ${err.coapCode}: ${err.message}`;
  return `error: ${err instanceof Error ? err.message : String(err)}`;
}

/** Runs one console line. Never throws: failures come back as `error …` lines. */
export async function runCommand(client: ConsoleClient, line: string): Promise<CommandResult> {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return { lines: [] };
  const [command = '', ...args] = trimmed.split(/\s+/);
  try {
    switch (command.toLowerCase()) {
      case 'set':
        return { lines: await set(client, trimmed) };
      case 'get': {
        if (args.length !== 1) return { lines: ['usage: get PATH'] };
        const path = LwM2mPath.parse(args[0]!);
        const node = await client.get(path);
        return { lines: flattenNode(path, node).map((v) => `${v.path} = ${formatValue(v.value)}`) };
      }
      case 'send': {
        if (args.length === 0) return { lines: ['usage: send PATH [PATH…]'] };
        const result = await client.send(args.map((a) => LwM2mPath.parse(a)));
        return { lines: [`sent ${result.values.length} value(s) (${result.code})`] };
      }
      case 'update': {
        const reg = await client.update();
        return { lines: [`updated ${reg.location}`] };
      }
      case 'register': {
        const current = client.registration;
        if (current !== undefined) return { lines: [`already registered as ${current.location}`] };
        await client.start(); // the registered line is printed by whoever listens to the event
        return { lines: [] };
      }
      case 'deregister': {
        if (client.registration === undefined) return { lines: ['not registered'] };
        const confirmed = await client.deregister();
        return { lines: confirmed ? [] : ['de-registered (the server did not confirm)'] };
      }
      case 'objects':
        return { lines: objects(client) };
      case 'help':
      case '?':
        return { lines: CONSOLE_HELP };
      case 'quit':
      case 'exit':
        return { lines: [], quit: true };
      default:
        return { lines: [`unknown command "${command}" (help lists them)`] };
    }
  } catch (err) {
    return { lines: [errorLine(err)] };
  }
}

async function set(client: ConsoleClient, line: string): Promise<string[]> {
  const m = /^\S+\s+(\S+)\s+(.*)$/s.exec(line);
  if (m === null) return ['usage: set PATH VALUE'];
  const path = LwM2mPath.parse(m[1]!);
  const rm = client.tree.resourceModel(path);
  if (rm === undefined) return [`error 4.04: ${path} is not a resource of a known object`];
  if (rm.type === 'none') return [`error 4.05: ${path} is executable: it holds no value`];
  if (path.isResource() && rm.multiple) {
    return [`${path} is a multiple resource: set one instance, e.g. set ${path}/0 VALUE`];
  }
  const value = parseValue(rm.type, m[2]!);
  await client.set(path, value.value);
  return [`${path} = ${formatValue(value)}`];
}

function objects(client: ConsoleClient): string[] {
  const tree = client.tree;
  return tree.objectIds().map((id) => {
    const enabler = tree.get(id)!;
    const { name, version } = enabler.model;
    const instances = enabler.instanceIds();
    const list =
      instances.length === 0 ? '(no instances)' : instances.map((i) => `/${id}/${i}`).join(' ');
    return `/${id} ${name} v${version}: ${list}`;
  });
}

export interface ConsoleOptions {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
  /** Show a prompt and quit at end of input (stdin is a terminal). */
  readonly interactive: boolean;
  /** `quit`, or Ctrl-D at a terminal. */
  readonly onQuit: () => void;
}

/** Reads commands line by line, one at a time, until closed. */
export class ClientConsole {
  private readonly rl: Interface;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly client: ConsoleClient,
    private readonly options: ConsoleOptions,
  ) {
    this.rl = createInterface({
      input: options.input,
      ...(options.interactive && { output: options.output }),
      terminal: options.interactive,
    });
    this.rl.on('line', (line) => {
      this.chain = this.chain.then(() => this.run(line));
    });
    this.rl.on('close', () => {
      const wasClosed = this.closed;
      this.closed = true;
      // End of input at a terminal is Ctrl-D: quit. From a pipe or /dev/null: keep running.
      if (!wasClosed && options.interactive) this.chain.then(() => options.onQuit());
    });
    if (options.interactive) {
      this.rl.setPrompt('> ');
      this.rl.prompt();
    }
  }

  /** Prints a line (events, e.g. "registered …") without breaking the prompt. */
  print(line: string): void {
    this.options.output.write(`${line}\n`);
    if (this.options.interactive && !this.closed) this.rl.prompt(true);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.rl.close();
  }

  private async run(line: string): Promise<void> {
    const result = await runCommand(this.client, line);
    for (const l of result.lines) this.options.output.write(`${l}\n`);
    if (result.quit) {
      this.close();
      this.options.onQuit();
      return;
    }
    if (this.options.interactive && !this.closed) this.rl.prompt();
  }
}
