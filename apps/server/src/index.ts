export {
  CachedRegistrationStore,
  type RegistrationCacheOptions,
} from './cached-registration-store.js';
export { modelsForRegistration } from './client-models.js';
export {
  type ClusterBus,
  type ClusterOptions,
  DtlsSessionElsewhereError,
  defaultNodeId,
  RELAYED_EVENTS,
  type RelayedEvent,
} from './cluster.js';
export { formatCandidates, type PayloadKind } from './content-negotiation.js';
export {
  BadClientResponseError,
  ConflictError,
  IdentityInUseError,
  QueueFullError,
  UnknownClientError,
} from './errors.js';
export type { DeregistrationReason, Relayed, ServerEvents } from './events.js';
export { FileSecurityStore, SecurityFileError } from './file-security-store.js';
export { InMemoryObservationStore } from './memory-observation-store.js';
export { InMemoryRegistrationStore } from './memory-registration-store.js';
export { InMemorySecurityStore } from './memory-security-store.js';
export type { ObservationRecord, ObservationStore } from './observation-store.js';
export type {
  CompositeObserveResponse,
  CompositeReadResponse,
  CreateResponse,
  DiscoverResponse,
  DmResponse,
  EmptyResponse,
  ObserveResponse,
  ReadResponse,
  RequestOptions,
  WriteMode,
} from './operations.js';
export {
  openRedisStores,
  RedisPackageMissingError,
  type RedisStores,
  type RedisStoresOptions,
} from './redis-stores.js';
export {
  type ObjectLinkInfo,
  type Registration,
  registrationPeer,
  type Transport,
} from './registration.js';
export {
  parseObjectLinks,
  parseRegisterRequest,
  parseUpdateRequest,
  type RegisterParams,
  UnsupportedLwM2mVersionError,
  type UpdateParams,
} from './registration-params.js';
export type { RegistrationStore } from './registration-store.js';
export { createRestApi, type RestApiOptions } from './rest/app.js';
export { PAGE_ROUTES, registerWebRoutes, type WebRoutesOptions } from './rest/web-routes.js';
export type { SecurityInfo, SecurityStore } from './security-store.js';
export {
  type DtlsTransportOptions,
  LwM2mServer,
  type LwM2mServerOptions,
  type ServerLogger,
  type ServerStats,
  type TransportOptions,
} from './server.js';
