/**
 * Where a fleet device's CPU goes: `Fleet` registers N devices against an `LwM2mServer` in a
 * child process (server-child.ts), and this process reports its own CPU time per device (user +
 * system, the fleet only) beside the server's. Run it under `--cpu-prof` for the functions:
 *
 *   tsx src/profile-fleet.ts [n=5000] [concurrency=500] [rounds=1] [profile-dir]
 *   tsx src/profile-top.ts <profile-dir>/fleet-start-<round>.cpuprofile 30
 *
 * With a profile directory, each round's `fleet.start()` (the registration storm alone) is
 * profiled through the inspector and written there, and the server child runs with --cpu-prof
 * into the same directory.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { Fleet } from '@lwm2m-ts/client';
import { profileServerTo, ServerProcess } from './server-process.js';

const n = Number(process.argv[2] ?? 5000);
const concurrency = Number(process.argv[3] ?? 500);
const rounds = Number(process.argv[4] ?? 1);
const profileDir = process.argv[5];
const inspector = profileDir === undefined ? undefined : new Session();
if (inspector !== undefined && profileDir !== undefined) {
  mkdirSync(profileDir, { recursive: true });
  profileServerTo(profileDir);
  inspector.connect();
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.setSamplingInterval', { interval: 200 });
}

/** Garbage-collection pauses by kind (ms), while the fleet starts. */
const gc = { minor: 0, major: 0, other: 0 };
let counting = false;
new PerformanceObserver((list) => {
  if (!counting) return;
  for (const e of list.getEntries()) {
    const kind = (e as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.minor += e.duration;
    else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major += e.duration;
    else gc.other += e.duration;
  }
}).observe({ entryTypes: ['gc'] });

for (let round = 0; round < rounds; round++) {
  const server = await ServerProcess.start(
    { udp: true, dtls: false, recvBufferSize: 4 * 1024 * 1024 },
    'profile-fleet',
  );
  const fleet = new Fleet({
    count: n,
    server: { uri: `coap://127.0.0.1:${server.udpPort}` },
    endpointPrefix: `prof-${round}-`,
    rampPerSecond: Number.POSITIVE_INFINITY,
    concurrency,
    closeConcurrency: 500,
    lifetime: 600,
    sensorIntervalMs: 0,
    progressIntervalMs: 0,
    deregisterTimeout: 2000,
  });
  const serverBefore = await server.stats();
  gc.minor = gc.major = gc.other = 0;
  counting = true;
  await inspector?.post('Profiler.start');
  const cpu0 = process.cpuUsage();
  const stats = await fleet.start();
  const cpu = process.cpuUsage(cpu0);
  counting = false;
  if (inspector !== undefined && profileDir !== undefined) {
    const { profile } = await inspector.post('Profiler.stop');
    writeFileSync(join(profileDir, `fleet-start-${round}.cpuprofile`), JSON.stringify(profile));
  }
  const serverAfter = await server.stats();
  const serverMs =
    serverAfter.cpuUserMs +
    serverAfter.cpuSystemMs -
    serverBefore.cpuUserMs -
    serverBefore.cpuSystemMs;
  const fleetUs = (cpu.user + cpu.system) / Math.max(1, stats.registered);
  console.log(
    `round ${round}: ${stats.registered}/${n} registered in ${stats.elapsedMs.toFixed(0)} ms = ${((stats.registered / stats.elapsedMs) * 1000).toFixed(0)} reg/s; fleet CPU ${fleetUs.toFixed(0)} µs/device (user ${(cpu.user / stats.registered).toFixed(0)}, system ${(cpu.system / stats.registered).toFixed(0)}); server CPU ${((serverMs * 1000) / Math.max(1, stats.registered)).toFixed(0)} µs/reg; heap/device ${stats.heapPerDevice?.toFixed(0)} B; p50 ${stats.latency.p50?.toFixed(0)} ms; GC µs/device: minor ${((gc.minor * 1000) / n).toFixed(0)}, major ${((gc.major * 1000) / n).toFixed(0)}, other ${((gc.other * 1000) / n).toFixed(0)}`,
  );
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fleet.close();
  const cc = process.cpuUsage(c0);
  console.log(
    `  close: ${(performance.now() - t0).toFixed(0)} ms, ${((cc.user + cc.system) / Math.max(1, stats.registered)).toFixed(0)} µs/device`,
  );
  await server.close();
}
