/** What the device page shares with its object tree, editors and dialogs. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { DmOptions } from './api';
import type {
  DiscoverLink,
  JsonNode,
  LinkAttributeValue,
  ObjectSpec,
  Registration,
  ResourceSpec,
  ValueMap,
} from './model';

export interface DeviceCtx {
  readonly ep: string;
  readonly reg: Registration | undefined;
  readonly registered: boolean;
  /** `?format=` and `?timeout=` for the next requests. */
  readonly opts: DmOptions;
  readonly values: ValueMap;
  /** Paths observed on their own (not composite). */
  readonly observed: ReadonlySet<string>;
  /** Attributes by path, from Discover answers. */
  readonly attributes: ReadonlyMap<string, Readonly<Record<string, LinkAttributeValue>>>;
  /** Instances (paths) read whole, so resources missing from the answer can be told apart. */
  readonly readInstances: ReadonlySet<string>;
  readonly selected: ReadonlySet<string>;
  toggleSelected(path: string, on: boolean): void;
  applyRead(base: string, node: JsonNode): void;
  applyDiscover(base: string, links: readonly DiscoverLink[]): void;
  refreshObservations(): void;
  openAttributes(path: string, spec: ResourceSpec | undefined): void;
  openCreate(objectId: number): void;
  instanceCreated(objectId: number, instanceId: number): void;
  instanceDeleted(objectId: number, instanceId: number): void;
  specFor(objectId: number): ObjectSpec | undefined;
}

export const DeviceContext = createContext<DeviceCtx | undefined>(undefined);

export function useDevice(): DeviceCtx {
  const ctx = useContext(DeviceContext);
  if (ctx === undefined) throw new Error('useDevice outside a device page');
  return ctx;
}
