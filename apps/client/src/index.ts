export {
  AttributeStore,
  type AttributeStoreOptions,
  type AttributeTargetInfo,
  attributeTargetInfo,
  type DefaultPeriods,
} from './attribute-store.js';
export {
  Backoff,
  checkRetryPolicy,
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  SPEC_RETRY_POLICY,
} from './backoff.js';
export {
  applyBootstrapPack,
  BootstrapAbortedError,
  BootstrapEngine,
  type BootstrapEngineEvents,
  type BootstrapEngineOptions,
  BootstrapFailedError,
  type BootstrapFailedEvent,
  type BootstrapFinishedEvent,
  type BootstrapMode,
  type BootstrapResult,
  type BootstrapStartedEvent,
  type BootstrapTrigger,
  ConfigSnapshot,
  checkBootstrapConfiguration,
  EXCHANGE_LIFETIME_MS,
} from './bootstrap-engine.js';
export {
  type ClientBootstrapOptions,
  ClientClosedError,
  type ClientEvents,
  type ClientLogger,
  type ClientServerOptions,
  LwM2mClient,
  type LwM2mClientOptions,
  type RegisteredEvent,
  type RequestEvent,
} from './client.js';
export {
  ClientStateError,
  type ClientStateStore,
  FileClientState,
} from './client-state.js';
export { type DefaultObjectsConfig, defaultObjects } from './default-objects.js';
export {
  type BootstrapHandlerOptions,
  createBootstrapHandler,
  createDmHandler,
  type DmHandlerOptions,
  encodeRead,
  readFormat,
} from './dm-handler.js';
export {
  DEFAULT_PER_ADDRESS,
  defaultAddresses,
  Fleet,
  type FleetEvents,
  type FleetOptions,
  type FleetPskOptions,
  type FleetStats,
} from './fleet.js';
export {
  builtinModel,
  chooseModel,
  type ExecuteHandler,
  type InstanceHandler,
  type InstanceInput,
  InstanceObject,
  type InstanceObjectOptions,
  type ModelChoice,
  type PlainValue,
  type ReadHandler,
  type ResourceInput,
  toResource,
  type WriteHandler,
} from './instance-object.js';
export type {
  ChangeListener,
  MaybePromise,
  ObjectEnabler,
  RequestOrigin,
} from './object-enabler.js';
export { ObjectTree } from './object-tree.js';
export * from './objects/firmware-update.js';
export * from './objects/index.js';
export {
  ObservationManager,
  type ObservationManagerOptions,
  type ObservedTree,
} from './observation-manager.js';
export { MAX_TRANSMIT_WAIT_MS } from './queue-mode.js';
export {
  NotRegisteredError,
  type Registration,
  RegistrationAbortedError,
  RegistrationFailedError,
  type RegistrationFailure,
  type RegistrationState,
  type RetryInfo,
  type UpdateInfo,
} from './registration-engine.js';
export { type SendOptions, SendRefusedError, type SendResult } from './send.js';
export {
  InvalidServerUriError,
  type PskCredentials,
  parseServerUri,
  type ServerUri,
  type TransportCoapOptions,
} from './transport.js';
