// Sums the vitest JSON reports of every workspace package into one line: "N passed, N failed".
// A package with a test script but no report (its test run crashed or never ran) counts as one
// failure, so a broken package cannot hide behind a green total.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dirs = [];
for (const group of ['packages', 'apps']) {
  const base = join(root, group);
  if (existsSync(base)) for (const d of readdirSync(base)) dirs.push(join(base, d));
}
for (const d of ['e2e', 'bench']) dirs.push(join(root, d));

let passed = 0;
let failed = 0;
for (const dir of dirs) {
  const pkgFile = join(dir, 'package.json');
  if (!existsSync(pkgFile)) continue;
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  if (!pkg.scripts?.test) continue;
  const report = join(dir, '.test-results', 'vitest.json');
  if (!existsSync(report)) {
    console.error(`${pkg.name}: no test report (${report})`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  // A file that fails to load has no tests but makes the run fail.
  if (r.success === false && (r.numFailedTests ?? 0) === 0) failed += 1;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
