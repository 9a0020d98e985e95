import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { coapRoundTrips } from './coap-roundtrip.js';
import { codecBenchmarks } from './codecs.js';
import { dtlsBenchmarks } from './dtls.js';
import { type Comparison, machineLine, markdownTable } from './harness.js';
import { registryLoad } from './registry-load.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const registryDir = process.env.LWM2M_REGISTRY_DIR ?? `${root}../shared/oma-registry`;

const rows: Comparison[] = [];
if (existsSync(registryDir)) rows.push(await registryLoad(registryDir));
else console.warn(`skipping the registry benchmark: ${registryDir} not found`);
rows.push(...(await codecBenchmarks()));
rows.push(...(await coapRoundTrips()));
rows.push(...(await dtlsBenchmarks()));

const machine = machineLine();
const table = markdownTable(rows);
console.log(`${machine}\n\n${table}`);

const doc = `# Benchmarks

Written by \`pnpm bench\` (do not edit by hand). Machines here are noisy, so every figure sits
next to a reference measured in the same run, alternating subject and reference; the ratio is
subject time / reference time (lower is better).

Measured on: ${machine}, ${new Date().toISOString().slice(0, 10)}.

${table}
`;
await mkdir(`${root}docs`, { recursive: true });
await writeFile(`${root}docs/benchmarks.md`, doc);
