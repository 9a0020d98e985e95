import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findPeerBinary, peersOrSkip } from './peer-binary.js';
import { freeUdpPortPair, LOOPBACK_V4 } from './ports.js';
import { type ProcessHandle, type RunResult, runProcess, startProcess } from './processes.js';
import { coapPing } from './udp-exchange.js';

/** The three builds of libcoap's tools in Debian's `libcoap3-bin`. */
export type LibcoapVariant = 'notls' | 'openssl' | 'gnutls';
export const LIBCOAP_VARIANTS: readonly LibcoapVariant[] = ['notls', 'openssl', 'gnutls'];

/** `coap-client-openssl`, `coap-server-notls`, … */
export function libcoapBinary(role: 'client' | 'server', variant: LibcoapVariant): string {
  return `coap-${role}-${variant}`;
}

/**
 * `{ client, server }` paths of one libcoap build, or `undefined` so the suite can skip (throws
 * when `LWM2M_REQUIRE_INTEROP=1`). `describe.skipIf(!libcoapOrSkip('gnutls'))(...)`.
 */
export function libcoapOrSkip(
  variant: LibcoapVariant,
): { client: string; server: string } | undefined {
  const client = libcoapBinary('client', variant);
  const server = libcoapBinary('server', variant);
  const found = peersOrSkip([client, server]);
  return found && { client: found[client]!, server: found[server]! };
}

function requireBinary(name: string, override: string | undefined): string {
  const found = findPeerBinary(override ?? name);
  if (found === undefined) throw new Error(`${override ?? name} not found on PATH (libcoap3-bin)`);
  return found;
}

function hostForUri(host: string): string {
  return net.isIPv6(host) ? `[${host}]` : host;
}

/** PSK for `coap-server-*`. libcoap takes keys as text (no hex form in 4.3.1). */
export interface LibcoapServerPsk {
  /** The pre-shared key (its UTF-8 bytes are the key). */
  key: string;
  /**
   * When set, only this identity may use `key` (the server's default key becomes a random one,
   * and `-i` maps hint + identity to `key`). Without it any identity with `key` is accepted.
   */
  identity?: string;
  /** Identity hint the server sends (`-h`); default libcoap's `CoAP`; `''` sends none. */
  hint?: string;
}

export interface LibcoapServerOptions {
  /** Default `'notls'`. PSK needs `'openssl'` or `'gnutls'`. */
  variant?: LibcoapVariant;
  /**
   * CoAP port `P`; DTLS is served on `P + 1` (and, with TCP builds, TCP `P` and TLS `P + 1`).
   * Default: a free pair is chosen (and the start retried if it was taken meanwhile).
   */
  port?: number;
  /** Default 127.0.0.1; `::1` works too. */
  host?: string;
  psk?: LibcoapServerPsk;
  /** `-d N`: allow N resources to be created by PUT (for upload round trips). */
  dynamicResources?: number;
  /** `-v N` (default: libcoap's 3). libcoap logs to stdout. */
  verbosity?: number;
  extraArgs?: readonly string[];
  /** How long to wait until it answers a CoAP ping (default 5 000 ms). */
  readyTimeoutMs?: number;
  /** Use this executable instead of `coap-server-<variant>` from PATH. */
  binary?: string;
}

export interface LibcoapServer {
  readonly variant: LibcoapVariant;
  readonly host: string;
  /** CoAP (UDP) port. */
  readonly port: number;
  /** DTLS port: always `port + 1` for libcoap. */
  readonly dtlsPort: number;
  /** `coap://host:port` (no trailing slash). */
  readonly uri: string;
  /** `coaps://host:port+1` (no trailing slash). */
  readonly secureUri: string;
  readonly process: ProcessHandle;
  /** The server's log so far (stdout and stderr). */
  output(): string;
  /** Stops the server and waits for it to exit. */
  stop(): Promise<void>;
}

const BIND_FAILURE = /cannot create \S+ endpoint|Address already in use|cannot bind/i;

class BindError extends Error {}

async function startOnce(
  binary: string,
  variant: LibcoapVariant,
  host: string,
  port: number,
  options: LibcoapServerOptions,
): Promise<LibcoapServer> {
  const args = ['-A', host, '-p', String(port)];
  let tempDir: string | undefined;
  const cleanupTemp = async () => {
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
    tempDir = undefined;
  };
  const { psk } = options;
  if (psk !== undefined) {
    if (variant === 'notls')
      throw new Error('coap-server-notls has no DTLS: PSK needs openssl or gnutls');
    if (psk.key.length === 0) throw new Error('libcoap refuses an empty PSK');
    if (psk.hint !== undefined) args.push('-h', psk.hint);
    if (psk.identity === undefined) {
      args.push('-k', psk.key);
    } else {
      tempDir = await mkdtemp(path.join(tmpdir(), 'lwm2m-testkit-coap-server-'));
      const file = path.join(tempDir, 'psk-identities.txt');
      // hint_to_match,identity_to_match,use_key (libcoap splits on commas).
      for (const [what, v] of [
        ['identity', psk.identity],
        ['key', psk.key],
        ['hint', psk.hint ?? ''],
      ]) {
        if (/[,\r\n]/.test(v!))
          throw new Error(`libcoap cannot take a PSK ${what} with a comma or newline`);
      }
      await writeFile(file, `${psk.hint ?? 'CoAP'},${psk.identity},${psk.key}\n`);
      args.push('-k', randomBytes(24).toString('base64url'), '-i', file);
    }
  }
  if (options.dynamicResources !== undefined) args.push('-d', String(options.dynamicResources));
  if (options.verbosity !== undefined) args.push('-v', String(options.verbosity));
  args.push(...(options.extraArgs ?? []));

  let handle: ProcessHandle;
  try {
    handle = await startProcess(binary, args, { stopGraceMs: 1000 });
  } catch (error) {
    await cleanupTemp();
    throw error;
  }
  const deadline = performance.now() + (options.readyTimeoutMs ?? 5000);
  try {
    for (;;) {
      if (BIND_FAILURE.test(handle.output())) {
        throw new BindError(`${handle.commandLine} could not bind:\n${handle.output()}`);
      }
      if (!handle.running) {
        throw new Error(`${handle.commandLine} exited before answering:\n${handle.output()}`);
      }
      if (await coapPing(host, port, 200)) break;
      if (performance.now() > deadline) {
        throw new Error(
          `${handle.commandLine} did not answer a CoAP ping within ${options.readyTimeoutMs ?? 5000} ms:\n${handle.output()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    // A DTLS bind failure is logged at start-up, before the server loop answers the ping; give
    // the pipe a moment so that log line has surely been read.
    await new Promise((r) => setTimeout(r, 20));
    if (BIND_FAILURE.test(handle.output())) {
      throw new BindError(`${handle.commandLine} could not bind:\n${handle.output()}`);
    }
  } catch (error) {
    await handle.stop();
    await cleanupTemp();
    throw error;
  }
  // libcoap has read the identity file at start-up; it is not needed any more.
  await cleanupTemp();

  const h = hostForUri(host);
  return {
    variant,
    host,
    port,
    dtlsPort: port + 1,
    uri: `coap://${h}:${port}`,
    secureUri: `coaps://${h}:${port + 1}`,
    process: handle,
    output: () => handle.output(),
    stop: async () => {
      await handle.stop();
    },
  };
}

/**
 * Starts libcoap's example server (`coap-server-<variant> -A host -p P`) and resolves once it
 * answers a CoAP ping on `P`. It serves `/` (a text banner), `/.well-known/core`, `/time`
 * (observable, ticks every second), `/async`, `/example_data`, plus PUT-created resources with
 * `dynamicResources`. With a DTLS build it also serves DTLS on `P + 1`. The process is tracked by
 * `stopAll()`.
 */
export async function startLibcoapServer(
  options: LibcoapServerOptions = {},
): Promise<LibcoapServer> {
  const variant = options.variant ?? 'notls';
  const host = options.host ?? LOOPBACK_V4;
  const binary = requireBinary(libcoapBinary('server', variant), options.binary);
  if (options.port !== undefined) return startOnce(binary, variant, host, options.port, options);
  const attempts = 3;
  for (let attempt = 1; ; attempt++) {
    const port = await freeUdpPortPair({ host, tcp: true });
    try {
      return await startOnce(binary, variant, host, port, options);
    } catch (error) {
      if (!(error instanceof BindError) || attempt >= attempts) throw error;
    }
  }
}

export type CoapMethod = 'get' | 'put' | 'post' | 'delete' | 'fetch' | 'patch' | 'ipatch';

export interface CoapClientOptions {
  /** Default: `'notls'` for `coap://`, `'openssl'` for `coaps://`. */
  variant?: LibcoapVariant;
  /** Default `'get'`. */
  method?: CoapMethod;
  uri: string;
  /** Sent through a temporary file (`-f`), so any bytes are safe. */
  payload?: Uint8Array | string;
  /** `-t`: a number (e.g. 11542) or a libcoap name (`text`, `cbor`, …). */
  contentFormat?: number | string;
  /** `-A`: accepted content format, number or name. */
  accept?: number | string;
  /** `-b`: block size for Block1/Block2 (16…1024, power of two). */
  blockSize?: number;
  /** `-s`: observe for this many seconds. */
  observeSeconds?: number;
  /** `-u identity -k key` (DTLS builds only). */
  psk?: { identity: string; key: string };
  /**
   * How long libcoap waits for answers (default 5 s; libcoap's own default is 90). Passed as
   * `-B timeoutSec + observeSeconds`, since `-B` also cuts an observation short.
   */
  timeoutSec?: number;
  /** `-N`: send NON instead of CON. */
  nonConfirmable?: boolean;
  /** `-T`: token, as libcoap takes it (text). */
  token?: string;
  /** `-v` (default 6: every PDU is logged, which fills `messages`; payload goes to a file). */
  verbosity?: number;
  extraArgs?: readonly string[];
  /** Kill the client after this long whatever happens (default: the `-B` value + 5 s). */
  hardTimeoutMs?: number;
  /** Use this executable instead of `coap-client-<variant>` from PATH. */
  binary?: string;
}

/** One PDU as libcoap logs it at verbosity ≥ 6 (`v:1 t:ACK c:2.05 i:1a2b {01} [ … ] :: …`). */
export interface LibcoapPdu {
  type: 'CON' | 'NON' | 'ACK' | 'RST';
  /** `GET`, `PUT`, … for requests; `2.05`, `4.04`, `0.00` otherwise. */
  code: string;
  messageId: number;
  /** Token as hex. */
  token: string;
  /** libcoap's rendering of the options, e.g. `Observe:3, Max-Age:1`. */
  options: string;
  /** The payload, decoded from the log (text or hex); `undefined` when there is none. */
  payload: Uint8Array | undefined;
}

export interface CoapClientResult extends RunResult {
  /** The body received (`-o`): block-wise bodies reassembled; notifications concatenated. */
  payload: Uint8Array;
  /** `payload` as UTF-8. */
  text: string;
  /** Every PDU libcoap logged, both directions, in order (verbosity ≥ 6). */
  messages: LibcoapPdu[];
  /** The PDUs with a response code (2.xx–5.xx): responses and notifications. */
  responses: LibcoapPdu[];
  /** Code of the last response, e.g. `'2.05'`; `undefined` when none came (timeout, failed DTLS). */
  responseCode: string | undefined;
}

const PDU_LINE =
  /^v:(\d+) t:(CON|NON|ACK|RST) c:(\S+) i:([0-9a-fA-F]+) \{([0-9a-fA-F]*)\} \[ ?(.*?) ?\](?: :: (.*))?$/;

function unescapeLogText(text: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const m = /^\\x([0-9a-fA-F]{2})/.exec(text.slice(i, i + 4));
    if (m) {
      bytes.push(Number.parseInt(m[1]!, 16));
      i += 3;
    } else {
      bytes.push(...Buffer.from(text[i]!, 'utf8'));
    }
  }
  return Uint8Array.from(bytes);
}

/** Parses libcoap's PDU log lines (verbosity ≥ 6) out of a tool's output. */
export function parseLibcoapLog(output: string): LibcoapPdu[] {
  const lines = output.split(/\r?\n/);
  const pdus: LibcoapPdu[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = PDU_LINE.exec(lines[i]!);
    if (!m) continue;
    const rest = m[7];
    let payload: Uint8Array | undefined;
    if (rest !== undefined) {
      const quoted = /^'(.*)'$/s.exec(rest);
      if (quoted) payload = unescapeLogText(quoted[1]!);
      else if (/^binary data length \d+/.test(rest)) {
        const hex = /^<<([0-9a-fA-F]*)>>$/.exec(lines[i + 1] ?? '');
        if (hex) payload = Uint8Array.from(Buffer.from(hex[1]!, 'hex'));
      }
    }
    pdus.push({
      type: m[2] as LibcoapPdu['type'],
      code: m[3]!,
      messageId: Number.parseInt(m[4]!, 16),
      token: m[5]!.toLowerCase(),
      options: m[6]!,
      payload,
    });
  }
  return pdus;
}

/**
 * Runs `coap-client-<variant>` once and returns its exit status, output, the body received and the
 * PDUs it logged. libcoap 4.3 exits 0 even on 4.xx, timeouts and failed handshakes: look at
 * `responseCode`. Temporary files are removed; the process is killed if it overruns.
 */
export async function coapClient(options: CoapClientOptions): Promise<CoapClientResult> {
  const secure = /^coaps(\+tcp)?:/i.test(options.uri);
  const variant = options.variant ?? (secure ? 'openssl' : 'notls');
  if (secure && variant === 'notls') throw new Error('coap-client-notls cannot speak coaps://');
  const binary = requireBinary(libcoapBinary('client', variant), options.binary);
  const timeoutSec = options.timeoutSec ?? 5;
  const dir = await mkdtemp(path.join(tmpdir(), 'lwm2m-testkit-coap-client-'));
  try {
    const outFile = path.join(dir, 'response.bin');
    // -B bounds the whole run, observation included.
    const breakSec = Math.max(1, Math.ceil(timeoutSec + (options.observeSeconds ?? 0)));
    const args = ['-m', options.method ?? 'get', '-B', String(breakSec)];
    args.push('-v', String(options.verbosity ?? 6), '-o', outFile);
    if (options.payload !== undefined) {
      const inFile = path.join(dir, 'request.bin');
      await writeFile(
        inFile,
        typeof options.payload === 'string' ? options.payload : Buffer.from(options.payload),
      );
      args.push('-f', inFile);
    }
    if (options.contentFormat !== undefined) args.push('-t', String(options.contentFormat));
    if (options.accept !== undefined) args.push('-A', String(options.accept));
    if (options.blockSize !== undefined) args.push('-b', String(options.blockSize));
    if (options.observeSeconds !== undefined) args.push('-s', String(options.observeSeconds));
    if (options.nonConfirmable) args.push('-N');
    if (options.token !== undefined) args.push('-T', options.token);
    if (options.psk !== undefined) {
      if (variant === 'notls')
        throw new Error('coap-client-notls has no DTLS: PSK needs openssl or gnutls');
      args.push('-u', options.psk.identity, '-k', options.psk.key);
    }
    args.push(...(options.extraArgs ?? []), options.uri);
    const hardTimeoutMs = options.hardTimeoutMs ?? (breakSec + 5) * 1000;
    const run = await runProcess(binary, args, { timeoutMs: hardTimeoutMs });
    const payload = await readFile(outFile).then(
      (b) => new Uint8Array(b),
      () => new Uint8Array(0),
    );
    const messages = parseLibcoapLog(`${run.stdout}\n${run.stderr}`);
    const responses = messages.filter((m) => /^[2-5]\.\d\d$/.test(m.code));
    return {
      ...run,
      payload,
      text: Buffer.from(payload).toString('utf8'),
      messages,
      responses,
      responseCode: responses.at(-1)?.code,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
