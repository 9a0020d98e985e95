import type { CoapResponse, ServerObservation } from '@lwm2m-ts/coap';
import { encode, type LwM2mVersion, type ModelProvider, type TimedValue } from '@lwm2m-ts/codecs';
import {
  flattenNode,
  InternalError,
  InvalidValueError,
  isSuccessCode,
  LwM2mError,
  type LwM2mNode,
  LwM2mPath,
  ServiceUnavailableError,
  type WriteAttributes,
} from '@lwm2m-ts/core';
import { type AttributeStore, attributesForVersion } from './attribute-store.js';
import {
  afterNotify,
  canEvaluate,
  confirmableOf,
  due,
  evaluate,
  evaluationDue,
  nextWakeUp,
  type Snapshot,
  snapshotOf,
  startTrack,
  type TrackState,
} from './notification-rules.js';
import type { RequestOrigin } from './object-enabler.js';

/**
 * What observations need from the object tree (`ObjectTree` in `object-tree.ts` has all of it):
 * reading what is observed, and hearing when values change.
 */
export interface ObservedTree {
  read(path: LwM2mPath, origin: RequestOrigin): Promise<LwM2mNode>;
  readValues(paths: readonly LwM2mPath[], origin: RequestOrigin): Promise<TimedValue[]>;
  onChange(listener: (paths: readonly LwM2mPath[]) => void): () => void;
  models(): ModelProvider;
}

/** Time and timers, replaceable in tests (the defaults also work with vitest's fake timers). */
export interface ObservationClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: ObservationClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface ObservationManagerOptions {
  readonly tree: ObservedTree;
  /** The attributes of the server these observations belong to (one manager per server). */
  readonly attributes: AttributeStore;
  readonly version: LwM2mVersion;
  readonly clock?: ObservationClock;
  readonly logger?: { warn(obj: object, msg: string): void };
}

export interface StartOptions {
  /**
   * The observation's own attributes (LwM2M 1.2 Observe with a query, Core TS 1.2 §6.4.1), as
   * `AttributeStore.observationAttributes()` checked them.
   */
  readonly attributes?: WriteAttributes | undefined;
}

interface Track {
  readonly path: LwM2mPath;
  state: TrackState;
  /** Bumped on every change under the path; compared with `evaluatedSeq` to know what is new. */
  changeSeq: number;
  evaluatedSeq: number;
}

interface Watch {
  readonly observation: ServerObservation;
  readonly paths: readonly LwM2mPath[];
  readonly composite: boolean;
  readonly format: number;
  readonly origin: RequestOrigin;
  readonly own: WriteAttributes | undefined;
  readonly tracks: Track[];
  timer: unknown;
  running: Promise<void> | undefined;
  again: boolean;
  forceAgain: boolean;
  ended: boolean;
}

interface Content {
  readonly payload: Uint8Array;
  readonly snapshots: Snapshot[];
}

/** True when one path lies at, above or below the other: a change at one concerns the other. */
function related(a: LwM2mPath, b: LwM2mPath): boolean {
  return a.contains(b) || b.contains(a);
}

/**
 * Runs the client side of observations for one server (Core TS 1.2 §6.4 Information Reporting):
 * after the DM handler accepted an Observe (`ctx.observe()` in `@lwm2m-ts/coap`) it hands the
 * observation to `start`, which answers the first response and from then on notifies as the
 * write-attributes say (`notification-rules.ts`): on tree changes under the observed paths, on
 * pmin/pmax/epmin/epmax deadlines, CON or NON per `con`. A deleted path ends its observation with
 * a 4.04 notification (RFC 7641 §4.2: a non-2.xx notification ends it).
 */
export class ObservationManager {
  private readonly tree: ObservedTree;
  private readonly attributes: AttributeStore;
  private readonly version: LwM2mVersion;
  private readonly clock: ObservationClock;
  private readonly logger: ObservationManagerOptions['logger'];
  private readonly watches = new Set<Watch>();
  private unsubscribe: (() => void)[] = [];
  /** Bumped by `cancelAll`, so a `start` whose read was under way does not outlive it. */
  private generation = 0;
  private closed = false;

  constructor(options: ObservationManagerOptions) {
    this.tree = options.tree;
    this.attributes = options.attributes;
    this.version = options.version;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
  }

  /** How many observations are running. */
  get size(): number {
    return this.watches.size;
  }

  /**
   * Starts an observation the DM handler accepted and returns the first response for the handler
   * to return (it counts as the first notification, Core TS 1.2 §5.1.2).
   *
   * - `paths`: the observed path (Observe, `composite` false: exactly one, object to resource
   *   instance) or the paths of an Observe-Composite (`composite` true, Core TS 1.2 §6.4.4).
   * - `format`: the negotiated content format of every notification; a composite one
   *   (SenML JSON/CBOR, LwM2M CBOR) for a composite observation.
   * - `origin`: who reads; every later read is made as this server.
   *
   * Throws what reading or encoding throws (`NotFoundError` 4.04, `MethodNotAllowedError` 4.05,
   * `NotAcceptableError` 4.06 …): the handler answers with that code, which cancels the
   * observation in the CoAP layer.
   */
  async start(
    observation: ServerObservation,
    paths: readonly LwM2mPath[],
    composite: boolean,
    format: number,
    origin: RequestOrigin,
    options: StartOptions = {},
  ): Promise<CoapResponse> {
    if (this.closed) throw new ServiceUnavailableError('the client is shutting down');
    if (paths.length === 0) throw new InvalidValueError('an observation needs at least one path');
    if (!composite && paths.length !== 1) {
      throw new InternalError(`a plain observation has one path, not ${paths.length}`);
    }
    const generation = this.generation;
    const own =
      options.attributes === undefined
        ? undefined
        : attributesForVersion(options.attributes, this.version);
    const watch: Watch = {
      observation,
      paths: [...paths],
      composite,
      format,
      origin,
      own,
      tracks: [],
      timer: undefined,
      running: undefined,
      again: false,
      forceAgain: false,
      ended: false,
    };
    const content = await this.readContent(watch);
    if (this.closed || generation !== this.generation) {
      throw new ServiceUnavailableError('observations were cancelled while this one started');
    }
    const response: CoapResponse = {
      code: '2.05',
      contentFormat: format,
      payload: content.payload,
    };
    if (observation.cancelled) return response;
    const now = this.clock.now();
    watch.paths.forEach((path, i) => {
      watch.tracks.push({
        path,
        state: startTrack(content.snapshots[i]!, now),
        changeSeq: 0,
        evaluatedSeq: 0,
      });
    });
    this.subscribe();
    this.watches.add(watch);
    observation.signal.addEventListener('abort', () => this.stop(watch), { once: true });
    this.schedule(watch);
    return response;
  }

  /**
   * Sends the current values of the observations concerning `path` (all of them without one)
   * now, pmin or not: for a queue-mode client waking up (Core TS 1.2 §6.5), which owes the server
   * what changed while it slept. Resolves once sent.
   */
  async notifyNow(path?: LwM2mPath): Promise<void> {
    const targets = [...this.watches].filter(
      (w) => path === undefined || w.paths.some((p) => related(p, path)),
    );
    await Promise.all(targets.map((w) => this.run(w, true)));
  }

  /**
   * Re-reads the attributes of every observation and re-arms its timers: call it after a change
   * the manager cannot see, such as a Write to the Default Minimum/Maximum Period (`/1/x/2`,
   * `/1/x/3`). Changes made through the `AttributeStore` are picked up without it.
   */
  refresh(): void {
    for (const w of this.watches) void this.run(w, false);
  }

  /**
   * Ends every observation, without telling the server (it forgot them too: re-registration,
   * de-registration, Core TS 1.2 §6.4.1), and clears every timer.
   */
  cancelAll(): void {
    this.generation++;
    for (const w of [...this.watches]) {
      this.stop(w);
      w.observation.close();
    }
  }

  /** `cancelAll`, then stops listening to the tree and the store; resolves when reads in flight are over. */
  async close(): Promise<void> {
    const running = [...this.watches].map((w) => w.running);
    this.closed = true;
    this.cancelAll();
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    await Promise.allSettled(running);
  }

  private subscribe(): void {
    if (this.unsubscribe.length > 0) return;
    this.unsubscribe.push(
      this.tree.onChange((paths) => this.onTreeChange(paths)),
      // Write-Attributes on an observed path applies to the next evaluation and re-arms the timers
      // (Core TS 1.2 §6.4.2 leaves this to the implementation; this one applies them at once).
      this.attributes.onChange((path) => {
        for (const w of this.watches) {
          if (w.paths.some((p) => related(p, path))) void this.run(w, false);
        }
      }),
    );
  }

  private onTreeChange(paths: readonly LwM2mPath[]): void {
    for (const w of this.watches) {
      let touched = false;
      for (const t of w.tracks) {
        if (paths.some((p) => related(p, t.path))) {
          t.changeSeq++;
          touched = true;
        }
      }
      if (touched) void this.run(w, false);
    }
  }

  /** The attributes in force for one observed path of `w`. */
  private attributesOf(w: Watch, path: LwM2mPath): WriteAttributes {
    return attributesForVersion(
      this.attributes.effective(path, { observation: w.own, composite: w.composite }),
      this.version,
    );
  }

  /** Runs `process` for `w` one pass at a time; a request during a pass makes another pass. */
  private run(w: Watch, force: boolean): Promise<void> {
    if (w.ended) return Promise.resolve();
    if (w.running !== undefined) {
      w.again = true;
      w.forceAgain ||= force;
      return w.running;
    }
    const loop = async () => {
      let f = force;
      do {
        w.again = false;
        try {
          await this.process(w, f);
        } catch (e) {
          this.logger?.warn({ err: e, paths: w.paths.map(String) }, 'observation failed');
          this.fail(w, e);
        }
        f = w.forceAgain;
        w.forceAgain = false;
      } while (w.again && !w.ended);
    };
    w.running = loop().finally(() => {
      w.running = undefined;
    });
    return w.running;
  }

  /** One look at an observation: evaluate what changed, notify when due, re-arm the timer. */
  private async process(w: Watch, force: boolean): Promise<void> {
    if (w.ended) return;
    const now = this.clock.now();
    const attrs = w.tracks.map((t) => this.attributesOf(w, t.path));
    const evaluable = (t: Track, i: number, at: number) =>
      (t.changeSeq !== t.evaluatedSeq && canEvaluate(t.state, attrs[i]!, at)) ||
      evaluationDue(t.state, attrs[i]!, at);
    const mustRead =
      force ||
      w.tracks.some((t, i) => evaluable(t, i, now) || due(t.state, attrs[i]!, now) !== undefined);
    if (!mustRead) {
      this.schedule(w);
      return;
    }
    const seqs = w.tracks.map((t) => t.changeSeq);
    let content: Content;
    try {
      content = await this.readContent(w);
    } catch (e) {
      this.fail(w, e);
      return;
    }
    if (w.ended) return;
    const at = Math.max(now, this.clock.now());
    w.tracks.forEach((t, i) => {
      if (evaluable(t, i, at) || force) {
        t.state = evaluate(t.state, attrs[i]!, content.snapshots[i]!, at);
        t.evaluatedSeq = seqs[i]!;
      }
    });
    const send = force || w.tracks.some((t, i) => due(t.state, attrs[i]!, at) !== undefined);
    if (send) {
      const confirmable = confirmableOf(attrs);
      w.observation.notify(
        { code: '2.05', contentFormat: w.format, payload: content.payload },
        confirmable === undefined ? undefined : { confirmable },
      );
      w.tracks.forEach((t, i) => {
        t.state = afterNotify(content.snapshots[i]!, at);
        t.evaluatedSeq = seqs[i]!;
      });
    }
    this.schedule(w);
  }

  /** Reads and encodes what `w` observes, with one snapshot of values per observed path. */
  private async readContent(w: Watch): Promise<Content> {
    const model = this.tree.models();
    if (w.composite) {
      const values = await this.tree.readValues(w.paths, w.origin);
      return {
        payload: encode(w.format, values, { path: LwM2mPath.ROOT, model }),
        snapshots: w.paths.map((p) => snapshotOf(values.filter((v) => p.contains(v.path)))),
      };
    }
    const path = w.paths[0]!;
    const node = await this.tree.read(path, w.origin);
    return {
      payload: encode(w.format, node, { path, model }),
      snapshots: [snapshotOf(flattenNode(path, node))],
    };
  }

  private schedule(w: Watch): void {
    if (w.timer !== undefined) {
      this.clock.clearTimeout(w.timer);
      w.timer = undefined;
    }
    if (w.ended) return;
    let wake: number | undefined;
    for (const t of w.tracks) {
      const at = nextWakeUp(t.state, this.attributesOf(w, t.path), t.changeSeq !== t.evaluatedSeq);
      if (at !== undefined && (wake === undefined || at < wake)) wake = at;
    }
    if (wake === undefined) return;
    const delay = Math.max(0, wake - this.clock.now());
    w.timer = this.clock.setTimeout(() => {
      w.timer = undefined;
      void this.run(w, false);
    }, delay);
  }

  /**
   * Ends `w` with an error notification: the path is gone (4.04, RFC 7641 §4.2 and Core TS 1.2
   * §6.4.1), or it can no longer be read or encoded.
   */
  private fail(w: Watch, error: unknown): void {
    if (w.ended) return;
    const code = error instanceof LwM2mError ? error.coapCode : '5.00';
    const message = error instanceof LwM2mError ? error.message : 'internal error';
    this.stop(w);
    w.observation.notify({
      code: isSuccessCode(code) ? '5.00' : code,
      payload: new TextEncoder().encode(message),
    });
    // No close() here: the CoAP layer ends the observation on a non-2.xx notification, and one
    // sent before the first response went out is only queued, which close() would drop.
  }

  private stop(w: Watch): void {
    if (w.ended) return;
    w.ended = true;
    if (w.timer !== undefined) {
      this.clock.clearTimeout(w.timer);
      w.timer = undefined;
    }
    this.watches.delete(w);
  }
}
