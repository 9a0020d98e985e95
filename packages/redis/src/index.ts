export type { BootstrapConfigLike, StoredBootstrapConfig } from './bootstrap-config-store.js';
export { RedisBootstrapConfigStore } from './bootstrap-config-store.js';
export type { RedisStoreOptions } from './connection.js';
export {
  createRedisClient,
  DEFAULT_KEY_PREFIX,
  DEFAULT_TIMEOUT_MS,
  RedisConnection,
  recommendedRedisOptions,
} from './connection.js';
export { IdentityInUseError, StoreConflictError, StoreUnavailableError } from './errors.js';
export type { EventHandler, RedisEventBusOptions } from './event-bus.js';
export { RedisEventBus } from './event-bus.js';
export type { ObservationLike } from './observation-store.js';
export { RedisObservationStore } from './observation-store.js';
export { RedisQueueStore } from './queue-store.js';
export type { RedisRegistrationStoreOptions, RegistrationLike } from './registration-store.js';
export { RedisRegistrationStore } from './registration-store.js';
export type { SecurityEntry } from './security-store.js';
export { normalizeSecurityEntry, RedisSecurityStore } from './security-store.js';
