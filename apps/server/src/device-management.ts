import type { ClientObservation, IncomingResponse, OutgoingRequest } from '@lwm2m-ts/coap';
import { UnexpectedResponseError } from '@lwm2m-ts/coap';
import {
  type Content,
  decode,
  decodeValues,
  encode,
  encodeSenmlCborPaths,
  encodeSenmlJsonPaths,
  formatName,
  type LwM2mVersion,
  type ModelProvider,
  type TimedValue,
} from '@lwm2m-ts/codecs';
import {
  type AttributeUpdate,
  ContentFormat,
  formatAttributeQuery,
  isSuccessCode,
  type LwM2mNode,
  LwM2mPath,
  type LwM2mResource,
  lwm2mObject,
  NotAcceptableError,
  objectInstance,
  type PathValue,
  parseLinkFormat,
} from '@lwm2m-ts/core';
import { formatCandidates, type PayloadKind } from './content-negotiation.js';
import { BadClientResponseError } from './errors.js';
import type {
  CompositeReadResponse,
  CreateResponse,
  DiscoverResponse,
  DmResponse,
  EmptyResponse,
  ReadResponse,
  WriteMode,
} from './operations.js';
import type { Registration } from './registration.js';

/** One client as the device-management operations see it: where requests go and how to type them. */
export interface Target {
  readonly registration: Registration;
  readonly models: ModelProvider;
  /** Formats this client refused (4.06/4.15); shared by every request to the registration. */
  readonly rejected: Set<number>;
  /** Sends a request (path relative to the client's root path) within the call's time limit. */
  request(req: TargetRequest): Promise<IncomingResponse>;
  /** Starts an observation; rejects with UnexpectedResponseError when the client refuses. */
  observe(req: TargetRequest): Promise<ClientObservation>;
}

/** What decoding needs: the registration (for messages) and its models. */
export type Typing = Pick<Target, 'registration' | 'models'>;

export type TargetRequest = Omit<OutgoingRequest, 'path' | 'timeout' | 'signal'> & {
  readonly path: LwM2mPath;
};

const COMPOSITE_REQUEST_FORMAT = ContentFormat.SENML_CBOR;

function failure(res: IncomingResponse): DmResponse & { ok: false } {
  const diagnostic = res.payload.length > 0 ? Buffer.from(res.payload).toString('utf8') : undefined;
  return diagnostic === undefined
    ? { ok: false, code: res.code }
    : { ok: false, code: res.code, diagnostic };
}

const refusesFormat = (code: string): boolean => code === '4.06' || code === '4.15';

/**
 * Tries `attempt` with each candidate format until the client accepts one. An explicit format is
 * tried alone. A format the client refuses with 4.06/4.15 is remembered for the registration, and
 * one our encoder cannot use for this content (NotAcceptableError) is skipped.
 */
async function negotiate(
  t: Target,
  path: LwM2mPath,
  kind: PayloadKind,
  explicit: number | undefined,
  attempt: (format: number) => Promise<IncomingResponse>,
): Promise<{ res: IncomingResponse; format: number }> {
  const candidates = explicit !== undefined ? [explicit] : candidatesFor(t, path.level, kind);
  let last: IncomingResponse | undefined;
  let lastError: unknown;
  for (const format of candidates) {
    let res: IncomingResponse;
    try {
      res = await attempt(format);
    } catch (err) {
      if (err instanceof NotAcceptableError && explicit === undefined) {
        lastError = err;
        continue;
      }
      throw err;
    }
    if (explicit === undefined && refusesFormat(res.code)) {
      t.rejected.add(format);
      last = res;
      continue;
    }
    if (isSuccessCode(res.code)) t.rejected.delete(format);
    return { res, format };
  }
  if (last !== undefined) return { res: last, format: candidates.at(-1)! };
  throw lastError ?? new NotAcceptableError(`no content format left to try for ${path}`);
}

/**
 * `formatCandidates` for a target, remembered per registration (by its list of advertised
 * formats) while the client has refused no format: every read of a resource asks the same.
 */
function candidatesFor(t: Target, level: LwM2mPath['level'], kind: PayloadKind): readonly number[] {
  const reg = t.registration;
  const rejected = t.rejected;
  if (rejected.size > 0) {
    return formatCandidates({
      version: reg.lwm2mVersion,
      level,
      kind,
      advertised: reg.supportedFormats,
      rejected,
    });
  }
  const owner = reg.supportedFormats ?? NOT_ADVERTISED;
  let slots = candidateCache.get(owner);
  if (slots === undefined) {
    slots = [];
    candidateCache.set(owner, slots);
  }
  // The candidates depend on the version, on the kind and (for a node) on whether the level
  // holds a single value.
  const single = kind === 'node' && (level === 'resource' || level === 'resourceInstance');
  const slot = VERSION_SLOT[reg.lwm2mVersion] * 3 + (kind === 'composite' ? 2 : single ? 1 : 0);
  let list = slots[slot];
  if (list === undefined) {
    list = Object.freeze(
      formatCandidates({
        version: reg.lwm2mVersion,
        level,
        kind,
        advertised: reg.supportedFormats,
      }),
    );
    slots[slot] = list;
  }
  return list;
}

const NOT_ADVERTISED: readonly number[] = Object.freeze([]);
const VERSION_SLOT: Readonly<Record<LwM2mVersion, number>> = { '1.0': 0, '1.1': 1, '1.2': 2 };
const candidateCache = new WeakMap<readonly number[], (readonly number[] | undefined)[]>();

function decodeNodeResponse(t: Typing, path: LwM2mPath, res: IncomingResponse, asked: number) {
  const format = res.contentFormat ?? asked;
  try {
    return { content: decode(format, res.payload, { path, model: t.models }), format };
  } catch (err) {
    throw badResponse(err, t, format);
  }
}

function decodeValuesResponse(t: Typing, res: IncomingResponse, asked: number) {
  const format = res.contentFormat ?? asked;
  try {
    return { values: decodeValues(format, res.payload, { model: t.models }), format };
  } catch (err) {
    throw badResponse(err, t, format);
  }
}

function badResponse(err: unknown, t: Typing, format: number): BadClientResponseError {
  const why = err instanceof Error ? err.message : String(err);
  return new BadClientResponseError(
    `${t.registration.endpoint} answered with a ${formatName(format)} payload we cannot use: ${why}`,
    { cause: err },
  );
}

export async function read(t: Target, path: LwM2mPath, format?: number): Promise<ReadResponse> {
  const { res, format: asked } = await negotiate(t, path, 'node', format, (f) =>
    t.request({ method: 'GET', path, accept: f }),
  );
  if (!isSuccessCode(res.code)) return failure(res);
  const { content, format: got } = decodeNodeResponse(t, path, res, asked);
  return { ok: true, code: res.code, content, contentFormat: got };
}

export async function write(
  t: Target,
  path: LwM2mPath,
  content: LwM2mNode,
  mode: WriteMode,
  format?: number,
): Promise<EmptyResponse> {
  const { res } = await negotiate(t, path, 'node', format, (f) =>
    t.request({
      // Core TS 1.2 §6.4.3: PUT replaces, POST updates partially.
      method: mode === 'replace' ? 'PUT' : 'POST',
      path,
      contentFormat: f,
      payload: encodeFor(f, content, path, t.models),
    }),
  );
  return isSuccessCode(res.code) ? { ok: true, code: res.code } : failure(res);
}

// A value that breaks the model throws EncodeError/InvalidValueError: the caller's mistake.
const encodeFor = (format: number, content: Content, path: LwM2mPath, model: ModelProvider) =>
  encode(format, content, { path, model });

export async function writeAttributes(
  t: Target,
  path: LwM2mPath,
  attributes: AttributeUpdate,
): Promise<EmptyResponse> {
  const res = await t.request({ method: 'PUT', path, query: formatAttributeQuery(attributes) });
  return isSuccessCode(res.code) ? { ok: true, code: res.code } : failure(res);
}

export async function discover(t: Target, path: LwM2mPath): Promise<DiscoverResponse> {
  const res = await t.request({ method: 'GET', path, accept: ContentFormat.LINK_FORMAT });
  if (!isSuccessCode(res.code)) return failure(res);
  try {
    return {
      ok: true,
      code: res.code,
      links: parseLinkFormat(Buffer.from(res.payload).toString('utf8')),
    };
  } catch (err) {
    throw badResponse(err, t, ContentFormat.LINK_FORMAT);
  }
}

export async function execute(t: Target, path: LwM2mPath, args?: string): Promise<EmptyResponse> {
  const payload = args === undefined || args === '' ? undefined : Buffer.from(args, 'utf8');
  const res = await t.request(
    payload === undefined
      ? { method: 'POST', path }
      : { method: 'POST', path, payload, contentFormat: ContentFormat.TEXT },
  );
  return isSuccessCode(res.code) ? { ok: true, code: res.code } : failure(res);
}

export async function create(
  t: Target,
  objectId: number,
  resources: readonly LwM2mResource[],
  instanceId: number | undefined,
  format?: number,
): Promise<CreateResponse> {
  const path = LwM2mPath.of(objectId);
  let chosenId = instanceId;
  const { res } = await negotiate(t, path, 'node', format, (f) => {
    let payload: Uint8Array;
    if (chosenId === undefined && f === ContentFormat.TLV) {
      // Core TS 1.2 §6.4.5: without an instance id the payload holds the resources only and the
      // client picks the id (TLV can say that; the path-carrying formats cannot).
      payload = encodeFor(f, objectInstance(0, resources), LwM2mPath.of(objectId, 0), t.models);
    } else {
      chosenId ??= freeInstanceId(t.registration, objectId);
      payload = encodeFor(
        f,
        lwm2mObject(objectId, [objectInstance(chosenId, resources)]),
        path,
        t.models,
      );
    }
    return t.request({ method: 'POST', path, contentFormat: f, payload });
  });
  if (!isSuccessCode(res.code)) return failure(res);
  const location = createdLocation(t.registration, res.locationPath, objectId, chosenId);
  return location === undefined
    ? { ok: true, code: res.code }
    : { ok: true, code: res.code, location };
}

/** The lowest instance id the registration does not list for the object. */
function freeInstanceId(reg: Registration, objectId: number): number {
  const used = new Set(
    reg.objectLinks.filter((l) => l.objectId === objectId).map((l) => l.instanceId),
  );
  let id = 0;
  while (used.has(id)) id++;
  return id;
}

function createdLocation(
  reg: Registration,
  location: readonly string[],
  objectId: number,
  instanceId: number | undefined,
): string | undefined {
  const root = rootSegments(reg);
  const rel = location.slice(
    root.length > 0 && root.every((s, i) => location[i] === s) ? root.length : 0,
  );
  if (rel.length === 2 && /^\d+$/.test(rel[1]!)) return `/${rel[0]}/${rel[1]}`;
  return instanceId === undefined ? undefined : `/${objectId}/${instanceId}`;
}

export async function remove(t: Target, path: LwM2mPath): Promise<EmptyResponse> {
  const res = await t.request({ method: 'DELETE', path });
  return isSuccessCode(res.code) ? { ok: true, code: res.code } : failure(res);
}

/** Path-list payload of Read-Composite / Observe-Composite (Core TS 1.2 §6.4.6). */
function compositePaths(paths: readonly LwM2mPath[], format: number) {
  return format === ContentFormat.SENML_JSON
    ? { payload: encodeSenmlJsonPaths(paths), contentFormat: format }
    : // LwM2M CBOR carries no path-only records: the request goes in SenML CBOR.
      { payload: encodeSenmlCborPaths(paths), contentFormat: COMPOSITE_REQUEST_FORMAT };
}

export async function readComposite(
  t: Target,
  paths: readonly LwM2mPath[],
  format?: number,
): Promise<CompositeReadResponse> {
  const { res, format: asked } = await negotiate(t, LwM2mPath.ROOT, 'composite', format, (f) =>
    t.request({ method: 'FETCH', path: LwM2mPath.ROOT, accept: f, ...compositePaths(paths, f) }),
  );
  if (!isSuccessCode(res.code)) return failure(res);
  const { values, format: got } = decodeValuesResponse(t, res, asked);
  return { ok: true, code: res.code, values, contentFormat: got };
}

export async function writeComposite(
  t: Target,
  values: readonly PathValue[],
  format?: number,
): Promise<EmptyResponse> {
  const { res } = await negotiate(t, LwM2mPath.ROOT, 'composite', format, (f) =>
    t.request({
      method: 'iPATCH',
      path: LwM2mPath.ROOT,
      contentFormat: f,
      payload: encodeFor(f, values, LwM2mPath.ROOT, t.models),
    }),
  );
  return isSuccessCode(res.code) ? { ok: true, code: res.code } : failure(res);
}

/** An established observation with its first notification decoded. */
export interface StartedObservation {
  readonly observation: ClientObservation;
  readonly format: number;
  readonly content?: LwM2mNode;
  readonly values?: readonly TimedValue[];
}

export async function observe(
  t: Target,
  paths: readonly LwM2mPath[],
  composite: boolean,
  format?: number,
): Promise<StartedObservation | (DmResponse & { ok: false })> {
  const target = composite ? LwM2mPath.ROOT : paths[0]!;
  let observation: ClientObservation | undefined;
  const { res, format: asked } = await negotiate(
    t,
    target,
    composite ? 'composite' : 'node',
    format,
    async (f) => {
      try {
        observation = await t.observe(observeRequest(paths, composite, f));
        return observation.first;
      } catch (err) {
        if (err instanceof UnexpectedResponseError) return err.response;
        throw err;
      }
    },
  );
  if (!isSuccessCode(res.code)) return failure(res);
  if (observation === undefined) {
    throw new BadClientResponseError(
      `${t.registration.endpoint} answered ${res.code} without an Observe option: ${target} is not observable there`,
    );
  }
  try {
    return composite
      ? { observation, ...decodeValuesResponse(t, res, asked) }
      : { observation, ...decodeNodeResponse(t, target, res, asked) };
  } catch (err) {
    await observation.cancel('reactive');
    throw err;
  }
}

/**
 * The request `observe` registers an observation with when the client accepts `format`: what a
 * process taking the observation over re-sends to cancel or re-register it.
 */
export function observeRequest(
  paths: readonly LwM2mPath[],
  composite: boolean,
  format: number,
): TargetRequest {
  return composite
    ? { method: 'FETCH', path: LwM2mPath.ROOT, accept: format, ...compositePaths(paths, format) }
    : { method: 'GET', path: paths[0]!, accept: format };
}

/** Decodes a notification of an observation started by `observe`. */
export function decodeNotification(
  t: Typing,
  paths: readonly LwM2mPath[],
  composite: boolean,
  res: IncomingResponse,
  asked: number,
): { content?: LwM2mNode; values?: readonly TimedValue[]; format: number } {
  return composite
    ? decodeValuesResponse(t, res, asked)
    : decodeNodeResponse(t, paths[0]!, res, asked);
}

/** The client's root path as segments (`/lwm2m` → `['lwm2m']`). */
export function rootSegments(reg: Registration): string[] {
  return reg.rootPath.split('/').filter((s) => s !== '');
}
