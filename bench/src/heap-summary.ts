/**
 * What a V8 heap snapshot holds, by kind of object: count and self size per constructor (or
 * per node type for strings, arrays, closures…), and the difference between two snapshots.
 * For finding what a registration or an Update costs in the server's heap.
 *
 *   tsx src/heap-summary.ts <after.heapsnapshot> [before.heapsnapshot] [count]
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  readonly snapshot: {
    readonly meta: { readonly node_fields: string[]; readonly node_types: [string[]] };
  };
  readonly nodes: number[];
  readonly strings: string[];
}

export function summarize(file: string): Map<string, { count: number; size: number }> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const out = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType]!]!;
    const name = s.strings[s.nodes[i + iName]!]!;
    const key =
      type === 'object' || type === 'native'
        ? `${type}:${name}`
        : type === 'closure'
          ? `closure:${name || '(anonymous)'}`
          : type === 'string' || type === 'concatenated string' || type === 'sliced string'
            ? `(${type})`
            : `(${type}) ${name.slice(0, 40)}`;
    const e = out.get(key) ?? { count: 0, size: 0 };
    e.count++;
    e.size += s.nodes[i + iSize]!;
    out.set(key, e);
  }
  return out;
}

export function formatSummary(after: string, before?: string, count = 30): string {
  const a = summarize(after);
  const b =
    before === undefined ? new Map<string, { count: number; size: number }>() : summarize(before);
  const keys = new Set([...a.keys(), ...b.keys()]);
  const rows = [...keys].map((k) => {
    const x = a.get(k) ?? { count: 0, size: 0 };
    const y = b.get(k) ?? { count: 0, size: 0 };
    return { k, count: x.count - y.count, size: x.size - y.size };
  });
  rows.sort((p, q) => q.size - p.size);
  const total = rows.reduce((t, r) => t + r.size, 0);
  const lines = [
    `${before === undefined ? 'total' : 'growth'}: ${(total / 1024 / 1024).toFixed(1)} MB`,
    '  Δcount     Δbytes  kind',
  ];
  for (const r of rows.slice(0, count)) {
    lines.push(`${String(r.count).padStart(8)} ${String(r.size).padStart(10)}  ${r.k}`);
  }
  return lines.join('\n');
}

if (process.argv[1]?.endsWith('heap-summary.ts')) {
  const [after, before, count] = process.argv.slice(2);
  if (after === undefined) {
    console.error(
      'usage: tsx src/heap-summary.ts <after.heapsnapshot> [before.heapsnapshot] [count]',
    );
    process.exit(2);
  }
  console.log(formatSummary(after, before, Number(count ?? 30)));
}
