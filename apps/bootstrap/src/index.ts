export {
  type AclConfig,
  type BootstrapAccountConfig,
  type BootstrapConfig,
  BootstrapConfigError,
  type BootstrapConfigInput,
  type BootstrapCredentials,
  type JsonScalar,
  type LwM2mVersionName,
  type SecurityModeName,
  type ServerAccountConfig,
  validateBootstrapConfig,
  WRITE_FORMATS,
  type WriteConfig,
} from './config.js';
export {
  type BootstrapConfigStore,
  InMemoryBootstrapConfigStore,
  type StoredConfig,
} from './config-store.js';
export { type DmServerOptions, type HandoffResult, handOffPsk } from './dm-handoff.js';
export { ConflictError, IdentityInUseError, UnknownEndpointError } from './errors.js';
export type {
  BootstrapEvents,
  BootstrapMode,
  BootstrapStep,
  SessionInfo,
  Transport,
} from './events.js';
export { ConfigFileError, FileBootstrapConfigStore } from './file-config-store.js';
export {
  type PlanContext,
  type PlannedWrite,
  planValues,
  planWrites,
  SECURITY_MODE,
  type WriteKind,
} from './plan.js';
export {
  openRedisConfigStore,
  type RedisConfigStoreOptions,
  RedisPackageMissingError,
} from './redis-config-store.js';
export { createRestApi, type RestApiOptions } from './rest/app.js';
export { PAGE_ROUTES, registerWebRoutes, type WebRoutesOptions } from './rest/web-routes.js';
export {
  type BootstrapLogger,
  BootstrapServer,
  type BootstrapServerOptions,
  type BootstrapServerStats,
  type DtlsTransportOptions,
  readDiscovery,
  type TransportOptions,
} from './server.js';
