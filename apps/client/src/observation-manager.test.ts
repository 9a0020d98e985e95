import {
  CoapEndpoint,
  type CoapResponse,
  type IncomingResponse,
  type NotifyOptions,
  ObservationEndedError,
  type ObservationEndReason,
  type ServerObservation,
} from '@lwm2m-ts/coap';
import { decodeValues, type TimedValue } from '@lwm2m-ts/codecs';
import {
  ContentFormat,
  isSuccessCode,
  type LwM2mNode,
  LwM2mPath,
  lwm2mObject,
  MethodNotAllowedError,
  NotFoundError,
  nodeFromValues,
  parseAttributeQuery,
  ServiceUnavailableError,
  type TypedValue,
  typedValue,
} from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AttributeStore, attributeTargetInfo } from './attribute-store.js';
import { InstanceObject } from './instance-object.js';
import type { RequestOrigin } from './object-enabler.js';
import { ObjectTree } from './object-tree.js';
import { ObservationManager, type ObservedTree } from './observation-manager.js';

const p = (s: string) => LwM2mPath.parse(s);
const SERVER: RequestOrigin = { kind: 'server', shortServerId: 1 };
const TEMP = p('/3303/0/5700');
const registry = ObjectRegistry.withBuiltins();
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

/**
 * The part of `ObjectTree` observations use, over a flat map of leaf values: `set` changes a
 * value and tells listeners (as enablers do), `setQuietly` changes it without telling anyone.
 */
class FakeTree implements ObservedTree {
  readonly leaves = new Map<string, { path: LwM2mPath; value: TypedValue }>();
  readonly reads: { path: string; origin: RequestOrigin }[] = [];
  readonly unreadable = new Set<string>();
  /** Milliseconds each read takes (on the fake clock when timers are fake). */
  readDelay = 0;
  private readonly listeners = new Set<(paths: readonly LwM2mPath[]) => void>();

  set(path: string, value: TypedValue): void {
    this.setQuietly(path, value);
    this.emit([p(path)]);
  }
  setQuietly(path: string, value: TypedValue): void {
    this.leaves.set(path, { path: p(path), value });
  }
  delete(path: string): void {
    const target = p(path);
    for (const [k, v] of this.leaves) if (target.contains(v.path)) this.leaves.delete(k);
    this.emit([target]);
  }
  emit(paths: readonly LwM2mPath[]): void {
    for (const l of [...this.listeners]) l(paths);
  }
  get listenerCount(): number {
    return this.listeners.size;
  }

  private under(path: LwM2mPath) {
    return [...this.leaves.values()]
      .filter((v) => path.contains(v.path))
      .sort((a, b) => LwM2mPath.compare(a.path, b.path));
  }
  private async delay(): Promise<void> {
    if (this.readDelay > 0) await new Promise((r) => setTimeout(r, this.readDelay));
  }

  async read(path: LwM2mPath, origin: RequestOrigin): Promise<LwM2mNode> {
    this.reads.push({ path: path.toString(), origin });
    // The values are taken when the read starts: a slow read answers with what was then.
    const values = this.under(path);
    await this.delay();
    if (this.unreadable.has(path.toString()))
      throw new MethodNotAllowedError(`${path} is not readable`);
    if (values.length === 0) {
      if (path.isObject() && registry.get(path.objectId!)) return lwm2mObject(path.objectId!, []);
      throw new NotFoundError(`${path} not found`);
    }
    return nodeFromValues(path, values);
  }
  async readValues(paths: readonly LwM2mPath[], origin: RequestOrigin): Promise<TimedValue[]> {
    this.reads.push({ path: paths.join(','), origin });
    const values = paths.flatMap((path) => this.under(path));
    await this.delay();
    return values;
  }
  onChange(listener: (paths: readonly LwM2mPath[]) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
  models() {
    return registry;
  }
}

/** A ServerObservation that records what it is asked to send, stamped with the (fake) time. */
class FakeObservation implements ServerObservation {
  readonly sent: { response: CoapResponse; options: NotifyOptions | undefined; at: number }[] = [];
  private readonly controller = new AbortController();
  private reason: ObservationEndReason | undefined;

  notify(response: CoapResponse, options?: NotifyOptions): void {
    if (this.cancelled) return;
    this.sent.push({ response, options, at: Date.now() });
    if (!isSuccessCode(response.code)) this.end('error-response');
  }
  get cancelled(): boolean {
    return this.reason !== undefined;
  }
  get endReason(): ObservationEndReason | undefined {
    return this.reason;
  }
  get signal(): AbortSignal {
    return this.controller.signal;
  }
  close(): void {
    this.end('closed');
  }
  /** As the CoAP layer does on RST or a deregistering GET. */
  end(reason: ObservationEndReason): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.controller.abort(new ObservationEndedError(reason));
  }
  /** The text payloads sent, and when (ms since the test's start). */
  texts(t0 = 0): [number, string][] {
    return this.sent.map((s) => [s.at - t0, text(s.response.payload)]);
  }
}

function setup(version: '1.0' | '1.1' | '1.2' = '1.2', defaults = {}) {
  const tree = new FakeTree();
  const attributes = new AttributeStore({ version, defaultPeriods: () => defaults });
  const manager = new ObservationManager({ tree, attributes, version });
  tree.setQuietly('/3303/0/5700', typedValue('float', 20));
  tree.setQuietly('/3303/0/5701', typedValue('string', 'Cel'));
  tree.setQuietly('/3303/1/5700', typedValue('float', 5));
  tree.setQuietly('/3342/0/5500', typedValue('boolean', false));
  return { tree, attributes, manager };
}

const temp = (v: number) => typedValue('float', v);
const NUMERIC = attributeTargetInfo(registry.get(3303)!.resources.get(5700));

describe('ObservationManager with fake timers', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const T0 = 1_000_000;
  /** Lets the fake clock run `ms`, running timers and the promises they start. */
  const tick = (ms: number) => vi.advanceTimersByTimeAsync(ms);

  it('answers the first response in the negotiated format, read as the observing server', async () => {
    const { tree, manager } = setup();
    const obs = new FakeObservation();
    const res = await manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER);
    expect(res).toEqual({
      code: '2.05',
      contentFormat: ContentFormat.TEXT,
      payload: expect.any(Uint8Array),
    });
    expect(text(res.payload)).toBe('20.0');
    expect(tree.reads).toEqual([{ path: '/3303/0/5700', origin: SERVER }]);
    expect(manager.size).toBe(1);
    expect(obs.sent).toEqual([]);
    await manager.close();
  });

  it('without attributes notifies every change at once, and nothing without a change', async () => {
    const { tree, manager } = setup();
    const obs = new FakeObservation();
    await manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER);
    await tick(10_000);
    expect(obs.sent).toEqual([]);
    tree.set('/3303/0/5700', temp(21));
    await tick(0);
    tree.set('/3303/0/5700', temp(22));
    await tick(0);
    tree.set('/3303/0/5700', temp(22)); // the same value: no change
    tree.set('/3303/0/5701', typedValue('string', 'K')); // another resource
    await tick(0);
    expect(obs.texts(T0)).toEqual([
      [10_000, '21.0'],
      [10_000, '22.0'],
    ]);
    expect(obs.sent.every((s) => s.response.contentFormat === ContentFormat.TEXT)).toBe(true);
    expect(obs.sent.every((s) => s.options === undefined)).toBe(true);
    await manager.close();
  });

  it('pmin: a change inside pmin goes out, with the newest value, when pmin runs out', async () => {
    const { tree, attributes, manager } = setup();
    attributes.apply(TEMP, { pmin: 2 }, NUMERIC);
    const obs = new FakeObservation();
    await manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER);
    await tick(500);
    tree.set('/3303/0/5700', temp(21));
    await tick(500);
    tree.set('/3303/0/5700', temp(23));
    await tick(999);
    expect(obs.sent).toEqual([]);
    await tick(1);
    expect(obs.texts(T0)).toEqual([[2000, '23.0']]);
    // Next change, long after pmin: at once.
    await tick(5000);
    tree.set('/3303/0/5700', temp(24));
    await tick(0);
    expect(obs.texts(T0).at(-1)).toEqual([7000, '24.0']);
    // And one right after that waits pmin again.
    tree.set('/3303/0/5700', temp(25));
    await tick(1999);
    expect(obs.sent).toHaveLength(2);
    await tick(1);
    expect(obs.texts(T0).at(-1)).toEqual([9000, '25.0']);
    await manager.close();
  });

  it('pmax: notifies every pmax without a change, and a change restarts the period', async () => {
    const { tree, attributes, manager } = setup();
    attributes.apply(TEMP, { pmin: 1, pmax: 3 }, NUMERIC);
    const obs = new FakeObservation();
    await manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER);
    await tick(9000);
    expect(obs.texts(T0)).toEqual([
      [3000, '20.0'],
      [6000, '20.0'],
      [9000, '20.0'],
    ]);
    await tick(1000);
    tree.set('/3303/0/5700', temp(30));
    await tick(0);
    await tick(2999);
    expect(obs.texts(T0).slice(3)).toEqual([[10_000, '30.0']]);
    await tick(1);
    expect(obs.texts(T0).slice(3)).toEqual([
      [10_000, '30.0'],
      [13_000, '30.0'],
    ]);
    await manager.close();
  });

  it('pmax below pmin is ignored (§5.1.2), pmax = 0 means none', async () => {
    const { attributes, manager } = setup();
    attributes.apply(TEMP, { pmin: 5 }, NUMERIC);
    attributes.apply(TEMP, { pmax: 2 }, NUMERIC);
    const a = new FakeObservation();
    await manager.start(a, [TEMP], false, ContentFormat.TEXT, SERVER);
    const b = new FakeObservation();
    await manager.start(b, [p('/3303/1/5700')], false, ContentFormat.TEXT, SERVER);
    attributes.apply(p('/3303/1/5700'), { pmax: 0 }, NUMERIC);
    await tick(60_000);
    expect(a.sent).toEqual([]);
    expect(b.sent).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    await manager.close();
  });

  it('takes pmin/pmax from the server defaults (/1/x/2, /1/x/3) when nothing is assigned', async () => {
    const { tree, manager } = setup('1.2', { pmin: 1, pmax: 4 });
    const obs = new FakeObservation();
    await manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER);
    tree.set('/3303/0/5700', temp(21));
    await tick(4000);
    expect(obs.texts(T0)).toEqual([[1000, '21.0']]);
    await tick(1000);
    expect(obs.texts(T0)).toEqual([
      [1000, '21.0'],
      [5000, '21.0'],
    ]);
    await manager.close();
  });

  it('gt/lt: only crossings notify, in both directions', async () => {
    const { tree, attributes, manager } = setup();
    attributes.apply(TEMP, { gt: 25, lt: 10 }, NUMERIC);
    const obs = new FakeObservation();
    await manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER);
    for (const v of [22, 24, 26, 30, 24, 12, 9, 8, 11]) {
      tree.set('/3303/0/5700', temp(v));
      await tick(100);
    }
    expect(obs.texts().map(([, t]) => t)).toEqual(['26.0', '24.0', '9.0', '11.0']);
    await manager.close();
  });

  it('st: notifies when the value moved by st since the last notification', async () => {
    const { tree, attributes, manager } = setup();
    attributes.apply(TEMP, { st: 2 }, NUMERIC);
    const obs = new FakeObservation();
    await manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER);
    for (const v of [21, 21.5, 22, 23, 24.5, 23, 22.5, 19]) {
      tree.set('/3303/0/5700', temp(v));
      await tick(100);
    }
    expect(obs.texts().map(([, t]) => t)).toEqual(['22.0', '24.5', '22.5', '19.0']);
    await manager.close();
  });

  it('edge (1.2): only the chosen transition of a boolean resource notifies', async () => {
    const { tree, attributes, manager } = setup();
    const path = p('/3342/0/5500');
    attributes.apply(
      path,
      { edge: 1 },
      attributeTargetInfo(registry.get(3342)!.resources.get(5500)),
    );
    const obs = new FakeObservation();
    await manager.start(obs, [path], false, ContentFormat.TEXT, SERVER);
    for (const v of [true, false, true, true, false]) {
      tree.set('/3342/0/5500', typedValue('boolean', v));
      await tick(100);
    }
    expect(obs.texts()).toHaveLength(2);
    expect(obs.texts().map(([, t]) => t)).toEqual(['1', '1']);
    await manager.close();
  });

  it('con (1.2): CON for con=1, NON for con=0, the CoAP default otherwise', async () => {
    const { tree, attributes, manager } = setup();
    const obs = new FakeObservation();
    await manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER);
    tree.set('/3303/0/5700', temp(1));
    await tick(0);
    attributes.apply(p('/3303'), { con: 1 });
    tree.set('/3303/0/5700', temp(2));
    await tick(0);
    attributes.apply(TEMP, { con: 0 }, NUMERIC);
    tree.set('/3303/0/5700', temp(3));
    await tick(0);
    expect(obs.sent.map((s) => s.options)).toEqual([
      undefined,
      { confirmable: true },
      { confirmable: false },
    ]);
    await manager.close();
  });

  it('con is ignored for a 1.1 client', async () => {
    const { tree, manager } = setup('1.1');
    const obs = new FakeObservation();
    await manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER, { attributes: { con: 1 } });
    tree.set('/3303/0/5700', temp(1));
    await tick(0);
    expect(obs.sent.map((s) => s.options)).toEqual([undefined]);
    await manager.close();
  });

  it('epmin: changes are evaluated no more often than epmin', async () => {
    const { tree, attributes, manager } = setup();
    attributes.apply(TEMP, { epmin: 2 }, NUMERIC);
    const obs = new FakeObservation();
    await manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER);
    tree.set('/3303/0/5700', temp(21));
    await tick(1000);
    tree.set('/3303/0/5700', temp(22));
    await tick(999);
    expect(obs.sent).toEqual([]);
    await tick(1);
    expect(obs.texts(T0)).toEqual([[2000, '22.0']]);
    await manager.close();
  });

  it('epmax: samples values nobody reported as changed, at least every epmax', async () => {
    const { tree, attributes, manager } = setup();
    attributes.apply(TEMP, { epmax: 5 }, NUMERIC);
    const obs = new FakeObservation();
    await manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER);
    tree.setQuietly('/3303/0/5700', temp(42));
    await tick(4999);
    expect(obs.sent).toEqual([]);
    await tick(1);
    expect(obs.texts(T0)).toEqual([[5000, '42.0']]);
    const reads = tree.reads.length;
    await tick(10_000);
    expect(tree.reads.length).toBe(reads + 2); // sampled twice more, nothing changed, nothing sent
    expect(obs.sent).toHaveLength(1);
    await manager.close();
  });

  it('an instance observation notifies any change inside with the instance pmin, ignoring resource gt', async () => {
    const { tree, attributes, manager } = setup();
    attributes.apply(p('/3303/0'), { pmin: 3 });
    attributes.apply(TEMP, { gt: 100, pmin: 0 }, NUMERIC);
    const obs = new FakeObservation();
    await manager.start(obs, [p('/3303/0')], false, ContentFormat.SENML_JSON, SERVER);
    tree.set('/3303/0/5701', typedValue('string', 'K'));
    await tick(1000);
    tree.set('/3303/0/5700', temp(21)); // no gt crossing, still a change of the instance
    await tick(1999);
    expect(obs.sent).toEqual([]);
    await tick(1);
    expect(obs.sent).toHaveLength(1);
    const values = decodeValues(ContentFormat.SENML_JSON, obs.sent[0]!.response.payload!, {
      model: registry,
    });
    expect(values.map((v) => [v.path.toString(), v.value.value])).toEqual([
      ['/3303/0/5700', 21],
      ['/3303/0/5701', 'K'],
    ]);
    // A change in another instance is none of its business.
    tree.set('/3303/1/5700', temp(6));
    await tick(10_000);
    expect(obs.sent).toHaveLength(1);
    await manager.close();
  });

  it('an object observation notifies instances created and deleted under it', async () => {
    const { tree, attributes, manager } = setup();
    attributes.apply(p('/3303'), { pmin: 1 });
    const obs = new FakeObservation();
    await manager.start(obs, [p('/3303')], false, ContentFormat.SENML_JSON, SERVER);
    tree.setQuietly('/3303/2/5700', temp(1));
    tree.emit([p('/3303/2')]);
    await tick(1000);
    expect(obs.sent).toHaveLength(1);
    tree.delete('/3303/1');
    await tick(1000);
    expect(obs.sent).toHaveLength(2);
    const paths = decodeValues(ContentFormat.SENML_JSON, obs.sent[1]!.response.payload!, {
      model: registry,
    }).map((v) => v.path.toString());
    expect(paths).toEqual(['/3303/0/5700', '/3303/0/5701', '/3303/2/5700']);
    await manager.close();
  });

  it('a composite observation sends all its paths when any of them meets its conditions', async () => {
    const { tree, attributes, manager } = setup();
    attributes.apply(TEMP, { gt: 30 }, NUMERIC);
    const obs = new FakeObservation();
    const paths = [TEMP, p('/3342/0/5500')];
    const res = await manager.start(obs, paths, true, ContentFormat.SENML_CBOR, SERVER);
    expect(
      decodeValues(ContentFormat.SENML_CBOR, res.payload!, { model: registry }).map(
        (v) => v.value.value,
      ),
    ).toEqual([20, false]);
    tree.set('/3303/0/5700', temp(25)); // below gt: nothing
    await tick(100);
    expect(obs.sent).toEqual([]);
    tree.set('/3342/0/5500', typedValue('boolean', true)); // no condition there: any change
    await tick(100);
    tree.set('/3303/0/5700', temp(31)); // crosses gt
    await tick(100);
    const sent = obs.sent.map((s) =>
      decodeValues(ContentFormat.SENML_CBOR, s.response.payload!, { model: registry }).map((v) => [
        v.path.toString(),
        v.value.value,
      ]),
    );
    expect(sent).toEqual([
      [
        ['/3303/0/5700', 25],
        ['/3342/0/5500', true],
      ],
      [
        ['/3303/0/5700', 31],
        ['/3342/0/5500', true],
      ],
    ]);
    expect(obs.sent.every((s) => s.response.contentFormat === ContentFormat.SENML_CBOR)).toBe(true);
    await manager.close();
  });

  it('composite observation attributes replace the object-level ones only', async () => {
    const { tree, attributes, manager } = setup();
    attributes.apply(p('/3303'), { pmin: 60 });
    attributes.apply(TEMP, { gt: 30 }, NUMERIC);
    const own = attributes.observationAttributes(
      LwM2mPath.ROOT,
      parseAttributeQuery('pmin=1&pmax=5'),
      {
        composite: true,
      },
    );
    const obs = new FakeObservation();
    await manager.start(obs, [TEMP], true, ContentFormat.SENML_JSON, SERVER, { attributes: own });
    tree.set('/3303/0/5700', temp(31));
    await tick(999);
    expect(obs.sent).toEqual([]);
    await tick(1); // pmin 1 from the observation, not 60 from /3303
    expect(obs.sent.map((s) => s.at - T0)).toEqual([1000]);
    tree.set('/3303/0/5700', temp(32)); // gt still applies: not crossed, nothing
    await tick(5000);
    expect(obs.sent.map((s) => s.at - T0)).toEqual([1000, 6000]); // pmax 5
    await manager.close();
  });

  it('observation attributes (1.2 Observe query) replace the assigned ones', async () => {
    const { tree, attributes, manager } = setup();
    attributes.apply(TEMP, { pmin: 60, gt: 30 }, NUMERIC);
    const own = attributes.observationAttributes(TEMP, parseAttributeQuery('st=1'), NUMERIC);
    const obs = new FakeObservation();
    await manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER, { attributes: own });
    tree.set('/3303/0/5700', temp(21));
    await tick(0);
    tree.set('/3303/0/5700', temp(21.5));
    await tick(0);
    expect(obs.texts().map(([, t]) => t)).toEqual(['21.0']);
    // The assigned attributes still hold for an observation without its own.
    const plain = new FakeObservation();
    await manager.start(plain, [TEMP], false, ContentFormat.TEXT, SERVER);
    tree.set('/3303/0/5700', temp(40));
    await tick(0);
    expect(plain.sent).toEqual([]);
    await tick(60_000);
    expect(plain.texts().map(([, t]) => t)).toEqual(['40.0']);
    await manager.close();
  });

  it('a Write-Attributes during the observation applies at once', async () => {
    const { attributes, manager } = setup();
    const obs = new FakeObservation();
    await manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER);
    await tick(10_000);
    attributes.apply(p('/3303/0'), { pmax: 2 });
    await tick(0);
    // pmax counts from the last notification (the first response at 0): overdue, sent now.
    expect(obs.sent.map((s) => s.at - T0)).toEqual([10_000]);
    await tick(4000);
    expect(obs.sent.map((s) => s.at - T0)).toEqual([10_000, 12_000, 14_000]);
    attributes.apply(p('/3303/0'), { pmax: null });
    await tick(10_000);
    expect(obs.sent).toHaveLength(3);
    expect(vi.getTimerCount()).toBe(0);
    await manager.close();
  });

  it('a deleted path ends the observation with 4.04 (RFC 7641 §4.2)', async () => {
    const { tree, attributes, manager } = setup();
    attributes.apply(TEMP, { pmax: 5 }, NUMERIC);
    const obs = new FakeObservation();
    await manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER);
    tree.delete('/3303/0');
    await tick(0);
    expect(obs.sent.map((s) => s.response.code)).toEqual(['4.04']);
    expect(obs.cancelled).toBe(true);
    expect(manager.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    tree.set('/3303/0/5700', temp(1));
    await tick(10_000);
    expect(obs.sent).toHaveLength(1);
    await manager.close();
  });

  it('a read refused later ends the observation with that code', async () => {
    const { tree, manager } = setup();
    const obs = new FakeObservation();
    await manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER);
    tree.unreadable.add('/3303/0/5700');
    tree.set('/3303/0/5700', temp(1));
    await tick(0);
    expect(obs.sent.map((s) => [s.response.code, text(s.response.payload)])).toEqual([
      ['4.05', '/3303/0/5700 is not readable'],
    ]);
    expect(manager.size).toBe(0);
    await manager.close();
  });

  it('start throws what the read throws, and keeps nothing', async () => {
    const { manager } = setup();
    await expect(
      manager.start(new FakeObservation(), [p('/3303/9/5700')], false, ContentFormat.TEXT, SERVER),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      manager.start(new FakeObservation(), [p('/3303/0')], false, ContentFormat.TEXT, SERVER),
    ).rejects.toMatchObject({ coapCode: '4.06' });
    expect(manager.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    await manager.close();
  });

  it('the server cancelling (RST, GET Observe=1) stops timers and notifications', async () => {
    const { tree, attributes, manager } = setup();
    attributes.apply(TEMP, { pmin: 1, pmax: 2 }, NUMERIC);
    const obs = new FakeObservation();
    await manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER);
    expect(vi.getTimerCount()).toBe(1);
    obs.end('reset');
    expect(manager.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    tree.set('/3303/0/5700', temp(1));
    await tick(10_000);
    expect(obs.sent).toEqual([]);
    await manager.close();
  });

  it('notifyNow sends the current values at once, pmin or not', async () => {
    const { tree, attributes, manager } = setup();
    attributes.apply(TEMP, { pmin: 30 }, NUMERIC);
    const a = new FakeObservation();
    const b = new FakeObservation();
    await manager.start(a, [TEMP], false, ContentFormat.TEXT, SERVER);
    await manager.start(b, [p('/3303/1/5700')], false, ContentFormat.TEXT, SERVER);
    tree.set('/3303/0/5700', temp(21));
    await tick(1000);
    await manager.notifyNow(TEMP);
    expect(a.texts(T0)).toEqual([[1000, '21.0']]);
    expect(b.sent).toEqual([]);
    await manager.notifyNow();
    expect(b.texts(T0)).toEqual([[1000, '5.0']]);
    expect(a.sent).toHaveLength(2);
    // The pending change was sent: nothing more at pmin.
    await tick(60_000);
    expect(a.sent).toHaveLength(2);
    await manager.close();
  });

  it('a change while a read is under way is not lost', async () => {
    const { tree, manager } = setup();
    tree.readDelay = 100;
    const obs = new FakeObservation();
    const started = manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER);
    await tick(100);
    await started;
    tree.set('/3303/0/5700', temp(21));
    await tick(50);
    tree.set('/3303/0/5700', temp(22)); // during the read that found 21
    await tick(50);
    expect(obs.texts(T0)).toEqual([[200, '21.0']]);
    await tick(100);
    expect(obs.texts(T0)).toEqual([
      [200, '21.0'],
      [300, '22.0'],
    ]);
    tree.readDelay = 0;
    tree.set('/3303/0/5700', temp(23));
    await tick(0);
    expect(obs.texts().map(([, t]) => t)).toEqual(['21.0', '22.0', '23.0']);
    await manager.close();
  });

  it('cancelAll and close end every observation and clear every timer', async () => {
    const { tree, attributes, manager } = setup();
    attributes.apply(p('/3303'), { pmax: 5 });
    const a = new FakeObservation();
    const b = new FakeObservation();
    await manager.start(a, [TEMP], false, ContentFormat.TEXT, SERVER);
    await manager.start(b, [p('/3303/1')], false, ContentFormat.SENML_JSON, SERVER);
    expect(vi.getTimerCount()).toBe(2);
    manager.cancelAll();
    expect(vi.getTimerCount()).toBe(0);
    expect([a.endReason, b.endReason]).toEqual(['closed', 'closed']);
    expect(manager.size).toBe(0);
    const c = new FakeObservation();
    await manager.start(c, [TEMP], false, ContentFormat.TEXT, SERVER);
    expect(tree.listenerCount).toBe(1);
    await manager.close();
    expect(c.cancelled).toBe(true);
    expect(tree.listenerCount).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    await expect(
      manager.start(new FakeObservation(), [TEMP], false, ContentFormat.TEXT, SERVER),
    ).rejects.toBeInstanceOf(ServiceUnavailableError);
    await manager.close(); // idempotent
  });

  it('close waits for a read in flight and starts nothing after it', async () => {
    const { tree, manager } = setup();
    const obs = new FakeObservation();
    await manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER);
    tree.readDelay = 100;
    tree.set('/3303/0/5700', temp(1));
    let closed = false;
    const closing = manager.close().then(() => {
      closed = true;
    });
    await tick(0);
    expect(closed).toBe(false);
    await tick(100);
    await closing;
    expect(obs.sent).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a start whose read outlives cancelAll is refused (5.03)', async () => {
    const { tree, manager } = setup();
    tree.readDelay = 100;
    const obs = new FakeObservation();
    const started = manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER);
    manager.cancelAll();
    const done = expect(started).rejects.toBeInstanceOf(ServiceUnavailableError);
    await tick(100);
    await done;
    expect(manager.size).toBe(0);
    await manager.close();
  });

  it('works on the real ObjectTree: object observation, instances added and removed', async () => {
    const tree = new ObjectTree(registry);
    const sensor = new InstanceObject(registry.get(3303)!, { instances: { 0: { 5700: 20 } } });
    tree.add(sensor);
    const attributes = new AttributeStore();
    const manager = new ObservationManager({ tree, attributes, version: '1.2' });
    attributes.apply(p('/3303'), { pmin: 1 });
    const whole = new FakeObservation();
    await manager.start(whole, [p('/3303')], false, ContentFormat.SENML_JSON, SERVER);
    const one = new FakeObservation();
    await manager.start(one, [TEMP], false, ContentFormat.TEXT, SERVER);
    sensor.addInstance(1, { 5700: 7 });
    await tick(999);
    expect(whole.sent).toEqual([]);
    await tick(1);
    const paths = (i: number) =>
      decodeValues(ContentFormat.SENML_JSON, whole.sent[i]!.response.payload!, {
        model: registry,
      }).map((v) => v.path.toString());
    expect(paths(0)).toEqual(['/3303/0/5700', '/3303/1/5700']);
    sensor.set(0, 5700, 21);
    await tick(1000);
    expect(one.texts(T0)).toEqual([[1000, '21.0']]);
    sensor.removeInstance(0);
    await tick(1000);
    expect(one.sent.map((s) => s.response.code)).toEqual(['2.05', '4.04']);
    expect(paths(2)).toEqual(['/3303/1/5700']);
    expect(manager.size).toBe(1);
    await manager.close();
    expect(vi.getTimerCount()).toBe(0);
    await sensor.close();
  });

  it('property: notifications are ≥ pmin apart and ≤ pmax apart, whatever the changes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 6 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 5 })), {
          maxLength: 15,
        }),
        async (pmin, pmax, changes) => {
          const { tree, attributes, manager } = setup();
          attributes.apply(TEMP, { pmin }, NUMERIC);
          attributes.apply(TEMP, { pmax }, NUMERIC);
          const obs = new FakeObservation();
          const start = Date.now();
          await manager.start(obs, [TEMP], false, ContentFormat.TEXT, SERVER);
          for (const [dt, v] of changes) {
            await tick(dt);
            tree.set('/3303/0/5700', temp(v));
          }
          await tick(pmax * 1000 + pmin * 1000 + 1);
          const end = Date.now();
          await manager.close();
          const times = [start, ...obs.sent.map((s) => s.at)];
          for (let i = 1; i < times.length; i++) {
            expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(pmin * 1000);
          }
          if (pmax > 0 && pmax >= pmin) {
            for (const [i, t] of [...times.slice(1), end].entries()) {
              expect(t - times[i]!).toBeLessThanOrEqual(pmax * 1000);
            }
          }
          // The last value reached the server.
          const last = changes.at(-1);
          if (last !== undefined && obs.sent.length > 0) {
            expect(text(obs.sent.at(-1)!.response.payload)).toBe(`${last[1]}.0`);
          }
          expect(vi.getTimerCount()).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Over real sockets: a device endpoint whose handler starts observations, a server endpoint
// observing it.

function deviceHandler(manager: ObservationManager, attributes: AttributeStore) {
  return async (
    req: { path: readonly string[]; query: readonly string[]; accept?: number },
    ctx: {
      observe(): ServerObservation | undefined;
    },
  ): Promise<CoapResponse> => {
    const path = LwM2mPath.parse(`/${req.path.join('/')}`);
    const format = req.accept ?? ContentFormat.TEXT;
    const observation = ctx.observe();
    if (observation === undefined) throw new MethodNotAllowedError('observe only');
    const query = req.query.length === 0 ? undefined : parseAttributeQuery(req.query);
    const own =
      query === undefined
        ? undefined
        : attributes.observationAttributes(
            path,
            query,
            attributeTargetInfo(registry.get(path.objectId!)?.resources.get(path.resourceId ?? -1)),
          );
    return manager.start(observation, [path], false, format, SERVER, { attributes: own });
  };
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ObservationManager over CoAP (real sockets, real ObjectTree)', () => {
  async function rig() {
    const tree = new ObjectTree(registry);
    const sensor = new InstanceObject(registry.get(3303)!, {
      instances: { 0: { 5700: 20, 5701: 'Cel' }, 1: { 5700: 5 } },
    });
    tree.add(sensor);
    const attributes = new AttributeStore({ version: '1.2' });
    const manager = new ObservationManager({ tree, attributes, version: '1.2' });
    const device = new CoapEndpoint({ address: '127.0.0.1' });
    device.setHandler(deviceHandler(manager, attributes));
    const { port } = await device.listen();
    const server = new CoapEndpoint({ address: '127.0.0.1' });
    await server.listen();
    const peer = { address: '127.0.0.1', port };
    const close = async () => {
      await manager.close();
      await Promise.all([server.close(), device.close()]);
      await sensor.close();
    };
    /** Sets a temperature as the device would. */
    const set = (instance: number, v: number) => sensor.set(instance, 5700, v);
    return { sensor, set, attributes, manager, server, peer, close };
  }

  it('pmin=1, pmax=2: changes at most every second, a notification at least every 2 s', async () => {
    const { set, attributes, server, peer, close } = await rig();
    try {
      attributes.apply(TEMP, { pmin: 1, pmax: 2 }, NUMERIC);
      const obs = await server.observe(peer, {
        method: 'GET',
        path: '/3303/0/5700',
        accept: ContentFormat.TEXT,
      });
      const t0 = Date.now();
      expect(text(obs.first.payload)).toBe('20.0');
      const got: { at: number; value: string }[] = [];
      obs.on('notification', (n: IncomingResponse) =>
        got.push({ at: Date.now() - t0, value: text(n.payload) }),
      );
      // A burst of changes inside the first second: one notification, at 1 s, with the last value.
      for (const v of [21, 22, 23]) {
        set(0, v);
        await new Promise((r) => setTimeout(r, 50));
      }
      await until(() => got.length >= 1, 3000);
      expect(got[0]!.value).toBe('23.0');
      expect(got[0]!.at).toBeGreaterThanOrEqual(900);
      // Then nothing changes: pmax brings one 2 s later.
      await until(() => got.length >= 2, 4000);
      expect(got[1]!.value).toBe('23.0');
      expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(1900);
      expect(got[1]!.at - got[0]!.at).toBeLessThan(3000);
      await obs.cancel();
    } finally {
      await close();
    }
  }, 15_000);

  it('gt/lt crossings and st steps, given as 1.2 observation attributes in the query', async () => {
    const { set, server, peer, manager, close } = await rig();
    try {
      const obs = await server.observe(peer, {
        method: 'GET',
        path: '/3303/0/5700',
        query: ['gt=25', 'lt=10'],
        accept: ContentFormat.TEXT,
      });
      const stepObs = await server.observe(peer, {
        method: 'GET',
        path: '/3303/1/5700',
        query: ['st=2'],
        accept: ContentFormat.TEXT,
      });
      expect(manager.size).toBe(2);
      const crossings: string[] = [];
      const steps: string[] = [];
      obs.on('notification', (n: IncomingResponse) => crossings.push(text(n.payload)));
      stepObs.on('notification', (n: IncomingResponse) => steps.push(text(n.payload)));
      for (const v of [22, 26, 27, 24, 9, 12]) {
        set(0, v);
        await new Promise((r) => setTimeout(r, 30));
      }
      for (const v of [6, 6.5, 7, 9, 10, 8.5]) {
        set(1, v);
        await new Promise((r) => setTimeout(r, 30));
      }
      await until(() => crossings.length >= 4 && steps.length >= 2, 3000);
      await new Promise((r) => setTimeout(r, 200));
      expect(crossings).toEqual(['26.0', '24.0', '9.0', '12.0']);
      // 5 → 6, 6.5 (Δ < 2), 7 (Δ 2: sent), 9 (Δ 2: sent), 10, 8.5 (Δ < 2 from 9).
      expect(steps).toEqual(['7.0', '9.0']);
      await obs.cancel();
      await until(() => manager.size === 1, 2000);
      await stepObs.cancel();
      await until(() => manager.size === 0, 2000);
    } finally {
      await close();
    }
  }, 15_000);

  it('deleting the observed instance sends 4.04 and ends the observation on both sides', async () => {
    const { sensor, server, peer, manager, close } = await rig();
    try {
      const obs = await server.observe(peer, {
        method: 'GET',
        path: '/3303/0/5700',
        accept: ContentFormat.TEXT,
      });
      const ended = new Promise((r) => obs.once('end', r));
      const codes: string[] = [];
      obs.on('notification', (n: IncomingResponse) => codes.push(n.code));
      sensor.removeInstance(0);
      await ended;
      expect(codes).toEqual(['4.04']);
      expect(obs.endReason).toBe('error');
      expect(manager.size).toBe(0);
    } finally {
      await close();
    }
  }, 10_000);

  it('an observe on a missing path is answered 4.04 and starts nothing', async () => {
    const { server, peer, manager, close } = await rig();
    try {
      await expect(
        server.observe(peer, { method: 'GET', path: '/3303/7/5700', accept: ContentFormat.TEXT }),
      ).rejects.toMatchObject({ response: { code: '4.04' } });
      expect(manager.size).toBe(0);
    } finally {
      await close();
    }
  }, 10_000);
});
