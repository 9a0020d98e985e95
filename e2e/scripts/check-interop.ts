/**
 * CI check, after `pnpm test`: every interop cell that passes in the committed docs/interop.md
 * must pass in this run's vitest reports. A cell that now fails, was skipped (a peer missing) or
 * is gone (a test renamed, a report missing) fails the check, with the tests to look at. Cells
 * that are new, or that were not passing before, are reported and do not fail it: run
 * `pnpm interop` and commit docs/interop.md to take them in.
 *
 *   node --import tsx e2e/scripts/check-interop.ts [--doc docs/interop.md]
 *
 * Exit status: 0 when nothing that passed regressed, 1 otherwise, 2 when it cannot compare.
 */
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import {
  collect,
  DOC,
  keyOf,
  parseKey,
  REPO,
  readDataBlock,
  type Status,
} from './interop-results.js';

function main(): number {
  const at = process.argv.indexOf('--doc');
  const doc = at >= 0 && process.argv[at + 1] ? resolve(process.argv[at + 1]!) : DOC;
  if (!existsSync(doc)) {
    process.stderr.write(`check-interop: ${doc} does not exist: generate it with "pnpm interop"\n`);
    return 2;
  }
  let before: Map<string, Status>;
  try {
    before = readDataBlock(readFileSync(doc, 'utf8'));
  } catch (err) {
    process.stderr.write(`check-interop: ${relative(REPO, doc)}: ${(err as Error).message}\n`);
    return 2;
  }
  const { cells, reports } = collect();
  const regressions: string[] = [];
  for (const [key, was] of before) {
    if (was !== 'pass') continue;
    const now = cells.get(key);
    const k = parseKey(key);
    const what = `${k.peer} / ours=${k.ours} / ${k.transport} / ${k.op}`;
    if (now === undefined) {
      regressions.push(`${what}: passed before, no test result now (renamed? report missing?)`);
    } else if (now.status !== 'pass') {
      const tests = now.tests
        .filter((t) => t.status !== 'pass')
        .map((t) => `\n      ${t.file}: ${t.name}`)
        .join('');
      regressions.push(
        `${what}: passed before, ${now.status === 'fail' ? 'FAILS' : 'was skipped'} now${tests}`,
      );
    }
  }
  for (const r of reports) {
    if (r.hasInteropTests && !r.found) {
      regressions.push(
        `${r.pkg} has interop tests but no report (${r.dir}/.test-results/vitest.json)`,
      );
    }
  }
  const news = [...cells.values()].filter((c) => before.get(keyOf(c)) !== c.status);
  for (const c of news) {
    if (before.get(keyOf(c)) === 'pass') continue; // counted above
    process.stdout.write(
      `check-interop: note: ${c.peer} / ours=${c.ours} / ${c.transport} / ${c.op} is ${c.status} (was ${
        before.get(keyOf(c)) ?? 'not in the matrix'
      }): run "pnpm interop" to record it\n`,
    );
  }
  const passing = [...before.values()].filter((s) => s === 'pass').length;
  if (regressions.length > 0) {
    process.stderr.write(
      `check-interop: against the ${passing} passing cells of ${relative(REPO, doc)}:\n${regressions
        .map((r) => `  - ${r}`)
        .join('\n')}\n`,
    );
    return 1;
  }
  process.stdout.write(
    `check-interop: the ${passing} interop cells that pass in ${relative(REPO, doc)} still pass\n`,
  );
  return 0;
}

process.exitCode = main();
