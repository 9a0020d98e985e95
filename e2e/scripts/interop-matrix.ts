/**
 * `pnpm interop`: writes docs/interop.md, the interop matrix (operation × peer × transport), from
 * the vitest reports the last `pnpm test` left in every package (see interop-results.ts for how
 * tests are tagged). Run it after `pnpm test`; commit the result: CI's check-interop.ts fails
 * when a cell that passed there no longer passes.
 *
 *   pnpm interop            write docs/interop.md
 *   pnpm interop --stdout   print it instead
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  type Cell,
  type CellKey,
  collect,
  DOC,
  dataBlock,
  keyOf,
  REPO,
  type Status,
} from './interop-results.js';

/** What the peer cannot do at all: shown as "n/s" with the reason, never as a failure. */
interface NotSupported {
  readonly peer: string | RegExp;
  readonly ours: string;
  readonly transport?: string;
  readonly ops: readonly string[] | 'all';
  readonly why: string;
}

const LIBCOAP_CLIENT = /^coap-client-/;
const LIBCOAP_SERVER = /^coap-server-/;

const NOT_SUPPORTED: readonly NotSupported[] = [
  {
    peer: 'lwm2m-node-lib-client',
    ours: 'server',
    transport: 'dtls-psk',
    ops: 'all',
    why: 'lwm2m-node-lib has no DTLS',
  },
  {
    peer: 'lwm2m-node-lib-server',
    ours: 'client',
    transport: 'dtls-psk',
    ops: 'all',
    why: 'lwm2m-node-lib has no DTLS',
  },
  {
    peer: /^lwm2m-node-lib-/,
    ours: 'server',
    ops: ['send'],
    why: 'lwm2m-node-lib speaks LwM2M 1.0: no Send',
  },
  {
    peer: /^lwm2m-node-lib-/,
    ours: 'client',
    ops: ['send'],
    why: 'lwm2m-node-lib speaks LwM2M 1.0: no Send',
  },
  {
    peer: LIBCOAP_CLIENT,
    ours: 'server',
    ops: ['read', 'write', 'execute', 'observe', 'cancel-observe', 'send'],
    why: 'libcoap’s coap-client is a CoAP client, not an LwM2M client: it serves no objects',
  },
  {
    peer: LIBCOAP_CLIENT,
    ours: 'bootstrap',
    ops: ['bootstrap-write', 'bootstrap-finish'],
    why: 'libcoap’s coap-client serves no objects: the sequence after the request cannot run',
  },
  {
    peer: LIBCOAP_SERVER,
    ours: 'client',
    ops: ['read', 'write', 'execute', 'observe', 'cancel-observe', 'send'],
    why: 'libcoap’s coap-server is a CoAP server, not an LwM2M server: it sends no requests',
  },
];

/** What the matrix cannot say in a cell. */
const NOTES: readonly string[] = [
  'lwm2m-node-lib answers in text/plain only and drops requests whose Accept or Content-Format ' +
    'it has no name for (TLV included) without even an ACK: our server asks such a client with ' +
    '`format` (the "unsupported-format" cells prove the outcome is a clean timeout / 4.15).',
  'libcoap’s `coap-client` exits after its answer: the bootstrap sequence that our bootstrap ' +
    'server starts toward it fails on its first step, by design of the test.',
  'DTLS handshakes through heavy loss: our DTLS client wraps node-dtls-client, which does not ' +
    'retransmit a lost flight but starts over with a new ClientHello (3 attempts per ' +
    'connection). At 30% loss a handshake seldom completes in time; e2e/src/faults.test.ts ' +
    'therefore loses only application records over DTLS (CoAP retransmission gets every ' +
    'operation through) and loses every kind of datagram over plain CoAP.',
];

interface Section {
  readonly title: string;
  readonly intro: string;
  readonly ours: readonly string[];
  /** Columns in this order; ops tested beyond these get columns after them. */
  readonly ops: readonly string[];
}

const SECTIONS: readonly Section[] = [
  {
    title: 'LwM2M: our server, client and bootstrap server',
    intro:
      'Registration interface, device management and the bootstrap interface between our apps and other implementations.',
    ours: ['server', 'client', 'bootstrap'],
    ops: [
      'register',
      'update',
      'deregister',
      'read',
      'write',
      'execute',
      'observe',
      'cancel-observe',
      'send',
      'bootstrap-request',
      'bootstrap-write',
      'wrong-psk',
    ],
  },
  {
    title: 'CoAP: our CoapEndpoint (packages/coap)',
    intro: 'Plain CoAP (RFC 7252, 7641, 7959) between our endpoint and libcoap.',
    ours: ['coap'],
    ops: ['methods', 'discovery', 'observe', 'block1', 'block2', 'error-codes'],
  },
  {
    title: 'DTLS 1.2 with PSK: our DTLS server and client (packages/dtls)',
    intro: 'The handshake, the cipher suites and the failures, against other DTLS stacks.',
    ours: ['dtls-server', 'dtls-client'],
    ops: ['handshake', 'cipher-suites', 'wrong-psk', 'unknown-identity', 'session-resumption'],
  },
];

const OURS_LABEL: Record<string, string> = {
  server: 'our server',
  client: 'our client',
  bootstrap: 'our bootstrap server',
  coap: 'our CoapEndpoint',
  'dtls-server': 'our DtlsServerSocket',
  'dtls-client': 'our DtlsClientSocket',
};

const TRANSPORT_LABEL: Record<string, string> = { coap: 'CoAP', 'dtls-psk': 'DTLS PSK' };

function notSupported(k: CellKey): NotSupported | undefined {
  return NOT_SUPPORTED.find(
    (n) =>
      (typeof n.peer === 'string' ? n.peer === k.peer : n.peer.test(k.peer)) &&
      n.ours === k.ours &&
      (n.transport === undefined || n.transport === k.transport) &&
      (n.ops === 'all' || n.ops.includes(k.op)),
  );
}

function rowLabel(peer: string, ours: string): string {
  const us = OURS_LABEL[ours] ?? `our ${ours}`;
  return /server/.test(peer) ? `${us} → ${peer}` : `${peer} → ${us}`;
}

const SHOW: Record<Status, string> = { pass: 'pass', fail: '**FAIL**', 'not-run': 'skipped' };

function version(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .trim()
      .split('\n')[0];
  } catch {
    return undefined;
  }
}

function packageVersion(dir: string, name: string): string | undefined {
  const file = join(REPO, dir, 'node_modules', name, 'package.json');
  if (!existsSync(file)) return undefined;
  return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version;
}

function peerVersions(): string[] {
  // dpkg-query's own field syntax: -f='${Version}'.
  const dpkg = (p: string) => version('dpkg-query', ['-W', `-f=${'$'}{Version}`, p]);
  const lines = [
    ['libcoap (`coap-client-*`, `coap-server-*`)', dpkg('libcoap3-bin')],
    ['OpenSSL (`openssl s_client`, libcoap’s OpenSSL build)', version('openssl', ['version'])],
    ['GnuTLS (libcoap’s GnuTLS build)', dpkg('libgnutls30')],
    ['lwm2m-node-lib (npm)', packageVersion('apps/server', 'lwm2m-node-lib')],
    ['node-dtls-client (npm)', packageVersion('packages/dtls', 'node-dtls-client')],
  ] as const;
  return lines.map(([what, v]) => `- ${what}: ${v ?? 'not installed here'}`);
}

function render(cells: Map<string, Cell>): string {
  const footnotes: string[] = [];
  const footnote = (why: string) => {
    let i = footnotes.indexOf(why);
    if (i < 0) i = footnotes.push(why) - 1;
    return `n/s<sup>${i + 1}</sup>`;
  };
  const all = [...cells.values()];
  const out: string[] = [
    '# Interoperability',
    '',
    '<!-- Generated by `pnpm interop` (e2e/scripts/interop-matrix.ts) from the vitest reports of',
    '     `pnpm test`. Do not edit by hand; CI (e2e/scripts/check-interop.ts) fails when a cell that',
    '     passes here no longer passes. -->',
    '',
    'Each cell is the result of the tests that prove one operation between one peer (an',
    'implementation that is not ours) and one of our parts, over one transport: **pass**, **FAIL**,',
    '**n/s** (not supported by the peer, see the notes), **skipped** (the peer was not installed',
    'where the tests ran; CI sets `LWM2M_REQUIRE_INTEROP=1`, which turns a missing peer into a',
    'failure) or **—** (not tested). The tests are tagged',
    '`[interop peer=… ours=… transport=… op=…]` in their titles; the list at the end says where.',
    '',
    'Regenerate after `pnpm test` with `pnpm interop`.',
    '',
    '## Peers',
    '',
    ...peerVersions(),
    '',
  ];

  for (const section of SECTIONS) {
    const mine = all.filter((c) => section.ours.includes(c.ours));
    if (mine.length === 0) continue;
    const ops = [
      ...section.ops,
      ...[...new Set(mine.map((c) => c.op))].filter((op) => !section.ops.includes(op)).sort(),
    ];
    const rows = [...new Set(mine.map((c) => `${c.ours}|${c.peer}|${c.transport}`))].sort(
      (a, b) => {
        const [oa, pa, ta] = a.split('|') as [string, string, string];
        const [ob, pb, tb] = b.split('|') as [string, string, string];
        return (
          section.ours.indexOf(oa) - section.ours.indexOf(ob) ||
          pa.localeCompare(pb) ||
          ta.localeCompare(tb)
        );
      },
    );
    out.push(`## ${section.title}`, '', section.intro, '');
    out.push(`| peer | transport | ${ops.join(' | ')} |`);
    out.push(`|---|---|${ops.map(() => ':-:').join('|')}|`);
    for (const row of rows) {
      const [ours, peer, transport] = row.split('|') as [string, string, string];
      const line = ops.map((op) => {
        const k = { peer, ours, transport, op };
        const cell = cells.get(keyOf(k));
        if (cell !== undefined) return SHOW[cell.status];
        const ns = notSupported(k);
        return ns === undefined ? '—' : footnote(ns.why);
      });
      out.push(
        `| ${rowLabel(peer, ours)} | ${TRANSPORT_LABEL[transport] ?? transport} | ${line.join(' | ')} |`,
      );
    }
    out.push('');
  }

  if (footnotes.length > 0) {
    out.push('**Not supported by the peer (n/s):**', '');
    footnotes.forEach((why, i) => {
      out.push(`${i + 1}. ${why}.`);
    });
    out.push('');
  }

  out.push('## Notes', '', ...NOTES.map((n) => `- ${n}`), '');

  const failing = all.filter((c) => c.status === 'fail');
  if (failing.length > 0) {
    out.push('## Failing', '');
    for (const c of failing) {
      for (const t of c.tests.filter((x) => x.status === 'fail')) {
        out.push(`- ${c.peer} / ${c.ours} / ${c.transport} / ${c.op}: \`${t.file}\` — ${t.name}`);
      }
    }
    out.push('');
  }

  out.push('## Where the tests are', '');
  const byFile = new Map<string, Set<string>>();
  for (const c of all) {
    for (const t of c.tests) {
      const rows = byFile.get(t.file) ?? new Set<string>();
      rows.add(`${rowLabel(c.peer, c.ours)} (${TRANSPORT_LABEL[c.transport] ?? c.transport})`);
      byFile.set(t.file, rows);
    }
  }
  for (const file of [...byFile.keys()].sort()) {
    out.push(`- \`${file}\`: ${[...byFile.get(file)!].sort().join('; ')}`);
  }
  out.push('', dataBlock(cells));
  return out.join('\n');
}

function main(): void {
  const { cells, reports } = collect();
  if (cells.size === 0) {
    process.stderr.write(
      'interop: no tagged interop results in any .test-results/vitest.json: run "pnpm test" first\n',
    );
    process.exit(1);
  }
  const text = render(cells);
  if (process.argv.includes('--stdout')) {
    process.stdout.write(text);
    return;
  }
  writeFileSync(DOC, text);
  const count = (s: Status) => [...cells.values()].filter((c) => c.status === s).length;
  process.stdout.write(
    `interop: wrote ${relative(REPO, DOC)}: ${cells.size} cells, ${count('pass')} pass, ${count('fail')} fail, ${count('not-run')} skipped\n`,
  );
  if (reports.some((r) => !r.found)) {
    process.stderr.write(
      `interop: no report from ${reports
        .filter((r) => !r.found)
        .map((r) => r.pkg)
        .join(', ')}\n`,
    );
  }
}

main();
