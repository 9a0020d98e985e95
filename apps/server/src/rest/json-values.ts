/**
 * LwM2M values and nodes ↔ JSON, as the REST API shows and takes them.
 *
 * Values keep their LwM2M type in JSON:
 *
 * | type       | JSON out                                        | JSON in (also accepted)            |
 * |------------|-------------------------------------------------|------------------------------------|
 * | `string`   | string                                          |                                    |
 * | `integer`  | number when \|n\| ≤ 2^53−1, else decimal string | number (safe integer) or string    |
 * | `unsigned` | as `integer`                                    | as `integer`, ≥ 0                  |
 * | `float`    | number; `"NaN"`, `"Infinity"`, `"-Infinity"`    | number or one of those strings     |
 * | `boolean`  | boolean                                         |                                    |
 * | `opaque`   | base64 string                                   |                                    |
 * | `time`     | ISO-8601 string (`2024-05-01T12:00:00.000Z`)    | ISO-8601 string or seconds (number)|
 * | `objlnk`   | `"3:0"`                                         | `{ "objectId": 3, "instanceId": 0 }`|
 * | `corelnk`  | string                                          |                                    |
 *
 * Node shapes (what `GET /api/clients/:ep/<path>` answers in `content`, and what PUT/POST take):
 *
 * - single resource: `{ "id": 0, "kind": "single", "type": "string", "value": "ACME" }`
 * - multiple resource: `{ "id": 7, "kind": "multiple", "type": "integer", "values": { "0": 3800, "1": 5000 } }`
 * - resource instance: `{ "id": 1, "kind": "resourceInstance", "type": "integer", "value": 5000 }`
 * - object instance: `{ "id": 0, "kind": "instance", "resources": [ <resource>, ... ] }`
 * - object: `{ "id": 3, "kind": "object", "instances": [ <instance>, ... ] }`
 *
 * Timestamped path→value lists (composite read/observe, Send, notifications with history):
 * `[{ "path": "/3/0/0", "type": "string", "value": "ACME", "time"?: "<ISO-8601>" }]`.
 *
 * Input for Write/Create is typed by the object model: `kind` and `type` may be left out (they
 * must match the model when given); `type` is needed only for objects the server has no model
 * for. A resource body is `{ "value": v }` or `{ "values": { "<instance id>": v, ... } }`; an
 * instance body is `{ "resources": [{ "id": 1, "value": 300 }, { "id": 7, "values": { "0": "U" } }] }`.
 * Everything wrong (type, unknown resource, bad base64…) is an `InvalidValueError` naming the path.
 */
import type { TimedValue } from '@lwm2m-ts/codecs';
import {
  type DataType,
  INT64_MAX,
  INT64_MIN,
  InvalidValueError,
  isDataType,
  type LwM2mNode,
  type LwM2mObjectInstance,
  LwM2mPath,
  type LwM2mResource,
  type LwM2mResourceInstance,
  multipleResource,
  type ObjectModel,
  objectInstance,
  type PathValue,
  type ResourceModel,
  resourceInstance,
  singleResource,
  type TypedValue,
  typedValue,
  UINT64_MAX,
} from '@lwm2m-ts/core';

/** One value in JSON. */
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

export type JsonResource = JsonSingleResource | JsonMultipleResource;

export interface JsonInstance {
  readonly id: number;
  readonly kind: 'instance';
  readonly resources: readonly JsonResource[];
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

export interface JsonTimedValue {
  readonly path: string;
  readonly type: DataType;
  readonly value: JsonValue;
  /** ISO-8601; relative SenML times are taken relative to the conversion time. */
  readonly time?: string;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** RFC 8428 §4.5.3: times below 2^28 s are relative to now. */
const RELATIVE_TIME_LIMIT = 2 ** 28;

// ---------------------------------------------------------------------------------------------
// LwM2M → JSON

/** One typed value as JSON (see the table in this module's comment). */
export function valueToJson(v: TypedValue): JsonValue {
  switch (v.type) {
    case 'string':
    case 'corelnk':
    case 'boolean':
      return v.value;
    case 'integer':
    case 'unsigned':
      return v.value >= -MAX_SAFE && v.value <= MAX_SAFE ? Number(v.value) : v.value.toString();
    case 'float':
      return Number.isFinite(v.value) ? v.value : String(v.value);
    case 'opaque':
      return Buffer.from(v.value.buffer, v.value.byteOffset, v.value.byteLength).toString('base64');
    case 'time':
      return v.value.toISOString();
    case 'objlnk':
      return `${v.value.objectId}:${v.value.instanceId}`;
  }
}

/** A node as JSON (shapes in this module's comment). */
export function nodeToJson(node: LwM2mNode): JsonNode {
  switch (node.kind) {
    case 'object':
      return { id: node.id, kind: 'object', instances: node.instances.map(instanceToJson) };
    case 'instance':
      return instanceToJson(node);
    case 'singleResource':
    case 'multipleResource':
      return resourceToJson(node);
    case 'resourceInstance':
      return { id: node.id, kind: 'resourceInstance', type: node.type, value: valueToJson(node) };
  }
}

function instanceToJson(node: LwM2mObjectInstance): JsonInstance {
  return { id: node.id, kind: 'instance', resources: node.resources.map(resourceToJson) };
}

function resourceToJson(node: LwM2mResource): JsonResource {
  if (node.kind === 'singleResource') {
    return { id: node.id, kind: 'single', type: node.type, value: valueToJson(node) };
  }
  const values: Record<string, JsonValue> = {};
  for (const ri of node.instances) values[String(ri.id)] = valueToJson(ri);
  return { id: node.id, kind: 'multiple', type: node.type, values };
}

/** A SenML-style time (seconds, absolute or relative to `now`) as ISO-8601. */
export function timeToIso(seconds: number, now: number = Date.now()): string | undefined {
  if (!Number.isFinite(seconds)) return undefined;
  const ms = seconds >= RELATIVE_TIME_LIMIT ? seconds * 1000 : now + seconds * 1000;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Path→value lists as JSON: `[{ "path", "type", "value", "time"? }]`. */
export function toJsonValues(
  values: readonly TimedValue[],
  now: number = Date.now(),
): JsonTimedValue[] {
  return values.map((v) => {
    const time = v.time === undefined ? undefined : timeToIso(v.time, now);
    return {
      path: v.path.toString(),
      type: v.value.type,
      value: valueToJson(v.value),
      ...(time === undefined ? {} : { time }),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// JSON → LwM2M

const DECIMAL_INTEGER = /^[+-]?\d{1,20}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
// Date, or date-time with a zone (a time without a zone would depend on the server's clock).
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const OBJLNK = /^(\d{1,5}):(\d{1,5})$/;

function describe(json: unknown): string {
  if (json === undefined) return 'nothing';
  if (json === null) return 'null';
  if (Array.isArray(json)) return 'an array';
  if (typeof json === 'object') return 'an object';
  const text = JSON.stringify(json);
  return `${typeof json} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}

const EXPECTED: Readonly<Record<DataType, string>> = {
  string: 'a string',
  corelnk: 'a CoRE link-format string',
  integer: 'a signed 64-bit integer (a JSON number, or a decimal string beyond 2^53−1)',
  unsigned: 'an unsigned 64-bit integer (a JSON number, or a decimal string beyond 2^53−1)',
  float: 'a number (or "NaN", "Infinity", "-Infinity")',
  boolean: 'true or false',
  opaque: 'a base64 string',
  time: 'an ISO-8601 date-time with a zone, or a number of seconds since 1970',
  objlnk: 'an object link "objectId:instanceId" (e.g. "3:0")',
};

/**
 * One JSON value as a value of `type`. `where` names the value in error messages (a path).
 * Throws `InvalidValueError` saying what was expected.
 */
export function valueFromJson(type: DataType, json: unknown, where: string): TypedValue {
  const bad = (why?: string): never => {
    throw new InvalidValueError(
      `${where}: expected ${EXPECTED[type]}, got ${describe(json)}${why ? ` (${why})` : ''}`,
    );
  };
  switch (type) {
    case 'string':
    case 'corelnk':
      if (typeof json !== 'string') bad();
      return typedValue(type, json as string);
    case 'boolean':
      if (typeof json !== 'boolean') bad();
      return typedValue('boolean', json as boolean);
    case 'integer':
    case 'unsigned': {
      let n: bigint;
      if (typeof json === 'number') {
        if (!Number.isInteger(json)) bad('not an integer');
        if (!Number.isSafeInteger(json))
          bad('beyond 2^53−1 a JSON number loses digits: send a string');
        n = BigInt(json);
      } else if (typeof json === 'string' && DECIMAL_INTEGER.test(json)) {
        n = BigInt(json);
      } else {
        return bad();
      }
      const [min, max] = type === 'integer' ? [INT64_MIN, INT64_MAX] : [0n, UINT64_MAX];
      if (n < min || n > max) bad(`out of range ${min}..${max}`);
      return typedValue(type, n);
    }
    case 'float':
      if (typeof json === 'number') return typedValue('float', json);
      if (json === 'NaN' || json === 'Infinity' || json === '-Infinity') {
        return typedValue('float', Number(json));
      }
      return bad();
    case 'opaque': {
      if (typeof json !== 'string') return bad();
      if (!BASE64.test(json) || json.length % 4 === 1) bad('not base64');
      return typedValue('opaque', new Uint8Array(Buffer.from(json, 'base64')));
    }
    case 'time': {
      let ms: number;
      if (typeof json === 'number') {
        if (!Number.isFinite(json)) bad();
        ms = json * 1000;
      } else if (typeof json === 'string' && (ISO_DATE.test(json) || ISO_DATE_TIME.test(json))) {
        ms = Date.parse(json);
      } else {
        return bad();
      }
      const date = new Date(ms);
      if (Number.isNaN(date.getTime())) bad('not a valid date');
      return typedValue('time', date);
    }
    case 'objlnk': {
      let link: { objectId: unknown; instanceId: unknown } | undefined;
      if (typeof json === 'string') {
        const m = OBJLNK.exec(json);
        if (m) link = { objectId: Number(m[1]), instanceId: Number(m[2]) };
      } else if (typeof json === 'object' && json !== null && !Array.isArray(json)) {
        const o = json as Record<string, unknown>;
        link = { objectId: o.objectId, instanceId: o.instanceId };
      }
      const isId = (x: unknown) =>
        Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 65535;
      if (!link || !isId(link.objectId) || !isId(link.instanceId)) return bad();
      return typedValue('objlnk', link as { objectId: number; instanceId: number });
    }
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function knownModel(model: ObjectModel | undefined): ObjectModel | undefined {
  return model !== undefined && model.resources.size > 0 ? model : undefined;
}

interface ResolvedType {
  readonly type: DataType;
  /** From the model; undefined when the model does not say (unknown object). */
  readonly multiple: boolean | undefined;
}

/** The data type of the resource at `path` from the model, checked against the JSON's `type`. */
function resolveType(
  path: LwM2mPath,
  model: ObjectModel | undefined,
  body: Record<string, unknown>,
): ResolvedType {
  const given = body.type;
  if (given !== undefined && (typeof given !== 'string' || !isDataType(given))) {
    throw new InvalidValueError(
      `${path}: "type" must be one of string, integer, unsigned, float, boolean, opaque, time, objlnk, corelnk; got ${describe(given)}`,
    );
  }
  const known = knownModel(model);
  if (known === undefined) {
    if (given === undefined) {
      throw new InvalidValueError(
        `${path}: object ${path.objectId} has no model on this server: give the value's "type"`,
      );
    }
    return { type: given, multiple: undefined };
  }
  const resource: ResourceModel | undefined = known.resources.get(path.resourceId!);
  if (resource === undefined) {
    throw new InvalidValueError(
      `${path}: object ${known.id} (${known.name} ${known.version}) has no resource ${path.resourceId}`,
    );
  }
  if (resource.type === 'none') {
    throw new InvalidValueError(
      `${path}: resource ${resource.id} (${resource.name}) is executable and has no value`,
    );
  }
  if (given !== undefined && given !== resource.type) {
    throw new InvalidValueError(
      `${path}: resource ${resource.id} (${resource.name}) is ${resource.type}, not ${given}`,
    );
  }
  return { type: resource.type, multiple: resource.multiple };
}

function checkId(body: Record<string, unknown>, id: number, path: LwM2mPath): void {
  if (body.id !== undefined && body.id !== id) {
    throw new InvalidValueError(`${path}: "id" is ${describe(body.id)} but the path says ${id}`);
  }
}

function checkKind(body: Record<string, unknown>, allowed: readonly string[], path: LwM2mPath) {
  if (body.kind !== undefined && !allowed.includes(body.kind as string)) {
    throw new InvalidValueError(
      `${path}: "kind" must be ${allowed.map((k) => `"${k}"`).join(' or ')} here, got ${describe(body.kind)}`,
    );
  }
}

/**
 * A resource (path `/o/i/r`) from `{ "value": v }` or `{ "values": { "0": v, ... } }`, typed by
 * the object's model. `id`, `kind` and `type` are optional and checked when given.
 */
export function resourceFromJson(
  path: LwM2mPath,
  body: unknown,
  model: ObjectModel | undefined,
): LwM2mResource {
  if (!path.isResource()) throw new InvalidValueError(`${path} is not a resource path`);
  if (!isRecord(body)) {
    throw new InvalidValueError(
      `${path}: expected an object { "value": … } or { "values": { "0": … } }, got ${describe(body)}`,
    );
  }
  checkId(body, path.resourceId!, path);
  checkKind(body, ['single', 'multiple'], path);
  const { type, multiple } = resolveType(path, model, body);
  const hasValue = Object.hasOwn(body, 'value');
  const hasValues = Object.hasOwn(body, 'values');
  if (hasValue === hasValues) {
    throw new InvalidValueError(
      `${path}: give exactly one of "value" (single resource) or "values" (multiple resource)`,
    );
  }
  const isMultiple = multiple ?? (body.kind === 'multiple' || hasValues);
  if (isMultiple && !hasValues) {
    throw new InvalidValueError(
      `${path}: the resource is multiple: give "values": { "<instance id>": value, ... }`,
    );
  }
  if (!isMultiple && !hasValue) {
    throw new InvalidValueError(`${path}: the resource is single: give "value"`);
  }
  const id = path.resourceId!;
  if (!isMultiple) {
    const v = valueFromJson(type, body.value, path.toString());
    return singleResource(id, v.type, v.value as never);
  }
  if (!isRecord(body.values)) {
    throw new InvalidValueError(
      `${path}: "values" must be an object keyed by resource instance id, got ${describe(body.values)}`,
    );
  }
  const instances: LwM2mResourceInstance[] = [];
  for (const [key, json] of Object.entries(body.values)) {
    if (!/^(0|[1-9]\d{0,4})$/.test(key) || Number(key) > 65535) {
      throw new InvalidValueError(`${path}: "${key}" is not a resource instance id (0..65535)`);
    }
    const riPath = path.child(Number(key));
    instances.push(resourceInstanceFromValue(riPath, type, json));
  }
  return multipleResource(id, type, instances);
}

function resourceInstanceFromValue(
  path: LwM2mPath,
  type: DataType,
  json: unknown,
): LwM2mResourceInstance {
  const v = valueFromJson(type, json, path.toString());
  return resourceInstance(path.resourceInstanceId!, v.type, v.value as never);
}

/** A resource instance (path `/o/i/r/ri`) from `{ "value": v }`. */
export function resourceInstanceFromJson(
  path: LwM2mPath,
  body: unknown,
  model: ObjectModel | undefined,
): LwM2mResourceInstance {
  if (!path.isResourceInstance()) {
    throw new InvalidValueError(`${path} is not a resource instance path`);
  }
  if (!isRecord(body) || !Object.hasOwn(body, 'value')) {
    throw new InvalidValueError(
      `${path}: expected an object { "value": … }, got ${describe(body)}`,
    );
  }
  checkId(body, path.resourceInstanceId!, path);
  checkKind(body, ['resourceInstance'], path);
  const { type, multiple } = resolveType(path, model, body);
  if (multiple === false) {
    throw new InvalidValueError(
      `${path}: resource ${path.resourceId} is single, it has no instances`,
    );
  }
  return resourceInstanceFromValue(path, type, body.value);
}

/**
 * The resources of `{ "resources": [{ "id": 1, "value": 300 }, ...] }` for the instance at `path`
 * (`/o/i`, or `/o` for Create, where the body's `id` is the new instance's id if any).
 */
export function resourcesFromJson(
  path: LwM2mPath,
  body: unknown,
  model: ObjectModel | undefined,
): LwM2mResource[] {
  if (!isRecord(body) || !Array.isArray(body.resources)) {
    throw new InvalidValueError(
      `${path}: expected an object { "resources": [{ "id": …, "value": … }, ...] }, got ${describe(body)}`,
    );
  }
  const base = path.isInstance() ? path : path.child(isIdNumber(body.id) ? body.id : 0);
  const resources: LwM2mResource[] = [];
  body.resources.forEach((entry, i) => {
    if (!isRecord(entry) || !isIdNumber(entry.id)) {
      throw new InvalidValueError(
        `${path}: resources[${i}] must be an object with an "id" in 0..65535, got ${describe(entry)}`,
      );
    }
    resources.push(resourceFromJson(base.child(entry.id), entry, model));
  });
  const seen = new Set<number>();
  for (const r of resources) {
    if (seen.has(r.id)) throw new InvalidValueError(`${path}: resource ${r.id} is given twice`);
    seen.add(r.id);
  }
  return resources;
}

/** An object instance (path `/o/i`) from `{ "id"?: i, "resources": [...] }`. */
export function instanceFromJson(
  path: LwM2mPath,
  body: unknown,
  model: ObjectModel | undefined,
): LwM2mObjectInstance {
  if (!path.isInstance()) throw new InvalidValueError(`${path} is not an object instance path`);
  if (isRecord(body)) {
    checkId(body, path.instanceId!, path);
    checkKind(body, ['instance'], path);
  }
  return objectInstance(path.instanceId!, resourcesFromJson(path, body, model));
}

/**
 * The body of a Create on object `path` (`/o`): `{ "id"?: n, "resources": [...] }`. `id` is the
 * instance id to ask for; without it the client picks one.
 */
export function createFromJson(
  path: LwM2mPath,
  body: unknown,
  model: ObjectModel | undefined,
): { instanceId?: number; resources: LwM2mResource[] } {
  if (!path.isObject()) throw new InvalidValueError(`${path} is not an object path`);
  if (isRecord(body) && body.id !== undefined && !isIdNumber(body.id)) {
    throw new InvalidValueError(
      `${path}: "id" must be an instance id in 0..65535, got ${describe(body.id)}`,
    );
  }
  if (isRecord(body)) checkKind(body, ['instance'], path);
  const resources = resourcesFromJson(path, body, model);
  const id = isRecord(body) ? body.id : undefined;
  return isIdNumber(id) ? { instanceId: id, resources } : { resources };
}

/**
 * The node a Write to `path` carries, from the request body: a resource instance, a resource or
 * an object instance (Write on an object is not an LwM2M operation of a server).
 */
export function writeNodeFromJson(
  path: LwM2mPath,
  body: unknown,
  model: ObjectModel | undefined,
): LwM2mNode {
  switch (path.level) {
    case 'instance':
      return instanceFromJson(path, body, model);
    case 'resource':
      return resourceFromJson(path, body, model);
    case 'resourceInstance':
      return resourceInstanceFromJson(path, body, model);
    default:
      throw new InvalidValueError(
        `cannot write ${path}: Write targets an object instance, a resource or a resource instance`,
      );
  }
}

/**
 * Composite-write values: `[{ "path": "/3/0/14", "value": "+01" }, { "path": "/1/0/7",
 * "values": { "0": "U" } }, ...]`, each typed by `modelOf(objectId)`. A resource path with
 * `values` writes every given instance (as `/o/i/r/ri` values).
 */
export function pathValuesFromJson(
  body: unknown,
  modelOf: (objectId: number) => ObjectModel | undefined,
): PathValue[] {
  if (!Array.isArray(body) || body.length === 0) {
    throw new InvalidValueError(
      `expected a non-empty array [{ "path": "/3/0/14", "value": … }, ...], got ${describe(body)}`,
    );
  }
  const out: PathValue[] = [];
  body.forEach((entry, i) => {
    if (!isRecord(entry) || typeof entry.path !== 'string') {
      throw new InvalidValueError(
        `values[${i}] must be an object with a "path" string, got ${describe(entry)}`,
      );
    }
    const path = LwM2mPath.parse(entry.path);
    if (path.isResource()) {
      const model = modelOf(path.objectId!);
      const node = resourceFromJson(path, { ...entry, path: undefined }, model);
      if (node.kind === 'singleResource') {
        out.push({ path, value: { type: node.type, value: node.value } as TypedValue });
      } else {
        for (const ri of node.instances) {
          out.push({
            path: path.child(ri.id),
            value: { type: ri.type, value: ri.value } as TypedValue,
          });
        }
      }
    } else if (path.isResourceInstance()) {
      const ri = resourceInstanceFromJson(
        path,
        { ...entry, path: undefined },
        modelOf(path.objectId!),
      );
      out.push({ path, value: { type: ri.type, value: ri.value } as TypedValue });
    } else {
      throw new InvalidValueError(
        `values[${i}]: ${path} is not a resource or resource instance path`,
      );
    }
  });
  return out;
}

function isIdNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 65535;
}
