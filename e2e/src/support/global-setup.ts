/**
 * vitest globalSetup of the e2e suite: nothing the suite starts may outlive it.
 *
 * Before the test workers start, it marks the run in the environment every worker and every
 * process they start inherits (`LWM2M_E2E_RUN=<uuid>`), and points `TMPDIR` at a directory of its
 * own, so every `mkdtemp(tmpdir())` of the suite (ours, testkit's, a browser's) lands there. The
 * teardown, after the last worker is gone, fails the run (exit status 1, and `success: false` in
 * `.test-results/vitest.json` when the JSON reporter wrote one) when a process carrying the mark
 * is still alive (it is then killed) or something is left in that directory (it is then removed).
 * Sockets die with their processes; the ones held inside the workers are checked per test file
 * by leak-check.ts.
 */
import { randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RUN_ENV = 'LWM2M_E2E_RUN';
const REPORT = fileURLToPath(new URL('../../.test-results/vitest.json', import.meta.url));
/** How long processes get to finish exiting after the last test file. */
const GRACE_MS = 5000;

interface Marked {
  readonly pid: number;
  readonly command: string;
}

/** Processes (other than this one) whose environment carries `LWM2M_E2E_RUN=<run>`. */
function markedProcesses(run: string): Marked[] {
  const needle = `${RUN_ENV}=${run}\0`;
  const found: Marked[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').includes(needle)) continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'latin1').replaceAll('\0', ' ').trim();
      // A zombie (exited, not reaped yet) has an empty command line: it holds nothing.
      if (command !== '') found.push({ pid: Number(entry), command });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

function listTree(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      // vanished
    }
    out.push(`${prefix}${name}${isDir ? '/' : ''}`);
  }
  return out;
}

function markReport(problems: readonly string[], since: number): void {
  if (!existsSync(REPORT) || statSync(REPORT).mtimeMs < since) return;
  try {
    const report = JSON.parse(readFileSync(REPORT, 'utf8')) as Record<string, unknown>;
    report.success = false;
    report.teardownErrors = problems;
    writeFileSync(REPORT, JSON.stringify(report));
  } catch {
    // Not ours to repair; the exit status still says it.
  }
}

export default function setup(): () => Promise<void> {
  const run = randomUUID();
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'lwm2m-e2e-run-'));
  process.env[RUN_ENV] = run;
  process.env.TMPDIR = dir;

  return async function teardown() {
    const problems: string[] = [];
    let alive = markedProcesses(run);
    const deadline = Date.now() + GRACE_MS;
    while (alive.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      alive = markedProcesses(run);
    }
    for (const p of alive) {
      problems.push(`process ${p.pid} outlived the suite: ${p.command.slice(0, 300)}`);
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone at last
      }
    }
    const left = listTree(dir);
    if (left.length > 0) {
      problems.push(`temporary files left behind in ${dir}: ${left.join(', ')}`);
    }
    rmSync(dir, { recursive: true, force: true });
    if (problems.length > 0) {
      process.stderr.write(
        `\ne2e teardown check failed:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`,
      );
      process.exitCode = 1;
      markReport(problems, started);
    }
  };
}
