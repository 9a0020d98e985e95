/**
 * The client side of the Client Registration Interface (Core TS 1.2 §6.2): Register, Update
 * and De-register towards one LwM2M server, with the retry rules of the registration procedure.
 *
 * - Register: `POST /rd?ep=&lt=&lwm2m=&b=` (+ `Q` for queue mode in 1.1+; 1.0 writes it in the
 *   binding, `b=UQ`) with the object list in link format; the server's Location-Path names the
 *   registration (§6.2.1).
 * - Update: `POST /<location>` with only what changed since the last Register/Update — `lt`,
 *   `b`, the object list — or nothing at all (§6.2.2); sent before the lifetime runs out and at
 *   once when the object list or a server parameter changes. An Update answered 4.04 means the
 *   server forgot us: Register again (§6.2.2). Any other failure is handled as a lost
 *   registration too (Register, with back-off), as other clients do.
 * - De-register: `DELETE /<location>` (§6.2.3).
 *
 * Failures that may pass (no answer, 5.xx) are retried by back-off.ts; a 4.xx answer to Register
 * is the server's decision and is not retried (except `versionFallback`): the engine reports it
 * with `registrationFailed` and calls `onRegistrationFailure`, where bootstrap will plug in (the
 * Server object's "Bootstrap on Registration Failure", /1/x/16).
 *
 * Operations run one at a time; every wait and request of a registration session is aborted by
 * `deregister()` or `close()`.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IncomingResponse, OutgoingRequest } from '@lwm2m-ts/coap';
import type { LwM2mVersion } from '@lwm2m-ts/codecs';
import { ContentFormat, LwM2mError, type ResponseCode } from '@lwm2m-ts/core';
import { Backoff, type RetryPolicy } from './backoff.js';

/** The parameters a Register or Update carries, read from the Server object each time. */
export interface RegistrationParams {
  /** Seconds; 0 means no expiry (1.2: "If the value is set to 0, the lifetime is infinite"). */
  readonly lifetime: number;
  /** Transport binding letters without `Q` (`U`, `T`, …). */
  readonly binding: string;
  readonly queueMode: boolean;
  readonly retryPolicy: RetryPolicy;
}

export interface RegistrationEngineOptions {
  /** Endpoint Client Name (`ep`). */
  readonly endpointName: string;
  readonly version: LwM2mVersion;
  /**
   * When Register is refused with 4.00 (a server that does not know this `lwm2m` version), try
   * again with the next lower version (1.2 → 1.1 → 1.0). Default false.
   */
  readonly versionFallback?: boolean;
  /** Sends a request to the server: the engine adds `signal` and `timeout`. */
  readonly send: (request: OutgoingRequest) => Promise<IncomingResponse>;
  readonly params: () => RegistrationParams | Promise<RegistrationParams>;
  /** The registration payload (link format) for a version. */
  readonly objectLinks: (version: LwM2mVersion) => string | Promise<string>;
  /** Time limit of one request in ms. Default 30 000 (CoAP retransmissions included). */
  readonly requestTimeout?: number;
  /** The Update goes out at lifetime − max(lifetime / 10, this many seconds). Default 1. */
  readonly updateMargin?: number;
  /** Random source of the back-off jitter (tests make it constant). */
  readonly random?: () => number;
  /** Called when the registration has failed for good (bootstrap hooks in here later). */
  readonly onRegistrationFailure?: (failure: RegistrationFailure) => void;
}

/** A registration the server accepted. */
export interface Registration {
  /** `/rd/5a3f`. */
  readonly location: string;
  readonly locationPath: readonly string[];
  readonly version: LwM2mVersion;
  readonly lifetime: number;
  readonly binding: string;
  readonly queueMode: boolean;
  /** The object list last sent. */
  readonly objectLinks: string;
}

/** What an Update carried. */
export interface UpdateInfo {
  readonly lifetime?: number;
  readonly binding?: string;
  readonly objectLinks?: string;
}

export interface RegistrationFailure {
  readonly operation: 'register' | 'update';
  /** The server's answer, when it answered. */
  readonly code?: ResponseCode;
  readonly error: Error;
}

export interface RetryInfo {
  readonly operation: 'register';
  /** The attempt that failed and its communication sequence (from 1). */
  readonly attempt: number;
  readonly sequence: number;
  /** Wait before the next attempt, ms. */
  readonly delay: number;
  readonly error: Error;
}

export type RegistrationState = 'idle' | 'registering' | 'registered' | 'failed' | 'closed';

export type RegistrationEvents = {
  registered: [Registration];
  updated: [Registration, UpdateInfo];
  /** `confirmed`: the server answered the De-register with 2.02. */
  deregistered: [{ readonly location: string; readonly confirmed: boolean }];
  registrationFailed: [RegistrationFailure];
  retry: [RetryInfo];
  /** A registration given up on (the Update failed): registering again. */
  registrationLost: [{ readonly location: string; readonly error: Error }];
  /** Register was refused with 4.00 for `from`; trying `to`. */
  versionFallback: [{ readonly from: LwM2mVersion; readonly to: LwM2mVersion }];
};

/** The registration failed for good: a 4.xx answer, or the retry policy is used up. */
export class RegistrationFailedError extends LwM2mError {
  readonly coapCode: ResponseCode;
  constructor(message: string, code: ResponseCode, options?: { cause?: unknown }) {
    super(message, options);
    this.coapCode = code;
  }
}

/** An operation that needs a registration, without one. */
export class NotRegisteredError extends LwM2mError {
  readonly coapCode = '5.03' as const;
}

/** `deregister()` or `close()` interrupted the registration. */
export class RegistrationAbortedError extends LwM2mError {
  readonly coapCode = '5.03' as const;
}

/** Update answered with a code other than 2.04. */
class UpdateRefusedError extends LwM2mError {
  readonly coapCode: ResponseCode;
  constructor(code: ResponseCode) {
    super(`Update answered ${code}`);
    this.coapCode = code;
  }
}

const LOWER_VERSION: Readonly<Record<LwM2mVersion, LwM2mVersion | undefined>> = {
  '1.2': '1.1',
  '1.1': '1.0',
  '1.0': undefined,
};

/**
 * When the periodic Update is due, in ms, or undefined for an infinite lifetime: at
 * lifetime − max(lifetime / 10, margin), and never later than half the lifetime before its end
 * when the lifetime is shorter than twice the margin.
 */
export function updateDelay(lifetime: number, marginSeconds = 1): number | undefined {
  if (!(lifetime > 0)) return undefined;
  const margin = Math.min(Math.max(lifetime / 10, marginSeconds), lifetime / 2);
  return Math.round((lifetime - margin) * 1000);
}

/** The `b` value: 1.0 writes queue mode in the binding (`UQ`), 1.1+ use the `Q` parameter. */
export function bindingParam(version: LwM2mVersion, binding: string, queueMode: boolean): string {
  const letters = binding.replace(/Q/g, '');
  return version === '1.0' && queueMode ? `${letters}Q` : letters;
}

/** The Uri-Query of a Register (Core TS 1.2 §6.2.1; no `sms`: this client has no SMS binding). */
export function registerQuery(
  endpointName: string,
  version: LwM2mVersion,
  params: RegistrationParams,
): string[] {
  const query = [
    `ep=${endpointName}`,
    `lt=${params.lifetime}`,
    `lwm2m=${version}`,
    `b=${bindingParam(version, params.binding, params.queueMode)}`,
  ];
  if (params.queueMode && version !== '1.0') query.push('Q');
  return query;
}

const NOOP = (): void => {};

/**
 * Why a session ends: `deregister()` or `close()`. One shared reason (the default one of
 * `AbortController` is a new DOMException with its stack, which a fleet closing pays per device).
 */
const SESSION_ENDED = new Error('the registration session ended');

/**
 * A registration session, ended by `deregister()` or `close()` (or a new session): the request
 * or wait in progress then aborts. The `AbortController` a request or wait takes is made for it
 * and dropped after it, so a registered client holds none and ending its session is a flag.
 */
class Session {
  #aborted = false;
  #reason: unknown;
  #current: AbortController | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#current?.abort(reason);
  }

  /** Runs `op` with a signal that aborts when the session ends (operations run one at a time). */
  async run<T>(op: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    if (this.#aborted) controller.abort(this.#reason);
    this.#current = controller;
    try {
      return await op(controller.signal);
    } finally {
      if (this.#current === controller) this.#current = undefined;
    }
  }
}

export class RegistrationEngine extends EventEmitter<RegistrationEvents> {
  private readonly options: RegistrationEngineOptions;
  private stateValue: RegistrationState = 'idle';
  private current: Registration | undefined;
  private session: Session | undefined;
  private starting: Promise<Registration> | undefined;
  /** Operations run one after the other on this chain (it never rejects). */
  private chain: Promise<void> = Promise.resolve();
  private updateTimer: NodeJS.Timeout | undefined;
  private updateQueued = false;
  private updateForced = false;
  private forceObjectLinks = false;

  constructor(options: RegistrationEngineOptions) {
    super();
    if (options.endpointName === '') throw new RangeError('endpointName must not be empty');
    this.options = options;
  }

  get state(): RegistrationState {
    return this.stateValue;
  }

  /** The registration in force, if any. */
  get registration(): Registration | undefined {
    return this.current;
  }

  /**
   * Registers (retrying as the policy says) and resolves with the registration; rejects with
   * `RegistrationFailedError` when it fails for good, `RegistrationAbortedError` when
   * `deregister()` or `close()` comes first. Returns the same promise while registering.
   */
  start(): Promise<Registration> {
    if (this.stateValue === 'closed') {
      return Promise.reject(new RegistrationAbortedError('the registration engine is closed'));
    }
    if (this.current !== undefined) return Promise.resolve(this.current);
    if (this.starting !== undefined) return this.starting;
    const signal = this.newSession();
    this.stateValue = 'registering';
    const p = this.enqueue(() => this.registerLoop(signal));
    this.starting = p;
    const clear = () => {
      if (this.starting === p) this.starting = undefined;
    };
    p.then(clear, clear);
    return p;
  }

  /**
   * Sends an Update now (after the operation in progress) with whatever changed; `objectLinks`
   * sends the object list even when unchanged. Rejects with `NotRegisteredError` when not
   * registered; a failed Update starts registering again and rejects with its error.
   */
  update(options: { readonly objectLinks?: boolean } = {}): Promise<Registration> {
    if (this.current === undefined || this.session === undefined) {
      return Promise.reject(new NotRegisteredError('not registered: nothing to update'));
    }
    const signal = this.session;
    if (options.objectLinks) this.forceObjectLinks = true;
    return this.enqueue(() => this.updateOrRecover(signal));
  }

  /**
   * Asks for an Update soon (coalesced: several calls before it goes out make one Update).
   * `ifChanged`: only when the lifetime, binding or object list differ from what the server has
   * (a tree change that may or may not concern the registration); otherwise an Update goes out
   * even with nothing in it (the periodic one, the Registration Update Trigger). Ignored when
   * not registered: the next Register carries everything anyway.
   */
  requestUpdate(options: { readonly ifChanged?: boolean } = {}): void {
    if (this.current === undefined || this.session === undefined) return;
    if (!options.ifChanged) this.updateForced = true;
    if (this.updateQueued) return;
    this.updateQueued = true;
    const signal = this.session;
    this.enqueue(async () => {
      this.updateQueued = false;
      const forced = this.updateForced;
      this.updateForced = false;
      if (signal.aborted || this.current === undefined) return;
      await this.updateOrRecover(signal, !forced);
    }).catch(NOOP); // reported through events
  }

  /**
   * Stops registering or updating and, when registered, sends De-register (waiting at most
   * `timeout` ms for the answer). Resolves true when the server confirmed it (2.02), false
   * otherwise (not registered, no answer, another code).
   */
  async deregister(options: { readonly timeout?: number } = {}): Promise<boolean> {
    const reg = this.current;
    this.endSession();
    await this.chain;
    this.current = undefined;
    if (this.stateValue !== 'closed') this.stateValue = 'idle';
    if (reg === undefined) return false;
    let confirmed = false;
    try {
      const res = await this.options.send({
        method: 'DELETE',
        path: reg.locationPath,
        timeout: options.timeout ?? this.options.requestTimeout ?? 30_000,
      });
      confirmed = res.code === '2.02';
    } catch {
      // The server is gone or we are closing: the registration will expire there.
    }
    this.emit('deregistered', { location: reg.location, confirmed });
    return confirmed;
  }

  /** Stops everything without De-register (close the client with `deregister()` first). */
  async close(): Promise<void> {
    this.stateValue = 'closed';
    this.endSession();
    await this.chain;
    this.current = undefined;
  }

  // ---------------------------------------------------------------------------------------------

  private newSession(): Session {
    this.session?.abort(SESSION_ENDED);
    this.session = new Session();
    return this.session;
  }

  private endSession(): void {
    clearTimeout(this.updateTimer);
    this.updateTimer = undefined;
    this.session?.abort(SESSION_ENDED);
    this.session = undefined;
    this.updateQueued = false;
    this.updateForced = false;
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const p = this.chain.then(op);
    this.chain = p.then(NOOP, NOOP);
    return p;
  }

  private request(req: OutgoingRequest, session: Session): Promise<IncomingResponse> {
    return session.run((signal) =>
      this.options.send({
        ...req,
        signal,
        timeout: this.options.requestTimeout ?? 30_000,
      }),
    );
  }

  private aborted(signal: Session): RegistrationAbortedError {
    return new RegistrationAbortedError(
      this.stateValue === 'closed' ? 'the client was closed' : 'registration stopped',
      { cause: signal.reason },
    );
  }

  private fail(failure: RegistrationFailure): RegistrationFailedError {
    this.stateValue = 'failed';
    this.current = undefined;
    this.emit('registrationFailed', failure);
    this.options.onRegistrationFailure?.(failure);
    return failure.error instanceof RegistrationFailedError
      ? failure.error
      : new RegistrationFailedError(failure.error.message, failure.code ?? '5.03', {
          cause: failure.error,
        });
  }

  private async registerLoop(signal: Session): Promise<Registration> {
    if (signal.aborted) throw this.aborted(signal);
    this.stateValue = 'registering';
    this.current = undefined;
    clearTimeout(this.updateTimer);
    const first = await this.options.params();
    const backoff = new Backoff(first.retryPolicy, this.options.random);
    let version = this.options.version;
    for (let round = 0; ; round++) {
      if (signal.aborted) throw this.aborted(signal);
      const params = round === 0 ? first : await this.options.params();
      const links = await this.options.objectLinks(version);
      let res: IncomingResponse | undefined;
      let error: Error | undefined;
      try {
        res = await this.request(
          {
            method: 'POST',
            path: ['rd'],
            query: registerQuery(this.options.endpointName, version, params),
            payload: Buffer.from(links),
            contentFormat: ContentFormat.LINK_FORMAT,
          },
          signal,
        );
      } catch (err) {
        if (signal.aborted) throw this.aborted(signal);
        error = err instanceof Error ? err : new Error(String(err));
      }
      if (res !== undefined && res.code === '2.01') {
        if (res.locationPath.length > 0) {
          return this.registered(res.locationPath, version, params, links, signal);
        }
        error = new RegistrationFailedError('Register answered 2.01 without Location-Path', '5.02');
      } else if (res !== undefined) {
        const lower = LOWER_VERSION[version];
        if (res.code === '4.00' && this.options.versionFallback && lower !== undefined) {
          // Core TS 1.2 §6.2.1: a server answers 4.00 to an `lwm2m` version it does not support;
          // a client may then register with an older version it also implements.
          this.emit('versionFallback', { from: version, to: lower });
          version = lower;
          continue;
        }
        const refused = new RegistrationFailedError(
          `Register refused with ${res.code}${diagnostic(res)}`,
          res.code,
        );
        if (res.code.startsWith('4.')) {
          throw this.fail({ operation: 'register', code: res.code, error: refused });
        }
        error = refused;
      }
      const failed = error!;
      const { attempt, sequence } = backoff.position();
      const delay = backoff.next();
      if (delay === undefined) {
        throw this.fail({
          operation: 'register',
          ...(res !== undefined && { code: res.code }),
          error: new RegistrationFailedError(
            `registration failed after ${sequence} communication sequence(s): ${failed.message}`,
            res?.code ?? '5.03',
            { cause: failed },
          ),
        });
      }
      this.emit('retry', { operation: 'register', attempt, sequence, delay, error: failed });
      try {
        await signal.run((abort) => sleep(delay, undefined, { signal: abort }));
      } catch {
        throw this.aborted(signal);
      }
    }
  }

  private registered(
    locationPath: readonly string[],
    version: LwM2mVersion,
    params: RegistrationParams,
    links: string,
    signal: Session,
  ): Registration {
    const reg: Registration = Object.freeze({
      location: `/${locationPath.join('/')}`,
      locationPath: Object.freeze([...locationPath]),
      version,
      lifetime: params.lifetime,
      binding: params.binding,
      queueMode: params.queueMode,
      objectLinks: links,
    });
    this.current = reg;
    this.stateValue = 'registered';
    this.scheduleUpdate(reg.lifetime, signal);
    this.emit('registered', reg);
    return reg;
  }

  private scheduleUpdate(lifetime: number, signal: Session): void {
    clearTimeout(this.updateTimer);
    this.updateTimer = undefined;
    const delay = updateDelay(lifetime, this.options.updateMargin);
    if (delay === undefined || signal.aborted) return;
    this.updateTimer = setTimeout(() => {
      this.updateTimer = undefined;
      this.requestUpdate();
    }, delay);
  }

  /** One Update; on failure, registers again (4.04 at once, anything else with back-off). */
  private async updateOrRecover(signal: Session, ifChanged = false): Promise<Registration> {
    const reg = this.current;
    if (signal.aborted) throw this.aborted(signal);
    if (reg === undefined) throw new NotRegisteredError('not registered: nothing to update');
    try {
      return await this.sendUpdate(reg, signal, ifChanged);
    } catch (err) {
      if (signal.aborted) throw this.aborted(signal);
      const error = err instanceof Error ? err : new Error(String(err));
      this.emit('registrationLost', { location: reg.location, error });
      // The caller of update() learns of the failure; registering again goes on meanwhile.
      this.current = undefined;
      this.stateValue = 'registering';
      this.enqueue(() => this.registerLoop(signal)).catch(NOOP);
      throw error;
    }
  }

  private async sendUpdate(
    reg: Registration,
    signal: Session,
    ifChanged: boolean,
  ): Promise<Registration> {
    const params = await this.options.params();
    const links = await this.options.objectLinks(reg.version);
    const query: string[] = [];
    const info: { lifetime?: number; binding?: string; objectLinks?: string } = {};
    if (params.lifetime !== reg.lifetime) {
      query.push(`lt=${params.lifetime}`);
      info.lifetime = params.lifetime;
    }
    const b = bindingParam(reg.version, params.binding, params.queueMode);
    if (b !== bindingParam(reg.version, reg.binding, reg.queueMode)) {
      query.push(`b=${b}`);
      info.binding = b;
    }
    const forced = this.forceObjectLinks;
    this.forceObjectLinks = false;
    if (forced || links !== reg.objectLinks) info.objectLinks = links;
    if (ifChanged && query.length === 0 && info.objectLinks === undefined) return reg;
    const res = await this.request(
      {
        method: 'POST',
        path: reg.locationPath,
        query,
        ...(info.objectLinks !== undefined && {
          payload: Buffer.from(info.objectLinks),
          contentFormat: ContentFormat.LINK_FORMAT,
        }),
      },
      signal,
    );
    if (res.code !== '2.04') throw new UpdateRefusedError(res.code);
    const next: Registration = Object.freeze({
      ...reg,
      lifetime: params.lifetime,
      binding: params.binding,
      queueMode: params.queueMode,
      objectLinks: links,
    });
    this.current = next;
    this.scheduleUpdate(next.lifetime, signal);
    this.emit('updated', next, info);
    return next;
  }
}

function diagnostic(res: IncomingResponse): string {
  if (res.payload.length === 0 || res.payload.length > 200) return '';
  return `: ${Buffer.from(res.payload).toString('utf8')}`;
}
