/**
 * Bootstrap configurations: what the bootstrap server provisions on one endpoint, as JSON (the
 * REST API, the config file) and as the typed object the library keeps. `validateBootstrapConfig`
 * turns any input into a normalized `BootstrapConfig` or throws `BootstrapConfigError` naming the
 * field (`servers[0].uri: must be a coap:// or coaps:// URI`).
 *
 * ```json
 * {
 *   "servers": [{ "shortServerId": 101, "uri": "coaps://dm.example.com:5684",
 *                 "securityMode": "psk", "pskIdentity": "dev-1", "pskKey": "00112233",
 *                 "lifetime": 300, "binding": "U" }],
 *   "acls": [{ "objectId": 3, "instanceId": 0, "acl": { "101": "RWE" }, "owner": 101 }],
 *   "writes": [{ "path": "/3/0/14", "value": "+02:00" }],
 *   "bootstrapCredentials": { "identity": "dev-1-bs", "key": "0a0b0c0d" },
 *   "deletePaths": ["/"], "discover": true, "read": ["/1"]
 * }
 * ```
 *
 * Binary values (PSK keys, opaque resources) are hex strings in JSON; the library also takes
 * `Uint8Array`s for PSK keys and stores them as hex.
 */
import {
  ContentFormat,
  type DataType,
  InvalidValueError,
  isDataType,
  LwM2mPath,
  type TypedValue,
  typedValue,
  valueFromText,
} from '@lwm2m-ts/core';
import type { ObjectRegistry } from '@lwm2m-ts/registry';

export type SecurityModeName = 'nosec' | 'psk';
export type LwM2mVersionName = '1.0' | '1.1' | '1.2';
/** A JSON scalar as `writes` take them (opaque: hex; time: seconds or ISO-8601; objlnk: `"3:0"`). */
export type JsonScalar = string | number | boolean;

/** One LwM2M server account: a Security (/0) and a Server (/1) instance. */
export interface ServerAccountConfig {
  /** 1..65534, unique in the configuration (Security /0/x/10, Server /1/x/0). */
  readonly shortServerId: number;
  /** `coap://host:port` (NoSec) or `coaps://host:port` (PSK). */
  readonly uri: string;
  readonly securityMode: SecurityModeName;
  /** PSK identity (UTF-8), written as the opaque /0/x/3. */
  readonly pskIdentity?: string;
  /** PSK in hex, written as the opaque /0/x/5. */
  readonly pskKey?: string;
  /** Registration lifetime in seconds (/1/x/1). */
  readonly lifetime: number;
  /** /1/x/7; default `"U"`. */
  readonly binding: string;
  readonly defaultMinPeriod?: number;
  readonly defaultMaxPeriod?: number;
  /** /1/x/6; default true. */
  readonly notificationStoring: boolean;
  /** Security instance id; default: the lowest id the bootstrap account does not use. */
  readonly securityInstanceId?: number;
  /** Server instance id; default: the lowest free id, in the order of `servers`. */
  readonly serverInstanceId?: number;
}

/** The bootstrap-server account itself (/0/x with Bootstrap-Server true): written only when given. */
export interface BootstrapAccountConfig {
  readonly uri: string;
  readonly securityMode: SecurityModeName;
  readonly pskIdentity?: string;
  readonly pskKey?: string;
  /** Default 0. */
  readonly instanceId?: number;
  /** /0/x/11, seconds. */
  readonly clientHoldOffTime?: number;
  /** /0/x/12, seconds. */
  readonly accountTimeout?: number;
}

/** The PSK a device uses toward this bootstrap server (DTLS). */
export interface BootstrapCredentials {
  readonly identity: string;
  /** Hex. */
  readonly key: string;
}

/** One Access Control (/2) instance. */
export interface AclConfig {
  /** The object the ACL is about (/2/x/0), 1..65534. */
  readonly objectId: number;
  /** Its instance (/2/x/1), 0..65535. */
  readonly instanceId: number;
  /** Short Server ID (0: the default entry) → rights as bits (1 R, 2 W, 4 E, 8 D, 16 C) (/2/x/2). */
  readonly acl: Readonly<Record<string, number>>;
  /** /2/x/3: the owning Short Server ID (65535: only the bootstrap server manages it). */
  readonly owner: number;
}

/** A value written to another object: a single resource (`value`) or a multiple one (`values`). */
export interface WriteConfig {
  /** A resource path, `/3/0/14`; objects 0, 1 and 2 are configured by `servers`/`acls`. */
  readonly path: string;
  readonly value?: JsonScalar;
  /** Resource instance id → value. */
  readonly values?: Readonly<Record<string, JsonScalar>>;
  /** The data type, needed only when the object model does not know the resource. */
  readonly type?: DataType;
}

export interface BootstrapConfig {
  readonly servers: readonly ServerAccountConfig[];
  readonly bootstrapServer?: BootstrapAccountConfig;
  readonly bootstrapCredentials?: BootstrapCredentials;
  readonly acls?: readonly AclConfig[];
  /** Bootstrap-Delete targets, in order; default `["/"]`; `[]` deletes nothing. */
  readonly deletePaths: readonly string[];
  readonly writes?: readonly WriteConfig[];
  /** Bootstrap-Discover `/` after the deletes (learns the version and the bootstrap account's id). */
  readonly discover?: boolean;
  /** Bootstrap-Read targets (LwM2M 1.1+): objects 1 and 2, or their instances. */
  readonly read?: readonly string[];
  /** The client's LwM2M version when known (chooses the default content format). */
  readonly lwm2mVersion?: LwM2mVersionName;
  /** Content format of Bootstrap-Write, unless the client asks for another with `pct`. */
  readonly contentFormat?: number;
}

/** What `validateBootstrapConfig` takes: the JSON shape, keys also as bytes, defaults optional. */
export type BootstrapConfigInput = unknown;

/** A configuration that is not valid; `field` names where (`servers[0].uri`). */
export class BootstrapConfigError extends InvalidValueError {
  readonly field: string;

  constructor(field: string, problem: string) {
    super(field === '' ? problem : `${field}: ${problem}`);
    this.field = field;
  }
}

/** The formats a Bootstrap-Write can carry an object instance in. */
export const WRITE_FORMATS: readonly number[] = [
  ContentFormat.TLV,
  ContentFormat.SENML_CBOR,
  ContentFormat.SENML_JSON,
  ContentFormat.LWM2M_CBOR,
  ContentFormat.LWM2M_JSON,
];

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const MAX_KEY_BYTES = 256;
const MAX_IDENTITY_BYTES = 256;
const RIGHTS = { R: 1, W: 2, E: 4, D: 8, C: 16 } as const;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}…` : v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

function fail(field: string, problem: string): never {
  throw new BootstrapConfigError(field, problem);
}

function at(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base === '' ? key : `${base}.${key}`;
}

function onlyKeys(o: Obj, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      fail(at(where, k), `unknown field (known: ${allowed.join(', ')})`);
    }
  }
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(field, `must be an integer in ${min}..${max}, got ${show(v)}`);
  }
  return v;
}

function optInt(v: unknown, field: string, min: number, max: number): number | undefined {
  return v === undefined ? undefined : int(v, field, min, max);
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') fail(field, `must be true or false, got ${show(v)}`);
  return v;
}

function nonEmpty(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '') fail(field, `must be a non-empty string, got ${show(v)}`);
  return v;
}

/** A key as bytes or hex → lowercase hex. */
function keyHex(v: unknown, field: string): string {
  if (v instanceof Uint8Array) {
    if (v.length === 0 || v.length > MAX_KEY_BYTES) {
      fail(field, `must be 1..${MAX_KEY_BYTES} bytes, got ${v.length}`);
    }
    return Buffer.from(v).toString('hex');
  }
  if (typeof v !== 'string' || !HEX.test(v) || v.length / 2 > MAX_KEY_BYTES) {
    fail(field, `must be the key in hex (pairs of 0-9a-f digits, 1..${MAX_KEY_BYTES} bytes)`);
  }
  return v.toLowerCase();
}

function identity(v: unknown, field: string): string {
  const s = nonEmpty(v, field);
  if (Buffer.byteLength(s, 'utf8') > MAX_IDENTITY_BYTES) {
    fail(field, `must be at most ${MAX_IDENTITY_BYTES} UTF-8 bytes`);
  }
  return s;
}

function uri(v: unknown, field: string): string {
  if (typeof v !== 'string' || !/^coaps?:\/\//i.test(v)) {
    fail(field, `must be a coap:// or coaps:// URI, got ${show(v)}`);
  }
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    fail(field, `is not a valid URI: ${show(v)}`);
  }
  if (parsed.hostname === '') fail(field, `has no host: ${show(v)}`);
  return v;
}

interface Secured {
  securityMode: SecurityModeName;
  pskIdentity?: string;
  pskKey?: string;
}

/** `securityMode`, `pskIdentity`, `pskKey` and their agreement with the URI's scheme. */
function security(o: Obj, where: string, uriValue: string): Secured {
  const mode = o.securityMode;
  if (mode !== 'nosec' && mode !== 'psk') {
    fail(at(where, 'securityMode'), `must be "nosec" or "psk", got ${show(mode)}`);
  }
  const secure = /^coaps:/i.test(uriValue);
  if (mode === 'nosec') {
    if (o.pskIdentity !== undefined) fail(at(where, 'pskIdentity'), 'not allowed with "nosec"');
    if (o.pskKey !== undefined) fail(at(where, 'pskKey'), 'not allowed with "nosec"');
    if (secure) fail(at(where, 'uri'), 'a coaps:// URI needs securityMode "psk"');
    return { securityMode: 'nosec' };
  }
  if (!secure) fail(at(where, 'uri'), 'securityMode "psk" needs a coaps:// URI');
  return {
    securityMode: 'psk',
    pskIdentity: identity(o.pskIdentity, at(where, 'pskIdentity')),
    pskKey: keyHex(o.pskKey, at(where, 'pskKey')),
  };
}

const SERVER_KEYS = [
  'shortServerId',
  'uri',
  'securityMode',
  'pskIdentity',
  'pskKey',
  'lifetime',
  'binding',
  'defaultMinPeriod',
  'defaultMaxPeriod',
  'notificationStoring',
  'securityInstanceId',
  'serverInstanceId',
];

function server(v: unknown, where: string): ServerAccountConfig {
  if (!isObj(v)) fail(where, `must be an object, got ${show(v)}`);
  onlyKeys(v, SERVER_KEYS, where);
  const u = uri(v.uri, at(where, 'uri'));
  const sec = security(v, where, u);
  const binding = v.binding === undefined ? 'U' : v.binding;
  if (typeof binding !== 'string' || !/^[UMHTSNQ]+$/.test(binding) || hasRepeat(binding)) {
    fail(
      at(where, 'binding'),
      `must be binding letters (U, M, H, T, S, N, Q; e.g. "U" or "UQ"), got ${show(binding)}`,
    );
  }
  const pmin = optInt(v.defaultMinPeriod, at(where, 'defaultMinPeriod'), 0, 0x7fffffff);
  const pmax = optInt(v.defaultMaxPeriod, at(where, 'defaultMaxPeriod'), 1, 0x7fffffff);
  if (pmin !== undefined && pmax !== undefined && pmax < pmin) {
    fail(at(where, 'defaultMaxPeriod'), `must not be below defaultMinPeriod (${pmin})`);
  }
  const securityInstanceId = optInt(
    v.securityInstanceId,
    at(where, 'securityInstanceId'),
    0,
    65534,
  );
  const serverInstanceId = optInt(v.serverInstanceId, at(where, 'serverInstanceId'), 0, 65534);
  return {
    shortServerId: int(v.shortServerId, at(where, 'shortServerId'), 1, 65534),
    uri: u,
    ...sec,
    lifetime: int(v.lifetime, at(where, 'lifetime'), 1, 0x7fffffff),
    binding,
    ...(pmin !== undefined && { defaultMinPeriod: pmin }),
    ...(pmax !== undefined && { defaultMaxPeriod: pmax }),
    notificationStoring:
      v.notificationStoring === undefined
        ? true
        : bool(v.notificationStoring, at(where, 'notificationStoring')),
    ...(securityInstanceId !== undefined && { securityInstanceId }),
    ...(serverInstanceId !== undefined && { serverInstanceId }),
  };
}

function hasRepeat(s: string): boolean {
  return new Set(s).size !== s.length;
}

function bootstrapAccount(v: unknown, where: string): BootstrapAccountConfig {
  if (!isObj(v)) fail(where, `must be an object, got ${show(v)}`);
  onlyKeys(
    v,
    [
      'uri',
      'securityMode',
      'pskIdentity',
      'pskKey',
      'instanceId',
      'clientHoldOffTime',
      'accountTimeout',
    ],
    where,
  );
  const u = uri(v.uri, at(where, 'uri'));
  const sec = security(v, where, u);
  const instanceId = optInt(v.instanceId, at(where, 'instanceId'), 0, 65534);
  const holdOff = optInt(v.clientHoldOffTime, at(where, 'clientHoldOffTime'), 0, 0x7fffffff);
  const timeout = optInt(v.accountTimeout, at(where, 'accountTimeout'), 0, 0x7fffffff);
  return {
    uri: u,
    ...sec,
    ...(instanceId !== undefined && { instanceId }),
    ...(holdOff !== undefined && { clientHoldOffTime: holdOff }),
    ...(timeout !== undefined && { accountTimeout: timeout }),
  };
}

function credentials(v: unknown, where: string): BootstrapCredentials {
  if (!isObj(v)) fail(where, `must be an object { "identity", "key": "<hex>" }, got ${show(v)}`);
  onlyKeys(v, ['identity', 'key'], where);
  return {
    identity: identity(v.identity, at(where, 'identity')),
    key: keyHex(v.key, at(where, 'key')),
  };
}

/** Rights as a number (bits) or letters from "RWEDC". */
function rights(v: unknown, field: string): number {
  if (typeof v === 'number') return int(v, field, 0, 31);
  if (typeof v === 'string') {
    let bits = 0;
    for (const c of v.toUpperCase()) {
      const bit = RIGHTS[c as keyof typeof RIGHTS];
      if (bit === undefined)
        fail(field, `must be letters from "RWEDC" or a number, got ${show(v)}`);
      bits |= bit;
    }
    return bits;
  }
  fail(field, `must be letters from "RWEDC" or a number 0..31, got ${show(v)}`);
}

function acl(v: unknown, where: string): AclConfig {
  if (!isObj(v)) fail(where, `must be an object, got ${show(v)}`);
  onlyKeys(v, ['objectId', 'instanceId', 'acl', 'owner'], where);
  const entries = v.acl === undefined ? {} : v.acl;
  if (!isObj(entries)) fail(at(where, 'acl'), 'must be an object { "<short server id>": rights }');
  const out: Record<string, number> = {};
  for (const [ssid, r] of Object.entries(entries)) {
    const field = `${at(where, 'acl')}["${ssid}"]`;
    if (!/^(0|[1-9]\d{0,4})$/.test(ssid) || Number(ssid) > 65534) {
      fail(field, 'keys must be Short Server IDs (0 for the default entry, else 1..65534)');
    }
    out[ssid] = rights(r, field);
  }
  return {
    objectId: int(v.objectId, at(where, 'objectId'), 1, 65534),
    instanceId: int(v.instanceId, at(where, 'instanceId'), 0, 65535),
    acl: out,
    owner: int(v.owner, at(where, 'owner'), 0, 65535),
  };
}

function instancePath(v: unknown, field: string, allowed: readonly string[]): LwM2mPath {
  if (typeof v !== 'string') fail(field, `must be a path string, got ${show(v)}`);
  let p: LwM2mPath;
  try {
    p = LwM2mPath.parse(v);
  } catch (err) {
    fail(field, (err as Error).message);
  }
  if (!allowed.includes(p.level)) fail(field, `${v} must be ${allowed.join(' or ')} level`);
  return p;
}

function paths(
  v: unknown,
  field: string,
  check: (item: unknown, field: string) => LwM2mPath,
): string[] {
  if (!Array.isArray(v)) fail(field, `must be an array of paths, got ${show(v)}`);
  return v.map((item, i) => String(check(item, at(field, i))));
}

/** Converts one JSON scalar to a typed value of `type`; `field` names it in errors. */
export function valueFromJson(type: DataType, v: unknown, field: string): TypedValue {
  try {
    switch (type) {
      case 'opaque':
        if (v instanceof Uint8Array) return typedValue('opaque', v);
        if (typeof v !== 'string' || (v !== '' && !HEX.test(v))) {
          fail(field, `an opaque value must be hex, got ${show(v)}`);
        }
        return typedValue('opaque', new Uint8Array(Buffer.from(v, 'hex')));
      case 'boolean':
        if (typeof v !== 'boolean') fail(field, `must be true or false, got ${show(v)}`);
        return typedValue('boolean', v);
      case 'float':
        if (typeof v !== 'number') fail(field, `must be a number, got ${show(v)}`);
        return typedValue('float', v);
      case 'integer':
      case 'unsigned':
        if (typeof v === 'number') return typedValue(type, v);
        if (typeof v === 'string') return valueFromText(type, v);
        fail(field, `must be an integer (number or decimal string), got ${show(v)}`);
        break;
      case 'time':
        if (typeof v === 'number') return typedValue('time', new Date(v * 1000));
        if (typeof v === 'string' && !/^\d+$/.test(v)) {
          const d = new Date(v);
          if (Number.isNaN(d.getTime())) fail(field, `is not an ISO-8601 time: ${show(v)}`);
          return typedValue('time', d);
        }
        if (typeof v === 'string') return valueFromText('time', v);
        fail(field, `must be seconds since 1970 or an ISO-8601 string, got ${show(v)}`);
        break;
      case 'objlnk':
      case 'string':
      case 'corelnk':
        if (typeof v !== 'string') fail(field, `must be a string, got ${show(v)}`);
        return valueFromText(type, v);
    }
  } catch (err) {
    if (err instanceof BootstrapConfigError) throw err;
    fail(field, (err as Error).message);
  }
  fail(field, `unsupported type ${type}`);
}

/** The data type of a `writes` entry: its own `type`, else the model's. */
export function writeType(
  w: Pick<WriteConfig, 'path' | 'type'>,
  registry: ObjectRegistry,
  field: string,
): { type: DataType; multiple: boolean | undefined } {
  const p = LwM2mPath.parse(w.path);
  const model = registry.get(p.objectId!)?.resources.get(p.resourceId!);
  if (model !== undefined && model.type === 'none') {
    fail(at(field, 'path'), `${w.path} is executable: it has no value to write`);
  }
  if (w.type !== undefined) {
    if (model !== undefined && model.type !== w.type) {
      fail(at(field, 'type'), `${w.path} is ${model.type} in the object model, not ${w.type}`);
    }
    return { type: w.type, multiple: model?.multiple };
  }
  if (model === undefined || model.type === 'none') {
    fail(at(field, 'type'), `${w.path} is not in the object models: give its "type"`);
  }
  return { type: model.type, multiple: model.multiple };
}

function write(v: unknown, where: string, registry: ObjectRegistry): WriteConfig {
  if (!isObj(v)) fail(where, `must be an object { "path", "value" | "values" }, got ${show(v)}`);
  onlyKeys(v, ['path', 'value', 'values', 'type'], where);
  const p = instancePath(v.path, at(where, 'path'), ['resource']);
  if (p.objectId! <= 2) {
    fail(
      at(where, 'path'),
      `objects 0, 1 and 2 are written from "servers", "bootstrapServer" and "acls"`,
    );
  }
  if (v.type !== undefined && (typeof v.type !== 'string' || !isDataType(v.type))) {
    fail(at(where, 'type'), `is not an LwM2M data type: ${show(v.type)}`);
  }
  const entry = { path: String(p), ...(v.type !== undefined && { type: v.type as DataType }) };
  const { type, multiple } = writeType(entry, registry, where);
  if ((v.value === undefined) === (v.values === undefined)) {
    fail(where, 'needs exactly one of "value" (single resource) and "values" (multiple resource)');
  }
  if (v.value !== undefined) {
    if (multiple === true) fail(at(where, 'value'), `${p} is a multiple resource: use "values"`);
    valueFromJson(type, v.value, at(where, 'value'));
    return { ...entry, value: v.value as JsonScalar };
  }
  if (multiple === false) fail(at(where, 'values'), `${p} is a single resource: use "value"`);
  if (!isObj(v.values)) fail(at(where, 'values'), 'must be an object { "<instance id>": value }');
  const values: Record<string, JsonScalar> = {};
  for (const [id, value] of Object.entries(v.values)) {
    const field = `${at(where, 'values')}["${id}"]`;
    if (!/^(0|[1-9]\d{0,4})$/.test(id) || Number(id) > 65535) {
      fail(field, 'keys must be resource instance ids (0..65535)');
    }
    valueFromJson(type, value, field);
    values[id] = value as JsonScalar;
  }
  return { ...entry, values };
}

const CONFIG_KEYS = [
  'servers',
  'bootstrapServer',
  'bootstrapCredentials',
  'acls',
  'deletePaths',
  'writes',
  'discover',
  'read',
  'lwm2mVersion',
  'contentFormat',
];

/**
 * Checks a configuration and returns it normalized (defaults filled in: `binding` "U",
 * `notificationStoring` true, `deletePaths` ["/"]; keys as lowercase hex; ACL rights as bits).
 * `registry` types the `writes` (their values are checked against the object models).
 */
export function validateBootstrapConfig(
  input: BootstrapConfigInput,
  registry: ObjectRegistry,
): BootstrapConfig {
  if (!isObj(input))
    fail('', `a bootstrap configuration must be a JSON object, got ${show(input)}`);
  onlyKeys(input, CONFIG_KEYS, '');
  if (!Array.isArray(input.servers)) {
    fail('servers', `must be an array of server accounts, got ${show(input.servers)}`);
  }
  const servers = input.servers.map((s, i) => server(s, at('servers', i)));
  const bootstrapServer =
    input.bootstrapServer === undefined
      ? undefined
      : bootstrapAccount(input.bootstrapServer, 'bootstrapServer');
  checkUnique(servers, bootstrapServer);
  const bootstrapCredentials =
    input.bootstrapCredentials === undefined
      ? undefined
      : credentials(input.bootstrapCredentials, 'bootstrapCredentials');
  let acls: AclConfig[] | undefined;
  if (input.acls !== undefined) {
    if (!Array.isArray(input.acls)) fail('acls', `must be an array, got ${show(input.acls)}`);
    acls = input.acls.map((a, i) => acl(a, at('acls', i)));
    const seen = new Map<string, number>();
    acls.forEach((a, i) => {
      const key = `${a.objectId}/${a.instanceId}`;
      const before = seen.get(key);
      if (before !== undefined) fail(at('acls', i), `/${key} already has an ACL (acls[${before}])`);
      seen.set(key, i);
    });
  }
  const deletePaths =
    input.deletePaths === undefined
      ? ['/']
      : paths(input.deletePaths, 'deletePaths', (p, f) =>
          instancePath(p, f, ['root', 'object', 'instance']),
        );
  let writes: WriteConfig[] | undefined;
  if (input.writes !== undefined) {
    if (!Array.isArray(input.writes)) fail('writes', `must be an array, got ${show(input.writes)}`);
    writes = input.writes.map((w, i) => write(w, at('writes', i), registry));
    const seen = new Map<string, number>();
    writes.forEach((w, i) => {
      const before = seen.get(w.path);
      if (before !== undefined) {
        fail(at(at('writes', i), 'path'), `${w.path} is already written by writes[${before}]`);
      }
      seen.set(w.path, i);
    });
  }
  const read =
    input.read === undefined
      ? undefined
      : paths(input.read, 'read', (p, f) => {
          const path = instancePath(p, f, ['object', 'instance']);
          if (path.objectId !== 1 && path.objectId !== 2) {
            fail(f, 'Bootstrap-Read targets only the Server (1) and Access Control (2) objects');
          }
          return path;
        });
  const discover = input.discover === undefined ? undefined : bool(input.discover, 'discover');
  const version = input.lwm2mVersion;
  if (version !== undefined && version !== '1.0' && version !== '1.1' && version !== '1.2') {
    fail('lwm2mVersion', `must be "1.0", "1.1" or "1.2", got ${show(version)}`);
  }
  const format = input.contentFormat;
  if (format !== undefined && (typeof format !== 'number' || !WRITE_FORMATS.includes(format))) {
    fail('contentFormat', `must be one of ${WRITE_FORMATS.join(', ')}, got ${show(format)}`);
  }
  if (version === '1.0' && read !== undefined && read.length > 0) {
    fail('read', 'Bootstrap-Read does not exist in LwM2M 1.0');
  }
  return {
    servers,
    ...(bootstrapServer && { bootstrapServer }),
    ...(bootstrapCredentials && { bootstrapCredentials }),
    ...(acls && { acls }),
    deletePaths,
    ...(writes && { writes }),
    ...(discover !== undefined && { discover }),
    ...(read && { read }),
    ...(version !== undefined && { lwm2mVersion: version as LwM2mVersionName }),
    ...(format !== undefined && { contentFormat: format as number }),
  };
}

function checkUnique(
  servers: readonly ServerAccountConfig[],
  bs: BootstrapAccountConfig | undefined,
): void {
  const ssids = new Map<number, number>();
  const securityIds = new Map<number, string>();
  const serverIds = new Map<number, number>();
  if (bs !== undefined) securityIds.set(bs.instanceId ?? 0, 'bootstrapServer.instanceId');
  servers.forEach((s, i) => {
    const where = at('servers', i);
    const before = ssids.get(s.shortServerId);
    if (before !== undefined) {
      fail(at(where, 'shortServerId'), `${s.shortServerId} is already used by servers[${before}]`);
    }
    ssids.set(s.shortServerId, i);
    if (s.securityInstanceId !== undefined) {
      const other = securityIds.get(s.securityInstanceId);
      if (other !== undefined) {
        fail(
          at(where, 'securityInstanceId'),
          `${s.securityInstanceId} is already used by ${other}`,
        );
      }
      securityIds.set(s.securityInstanceId, at(where, 'securityInstanceId'));
    }
    if (s.serverInstanceId !== undefined) {
      const other = serverIds.get(s.serverInstanceId);
      if (other !== undefined) {
        fail(
          at(where, 'serverInstanceId'),
          `${s.serverInstanceId} is already used by servers[${other}]`,
        );
      }
      serverIds.set(s.serverInstanceId, i);
    }
  });
}
