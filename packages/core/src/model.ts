import type { ResourceType } from './data-type.js';
import { ModelError } from './errors.js';

/**
 * Operations a resource allows, as DDF files write them (Core TS 1.2 Appendix D):
 * R, W, RW, E, or none at all (an empty `<Operations>`).
 */
export type Operations = 'R' | 'W' | 'RW' | 'E' | 'NONE';

export interface ResourceModel {
  readonly id: number;
  readonly name: string;
  readonly operations: Operations;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  readonly type: ResourceType;
  /** The DDF's RangeEnumeration text as written, when not empty. */
  readonly rangeEnumeration?: string;
  /** Numeric range parsed from `rangeEnumeration` (`0..100`, `1-65534`), when it is one. */
  readonly range?: { readonly min: number; readonly max: number };
  /** Allowed values parsed from `rangeEnumeration` (`0,1,2` or `0;1`), when it is a list. */
  readonly enumeration?: readonly string[];
  readonly units?: string;
}

export interface ObjectModel {
  readonly id: number;
  readonly name: string;
  /** e.g. `urn:oma:lwm2m:oma:3:1.2`. */
  readonly urn?: string;
  /** The object's own version (`ObjectVersion`), `1.0` when the DDF has none. */
  readonly version: string;
  /** LwM2M enabler version the object was defined for (`LWM2MVersion`), `1.0` when absent. */
  readonly lwm2mVersion: string;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  /** Resources by id. */
  readonly resources: ReadonlyMap<number, ResourceModel>;
}

export interface ObjectModelSpec extends Omit<ObjectModel, 'resources'> {
  readonly resources: readonly ResourceModel[];
}

const VERSION = /^\d+\.\d+$/;

/** Builds a frozen, checked `ObjectModel` (ids in range, no duplicate resource ids). */
export function defineObjectModel(spec: ObjectModelSpec, source?: string): ObjectModel {
  if (!Number.isInteger(spec.id) || spec.id < 0 || spec.id > 65535) {
    throw new ModelError(`object id ${spec.id} is not in 0..65535`, source);
  }
  if (!VERSION.test(spec.version)) {
    throw new ModelError(`object ${spec.id}: version "${spec.version}" is not major.minor`, source);
  }
  const resources = new Map<number, ResourceModel>();
  for (const r of spec.resources) {
    if (!Number.isInteger(r.id) || r.id < 0 || r.id > 65535) {
      throw new ModelError(`object ${spec.id}: resource id ${r.id} is not in 0..65535`, source);
    }
    if (resources.has(r.id)) {
      throw new ModelError(`object ${spec.id}: duplicate resource id ${r.id}`, source);
    }
    resources.set(r.id, Object.freeze({ ...r }));
  }
  return Object.freeze({ ...spec, resources: new FrozenMap(resources) });
}

/** A Map whose mutators throw, so a shared model cannot be changed by one of its users. */
class FrozenMap<K, V> extends Map<K, V> {
  #sealed = false;
  constructor(entries: Iterable<readonly [K, V]>) {
    super();
    for (const [k, v] of entries) super.set(k, v);
    this.#sealed = true;
  }
  override set(key: K, value: V): this {
    if (this.#sealed) throw new TypeError('object models are immutable');
    return super.set(key, value);
  }
  override delete(): boolean {
    throw new TypeError('object models are immutable');
  }
  override clear(): void {
    throw new TypeError('object models are immutable');
  }
}

/** Compares `major.minor` versions numerically ("1.10" > "1.9"). */
export function compareVersions(a: string, b: string): number {
  const [amaj = 0, amin = 0] = a.split('.').map(Number);
  const [bmaj = 0, bmin = 0] = b.split('.').map(Number);
  return amaj - bmaj || amin - bmin;
}

export function isReadable(r: ResourceModel): boolean {
  return r.operations === 'R' || r.operations === 'RW';
}

export function isWritable(r: ResourceModel): boolean {
  return r.operations === 'W' || r.operations === 'RW';
}

export function isExecutable(r: ResourceModel): boolean {
  return r.operations === 'E';
}
