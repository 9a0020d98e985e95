import type { LwM2mVersion, ModelProvider, TimedValue } from '@lwm2m-ts/codecs';
import {
  ContentFormat,
  convertValue,
  flattenNode,
  formatLinkFormat,
  InvalidValueError,
  isReadable,
  isWritable,
  type Link,
  type LwM2mNode,
  type LwM2mObjectInstance,
  LwM2mPath,
  type LwM2mResource,
  type LwM2mResourceInstance,
  link,
  lwm2mObject,
  MethodNotAllowedError,
  multipleResource,
  NotFoundError,
  type ObjectModel,
  objectInstance,
  type PathValue,
  type ResourceModel,
  resourceInstance,
  singleResource,
  type TypedValue,
} from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import type { ObjectEnabler, RequestOrigin } from './object-enabler.js';

/** Security (0) and OSCORE (21): credentials, never shown to a DM server. */
const HIDDEN_OBJECTS: ReadonlySet<number> = new Set([0, 21]);

/**
 * Formats the root link's `ct` advertises (Core TS 1.2 §6.2.1: the formats the client supports
 * beyond the mandatory text/plain, opaque and link-format).
 */
const ADVERTISED_FORMATS: Readonly<Record<'1.1' | '1.2', readonly number[]>> = {
  '1.1': [
    ContentFormat.CBOR,
    ContentFormat.SENML_JSON,
    ContentFormat.SENML_CBOR,
    ContentFormat.TLV,
    ContentFormat.LWM2M_JSON,
  ],
  '1.2': [
    ContentFormat.CBOR,
    ContentFormat.SENML_JSON,
    ContentFormat.SENML_CBOR,
    ContentFormat.TLV,
    ContentFormat.LWM2M_JSON,
    ContentFormat.LWM2M_CBOR,
  ],
};

/** The root link of the object list per version, formatted once. */
const ROOT_LINK_TEXT: Readonly<Record<'1.1' | '1.2', string>> = {
  '1.1': formatLinkFormat([
    link('/', { rt: 'oma.lwm2m', ct: ADVERTISED_FORMATS['1.1'].join(' ') }),
  ]),
  '1.2': formatLinkFormat([
    link('/', { rt: 'oma.lwm2m', ct: ADVERTISED_FORMATS['1.2'].join(' ') }),
  ]),
};

/** An object version `ver` carries as a bare token. */
const PLAIN_VERSION = /^\d+(\.\d+)*$/;

/** What a tree knows of an object before its enabler is built: its model and instances. */
export interface LazyEntry {
  readonly model: ObjectModel;
  readonly instanceIds: readonly number[];
}

/**
 * Objects whose enablers are built at their first use (`ObjectTree.addLazy`): what each object
 * is, which many trees may share (a fleet's devices all have the same built-in objects), and how
 * this tree builds one.
 */
export interface LazyObjects {
  /** Model and instances by object id. Never changed once given to a tree. */
  readonly entries: ReadonlyMap<number, LazyEntry>;
  /** Builds the enabler of `objectId`, with the model and instances its entry gives. */
  readonly build: (objectId: number) => ObjectEnabler;
}

/** The ids of a shared `entries` map, sorted once. */
const sortedIds = new WeakMap<ReadonlyMap<number, LazyEntry>, readonly number[]>();
/** The object list of a shared `entries` map per version, as `objectLinksText` writes it. */
const sharedLinks = new WeakMap<
  ReadonlyMap<number, LazyEntry>,
  Partial<Record<LwM2mVersion, string>>
>();

/** An enabler that can say which resources an instance supports (for Discover). */
interface ResourceListing {
  resourceIds(instanceId: number): readonly number[];
}

function listsResources(e: ObjectEnabler): e is ObjectEnabler & ResourceListing {
  return typeof (e as Partial<ResourceListing>).resourceIds === 'function';
}

const LOCAL: RequestOrigin = Object.freeze({ kind: 'local' });

type Operation = 'read' | 'write' | 'execute' | 'create' | 'delete' | 'discover';

/**
 * The client's objects: routes LwM2M operations to the object enablers after checking them
 * against the object models and the rules of the Device Management interface (Core TS 1.2
 * §6.3), so enablers only hold data. Every access rule lives in this class (`#locate`,
 * `#hidden`, `#checkResource` and the operation methods): a DM server is held to the model's
 * R/W/E and cannot see Security (0) or OSCORE (21); the bootstrap server and the device itself
 * (`local`) are not (Core TS 1.2 §6.1: Bootstrap-Write may set any resource).
 */
export class ObjectTree {
  readonly #registry: ObjectRegistry;
  readonly #enablers = new Map<number, ObjectEnabler>();
  /** Objects added with `addLazy`, the latest last; `#settled` ids of theirs are not lazy now. */
  #lazy: LazyObjects[] | undefined;
  /** Ids in `#lazy` that were built, removed or replaced since. */
  #settled: Set<number> | undefined;
  /** Unsubscribes from the enablers' changes (made with the first enabler). */
  #unsubscribe: Map<number, () => void> | undefined;
  readonly #listeners = new Set<(paths: readonly LwM2mPath[]) => void>();
  /** `objectIds()` until an object is added or removed. */
  #ids: readonly number[] | undefined;
  /** What `models()` returns: one provider for every codec call (made at the first). */
  #models: ModelProvider | undefined;

  constructor(registry: ObjectRegistry = ObjectRegistry.withBuiltins()) {
    this.#registry = registry;
  }

  /** Adds an object (replacing one with the same id); emits a change for the object path. */
  add(enabler: ObjectEnabler): this {
    const id = enabler.model.id;
    this.#settle(id);
    this.#attach(enabler);
    this.#ids = undefined;
    if (this.#listeners.size > 0) this.#emit([LwM2mPath.of(id)]);
    return this;
  }

  /**
   * Adds objects whose enablers are built at their first use (`get`, or any operation on them):
   * until then an object costs nothing of its own, its entry (shared) serving the Register
   * object list, model lookups and codecs. A device of a fleet is rarely asked for most of its
   * objects. They replace objects with the same ids; a change is emitted for each object path,
   * as `add` does.
   */
  addLazy(objects: LazyObjects): this {
    for (const id of objects.entries.keys()) {
      this.#unsubscribe?.get(id)?.();
      this.#unsubscribe?.delete(id);
      this.#enablers.delete(id);
      this.#settled?.delete(id);
    }
    this.#lazy ??= [];
    this.#lazy.push(objects);
    this.#ids = undefined;
    if (this.#listeners.size > 0) {
      this.#emit([...objects.entries.keys()].map((id) => LwM2mPath.of(id)));
    }
    return this;
  }

  remove(objectId: number): boolean {
    const lazy = this.#lazyOf(objectId) !== undefined;
    if (!this.#enablers.delete(objectId) && !lazy) return false;
    this.#settle(objectId);
    this.#unsubscribe?.get(objectId)?.();
    this.#unsubscribe?.delete(objectId);
    this.#ids = undefined;
    if (this.#listeners.size > 0) this.#emit([LwM2mPath.of(objectId)]);
    return true;
  }

  /** The object's enabler (built now when it was added with `addLazy`). */
  get(objectId: number): ObjectEnabler | undefined {
    return this.#enabler(objectId);
  }

  /**
   * Whether the object was added with `addLazy` and is not built yet: nothing has read or
   * changed it, so it holds exactly what its `build` gives.
   */
  isLazy(objectId: number): boolean {
    return this.#lazyOf(objectId) !== undefined;
  }

  /** The enablers built so far (objects added lazily and never used are not). */
  builtEnablers(): ObjectEnabler[] {
    return [...this.#enablers.values()];
  }

  objectIds(): number[] {
    return [...this.#objectIds()];
  }

  /** The enablers' models (the registry's for other objects), for codecs. */
  models(): ModelProvider {
    this.#models ??= { get: (id) => this.#model(id) ?? this.#registry.get(id) };
    return this.#models;
  }

  /** The model of the resource a path points to (resource or resource-instance level). */
  resourceModel(path: LwM2mPath): ResourceModel | undefined {
    if (path.resourceId === undefined) return undefined;
    return this.#model(path.objectId!)?.resources.get(path.resourceId);
  }

  /**
   * The Register/Update object list (Core TS 1.2 §6.2.1): for 1.1+ a root link
   * `</>;rt="oma.lwm2m";ct="…"` listing the content formats we decode, then each object's
   * instances (`</3/0>`), or the object alone when it has none (`</5>`). Objects in a version
   * other than 1.0 carry `ver` on an object link (1.1+; 1.0 has no object versions). Security
   * (0) and OSCORE (21) are never listed.
   */
  objectLinks(version: LwM2mVersion): Link[] {
    const links: Link[] = [];
    if (version !== '1.0') {
      links.push(link('/', { rt: 'oma.lwm2m', ct: ADVERTISED_FORMATS[version].join(' ') }));
    }
    for (const id of this.#objectIds()) {
      if (HIDDEN_OBJECTS.has(id)) continue;
      const model = this.#model(id)!;
      const instances = this.#instanceIds(id);
      const versioned = version !== '1.0' && model.version !== '1.0';
      if (instances.length === 0 || versioned) {
        links.push(link(`/${id}`, versioned ? { ver: model.version } : {}));
      }
      for (const i of instances) links.push(link(`/${id}/${i}`));
    }
    return links;
  }

  /**
   * `formatLinkFormat(objectLinks(version))`, the payload of Register and Update, written
   * directly: the links are numeric paths, the root link is fixed and `ver` a plain version
   * (anything else takes the general path).
   */
  objectLinksText(version: LwM2mVersion): string {
    const shared = this.#onlyShared();
    if (shared !== undefined) {
      // Nothing but shared objects, none built: the text is the same for every tree sharing them.
      let texts = sharedLinks.get(shared);
      if (texts === undefined) {
        texts = {};
        sharedLinks.set(shared, texts);
      }
      texts[version] ??= this.#linksText(version);
      return texts[version];
    }
    return this.#linksText(version);
  }

  #linksText(version: LwM2mVersion): string {
    let text = version === '1.0' ? '' : ROOT_LINK_TEXT[version];
    for (const id of this.#objectIds()) {
      if (HIDDEN_OBJECTS.has(id)) continue;
      const model = this.#model(id)!;
      const instances = this.#instanceIds(id);
      const versioned = version !== '1.0' && model.version !== '1.0';
      if (versioned && !PLAIN_VERSION.test(model.version)) {
        return formatLinkFormat(this.objectLinks(version));
      }
      if (instances.length === 0 || versioned) {
        text += `${text === '' ? '' : ','}</${id}>${versioned ? `;ver=${model.version}` : ''}`;
      }
      for (const i of instances) {
        if (!Number.isInteger(i) || i < 0) return formatLinkFormat(this.objectLinks(version));
        text += `${text === '' ? '' : ','}</${id}/${i}>`;
      }
    }
    return text;
  }

  /** Whether the path exists for this origin (object, instance, resource value). */
  async exists(path: LwM2mPath, origin: RequestOrigin): Promise<boolean> {
    if (path.resourceId === undefined && !path.isRoot()) {
      return this.hasInstance(path.objectId!, path.instanceId, origin);
    }
    try {
      this.#locate(path, origin, 'discover');
      if (path.resourceId !== undefined) await this.read(path, LOCAL);
      return true;
    } catch (e) {
      if (e instanceof NotFoundError) return false;
      throw e;
    }
  }

  /**
   * `exists` of an object (`instanceId` undefined) or an instance, answered at once: the object
   * is there for this origin (Security and OSCORE are not, for a DM server) and has the instance.
   */
  hasInstance(objectId: number, instanceId: number | undefined, origin: RequestOrigin): boolean {
    if (this.#hidden(objectId, origin) || this.#model(objectId) === undefined) return false;
    return instanceId === undefined || this.#instanceIds(objectId).includes(instanceId);
  }

  async read(path: LwM2mPath, origin: RequestOrigin): Promise<LwM2mNode> {
    const { enabler, model } = this.#locate(path, origin, 'read');
    const [, instanceId, resourceId, riId] = path.ids;
    if (instanceId === undefined) {
      const instances: LwM2mObjectInstance[] = [];
      for (const i of enabler.instanceIds()) {
        instances.push(await this.#readInstance(enabler, i, origin));
      }
      return lwm2mObject(model.id, instances);
    }
    if (resourceId === undefined) return this.#readInstance(enabler, instanceId, origin);
    const resource = await this.#readResource(enabler, instanceId, resourceId, origin);
    if (riId === undefined) return resource;
    const ri =
      resource.kind === 'multipleResource'
        ? resource.instances.find((x) => x.id === riId)
        : undefined;
    if (ri === undefined) throw new NotFoundError(`${path} not found`);
    return ri;
  }

  /**
   * Read-Composite (Core TS 1.2 §6.3.8): the values under every path, in path order, each once.
   * Paths that do not exist are skipped; other refusals (a non-readable resource) fail the
   * whole read. `/` reads every object the origin may see.
   */
  async readValues(paths: readonly LwM2mPath[], origin: RequestOrigin): Promise<TimedValue[]> {
    const byPath = new Map<string, PathValue>();
    const targets = paths.flatMap((p) =>
      p.isRoot()
        ? this.objectIds()
            .filter((id) => !this.#hidden(id, origin))
            .map((id) => LwM2mPath.of(id))
        : [p],
    );
    for (const p of targets) {
      let node: LwM2mNode;
      try {
        node = await this.read(p, origin);
      } catch (e) {
        if (e instanceof NotFoundError) continue;
        throw e;
      }
      for (const v of flattenNode(p, node)) byPath.set(`${v.path}`, v);
    }
    return [...byPath.values()].sort((a, b) => LwM2mPath.compare(a.path, b.path));
  }

  /**
   * Write (Core TS 1.2 §6.3.3). On an instance, `replace` replaces the instance (writable
   * resources not given are reset) and `update` changes only what is given. On a resource,
   * `replace` replaces the resource with all its instances; `update` of a multiple resource
   * adds or changes the instances given (1.1 partial update). On a resource instance, that
   * instance is set. The bootstrap server may write an object, creating missing instances.
   */
  async write(
    path: LwM2mPath,
    node: LwM2mNode,
    mode: 'replace' | 'update',
    origin: RequestOrigin,
  ): Promise<void> {
    const [objectId, instanceId, resourceId, riId] = path.ids;
    if (
      origin.kind === 'bootstrap' &&
      instanceId !== undefined &&
      riId === undefined &&
      !this.#enabler(objectId!)?.instanceIds().includes(instanceId)
    ) {
      // Bootstrap-Write of an instance that does not exist yet creates it (Core TS 1.2 §6.1).
      const { enabler, model } = this.#locate(LwM2mPath.of(objectId!), origin, 'write');
      const given =
        node.kind === 'instance' ? node.resources : node.kind === 'object' ? [] : [node];
      if (node.kind === 'object' || given.some((r) => r.kind === 'resourceInstance')) {
        throw new InvalidValueError(`the payload is not a value for ${path}`);
      }
      const resources = this.#checkResources(model, given as LwM2mResource[], origin, 'write');
      await enabler.create(instanceId, resources, origin);
      return;
    }
    const { enabler, model } = this.#locate(path, origin, 'write');
    if (instanceId === undefined) {
      if (origin.kind === 'server' || node.kind !== 'object') {
        throw new MethodNotAllowedError(`Write on the object ${path} is not allowed`);
      }
      // Bootstrap-Write on an object (Core TS 1.2 §6.1): instances are written or created.
      for (const inst of node.instances) {
        const resources = this.#checkResources(model, inst.resources, origin, 'write');
        if (enabler.instanceIds().includes(inst.id)) {
          await enabler.write(inst.id, resources, 'update', origin);
        } else {
          await enabler.create(inst.id, resources, origin);
        }
      }
      return;
    }
    if (resourceId === undefined) {
      if (node.kind !== 'instance' || node.id !== instanceId) {
        throw new InvalidValueError(`the payload is not the instance ${path}`);
      }
      const resources = this.#checkResources(model, node.resources, origin, 'write');
      if (mode === 'replace' && origin.kind === 'server') {
        // A replace cannot leave a mandatory writable resource without a value.
        const given = new Set(node.resources.map((r) => r.id));
        for (const r of model.resources.values()) {
          if (r.mandatory && isWritable(r) && !given.has(r.id)) {
            throw new InvalidValueError(
              `replacing ${path} needs the mandatory resource ${r.id} (${r.name})`,
            );
          }
        }
      }
      await enabler.write(instanceId, resources, mode, origin);
      return;
    }
    const rm = this.#checkResource(model, resourceId, origin, 'write', path);
    if (riId === undefined) {
      if (
        (node.kind !== 'singleResource' && node.kind !== 'multipleResource') ||
        node.id !== resourceId
      ) {
        throw new InvalidValueError(`the payload is not the resource ${path}`);
      }
      let resource = typedResource(rm, node);
      if (mode === 'update' && resource.kind === 'multipleResource') {
        resource = mergeInstances(
          await this.#current(enabler, instanceId, resourceId),
          rm,
          resource.instances,
        );
      }
      await enabler.write(instanceId, [resource], 'update', origin);
      return;
    }
    if (!rm.multiple) throw new NotFoundError(`${path.parent()} is a single resource`);
    if (node.kind !== 'resourceInstance' || node.id !== riId) {
      throw new InvalidValueError(`the payload is not the resource instance ${path}`);
    }
    const merged = mergeInstances(await this.#current(enabler, instanceId, resourceId), rm, [node]);
    await enabler.write(instanceId, [merged], 'update', origin);
  }

  /**
   * Write-Composite (Core TS 1.2 §6.3.9): every target is checked before anything is written,
   * then each instance gets one update. Values at resource-instance paths add to or change that
   * instance of the multiple resource.
   */
  async writeValues(values: readonly PathValue[], origin: RequestOrigin): Promise<void> {
    type Pending = {
      enabler: ObjectEnabler;
      singles: LwM2mResource[];
      multi: Map<number, LwM2mResourceInstance[]>;
    };
    const byInstance = new Map<string, Pending & { objectId: number; instanceId: number }>();
    for (const { path, value } of values) {
      if (!path.isResource() && !path.isResourceInstance()) {
        throw new InvalidValueError(
          `${path} is not a resource path: Write-Composite sets resources`,
        );
      }
      const [objectId, instanceId, resourceId, riId] = path.ids as [
        number,
        number,
        number,
        number | undefined,
      ];
      const { enabler, model } = this.#locate(LwM2mPath.of(objectId, instanceId), origin, 'write');
      const rm = this.#checkResource(model, resourceId, origin, 'write', path);
      const key = `${objectId}/${instanceId}`;
      let pending = byInstance.get(key);
      if (pending === undefined) {
        pending = { enabler, objectId, instanceId, singles: [], multi: new Map() };
        byInstance.set(key, pending);
      }
      const typed = typedValueFor(rm, value, path);
      if (riId === undefined) {
        if (rm.multiple) throw new InvalidValueError(`${path} is multiple: give its instances`);
        pending.singles.push(singleResource(resourceId, typed.type, typed.value as never));
      } else {
        if (!rm.multiple) throw new NotFoundError(`${path.parent()} is a single resource`);
        const list = pending.multi.get(resourceId) ?? [];
        list.push(resourceInstance(riId, typed.type, typed.value as never));
        pending.multi.set(resourceId, list);
      }
    }
    for (const p of byInstance.values()) {
      const resources = [...p.singles];
      for (const [rid, instances] of p.multi) {
        const rm = p.enabler.model.resources.get(rid)!;
        resources.push(
          mergeInstances(await this.#current(p.enabler, p.instanceId, rid), rm, instances),
        );
      }
      await p.enabler.write(p.instanceId, resources, 'update', origin);
    }
  }

  /** Execute (Core TS 1.2 §6.3.5) of a resource whose model says E. */
  async execute(path: LwM2mPath, args: string, origin: RequestOrigin): Promise<void> {
    if (!path.isResource()) {
      throw new MethodNotAllowedError(`Execute needs a resource path, not ${path}`);
    }
    const { enabler, model } = this.#locate(path.parent(), origin, 'execute');
    this.#checkResource(model, path.resourceId!, origin, 'execute', path);
    await enabler.execute(path.instanceId!, path.resourceId!, args, origin);
  }

  /**
   * Create (Core TS 1.2 §6.3.6): a new instance with the lowest free id unless one is given
   * (an id in use is 4.00). A DM server cannot create a second instance of a single-instance
   * object (4.05) and must give every mandatory resource (4.00).
   */
  async create(
    objectId: number,
    instanceId: number | undefined,
    resources: readonly LwM2mResource[],
    origin: RequestOrigin,
  ): Promise<number> {
    const { enabler, model } = this.#locate(LwM2mPath.of(objectId), origin, 'create');
    const existing = enabler.instanceIds();
    if (!model.multiple && existing.length > 0) {
      throw new MethodNotAllowedError(
        `object ${objectId} (${model.name}) is single-instance and already has /${objectId}/${existing[0]}`,
      );
    }
    if (instanceId !== undefined && existing.includes(instanceId)) {
      throw new InvalidValueError(`/${objectId}/${instanceId} already exists`);
    }
    const typed = this.#checkResources(model, resources, origin, 'create');
    if (origin.kind === 'server') {
      const given = new Set(resources.map((r) => r.id));
      for (const r of model.resources.values()) {
        if (r.mandatory && r.operations !== 'E' && !given.has(r.id)) {
          throw new InvalidValueError(
            `creating an instance of /${objectId} needs the mandatory resource ${r.id} (${r.name})`,
          );
        }
      }
    }
    let id = instanceId ?? 0;
    if (instanceId === undefined) {
      const used = new Set(existing);
      while (used.has(id)) id++;
      if (id > 65534) throw new InvalidValueError(`object ${objectId} has no free instance id`);
    }
    await enabler.create(id, typed, origin);
    return id;
  }

  /**
   * Delete (Core TS 1.2 §6.3.7): a DM server deletes object instances only, and not the one
   * instance of a mandatory single-instance object (Device). The bootstrap server may delete
   * an object's instances or everything (`/`, Bootstrap-Delete, Core TS 1.2 §6.1), except the
   * Bootstrap-Server account in Security and the instances of mandatory single-instance objects;
   * on `/`, instances whose object refuses to delete them (4.05) stay too.
   */
  async delete(path: LwM2mPath, origin: RequestOrigin): Promise<void> {
    if (origin.kind === 'server' && !path.isInstance()) {
      throw new MethodNotAllowedError(`Delete is allowed on object instances only, not ${path}`);
    }
    if (path.isResource() || path.isResourceInstance()) {
      throw new MethodNotAllowedError(`Delete is allowed on object instances only, not ${path}`);
    }
    if (path.isRoot() || path.isObject()) {
      const ids = path.isRoot() ? this.objectIds() : [path.objectId!];
      if (path.isObject()) this.#locate(path, origin, 'delete');
      for (const oid of ids) {
        const enabler = this.#enabler(oid)!;
        if (isUndeletable(enabler.model)) continue;
        for (const iid of enabler.instanceIds()) {
          if (oid === 0 && (await isBootstrapAccount(enabler, iid))) continue;
          try {
            await enabler.delete(iid, origin);
          } catch (e) {
            // Delete of `/` clears what can be cleared: an object that keeps its instance by
            // design (a single Firmware Update instance) does not fail the whole operation.
            if (path.isRoot() && e instanceof MethodNotAllowedError) continue;
            throw e;
          }
        }
      }
      return;
    }
    const { enabler, model } = this.#locate(path, origin, 'delete');
    if (origin.kind === 'server' && isUndeletable(model)) {
      throw new MethodNotAllowedError(
        `the instance of the mandatory single-instance object ${model.id} (${model.name}) cannot be deleted`,
      );
    }
    await enabler.delete(path.instanceId!, origin);
  }

  onChange(listener: (paths: readonly LwM2mPath[]) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Resource ids an instance supports, for Discover (Core TS 1.2 §6.3.2): what the enabler
   * lists, or else the resources holding a value plus the model's mandatory executable ones.
   */
  async resourceIds(path: LwM2mPath, origin: RequestOrigin): Promise<number[]> {
    const { enabler, model } = this.#locate(path, origin, 'discover');
    const instanceId = path.instanceId!;
    if (listsResources(enabler)) return [...enabler.resourceIds(instanceId)];
    const ids = new Set((await enabler.read(instanceId, undefined, LOCAL)).map((r) => r.id));
    for (const r of model.resources.values())
      if (r.operations === 'E' && r.mandatory) ids.add(r.id);
    return [...ids].sort((a, b) => a - b);
  }

  /**
   * The object, the instance (if the path names one) and the access rules: a hidden object is
   * 4.04 for a DM server, an unknown object or instance 4.04.
   */
  #locate(
    path: LwM2mPath,
    origin: RequestOrigin,
    op: Operation,
  ): { enabler: ObjectEnabler; model: ObjectModel } {
    if (path.isRoot()) throw new MethodNotAllowedError(`${op} is not allowed on /`);
    const objectId = path.objectId!;
    if (this.#hidden(objectId, origin)) throw new NotFoundError(`object ${objectId} not found`);
    const enabler = this.#enabler(objectId);
    if (enabler === undefined) {
      throw new NotFoundError(`object ${objectId} not found`);
    }
    const instanceId = path.instanceId;
    if (instanceId !== undefined && !enabler.instanceIds().includes(instanceId)) {
      throw new NotFoundError(`/${objectId}/${instanceId} not found`);
    }
    if (path.resourceId !== undefined && !enabler.model.resources.has(path.resourceId)) {
      throw new NotFoundError(
        `${path.isResource() ? path : path.parent()} is not in the model of object ${objectId}`,
      );
    }
    return { enabler, model: enabler.model };
  }

  /**
   * Core TS 1.2 Appendix E.1: the Security object (and OSCORE, object 21 in 1.1+) is not accessible
   * to DM servers: it does not exist for them.
   */
  #hidden(objectId: number, origin: RequestOrigin): boolean {
    return origin.kind === 'server' && HIDDEN_OBJECTS.has(objectId);
  }

  /**
   * The operation rules for one resource (Core TS 1.2 §6.3: 4.05 when the model does not
   * allow the operation to a DM server). Execute needs E whoever asks.
   */
  #checkResource(
    model: ObjectModel,
    resourceId: number,
    origin: RequestOrigin,
    op: Operation,
    path: LwM2mPath | string,
  ): ResourceModel {
    const rm = model.resources.get(resourceId);
    if (rm === undefined)
      throw new NotFoundError(`${path} is not in the model of object ${model.id}`);
    if (op === 'execute') {
      if (rm.operations !== 'E') throw new MethodNotAllowedError(`${path} is not executable`);
      return rm;
    }
    if (origin.kind !== 'server') return rm;
    if (op === 'read' && !isReadable(rm))
      throw new MethodNotAllowedError(`${path} is not readable`);
    if (op === 'write' && !isWritable(rm))
      throw new MethodNotAllowedError(`${path} is not writable`);
    return rm;
  }

  /**
   * Every resource of a write or create payload is in the model and allowed; returns them
   * typed by the model.
   */
  #checkResources(
    model: ObjectModel,
    resources: readonly LwM2mResource[],
    origin: RequestOrigin,
    op: 'write' | 'create',
  ): LwM2mResource[] {
    return resources.map((r) => {
      const rm = model.resources.get(r.id);
      if (rm === undefined) {
        throw new NotFoundError(`resource ${r.id} is not in the model of object ${model.id}`);
      }
      if (rm.operations === 'E') {
        throw new MethodNotAllowedError(
          `resource ${r.id} (${rm.name}) is executable: it takes no value`,
        );
      }
      // Create may set read-only resources (e.g. the Object ID of an ACL instance).
      if (op === 'write') {
        this.#checkResource(model, r.id, origin, 'write', `resource ${r.id} (${rm.name})`);
      }
      return typedResource(rm, r);
    });
  }

  async #readInstance(
    enabler: ObjectEnabler,
    instanceId: number,
    origin: RequestOrigin,
  ): Promise<LwM2mObjectInstance> {
    const resources = await enabler.read(instanceId, undefined, origin);
    // Core TS 1.2 §6.3.1: a Read of an instance returns its readable resources only.
    const visible =
      origin.kind === 'server'
        ? resources.filter((r) => {
            const rm = enabler.model.resources.get(r.id);
            return rm !== undefined && isReadable(rm);
          })
        : resources;
    return objectInstance(instanceId, visible);
  }

  async #readResource(
    enabler: ObjectEnabler,
    instanceId: number,
    resourceId: number,
    origin: RequestOrigin,
  ): Promise<LwM2mResource> {
    const where = () => `/${enabler.model.id}/${instanceId}/${resourceId}`;
    const rm = enabler.model.resources.get(resourceId);
    if (rm === undefined || (origin.kind === 'server' && !isReadable(rm))) {
      this.#checkResource(enabler.model, resourceId, origin, 'read', where());
    }
    const read = await enabler.read(instanceId, resourceId, origin);
    // Enablers give the one resource asked for (the first look finds it).
    const found = read[0]?.id === resourceId ? read[0] : read.find((r) => r.id === resourceId);
    if (found === undefined) throw new NotFoundError(`${where()} has no value`);
    return found;
  }

  /** The current value of a resource for merging, whoever may read it; undefined when absent. */
  async #current(
    enabler: ObjectEnabler,
    instanceId: number,
    resourceId: number,
  ): Promise<LwM2mResource | undefined> {
    try {
      return (await enabler.read(instanceId, resourceId, LOCAL)).find((r) => r.id === resourceId);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }

  /** The entries of the one group of lazy objects, when the tree holds nothing else, none built. */
  #onlyShared(): ReadonlyMap<number, LazyEntry> | undefined {
    const lazy = this.#lazy;
    if (
      lazy === undefined ||
      lazy.length !== 1 ||
      this.#enablers.size !== 0 ||
      (this.#settled !== undefined && this.#settled.size !== 0)
    ) {
      return undefined;
    }
    return lazy[0]!.entries;
  }

  #objectIds(): readonly number[] {
    if (this.#ids !== undefined) return this.#ids;
    const entries = this.#onlyShared();
    if (entries !== undefined) {
      // Only the shared objects: their sorted ids are shared too.
      let ids = sortedIds.get(entries);
      if (ids === undefined) {
        ids = [...entries.keys()].sort((a, b) => a - b);
        sortedIds.set(entries, ids);
      }
      this.#ids = ids;
      return ids;
    }
    const ids = new Set(this.#enablers.keys());
    for (const group of this.#lazy ?? []) {
      for (const id of group.entries.keys()) if (!this.#settled?.has(id)) ids.add(id);
    }
    this.#ids = [...ids].sort((a, b) => a - b);
    return this.#ids;
  }

  /** The lazy objects `objectId` is still to be built from, if any (the latest added wins). */
  #lazyOf(objectId: number): LazyObjects | undefined {
    const lazy = this.#lazy;
    if (lazy === undefined || this.#settled?.has(objectId)) return undefined;
    for (let i = lazy.length - 1; i >= 0; i--) {
      if (lazy[i]!.entries.has(objectId)) return lazy[i];
    }
    return undefined;
  }

  /** `objectId` is no longer lazy (built, removed or replaced). */
  #settle(objectId: number): void {
    if (this.#lazyOf(objectId) === undefined) return;
    this.#settled ??= new Set();
    this.#settled.add(objectId);
  }

  #model(objectId: number): ObjectModel | undefined {
    const enabler = this.#enablers.get(objectId);
    if (enabler !== undefined) return enabler.model;
    return this.#lazyOf(objectId)?.entries.get(objectId)?.model;
  }

  /** Instances of an object, without building a lazy one. */
  #instanceIds(objectId: number): readonly number[] {
    const enabler = this.#enablers.get(objectId);
    if (enabler !== undefined) return enabler.instanceIds();
    return this.#lazyOf(objectId)?.entries.get(objectId)?.instanceIds ?? [];
  }

  #enabler(objectId: number): ObjectEnabler | undefined {
    return this.#enablers.get(objectId) ?? this.#build(objectId);
  }

  /** Builds a lazy object at its first use (no change is emitted: nothing changed). */
  #build(objectId: number): ObjectEnabler | undefined {
    const lazy = this.#lazyOf(objectId);
    if (lazy === undefined) return undefined;
    const enabler = lazy.build(objectId);
    if (enabler.model.id !== objectId) {
      throw new InvalidValueError(
        `the lazy object ${objectId} was built as object ${enabler.model.id}`,
      );
    }
    this.#settle(objectId);
    this.#attach(enabler);
    return enabler;
  }

  #attach(enabler: ObjectEnabler): void {
    const id = enabler.model.id;
    this.#unsubscribe ??= new Map();
    const unsubscribe = this.#unsubscribe;
    unsubscribe.get(id)?.();
    this.#enablers.set(id, enabler);
    unsubscribe.set(
      id,
      enabler.onChange((instanceId, resourceIds) => {
        const base = LwM2mPath.of(id, instanceId);
        this.#emit(resourceIds === undefined ? [base] : resourceIds.map((rid) => base.child(rid)));
      }),
    );
  }

  #emit(paths: readonly LwM2mPath[]): void {
    if (paths.length === 0) return;
    for (const listener of [...this.#listeners]) listener(paths);
  }
}

/** Objects whose one instance stays (Device): mandatory and single-instance. */
function isUndeletable(model: ObjectModel): boolean {
  return model.mandatory && !model.multiple;
}

/** Security resource 1 "Bootstrap-Server" says the account is the bootstrap server's. */
async function isBootstrapAccount(enabler: ObjectEnabler, instanceId: number): Promise<boolean> {
  try {
    const [r] = await enabler.read(instanceId, 1, LOCAL);
    return r?.kind === 'singleResource' && r.value === true;
  } catch (e) {
    if (e instanceof NotFoundError) return false;
    throw e;
  }
}

/** A value converted to the model's type; a value that does not fit is 4.00. */
function typedValueFor(
  rm: ResourceModel,
  value: TypedValue,
  where: LwM2mPath | string,
): TypedValue {
  if (rm.type === 'none')
    throw new MethodNotAllowedError(`${where} is executable: it takes no value`);
  let v: TypedValue;
  try {
    v = convertValue(value, rm.type);
  } catch (e) {
    if (e instanceof InvalidValueError) throw new InvalidValueError(`${where}: ${e.message}`);
    throw e;
  }
  checkRange(rm, v, where);
  return v;
}

/** A resource node with the model's type and shape; 4.00 when it cannot be. */
function typedResource(rm: ResourceModel, r: LwM2mResource): LwM2mResource {
  const where = `resource ${rm.id} (${rm.name})`;
  if (r.kind === 'singleResource') {
    if (rm.multiple) throw new InvalidValueError(`${where} is multiple, got a single value`);
    const v = typedValueFor(rm, r, where);
    return v.type === r.type ? r : singleResource(r.id, v.type, v.value as never);
  }
  if (!rm.multiple) throw new InvalidValueError(`${where} is single, got several instances`);
  const instances = r.instances.map((ri) => {
    const v = typedValueFor(rm, ri, `${where} instance ${ri.id}`);
    return v.type === ri.type ? ri : resourceInstance(ri.id, v.type, v.value as never);
  });
  return multipleResource(r.id, rm.type as TypedValue['type'], instances);
}

/** Numeric values outside the model's range are refused (4.00). */
function checkRange(rm: ResourceModel, v: TypedValue, where: LwM2mPath | string): void {
  if (rm.range === undefined) return;
  if (v.type !== 'integer' && v.type !== 'unsigned' && v.type !== 'float') return;
  const n = Number(v.value);
  if (n < rm.range.min || n > rm.range.max) {
    throw new InvalidValueError(
      `${where}: ${String(v.value)} is outside ${rm.range.min}..${rm.range.max}`,
    );
  }
}

/** `current` with the given instances added or replaced. */
function mergeInstances(
  current: LwM2mResource | undefined,
  rm: ResourceModel,
  given: readonly LwM2mResourceInstance[],
): LwM2mResource {
  const byId = new Map<number, LwM2mResourceInstance>();
  if (current?.kind === 'multipleResource') for (const ri of current.instances) byId.set(ri.id, ri);
  for (const ri of given) {
    const v = typedValueFor(rm, ri, `resource ${rm.id} instance ${ri.id}`);
    byId.set(ri.id, resourceInstance(ri.id, v.type, v.value as never));
  }
  return multipleResource(rm.id, rm.type as TypedValue['type'], [...byId.values()]);
}
