import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  boundAddresses,
  type CoapTuning,
  type DtlsTransportOptions,
  listenCoap,
  listenDtls,
  type TransportOptions,
} from '@lwm2m-ts/app-kit';
import {
  type CoapEndpoint,
  type CoapRequest,
  type CoapResponse,
  type IncomingResponse,
  type OutgoingRequest,
  type Peer,
  RequestAbortedError,
} from '@lwm2m-ts/coap';
import { decodeValues, encode, formatName, type TimedValue } from '@lwm2m-ts/codecs';
import {
  ContentFormat,
  ForbiddenError,
  getLinkAttribute,
  InvalidValueError,
  isSuccessCode,
  LwM2mError,
  LwM2mPath,
  MethodNotAllowedError,
  NotAcceptableError,
  NotFoundError,
  parseLinkFormat,
  type ResponseCode,
  ServiceUnavailableError,
  TimeoutError,
  UnsupportedContentFormatError,
} from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import {
  type BootstrapConfig,
  type BootstrapConfigInput,
  type LwM2mVersionName,
  validateBootstrapConfig,
  WRITE_FORMATS,
} from './config.js';
import {
  type BootstrapConfigStore,
  InMemoryBootstrapConfigStore,
  type StoredConfig,
} from './config-store.js';
import { checkDmServerUrl, type DmServerOptions, handOffPsk } from './dm-handoff.js';
import { UnknownEndpointError } from './errors.js';
import type {
  BootstrapEvents,
  BootstrapMode,
  BootstrapStep,
  SessionInfo,
  Transport,
} from './events.js';
import { type PlannedWrite, planValues, planWrites } from './plan.js';

export type { DtlsTransportOptions, TransportOptions };

/** pino-compatible logger subset. */
export interface BootstrapLogger {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

export interface BootstrapServerOptions {
  /** Plain CoAP; `false` turns it off. */
  readonly coap?: false | TransportOptions;
  /** CoAP over DTLS 1.2 with PSK (keys from the configurations' `bootstrapCredentials`). */
  readonly dtls?: false | DtlsTransportOptions;
  /** Default: in memory. */
  readonly configStore?: BootstrapConfigStore;
  /**
   * The configuration an endpoint without one of its own gets (plain CoAP only: over DTLS the
   * identity must belong to a stored configuration). Without it such an endpoint gets 4.00.
   */
  readonly defaultConfig?: BootstrapConfigInput;
  /** Object models for `writes` and Bootstrap-Read (default: the built-in ones). */
  readonly registry?: ObjectRegistry;
  /** Time limit of each request of a sequence, in ms (default 10 000). */
  readonly stepTimeout?: number;
  /** After the writes (before Bootstrap-Finish), PUT each PSK server account to this DM server. */
  readonly dmServer?: DmServerOptions;
  /** CoAP transmission parameters (RFC 7252 §4.8) and block size for both transports. */
  readonly coapOptions?: CoapTuning;
  readonly logger?: BootstrapLogger;
}

export interface BootstrapServerStats {
  readonly bootstrapRequests: number;
  readonly packRequests: number;
  readonly bootstrapsFinished: number;
  readonly bootstrapsFailed: number;
  readonly requestsSent: number;
  readonly coapErrors: number;
  readonly handoffsFailed: number;
  /** Sequences running now. */
  readonly sessions: number;
}

/** What a running sequence holds; removed when it ends, whatever the outcome. */
interface Session {
  readonly info: SessionInfo;
  readonly coap: CoapEndpoint;
  readonly peer: Peer;
  readonly config: BootstrapConfig;
  readonly controller: AbortController;
  readonly startedAt: number;
  /** The client's `pct`, when it is one we can write. */
  readonly preferred: number | undefined;
  version: LwM2mVersionName | undefined;
  readonly rejected: Set<number>;
  steps: number;
  /** The step whose request is in flight. */
  current: BootstrapStep | undefined;
  ended: boolean;
}

/** A step that did not succeed: the sequence stops here. */
class StepFailed extends Error {
  constructor(
    readonly step: BootstrapStep | undefined,
    readonly code: ResponseCode | undefined,
    message: string,
  ) {
    super(message);
  }
}

const CODE_NAMES: Readonly<Record<string, string>> = {
  '4.00': 'Bad Request',
  '4.01': 'Unauthorized',
  '4.03': 'Forbidden',
  '4.04': 'Not Found',
  '4.05': 'Method Not Allowed',
  '4.06': 'Not Acceptable',
  '4.15': 'Unsupported Content-Format',
  '5.00': 'Internal Server Error',
};

function codeText(code: ResponseCode): string {
  const name = CODE_NAMES[code];
  return name === undefined ? code : `${code} ${name}`;
}

/**
 * An LwM2M bootstrap server (Core TS 1.2 §6.1) on CoAP and CoAP over DTLS with PSK.
 *
 * A Bootstrap-Request (`POST /bs?ep=<name>[&pct=<format>]`) is answered 2.04, then the server
 * runs the endpoint's configuration toward the client over the same socket and session:
 * Bootstrap-Delete, optional Bootstrap-Discover and Bootstrap-Read, Bootstrap-Write of the
 * Security, Server, Access Control and other instances, and Bootstrap-Finish. A 1.2
 * Bootstrap-Pack-Request (`GET /bspack?ep=<name>`) is answered with the whole configuration.
 *
 * ```ts
 * const bs = new BootstrapServer({ coap: { port: 5783 }, dtls: false });
 * await bs.putConfig('dev-1', { servers: [{ shortServerId: 1, uri: 'coap://dm:5683',
 *   securityMode: 'nosec', lifetime: 300 }] });
 * bs.on('bootstrapFinished', (e) => console.log(e.endpoint, 'bootstrapped'));
 * await bs.start();
 * ```
 */
export class BootstrapServer extends EventEmitter<BootstrapEvents> {
  readonly registry: ObjectRegistry;
  readonly configs: BootstrapConfigStore;
  readonly defaultConfig: BootstrapConfig | undefined;
  readonly #options: BootstrapServerOptions;
  readonly #ownsStore: boolean;
  readonly #stepTimeout: number;
  readonly #dm: DmServerOptions | undefined;
  readonly #logger: BootstrapLogger | undefined;
  readonly #sessions = new Map<string, Session>();
  #udp: CoapEndpoint | undefined;
  #dtls: CoapEndpoint | undefined;
  #state: 'new' | 'starting' | 'started' | 'closing' | 'closed' = 'new';
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  readonly #counters = {
    bootstrapRequests: 0,
    packRequests: 0,
    bootstrapsFinished: 0,
    bootstrapsFailed: 0,
    requestsSent: 0,
    coapErrors: 0,
    handoffsFailed: 0,
  };

  constructor(options: BootstrapServerOptions = {}) {
    super();
    this.#options = options;
    this.registry = options.registry ?? ObjectRegistry.withBuiltins();
    this.#ownsStore = options.configStore === undefined;
    this.configs = options.configStore ?? new InMemoryBootstrapConfigStore();
    this.defaultConfig =
      options.defaultConfig === undefined
        ? undefined
        : validateBootstrapConfig(options.defaultConfig, this.registry);
    if (this.defaultConfig?.bootstrapCredentials !== undefined) {
      throw new InvalidValueError(
        'defaultConfig.bootstrapCredentials: the default configuration is for endpoints without credentials',
      );
    }
    this.#stepTimeout = options.stepTimeout ?? 10_000;
    if (!(this.#stepTimeout > 0)) throw new RangeError('stepTimeout must be > 0');
    if (options.dmServer !== undefined) checkDmServerUrl(options.dmServer.url);
    this.#dm = options.dmServer;
    this.#logger = options.logger;
    if (options.coap === false && options.dtls === false) {
      throw new RangeError('at least one of coap and dtls must be enabled');
    }
  }

  /** Binds the CoAP and DTLS sockets. Idempotent. */
  start(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') {
      return Promise.reject(new ServiceUnavailableError('the bootstrap server is closed'));
    }
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#state = 'starting';
    const { coap, dtls, coapOptions, logger } = this.#options;
    try {
      if (coap !== false) {
        this.#udp = await listenCoap(coap, {
          defaultPort: 5783,
          handler: (req) => this.#handle(req, 'udp'),
          coapOptions,
          logger,
        });
      }
      if (dtls !== false) {
        this.#dtls = await listenDtls(dtls, {
          defaultPort: 5784,
          handler: (req) => this.#handle(req, 'dtls'),
          coapOptions,
          logger,
          psk: async (identity) => {
            const found = await this.configs.getByIdentity(identity);
            const key = found?.config.bootstrapCredentials?.key;
            return key === undefined ? undefined : Buffer.from(key, 'hex');
          },
          onHandshakeError: (peer, message) => this.#coapError(undefined, peer, '4.03', message),
        });
      }
      this.#state = 'started';
    } catch (err) {
      await Promise.allSettled([this.#udp?.close(), this.#dtls?.close()]);
      this.#state = 'closed';
      throw err;
    }
  }

  /** Where the sockets are bound (after `start()`). */
  addresses(): {
    coap?: { address: string; port: number };
    dtls?: { address: string; port: number };
  } {
    return boundAddresses({ coap: this.#udp, dtls: this.#dtls });
  }

  /**
   * Stops serving: running sequences end with `bootstrapFailed`, the sockets close, and so does
   * the configuration store when the server created it. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.#starting?.catch(() => {});
    this.#state = 'closing';
    for (const s of [...this.#sessions.values()]) this.#abort(s, 'the bootstrap server is closing');
    await Promise.allSettled([this.#udp?.close(), this.#dtls?.close()]);
    if (this.#ownsStore) await this.configs.close().catch(() => {});
    this.#state = 'closed';
  }

  // ---------------------------------------------------------------------------------------------
  // Configurations

  /** Validates and stores `input`; resolves with the stored form and whether it is new. */
  async putConfig(
    endpoint: string,
    input: BootstrapConfigInput,
  ): Promise<{ config: BootstrapConfig; created: boolean }> {
    if (typeof endpoint !== 'string' || endpoint === '') {
      throw new InvalidValueError('the endpoint name must be a non-empty string');
    }
    const config = validateBootstrapConfig(input, this.registry);
    const previous = await this.configs.put(endpoint, config);
    return { config, created: previous === undefined };
  }

  getConfig(endpoint: string): Promise<BootstrapConfig | undefined> {
    return this.configs.get(endpoint);
  }

  /** True when there was a configuration to delete. */
  async deleteConfig(endpoint: string): Promise<boolean> {
    return (await this.configs.delete(endpoint)) !== undefined;
  }

  listConfigs(): Promise<readonly StoredConfig[]> {
    return this.configs.list();
  }

  /** The endpoints whose sequence runs now. */
  activeSessions(): readonly SessionInfo[] {
    return [...this.#sessions.values()].map((s) => s.info);
  }

  stats(): BootstrapServerStats {
    return { ...this.#counters, sessions: this.#sessions.size };
  }

  // ---------------------------------------------------------------------------------------------
  // Bootstrap interface, client side of the exchange (Core TS 1.2 §6.1.3–6.1.5)

  async #handle(req: CoapRequest, transport: Transport): Promise<CoapResponse> {
    try {
      if (this.#state !== 'started') throw new ServiceUnavailableError('not serving');
      const [first, ...rest] = req.path;
      if (first === 'bs' && rest.length === 0) {
        if (req.method !== 'POST')
          throw new MethodNotAllowedError('Bootstrap-Request is a POST to /bs');
        return await this.#bootstrapRequest(req, transport);
      }
      if (first === 'bspack' && rest.length === 0) {
        if (req.method !== 'GET') {
          throw new MethodNotAllowedError('Bootstrap-Pack-Request is a GET to /bspack');
        }
        return await this.#packRequest(req, transport);
      }
      throw new NotFoundError(`no resource /${req.path.join('/')} on this bootstrap server`);
    } catch (err) {
      if (err instanceof LwM2mError) {
        this.#coapError(queryValue(req.query, 'ep'), req.peer, err.coapCode, err.message);
      }
      throw err;
    }
  }

  /**
   * The configuration `endpoint` may have over `transport`: over DTLS only the one whose
   * `bootstrapCredentials.identity` authenticated (else 4.03); over plain CoAP only one without
   * credentials (else 4.03), or the default configuration for an unknown endpoint (else 4.00).
   */
  async #authorize(
    endpoint: string,
    transport: Transport,
    identity: string | undefined,
  ): Promise<{ config: BootstrapConfig; isDefault: boolean }> {
    const config = await this.configs.get(endpoint);
    if (transport === 'dtls') {
      if (
        config?.bootstrapCredentials === undefined ||
        config.bootstrapCredentials.identity !== identity
      ) {
        throw new ForbiddenError(
          `PSK identity ${JSON.stringify(identity)} may not bootstrap ${JSON.stringify(endpoint)}`,
        );
      }
      return { config, isDefault: false };
    }
    if (config?.bootstrapCredentials !== undefined) {
      throw new ForbiddenError(`${endpoint} has bootstrap credentials: it must use DTLS`);
    }
    if (config !== undefined) return { config, isDefault: false };
    if (this.defaultConfig !== undefined) return { config: this.defaultConfig, isDefault: true };
    throw new UnknownEndpointError(`no bootstrap configuration for ${JSON.stringify(endpoint)}`);
  }

  async #bootstrapRequest(req: CoapRequest, transport: Transport): Promise<CoapResponse> {
    this.#counters.bootstrapRequests++;
    const endpoint = requireEndpoint(req.query);
    const pct = queryValue(req.query, 'pct');
    let preferred: number | undefined;
    if (pct !== undefined) {
      if (!/^\d{1,5}$/.test(pct)) throw new InvalidValueError(`pct=${pct} is not a content format`);
      preferred = Number(pct);
      if (!WRITE_FORMATS.includes(preferred)) {
        throw new UnsupportedContentFormatError(
          `pct=${pct}: this bootstrap server writes ${WRITE_FORMATS.map(formatName).join(', ')}`,
        );
      }
    }
    const { config, isDefault } = await this.#authorize(endpoint, transport, req.peer.identity);
    const previous = this.#sessions.get(endpoint);
    if (previous !== undefined) this.#abort(previous, 'a new Bootstrap-Request restarted it', true);
    const session = this.#newSession('request', endpoint, transport, req.peer, config, preferred);
    this.#sessions.set(endpoint, session);
    this.#emit('bootstrapStarted', {
      ...session.info,
      defaultConfig: isDefault,
      ...(preferred !== undefined && { preferredContentFormat: preferred }),
    });
    // The 2.04 goes out when this handler returns; the sequence starts after it.
    setImmediate(() => void this.#run(session));
    return { code: '2.04' };
  }

  async #packRequest(req: CoapRequest, transport: Transport): Promise<CoapResponse> {
    this.#counters.packRequests++;
    const endpoint = requireEndpoint(req.query);
    const format = req.accept ?? ContentFormat.SENML_CBOR;
    const PACK_FORMATS: readonly number[] = [
      ContentFormat.SENML_CBOR,
      ContentFormat.LWM2M_CBOR,
      ContentFormat.SENML_JSON,
    ];
    if (!PACK_FORMATS.includes(format)) {
      throw new NotAcceptableError(
        `Bootstrap-Pack is served as ${PACK_FORMATS.map(formatName).join(', ')}, not ${formatName(format)}`,
      );
    }
    const { config, isDefault } = await this.#authorize(endpoint, transport, req.peer.identity);
    const session = this.#newSession('pack', endpoint, transport, req.peer, config, undefined);
    this.#emit('bootstrapStarted', { ...session.info, defaultConfig: isDefault });
    const step: BootstrapStep = { index: 0, operation: 'pack', path: '/bspack' };
    let payload: Uint8Array;
    try {
      const values = planValues(planWrites(config, this.registry));
      payload = encode(format, values, { path: LwM2mPath.ROOT, model: this.registry });
    } catch (err) {
      this.#end(session, {
        step,
        reason: `cannot encode the configuration: ${(err as Error).message}`,
      });
      throw err;
    }
    await this.#handOff(session);
    session.steps = 1;
    this.#emit('stepDone', {
      ...session.info,
      step,
      code: '2.05',
      ok: true,
      durationMs: Date.now() - session.startedAt,
      contentFormat: format,
    });
    this.#end(session, undefined);
    return { code: '2.05', contentFormat: format, payload };
  }

  #newSession(
    mode: BootstrapMode,
    endpoint: string,
    transport: Transport,
    peer: Peer,
    config: BootstrapConfig,
    preferred: number | undefined,
  ): Session {
    const coap = transport === 'dtls' ? this.#dtls! : this.#udp!;
    return {
      info: {
        sessionId: randomBytes(6).toString('base64url'),
        endpoint,
        mode,
        transport,
        address: peer.address,
        port: peer.port,
        ...(peer.identity !== undefined && { identity: peer.identity }),
      },
      coap,
      peer: { address: peer.address, port: peer.port },
      config,
      controller: new AbortController(),
      startedAt: Date.now(),
      preferred,
      version: config.lwm2mVersion,
      rejected: new Set(),
      steps: 0,
      current: undefined,
      ended: false,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // The sequence toward the client (Core TS 1.2 §6.1.7)

  async #run(s: Session): Promise<void> {
    try {
      for (const path of s.config.deletePaths) {
        await this.#step(s, { operation: 'delete', path }, () => ({ method: 'DELETE', path }));
      }
      let accountIds: number[] | undefined;
      if (s.config.discover === true) {
        await this.#step(
          s,
          { operation: 'discover', path: '/' },
          () => ({ method: 'GET', path: '/', accept: ContentFormat.LINK_FORMAT }),
          (res) => {
            const links = Buffer.from(res.payload).toString('utf8');
            const learned = readDiscovery(links);
            if (s.version === undefined && learned.version !== undefined)
              s.version = learned.version;
            accountIds = learned.bootstrapAccountIds;
            return { links };
          },
        );
      }
      for (const path of s.config.read ?? []) {
        await this.#step(
          s,
          { operation: 'read', path },
          (format) => ({ method: 'GET', path, accept: format }),
          (res, format) => ({
            values: decodeValues(res.contentFormat ?? format, res.payload, {
              path,
              model: this.registry,
            }),
          }),
          '4.06',
        );
      }
      const plan = planWrites(
        s.config,
        this.registry,
        accountIds === undefined ? {} : { bootstrapAccountIds: accountIds },
      );
      for (const w of plan) {
        await this.#step(
          s,
          { operation: 'write', path: `${w.path}`, object: w.kind },
          (format) => this.#writeRequest(w, format),
          undefined,
          '4.15',
        );
      }
      await this.#handOff(s);
      await this.#step(s, { operation: 'finish', path: '/bs' }, () => ({
        method: 'POST',
        path: '/bs',
      }));
      this.#end(s, undefined);
    } catch (err) {
      if (s.ended) return; // aborted: already reported
      if (err instanceof StepFailed) {
        this.#end(s, { step: err.step, code: err.code, reason: err.message });
      } else {
        this.#logger?.warn({ err, endpoint: s.info.endpoint }, 'bootstrap sequence failed');
        this.#end(s, { reason: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  #writeRequest(w: PlannedWrite, format: number): OutgoingRequest {
    return {
      method: 'PUT',
      path: `${w.path}`,
      contentFormat: format,
      payload: encode(format, w.node, { path: w.path, model: this.registry }),
    };
  }

  /** The formats to try, best first: pct, the configured one, the version's, then fallbacks. */
  #formats(s: Session): number[] {
    const byVersion =
      s.version === '1.1' || s.version === '1.2' ? ContentFormat.SENML_CBOR : ContentFormat.TLV;
    const fallbacks =
      s.version === '1.0'
        ? [ContentFormat.TLV, ContentFormat.LWM2M_JSON]
        : [ContentFormat.TLV, ContentFormat.SENML_CBOR, ContentFormat.SENML_JSON];
    const order = [s.preferred ?? s.config.contentFormat ?? byVersion, ...fallbacks];
    return [...new Set(order)].filter((f) => !s.rejected.has(f));
  }

  /**
   * Sends one request of the sequence and reports its answer. With `fallbackOn`, the request is
   * built per content format and re-sent in the next format when the client answers that code
   * (4.15 for writes, 4.06 for reads) or the content cannot be encoded in it; the client's
   * refusal holds for the rest of the sequence. Throws `StepFailed` on an error answer or no answer.
   */
  async #step(
    s: Session,
    what: Omit<BootstrapStep, 'index'>,
    build: (format: number) => OutgoingRequest,
    onSuccess?: (
      res: IncomingResponse,
      format: number,
    ) => { links?: string; values?: TimedValue[] },
    fallbackOn?: ResponseCode,
  ): Promise<void> {
    const step: BootstrapStep = { index: s.steps++, ...what };
    s.current = step;
    const started = Date.now();
    let refusedWith: ResponseCode | undefined;
    for (;;) {
      if (s.controller.signal.aborted) throw new StepFailed(step, undefined, 'aborted');
      // Steps without content (delete, discover, finish) run once; their `format` is unused.
      const formats = fallbackOn === undefined ? [ContentFormat.TLV] : this.#formats(s);
      const format = formats[0];
      if (format === undefined) {
        throw new StepFailed(
          step,
          refusedWith,
          'no content format left to try: the client refused the others, or they cannot carry the content',
        );
      }
      let req: OutgoingRequest;
      try {
        req = build(format);
      } catch (err) {
        if (fallbackOn !== undefined && err instanceof NotAcceptableError) {
          s.rejected.add(format);
          continue;
        }
        throw new StepFailed(
          step,
          undefined,
          `cannot build the request: ${(err as Error).message}`,
        );
      }
      let res: IncomingResponse;
      try {
        this.#counters.requestsSent++;
        res = await s.coap.request(s.peer, {
          ...req,
          timeout: this.#stepTimeout,
          signal: s.controller.signal,
        });
      } catch (err) {
        if (err instanceof RequestAbortedError || s.controller.signal.aborted) {
          throw new StepFailed(step, undefined, 'aborted');
        }
        if (err instanceof TimeoutError) {
          throw new StepFailed(step, undefined, `no answer within ${this.#stepTimeout} ms`);
        }
        throw new StepFailed(step, undefined, `request failed: ${(err as Error).message}`);
      }
      if (s.ended) throw new StepFailed(step, undefined, 'aborted');
      if (fallbackOn !== undefined && res.code === fallbackOn && formats.length > 1) {
        this.#logger?.debug?.(
          { endpoint: s.info.endpoint, path: what.path, format },
          `client answered ${res.code}: trying another content format`,
        );
        s.rejected.add(format);
        refusedWith = res.code;
        continue;
      }
      const ok = isSuccessCode(res.code);
      const diagnostic =
        ok || res.payload.length === 0 ? undefined : Buffer.from(res.payload).toString('utf8');
      let extra: { links?: string; values?: TimedValue[] } = {};
      let decodeFailure: string | undefined;
      if (ok && onSuccess !== undefined) {
        try {
          extra = onSuccess(res, format);
        } catch (err) {
          decodeFailure = (err as Error).message;
        }
      }
      this.#emit('stepDone', {
        ...s.info,
        step,
        code: res.code,
        ok: ok && decodeFailure === undefined,
        durationMs: Date.now() - started,
        ...(fallbackOn !== undefined && {
          contentFormat: req.contentFormat ?? req.accept ?? format,
        }),
        ...extra,
        ...(diagnostic !== undefined && { diagnostic }),
      });
      if (decodeFailure !== undefined) {
        throw new StepFailed(step, res.code, `cannot use the answer: ${decodeFailure}`);
      }
      if (!ok) {
        const reason =
          what.operation === 'finish' && res.code === '4.06'
            ? 'the client rejected the configuration (4.06 Not Acceptable on Bootstrap-Finish)'
            : `the client answered ${codeText(res.code)} to ${operationName(what)}`;
        throw new StepFailed(step, res.code, diagnostic ? `${reason}: ${diagnostic}` : reason);
      }
      s.current = undefined;
      return;
    }
  }

  /** PUTs each PSK account to the DM server (if configured); reports, never fails. */
  async #handOff(s: Session): Promise<void> {
    const dm = this.#dm;
    if (dm === undefined) return;
    const accounts = s.config.servers.filter((a) => a.securityMode === 'psk');
    await Promise.all(
      accounts.map(async (account) => {
        const result = await handOffPsk(dm, s.info.endpoint, account);
        if (!result.ok) this.#counters.handoffsFailed++;
        this.#emit('dmServerHandoff', {
          endpoint: s.info.endpoint,
          sessionId: s.info.sessionId,
          shortServerId: account.shortServerId,
          ...result,
        });
      }),
    );
  }

  /** Ends a session now (restart or close): pending requests are cancelled. */
  #abort(s: Session, reason: string, restarted = false): void {
    this.#end(s, { step: s.current, reason, restarted });
    s.controller.abort(new ServiceUnavailableError(reason));
  }

  /** Reports the end of a session once and forgets it. */
  #end(
    s: Session,
    failure:
      | {
          step?: BootstrapStep | undefined;
          code?: ResponseCode | undefined;
          reason: string;
          restarted?: boolean;
        }
      | undefined,
  ): void {
    if (s.ended) return;
    s.ended = true;
    if (this.#sessions.get(s.info.endpoint) === s) this.#sessions.delete(s.info.endpoint);
    const durationMs = Date.now() - s.startedAt;
    if (failure === undefined) {
      this.#counters.bootstrapsFinished++;
      this.#emit('bootstrapFinished', { ...s.info, steps: s.steps, durationMs });
      return;
    }
    this.#counters.bootstrapsFailed++;
    this.#emit('bootstrapFailed', {
      ...s.info,
      ...(failure.step !== undefined && { step: failure.step }),
      ...(failure.code !== undefined && { code: failure.code }),
      reason: failure.reason,
      restarted: failure.restarted ?? false,
      durationMs,
    });
  }

  /** Emits without letting a listener's exception break the sequence. */
  #emit<K extends keyof BootstrapEvents>(name: K, ...args: BootstrapEvents[K]): void {
    try {
      (this.emit as (n: K, ...a: BootstrapEvents[K]) => boolean)(name, ...args);
    } catch (err) {
      this.#logger?.warn({ err, event: name }, 'a bootstrap event listener threw');
    }
  }

  #coapError(
    endpoint: string | undefined,
    peer: { address: string; port: number },
    code: ResponseCode,
    message: string,
  ): void {
    this.#counters.coapErrors++;
    this.#logger?.debug?.({ endpoint, peer, code }, message);
    this.#emit('coapError', {
      ...(endpoint !== undefined && { endpoint }),
      address: peer.address,
      port: peer.port,
      code,
      message,
    });
  }
}

function operationName(step: Omit<BootstrapStep, 'index'>): string {
  switch (step.operation) {
    case 'delete':
      return `Bootstrap-Delete ${step.path}`;
    case 'discover':
      return `Bootstrap-Discover ${step.path}`;
    case 'read':
      return `Bootstrap-Read ${step.path}`;
    case 'write':
      return `Bootstrap-Write ${step.path}`;
    case 'finish':
      return 'Bootstrap-Finish';
    case 'pack':
      return 'Bootstrap-Pack';
  }
}

function queryValue(query: readonly string[], name: string): string | undefined {
  const prefix = `${name}=`;
  const hit = query.find((q) => q.startsWith(prefix));
  return hit?.slice(prefix.length);
}

function requireEndpoint(query: readonly string[]): string {
  const all = query.filter((q) => q.startsWith('ep='));
  if (all.length !== 1 || all[0] === 'ep=') {
    throw new InvalidValueError(
      all.length > 1 ? 'ep is given more than once' : 'the request needs ?ep=<endpoint name>',
    );
  }
  return all[0]!.slice(3);
}

/**
 * What a Bootstrap-Discover answer tells: the client's LwM2M version (`</>;lwm2m="1.1"`) and the
 * Security instances of its bootstrap-server account (1.1+ list DM accounts with `ssid`; the
 * bootstrap account has none, and 1.0 clients list none either, so every such id is kept clear).
 */
export function readDiscovery(links: string): {
  version?: LwM2mVersionName;
  bootstrapAccountIds: number[];
} {
  const parsed = parseLinkFormat(links);
  let version: LwM2mVersionName | undefined;
  const ids: number[] = [];
  for (const l of parsed) {
    if (l.uri === '/') {
      const v = getLinkAttribute(l, 'lwm2m');
      if (v === '1.0' || v === '1.1' || v === '1.2') version = v;
      continue;
    }
    const m = /^\/0\/(\d{1,5})$/.exec(l.uri);
    if (m !== null && getLinkAttribute(l, 'ssid') === undefined) ids.push(Number(m[1]));
  }
  return { ...(version !== undefined && { version }), bootstrapAccountIds: ids };
}
