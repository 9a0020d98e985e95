import {
  convertValue,
  InvalidValueError,
  isWritable,
  type LwM2mResource,
  type LwM2mResourceInstance,
  MethodNotAllowedError,
  multipleResource,
  NotFoundError,
  type ObjectModel,
  type ResourceModel,
  resourceInstance,
  singleResource,
  type TypedValue,
  typedValue,
  type ValueByType,
} from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import type {
  ChangeListener,
  MaybePromise,
  ObjectEnabler,
  RequestOrigin,
} from './object-enabler.js';

/** One plain value as users give it: a value of the resource's type (integers also as numbers). */
export type PlainValue = ValueByType[keyof ValueByType] | number;

/**
 * A resource's value as users give it: a plain value for a single resource; for a multiple
 * resource its instances keyed by id (`{ 0: 3800, 1: 5000 }`, a `Map`, or an array whose
 * index is the instance id). A resource node built with core's factories is taken as is.
 */
export type ResourceInput =
  | PlainValue
  | Readonly<Record<number, PlainValue>>
  | ReadonlyMap<number, PlainValue>
  | readonly (PlainValue | undefined)[]
  | LwM2mResource;

/** The initial resources of one instance, by resource id. */
export type InstanceInput = Readonly<Record<number, ResourceInput>>;

export type ExecuteHandler = (
  instanceId: number,
  args: string,
  origin: RequestOrigin,
) => MaybePromise<void>;

/** Computes a resource's value at read time (current time, a live measurement…). */
export type ReadHandler = (
  instanceId: number,
  origin: RequestOrigin,
) => MaybePromise<ResourceInput>;

/**
 * Called before a write from outside (a server, the bootstrap server) is applied, with the
 * resources already typed by the model; throw an `LwM2mError` to refuse it.
 */
export type WriteHandler = (
  instanceId: number,
  resources: readonly LwM2mResource[],
  mode: 'replace' | 'update',
  origin: RequestOrigin,
) => MaybePromise<void>;

export type InstanceHandler = (
  instanceId: number,
  resources: readonly LwM2mResource[],
  origin: RequestOrigin,
) => MaybePromise<void>;

export interface InstanceObjectOptions {
  /** Instances present at start, by instance id: `{ 0: { 0: 'ACME', 7: { 0: 3800 } } }`. */
  readonly instances?: Readonly<Record<number, InstanceInput>>;
  /** Execute handlers by resource id. An executable resource without one does nothing. */
  readonly onExecute?: Readonly<Record<number, ExecuteHandler>>;
  /** Values computed on each read, by resource id; such a resource exists in every instance. */
  readonly onRead?: Readonly<Record<number, ReadHandler>>;
  readonly onWrite?: WriteHandler;
  /** Called before an instance is created from outside; throw to refuse. */
  readonly onCreate?: InstanceHandler;
  /** Called before an instance is deleted; throw to refuse. */
  readonly onDelete?: (instanceId: number, origin: RequestOrigin) => MaybePromise<void>;
}

/**
 * The generic in-memory enabler: holds instances of one object as resource nodes typed by the
 * model, runs user hooks for execute, computed reads and writes, and reports every change so
 * observations can notify. Built-in objects (Device, sensors, …) are subclasses or factories of
 * it. The object tree has already checked paths and R/W/E before calling in here; this class
 * checks only what the data itself must satisfy (types, single vs multiple).
 */
export class InstanceObject implements ObjectEnabler {
  readonly model: ObjectModel;
  readonly #instances = new Map<number, Map<number, LwM2mResource>>();
  readonly #listeners = new Set<ChangeListener>();
  readonly #onExecute: Readonly<Record<number, ExecuteHandler>>;
  readonly #onRead: Readonly<Record<number, ReadHandler>>;
  readonly #onWrite: WriteHandler | undefined;
  readonly #onCreate: InstanceHandler | undefined;
  readonly #onDelete: InstanceObjectOptions['onDelete'];
  #ticker: NodeJS.Timeout | undefined;

  constructor(model: ObjectModel, options: InstanceObjectOptions = {}) {
    this.model = model;
    this.#onExecute = options.onExecute ?? {};
    this.#onRead = options.onRead ?? {};
    this.#onWrite = options.onWrite;
    this.#onCreate = options.onCreate;
    this.#onDelete = options.onDelete;
    for (const [key, input] of Object.entries(options.instances ?? {})) {
      this.addInstance(Number(key), input);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Device-side API: what the application (or a simulation) calls.

  /** Adds an instance with these values; emits a change for the new instance. */
  addInstance(instanceId: number, values: InstanceInput = {}): void {
    if (this.#instances.has(instanceId)) {
      throw new InvalidValueError(`/${this.model.id}/${instanceId} already exists`);
    }
    if (!this.model.multiple && this.#instances.size > 0) {
      throw new MethodNotAllowedError(
        `object ${this.model.id} (${this.model.name}) is single-instance and already has /${this.model.id}/${this.instanceIds()[0]}`,
      );
    }
    const resources = Object.entries(values).map(([rid, v]) =>
      this.toResource(Number(rid), v as ResourceInput),
    );
    this.#store(instanceId, resources);
    this.emit(instanceId);
  }

  /** Removes an instance; false when there was none. */
  removeInstance(instanceId: number): boolean {
    if (!this.#instances.delete(instanceId)) return false;
    this.emit(instanceId);
    return true;
  }

  /** Sets one resource as the device itself (a new measurement…); emits a change if it differs. */
  set(instanceId: number, resourceId: number, value: ResourceInput): void {
    this.setMany(instanceId, { [resourceId]: value });
  }

  /** Sets several resources of one instance at once (one change event). */
  setMany(instanceId: number, values: InstanceInput): void {
    const instance = this.#instance(instanceId);
    const resources = Object.entries(values).map(([rid, v]) =>
      this.toResource(Number(rid), v as ResourceInput),
    );
    const changed: number[] = [];
    for (const r of resources) {
      if (!sameResource(instance.get(r.id), r)) {
        instance.set(r.id, r);
        changed.push(r.id);
      }
    }
    if (changed.length > 0) this.emit(instanceId, changed);
  }

  /** Removes a resource's value (an optional resource that no longer applies). */
  unset(instanceId: number, resourceId: number): void {
    if (this.#instance(instanceId).delete(resourceId)) this.emit(instanceId, [resourceId]);
  }

  /**
   * The stored value of a resource: the plain value of a single resource, a Map from instance id
   * to value for a multiple one, undefined when absent. Computed (`onRead`) values are not
   * stored: read them through the tree.
   */
  get(
    instanceId: number,
    resourceId: number,
  ): TypedValue['value'] | ReadonlyMap<number, TypedValue['value']> | undefined {
    const r = this.#instances.get(instanceId)?.get(resourceId);
    if (r === undefined) return undefined;
    if (r.kind === 'singleResource') return r.value;
    return new Map(r.instances.map((ri) => [ri.id, ri.value]));
  }

  /** The stored resource node, undefined when absent. */
  getResource(instanceId: number, resourceId: number): LwM2mResource | undefined {
    return this.#instances.get(instanceId)?.get(resourceId);
  }

  /** Builds a resource node of this object from a user value, typed by the model. */
  toResource(resourceId: number, input: ResourceInput): LwM2mResource {
    const model = this.model.resources.get(resourceId);
    if (model === undefined) {
      throw new InvalidValueError(
        `resource ${resourceId} is not in the model of object ${this.model.id} (${this.model.name})`,
      );
    }
    return toResource(model, input);
  }

  // ------------------------------------------------------------------------------------------
  // ObjectEnabler: what the object tree calls for requests.

  instanceIds(): readonly number[] {
    return [...this.#instances.keys()].sort((a, b) => a - b);
  }

  /**
   * Resources the instance supports, for Discover: those holding a value, computed ones, and
   * executable ones that have a handler or are mandatory.
   */
  resourceIds(instanceId: number): readonly number[] {
    const ids = new Set(this.#instance(instanceId).keys());
    for (const key of Object.keys(this.#onRead)) ids.add(Number(key));
    for (const r of this.model.resources.values()) {
      if (r.operations === 'E' && (r.mandatory || this.#onExecute[r.id] !== undefined)) {
        ids.add(r.id);
      }
    }
    return [...ids].sort((a, b) => a - b);
  }

  async read(
    instanceId: number,
    resourceId: number | undefined,
    origin: RequestOrigin,
  ): Promise<readonly LwM2mResource[]> {
    const instance = this.#instance(instanceId);
    if (resourceId !== undefined) {
      const computed = this.#onRead[resourceId];
      if (computed !== undefined) {
        return [this.toResource(resourceId, await computed(instanceId, origin))];
      }
      const r = instance.get(resourceId);
      if (r === undefined) {
        throw new NotFoundError(`/${this.model.id}/${instanceId}/${resourceId} has no value`);
      }
      return [r];
    }
    // A server sees the readable resources only; the device itself and the bootstrap server
    // (Bootstrap-Read, Core TS 1.2 §6.1) see all values held.
    const visible = (id: number): boolean => {
      if (origin.kind !== 'server') return true;
      const op = this.model.resources.get(id)?.operations;
      return op === 'R' || op === 'RW';
    };
    const out = new Map<number, LwM2mResource>();
    for (const [id, r] of instance) if (visible(id)) out.set(id, r);
    for (const [key, computed] of Object.entries(this.#onRead)) {
      const id = Number(key);
      if (visible(id)) out.set(id, this.toResource(id, await computed(instanceId, origin)));
    }
    return [...out.values()].sort((a, b) => a.id - b.id);
  }

  async write(
    instanceId: number,
    resources: readonly LwM2mResource[],
    mode: 'replace' | 'update',
    origin: RequestOrigin,
  ): Promise<void> {
    const instance = this.#instance(instanceId);
    const typed = resources.map((r) => this.#typed(r));
    await this.#onWrite?.(instanceId, typed, mode, origin);
    const changed = new Set<number>();
    if (mode === 'replace') {
      // Core TS 1.2 §6.3.3: replacing an instance resets the writable resources not given.
      const given = new Set(typed.map((r) => r.id));
      for (const id of [...instance.keys()]) {
        const model = this.model.resources.get(id);
        if (!given.has(id) && model !== undefined && isWritable(model)) {
          instance.delete(id);
          changed.add(id);
        }
      }
    }
    for (const r of typed) {
      if (!sameResource(instance.get(r.id), r)) changed.add(r.id);
      instance.set(r.id, r);
    }
    if (changed.size > 0) {
      this.emit(
        instanceId,
        [...changed].sort((a, b) => a - b),
      );
    }
  }

  async execute(
    instanceId: number,
    resourceId: number,
    args: string,
    origin: RequestOrigin,
  ): Promise<void> {
    this.#instance(instanceId);
    const model = this.model.resources.get(resourceId);
    if (model === undefined || model.operations !== 'E') {
      throw new MethodNotAllowedError(
        `/${this.model.id}/${instanceId}/${resourceId} is not executable`,
      );
    }
    await this.#onExecute[resourceId]?.(instanceId, args, origin);
  }

  async create(
    instanceId: number,
    resources: readonly LwM2mResource[],
    origin: RequestOrigin,
  ): Promise<void> {
    if (this.#instances.has(instanceId)) {
      throw new InvalidValueError(`/${this.model.id}/${instanceId} already exists`);
    }
    if (!this.model.multiple && this.#instances.size > 0) {
      throw new MethodNotAllowedError(
        `object ${this.model.id} is single-instance and already has an instance`,
      );
    }
    const typed = resources.map((r) => this.#typed(r));
    await this.#onCreate?.(instanceId, typed, origin);
    this.#store(instanceId, typed);
    this.emit(instanceId);
  }

  async delete(instanceId: number, origin: RequestOrigin): Promise<void> {
    this.#instance(instanceId);
    await this.#onDelete?.(instanceId, origin);
    this.#instances.delete(instanceId);
    this.emit(instanceId);
  }

  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Stops what `startTicker` started. Resolves at once: nothing else is held. */
  close(): Promise<void> {
    this.stopTicker();
    return Promise.resolve();
  }

  // ------------------------------------------------------------------------------------------
  // For subclasses.

  /** Tells listeners that resources of an instance changed (all of it when `resourceIds` is undefined). */
  protected emit(instanceId: number, resourceIds?: readonly number[]): void {
    for (const listener of [...this.#listeners]) listener(instanceId, resourceIds);
  }

  /**
   * Runs `tick` every `intervalMs` until `stopTicker()` or `close()`; one ticker per object, a
   * second call replaces the first. The timer does not keep the process alive on its own.
   */
  protected startTicker(intervalMs: number, tick: () => void): void {
    if (!(Number.isFinite(intervalMs) && intervalMs > 0)) {
      throw new InvalidValueError(`simulation interval ${intervalMs} ms is not a positive number`);
    }
    this.stopTicker();
    this.#ticker = setInterval(tick, intervalMs);
    this.#ticker.unref();
  }

  protected stopTicker(): void {
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  /** True while a ticker runs. */
  get running(): boolean {
    return this.#ticker !== undefined;
  }

  #instance(instanceId: number): Map<number, LwM2mResource> {
    const instance = this.#instances.get(instanceId);
    if (instance === undefined)
      throw new NotFoundError(`/${this.model.id}/${instanceId} not found`);
    return instance;
  }

  #store(instanceId: number, resources: readonly LwM2mResource[]): void {
    const map = new Map<number, LwM2mResource>();
    for (const r of resources) map.set(r.id, r);
    this.#instances.set(instanceId, map);
  }

  /** A node from a request, converted to the model's type and shape. */
  #typed(r: LwM2mResource): LwM2mResource {
    return this.toResource(r.id, r);
  }
}

function isNode(x: unknown): x is LwM2mResource {
  return (
    typeof x === 'object' &&
    x !== null &&
    'kind' in x &&
    (x.kind === 'singleResource' || x.kind === 'multipleResource')
  );
}

/**
 * Builds a resource node of `model` from a user value or a node: values are converted with core's
 * `typedValue` (and nodes of another type with `convertValue`), so a value of the wrong type or
 * shape is an `InvalidValueError` (4.00 when it came from a request).
 */
export function toResource(model: ResourceModel, input: ResourceInput): LwM2mResource {
  const where = `resource ${model.id} (${model.name})`;
  if (model.type === 'none') {
    throw new InvalidValueError(`${where} is executable: it holds no value`);
  }
  const type = model.type;
  if (isNode(input)) {
    if (input.id !== model.id) {
      throw new InvalidValueError(`${where}: got a node for resource ${input.id}`);
    }
    if (input.kind === 'singleResource') {
      if (model.multiple) throw new InvalidValueError(`${where} is multiple, got a single value`);
      return input.type === type
        ? input
        : singleResource(model.id, type, convertValue(input, type).value as never);
    }
    if (!model.multiple) throw new InvalidValueError(`${where} is single, got several instances`);
    if (input.type === type && input.instances.every((ri) => ri.type === type)) return input;
    return multipleResource(
      model.id,
      type,
      input.instances.map(
        (ri): LwM2mResourceInstance =>
          resourceInstance(ri.id, type, convertValue(ri, type).value as never),
      ),
    );
  }
  if (!model.multiple) {
    return singleResource(model.id, type, checkedValue(type, input, where) as never);
  }
  let entries: [number, unknown][];
  if (input instanceof Map) {
    entries = [...input.entries()];
  } else if (Array.isArray(input)) {
    entries = [];
    input.forEach((v, i) => {
      if (v !== undefined) entries.push([i, v]);
    });
  } else if (typeof input === 'object' && input !== null && isRecord(input)) {
    entries = Object.entries(input).map(([k, v]) => [Number(k), v]);
  } else {
    throw new InvalidValueError(
      `${where} is multiple: give its instances as { id: value }, a Map or an array`,
    );
  }
  return multipleResource(
    model.id,
    type,
    entries.map(([id, v]) =>
      resourceInstance(id, type, checkedValue(type, v, `${where} instance ${id}`) as never),
    ),
  );
}

function isRecord(x: object): x is Record<string, unknown> {
  return !(x instanceof Uint8Array) && !(x instanceof Date) && !('objectId' in x);
}

function checkedValue(type: TypedValue['type'], value: unknown, where: string): unknown {
  try {
    return typedValue(type, value as never).value;
  } catch (e) {
    if (e instanceof InvalidValueError) throw new InvalidValueError(`${where}: ${e.message}`);
    throw e;
  }
}

function sameValue(a: TypedValue, b: TypedValue): boolean {
  if (a.type !== b.type) return false;
  const x = a.value;
  const y = b.value;
  if (x instanceof Uint8Array && y instanceof Uint8Array) {
    return x.length === y.length && x.every((byte, i) => byte === y[i]);
  }
  if (x instanceof Date && y instanceof Date) return x.getTime() === y.getTime();
  if (typeof x === 'object' && typeof y === 'object' && 'objectId' in x && 'objectId' in y) {
    return x.objectId === y.objectId && x.instanceId === y.instanceId;
  }
  return Object.is(x, y);
}

/** Whether two resource nodes hold the same values (for "did it change?"). */
export function sameResource(a: LwM2mResource | undefined, b: LwM2mResource | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.kind === 'singleResource' && b.kind === 'singleResource') return sameValue(a, b);
  if (a.kind === 'multipleResource' && b.kind === 'multipleResource') {
    return (
      a.type === b.type &&
      a.instances.length === b.instances.length &&
      a.instances.every((ri, i) => {
        const other = b.instances[i]!;
        return ri.id === other.id && sameValue(ri, other);
      })
    );
  }
  return false;
}

let builtins: ObjectRegistry | undefined;

/**
 * A built-in model from `@lwm2m-ts/registry`: the given object version, or the latest. Throws
 * `InvalidValueError` when the registry does not hold it.
 */
export function builtinModel(objectId: number, version?: string): ObjectModel {
  builtins ??= ObjectRegistry.withBuiltins();
  const model = builtins.get(objectId, version);
  if (model === undefined) {
    const known = builtins.versions(objectId);
    throw new InvalidValueError(
      `object ${objectId}${version === undefined ? '' : ` version ${version}`} is not built in${known.length > 0 ? ` (known versions: ${known.join(', ')})` : ''}`,
    );
  }
  return model;
}

/** Which model a built-in object uses: one given, or the registry's in a version (latest by default). */
export interface ModelChoice {
  readonly model?: ObjectModel;
  readonly version?: string;
}

export function chooseModel(objectId: number, choice: ModelChoice = {}): ObjectModel {
  if (choice.model !== undefined) {
    if (choice.model.id !== objectId) {
      throw new InvalidValueError(`the model given is object ${choice.model.id}, not ${objectId}`);
    }
    return choice.model;
  }
  return builtinModel(objectId, choice.version);
}
