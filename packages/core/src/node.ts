import { type DataType, type TypedValue, typedValue, type ValueByType } from './data-type.js';
import { InvalidValueError } from './errors.js';
import { isValidId, type LwM2mPath } from './path.js';

/**
 * The LwM2M node model (Core TS 1.2 §6.1): object → object instance → resource (single or
 * multiple) → resource instance. Nodes are frozen plain objects discriminated by `kind`, built
 * and checked by the factories below; children are kept sorted by id and never repeat an id.
 */
export type LwM2mResourceInstance = {
  readonly kind: 'resourceInstance';
  readonly id: number;
} & TypedValue;

export type LwM2mSingleResource = {
  readonly kind: 'singleResource';
  readonly id: number;
} & TypedValue;

export interface LwM2mMultipleResource {
  readonly kind: 'multipleResource';
  readonly id: number;
  readonly type: DataType;
  readonly instances: readonly LwM2mResourceInstance[];
}

export type LwM2mResource = LwM2mSingleResource | LwM2mMultipleResource;

export interface LwM2mObjectInstance {
  readonly kind: 'instance';
  readonly id: number;
  readonly resources: readonly LwM2mResource[];
}

export interface LwM2mObject {
  readonly kind: 'object';
  readonly id: number;
  readonly instances: readonly LwM2mObjectInstance[];
}

export type LwM2mNode = LwM2mObject | LwM2mObjectInstance | LwM2mResource | LwM2mResourceInstance;

/** A plain value a caller may pass for a type: integers also as safe-integer numbers. */
export type ValueInput<T extends DataType> =
  | ValueByType[T]
  | (T extends 'integer' | 'unsigned' ? number : never);

function checkId(id: number, what: string): void {
  if (!isValidId(id)) throw new InvalidValueError(`${what} id ${id} is not an integer in 0..65535`);
}

function sortedUnique<N extends { readonly id: number }>(
  children: readonly N[],
  what: string,
): readonly N[] {
  const sorted = [...children].sort((a, b) => a.id - b.id);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.id === sorted[i - 1]!.id) {
      throw new InvalidValueError(`duplicate ${what} id ${sorted[i]!.id}`);
    }
  }
  return Object.freeze(sorted);
}

export function resourceInstance<T extends DataType>(
  id: number,
  type: T,
  value: ValueInput<T>,
): LwM2mResourceInstance {
  checkId(id, 'resource instance');
  return Object.freeze({ kind: 'resourceInstance', id, ...typedValue(type, value) });
}

export function singleResource<T extends DataType>(
  id: number,
  type: T,
  value: ValueInput<T>,
): LwM2mSingleResource {
  checkId(id, 'resource');
  return Object.freeze({ kind: 'singleResource', id, ...typedValue(type, value) });
}

/**
 * A multiple resource. Instances are given as resource-instance nodes, or as values keyed by
 * instance id (`{ 0: 'a', 1: 'b' }` or `[[0, 'a'], [1, 'b']]`). Every instance has the
 * resource's type. An empty multiple resource is valid (it says "no instances").
 */
export function multipleResource<T extends DataType>(
  id: number,
  type: T,
  instances:
    | readonly LwM2mResourceInstance[]
    | Iterable<readonly [number, ValueInput<T>]>
    | Readonly<Record<number, ValueInput<T>>>,
): LwM2mMultipleResource {
  checkId(id, 'resource');
  const nodes: LwM2mResourceInstance[] = [];
  const entries: Iterable<readonly [number | string, unknown]> =
    Symbol.iterator in instances
      ? (instances as Iterable<readonly [number, unknown]>)
      : Object.entries(instances);
  for (const entry of entries) {
    if (isNode(entry)) {
      if (entry.kind !== 'resourceInstance' || entry.type !== type) {
        throw new InvalidValueError(
          `resource ${id}: instance must be a ${type} resource instance, got ${entry.kind} ${'type' in entry ? entry.type : ''}`,
        );
      }
      nodes.push(entry);
    } else {
      const [key, value] = entry as readonly [number | string, ValueInput<T>];
      nodes.push(resourceInstance(Number(key), type, value));
    }
  }
  return Object.freeze({
    kind: 'multipleResource',
    id,
    type,
    instances: sortedUnique(nodes, `resource ${id} instance`),
  });
}

export function objectInstance(
  id: number,
  resources: readonly LwM2mResource[],
): LwM2mObjectInstance {
  checkId(id, 'object instance');
  for (const r of resources) {
    if (r.kind !== 'singleResource' && r.kind !== 'multipleResource') {
      throw new InvalidValueError(
        `object instance ${id}: child ${(r as LwM2mNode).kind} is not a resource`,
      );
    }
  }
  return Object.freeze({
    kind: 'instance',
    id,
    resources: sortedUnique(resources, `instance ${id} resource`),
  });
}

export function lwm2mObject(id: number, instances: readonly LwM2mObjectInstance[]): LwM2mObject {
  checkId(id, 'object');
  for (const i of instances) {
    if (i.kind !== 'instance') {
      throw new InvalidValueError(
        `object ${id}: child ${(i as LwM2mNode).kind} is not an instance`,
      );
    }
  }
  return Object.freeze({
    kind: 'object',
    id,
    instances: sortedUnique(instances, `object ${id} instance`),
  });
}

function isNode(x: unknown): x is LwM2mNode {
  return typeof x === 'object' && x !== null && 'kind' in x && 'id' in x;
}

export function getInstance(obj: LwM2mObject, id: number): LwM2mObjectInstance | undefined {
  return obj.instances.find((i) => i.id === id);
}

export function getResource(inst: LwM2mObjectInstance, id: number): LwM2mResource | undefined {
  return inst.resources.find((r) => r.id === id);
}

export function getResourceInstance(
  res: LwM2mMultipleResource,
  id: number,
): LwM2mResourceInstance | undefined {
  return res.instances.find((i) => i.id === id);
}

/** The path level a node lives at. */
export function nodeLevel(
  node: LwM2mNode,
): 'object' | 'instance' | 'resource' | 'resourceInstance' {
  switch (node.kind) {
    case 'object':
      return 'object';
    case 'instance':
      return 'instance';
    case 'singleResource':
    case 'multipleResource':
      return 'resource';
    case 'resourceInstance':
      return 'resourceInstance';
  }
}

/** One value at a full path: what SenML, LwM2M JSON/CBOR and composite operations carry. */
export interface PathValue {
  readonly path: LwM2mPath;
  readonly value: TypedValue;
}

/**
 * Flattens a node found at `path` into its leaf values, in path order. A multiple resource with
 * no instances has no leaves.
 */
export function flattenNode(path: LwM2mPath, node: LwM2mNode): PathValue[] {
  if (path.level !== nodeLevel(node) || path.ids[path.ids.length - 1] !== node.id) {
    throw new InvalidValueError(`node ${node.kind} ${node.id} does not live at ${path}`);
  }
  const out: PathValue[] = [];
  const walk = (p: LwM2mPath, n: LwM2mNode): void => {
    switch (n.kind) {
      case 'object':
        for (const i of n.instances) walk(p.child(i.id), i);
        break;
      case 'instance':
        for (const r of n.resources) walk(p.child(r.id), r);
        break;
      case 'multipleResource':
        for (const ri of n.instances) walk(p.child(ri.id), ri);
        break;
      default:
        out.push({ path: p, value: { type: n.type, value: n.value } as TypedValue });
    }
  };
  walk(path, node);
  return out;
}

/**
 * Groups leaf values under `path` into the node that lives there: the inverse of `flattenNode`.
 * A value at a resource-instance path makes its resource multiple.
 * Throws `InvalidValueError` when a value lies outside `path`, when two values share a path, or
 * when one resource has both a single value and instances.
 */
export function nodeFromValues(path: LwM2mPath, values: readonly PathValue[]): LwM2mNode {
  if (path.isRoot()) throw new InvalidValueError('values cannot be grouped into the root');
  for (const v of values) {
    if (!path.contains(v.path) || v.path.ids.length < 3) {
      throw new InvalidValueError(`${v.path} is not a resource path under ${path}`);
    }
  }
  const only = values.length === 1 ? values[0]! : undefined;
  if (only !== undefined && only.path.ids.length === path.ids.length) {
    // One value at the path itself (a Read of one resource): what the grouping below gives.
    const { type, value } = only.value;
    return path.isResource()
      ? singleResource(path.resourceId!, type, value as never)
      : resourceInstance(path.resourceInstanceId!, type, value as never);
  }
  // objectId → instanceId → resourceId → (value | Map<resourceInstanceId, value>)
  type Res = { single?: TypedValue; multi?: Map<number, TypedValue> };
  const tree = new Map<number, Map<number, Map<number, Res>>>();
  for (const { path: p, value } of values) {
    const [o, i, r, ri] = p.ids as [number, number, number, number | undefined];
    const insts = tree.get(o) ?? tree.set(o, new Map()).get(o)!;
    const ress = insts.get(i) ?? insts.set(i, new Map()).get(i)!;
    const res = ress.get(r) ?? ress.set(r, {}).get(r)!;
    if (ri === undefined) {
      if (res.single !== undefined || res.multi !== undefined) {
        throw new InvalidValueError(`${p} is given twice or is both single and multiple`);
      }
      res.single = value;
    } else {
      if (res.single !== undefined)
        throw new InvalidValueError(`${p.parent()} is both single and multiple`);
      res.multi ??= new Map();
      if (res.multi.has(ri)) throw new InvalidValueError(`${p} is given twice`);
      res.multi.set(ri, value);
    }
  }
  const buildResource = (id: number, res: Res): LwM2mResource => {
    if (res.single !== undefined)
      return singleResource(id, res.single.type, res.single.value as never);
    const entries = [...res.multi!.entries()];
    const type = entries[0]![1].type;
    return multipleResource(
      id,
      type,
      entries.map(([riId, v]) => {
        if (v.type !== type)
          throw new InvalidValueError(`resource ${id} mixes ${type} and ${v.type}`);
        return resourceInstance(riId, v.type, v.value as never);
      }),
    );
  };
  const buildInstance = (id: number, ress: Map<number, Res>): LwM2mObjectInstance =>
    objectInstance(
      id,
      [...ress].map(([rid, res]) => buildResource(rid, res)),
    );
  const [o, i, r, ri] = path.ids;
  const insts = tree.get(o!) ?? new Map<number, Map<number, Res>>();
  switch (path.level) {
    case 'object':
      return lwm2mObject(
        o!,
        [...insts].map(([iid, ress]) => buildInstance(iid, ress)),
      );
    case 'instance':
      return buildInstance(i!, insts.get(i!) ?? new Map());
    case 'resource': {
      const res = insts.get(i!)?.get(r!);
      if (res === undefined) throw new InvalidValueError(`no value for ${path}`);
      return buildResource(r!, res);
    }
    default: {
      const v = insts.get(i!)?.get(r!)?.multi?.get(ri!);
      if (v === undefined) throw new InvalidValueError(`no value for ${path}`);
      return resourceInstance(ri!, v.type, v.value as never);
    }
  }
}
