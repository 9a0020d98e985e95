#!/usr/bin/env node
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ModelError, type ObjectModel, type ResourceModel } from '@lwm2m-ts/core';
import { type DirectoryLoadResult, loadDdfDirectory, loadDdfFile } from './ddf.js';
import { ObjectRegistry } from './object-registry.js';

const USAGE = `Usage: lwm2m-registry <command> [options]

Commands:
  show <objectId>[@version]   print an object and its resources (e.g. show 3, show 1@1.1)
  list                        list the known objects and their versions
  validate <file|dir>         check DDF files; exit code 1 when any is invalid

Options:
  -d, --dir <dir>     also load the DDF files of <dir> (show, list); they override built-ins
  -r, --recursive     include sub-directories (--dir, validate)
  -h, --help          print this help

Exit codes: 0 ok, 1 invalid DDF files (validate), 2 bad usage or unknown object.`;

/** Bad usage: reported with exit code 2. */
class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: 'string', short: 'd' },
      recursive: { type: 'boolean', short: 'r', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === 'help') {
    out(USAGE);
    return 0;
  }
  switch (command) {
    case 'show':
      if (rest.length !== 1) throw new UsageError('show takes one <objectId>[@version]');
      return show(rest[0]!, await registry(values.dir, values.recursive));
    case 'list':
      if (rest.length !== 0) throw new UsageError('list takes no arguments');
      return list(await registry(values.dir, values.recursive));
    case 'validate':
      if (rest.length !== 1) throw new UsageError('validate takes one <file|dir>');
      return validate(rest[0]!, values.recursive);
    case undefined:
      throw new UsageError('missing command');
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function registry(dir: string | undefined, recursive: boolean): Promise<ObjectRegistry> {
  const reg = ObjectRegistry.withBuiltins();
  if (dir !== undefined) {
    const result = await reg.loadDirectory(dir, { recursive }).catch((e: unknown) => {
      throw new UsageError(e instanceof Error ? e.message : String(e));
    });
    for (const e of result.errors) err(`warning: ${e.message}`);
  }
  return reg;
}

function show(ref: string, reg: ObjectRegistry): number {
  const m = /^(\d{1,5})(?:@(\d+\.\d+))?$/.exec(ref);
  const id = Number(m?.[1]);
  if (!m || id > 65535) {
    throw new UsageError(`"${ref}" is not <objectId>[@major.minor] (id in 0..65535)`);
  }
  const version = m[2];
  const { model, match } = reg.resolve(id, version);
  if (match === 'unknown') {
    err(`error: unknown object ${id}; "lwm2m-registry list" shows the known ones`);
    return 2;
  }
  if (match === 'nearest') {
    err(`note: object ${id} has no version ${version}; showing version ${model.version}`);
  }
  out(describeObject(model));
  return 0;
}

function describeObject(m: ObjectModel): string {
  const lines = [
    `Object ${m.id}: ${m.name}`,
    `  version ${m.version} (LwM2M ${m.lwm2mVersion})${m.urn ? `, ${m.urn}` : ''}`,
    `  ${m.multiple ? 'multiple instances' : 'single instance'}, ${m.mandatory ? 'mandatory' : 'optional'}`,
    '',
  ];
  const header = ['ID', 'Name', 'Ops', 'Type', 'Instances', 'Mandatory', 'Range/Enum', 'Units'];
  const rows = [...m.resources.values()].sort((a, b) => a.id - b.id).map(resourceCells);
  lines.push(...table([header, ...rows]));
  if (rows.length === 0) lines.push('(no resources)');
  return lines.join('\n');
}

function resourceCells(r: ResourceModel): string[] {
  return [
    String(r.id),
    r.name,
    r.operations,
    r.type,
    r.multiple ? 'multiple' : 'single',
    r.mandatory ? 'mandatory' : 'optional',
    (r.rangeEnumeration ?? '').split(/\s*\n\s*/).join('; '),
    r.units ?? '',
  ];
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  return rows.map((row) =>
    row
      .map((cell, c) => (c === 0 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
}

function list(reg: ObjectRegistry): number {
  const rows = reg.objectIds().map((id) => {
    const latest = reg.get(id)!;
    return [String(id), latest.name, reg.versions(id).join(', ')];
  });
  out(table([['ID', 'Name', 'Versions'], ...rows]).join('\n'));
  return 0;
}

async function validate(path: string, recursive: boolean): Promise<number> {
  const info = await stat(path).catch(() => {
    throw new UsageError(`no such file or directory: ${path}`);
  });
  let result: DirectoryLoadResult;
  if (info.isDirectory()) {
    result = await loadDdfDirectory(path, { recursive });
  } else {
    result = { models: [], errors: [], skipped: [] };
    try {
      result.models.push(...(await loadDdfFile(path)));
    } catch (e) {
      if (!(e instanceof ModelError)) throw e;
      result.errors.push(e);
    }
  }
  for (const s of result.skipped) out(`skipped ${s.source}: ${s.reason}`);
  for (const e of result.errors) out(`error: ${e.message}`);
  const n = result.models.length;
  out(`${n} object definition${n === 1 ? '' : 's'} valid, ${result.errors.length} invalid`);
  return result.errors.length > 0 ? 1 : 0;
}

function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

function err(text: string): void {
  process.stderr.write(`${text}\n`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const usage =
      e instanceof UsageError ||
      (e instanceof TypeError &&
        String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS'));
    err(`error: ${e instanceof Error ? e.message : String(e)}`);
    if (usage) err('Run "lwm2m-registry --help" for usage.');
    process.exitCode = usage ? 2 : 1;
  },
);
