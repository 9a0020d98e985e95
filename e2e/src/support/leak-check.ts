/**
 * vitest setupFile of the e2e suite: after each test file (after its own afterAll hooks), no UDP
 * socket, listening TCP server or child process may still be open in the worker. Closing is
 * asynchronous, so it waits a little before it fails the file with what is left.
 */
// node-coap opens its two global agents' sockets (udp4, udp6) when it is loaded: load it before
// counting, so that they are part of what was there before the test file.
import '@lwm2m-ts/coap';
import { liveProcesses, stopAll } from '@lwm2m-ts/testkit';
import { afterAll } from 'vitest';

/** Handle types that mean a socket or a process. */
const WATCHED = ['UDPWrap', 'TCPServerWrap', 'ProcessWrap'] as const;
const WAIT_MS = 3000;

function counts(): Map<string, number> {
  const out = new Map<string, number>(WATCHED.map((w) => [w, 0]));
  for (const r of process.getActiveResourcesInfo()) {
    if (out.has(r)) out.set(r, out.get(r)! + 1);
  }
  return out;
}

const baseline = counts();

/** What is open beyond the baseline, e.g. `["1 UDPWrap"]`. */
function extra(): string[] {
  return [...counts()]
    .filter(([r, n]) => n > baseline.get(r)!)
    .map(([r, n]) => `${n - baseline.get(r)!} ${r}`);
}

afterAll(async () => {
  const deadline = Date.now() + WAIT_MS;
  let left = extra();
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = extra();
  }
  const processes = liveProcesses().map((p) => p.commandLine);
  if (left.length === 0 && processes.length === 0) return;
  await stopAll();
  throw new Error(
    `left open after the test file: ${left.join(', ') || 'no sockets'}${
      processes.length > 0 ? `; processes: ${processes.join(' | ')}` : ''
    }`,
  );
});
