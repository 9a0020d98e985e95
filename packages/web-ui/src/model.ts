/**
 * The JSON shapes of the server's REST API (apps/server/src/rest/json-shapes.ts and
 * json-values.ts), and pure helpers over them: choosing an object's model, grouping a
 * registration's object links, and folding read/notified content into a path → value map.
 */

export type DataType =
  | 'string'
  | 'integer'
  | 'unsigned'
  | 'float'
  | 'boolean'
  | 'opaque'
  | 'time'
  | 'objlnk'
  | 'corelnk';
/** The data types, in the order the type menus list them. */
export const DATA_TYPES: readonly DataType[] = [
  'string',
  'integer',
  'unsigned',
  'float',
  'boolean',
  'opaque',
  'time',
  'objlnk',
  'corelnk',
];
export type ResourceType = DataType | 'none';
export type Operations = 'R' | 'W' | 'RW' | 'E' | 'NONE';

export interface ResourceSpec {
  readonly id: number;
  readonly name: string;
  readonly type: ResourceType;
  readonly operations: Operations;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  readonly units?: string;
  readonly rangeEnumeration?: string;
  readonly range?: { readonly min: number; readonly max: number };
  readonly enumeration?: readonly string[];
}

export interface ObjectSpec {
  readonly id: number;
  readonly name: string;
  readonly version: string;
  readonly lwm2mVersion: string;
  readonly urn?: string;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  readonly resources: readonly ResourceSpec[];
}

export interface ObjectLink {
  readonly path: string;
  readonly objectId: number;
  readonly instanceId?: number;
  readonly version?: string;
}

export interface Registration {
  readonly endpoint: string;
  readonly registrationId: string;
  readonly lwm2mVersion: string;
  readonly lifetime: number;
  readonly binding: string;
  readonly queueMode: boolean;
  readonly smsNumber?: string;
  readonly rootPath: string;
  readonly objectLinks: readonly ObjectLink[];
  readonly supportedFormats?: readonly string[];
  readonly address: string;
  readonly port: number;
  readonly transport: string;
  readonly secure: boolean;
  readonly identity?: string;
  readonly extraParameters?: Readonly<Record<string, string>>;
  readonly registeredAt: string;
  readonly lastUpdate: string;
  readonly expiresAt: string;
  readonly queue?: { readonly awake: boolean; readonly queued: number };
}

export type JsonValue = string | number | boolean;

export interface JsonSingleResource {
  readonly id: number;
  readonly kind: 'single';
  readonly type: DataType;
  readonly value: JsonValue;
}
export interface JsonMultipleResource {
  readonly id: number;
  readonly kind: 'multiple';
  readonly type: DataType;
  readonly values: Readonly<Record<string, JsonValue>>;
}
export interface JsonResourceInstance {
  readonly id: number;
  readonly kind: 'resourceInstance';
  readonly type: DataType;
  readonly value: JsonValue;
}
export interface JsonInstance {
  readonly id: number;
  readonly kind: 'instance';
  readonly resources: readonly (JsonSingleResource | JsonMultipleResource)[];
}
export interface JsonObject {
  readonly id: number;
  readonly kind: 'object';
  readonly instances: readonly JsonInstance[];
}
export type JsonNode =
  | JsonObject
  | JsonInstance
  | JsonSingleResource
  | JsonMultipleResource
  | JsonResourceInstance;

export interface TimedValue {
  readonly path: string;
  readonly type: DataType;
  readonly value: JsonValue;
  readonly time?: string;
}

export interface Observation {
  readonly id: string;
  readonly endpoint: string;
  readonly registrationId: string;
  readonly paths: readonly string[];
  readonly composite: boolean;
  readonly format?: string;
  readonly createdAt: string;
}

export type LinkAttributeValue = string | true | (string | true)[];

export interface DiscoverLink {
  readonly path: string;
  readonly attributes: Readonly<Record<string, LinkAttributeValue>>;
}

export interface SecurityEntry {
  readonly endpoint: string;
  readonly mode: 'psk' | 'nosec';
  readonly identity?: string;
  readonly key?: string;
}

/** Content-format names the API takes in `?format=`. */
export const FORMATS = [
  'text',
  'tlv',
  'senml-json',
  'senml-cbor',
  'lwm2m-json',
  'lwm2m-cbor',
  'cbor',
  'opaque',
  'link-format',
] as const;

// ---------------------------------------------------------------------------------------------
// Paths

/** `/3/0/1` → `[3, 0, 1]`; `undefined` for anything that is not a path of 1–4 ids. */
export function parsePath(path: string): number[] | undefined {
  if (!/^(\/\d{1,5}){1,4}$/.test(path)) return undefined;
  const ids = path.slice(1).split('/').map(Number);
  return ids.every((n) => n <= 65535) ? ids : undefined;
}

/** Compares paths id by id (`/3/0/2` < `/3/0/10`). */
export function comparePaths(a: string, b: string): number {
  const x = parsePath(a) ?? [];
  const y = parsePath(b) ?? [];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]! - y[i]!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

// ---------------------------------------------------------------------------------------------
// Models

function versionParts(v: string): number[] {
  return v.split('.').map((p) => Number.parseInt(p, 10) || 0);
}

export function compareVersions(a: string, b: string): number {
  const x = versionParts(a);
  const y = versionParts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The model of an object as the server types it: the registered version (`ver=`), 1.0 when the
 * client gave none; else the newest older version, else the oldest one known.
 */
export function chooseSpec(
  specs: readonly ObjectSpec[],
  objectId: number,
  version: string | undefined,
): ObjectSpec | undefined {
  const candidates = specs
    .filter((s) => s.id === objectId)
    .sort((a, b) => compareVersions(a.version, b.version));
  if (candidates.length === 0) return undefined;
  const wanted = version ?? '1.0';
  const exact = candidates.find((s) => compareVersions(s.version, wanted) === 0);
  if (exact !== undefined) return exact;
  const older = candidates.filter((s) => compareVersions(s.version, wanted) < 0);
  return older.at(-1) ?? candidates[0];
}

export interface ObjectEntry {
  readonly objectId: number;
  readonly version?: string;
  readonly instances: readonly number[];
}

/** A registration's object links grouped by object, in id order (instances sorted). */
export function groupObjectLinks(links: readonly ObjectLink[]): ObjectEntry[] {
  const byId = new Map<number, { version?: string; instances: Set<number> }>();
  for (const l of links) {
    let e = byId.get(l.objectId);
    if (e === undefined) {
      e = { instances: new Set() };
      byId.set(l.objectId, e);
    }
    if (l.version !== undefined) e.version = l.version;
    if (l.instanceId !== undefined) e.instances.add(l.instanceId);
  }
  return [...byId.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([objectId, e]) => ({
      objectId,
      ...(e.version === undefined ? {} : { version: e.version }),
      instances: [...e.instances].sort((a, b) => a - b),
    }));
}

export function isReadable(r: ResourceSpec): boolean {
  return r.operations === 'R' || r.operations === 'RW';
}
export function isWritable(r: ResourceSpec): boolean {
  return r.operations === 'W' || r.operations === 'RW';
}
export function isExecutable(r: ResourceSpec): boolean {
  return r.operations === 'E';
}

// ---------------------------------------------------------------------------------------------
// Values by path

/** The last known value of a resource: `value` for a single one, `values` for a multiple one. */
export interface ResourceValue {
  readonly type: DataType;
  readonly value?: JsonValue;
  readonly values?: Readonly<Record<string, JsonValue>>;
  /** ms since 1970 when it was received (or the value's own time when it had one). */
  readonly at: number;
}

export type ValueMap = ReadonlyMap<string, ResourceValue>;

/**
 * `map` with the content of a Read/Observe of `base` folded in: each resource under `base`
 * replaced (a multiple resource with all its instances), a resource instance merged into its
 * resource. Instances read whole drop resources they no longer hold only when `base` names them.
 */
export function applyNode(map: ValueMap, base: string, node: JsonNode, at: number): ValueMap {
  const out = new Map(map);
  const setResource = (path: string, r: JsonSingleResource | JsonMultipleResource) => {
    if (r.kind === 'single') out.set(path, { type: r.type, value: r.value, at });
    else out.set(path, { type: r.type, values: { ...r.values }, at });
  };
  const setInstance = (path: string, inst: JsonInstance) => {
    for (const r of inst.resources) setResource(`${path}/${r.id}`, r);
  };
  switch (node.kind) {
    case 'object':
      for (const inst of node.instances) setInstance(`${base}/${inst.id}`, inst);
      break;
    case 'instance':
      setInstance(base, node);
      break;
    case 'single':
    case 'multiple':
      setResource(base, node);
      break;
    case 'resourceInstance': {
      const parent = base.slice(0, base.lastIndexOf('/'));
      const prev = out.get(parent);
      out.set(parent, {
        type: node.type,
        values: { ...(prev?.values ?? {}), [String(node.id)]: node.value },
        at,
      });
      break;
    }
  }
  return out;
}

/** `map` with path → value lists (composite read, Send, composite notifications) folded in. */
export function applyTimedValues(
  map: ValueMap,
  values: readonly TimedValue[],
  at: number,
): ValueMap {
  const out = new Map(map);
  for (const v of values) {
    const ids = parsePath(v.path);
    if (ids === undefined) continue;
    const time = v.time === undefined ? at : Date.parse(v.time) || at;
    if (ids.length === 4) {
      const parent = v.path.slice(0, v.path.lastIndexOf('/'));
      const prev = out.get(parent);
      out.set(parent, {
        type: v.type,
        values: { ...(prev?.values ?? {}), [String(ids[3])]: v.value },
        at: time,
      });
    } else if (ids.length === 3) {
      out.set(v.path, { type: v.type, value: v.value, at: time });
    }
  }
  return out;
}

/** A node as a path → value list (resource instances for multiple resources). */
export function nodeToTimedValues(base: string, node: JsonNode): TimedValue[] {
  const out: TimedValue[] = [];
  const resource = (path: string, r: JsonSingleResource | JsonMultipleResource) => {
    if (r.kind === 'single') out.push({ path, type: r.type, value: r.value });
    else
      for (const [id, value] of Object.entries(r.values))
        out.push({ path: `${path}/${id}`, type: r.type, value });
  };
  const instance = (path: string, inst: JsonInstance) => {
    for (const r of inst.resources) resource(`${path}/${r.id}`, r);
  };
  switch (node.kind) {
    case 'object':
      for (const inst of node.instances) instance(`${base}/${inst.id}`, inst);
      break;
    case 'instance':
      instance(base, node);
      break;
    case 'single':
    case 'multiple':
      resource(base, node);
      break;
    case 'resourceInstance':
      out.push({ path: base, type: node.type, value: node.value });
      break;
  }
  return out;
}

/** Instances of an object found in a map's paths (e.g. after reading an unknown object). */
export function resourceIdsUnder(map: ValueMap, instancePath: string): number[] {
  const prefix = `${instancePath}/`;
  const ids = new Set<number>();
  for (const path of map.keys()) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    if (/^\d+$/.test(rest)) ids.add(Number(rest));
  }
  return [...ids].sort((a, b) => a - b);
}

/** IPSO resources measured in the unit that Sensor Units (5701) of their instance names. */
const IN_SENSOR_UNITS = new Set([5700, 5601, 5602, 5603, 5604]);

/**
 * The unit to show with a resource: for an IPSO sensor value (and its min/max) the one its
 * instance's Sensor Units (5701) holds, when it has been read; else the model's.
 */
export function unitsFor(path: string, modelUnits: string | undefined, values: ValueMap) {
  const ids = parsePath(path);
  if (ids?.length === 3 && IN_SENSOR_UNITS.has(ids[2]!)) {
    const u = values.get(`/${ids[0]}/${ids[1]}/5701`)?.value;
    if (typeof u === 'string' && u.trim() !== '') return u.trim();
  }
  return modelUnits;
}
