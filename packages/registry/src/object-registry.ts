import {
  compareVersions,
  defineObjectModel,
  InvalidPathError,
  type ObjectModel,
  type ResourceModel,
} from '@lwm2m-ts/core';
import { builtinModels } from './builtins.js';
import { type DirectoryLoadResult, type LoadDirectoryOptions, loadDdfDirectory } from './ddf.js';

/**
 * How a lookup was answered:
 * - `exact`: the requested version (or, when none was asked for, the latest) is known;
 * - `nearest`: the object is known but not in that version; another version stands in;
 * - `unknown`: nothing is known; a synthetic model stands in.
 */
export type Match = 'exact' | 'nearest' | 'unknown';

export interface ObjectResolution {
  readonly model: ObjectModel;
  readonly match: Match;
}

export interface ResourceResolution {
  readonly resource: ResourceModel;
  /** `exact`/`nearest` as for the object when the resource is defined there, else `unknown`. */
  readonly match: Match;
}

const VERSION = /^\d+\.\d+$/;

/**
 * Object models by id and version. Several versions of an object live side by side, as a
 * server meets clients of different ages (Core TS 1.2: a client states an object's version
 * with the `ver` attribute of its Register object links). Adding a model with an (id, version)
 * already held replaces it, so user definitions override built-in ones.
 */
export class ObjectRegistry {
  /** Versions of each object, sorted from oldest to newest. */
  readonly #byId = new Map<number, ObjectModel[]>();
  /** At most one per resource id (0..65535), so this cache is bounded. */
  readonly #syntheticResources = new Map<number, ResourceModel>();
  #size = 0;

  /** A registry holding the built-in core and IPSO objects, all known versions. */
  static withBuiltins(): ObjectRegistry {
    return new ObjectRegistry().add(builtinModels());
  }

  constructor(models: Iterable<ObjectModel> = []) {
    this.add(models);
  }

  /** Adds models; a model replaces one already held with the same id and version. */
  add(models: ObjectModel | Iterable<ObjectModel>): this {
    for (const model of isModel(models) ? [models] : models) {
      const versions = this.#byId.get(model.id) ?? [];
      const i = versions.findIndex((m) => m.version === model.version);
      if (i >= 0) {
        versions[i] = model;
      } else {
        versions.push(model);
        versions.sort((a, b) => compareVersions(a.version, b.version));
        this.#size++;
      }
      this.#byId.set(model.id, versions);
    }
    return this;
  }

  /**
   * Loads the DDF files of a directory into this registry. Files that fail are returned, not
   * thrown; the good ones are added (and override same-version models already held).
   */
  async loadDirectory(dir: string, options?: LoadDirectoryOptions): Promise<DirectoryLoadResult> {
    const result = await loadDdfDirectory(dir, options);
    this.add(result.models);
    return result;
  }

  /** The model with exactly this version, or the latest when `version` is omitted. */
  get(objectId: number, version?: string): ObjectModel | undefined {
    const versions = this.#byId.get(objectId);
    if (!versions) return undefined;
    if (version === undefined) return versions.at(-1);
    return versions.find((m) => m.version === version);
  }

  /**
   * Always answers with a model: the requested version, else the highest known version below
   * it, else the latest; for an unknown object a synthetic model without resources, so a
   * server can still handle an object it has no definition for.
   */
  resolve(objectId: number, version?: string): ObjectResolution {
    checkId(objectId, 'object');
    const versions = this.#byId.get(objectId);
    if (!versions) return { model: this.#syntheticObject(objectId, version), match: 'unknown' };
    const exact = this.get(objectId, version);
    if (exact) return { model: exact, match: 'exact' };
    // A version that is not major.minor cannot be compared; the latest is the best guess.
    let nearest = versions.at(-1)!;
    if (VERSION.test(version!)) {
      // `versions` is sorted, so the last one not above the request is the highest below it.
      for (const m of versions) if (compareVersions(m.version, version!) <= 0) nearest = m;
    }
    return { model: nearest, match: 'nearest' };
  }

  /**
   * The resource's model in the resolved object; for a resource (or object) the registry does
   * not know, a synthetic readable and writable Opaque resource, as any value can be carried
   * as opaque bytes.
   */
  resource(objectId: number, resourceId: number, version?: string): ResourceResolution {
    checkId(resourceId, 'resource');
    const { model, match } = this.resolve(objectId, version);
    const resource = model.resources.get(resourceId);
    if (resource) return { resource, match };
    return { resource: this.#syntheticResource(resourceId), match: 'unknown' };
  }

  /** Known versions of an object, oldest first. */
  versions(objectId: number): string[] {
    return (this.#byId.get(objectId) ?? []).map((m) => m.version);
  }

  /** Ids of the known objects, ascending. */
  objectIds(): number[] {
    return [...this.#byId.keys()].sort((a, b) => a - b);
  }

  /** Every model held, by object id then version. */
  *models(): IterableIterator<ObjectModel> {
    for (const id of this.objectIds()) yield* this.#byId.get(id)!;
  }

  /** Number of models held (every version counts). */
  get size(): number {
    return this.#size;
  }

  #syntheticObject(id: number, version: string | undefined): ObjectModel {
    // Not cached: versions come from clients, so a cache could be grown without bound.
    return defineObjectModel({
      id,
      name: `Object ${id}`,
      version: version !== undefined && VERSION.test(version) ? version : '1.0',
      lwm2mVersion: '1.0',
      // Unknown: allowing several instances accepts whatever the client reports.
      multiple: true,
      mandatory: false,
      resources: [],
    });
  }

  #syntheticResource(id: number): ResourceModel {
    let resource = this.#syntheticResources.get(id);
    if (!resource) {
      resource = Object.freeze({
        id,
        name: `Resource ${id}`,
        operations: 'RW',
        multiple: false,
        mandatory: false,
        type: 'opaque',
      } satisfies ResourceModel);
      this.#syntheticResources.set(id, resource);
    }
    return resource;
  }
}

function isModel(x: ObjectModel | Iterable<ObjectModel>): x is ObjectModel {
  return !(Symbol.iterator in x);
}

function checkId(id: number, what: string): void {
  if (!Number.isInteger(id) || id < 0 || id > 65535) {
    throw new InvalidPathError(`${what} id ${id} is not in 0..65535`);
  }
}
