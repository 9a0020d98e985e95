import type { LwM2mResource, ObjectModel } from '@lwm2m-ts/core';

export type MaybePromise<T> = T | Promise<T>;

/**
 * Who a request comes from: a server by its Short Server ID (`/1/x/0`), or the bootstrap server.
 * Enablers rarely need it; the access-control object (2) does.
 */
export type RequestOrigin =
  | { readonly kind: 'server'; readonly shortServerId: number }
  | { readonly kind: 'bootstrap' }
  | { readonly kind: 'local' };

/**
 * One LwM2M object on the device side: how users add objects to `LwM2mClient`. The tree around
 * it (apps/client `ObjectTree`) checks paths, operations against the model (R/W/E), data types and
 * content formats, so an enabler only holds and changes data. Every method may be sync or async,
 * and throws core's `LwM2mError` subclasses to refuse (`NotFoundError` → 4.04,
 * `MethodNotAllowedError` → 4.05, `InvalidValueError` → 4.00, `UnauthorizedError` → 4.01).
 */
export interface ObjectEnabler {
  /** The object's model: its id, version and resources (from `@lwm2m-ts/registry` or a DDF). */
  readonly model: ObjectModel;
  /** Ids of the instances present, ascending. */
  instanceIds(): readonly number[];
  /**
   * The values of one instance: every readable resource present (`resourceId` undefined), or
   * one resource (NotFoundError when absent). Multiple resources come whole.
   */
  read(
    instanceId: number,
    resourceId: number | undefined,
    origin: RequestOrigin,
  ): MaybePromise<readonly LwM2mResource[]>;
  /**
   * Writes resources of an existing instance. `replace` (PUT on an instance) first resets the
   * instance's writable resources not given (Core TS 1.2 §6.4.3); `update` (POST, or PUT on one
   * resource, which replaces only that resource) changes only what is given.
   */
  write(
    instanceId: number,
    resources: readonly LwM2mResource[],
    mode: 'replace' | 'update',
    origin: RequestOrigin,
  ): MaybePromise<void>;
  /** Executes a resource; `args` is the request payload as text (Core TS 1.2 §5.4.5), '' if none. */
  execute(
    instanceId: number,
    resourceId: number,
    args: string,
    origin: RequestOrigin,
  ): MaybePromise<void>;
  /** Creates an instance with these resources (the tree chose the id when the server did not). */
  create(
    instanceId: number,
    resources: readonly LwM2mResource[],
    origin: RequestOrigin,
  ): MaybePromise<void>;
  delete(instanceId: number, origin: RequestOrigin): MaybePromise<void>;
  /**
   * Subscribes to value changes made by the device itself or by writes, so observations can
   * notify: the listener gets the instance and the resources that changed (undefined: the whole
   * instance, e.g. created or deleted). Returns the unsubscribe function.
   */
  onChange(listener: ChangeListener): () => void;
}

export type ChangeListener = (instanceId: number, resourceIds?: readonly number[]) => void;
