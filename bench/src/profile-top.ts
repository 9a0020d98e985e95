/**
 * The top functions of a `.cpuprofile` (as `node --cpu-prof` writes it): self time and total
 * (inclusive) time per function, so a report can say where the time goes.
 *
 *   tsx src/profile-top.ts <file.cpuprofile> [count]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface TopEntry {
  readonly name: string;
  readonly selfMs: number;
  readonly totalMs: number;
  readonly selfShare: number;
}

function label(n: ProfileNode): string {
  const f = n.callFrame;
  const where = f.url
    ? `${relative(process.cwd(), f.url.replace(/^file:\/\//, '')).replace(/^(\.\.\/)+/, '')}:${f.lineNumber + 1}`
    : '';
  return `${f.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
}

/** Self and inclusive time per function (recursion counted once per stack). */
export function topFunctions(profile: Profile): { entries: TopEntry[]; totalMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  for (const [id, us] of selfUs) {
    all += us;
    const node = byId.get(id)!;
    const name = label(node);
    self.set(name, (self.get(name) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur)!);
      if (seen.has(l)) continue;
      seen.add(l);
      total.set(l, (total.get(l) ?? 0) + us);
    }
  }
  const entries = [...self.keys()].map((name) => ({
    name,
    selfMs: (self.get(name) ?? 0) / 1000,
    totalMs: (total.get(name) ?? 0) / 1000,
    selfShare: (self.get(name) ?? 0) / all,
  }));
  return { entries, totalMs: all / 1000 };
}

export function formatTop(file: string, count = 25): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const { entries, totalMs } = topFunctions(profile);
  const lines = [
    `${file}: ${totalMs.toFixed(0)} ms sampled`,
    '',
    'self ms  self %  total ms  function',
  ];
  for (const e of entries.sort((a, b) => b.selfMs - a.selfMs).slice(0, count)) {
    lines.push(
      `${e.selfMs.toFixed(0).padStart(7)}  ${(e.selfShare * 100).toFixed(1).padStart(5)}%  ${e.totalMs.toFixed(0).padStart(8)}  ${e.name}`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: tsx src/profile-top.ts <file.cpuprofile> [count]');
    process.exit(2);
  }
  console.log(formatTop(file, Number(process.argv[3] ?? 25)));
}
