import type { EventEmitter } from 'node:events';
import type { ModelProvider } from '@lwm2m-ts/codecs';
import type { AttributeUpdate, LwM2mNode, LwM2mResource, PathValue } from '@lwm2m-ts/core';
import type { ObjectRegistry } from '@lwm2m-ts/registry';
import type { ServerEvents } from '../events.js';
import type { ObservationRecord } from '../observation-store.js';
import type {
  CompositeObserveResponse,
  CompositeReadResponse,
  CreateResponse,
  DiscoverResponse,
  EmptyResponse,
  ObserveResponse,
  ReadResponse,
  RequestOptions,
  WriteMode,
} from '../operations.js';
import type { Registration } from '../registration.js';
import type { SecurityStore } from '../security-store.js';

/**
 * What the REST API uses of `LwM2mServer`: the server fits it as it is. Kept as an interface so
 * the routes depend on the server's public API only.
 */
export interface RestApiServer extends EventEmitter<ServerEvents> {
  readonly registry: ObjectRegistry;
  readonly security: SecurityStore;
  getRegistration(endpoint: string): Promise<Registration | undefined>;
  listRegistrations(): Promise<readonly Registration[]>;
  queueState(endpoint: string): { awake: boolean; queued: number } | undefined;
  modelsFor(registration: Registration): ModelProvider;
  read(ep: string, path: string, opts?: RequestOptions): Promise<ReadResponse>;
  write(
    ep: string,
    path: string,
    content: LwM2mNode,
    opts?: RequestOptions & { mode?: WriteMode },
  ): Promise<EmptyResponse>;
  writeAttributes(
    ep: string,
    path: string,
    attributes: AttributeUpdate,
    opts?: RequestOptions,
  ): Promise<EmptyResponse>;
  discover(ep: string, path: string, opts?: RequestOptions): Promise<DiscoverResponse>;
  execute(ep: string, path: string, args?: string, opts?: RequestOptions): Promise<EmptyResponse>;
  create(
    ep: string,
    objectId: number,
    resources: readonly LwM2mResource[],
    opts?: RequestOptions & { instanceId?: number },
  ): Promise<CreateResponse>;
  delete(ep: string, path: string, opts?: RequestOptions): Promise<EmptyResponse>;
  observe(ep: string, path: string, opts?: RequestOptions): Promise<ObserveResponse>;
  observeComposite(
    ep: string,
    paths: readonly string[],
    opts?: RequestOptions,
  ): Promise<CompositeObserveResponse>;
  cancelObservation(
    ep: string,
    pathOrId: string,
    opts?: RequestOptions & { mode?: 'proactive' | 'reactive' },
  ): Promise<number>;
  readComposite(
    ep: string,
    paths: readonly string[],
    opts?: RequestOptions,
  ): Promise<CompositeReadResponse>;
  writeComposite(
    ep: string,
    values: readonly PathValue[],
    opts?: RequestOptions,
  ): Promise<EmptyResponse>;
  listObservations(ep: string): Promise<readonly ObservationRecord[]>;
  /** Serves a firmware package at `/fw/<name>` (pull mode); returns that path. */
  addPackage(name: string, bytes: Uint8Array): string;
  removePackage(name: string): boolean;
  /** Counters and levels (`ServerStats`); every numeric entry becomes a metric. */
  stats(): object;
}
