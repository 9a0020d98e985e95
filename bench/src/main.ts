/**
 * `pnpm bench` — every figure next to a reference measured in the same run, as a ratio.
 *
 *   pnpm bench --quick                 small N, seconds per section (what CI runs)
 *   pnpm bench                         full N; writes docs/benchmarks.md (not with --only)
 *   --only=reads,storm,scale,notify,codecs,registry,dtls,redis
 *   --profile[=dir]                    server children run with --cpu-prof; top functions printed
 *   --steady-seconds=S  --scale-n=N    override the scale section's steady phase and size
 *   --write                            write docs/benchmarks.md in quick mode or with --only too
 *
 * Exits 1 when a benchmark fails to run (a missed goal is reported in the table, not an error).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codecBenchmarks } from './codecs.js';
import { dtlsBenchmarks } from './dtls.js';
import { machineLine, markdownTable, type Row } from './harness.js';
import { notifyBenchmarks } from './notify.js';
import { formatTop } from './profile-top.js';
import { readBenchmarks } from './reads.js';
import { redisBenchmarks } from './redis.js';
import { registryLoad } from './registry-load.js';
import { scaleBenchmarks } from './scale.js';
import { killAllServers, profileServerTo, serverProfiles } from './server-process.js';
import { stormBenchmarks } from './storm.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const registryDir = process.env.LWM2M_REGISTRY_DIR ?? `${root}../shared/oma-registry`;

const args = process.argv.slice(2);
const flag = (name: string): string | boolean | undefined => {
  const a = args.find((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (a === undefined) return undefined;
  const eq = a.indexOf('=');
  return eq < 0 ? true : a.slice(eq + 1);
};
const quick = flag('quick') === true;
const only = typeof flag('only') === 'string' ? (flag('only') as string).split(',') : undefined;
const profile = flag('profile');
const profileDir =
  profile === undefined
    ? undefined
    : typeof profile === 'string'
      ? profile
      : join(tmpdir(), `lwm2m-bench-profiles-${new Date().toISOString().replace(/[:.]/g, '-')}`);
if (profileDir !== undefined) {
  mkdirSync(profileDir, { recursive: true });
  profileServerTo(profileDir);
}
const numberFlag = (name: string): number | undefined => {
  const v = flag(name);
  return typeof v === 'string' ? Number(v) : undefined;
};

// Every child process goes when we go, however we go.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllServers();
    process.exit(130);
  });
}
process.on('exit', killAllServers);

/** The soft limit of open files: each simulated device holds a socket. */
function fdLimit(): number {
  try {
    const out = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
    return out === 'unlimited' ? Number.POSITIVE_INFINITY : Number(out);
  } catch {
    return 1024;
  }
}
const sockets = Math.max(200, fdLimit() - 300);

const log = (line: string) => console.error(line);
const t0 = performance.now();
const loadAtStart = loadavg()[0]!;
const rows: Row[] = [];
const failures: string[] = [];
const sections: [string, () => Promise<Row[]>][] = [
  ['reads', () => readBenchmarks(quick)],
  ['storm', () => stormBenchmarks(quick, sockets)],
  [
    'scale',
    () => {
      const n = numberFlag('scale-n') ?? (quick ? 5_000 : 100_000);
      return scaleBenchmarks({
        n,
        lifetime: quick ? 30 : 300,
        steadySeconds: numberFlag('steady-seconds') ?? (quick ? 60 : 600),
        samples: quick ? 4 : 10,
        chunk: Math.min(8_000, Math.floor(sockets / 2)),
        log,
      });
    },
  ],
  ['notify', () => notifyBenchmarks(quick, sockets)],
  ['codecs', () => codecBenchmarks(quick)],
  [
    'registry',
    async () => {
      if (!existsSync(registryDir)) {
        log(`skipping the registry benchmark: ${registryDir} not found`);
        return [];
      }
      return [await registryLoad(registryDir, quick)];
    },
  ],
  ['dtls', () => dtlsBenchmarks(quick)],
  ['redis', () => redisBenchmarks(quick, sockets, log)],
];

for (const [name, run] of sections) {
  if (only !== undefined && !only.includes(name)) continue;
  const started = performance.now();
  log(`bench: ${name}…`);
  try {
    rows.push(...(await run()));
  } catch (err) {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    failures.push(`${name}: ${message}`);
    log(`bench: ${name} failed: ${message}`);
    killAllServers();
  }
  log(`bench: ${name} took ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

const machine = machineLine();
const mode = quick ? 'quick mode (small N)' : 'full mode';
// Other processes on the machine share the cores: the load says how much (ratios absorb it).
const load = `load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end`;
const header = `${machine} — ${mode}, ${((performance.now() - t0) / 1000).toFixed(0)} s, ${load}`;
const table = markdownTable(rows);
const missed = rows.filter((r) => r.met === false).length;
const met = rows.filter((r) => r.met === true).length;
console.log(`${header}\n\n${table}\n\ngoals: ${met} met, ${missed} missed`);

let profiles = '';
if (profileDir !== undefined && existsSync(profileDir)) {
  profiles = serverProfiles(profileDir)
    .map((f) => formatTop(f, 20))
    .join('\n\n');
  if (profiles)
    console.log(`\nCPU profiles of the server processes (${profileDir}):\n\n${profiles}`);
}

// A partial run (--only) would replace the whole table with part of it: written only if asked.
if ((!quick && only === undefined) || flag('write') === true) {
  const doc = `# Benchmarks

Written by \`pnpm bench\` (full mode; do not edit by hand — \`pnpm bench --quick\` is the small
version CI runs). Machines here are noisy, so every figure sits next to a reference measured in
the same run, and the ratio is subject ÷ reference: for rates above 1× means faster than the
reference, for bytes below 1× means smaller.

Measured on: ${machine}, ${new Date().toISOString().slice(0, 10)}, ${mode}, ${load}.

${table}

Goals: ${met} met, ${missed} missed.

## How each figure is made

1. **Reads** — \`LwM2mServer.read(ep, '/3/0/0')\`, closed loop with 1 or 64 reads in flight, to
   a *raw device* (a bare \`CoapEndpoint\` that registered itself and answers from a payload
   encoded once, as the node-coap server of the reference answers from a constant) and to a full
   \`LwM2mClient\`; over UDP and over DTLS PSK (CCM_8, session established). Everything in one
   process, drivers alternating round by round. References: node-coap Agent → Server GET between
   two sockets, and raw \`node:dgram\` echo (the floor), same process, same rounds.
2. **Registration storm** — the server alone in a child process; devices in the bench process
   on the same cores. The *raw generator* (one socket per device on its own 127.x.y.z address,
   pre-encoded Register datagrams, 256 waiting at most) measures the server: that is the honest
   figure for the server's capacity. The *fleet* (\`Fleet\`, one full \`LwM2mClient\` per device)
   shares the 2 cores with the server (about 0.2 ms of CPU per device, client and server
   together, once warm), so it measures client and server together. It storms twice against one
   server child: the goal is judged on the second storm (both processes JIT-compiled, as a
   server that has been running), the first (fresh processes) is shown on its own row. The raw
   generator's reference is the same generator against a raw \`node:dgram\` echo socket. The server's socket gets a 4 MB receive buffer
   (\`coap.recvBufferSize\`); kernel drops are counted from /proc/net/udp.
3. **Scale and memory** — a child running only the server (\`--expose-gc\`), N raw devices
   spread over 127.0.0.0/8 registering, then one Update each (the Update rate), then Updates
   paced at N ÷ (lifetime ÷ 2) per second for the steady phase. Heap and RSS per registration:
   (after − before) ÷ N, each after two full GCs. Reference: the registration record as JSON.
4. **Notifications** — N raw devices observed by the server (\`server.observe\`), notifying
   round-robin (NON, every 32nd CON, at most 8 CONs unacknowledged): notifications decoded and
   emitted per second, counted by the server process. Reference: the same generator against a
   raw \`node:dgram\` socket that only counts.
5. **Codecs** — encode+decode through the generic \`encode\`/\`decode\`/\`decodeValues\` API,
   against cbor-x packing and unpacking the same values as plain maps.
6. **Registry** — \`loadDdfDirectory\` on the whole OMA registry against fast-xml-parser alone
   reading and parsing the same files.
7. **CoAP over DTLS** — our \`CoapEndpoint\` on DTLS sockets against the same on plain UDP, and
   full PSK handshakes.
8. **Redis stores** — the server on Redis stores (\`lwm2m-server --store redis://…\`: the stores
   of \`openRedisStores\`, cluster mode on their bus) next to the server on in-memory stores, one
   \`redis-server\` of the bench's own (loopback, AOF everysec, no snapshots), FLUSHALL before
   each use. Registrations/s: the raw generator of item 2 against a fresh server child per round,
   Redis and in-memory rounds alternating, median round; then two Updates per device, the second
   timed (Update handling/s: the registration store's compare-and-set). Redis memory per
   registration: INFO \`used_memory\` right before and after the timed Registers ÷ N, next to the
   registration record as JSON; Redis CPU per registration the same way from INFO
   \`used_cpu_user\` + \`used_cpu_sys\`. Reads/s: as in item 1 (raw device, 1 and 64 in flight),
   both servers in the bench process, alternating, so the difference is the Redis lookup of the
   registration. Skipped when \`redis-server\` is not on PATH (a failure in quick mode on CI).
${failures.length > 0 ? `\n## Failed to run\n\n${failures.map((f) => `- ${f.split('\n')[0]}`).join('\n')}\n` : ''}`;
  await writeFile(`${root}docs/benchmarks.md`, doc);
  log(`bench: wrote ${root}docs/benchmarks.md`);
}

if (failures.length > 0) {
  console.error(`\n${failures.length} benchmark section(s) failed to run:\n${failures.join('\n')}`);
  process.exitCode = 1;
}
