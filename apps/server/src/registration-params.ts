import { isLwM2mVersion, type LwM2mVersion } from '@lwm2m-ts/codecs';
import {
  ContentFormat,
  getLinkAttributes,
  InvalidValueError,
  type Link,
  LwM2mError,
  LwM2mPath,
  parseLinkFormat,
  UnsupportedContentFormatError,
} from '@lwm2m-ts/core';
import type { ObjectLinkInfo } from './registration.js';

/**
 * Parsing of the registration interface's requests (Core TS 1.2 §6.2.1 Register, §6.2.2 Update;
 * §5.3.1/§5.3.2 in TS 1.0): the Uri-Query parameters and the CoRE link-format payload listing
 * the client's objects.
 *
 * Query values arrive as CoAP Uri-Query options, already percent-decoded by the CoAP layer, and
 * are used as they are (never decoded a second time). Every problem throws an `LwM2mError`: the
 * payload's syntax a `LinkFormatError`, a content format other than link-format an
 * `UnsupportedContentFormatError` (4.15), everything else an `InvalidValueError` (4.00) whose
 * message names the parameter or link.
 */

/** What a Register request carries (`POST /rd?ep=…`). */
export interface RegisterParams {
  /** `ep`, required and non-empty. */
  endpoint: string;
  /** `lt` in seconds, 1..4294967295; 86400 when absent. */
  lifetime: number;
  /** `lwm2m`; `1.0` when absent (Core TS 1.0 clients may leave it out). */
  lwm2mVersion: LwM2mVersion;
  /** `b` as sent (e.g. `U`, `UQ`, `T`); `U` when absent. */
  binding: string;
  /** `Q` parameter (1.1+) or a `Q` in `b` (1.0 `UQ`, `UQS`). */
  queueMode: boolean;
  /** `sms`, the client's MSISDN. */
  smsNumber?: string;
  /** Alternate path of the LwM2M objects (`</lwm2m>;rt="oma.lwm2m"`); `/` when none. */
  rootPath: string;
  objectLinks: ObjectLinkInfo[];
  /** The root link's `ct` list (`ct=110`, `ct="60 110 11542"`), when given. */
  supportedFormats?: number[];
  /** Query parameters this server does not know, as sent (a bare `name` gives `''`). */
  extraParameters?: Record<string, string>;
}

/**
 * What an Update request carries (`POST /rd/<id>?…`): only what the client sent, with no key at
 * all for what it left out, so `{ ...registration, ...params }` applies it.
 */
export interface UpdateParams {
  lifetime?: number;
  binding?: string;
  /** See `parseUpdateRequest` for when an Update says anything about queue mode. */
  queueMode?: boolean;
  smsNumber?: string;
  /** Present (with `rootPath`) when the Update has a payload: it replaces the whole list. */
  objectLinks?: ObjectLinkInfo[];
  rootPath?: string;
  supportedFormats?: number[];
}

/** What `parseObjectLinks` finds in a Register or Update payload. */
export interface ObjectLinks {
  rootPath: string;
  objectLinks: ObjectLinkInfo[];
  supportedFormats?: number[];
}

/**
 * The `lwm2m` parameter names a version this server does not implement. The server answers 4.00
 * Bad Request, and a client that tried a newer version first may then fall back to an older one.
 */
export class UnsupportedLwM2mVersionError extends InvalidValueError {
  constructor(readonly version: string) {
    super(`unsupported LwM2M version ${show(version)} (lwm2m): this server speaks 1.0, 1.1, 1.2`);
  }
}

export const DEFAULT_LIFETIME = 86400;
const MAX_LIFETIME = 4294967295;
const ROOT_RT = 'oma.lwm2m';
const OBJECT_VERSION = /^\d+\.\d+$/;
const DIGITS = /^\d+$/;
/**
 * Binding letters: U (UDP), T (TCP), S (SMS), N (Non-IP) in Core TS 1.1+, M (MQTT) and H (HTTP)
 * added by the 1.2 Transport Bindings, and Q (queue mode), which 1.0 writes inside `b` (`UQ`,
 * `UQS`) and 1.1+ as a separate `Q` parameter.
 */
const BINDING_LETTERS = 'UMHTSNQ';

/** A value quoted for a message, cut short so a 1 KB garbage value does not flood the log. */
function show(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

type Operation = 'Register' | 'Update';

/**
 * The Uri-Query options as name → value; `undefined` for a bare name with no `=` (`Q`). Each name
 * may appear once: a repeated parameter is refused rather than silently resolved one way. An empty
 * query option carries nothing and is skipped.
 */
function parseQuery(op: Operation, query: readonly string[]): Map<string, string | undefined> {
  const params = new Map<string, string | undefined>();
  for (const item of query) {
    if (item.length === 0) continue;
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    if (name.length === 0) {
      throw new InvalidValueError(`${op}: query parameter ${show(item)} has no name`);
    }
    if (params.has(name)) {
      throw new InvalidValueError(`${op}: query parameter ${show(name)} appears more than once`);
    }
    params.set(name, eq < 0 ? undefined : item.slice(eq + 1));
  }
  return params;
}

/** The value of a parameter that needs one; undefined when absent. */
function paramValue(
  op: Operation,
  params: Map<string, string | undefined>,
  name: string,
  what: string,
): string | undefined {
  if (!params.has(name)) return undefined;
  const value = params.get(name);
  if (value === undefined) throw new InvalidValueError(`${op}: ${what} (${name}) has no value`);
  return value;
}

function parseLifetime(op: Operation, value: string): number {
  const n = DIGITS.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1 && n <= MAX_LIFETIME)) {
    throw new InvalidValueError(
      `${op}: invalid lifetime lt=${show(value)}: expected a decimal integer in 1..${MAX_LIFETIME}`,
    );
  }
  return n;
}

function parseBinding(op: Operation, value: string): string {
  const problem = (why: string) =>
    new InvalidValueError(`${op}: invalid binding mode b=${show(value)}: ${why}`);
  if (value.length === 0) throw problem('empty');
  let seen = '';
  for (const c of value) {
    if (!BINDING_LETTERS.includes(c)) {
      throw problem(`${show(c)} is not one of U, M, H, T, S, N, Q`);
    }
    if (seen.includes(c)) throw problem(`${show(c)} appears twice`);
    seen += c;
  }
  if (seen === 'Q') throw problem('queue mode alone names no transport');
  return value;
}

function parseSms(op: Operation, value: string): string {
  if (value.length === 0 || hasControlChar(value)) {
    throw new InvalidValueError(`${op}: invalid SMS number sms=${show(value)}`);
  }
  return value;
}

/** `Q` is a flag: present (queue mode) or absent, with no value. */
function queueFlag(op: Operation, params: Map<string, string | undefined>): boolean {
  if (!params.has('Q')) return false;
  const value = params.get('Q');
  if (value !== undefined) {
    throw new InvalidValueError(`${op}: queue mode Q takes no value, got Q=${show(value)}`);
  }
  return true;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Options of `parseRegisterRequest` and `parseUpdateRequest`. */
export interface ParseOptions {
  /**
   * The object list (`objectLinks`, `supportedFormats`) may be a frozen one shared with other
   * requests that carried the same payload: devices alike send the same list, and the server
   * then parses it once and holds it once. Default false (a fresh list each time).
   */
  readonly shareObjectLinks?: boolean;
}

/** Object lists parsed lately, by payload text (frozen: shared by the registrations). */
const sharedLists = new Map<string, ObjectLinks>();
/** Payloads longer than this are parsed every time (not kept). */
const MAX_SHARED_TEXT = 4096;

function parsePayload(
  op: Operation,
  payload: Uint8Array,
  contentFormat: number | undefined,
  share = false,
): ObjectLinks | undefined {
  // Without a payload a Content-Format option describes nothing, so it is not checked.
  if (payload.length === 0) return undefined;
  if (contentFormat !== undefined && contentFormat !== ContentFormat.LINK_FORMAT) {
    throw new UnsupportedContentFormatError(
      `${op} payload must be application/link-format (${ContentFormat.LINK_FORMAT}), got content format ${contentFormat}`,
    );
  }
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch (err) {
    throw new InvalidValueError(`${op} payload is not valid UTF-8`, { cause: err });
  }
  if (!share || text.length > MAX_SHARED_TEXT) return parseObjectLinks(text);
  let links = sharedLists.get(text);
  if (links === undefined) {
    links = freezeLinks(parseObjectLinks(text));
    if (sharedLists.size >= 256) sharedLists.clear();
    sharedLists.set(text, links);
  }
  return links;
}

function freezeLinks(links: ObjectLinks): ObjectLinks {
  for (const l of links.objectLinks) Object.freeze(l);
  Object.freeze(links.objectLinks);
  if (links.supportedFormats !== undefined) Object.freeze(links.supportedFormats);
  return Object.freeze(links);
}

/**
 * Parses a Register request: `ep` (required), `lt`, `lwm2m`, `b`, `Q`, `sms`, and the link-format
 * payload. An empty payload is accepted as a client with no objects. Unknown parameters go to
 * `extraParameters` as sent.
 */
export function parseRegisterRequest(
  query: readonly string[],
  payload: Uint8Array,
  contentFormat: number | undefined,
  options: ParseOptions = {},
): RegisterParams {
  const op = 'Register';
  const params = parseQuery(op, query);

  const endpoint = paramValue(op, params, 'ep', 'endpoint client name');
  if (endpoint === undefined) {
    throw new InvalidValueError(`${op}: missing endpoint client name (ep)`);
  }
  if (endpoint.length === 0) {
    throw new InvalidValueError(`${op}: endpoint client name (ep) is empty`);
  }
  if (hasControlChar(endpoint)) {
    throw new InvalidValueError(
      `${op}: endpoint client name ep=${show(endpoint)} contains a control character`,
    );
  }

  const lt = paramValue(op, params, 'lt', 'lifetime');
  const version = paramValue(op, params, 'lwm2m', 'LwM2M version');
  if (version !== undefined && !isLwM2mVersion(version)) {
    throw new UnsupportedLwM2mVersionError(version);
  }
  const b = paramValue(op, params, 'b', 'binding mode');
  const binding = b === undefined ? 'U' : parseBinding(op, b);
  const sms = paramValue(op, params, 'sms', 'SMS number');
  const queueMode = queueFlag(op, params) || binding.includes('Q');

  const extras: [string, string][] = [];
  for (const [name, value] of params) {
    if (!REGISTER_PARAMETERS.has(name)) extras.push([name, value ?? '']);
  }

  const links = parsePayload(op, payload, contentFormat, options.shareObjectLinks) ?? {
    rootPath: '/',
    objectLinks: [],
  };
  return {
    endpoint,
    lifetime: lt === undefined ? DEFAULT_LIFETIME : parseLifetime(op, lt),
    lwm2mVersion: version ?? '1.0',
    binding,
    queueMode,
    ...(sms !== undefined && { smsNumber: parseSms(op, sms) }),
    ...links,
    // fromEntries defines own properties, so even a parameter named `__proto__` is kept as data.
    ...(extras.length > 0 && { extraParameters: Object.fromEntries(extras) }),
  };
}

const REGISTER_PARAMETERS: ReadonlySet<string> = new Set(['ep', 'lt', 'lwm2m', 'b', 'sms', 'Q']);

/**
 * Parses an Update request: `lt`, `b`, `Q`, `sms` and an optional link-format payload (which,
 * when present, replaces the object list, root path included). Other parameters are ignored: the
 * Update has no others (`ep` and `lwm2m` cannot change), and ignoring is kinder to a client that
 * repeats its Register parameters than refusing its Update would be.
 *
 * Queue mode: `Q`, or a `Q` in `b`, gives `queueMode: true`. A `b` without Q turns queue mode off
 * only for a client registered as LwM2M 1.0 (`registeredVersion`), where `b` is the only place
 * queue mode is written (`UQ` → `U`); from 1.1 on, queue mode is the Register's `Q` parameter
 * and `b` says nothing about it, so `queueMode` is then left out. Without `registeredVersion`
 * the 1.1+ rule applies (an Update never turns queue mode off by omission).
 */
export function parseUpdateRequest(
  query: readonly string[],
  payload: Uint8Array,
  contentFormat: number | undefined,
  registeredVersion?: LwM2mVersion,
  options: ParseOptions = {},
): UpdateParams {
  const op = 'Update';
  const params = parseQuery(op, query);
  const lt = paramValue(op, params, 'lt', 'lifetime');
  const b = paramValue(op, params, 'b', 'binding mode');
  const binding = b === undefined ? undefined : parseBinding(op, b);
  const sms = paramValue(op, params, 'sms', 'SMS number');
  let queueMode: boolean | undefined;
  if (queueFlag(op, params) || binding?.includes('Q')) queueMode = true;
  else if (binding !== undefined && registeredVersion === '1.0') queueMode = false;
  const links = parsePayload(op, payload, contentFormat, options.shareObjectLinks);
  return {
    ...(lt !== undefined && { lifetime: parseLifetime(op, lt) }),
    ...(binding !== undefined && { binding }),
    ...(queueMode !== undefined && { queueMode }),
    ...(sms !== undefined && { smsNumber: parseSms(op, sms) }),
    ...links,
  };
}

/** A canonical LwM2M id (`0`, `3`, `65535`; not `03` or `65536`), else undefined. */
function idOf(segment: string): number | undefined {
  const n = segment.length;
  if (n === 0 || n > 5) return undefined;
  for (let i = 0; i < n; i++) {
    const c = segment.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  if (n > 1 && segment.charCodeAt(0) === 0x30) return undefined;
  const id = Number(segment);
  return id <= 65535 ? id : undefined;
}

function isRootLink(l: Link): boolean {
  for (const rt of getLinkAttributes(l, 'rt')) {
    if (rt !== true && rt.split(/\s+/).includes(ROOT_RT)) return true;
  }
  return false;
}

/** `/`, or an alternate path such as `/lwm2m` (one trailing `/` is dropped). */
function rootPathOf(uri: string): string {
  const bad = (why: string) =>
    new InvalidValueError(`root link <${uri}> (rt="${ROOT_RT}"): ${why}`);
  if (!uri.startsWith('/')) throw bad('the alternate path must start with "/"');
  if (uri === '/') return '/';
  const path = uri.endsWith('/') ? uri.slice(0, -1) : uri;
  for (const segment of path.slice(1).split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw bad(`${show(segment)} is not a valid path segment`);
    }
    if (segment.includes('?') || segment.includes('#')) {
      throw bad('the alternate path must be a plain path (no query or fragment)');
    }
  }
  return path;
}

/** `ct=110` or `ct="60 110 11542"` (space- or comma-separated), in order, without repeats. */
function contentFormatsOf(l: Link): number[] | undefined {
  const values = getLinkAttributes(l, 'ct');
  if (values.length === 0) return undefined;
  const formats: number[] = [];
  for (const value of values) {
    const parts = value === true ? [] : value.split(/[\s,]+/).filter((p) => p.length > 0);
    if (parts.length === 0) {
      throw new InvalidValueError(`link <${l.uri}>: ct has no content format`);
    }
    for (const part of parts) {
      const n = /^\d{1,5}$/.test(part) ? Number(part) : Number.NaN;
      if (!(n <= 65535)) {
        throw new InvalidValueError(
          `link <${l.uri}>: ct=${show(value as string)}: ${show(part)} is not a content format number (0..65535)`,
        );
      }
      if (!formats.includes(n)) formats.push(n);
    }
  }
  return formats;
}

function versionOf(l: Link): string | undefined {
  const values = getLinkAttributes(l, 'ver');
  if (values.length === 0) return undefined;
  if (values.length > 1) throw new InvalidValueError(`link <${l.uri}>: ver appears more than once`);
  const ver = values[0]!;
  if (ver === true || !OBJECT_VERSION.test(ver)) {
    throw new InvalidValueError(
      `link <${l.uri}>: invalid object version ver${ver === true ? ' (no value)' : `=${show(ver)}`}: expected major.minor such as 1.1`,
    );
  }
  return ver;
}

/**
 * Reads the object list of a Register or Update payload (Core TS 1.2 §6.2.1, e.g.
 * `</>;rt="oma.lwm2m";ct=110,</1/0>,</3>;ver=1.1,</3/0>,</5>`). Throws `LinkFormatError` for
 * bad link-format syntax and `InvalidValueError` for links that cannot be LwM2M.
 *
 * - The root link is the one with `rt="oma.lwm2m"` (at most one). Its URI is the root path
 *   (`/` by default, or an alternate path such as `/lwm2m`) and its `ct` lists the content
 *   formats the client supports. Without such a link a plain `</>` link's `ct` is still read,
 *   as some 1.0 clients write `</>;ct=11543`.
 * - Every link must be an absolute path (`</3/0>`): a relative or absolute URI with a scheme is
 *   garbage in a registration and refused.
 * - Links under the root path whose first segment is numeric are object links: `</3>` (an object,
 *   optionally with `ver`), `</3/0>` (an instance). Their ids follow LwM2M path rules (canonical
 *   decimal 0..65535; an empty segment such as `</3/>` or `</3//0>`, or a non-numeric instance id
 *   such as `</3/x>`, is refused). `ver` must be `major.minor`; it is accepted on instance links
 *   too, where some clients put it.
 * - Links deeper than an instance (`</3/0/1>`) are ignored: the spec lists objects and instances
 *   only, but a device listing a resource too still has a usable registration.
 * - Links outside the LwM2M tree are ignored, as a client may list other resources it serves:
 *   those not under an alternate root path, and those whose first segment is not a number
 *   (`</firmware>`, `</.well-known/core>`).
 */
export function parseObjectLinks(text: string): ObjectLinks {
  const links = parseLinkFormat(text);
  let root: Link | undefined;
  for (const l of links) {
    if (!isRootLink(l)) continue;
    if (root !== undefined) {
      throw new InvalidValueError(
        `more than one root link with rt="${ROOT_RT}": <${root.uri}> and <${l.uri}>`,
      );
    }
    root = l;
  }
  const rootPath = root === undefined ? '/' : rootPathOf(root.uri);
  const formatLink = root ?? links.find((l) => l.uri === '/');
  const supportedFormats = formatLink === undefined ? undefined : contentFormatsOf(formatLink);

  const prefix = rootPath === '/' ? '' : rootPath;
  const objectLinks: ObjectLinkInfo[] = [];
  for (const l of links) {
    if (l === root) continue;
    const uri = l.uri;
    if (!uri.startsWith('/')) {
      throw new InvalidValueError(`link <${uri}> is not an absolute path such as </3/0>`);
    }
    if (prefix !== '' && !uri.startsWith(`${prefix}/`)) continue;
    const relative = uri.slice(prefix.length + 1);
    if (relative === '') continue;
    const segments = relative.split('/');
    if (!DIGITS.test(segments[0]!)) continue;
    // Canonical ids (what LwM2mPath accepts) are read at once; anything else goes through
    // LwM2mPath, which says what is wrong.
    let objectId = idOf(segments[0]!);
    let instanceId = segments.length > 1 ? idOf(segments[1]!) : undefined;
    if (objectId === undefined || (segments.length > 1 && instanceId === undefined)) {
      let path: LwM2mPath;
      try {
        path = LwM2mPath.parse(`/${segments.slice(0, 2).join('/')}`);
      } catch (err) {
        throw new InvalidValueError(
          `object link <${uri}>: ${err instanceof LwM2mError ? err.message : String(err)}`,
          { cause: err },
        );
      }
      objectId = path.objectId;
      instanceId = path.instanceId;
    }
    if (segments.length > 2) {
      if (segments.includes('')) {
        throw new InvalidValueError(`object link <${uri}> has an empty path segment`);
      }
      continue;
    }
    const version = versionOf(l);
    objectLinks.push({
      objectId: objectId!,
      ...(instanceId !== undefined && { instanceId }),
      ...(version !== undefined && { version }),
    });
  }
  return { rootPath, objectLinks, ...(supportedFormats !== undefined && { supportedFormats }) };
}
