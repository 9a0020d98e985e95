/**
 * `RuntimeTable`: the `ClientRuntime`s this process holds, by registration id, by endpoint (queue
 * mode only: `queueState` is asked per device in lists and SSE) and by peer (to tell who sent a
 * Send). One class so the three indexes are made, moved and dropped together.
 */
import { ServiceUnavailableError } from '@lwm2m-ts/core';
import type { ObjectRegistry } from '@lwm2m-ts/registry';
import { ClientRuntime, needsNewRuntime } from './client-runtime.js';
import { type Registration, registrationPeer } from './registration.js';
import { RequestQueue } from './request-queue.js';

export interface RuntimeTableOptions {
  readonly registry: ObjectRegistry;
  readonly queue?: {
    /** Most requests waiting for one sleeping client (default 16). */
    readonly maxQueued?: number;
    /** How long a queue-mode client listens after it last talked to us (default 93 s). */
    readonly awakeTimeMs?: number;
  };
  /** A queue-mode client became reachable / went back to sleep. */
  onAwake(registration: Registration): void;
  onSleeping(registration: Registration): void;
}

export class RuntimeTable {
  readonly #options: RuntimeTableOptions;
  readonly #byId = new Map<string, ClientRuntime>();
  readonly #queuedByEndpoint = new Map<string, ClientRuntime>();
  /** `${transport}|${address}|${port}` → registration id, to find who sent a Send. */
  readonly #byPeer = new Map<string, string>();

  constructor(options: RuntimeTableOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#byId.size;
  }

  get(registrationId: string): ClientRuntime | undefined {
    return this.#byId.get(registrationId);
  }

  values(): IterableIterator<ClientRuntime> {
    return this.#byId.values();
  }

  /** The runtime of a queue-mode client by its endpoint name. */
  queued(endpoint: string): ClientRuntime | undefined {
    return this.#queuedByEndpoint.get(endpoint);
  }

  /** The registration id last seen at `peerKey` (see `registrationPeer`). */
  idByPeer(peerKey: string): string | undefined {
    return this.#byPeer.get(peerKey);
  }

  /** The runtime of `reg`, made (with its queue in queue mode) when there is none. */
  runtime(reg: Registration): ClientRuntime {
    let rt = this.#byId.get(reg.id);
    if (rt === undefined) {
      const queueOpts = this.#options.queue;
      let runtime: ClientRuntime | undefined;
      const queue = reg.queueMode
        ? new RequestQueue({
            maxQueued: queueOpts?.maxQueued ?? 16,
            awakeTimeMs: queueOpts?.awakeTimeMs ?? 93_000,
            onAwake: () => runtime && this.#options.onAwake(runtime.reg),
            onSleeping: () => runtime && this.#options.onSleeping(runtime.reg),
          })
        : undefined;
      runtime = rt = new ClientRuntime(reg, queue, this.#options.registry);
      this.#byId.set(reg.id, rt);
      if (queue !== undefined) this.#queuedByEndpoint.set(reg.endpoint, rt);
      this.#byPeer.set(registrationPeer(reg.transport, reg), reg.id);
    }
    return rt;
  }

  /**
   * `reg` as stored now, for the runtime of the same registration: when another process changed
   * it (new address, object versions, queue mode), what this process keeps follows.
   */
  adopt(rt: ClientRuntime, reg: Registration): ClientRuntime {
    const cur = rt.reg;
    if (
      cur === reg ||
      (cur.lastUpdate === reg.lastUpdate &&
        cur.address === reg.address &&
        cur.port === reg.port &&
        cur.node === reg.node)
    ) {
      return rt;
    }
    if (needsNewRuntime(cur, reg)) {
      this.drop(rt, () => new ServiceUnavailableError('the registration changed'));
      return this.runtime(reg);
    }
    const before = registrationPeer(cur.transport, cur);
    if (this.#byPeer.get(before) === reg.id) this.#byPeer.delete(before);
    rt.reg = reg;
    this.#byPeer.set(registrationPeer(reg.transport, reg), reg.id);
    return rt;
  }

  /** The client updated its registration here: `rt` follows it from `before`'s peer to `after`'s. */
  move(rt: ClientRuntime, before: Registration, after: Registration): void {
    this.#byPeer.delete(registrationPeer(before.transport, before));
    rt.reg = after;
    this.#byPeer.set(registrationPeer(after.transport, after), after.id);
  }

  /** `error` (made only when requests wait) fails the requests queued for the client. */
  drop(rt: ClientRuntime, error: () => Error): void {
    this.#byId.delete(rt.reg.id);
    if (this.#queuedByEndpoint.get(rt.reg.endpoint) === rt) {
      this.#queuedByEndpoint.delete(rt.reg.endpoint);
    }
    const key = registrationPeer(rt.reg.transport, rt.reg);
    if (this.#byPeer.get(key) === rt.reg.id) this.#byPeer.delete(key);
    rt.queue?.close(error());
    // Reactive: the client learns with RST at its next notification (RFC 7641 §3.6), no traffic now.
    const active = rt.activeObservations;
    if (active !== undefined) {
      for (const o of active.values()) void o.coap.cancel('reactive');
      rt.observations.clear();
    }
  }

  /** Forgets every runtime (the server is closing; their queues are closed already). */
  clear(): void {
    this.#byId.clear();
    this.#queuedByEndpoint.clear();
    this.#byPeer.clear();
  }
}
