import type { LwM2mVersion } from '@lwm2m-ts/codecs';
import {
  type AttributeLevel,
  type AttributeUpdate,
  InvalidAttributeError,
  isWriteAttributeName,
  LwM2mPath,
  mergeAttributes,
  type ResourceModel,
  validateAttributes,
  WRITE_ATTRIBUTE_NAMES,
  type WriteAttributeName,
  type WriteAttributes,
} from '@lwm2m-ts/core';

/**
 * What a Write-Attributes target is, as far as the attribute rules care (Core TS 1.2 §5.1.2,
 * Table 5.1.2-2 "Apply Condition"): `gt`/`lt`/`st` need a numeric resource, `edge` a boolean one.
 * Unknown (absent) facts are not held against the request. `resourceIsMultiple: false` refuses a
 * resource-instance path (Core TS 1.2 §6.3.4: "MUST return an error … if the targeted Resource is
 * not defined as a Multiple-Instance Resource").
 */
export interface AttributeTargetInfo {
  readonly resourceIsNumeric?: boolean;
  readonly resourceIsBoolean?: boolean;
  readonly resourceIsMultiple?: boolean;
}

/** The facts `AttributeTargetInfo` wants, from the resource's model (undefined: nothing known). */
export function attributeTargetInfo(model: ResourceModel | undefined): AttributeTargetInfo {
  if (model === undefined) return {};
  return {
    resourceIsNumeric:
      model.type === 'integer' || model.type === 'unsigned' || model.type === 'float',
    resourceIsBoolean: model.type === 'boolean',
    resourceIsMultiple: model.multiple,
  };
}

/**
 * The Server object's Default Minimum Period (`/1/x/2`) and Default Maximum Period (`/1/x/3`) of
 * the account a store belongs to, in seconds; absent when the resource is not set.
 */
export interface DefaultPeriods {
  readonly pmin?: number | undefined;
  readonly pmax?: number | undefined;
}

export interface AttributeStoreOptions {
  /** The LwM2M version the client registered with: attributes it does not define are refused. */
  readonly version?: LwM2mVersion;
  /**
   * Read on every `effective()` call, so a Write to `/1/x/2` or `/1/x/3` applies to the next
   * evaluation. Core TS 1.2 Table 5.1.2-2: without `pmin`, "the Minimum Period is defined by the
   * Default Minimum Period set in the LwM2M Server Account"; without `pmax`, by the Default
   * Maximum Period "when set … or considered as 0 otherwise".
   */
  readonly defaultPeriods?: () => DefaultPeriods;
}

/** How `effective()` should treat an observation's own attributes. */
export interface EffectiveOptions {
  /**
   * Attributes carried by the Observe request itself (LwM2M 1.2 "Observation Attributes",
   * Core TS 1.2 §6.4.1), as `observationAttributes()` returned them.
   */
  readonly observation?: WriteAttributes | undefined;
  /** The observation is an Observe-Composite (Core TS 1.2 §6.4.4); changes what `observation` replaces. */
  readonly composite?: boolean;
}

const V1_0: readonly WriteAttributeName[] = ['pmin', 'pmax', 'gt', 'lt', 'st'];
// Core TS 1.1 §5.1.2 adds the evaluation periods; 1.2 adds edge, con and hqmax (Core TS 1.2 §1.1).
const V1_1: readonly WriteAttributeName[] = [...V1_0, 'epmin', 'epmax'];
const V1_2: readonly WriteAttributeName[] = [...V1_1, 'edge', 'con', 'hqmax'];
const BY_VERSION: Readonly<Record<LwM2mVersion, ReadonlySet<WriteAttributeName>>> = {
  '1.0': new Set(V1_0),
  '1.1': new Set(V1_1),
  '1.2': new Set(V1_2),
};

/**
 * The attributes with the Object Assignation Level, the only ones an Observe-Composite may
 * carry and the ones they replace (Core TS 1.2 §6.4.4: "Minimum Period, Maximum Period, Minimum
 * Evaluation Period, Maximum Evaluation Period, and Confirmable Notification").
 */
const COMPOSITE_OBSERVATION_ATTRIBUTES: ReadonlySet<WriteAttributeName> = new Set([
  'pmin',
  'pmax',
  'epmin',
  'epmax',
  'con',
]);

/** The attribute names an LwM2M version defines. */
export function attributeNamesOf(version: LwM2mVersion): ReadonlySet<WriteAttributeName> {
  return BY_VERSION[version];
}

/** `attrs` without the attributes `version` does not define (they must have no effect there). */
export function attributesForVersion(
  attrs: WriteAttributes,
  version: LwM2mVersion,
): WriteAttributes {
  const names = BY_VERSION[version];
  const out: Partial<Record<WriteAttributeName, number>> = {};
  for (const name of WRITE_ATTRIBUTE_NAMES) {
    const v = attrs[name];
    if (v !== undefined && names.has(name)) out[name] = v;
  }
  return Object.freeze(out) as WriteAttributes;
}

const EMPTY: WriteAttributes = Object.freeze({});

function levelOf(path: LwM2mPath): AttributeLevel {
  if (path.isRoot()) {
    // Core TS 1.2 §6.3.4: the Object ID is a required parameter of Write-Attributes.
    throw new InvalidAttributeError('attributes cannot be assigned to the root path "/"');
  }
  return path.level as AttributeLevel;
}

/** The path and its ancestors from the object down: `/3/0/7` → `/3`, `/3/0`, `/3/0/7`. */
function chain(path: LwM2mPath): LwM2mPath[] {
  const out: LwM2mPath[] = [];
  for (let n = 1; n <= path.ids.length; n++) out.push(LwM2mPath.of(...path.ids.slice(0, n)));
  return out;
}

/**
 * The <NOTIFICATION> attributes (Core TS 1.2 §5.1.2) one LwM2M server assigned with
 * Write-Attributes (Core TS 1.2 §6.3.4), by path. A client keeps one store per server account:
 * Discover answers each server with only its own attributes (Core TS 1.2 §6.3.2).
 */
export class AttributeStore {
  readonly version: LwM2mVersion;
  private readonly defaultPeriods: () => DefaultPeriods;
  private readonly byPath = new Map<string, { path: LwM2mPath; attrs: WriteAttributes }>();
  private readonly listeners = new Set<(path: LwM2mPath) => void>();

  constructor(options: AttributeStoreOptions = {}) {
    this.version = options.version ?? '1.2';
    this.defaultPeriods = options.defaultPeriods ?? (() => ({}));
  }

  /**
   * Applies a Write-Attributes request to `path` and returns what is now assigned there. Values
   * set, `null` unsets (Core TS 1.2 §6.3.4: "an Attribute specified without value … is unset at
   * the level specified"), absent keeps. Throws `InvalidAttributeError` (4.00) and changes
   * nothing when:
   *
   * - an attribute is not defined by the registered LwM2M version (`epmin` in 1.0, `edge` in 1.1…);
   * - `gt`/`lt`/`st`/`edge` target an object or instance, or a resource of the wrong type;
   * - the result breaks `lt < gt`, `lt + 2·st < gt` or `epmin < epmax` (Core TS 1.2 §5.1.2);
   * - the request itself sets `pmax` below `pmin` (pmax ≠ 0). Table 5.1.2-2 wants pmax ≥ pmin;
   *   the client is told to ignore, rather than refuse, an inconsistent pmax, which is what
   *   happens when the two come from different requests or levels (see `periodsOf`), but a single
   *   request contradicting itself is refused as the request of a confused server;
   * - the path is `/`, or a resource instance of a resource known to be single.
   */
  apply(
    path: LwM2mPath,
    update: AttributeUpdate,
    target: AttributeTargetInfo = {},
  ): WriteAttributes {
    const level = levelOf(path);
    this.checkRequest(path, update, target);
    const key = path.toString();
    const merged = mergeAttributes(this.byPath.get(key)?.attrs ?? EMPTY, update);
    validateAttributes(merged, {
      level,
      ...(target.resourceIsNumeric === undefined
        ? {}
        : { resourceIsNumeric: target.resourceIsNumeric }),
      ...(target.resourceIsBoolean === undefined
        ? {}
        : { resourceIsBoolean: target.resourceIsBoolean }),
      allowPmaxBelowPmin: true,
    });
    if (Object.keys(merged).length === 0) this.byPath.delete(key);
    else this.byPath.set(key, { path, attrs: merged });
    this.emit(path);
    return merged;
  }

  /**
   * Checks the attributes of an Observe request (LwM2M 1.2 "Observation Attributes", Core TS 1.2
   * §6.4.1) like `apply` would, without storing them, and returns them for
   * `ObservationManager.start`. A composite observation may only carry attributes with the Object
   * Assignation Level (Core TS 1.2 §6.4.4). A bare name (`?pmin`) unsets nothing here: it is
   * dropped.
   */
  observationAttributes(
    path: LwM2mPath,
    update: AttributeUpdate,
    options: AttributeTargetInfo & { readonly composite?: boolean } = {},
  ): WriteAttributes {
    if (options.composite) {
      for (const name of Object.keys(update)) {
        if (!COMPOSITE_OBSERVATION_ATTRIBUTES.has(name as WriteAttributeName)) {
          throw new InvalidAttributeError(
            `${name} cannot be given to an Observe-Composite: only ${[...COMPOSITE_OBSERVATION_ATTRIBUTES].join(', ')} can`,
          );
        }
      }
    } else {
      levelOf(path);
    }
    this.checkRequest(path, update, options);
    const attrs = mergeAttributes(EMPTY, update);
    validateAttributes(attrs, {
      level: options.composite ? 'object' : (path.level as AttributeLevel),
      ...(options.resourceIsNumeric === undefined
        ? {}
        : { resourceIsNumeric: options.resourceIsNumeric }),
      ...(options.resourceIsBoolean === undefined
        ? {}
        : { resourceIsBoolean: options.resourceIsBoolean }),
      allowPmaxBelowPmin: true,
    });
    return attrs;
  }

  /** What is assigned at exactly this level: the parameters Discover lists on a child link. */
  forPath(path: LwM2mPath): WriteAttributes {
    return this.byPath.get(path.toString())?.attrs ?? EMPTY;
  }

  /**
   * What is assigned at this level or inherited from the levels above, the nearest level winning
   * per attribute (Core TS 1.2 §5.1.1, Rules 1–5): what Discover lists on the link of the target
   * itself (Core TS 1.2 §6.3.2: `</3/0>;pmin=10;pmax=60`, "a Minimum Period Attribute inherited
   * from the Object level"). Server defaults are not included: they are neither attached nor
   * assigned.
   */
  inherited(path: LwM2mPath): WriteAttributes {
    if (path.isRoot()) return EMPTY;
    let out: WriteAttributes = EMPTY;
    for (const p of chain(path)) {
      const own = this.byPath.get(p.toString());
      if (own !== undefined) out = { ...out, ...own.attrs };
    }
    return Object.freeze(out);
  }

  /**
   * The attributes in force for an observation of `path`:
   *
   * 1. the observation's own attributes when it has any (Core TS 1.2 §6.4.1: "all the attached
   *    or assigned attributes of the targeted URI MUST be ignored for this Observation"); for a
   *    composite observation they replace only the Object-Assignation-Level ones (§6.4.4), so a
   *    resource's `gt`/`lt`/`st` still count;
   * 2. otherwise `inherited(path)`;
   * 3. `pmin`/`pmax` still missing come from the server account's defaults (`/1/x/2`, `/1/x/3`);
   * 4. attributes the registered version does not define are dropped.
   */
  effective(path: LwM2mPath, options: EffectiveOptions = {}): WriteAttributes {
    const own = options.observation;
    let attrs: WriteAttributes;
    if (own === undefined || Object.keys(own).length === 0) {
      attrs = this.inherited(path);
    } else if (options.composite) {
      const kept: Partial<Record<WriteAttributeName, number>> = {};
      const inherited = this.inherited(path);
      for (const name of WRITE_ATTRIBUTE_NAMES) {
        const v = inherited[name];
        if (v !== undefined && !COMPOSITE_OBSERVATION_ATTRIBUTES.has(name)) kept[name] = v;
      }
      attrs = { ...(kept as WriteAttributes), ...own };
    } else {
      attrs = own;
    }
    const defaults = this.defaultPeriods();
    if (attrs.pmin === undefined && defaults.pmin !== undefined) {
      attrs = { ...attrs, pmin: defaults.pmin };
    }
    if (attrs.pmax === undefined && defaults.pmax !== undefined) {
      attrs = { ...attrs, pmax: defaults.pmax };
    }
    return attributesForVersion(attrs, this.version);
  }

  /** Every level with attributes assigned, in path order. */
  entries(): Array<{ readonly path: LwM2mPath; readonly attributes: WriteAttributes }> {
    return [...this.byPath.values()]
      .map(({ path, attrs }) => ({ path, attributes: attrs }))
      .sort((a, b) => LwM2mPath.compare(a.path, b.path));
  }

  /**
   * Forgets the attributes of `path` and of everything below it: an instance (or resource
   * instance) deleted takes its attributes along, so one created later with the same id starts
   * clean. `/` forgets everything.
   */
  clear(path: LwM2mPath): void {
    let changed = false;
    for (const [key, entry] of this.byPath) {
      if (path.contains(entry.path)) {
        this.byPath.delete(key);
        changed = true;
      }
    }
    if (changed) this.emit(path);
  }

  /** Called after every change with the path it concerned; returns the unsubscribe function. */
  onChange(listener: (path: LwM2mPath) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private checkRequest(path: LwM2mPath, update: AttributeUpdate, target: AttributeTargetInfo) {
    const known = BY_VERSION[this.version];
    for (const name of Object.keys(update)) {
      // Unknown names are left to core's checks, which list the valid ones.
      if (isWriteAttributeName(name) && !known.has(name) && update[name] !== undefined) {
        throw new InvalidAttributeError(
          `attribute "${name}" is not defined in LwM2M ${this.version}`,
        );
      }
    }
    const { pmin, pmax } = update;
    if (typeof pmin === 'number' && typeof pmax === 'number' && pmax !== 0 && pmax < pmin) {
      throw new InvalidAttributeError(`pmax (${pmax}) must not be less than pmin (${pmin})`);
    }
    if (path.isResourceInstance() && target.resourceIsMultiple === false) {
      throw new InvalidAttributeError(
        `${path.parent()} is a single-instance resource: it has no resource instance ${path.resourceInstanceId}`,
      );
    }
  }

  private emit(path: LwM2mPath): void {
    for (const l of [...this.listeners]) l(path);
  }
}
