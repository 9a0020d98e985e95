/**
 * The configuration form: its fields as text, to and from the JSON configuration, checked the
 * way the bootstrap server checks it (apps/bootstrap/src/config.ts), field by field. Errors are
 * keyed by the field names of the API's 400 answers (`servers[0].pskKey`), so the server's own
 * complaints land next to the same inputs.
 */
import type {
  Acl,
  BootstrapAccount,
  BootstrapConfig,
  JsonScalar,
  SecurityModeName,
  ServerAccount,
  Write,
} from './api';

export interface ServerForm {
  /** Keeps each card's inputs when cards are removed (not sent). */
  readonly uid: number;
  readonly shortServerId: string;
  readonly uri: string;
  readonly securityMode: SecurityModeName;
  readonly pskIdentity: string;
  readonly pskKey: string;
  readonly lifetime: string;
  readonly binding: string;
  readonly defaultMinPeriod: string;
  readonly defaultMaxPeriod: string;
  readonly notificationStoring: boolean;
  readonly securityInstanceId: string;
  readonly serverInstanceId: string;
}

export interface AccountForm {
  /** Whether to write a bootstrap-server account (/0 with Bootstrap-Server true). */
  readonly enabled: boolean;
  readonly uri: string;
  readonly securityMode: SecurityModeName;
  readonly pskIdentity: string;
  readonly pskKey: string;
  readonly instanceId: string;
  readonly clientHoldOffTime: string;
  readonly accountTimeout: string;
}

export interface AclForm {
  readonly uid: number;
  readonly objectId: string;
  readonly instanceId: string;
  /** `101:RWE, 0:R` */
  readonly acl: string;
  readonly owner: string;
}

export interface WriteForm {
  readonly uid: number;
  readonly path: string;
  /** A data type, or '' for the object model's. */
  readonly type: string;
  readonly multiple: boolean;
  /** One value; for a multiple resource one `id=value` per line. */
  readonly value: string;
}

export interface ConfigForm {
  readonly endpoint: string;
  /** The PSK the device presents to this bootstrap server; `none`: plain CoAP. */
  readonly credentials: {
    readonly mode: 'none' | 'psk';
    readonly identity: string;
    readonly key: string;
  };
  readonly servers: readonly ServerForm[];
  readonly account: AccountForm;
  readonly acls: readonly AclForm[];
  readonly writes: readonly WriteForm[];
  /** Paths separated by spaces or commas. */
  readonly deletePaths: string;
  readonly discover: boolean;
  readonly read: string;
  readonly lwm2mVersion: '' | '1.0' | '1.1' | '1.2';
  /** A content-format number, or '' for the server's choice. */
  readonly contentFormat: string;
}

/** The formats a Bootstrap-Write can use (apps/bootstrap WRITE_FORMATS). */
export const CONTENT_FORMATS: readonly (readonly [number, string])[] = [
  [11542, 'TLV'],
  [112, 'SenML CBOR'],
  [110, 'SenML JSON'],
  [11544, 'LwM2M CBOR'],
  [11543, 'LwM2M JSON'],
];

let nextUid = 1;
export function uid(): number {
  return nextUid++;
}

export function newServer(shortServerId = 101): ServerForm {
  return {
    uid: uid(),
    shortServerId: String(shortServerId),
    uri: '',
    securityMode: 'nosec',
    pskIdentity: '',
    pskKey: '',
    lifetime: '300',
    binding: 'U',
    defaultMinPeriod: '',
    defaultMaxPeriod: '',
    notificationStoring: true,
    securityInstanceId: '',
    serverInstanceId: '',
  };
}

export const EMPTY_ACCOUNT: AccountForm = {
  enabled: false,
  uri: '',
  securityMode: 'nosec',
  pskIdentity: '',
  pskKey: '',
  instanceId: '',
  clientHoldOffTime: '',
  accountTimeout: '',
};

export function newAcl(): AclForm {
  return { uid: uid(), objectId: '', instanceId: '0', acl: '', owner: '' };
}

export function newWrite(): WriteForm {
  return { uid: uid(), path: '', type: '', multiple: false, value: '' };
}

export function emptyForm(endpoint = ''): ConfigForm {
  return {
    endpoint,
    credentials: { mode: 'none', identity: '', key: '' },
    servers: [newServer()],
    account: EMPTY_ACCOUNT,
    acls: [],
    writes: [],
    deletePaths: '/',
    discover: false,
    read: '',
    lwm2mVersion: '',
    contentFormat: '',
  };
}

const str = (n: number | undefined) => (n === undefined ? '' : String(n));

const RIGHTS = 'RWEDC';

/** ACL rights as letters: 7 → "RWE". */
export function rightsText(r: number | string): string {
  if (typeof r === 'string') return r.toUpperCase();
  let out = '';
  for (let i = 0; i < RIGHTS.length; i++) if (r & (1 << i)) out += RIGHTS[i];
  return out === '' ? '-' : out;
}

/** A value as the form shows it: text that would read back as a number or boolean is quoted. */
export function scalarText(v: JsonScalar): string {
  if (typeof v !== 'string') return String(v);
  return typeof guessScalar(v) === 'string' && !/^".*"$/s.test(v) ? v : JSON.stringify(v);
}

/** The form of a stored configuration. */
export function formFromConfig(endpoint: string, c: BootstrapConfig): ConfigForm {
  const bs = c.bootstrapServer;
  return {
    endpoint,
    credentials:
      c.bootstrapCredentials === undefined
        ? { mode: 'none', identity: '', key: '' }
        : { mode: 'psk', ...c.bootstrapCredentials },
    servers: c.servers.map((s) => ({
      uid: uid(),
      shortServerId: String(s.shortServerId),
      uri: s.uri,
      securityMode: s.securityMode,
      pskIdentity: s.pskIdentity ?? '',
      pskKey: s.pskKey ?? '',
      lifetime: String(s.lifetime),
      binding: s.binding ?? 'U',
      defaultMinPeriod: str(s.defaultMinPeriod),
      defaultMaxPeriod: str(s.defaultMaxPeriod),
      notificationStoring: s.notificationStoring ?? true,
      securityInstanceId: str(s.securityInstanceId),
      serverInstanceId: str(s.serverInstanceId),
    })),
    account:
      bs === undefined
        ? EMPTY_ACCOUNT
        : {
            enabled: true,
            uri: bs.uri,
            securityMode: bs.securityMode,
            pskIdentity: bs.pskIdentity ?? '',
            pskKey: bs.pskKey ?? '',
            instanceId: str(bs.instanceId),
            clientHoldOffTime: str(bs.clientHoldOffTime),
            accountTimeout: str(bs.accountTimeout),
          },
    acls: (c.acls ?? []).map((a) => ({
      uid: uid(),
      objectId: String(a.objectId),
      instanceId: String(a.instanceId),
      acl: Object.entries(a.acl)
        .map(([ssid, r]) => `${ssid}:${rightsText(r)}`)
        .join(', '),
      owner: String(a.owner),
    })),
    writes: (c.writes ?? []).map((w) => ({
      uid: uid(),
      path: w.path,
      type: w.type ?? '',
      multiple: w.values !== undefined,
      value:
        w.values !== undefined
          ? Object.entries(w.values)
              .map(([id, v]) => `${id}=${scalarText(v)}`)
              .join('\n')
          : w.value === undefined
            ? ''
            : scalarText(w.value),
    })),
    deletePaths: (c.deletePaths ?? ['/']).join(' '),
    discover: c.discover === true,
    read: (c.read ?? []).join(' '),
    lwm2mVersion: c.lwm2mVersion ?? '',
    contentFormat: str(c.contentFormat),
  };
}

export type FieldErrors = Record<string, string>;

export type CheckResult =
  | { readonly ok: true; readonly endpoint: string; readonly config: BootstrapConfig }
  | { readonly ok: false; readonly errors: FieldErrors };

const MAX_INT = 0x7fffffff;

/** Checks the fields of a form and collects what is wrong with each. */
class Checker {
  readonly errors: FieldErrors = {};

  fail(field: string, problem: string): undefined {
    if (this.errors[field] === undefined) this.errors[field] = problem;
    return undefined;
  }

  int(text: string, field: string, min: number, max: number, required: boolean) {
    const t = text.trim();
    if (t === '') return required ? this.fail(field, 'required') : undefined;
    if (!/^-?\d+$/.test(t) || Number(t) < min || Number(t) > max) {
      return this.fail(field, `a whole number from ${min} to ${max}`);
    }
    return Number(t);
  }

  uri(text: string, field: string, mode: SecurityModeName): string | undefined {
    const t = text.trim();
    if (t === '') return this.fail(field, 'required, e.g. coap://192.0.2.10:5683');
    if (!/^coaps?:\/\//i.test(t)) return this.fail(field, 'a coap:// or coaps:// URI');
    let host = '';
    try {
      host = new URL(t).hostname;
    } catch {
      return this.fail(field, 'not a valid URI');
    }
    if (host === '') return this.fail(field, 'the URI has no host');
    const secure = /^coaps:/i.test(t);
    if (mode === 'psk' && !secure) return this.fail(field, 'a pre-shared key needs a coaps:// URI');
    if (mode === 'nosec' && secure) return this.fail(field, 'no security needs a coap:// URI');
    return t;
  }

  identity(text: string, field: string): string | undefined {
    if (text === '') return this.fail(field, 'required with a pre-shared key');
    if (new TextEncoder().encode(text).length > 256) return this.fail(field, 'at most 256 bytes');
    return text;
  }

  key(text: string, field: string): string | undefined {
    const hex = text.replace(/[\s:]/g, '').toLowerCase();
    if (hex === '') return this.fail(field, 'required: the key in hex');
    if (!/^(?:[0-9a-f]{2})+$/.test(hex)) {
      return this.fail(field, 'not hex: use the digits 0-9 and a-f, two per byte (e.g. 0a1b2c3d)');
    }
    if (hex.length / 2 > 256) return this.fail(field, 'at most 256 bytes');
    return hex;
  }

  paths(text: string, field: string, allowed: RegExp): string[] {
    const out: string[] = [];
    for (const p of text.split(/[\s,]+/).filter(Boolean)) {
      if (!allowed.test(p)) {
        this.fail(field, `${p} is not a path this list takes (e.g. /1 or /1/0)`);
      } else out.push(p);
    }
    return out;
  }

  secured(
    f: { securityMode: SecurityModeName; pskIdentity: string; pskKey: string },
    where: string,
  ) {
    if (f.securityMode === 'nosec') return { securityMode: 'nosec' as const };
    const pskIdentity = this.identity(f.pskIdentity, `${where}.pskIdentity`);
    const pskKey = this.key(f.pskKey, `${where}.pskKey`);
    return { securityMode: 'psk' as const, pskIdentity, pskKey };
  }
}

/** Drops the keys whose value is undefined (the JSON the server gets). */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function unquote(t: string): string {
  try {
    const v: unknown = JSON.parse(t);
    if (typeof v === 'string') return v;
  } catch {
    // not JSON: take what is between the quotes
  }
  return t.slice(1, -1);
}

/** A JSON scalar from text, when no type is given: numbers and booleans as such. */
export function guessScalar(text: string): JsonScalar {
  const t = text.trim();
  if (t === 'true' || t === 'false') return t === 'true';
  if (/^".*"$/s.test(t)) return unquote(t);
  if (/^-?\d+$/.test(t)) return Number.isSafeInteger(Number(t)) ? Number(t) : t;
  if (/^-?\d+\.\d+(?:[eE][+-]?\d+)?$|^-?\d+[eE][+-]?\d+$/.test(t)) return Number(t);
  return text;
}

/** A JSON scalar of the given data type, or what is wrong with the text. */
export function scalarOf(type: string, text: string): { value: JsonScalar } | { error: string } {
  const t = text.trim();
  const unquoted = /^".*"$/s.test(t) ? unquote(t) : text;
  switch (type) {
    case '':
      return { value: guessScalar(text) };
    case 'boolean':
      if (t === 'true' || t === '1') return { value: true };
      if (t === 'false' || t === '0') return { value: false };
      return { error: 'true or false' };
    case 'float':
      if (t === '' || !Number.isFinite(Number(t))) return { error: 'a number, e.g. 21.5' };
      return { value: Number(t) };
    case 'integer':
    case 'unsigned':
      if (!(type === 'integer' ? /^-?\d+$/ : /^\d+$/).test(t)) {
        return { error: type === 'integer' ? 'a whole number' : 'a whole number, 0 or more' };
      }
      return { value: Number.isSafeInteger(Number(t)) ? Number(t) : t };
    case 'time':
      if (/^\d+$/.test(t)) return { value: Number(t) };
      if (t === '' || Number.isNaN(new Date(t).getTime())) {
        return { error: 'seconds since 1970 or an ISO-8601 time (2024-05-01T12:00:00Z)' };
      }
      return { value: t };
    case 'opaque': {
      const hex = t.replace(/[\s:]/g, '').toLowerCase();
      if (!/^(?:[0-9a-f]{2})*$/.test(hex)) return { error: 'hex digits, two per byte' };
      return { value: hex };
    }
    case 'objlnk':
      if (!/^\d+:\d+$/.test(t)) return { error: 'an object link, e.g. 3:0' };
      return { value: t };
    default:
      return { value: unquoted };
  }
}

const RESOURCE_PATH = /^\/\d+\/\d+\/\d+$/;
const DELETE_PATH = /^\/(?:\d+(?:\/\d+)?)?$/;
const READ_PATH = /^\/[12](?:\/\d+)?$/;

/** The configuration a form describes, or what is wrong with each field. */
export function checkConfigForm(f: ConfigForm): CheckResult {
  const c = new Checker();
  const endpoint = f.endpoint.trim();
  if (endpoint === '') c.fail('endpoint', 'enter the endpoint name the device bootstraps with');
  else if (endpoint.length > 1024) c.fail('endpoint', 'at most 1024 characters');

  let bootstrapCredentials: BootstrapConfig['bootstrapCredentials'];
  if (f.credentials.mode === 'psk') {
    const identity = c.identity(f.credentials.identity, 'bootstrapCredentials.identity');
    const key = c.key(f.credentials.key, 'bootstrapCredentials.key');
    if (identity !== undefined && key !== undefined) bootstrapCredentials = { identity, key };
  }

  const ssids = new Map<number, number>();
  const servers: ServerAccount[] = f.servers.map((s, i) => {
    const at = `servers[${i}]`;
    const shortServerId = c.int(s.shortServerId, `${at}.shortServerId`, 1, 65534, true);
    if (shortServerId !== undefined) {
      const before = ssids.get(shortServerId);
      if (before !== undefined) {
        c.fail(
          `${at}.shortServerId`,
          `${shortServerId} is already used by DM server ${before + 1}`,
        );
      }
      ssids.set(shortServerId, i);
    }
    const binding = s.binding.trim().toUpperCase() || 'U';
    if (!/^[UMHTSNQ]+$/.test(binding) || new Set(binding).size !== binding.length) {
      c.fail(`${at}.binding`, 'binding letters (U, M, H, T, S, N, Q), e.g. U or UQ');
    }
    const pmin = c.int(s.defaultMinPeriod, `${at}.defaultMinPeriod`, 0, MAX_INT, false);
    const pmax = c.int(s.defaultMaxPeriod, `${at}.defaultMaxPeriod`, 1, MAX_INT, false);
    if (pmin !== undefined && pmax !== undefined && pmax < pmin) {
      c.fail(`${at}.defaultMaxPeriod`, `not below the minimum period (${pmin})`);
    }
    return defined({
      shortServerId: shortServerId ?? 0,
      uri: c.uri(s.uri, `${at}.uri`, s.securityMode) ?? '',
      ...c.secured(s, at),
      lifetime: c.int(s.lifetime, `${at}.lifetime`, 1, MAX_INT, true) ?? 0,
      binding,
      defaultMinPeriod: pmin,
      defaultMaxPeriod: pmax,
      notificationStoring: s.notificationStoring,
      securityInstanceId: c.int(s.securityInstanceId, `${at}.securityInstanceId`, 0, 65534, false),
      serverInstanceId: c.int(s.serverInstanceId, `${at}.serverInstanceId`, 0, 65534, false),
    });
  });

  let bootstrapServer: BootstrapAccount | undefined;
  const a = f.account;
  if (a.enabled) {
    bootstrapServer = defined({
      uri: c.uri(a.uri, 'bootstrapServer.uri', a.securityMode) ?? '',
      ...c.secured(a, 'bootstrapServer'),
      instanceId: c.int(a.instanceId, 'bootstrapServer.instanceId', 0, 65534, false),
      clientHoldOffTime: c.int(
        a.clientHoldOffTime,
        'bootstrapServer.clientHoldOffTime',
        0,
        MAX_INT,
        false,
      ),
      accountTimeout: c.int(a.accountTimeout, 'bootstrapServer.accountTimeout', 0, MAX_INT, false),
    });
  }

  const acls: Acl[] = f.acls.map((x, i) => {
    const at = `acls[${i}]`;
    const acl: Record<string, string> = {};
    for (const part of x.acl.split(/[\s,;]+/).filter(Boolean)) {
      const m = /^(\d{1,5})[:=]([A-Za-z]+|\d+)$/.exec(part);
      if (m === null || Number(m[1]) > 65534) {
        c.fail(`${at}.acl`, `"${part}" is not "short server id:rights", e.g. 101:RWE`);
        continue;
      }
      const r = m[2]!;
      if (/^\d+$/.test(r) ? Number(r) > 31 : !/^[RWEDC]+$/i.test(r)) {
        c.fail(`${at}.acl`, `rights are letters from R, W, E, D, C (got ${r})`);
        continue;
      }
      acl[String(Number(m[1]))] = /^\d+$/.test(r) ? rightsText(Number(r)) : r.toUpperCase();
    }
    return {
      objectId: c.int(x.objectId, `${at}.objectId`, 1, 65534, true) ?? 0,
      instanceId: c.int(x.instanceId, `${at}.instanceId`, 0, 65535, true) ?? 0,
      acl,
      owner: c.int(x.owner, `${at}.owner`, 0, 65535, true) ?? 0,
    };
  });

  const writes: Write[] = f.writes.map((w, i) => {
    const at = `writes[${i}]`;
    const path = w.path.trim();
    if (!RESOURCE_PATH.test(path)) c.fail(`${at}.path`, 'a resource path, e.g. /3/0/14');
    else if (Number(path.split('/')[1]) <= 2) {
      c.fail(`${at}.path`, 'objects 0, 1 and 2 are written from the servers and access control');
    }
    const type = w.type === '' ? {} : { type: w.type };
    if (!w.multiple) {
      const v = scalarOf(w.type, w.value);
      if ('error' in v) c.fail(`${at}.value`, v.error);
      return { path, ...type, value: 'value' in v ? v.value : '' };
    }
    const values: Record<string, JsonScalar> = {};
    const lines = w.value.split('\n').filter((l) => l.trim() !== '');
    if (lines.length === 0) c.fail(`${at}.value`, 'one "id=value" per line, e.g. 0=first');
    for (const line of lines) {
      const m = /^\s*(\d{1,5})\s*=(.*)$/.exec(line);
      if (m === null || Number(m[1]) > 65535) {
        c.fail(`${at}.value`, `"${line.trim()}" is not "id=value" (one per line)`);
        continue;
      }
      const v = scalarOf(w.type, m[2]!.trim());
      if ('error' in v) c.fail(`${at}.value`, `${m[1]}: ${v.error}`);
      else values[m[1]!] = v.value;
    }
    return { path, ...type, values };
  });
  const seen = new Map<string, number>();
  writes.forEach((w, i) => {
    const before = seen.get(w.path);
    if (before !== undefined && w.path !== '') {
      c.fail(`writes[${i}].path`, `already written by value ${before + 1}`);
    }
    seen.set(w.path, i);
  });

  const deletePaths = c.paths(f.deletePaths, 'deletePaths', DELETE_PATH);
  const read = c.paths(f.read, 'read', READ_PATH);
  if (f.lwm2mVersion === '1.0' && read.length > 0) {
    c.fail('read', 'Bootstrap-Read does not exist in LwM2M 1.0');
  }

  if (Object.keys(c.errors).length > 0) return { ok: false, errors: c.errors };
  const config: BootstrapConfig = defined({
    servers,
    bootstrapServer,
    bootstrapCredentials,
    acls: acls.length > 0 ? acls : undefined,
    deletePaths,
    writes: writes.length > 0 ? writes : undefined,
    discover: f.discover ? true : undefined,
    read: read.length > 0 ? read : undefined,
    lwm2mVersion: f.lwm2mVersion === '' ? undefined : f.lwm2mVersion,
    contentFormat: f.contentFormat === '' ? undefined : Number(f.contentFormat),
  });
  return { ok: true, endpoint, config };
}

/** `coap://h:1` ↔ `coaps://h:1` to follow a change of security mode. */
export function uriForMode(uri: string, mode: SecurityModeName): string {
  if (mode === 'psk') return uri.replace(/^coap:\/\//i, 'coaps://');
  return uri.replace(/^coaps:\/\//i, 'coap://');
}

/** The fields a form shows (the keys of its errors and of its inputs' ids). */
export function formFields(f: ConfigForm): string[] {
  const out = ['endpoint', 'deletePaths', 'read', 'lwm2mVersion', 'contentFormat'];
  const psk = (at: string, mode: SecurityModeName) =>
    mode === 'psk' ? [`${at}.pskIdentity`, `${at}.pskKey`] : [];
  if (f.credentials.mode === 'psk') {
    out.push('bootstrapCredentials.identity', 'bootstrapCredentials.key');
  }
  f.servers.forEach((s, i) => {
    const at = `servers[${i}]`;
    for (const k of [
      'uri',
      'shortServerId',
      'lifetime',
      'binding',
      'defaultMinPeriod',
      'defaultMaxPeriod',
      'securityInstanceId',
      'serverInstanceId',
    ]) {
      out.push(`${at}.${k}`);
    }
    out.push(...psk(at, s.securityMode));
  });
  if (f.account.enabled) {
    for (const k of ['uri', 'instanceId', 'clientHoldOffTime', 'accountTimeout']) {
      out.push(`bootstrapServer.${k}`);
    }
    out.push(...psk('bootstrapServer', f.account.securityMode));
  }
  f.acls.forEach((_, i) => {
    for (const k of ['objectId', 'instanceId', 'acl', 'owner']) out.push(`acls[${i}].${k}`);
  });
  f.writes.forEach((_, i) => {
    for (const k of ['path', 'type', 'value']) out.push(`writes[${i}].${k}`);
  });
  return out;
}

/**
 * The form field an API field is about: itself, or the nearest enclosing one the form shows
 * (`writes[0].values["3"]` → `writes[0].value`); undefined when none is.
 */
export function formField(apiField: string, shown: (field: string) => boolean): string | undefined {
  let f = apiField.replace(/^(writes\[\d+\])\.values\b/, '$1.value');
  while (f !== '') {
    if (shown(f)) return f;
    const shorter = f.replace(/(?:\.[^.[\]]+|\[[^\]]*\])$/, '');
    if (shorter === f) break;
    f = shorter;
  }
  return undefined;
}

const LABELS: Readonly<Record<string, string>> = {
  endpoint: 'Endpoint',
  identity: 'PSK identity',
  key: 'key',
  shortServerId: 'Short server ID',
  uri: 'URI',
  securityMode: 'security mode',
  pskIdentity: 'PSK identity',
  pskKey: 'key',
  lifetime: 'lifetime',
  binding: 'binding',
  defaultMinPeriod: 'default minimum period',
  defaultMaxPeriod: 'default maximum period',
  notificationStoring: 'notification storing',
  securityInstanceId: 'Security instance id',
  serverInstanceId: 'Server instance id',
  instanceId: 'instance id',
  clientHoldOffTime: 'client hold-off time',
  accountTimeout: 'account timeout',
  objectId: 'object id',
  acl: 'rights',
  owner: 'owner',
  path: 'path',
  type: 'type',
  value: 'value',
  values: 'values',
  deletePaths: 'Bootstrap-Delete paths',
  read: 'Bootstrap-Read paths',
  discover: 'Bootstrap-Discover',
  lwm2mVersion: 'LwM2M version',
  contentFormat: 'content format',
  servers: 'DM servers',
  acls: 'access control',
  writes: 'other values',
};

/** An API field in words: `servers[0].pskKey` → "DM server 1, key". */
export function fieldInWords(field: string): string {
  const m = /^(\w+)(?:\[(\d+)\])?(?:\.(\w+))?/.exec(field);
  if (m === null || field === '') return 'the configuration';
  const [, top, index, sub] = m;
  const subWords = sub === undefined ? '' : `, ${LABELS[sub] ?? sub}`;
  const n = index === undefined ? '' : ` ${Number(index) + 1}`;
  switch (top) {
    case 'servers':
      return `DM server${n}${subWords}`;
    case 'acls':
      return `Access control entry${n}${subWords}`;
    case 'writes':
      return `Other value${n}${subWords}`;
    case 'bootstrapServer':
      return `Bootstrap-server account${subWords}`;
    case 'bootstrapCredentials':
      return `Credentials toward this bootstrap server${subWords}`;
    default:
      return `${LABELS[top!] ?? top}${n}${subWords}`;
  }
}

/** The problem of a `BootstrapConfigError` message without its `field: ` prefix. */
export function problemOf(message: string, field: string): string {
  return field !== '' && message.startsWith(`${field}: `)
    ? message.slice(field.length + 2)
    : message;
}
