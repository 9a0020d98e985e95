/**
 * The interop results of the last `pnpm test`, read from every workspace package's vitest JSON
 * report (`<package>/.test-results/vitest.json`).
 *
 * An interop test carries a tag in its title (`it()` or an enclosing `describe()`):
 *
 *   [interop peer=coap-client-openssl ours=server transport=dtls-psk op=register,update]
 *
 * - `peer`: the other implementation (`coap-client-gnutls`, `lwm2m-node-lib-client`,
 *   `openssl-s_client`, …); a name with `server` in it plays the server, the rest the client;
 * - `ours`: our part under test (`server`, `client`, `bootstrap`, `coap`, `dtls-server`,
 *   `dtls-client`);
 * - `transport`: `coap` (plain CoAP over UDP) or `dtls-psk` (CoAP over DTLS 1.2 with a PSK);
 * - `op`: what the test proves, one or more operations separated by commas.
 *
 * Each (peer, ours, transport, op) is one cell: `fail` when any of its tests failed, else `pass`
 * when one passed, else `not-run` (skipped: the peer is missing and LWM2M_REQUIRE_INTEROP is
 * unset, or the run was filtered).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const DOC = join(REPO, 'docs', 'interop.md');

export type Status = 'pass' | 'fail' | 'not-run';

export interface CellKey {
  readonly peer: string;
  readonly ours: string;
  readonly transport: string;
  readonly op: string;
}

export interface Cell extends CellKey {
  status: Status;
  /** Test files (relative to the repository) with their tests' full names. */
  readonly tests: { file: string; name: string; status: Status }[];
}

export interface Collected {
  readonly cells: Map<string, Cell>;
  /** Packages with a test script, whether their report was found, whether they tag tests. */
  readonly reports: { pkg: string; dir: string; found: boolean; hasInteropTests: boolean }[];
}

const TAG = /\[interop ([^\]]*)\]/g;

export function keyOf(k: CellKey): string {
  return `${k.peer}|${k.ours}|${k.transport}|${k.op}`;
}

export function parseKey(key: string): CellKey {
  const [peer = '', ours = '', transport = '', op = ''] = key.split('|');
  return { peer, ours, transport, op };
}

/** The cells one test title stands for (none when it carries no tag). */
export function tagsOf(fullName: string): CellKey[] {
  const out: CellKey[] = [];
  for (const m of fullName.matchAll(TAG)) {
    const fields = new Map<string, string>();
    for (const pair of m[1]!.trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq > 0) fields.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const peer = fields.get('peer');
    const ours = fields.get('ours');
    const transport = fields.get('transport');
    const ops = fields.get('op');
    if (!peer || !ours || !transport || !ops) {
      throw new Error(`incomplete interop tag (needs peer, ours, transport, op): ${m[0]}`);
    }
    for (const op of ops.split(',')) {
      if (op !== '') out.push({ peer, ours, transport, op });
    }
  }
  return out;
}

function statusOf(vitestStatus: string): Status {
  if (vitestStatus === 'passed') return 'pass';
  if (vitestStatus === 'failed') return 'fail';
  return 'not-run';
}

/** Workspace package directories (packages/*, apps/*, e2e, bench) that have a test script. */
function packageDirs(): { pkg: string; dir: string }[] {
  const dirs: string[] = [];
  for (const group of ['packages', 'apps']) {
    const base = join(REPO, group);
    if (existsSync(base)) for (const d of readdirSync(base).sort()) dirs.push(join(base, d));
  }
  dirs.push(join(REPO, 'e2e'), join(REPO, 'bench'));
  const out: { pkg: string; dir: string }[] = [];
  for (const dir of dirs) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as {
      name?: string;
      scripts?: Record<string, string>;
    };
    if (pkg.scripts?.test) out.push({ pkg: pkg.name ?? relative(REPO, dir), dir });
  }
  return out;
}

interface VitestReport {
  testResults?: {
    name: string;
    assertionResults?: { fullName?: string; title: string; status: string }[];
  }[];
}

/** True when a `*.test.ts` under `dir/src` carries an interop tag. */
function hasInteropTests(dir: string): boolean {
  const src = join(dir, 'src');
  if (!existsSync(src)) return false;
  const entries = readdirSync(src, { recursive: true, withFileTypes: true });
  return entries.some(
    (e) =>
      e.isFile() &&
      e.name.endsWith('.test.ts') &&
      readFileSync(join(e.parentPath, e.name), 'utf8').includes('[interop '),
  );
}

/** Reads every package's report and folds the tagged tests into cells. */
export function collect(): Collected {
  const cells = new Map<string, Cell>();
  const reports: Collected['reports'] = [];
  for (const { pkg, dir } of packageDirs()) {
    const path = join(dir, '.test-results', 'vitest.json');
    const found = existsSync(path);
    reports.push({ pkg, dir: relative(REPO, dir), found, hasInteropTests: hasInteropTests(dir) });
    if (!found) continue;
    const report = JSON.parse(readFileSync(path, 'utf8')) as VitestReport;
    for (const file of report.testResults ?? []) {
      const rel = relative(REPO, file.name);
      for (const test of file.assertionResults ?? []) {
        const name = test.fullName ?? test.title;
        const status = statusOf(test.status);
        for (const k of tagsOf(name)) {
          const key = keyOf(k);
          let cell = cells.get(key);
          if (cell === undefined) {
            cell = { ...k, status: 'not-run', tests: [] };
            cells.set(key, cell);
          }
          cell.tests.push({ file: rel, name, status });
          if (status === 'fail') cell.status = 'fail';
          else if (status === 'pass' && cell.status === 'not-run') cell.status = 'pass';
        }
      }
    }
  }
  return { cells, reports };
}

const DATA_START = '<!-- interop-results';
const DATA_END = '-->';

/** The block docs/interop.md ends with: every cell's status, for check-interop.ts. */
export function dataBlock(cells: Map<string, Cell>): string {
  const data: Record<string, Status> = {};
  for (const key of [...cells.keys()].sort()) data[key] = cells.get(key)!.status;
  return `${DATA_START}\n${JSON.stringify(data, null, 1)}\n${DATA_END}\n`;
}

/** The statuses recorded in a docs/interop.md; throws when it has no data block. */
export function readDataBlock(markdown: string): Map<string, Status> {
  const start = markdown.lastIndexOf(DATA_START);
  if (start < 0) throw new Error('no interop-results block (regenerate it with "pnpm interop")');
  const end = markdown.indexOf(DATA_END, start);
  const json = markdown.slice(start + DATA_START.length, end < 0 ? undefined : end);
  const data = JSON.parse(json) as Record<string, Status>;
  return new Map(Object.entries(data));
}
