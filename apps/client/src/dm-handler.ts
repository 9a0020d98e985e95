import type { CoapRequest, CoapResponse, RequestContext, RequestHandler } from '@lwm2m-ts/coap';
import {
  compositeFormats,
  decode,
  decodeSenmlCborPaths,
  decodeSenmlJsonPaths,
  decodeValues,
  encode,
  encodeLinkFormat,
  type LwM2mVersion,
  NODE_FORMATS,
  supportedFormats,
} from '@lwm2m-ts/codecs';
import {
  type AttributeUpdate,
  attributesToLinkParams,
  ContentFormat,
  canonicalContentFormat,
  InvalidValueError,
  isContentFormat,
  type Link,
  type LinkAttribute,
  type LwM2mNode,
  LwM2mPath,
  type LwM2mResource,
  link,
  MethodNotAllowedError,
  mergeAttributes,
  NotAcceptableError,
  NotFoundError,
  parseAttributeQuery,
  UnsupportedContentFormatError,
  type WriteAttributes,
} from '@lwm2m-ts/core';
import type { MaybePromise, RequestOrigin } from './object-enabler.js';
import type { ObjectTree } from './object-tree.js';

export interface DmHandlerOptions {
  /** The LwM2M version registered with: which content formats and operations exist. */
  readonly version: LwM2mVersion;
  /** Who sent the request (by the peer's address or DTLS identity). */
  readonly origin: (req: CoapRequest) => RequestOrigin;
  /**
   * Observe or Observe-Composite (GET/FETCH with Observe=0): accepts the observation
   * (`ctx.observe()`) and answers the first notification. `format` is the negotiated content
   * format; `encodeRead` builds a response for it.
   */
  readonly observe: (
    req: CoapRequest,
    ctx: RequestContext,
    paths: LwM2mPath[],
    composite: boolean,
    format: number,
  ) => MaybePromise<CoapResponse>;
  /** Write-Attributes (Core TS 1.2 §6.3.4); throws `InvalidAttributeError` (4.00) to refuse. */
  readonly writeAttributes: (path: LwM2mPath, update: AttributeUpdate) => MaybePromise<void>;
  /** Attributes assigned at exactly this path, for Discover. */
  readonly discoverAttributes: (path: LwM2mPath) => WriteAttributes;
  /**
   * An instance was deleted: what was attached to it and below (write-attributes) goes with it,
   * so an instance created later with the same id starts clean (Core TS 1.2 §6.3.7).
   */
  readonly deleted?: (path: LwM2mPath) => void;
}

const LINK_FORMAT = ContentFormat.LINK_FORMAT;

/**
 * The Device Management and Service Enablement interface (Core TS 1.2 §6.3) on a CoAP
 * endpoint: maps each request to an `ObjectTree` operation and the result to a response.
 *
 * | Request                                  | Operation                         |
 * |------------------------------------------|-----------------------------------|
 * | GET (Accept 40)                          | Discover                          |
 * | GET with Observe=0                       | Observe (delegated)               |
 * | GET                                      | Read                              |
 * | PUT with a payload                       | Write (replace)                   |
 * | PUT without payload, with a query        | Write-Attributes                  |
 * | POST on an object                        | Create (2.01, Location-Path)      |
 * | POST on an instance                      | Write (partial update)            |
 * | POST on a resource                       | Execute (or 1.1+ partial update of a multiple resource) |
 * | DELETE                                   | Delete                            |
 * | FETCH `/`                                | Read-Composite / Observe-Composite |
 * | iPATCH `/`                               | Write-Composite                   |
 *
 * Refusals are thrown `LwM2mError`s, which the endpoint answers with their CoAP code.
 */
export function createDmHandler(tree: ObjectTree, options: DmHandlerOptions): RequestHandler {
  const { version } = options;
  return async (req, ctx) => {
    const path = requestPath(req);
    const origin = options.origin(req);
    switch (req.method) {
      case 'GET':
        if (req.accept === LINK_FORMAT) return discover(tree, path, origin, options);
        assertTarget(tree, path, origin);
        if (req.observe === 0) {
          const format = readFormat(tree, path, req.accept, version);
          return options.observe(req, ctx, [path], false, format);
        }
        return encodeRead(tree, [path], false, readFormat(tree, path, req.accept, version), origin);
      case 'PUT':
        if (req.payload.length === 0 && req.contentFormat === undefined && req.query.length > 0) {
          return writeAttributes(tree, path, req.query, origin, options);
        }
        return write(tree, path, req, 'replace', origin, version);
      case 'POST':
        return post(tree, path, req, origin, version);
      case 'DELETE':
        await tree.delete(path, origin);
        options.deleted?.(path);
        return { code: '2.02' };
      case 'FETCH':
        return fetchComposite(tree, path, req, ctx, origin, options);
      case 'iPATCH':
        return writeComposite(tree, path, req, origin, version);
      default:
        throw new MethodNotAllowedError(`${req.method} is not an LwM2M operation`);
    }
  };
}

/**
 * Reads `paths` and encodes them in `format`: one node for a single path, a value list for a
 * composite read. For observation managers too (first response and notifications).
 */
export async function encodeRead(
  tree: ObjectTree,
  paths: readonly LwM2mPath[],
  composite: boolean,
  format: number,
  origin: RequestOrigin,
): Promise<CoapResponse> {
  const model = tree.models();
  if (composite) {
    const values = await tree.readValues(paths, origin);
    return {
      code: '2.05',
      payload: encode(format, values, { path: LwM2mPath.ROOT, model }),
      contentFormat: format,
    };
  }
  const path = paths[0]!;
  const node = await tree.read(path, origin);
  return { code: '2.05', payload: encode(format, node, { path, model }), contentFormat: format };
}

/** The LwM2M path of a request; anything else is not served here (4.04). */
function requestPath(req: CoapRequest): LwM2mPath {
  if (req.path.length === 0) return LwM2mPath.ROOT;
  const text = `/${req.path.join('/')}`;
  let path = requestPaths.get(text);
  if (path === undefined) {
    try {
      path = LwM2mPath.parse(text);
    } catch {
      throw new NotFoundError(`${text} is not an LwM2M path`);
    }
    if (requestPaths.size >= 1024) requestPaths.clear();
    requestPaths.set(text, path);
  }
  return path;
}

/** Paths of recent requests (paths are immutable; servers ask for the same few again and again). */
const requestPaths = new Map<string, LwM2mPath>();

/** Formats that carry one value only. */
const SINGLE_VALUE_FORMATS: ReadonlySet<number> = new Set([
  ContentFormat.TEXT,
  ContentFormat.OPAQUE,
  ContentFormat.CBOR,
]);

/** Formats that carry a node or a value list: what we decode and encode for this version. */
function nodeFormats(version: LwM2mVersion): readonly number[] {
  let formats = nodeFormatsOf.get(version);
  if (formats === undefined) {
    formats = Object.freeze(supportedFormats(version).filter((f) => NODE_FORMATS.includes(f)));
    nodeFormatsOf.set(version, formats);
  }
  return formats;
}
const nodeFormatsOf = new Map<LwM2mVersion, readonly number[]>();

/**
 * Content negotiation for Read and Observe (Core TS 1.2 §7): the Accept format when this
 * version defines it and it can carry the target (text/plain, opaque and CBOR carry a single
 * value; opaque only of an Opaque resource), else 4.06. Without Accept: a single value in
 * text/plain (opaque for an Opaque resource), which every version and peer reads; anything
 * bigger in TLV for 1.0 (the format 1.0 clients must support) and SenML CBOR for 1.1+.
 */
export function readFormat(
  tree: ObjectTree,
  path: LwM2mPath,
  accept: number | undefined,
  version: LwM2mVersion,
): number {
  if (path.isRoot()) throw new MethodNotAllowedError('Read is not allowed on /');
  const rm = tree.resourceModel(path);
  const singleValue =
    rm !== undefined && (path.isResourceInstance() || (path.isResource() && !rm.multiple));
  if (accept === undefined) {
    if (singleValue) return rm.type === 'opaque' ? ContentFormat.OPAQUE : ContentFormat.TEXT;
    return version === '1.0' ? ContentFormat.TLV : ContentFormat.SENML_CBOR;
  }
  const format = isContentFormat(accept) ? canonicalContentFormat(accept) : accept;
  if (!nodeFormats(version).includes(format)) {
    throw new NotAcceptableError(`content format ${accept} is not one LwM2M ${version} reads in`);
  }
  if (SINGLE_VALUE_FORMATS.has(format)) {
    if (!singleValue) {
      throw new NotAcceptableError(`content format ${accept} carries a single value, not ${path}`);
    }
    if (format === ContentFormat.OPAQUE && rm.type !== 'opaque') {
      throw new NotAcceptableError(`${path} is ${rm.type}, not opaque`);
    }
  }
  return format;
}

/** The request's content format when it is one we decode for this version, else 4.15. */
function payloadFormat(req: CoapRequest, version: LwM2mVersion, singleValue: boolean): number {
  if (req.contentFormat === undefined) {
    // Some 1.0 servers write a single value without Content-Format: take it as text/plain.
    if (singleValue) return ContentFormat.TEXT;
    throw new UnsupportedContentFormatError('the request has a payload but no Content-Format');
  }
  const cf = req.contentFormat;
  const format = isContentFormat(cf) ? canonicalContentFormat(cf) : cf;
  if (!nodeFormats(version).includes(format)) {
    throw new UnsupportedContentFormatError(
      `content format ${cf} is not one LwM2M ${version} writes in`,
    );
  }
  return format;
}

function isSingleValue(tree: ObjectTree, path: LwM2mPath): boolean {
  const rm = tree.resourceModel(path);
  return rm !== undefined && (path.isResourceInstance() || (path.isResource() && !rm.multiple));
}

async function write(
  tree: ObjectTree,
  path: LwM2mPath,
  req: CoapRequest,
  mode: 'replace' | 'update',
  origin: RequestOrigin,
  version: LwM2mVersion,
): Promise<CoapResponse> {
  if (path.isRoot() || (path.isObject() && origin.kind === 'server')) {
    throw new MethodNotAllowedError(`Write is not allowed on ${path}`);
  }
  // Unknown targets are 4.04 before the payload is looked at; the bootstrap server's write
  // creates a missing instance (Core TS 1.2 §6.1).
  assertTarget(tree, path, origin, origin.kind === 'bootstrap');
  const format = payloadFormat(req, version, isSingleValue(tree, path));
  const node = decode(format, req.payload, { path, model: tree.models() });
  await tree.write(path, node, mode, origin);
  return { code: '2.04' };
}

/**
 * 4.04 unless the object and instance of `path` exist for this origin and its resource (if
 * any) is in the object's model; run before negotiating formats or decoding payloads, so an
 * unknown path is reported as such rather than as a format problem.
 */
function assertTarget(
  tree: ObjectTree,
  path: LwM2mPath,
  origin: RequestOrigin,
  instanceMayBeMissing = false,
): void {
  if (path.isRoot()) return;
  const instanceId = path.isObject() || instanceMayBeMissing ? undefined : path.instanceId;
  if (!tree.hasInstance(path.objectId!, instanceId, origin)) {
    throw new NotFoundError(`${path} not found`);
  }
  if (path.resourceId !== undefined && tree.resourceModel(path) === undefined) {
    throw new NotFoundError(`${path} is not in the model of object ${path.objectId}`);
  }
}

function instanceOf(path: LwM2mPath): LwM2mPath {
  return LwM2mPath.of(path.objectId!, path.instanceId!);
}

async function post(
  tree: ObjectTree,
  path: LwM2mPath,
  req: CoapRequest,
  origin: RequestOrigin,
  version: LwM2mVersion,
): Promise<CoapResponse> {
  switch (path.level) {
    case 'root':
    case 'resourceInstance':
      throw new MethodNotAllowedError(`POST is not allowed on ${path}`);
    case 'object':
      return create(tree, path.objectId!, req, origin, version);
    case 'instance':
      return write(tree, path, req, 'update', origin, version);
    default: {
      const rm = tree.resourceModel(path);
      // LwM2M 1.1 added the partial update of a multiple resource (POST with a payload).
      if (
        rm !== undefined &&
        rm.operations !== 'E' &&
        rm.multiple &&
        version !== '1.0' &&
        req.contentFormat !== undefined
      ) {
        return write(tree, path, req, 'update', origin, version);
      }
      // Core TS 1.2 §5.4.5: the arguments are the payload, as text.
      await tree.execute(path, new TextDecoder().decode(req.payload), origin);
      return { code: '2.04' };
    }
  }
}

/**
 * Create (Core TS 1.2 §6.3.6): the payload holds the new instance (its id chosen by the server)
 * or, in TLV, only its resources (the client picks the id). Answered 2.01 with the new
 * instance's Location-Path.
 */
async function create(
  tree: ObjectTree,
  objectId: number,
  req: CoapRequest,
  origin: RequestOrigin,
  version: LwM2mVersion,
): Promise<CoapResponse> {
  const objectPath = LwM2mPath.of(objectId);
  if (!(await tree.exists(objectPath, origin))) throw new NotFoundError(`${objectPath} not found`);
  let instanceId: number | undefined;
  let resources: readonly LwM2mResource[] = [];
  if (req.payload.length > 0) {
    const format = payloadFormat(req, version, false);
    const model = tree.models();
    if (format === ContentFormat.TLV && req.payload[0]! >> 6 !== 0) {
      // Resource TLVs without an Object Instance TLV around them: the client picks the id.
      const node = decode(format, req.payload, { path: LwM2mPath.of(objectId, 0), model });
      if (node.kind === 'instance') resources = node.resources;
    } else {
      const node = decode(format, req.payload, { path: objectPath, model });
      if (node.kind !== 'object' || node.instances.length !== 1) {
        throw new InvalidValueError('a Create payload holds exactly one object instance');
      }
      instanceId = node.instances[0]!.id;
      resources = node.instances[0]!.resources;
    }
  }
  const id = await tree.create(objectId, instanceId, resources, origin);
  return { code: '2.01', locationPath: [String(objectId), String(id)] };
}

async function writeAttributes(
  tree: ObjectTree,
  path: LwM2mPath,
  query: readonly string[],
  origin: RequestOrigin,
  options: DmHandlerOptions,
): Promise<CoapResponse> {
  if (path.isRoot()) throw new MethodNotAllowedError('Write-Attributes is not allowed on /');
  const update = parseAttributeQuery(query);
  if (!(await targetExists(tree, path, origin))) throw new NotFoundError(`${path} not found`);
  await options.writeAttributes(path, update);
  return { code: '2.04' };
}

/**
 * Whether a Write-Attributes / Discover target exists: objects and instances present, resources
 * in the model and supported by the instance.
 */
async function targetExists(
  tree: ObjectTree,
  path: LwM2mPath,
  origin: RequestOrigin,
): Promise<boolean> {
  if (!(await tree.exists(path.isObject() ? path : instanceOf(path), origin))) return false;
  if (path.resourceId === undefined) return true;
  if (!(await tree.resourceIds(instanceOf(path), origin)).includes(path.resourceId)) return false;
  if (path.isResourceInstance()) return tree.exists(path, origin);
  return true;
}

/**
 * Discover (Core TS 1.2 §6.3.2): link-format of what exists under the path with the attributes
 * assigned there. An object lists itself (with `ver` when not 1.0), its instances and their
 * resources; an instance lists itself and its resources; a resource lists itself with the
 * attributes it inherits from its instance and object, and (1.1+) its resource instances.
 * Multiple resources carry `dim`, their number of instances.
 */
async function discover(
  tree: ObjectTree,
  path: LwM2mPath,
  origin: RequestOrigin,
  options: DmHandlerOptions,
): Promise<CoapResponse> {
  if (path.isRoot() || path.isResourceInstance()) {
    throw new MethodNotAllowedError(`Discover is not allowed on ${path}`);
  }
  if (!(await targetExists(tree, path, origin))) throw new NotFoundError(`${path} not found`);
  const attrs = (p: LwM2mPath): LinkAttribute[] =>
    attributesToLinkParams(options.discoverAttributes(p));
  const links: Link[] = [];
  const objectId = path.objectId!;
  const model = tree.get(objectId)!.model;

  const resourceLinks = async (instancePath: LwM2mPath, ids: readonly number[]) => {
    for (const rid of ids) {
      const rp = instancePath.child(rid);
      links.push({ uri: `${rp}`, attributes: [...(await dimOf(tree, rp)), ...attrs(rp)] });
    }
  };

  if (path.isObject()) {
    const ver: LinkAttribute[] =
      model.version !== '1.0' ? [['ver', { kind: 'token', value: model.version }]] : [];
    links.push({ uri: `${path}`, attributes: [...ver, ...attrs(path)] });
    for (const iid of tree.get(objectId)!.instanceIds()) {
      const ip = path.child(iid);
      links.push({ uri: `${ip}`, attributes: attrs(ip) });
      await resourceLinks(ip, await tree.resourceIds(ip, origin));
    }
  } else if (path.isInstance()) {
    links.push({ uri: `${path}`, attributes: attrs(path) });
    await resourceLinks(path, await tree.resourceIds(path, origin));
  } else {
    // Core TS 1.2 §6.3.2: at resource level the attributes inherited from the instance and the
    // object are listed too, as the resource is observed with them.
    const inherited = mergeAttributes(
      mergeAttributes(
        options.discoverAttributes(path.parent().parent()),
        options.discoverAttributes(path.parent()),
      ),
      options.discoverAttributes(path),
    );
    links.push({
      uri: `${path}`,
      attributes: [...(await dimOf(tree, path)), ...attributesToLinkParams(inherited)],
    });
    if (options.version !== '1.0' && tree.resourceModel(path)?.multiple) {
      const node = await readQuietly(tree, path);
      if (node?.kind === 'multipleResource') {
        for (const ri of node.instances) {
          const rip = path.child(ri.id);
          links.push({ uri: `${rip}`, attributes: attrs(rip) });
        }
      }
    }
  }
  return { code: '2.05', payload: encodeLinkFormat(links), contentFormat: LINK_FORMAT };
}

/** `dim` of a multiple resource (Core TS 1.2 §6.3.2): how many instances it has. */
async function dimOf(tree: ObjectTree, path: LwM2mPath): Promise<LinkAttribute[]> {
  if (!tree.resourceModel(path)?.multiple) return [];
  const node = await readQuietly(tree, path);
  const dim = node?.kind === 'multipleResource' ? node.instances.length : 0;
  return [['dim', { kind: 'token', value: String(dim) }]];
}

/** The value of a resource as the device holds it, undefined when it has none. */
async function readQuietly(tree: ObjectTree, path: LwM2mPath): Promise<LwM2mNode | undefined> {
  try {
    return await tree.read(path, { kind: 'local' });
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}

/** FETCH `/`: Read-Composite, or Observe-Composite with Observe=0 (Core TS 1.2 §6.3.8, §6.4.3). */
async function fetchComposite(
  tree: ObjectTree,
  path: LwM2mPath,
  req: CoapRequest,
  ctx: RequestContext,
  origin: RequestOrigin,
  options: DmHandlerOptions,
): Promise<CoapResponse> {
  const { version } = options;
  if (version === '1.0') throw new MethodNotAllowedError('FETCH is not an LwM2M 1.0 operation');
  if (!path.isRoot()) throw new MethodNotAllowedError('composite operations target /');
  const cf = req.contentFormat;
  let paths: LwM2mPath[];
  if (cf === ContentFormat.SENML_JSON) paths = decodeSenmlJsonPaths(req.payload);
  else if (cf === ContentFormat.SENML_CBOR) paths = decodeSenmlCborPaths(req.payload);
  else {
    throw new UnsupportedContentFormatError(
      `a composite path list comes in SenML JSON (110) or SenML CBOR (112), not ${cf ?? 'no format'}`,
    );
  }
  const allowed = compositeFormats(version);
  // Without Accept, the answer comes in the format of the request.
  const format = req.accept ?? cf;
  if (!allowed.includes(format as (typeof allowed)[number])) {
    throw new NotAcceptableError(`content format ${format} cannot carry a composite answer`);
  }
  if (req.observe === 0) return options.observe(req, ctx, paths, true, format);
  return encodeRead(tree, paths, true, format, origin);
}

/** iPATCH `/`: Write-Composite (Core TS 1.2 §6.3.9). */
async function writeComposite(
  tree: ObjectTree,
  path: LwM2mPath,
  req: CoapRequest,
  origin: RequestOrigin,
  version: LwM2mVersion,
): Promise<CoapResponse> {
  if (version === '1.0') throw new MethodNotAllowedError('iPATCH is not an LwM2M 1.0 operation');
  if (!path.isRoot()) throw new MethodNotAllowedError('composite operations target /');
  const allowed: readonly number[] = compositeFormats(version);
  if (req.contentFormat === undefined || !allowed.includes(req.contentFormat)) {
    throw new UnsupportedContentFormatError(
      `Write-Composite comes in ${allowed.join(', ')}, not ${req.contentFormat ?? 'no format'}`,
    );
  }
  const values = decodeValues(req.contentFormat, req.payload, { model: tree.models() });
  if (values.some((v) => v.time !== undefined)) {
    throw new InvalidValueError('Write-Composite values carry no time');
  }
  const seen = new Set<string>();
  for (const v of values) {
    const key = `${v.path}`;
    if (seen.has(key)) throw new InvalidValueError(`${key} is given twice`);
    seen.add(key);
  }
  await tree.writeValues(values, origin);
  return { code: '2.04' };
}

// -------------------------------------------------------------------------------------------------
// The Bootstrap interface, client side (Core TS 1.2 §6.1)

const BOOTSTRAP: RequestOrigin = Object.freeze({ kind: 'bootstrap' });

/** Objects a Bootstrap-Read may target (Core TS 1.2 §6.1.7.3: Server and Access Control). */
const BOOTSTRAP_READABLE: ReadonlySet<number> = new Set([1, 2]);

export interface BootstrapHandlerOptions {
  /** The LwM2M version the client bootstraps with: content formats, Bootstrap-Read (1.1+). */
  readonly version: LwM2mVersion;
  /**
   * Called before a Bootstrap-Delete or Bootstrap-Write of `path`, so the state it changes can be
   * kept for a rollback; a throw refuses the request.
   */
  readonly beforeChange?: (path: LwM2mPath, operation: 'write' | 'delete') => MaybePromise<void>;
  /**
   * Bootstrap-Finish: resolves to accept (2.04); throws `NotAcceptableError` (4.06) when the
   * configuration cannot be used.
   */
  readonly finish: () => MaybePromise<void>;
}

/**
 * The requests of an LwM2M bootstrap server (Core TS 1.2 §6.1.7), served on the socket the
 * Bootstrap-Request went out on, as the bootstrap server (origin `bootstrap`):
 *
 * | Request                 | Operation                                                       |
 * |-------------------------|-----------------------------------------------------------------|
 * | POST /bs                | Bootstrap-Finish (2.04, or 4.06 for an unusable configuration)  |
 * | GET / or /o, Accept 40  | Bootstrap-Discover                                              |
 * | GET /1…, /2… (1.1+)     | Bootstrap-Read (Server and Access Control only, else 4.05)      |
 * | PUT /o, /o/i, /o/i/r    | Bootstrap-Write (missing instances are created)                 |
 * | DELETE /, /o, /o/i      | Bootstrap-Delete (the bootstrap account and Device stay)        |
 *
 * Anything else is 4.05.
 */
export function createBootstrapHandler(
  tree: ObjectTree,
  options: BootstrapHandlerOptions,
): RequestHandler {
  const { version } = options;
  return async (req) => {
    if (req.path.length === 1 && req.path[0] === 'bs') {
      if (req.method !== 'POST') throw new MethodNotAllowedError('Bootstrap-Finish is a POST');
      await options.finish();
      return { code: '2.04' };
    }
    const path = requestPath(req);
    switch (req.method) {
      case 'GET': {
        if (req.accept === LINK_FORMAT) return bootstrapDiscover(tree, path, version);
        if (version === '1.0') {
          throw new MethodNotAllowedError('Bootstrap-Read is not an LwM2M 1.0 operation');
        }
        if (path.isRoot() || !BOOTSTRAP_READABLE.has(path.objectId!)) {
          throw new MethodNotAllowedError(
            `Bootstrap-Read is allowed on the Server (/1) and Access Control (/2) objects only, not ${path}`,
          );
        }
        assertTarget(tree, path, BOOTSTRAP);
        return encodeRead(
          tree,
          [path],
          false,
          readFormat(tree, path, req.accept, version),
          BOOTSTRAP,
        );
      }
      case 'PUT':
        if (path.isRoot()) throw new MethodNotAllowedError('Bootstrap-Write is not allowed on /');
        await options.beforeChange?.(path, 'write');
        return write(tree, path, req, 'replace', BOOTSTRAP, version);
      case 'DELETE': {
        if (path.isResource() || path.isResourceInstance()) {
          throw new MethodNotAllowedError(
            `Bootstrap-Delete targets /, an object or an instance, not ${path}`,
          );
        }
        if (path.isInstance() && path.objectId === 0 && (await isBootstrapAccount(tree, path))) {
          // Core TS 1.2 §6.1.7.4: the Bootstrap-Server account is not deleted.
          throw new InvalidValueError(`${path} is the bootstrap-server account: it stays`);
        }
        await options.beforeChange?.(path, 'delete');
        await tree.delete(path, BOOTSTRAP);
        return { code: '2.02' };
      }
      default:
        throw new MethodNotAllowedError(
          `${req.method} /${req.path.join('/')} is not a Bootstrap interface operation`,
        );
    }
  };
}

async function isBootstrapAccount(tree: ObjectTree, path: LwM2mPath): Promise<boolean> {
  const node = await readQuietly(tree, path.child(1));
  return node?.kind === 'singleResource' && node.value === true;
}

/** A single-resource value as the device holds it (undefined when absent). */
async function heldValue(tree: ObjectTree, path: LwM2mPath): Promise<unknown> {
  const node = await readQuietly(tree, path);
  return node?.kind === 'singleResource' ? node.value : undefined;
}

/**
 * Bootstrap-Discover (Core TS 1.2 §6.1.7.2) of `/` or an object: `</>;lwm2m="1.x"` first (for
 * `/`), then each object (with `ver` when not 1.0) or its instances; Security instances carry
 * `ssid` and `uri` (the bootstrap account `uri` only), Server instances `ssid`.
 */
async function bootstrapDiscover(
  tree: ObjectTree,
  path: LwM2mPath,
  version: LwM2mVersion,
): Promise<CoapResponse> {
  if (!path.isRoot() && !path.isObject()) {
    throw new InvalidValueError(`Bootstrap-Discover targets / or an object, not ${path}`);
  }
  const ids = path.isRoot() ? tree.objectIds() : [path.objectId!];
  const enablerOf = (id: number) => {
    const e = tree.get(id);
    if (e === undefined) throw new NotFoundError(`object ${id} not found`);
    return e;
  };
  const links: Link[] = path.isRoot() ? [link('/', { lwm2m: version })] : [];
  for (const id of ids) {
    const enabler = enablerOf(id);
    const instances = enabler.instanceIds();
    const versioned = version !== '1.0' && enabler.model.version !== '1.0';
    if (versioned || instances.length === 0) {
      links.push(link(`/${id}`, versioned ? { ver: enabler.model.version } : {}));
    }
    for (const iid of instances) {
      const ip = LwM2mPath.of(id, iid);
      const attributes: LinkAttribute[] = [];
      if (id === 0 || id === 1) {
        const bootstrap = id === 0 && (await heldValue(tree, ip.child(1))) === true;
        const ssid = await heldValue(tree, ip.child(id === 0 ? 10 : 0));
        if (!bootstrap && (typeof ssid === 'bigint' || typeof ssid === 'number')) {
          attributes.push(['ssid', { kind: 'token', value: String(ssid) }]);
        }
        const uri = id === 0 ? await heldValue(tree, ip.child(0)) : undefined;
        if (typeof uri === 'string' && uri !== '' && version !== '1.0') {
          attributes.push(['uri', { kind: 'quoted', value: uri }]);
        }
      }
      links.push({ uri: `${ip}`, attributes });
    }
  }
  return { code: '2.05', payload: encodeLinkFormat(links), contentFormat: LINK_FORMAT };
}
