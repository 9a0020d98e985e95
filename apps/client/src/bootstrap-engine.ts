/**
 * The client side of the Bootstrap interface (Core TS 1.2 §6.1): Client Initiated Bootstrap, as
 * the client uses it on its own (no usable server account, a registration that failed for good)
 * and when a server asks for it (Execute /1/x/9, the Bootstrap-Request Trigger).
 *
 * One bootstrap (`run`) waits the Client Hold Off Time of the bootstrap-server account (/0/x/11),
 * then makes attempts until one succeeds, retrying by back-off.ts when the bootstrap server does
 * not answer, answers 5.xx, or lets the exchange run out of time; a 4.xx answer to the request or a
 * refused DTLS handshake ends it at once. Each attempt opens its own socket to the bootstrap
 * server (CoAP or CoAP over DTLS with the account's PSK) and either
 *
 * - `request`: sends the Bootstrap-Request (`POST /bs?ep=<name>`, with `pct=112` in 1.2: SenML
 *   CBOR is what we prefer to be written in) and serves the bootstrap server's Bootstrap-Delete,
 *   -Discover, -Read and -Write on that socket (dm-handler.ts `createBootstrapHandler`) until its
 *   Bootstrap-Finish (`POST /bs`), or
 * - `pack` (1.2): sends the Bootstrap-Pack-Request (`GET /bspack?ep=<name>`, Accept SenML CBOR) and
 *   writes every instance of the answer; there is no Finish.
 *
 * Atomicity: before a Delete or Write first touches an object, its instances are kept
 * (`ConfigSnapshot`); a Finish that finds no usable server account (4.06), an attempt that runs
 * out of time (`timeout`, default EXCHANGE_LIFETIME, 247 s) or is stopped puts every touched
 * object back as it was, so the old configuration stays in force.
 */
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CoapRequest, CoapResponse, IncomingResponse, Peer } from '@lwm2m-ts/coap';
import { decodeValues, type LwM2mVersion } from '@lwm2m-ts/codecs';
import {
  ContentFormat,
  ForbiddenError,
  InvalidValueError,
  LwM2mError,
  type LwM2mObjectInstance,
  LwM2mPath,
  type LwM2mResource,
  NotAcceptableError,
  nodeFromValues,
  type PathValue,
  type ResponseCode,
  ServiceUnavailableError,
} from '@lwm2m-ts/core';
import { DtlsAlertError } from '@lwm2m-ts/dtls';
import { Backoff, checkRetryPolicy, DEFAULT_RETRY_POLICY, type RetryPolicy } from './backoff.js';
import { createBootstrapHandler } from './dm-handler.js';
import type { RequestOrigin } from './object-enabler.js';
import type { ObjectTree } from './object-tree.js';
import {
  accountProblem,
  type BootstrapAccount,
  readBootstrapAccount,
  type UsableAccount,
  usableAccounts,
} from './server-account.js';
import { Transport, type TransportCoapOptions } from './transport.js';

const LOCAL: RequestOrigin = Object.freeze({ kind: 'local' });
const BOOTSTRAP: RequestOrigin = Object.freeze({ kind: 'bootstrap' });

/** RFC 7252 §4.8.2 EXCHANGE_LIFETIME with the default transmission parameters, in ms. */
export const EXCHANGE_LIFETIME_MS = 247_000;

/** Why a bootstrap started. */
export type BootstrapTrigger =
  /** No usable LwM2M server account. */
  | 'no-account'
  /** The registration failed for good and /1/x/16 (Bootstrap on Registration Failure) is true. */
  | 'registration-failure'
  /** A server executed /1/x/9 (Bootstrap-Request Trigger). */
  | 'server'
  /** `LwM2mClient.bootstrap()`. */
  | 'manual';

export type BootstrapMode = 'request' | 'pack';

export interface BootstrapStartedEvent {
  readonly trigger: BootstrapTrigger;
  readonly mode: BootstrapMode;
  /** The bootstrap server (/0/x/0 of the bootstrap-server account). */
  readonly uri: string;
  /** From 1. */
  readonly attempt: number;
}

export interface BootstrapFinishedEvent {
  readonly trigger: BootstrapTrigger;
  readonly mode: BootstrapMode;
  readonly uri: string;
  readonly attempt: number;
  /** From the first attempt's start (hold-off and retries included). */
  readonly durationMs: number;
  /** The server accounts the client can register with now. */
  readonly accounts: readonly UsableAccount[];
}

export interface BootstrapFailedEvent {
  readonly trigger: BootstrapTrigger;
  readonly mode: BootstrapMode;
  readonly uri: string;
  readonly attempt: number;
  readonly reason: string;
  /** The bootstrap server's answer to the request, or 4.06 when we refused its Finish. */
  readonly code?: ResponseCode;
  readonly error: BootstrapFailedError;
  /** Another attempt follows after `delay` ms. */
  readonly willRetry: boolean;
  readonly delay?: number;
}

export type BootstrapEngineEvents = {
  bootstrapStarted: [BootstrapStartedEvent];
  bootstrapFinished: [BootstrapFinishedEvent];
  bootstrapFailed: [BootstrapFailedEvent];
};

/** A bootstrap attempt that failed; `retryable` when another attempt may succeed. */
export class BootstrapFailedError extends LwM2mError {
  readonly coapCode: ResponseCode;
  /** The answer that ended it, when there was one. */
  readonly code: ResponseCode | undefined;
  readonly retryable: boolean;

  constructor(
    message: string,
    options: { code?: ResponseCode; retryable: boolean; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.coapCode = options.code ?? '5.03';
    this.retryable = options.retryable;
  }
}

/** The bootstrap was stopped (`close()`, `deregister()`, or the caller's signal). */
export class BootstrapAbortedError extends LwM2mError {
  readonly coapCode = '5.03' as const;
}

export interface BootstrapResult {
  readonly mode: BootstrapMode;
  readonly uri: string;
  readonly attempts: number;
  readonly durationMs: number;
  readonly accounts: readonly UsableAccount[];
}

export interface BootstrapEngineOptions {
  readonly tree: ObjectTree;
  /** Endpoint Client Name (`ep`). */
  readonly endpointName: string;
  readonly version: LwM2mVersion;
  /** 1.2 only: Bootstrap-Pack-Request instead of Bootstrap-Request. Default false. */
  readonly pack?: boolean;
  /**
   * How long an attempt may take from the Bootstrap-Request to a Bootstrap-Finish we accept, in
   * ms. Default EXCHANGE_LIFETIME (247 000).
   */
  readonly timeout?: number;
  /** Time limit of the Bootstrap-Request or Bootstrap-Pack-Request itself, in ms. Default 30 000. */
  readonly requestTimeout?: number;
  /** Attempts and waits between them. Default `DEFAULT_RETRY_POLICY`. */
  readonly retryPolicy?: RetryPolicy;
  /** Random source of the back-off jitter (tests make it constant). */
  readonly random?: () => number;
  /**
   * How long the socket to the bootstrap server stays open after a Finish we accepted, to answer
   * a repeated Finish whose 2.04 got lost (ms, in the background). Default 2000; 0 closes at once
   * (needed when the client binds a fixed local port, which the next socket needs).
   */
  readonly lingerMs?: number;
  /** Local bind address and port, CoAP parameters and logger of the sockets. */
  readonly local?: { readonly address?: string; readonly port?: number } | undefined;
  readonly coap?: TransportCoapOptions | undefined;
  /** Time limit of a DTLS handshake with the bootstrap server (ms); default the DTLS package's. */
  readonly handshakeTimeoutMs?: number | undefined;
  readonly logger?:
    | { warn(obj: object, msg: string): void; debug?(obj: object, msg: string): void }
    | undefined;
  /** Socket errors that are not the attempt's business (reported, not fatal). */
  readonly onError?: (err: Error) => void;
}

// -------------------------------------------------------------------------------------------------

/** A stable text for a resource's value, to tell whether a restore has anything to write. */
function resourceKey(resources: readonly LwM2mResource[]): string {
  return JSON.stringify(resources, (_k, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v instanceof Uint8Array) return `0x${Buffer.from(v).toString('hex')}`;
    if (v instanceof Date) return v.toISOString();
    return v;
  });
}

/**
 * The state of the objects a bootstrap changes, taken before the first change of each, so that a
 * failed bootstrap can put them back (`restore`) and a successful one forgets it (`commit`).
 * Instances that were written are written back; instances that exist in only one of the two
 * states are created or deleted. Others are left alone, so values the device computes (the
 * Device object's current time) are not set back.
 */
export class ConfigSnapshot {
  readonly #tree: ObjectTree;
  readonly #saved = new Map<number, Map<number, readonly LwM2mResource[]>>();
  /** Objects written as a whole, and `o/i` of instances written. */
  readonly #writtenObjects = new Set<number>();
  readonly #writtenInstances = new Set<string>();

  constructor(tree: ObjectTree) {
    this.#tree = tree;
  }

  /** Objects saved so far. */
  get objectIds(): number[] {
    return [...this.#saved.keys()].sort((a, b) => a - b);
  }

  /**
   * Called before a Bootstrap-Delete or Bootstrap-Write of `path`: keeps the objects it may
   * change (every object for `/`) unless kept already, and notes what a write touches.
   */
  async save(path: LwM2mPath, operation: 'write' | 'delete'): Promise<void> {
    await this.#saveObjects(path.isRoot() ? this.#tree.objectIds() : [path.objectId!]);
    if (operation !== 'write' || path.isRoot()) return;
    if (path.instanceId === undefined) this.#writtenObjects.add(path.objectId!);
    else this.#writtenInstances.add(`${path.objectId}/${path.instanceId}`);
  }

  async #saveObjects(objectIds: readonly number[]): Promise<void> {
    for (const id of objectIds) {
      if (this.#saved.has(id)) continue;
      const enabler = this.#tree.get(id);
      if (enabler === undefined) continue;
      const instances = new Map<number, readonly LwM2mResource[]>();
      for (const iid of enabler.instanceIds()) {
        instances.set(iid, [...(await enabler.read(iid, undefined, LOCAL))]);
      }
      this.#saved.set(id, instances);
    }
  }

  /**
   * Puts every saved object back: instances created since are deleted, deleted ones created
   * again, changed ones written back. Goes on past failures and returns them.
   */
  async restore(): Promise<Error[]> {
    const errors: Error[] = [];
    const attempt = async (what: string, op: () => unknown) => {
      try {
        await op();
      } catch (err) {
        errors.push(new Error(`restoring ${what}: ${(err as Error).message}`, { cause: err }));
      }
    };
    for (const [oid, instances] of this.#saved) {
      const enabler = this.#tree.get(oid);
      if (enabler === undefined) continue;
      for (const iid of [...enabler.instanceIds()]) {
        if (!instances.has(iid)) await attempt(`/${oid}/${iid}`, () => enabler.delete(iid, LOCAL));
      }
      for (const [iid, resources] of instances) {
        await attempt(`/${oid}/${iid}`, async () => {
          if (!enabler.instanceIds().includes(iid)) {
            await enabler.create(iid, resources, LOCAL);
            return;
          }
          if (!this.#writtenObjects.has(oid) && !this.#writtenInstances.has(`${oid}/${iid}`)) {
            return;
          }
          const now = await enabler.read(iid, undefined, LOCAL);
          if (resourceKey(now) !== resourceKey(resources)) {
            await enabler.write(iid, resources, 'replace', LOCAL);
          }
        });
      }
    }
    this.commit();
    return errors;
  }

  /** Forgets what was saved: the changes stay. */
  commit(): void {
    this.#saved.clear();
    this.#writtenObjects.clear();
    this.#writtenInstances.clear();
  }
}

/**
 * Writes a Bootstrap-Pack (a composite value list rooted at `/`) into the tree as the bootstrap
 * server, one instance at a time (missing instances are created), saving each object first.
 */
export async function applyBootstrapPack(
  tree: ObjectTree,
  values: readonly PathValue[],
  snapshot?: ConfigSnapshot,
): Promise<string[]> {
  const byObject = new Map<number, PathValue[]>();
  for (const v of values) {
    if (v.path.ids.length < 3) {
      throw new InvalidValueError(`${v.path}: a Bootstrap-Pack holds resource values only`);
    }
    const oid = v.path.objectId!;
    const list = byObject.get(oid);
    if (list === undefined) byObject.set(oid, [v]);
    else list.push(v);
  }
  const written: string[] = [];
  for (const [oid, list] of [...byObject].sort((a, b) => a[0] - b[0])) {
    const node = nodeFromValues(LwM2mPath.of(oid), list);
    if (node.kind !== 'object') continue;
    for (const inst of node.instances as readonly LwM2mObjectInstance[]) {
      const path = LwM2mPath.of(oid, inst.id);
      await snapshot?.save(path, 'write');
      await tree.write(path, inst, 'replace', BOOTSTRAP);
      written.push(`${path}`);
    }
  }
  return written;
}

/** What Bootstrap-Finish checks: at least one usable server account. */
export async function checkBootstrapConfiguration(
  tree: ObjectTree,
): Promise<{ accounts: UsableAccount[]; problem?: string }> {
  const { accounts, problems } = await usableAccounts(tree);
  if (accounts.length > 0) return { accounts };
  return {
    accounts,
    problem:
      problems.length === 0
        ? 'no LwM2M server account (a Security and a Server instance with the same Short Server ID)'
        : `no usable LwM2M server account: ${problems.join('; ')}`,
  };
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(v: T): void;
  reject(e: Error): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // observed where awaited
  return { promise, resolve, reject };
}

function sameHost(a: string, b: string): boolean {
  return a === b || (a.startsWith('::ffff:') && a.slice(7) === b);
}

function diagnostic(res: IncomingResponse): string {
  if (res.payload.length === 0 || res.payload.length > 200) return '';
  return `: ${Buffer.from(res.payload).toString('utf8')}`;
}

/** Runs client-initiated bootstraps (see the file comment). */
export class BootstrapEngine extends EventEmitter<BootstrapEngineEvents> {
  readonly #options: BootstrapEngineOptions;
  readonly #policy: RetryPolicy;
  readonly #lingering = new Set<Transport>();
  #closed = new AbortController();

  constructor(options: BootstrapEngineOptions) {
    super();
    if (options.pack && options.version !== '1.2') {
      throw new InvalidValueError(
        `Bootstrap-Pack is LwM2M 1.2; this client talks ${options.version}`,
      );
    }
    const timeout = options.timeout ?? EXCHANGE_LIFETIME_MS;
    if (!(timeout > 0)) throw new RangeError(`bootstrap timeout must be > 0 ms, got ${timeout}`);
    this.#options = options;
    this.#policy = checkRetryPolicy(options.retryPolicy ?? DEFAULT_RETRY_POLICY);
  }

  get mode(): BootstrapMode {
    return this.#options.pack ? 'pack' : 'request';
  }

  /**
   * Bootstraps: hold-off, then attempts until one succeeds. Rejects with the last
   * `BootstrapFailedError` when it fails for good, `BootstrapAbortedError` when stopped.
   */
  async run(trigger: BootstrapTrigger, signal?: AbortSignal): Promise<BootstrapResult> {
    const stop =
      signal === undefined ? this.#closed.signal : AbortSignal.any([signal, this.#closed.signal]);
    const mode = this.mode;
    const started = Date.now();
    const account = await readBootstrapAccount(this.#options.tree);
    if (account === undefined) {
      throw new BootstrapFailedError('no bootstrap-server account (/0/x with /0/x/1 true)', {
        retryable: false,
      });
    }
    const problem = accountProblem(account);
    if (problem !== undefined) {
      throw new BootstrapFailedError(
        `bootstrap-server account /0/${account.instanceId}: ${problem}`,
        {
          retryable: false,
        },
      );
    }
    // Core TS 1.2 Appendix E.1, /0/x/11: wait this long before a Client Initiated Bootstrap.
    if (account.holdOffSeconds > 0) await this.#wait(account.holdOffSeconds * 1000, stop);
    const backoff = new Backoff(this.#policy, this.#options.random);
    for (let attempt = 1; ; attempt++) {
      if (stop.aborted) throw this.#aborted(stop);
      this.#emit('bootstrapStarted', { trigger, mode, uri: account.uri, attempt });
      try {
        const accounts = await this.#attempt(account, stop);
        const durationMs = Date.now() - started;
        this.#emit('bootstrapFinished', {
          trigger,
          mode,
          uri: account.uri,
          attempt,
          durationMs,
          accounts,
        });
        return { mode, uri: account.uri, attempts: attempt, durationMs, accounts };
      } catch (err) {
        if (stop.aborted) throw this.#aborted(stop);
        const error =
          err instanceof BootstrapFailedError
            ? err
            : new BootstrapFailedError((err as Error).message, { retryable: true, cause: err });
        const delay = error.retryable ? backoff.next() : undefined;
        this.#emit('bootstrapFailed', {
          trigger,
          mode,
          uri: account.uri,
          attempt,
          reason: error.message,
          ...(error.code !== undefined && { code: error.code }),
          error,
          willRetry: delay !== undefined,
          ...(delay !== undefined && { delay }),
        });
        if (delay === undefined) throw error;
        await this.#wait(delay, stop);
      }
    }
  }

  /** Stops a bootstrap in progress (its changes are undone) and closes lingering sockets. */
  async close(): Promise<void> {
    this.#closed.abort(new BootstrapAbortedError('the client was closed'));
    await Promise.all([...this.#lingering].map((t) => t.close()));
    this.#lingering.clear();
  }

  // -----------------------------------------------------------------------------------------------

  async #wait(ms: number, signal: AbortSignal): Promise<void> {
    try {
      await sleep(ms, undefined, { signal });
    } catch {
      throw this.#aborted(signal);
    }
  }

  #aborted(signal: AbortSignal): BootstrapAbortedError {
    return signal.reason instanceof BootstrapAbortedError
      ? signal.reason
      : new BootstrapAbortedError('bootstrap stopped', { cause: signal.reason });
  }

  /** One attempt; resolves with the usable accounts, or rejects with everything undone. */
  async #attempt(account: BootstrapAccount, stop: AbortSignal): Promise<UsableAccount[]> {
    const o = this.#options;
    const tree = o.tree;
    const snapshot = new ConfigSnapshot(tree);
    const attempt = new AbortController();
    const signal = AbortSignal.any([stop, attempt.signal]);
    /** Why the attempt ended early (a refused Finish, a DTLS alert). */
    let failure: BootstrapFailedError | undefined;
    const fail = (e: BootstrapFailedError) => {
      failure ??= e;
      attempt.abort(e);
    };
    const finished = deferred<UsableAccount[]>();
    let state: 'opening' | 'active' | 'ended' = 'opening';
    const inflight = new Set<Promise<unknown>>();

    const transport = new Transport({
      uri: account.uri,
      psk: account.psk,
      local: o.local,
      coap: o.coap,
      logger: o.logger,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
    });
    const server = transport.server;
    // Over DTLS only the bootstrap server gets through; over CoAP its address must match (by
    // port alone for a host name, which the socket resolved).
    const byAddress = isIP(server.address) !== 0;
    const fromServer = (peer: Peer): boolean =>
      transport.secure ||
      (peer.port === server.port && (!byAddress || sameHost(peer.address, server.address)));
    transport.endpoint.on('error', (err) => {
      if (err instanceof DtlsAlertError && state !== 'ended') {
        fail(
          new BootstrapFailedError(
            `the bootstrap server ${account.uri} refused the DTLS handshake: ${err.message}`,
            { retryable: false, cause: err },
          ),
        );
        return;
      }
      o.onError?.(err);
    });
    const handler = createBootstrapHandler(tree, {
      version: o.version,
      beforeChange: (path, operation) => snapshot.save(path, operation),
      finish: async () => {
        const { accounts, problem } = await checkBootstrapConfiguration(tree);
        if (problem !== undefined) {
          // Core TS 1.2 §6.1.7.6: 4.06 for a configuration the client cannot use. The attempt
          // ends once the answer is out, and the old configuration is put back.
          setImmediate(() =>
            fail(
              new BootstrapFailedError(`Bootstrap-Finish refused with 4.06: ${problem}`, {
                code: '4.06',
                retryable: true,
              }),
            ),
          );
          throw new NotAcceptableError(problem);
        }
        state = 'ended';
        finished.resolve(accounts);
      },
    });
    transport.endpoint.setHandler((req: CoapRequest, ctx): Promise<CoapResponse> => {
      if (state !== 'active') {
        return Promise.reject(new ServiceUnavailableError('no bootstrap in progress'));
      }
      if (!fromServer(req.peer)) {
        return Promise.reject(
          new ForbiddenError(`only the bootstrap server ${account.uri} may bootstrap this client`),
        );
      }
      const p = Promise.resolve(handler(req, ctx));
      inflight.add(p);
      const done = () => inflight.delete(p);
      p.then(done, done);
      return p;
    });

    try {
      await transport.open();
      if (signal.aborted) throw failure ?? this.#aborted(stop);
      state = 'active';
      const deadline = o.timeout ?? EXCHANGE_LIFETIME_MS;
      const timer = setTimeout(
        () =>
          fail(
            new BootstrapFailedError(
              `no Bootstrap-Finish within ${deadline} ms: the bootstrap did not complete`,
              { retryable: true },
            ),
          ),
        deadline,
      );
      try {
        const accounts =
          this.mode === 'pack'
            ? await this.#pack(transport, snapshot, signal)
            : await this.#request(transport, finished.promise, signal);
        snapshot.commit();
        state = 'ended';
        await this.#release(transport, o.lingerMs ?? 2000);
        return accounts;
      } finally {
        clearTimeout(timer);
      }
    } catch (err) {
      state = 'ended';
      // Requests being served finish before their objects are put back.
      await Promise.allSettled([...inflight]);
      const errors = await snapshot.restore();
      for (const e of errors) o.logger?.warn({ err: e }, 'bootstrap rollback');
      await this.#release(transport, 0);
      if (failure !== undefined) throw failure;
      if (stop.aborted) throw this.#aborted(stop);
      throw err;
    }
  }

  async #request(
    transport: Transport,
    finished: Promise<UsableAccount[]>,
    signal: AbortSignal,
  ): Promise<UsableAccount[]> {
    const o = this.#options;
    const query = [`ep=${o.endpointName}`];
    // Core TS 1.2 §6.1.3: `pct`, the content format the client prefers to be written in.
    if (o.version === '1.2') query.push(`pct=${ContentFormat.SENML_CBOR}`);
    const res = await this.#send(
      transport,
      { method: 'POST', path: ['bs'], query },
      'Bootstrap-Request',
      signal,
    );
    if (res.code !== '2.04') throw refused('Bootstrap-Request', res);
    return new Promise<UsableAccount[]>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      finished.then(
        (a) => {
          signal.removeEventListener('abort', onAbort);
          resolve(a);
        },
        (e: Error) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }

  async #pack(
    transport: Transport,
    snapshot: ConfigSnapshot,
    signal: AbortSignal,
  ): Promise<UsableAccount[]> {
    const o = this.#options;
    const res = await this.#send(
      transport,
      {
        method: 'GET',
        path: ['bspack'],
        query: [`ep=${o.endpointName}`],
        accept: ContentFormat.SENML_CBOR,
      },
      'Bootstrap-Pack-Request',
      signal,
    );
    if (res.code !== '2.05') throw refused('Bootstrap-Pack-Request', res);
    try {
      const values = decodeValues(res.contentFormat ?? ContentFormat.SENML_CBOR, res.payload, {
        model: o.tree.models(),
      });
      await applyBootstrapPack(o.tree, values, snapshot);
    } catch (err) {
      throw new BootstrapFailedError(
        `the Bootstrap-Pack cannot be applied: ${(err as Error).message}`,
        { retryable: true, cause: err },
      );
    }
    const { accounts, problem } = await checkBootstrapConfiguration(o.tree);
    if (problem !== undefined) {
      throw new BootstrapFailedError(`the Bootstrap-Pack is not usable: ${problem}`, {
        retryable: true,
      });
    }
    return accounts;
  }

  async #send(
    transport: Transport,
    req: {
      method: 'POST' | 'GET';
      path: string[];
      query: string[];
      accept?: number;
    },
    what: string,
    signal: AbortSignal,
  ): Promise<IncomingResponse> {
    try {
      return await transport.endpoint.request(transport.server, {
        ...req,
        timeout: this.#options.requestTimeout ?? 30_000,
        signal,
      });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw new BootstrapFailedError(
        `${what} to ${transport.uri.host}:${transport.uri.port} failed: ${(err as Error).message}`,
        { retryable: true, cause: err },
      );
    }
  }

  /**
   * Closes the socket: after `lingerMs` in the background, or now (resolving once closed, so a
   * fixed local port is free again). Even now, the last answer (2.04 or 4.06) leaves first.
   */
  async #release(transport: Transport, lingerMs: number): Promise<void> {
    if (lingerMs <= 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      await transport.close();
      return;
    }
    this.#lingering.add(transport);
    const timer = setTimeout(() => {
      this.#lingering.delete(transport);
      void transport.close();
    }, lingerMs);
    timer.unref();
  }

  #emit<K extends keyof BootstrapEngineEvents>(name: K, ...args: BootstrapEngineEvents[K]): void {
    try {
      (this.emit as (n: K, ...a: BootstrapEngineEvents[K]) => boolean)(name, ...args);
    } catch (err) {
      this.#options.logger?.warn({ err, event: name }, 'a bootstrap event listener threw');
    }
  }
}

function refused(what: string, res: IncomingResponse): BootstrapFailedError {
  // 4.xx: the bootstrap server's decision (unknown endpoint, wrong credentials): not retried.
  return new BootstrapFailedError(`${what} answered ${res.code}${diagnostic(res)}`, {
    code: res.code,
    retryable: !res.code.startsWith('4.'),
  });
}
