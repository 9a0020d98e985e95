// The Redis stores must fit the apps' store interfaces structurally: packages never import apps,
// so the interfaces are copied here (from apps/server/src/{registration,registration-store,
// observation-store,security-store}.ts and apps/bootstrap/src/config-store.ts). `tsc -p
// tsconfig.json` (the typecheck task) fails if a store drifts from them.
import { describe, expect, it } from 'vitest';
import type { RedisBootstrapConfigStore } from './bootstrap-config-store.js';
import type { RedisObservationStore } from './observation-store.js';
import type { RedisRegistrationStore } from './registration-store.js';
import type { RedisSecurityStore } from './security-store.js';

// --- apps/server/src/registration.ts ---
type LwM2mVersion = '1.0' | '1.1' | '1.2';
type Transport = 'udp' | 'dtls';
interface ObjectLinkInfo {
  readonly objectId: number;
  readonly instanceId?: number;
  readonly version?: string;
}
interface Registration {
  readonly id: string;
  readonly endpoint: string;
  readonly lwm2mVersion: LwM2mVersion;
  readonly lifetime: number;
  readonly binding: string;
  readonly queueMode: boolean;
  readonly smsNumber?: string;
  readonly rootPath: string;
  readonly objectLinks: readonly ObjectLinkInfo[];
  readonly supportedFormats?: readonly number[];
  readonly address: string;
  readonly port: number;
  readonly transport: Transport;
  readonly identity?: string;
  readonly extraParameters?: Readonly<Record<string, string>>;
  readonly registeredAt: number;
  readonly lastUpdate: number;
  readonly expiresAt: number;
}

// --- apps/server/src/registration-store.ts ---
interface RegistrationStore {
  add(registration: Registration): Promise<Registration | undefined>;
  update(
    id: string,
    change: (current: Registration) => Registration,
  ): Promise<{ readonly before: Registration; readonly after: Registration } | undefined>;
  remove(id: string): Promise<Registration | undefined>;
  getById(id: string): Promise<Registration | undefined>;
  getByEndpoint(endpoint: string): Promise<Registration | undefined>;
  list(): Promise<readonly Registration[]>;
  removeExpired(now: number): Promise<readonly Registration[]>;
  nextExpiry(): Promise<number | undefined>;
  close(): Promise<void>;
}

// --- apps/server/src/observation-store.ts ---
interface ObservationRecord {
  readonly id: string;
  readonly registrationId: string;
  readonly endpoint: string;
  readonly paths: readonly string[];
  readonly composite: boolean;
  readonly contentFormat?: number;
  readonly createdAt: number;
}
interface ObservationStore {
  add(observation: ObservationRecord): Promise<void>;
  get(id: string): Promise<ObservationRecord | undefined>;
  listByRegistration(registrationId: string): Promise<readonly ObservationRecord[]>;
  remove(id: string): Promise<ObservationRecord | undefined>;
  removeByRegistration(registrationId: string): Promise<readonly ObservationRecord[]>;
  close(): Promise<void>;
}

// --- apps/server/src/security-store.ts ---
type SecurityInfo =
  | {
      readonly endpoint: string;
      readonly mode: 'psk';
      readonly identity: string;
      readonly key: Uint8Array;
    }
  | { readonly endpoint: string; readonly mode: 'nosec' };
interface SecurityStore {
  getByEndpoint(endpoint: string): Promise<SecurityInfo | undefined>;
  getByIdentity(identity: string): Promise<SecurityInfo | undefined>;
  list(): Promise<readonly SecurityInfo[]>;
  put(info: SecurityInfo): Promise<SecurityInfo | undefined>;
  remove(endpoint: string): Promise<SecurityInfo | undefined>;
  close(): Promise<void>;
}

// --- apps/bootstrap/src/config.ts (the parts that matter) and config-store.ts ---
interface BootstrapCredentials {
  readonly identity: string;
  readonly key: string;
}
interface BootstrapConfig {
  readonly servers: readonly { readonly shortServerId: number; readonly uri: string }[];
  readonly bootstrapCredentials?: BootstrapCredentials;
  readonly deletePaths: readonly string[];
  readonly discover?: boolean;
  readonly lwm2mVersion?: '1.0' | '1.1' | '1.2';
}
interface StoredConfig {
  readonly endpoint: string;
  readonly config: BootstrapConfig;
}
interface BootstrapConfigStore {
  get(endpoint: string): Promise<BootstrapConfig | undefined>;
  put(endpoint: string, config: BootstrapConfig): Promise<BootstrapConfig | undefined>;
  delete(endpoint: string): Promise<BootstrapConfig | undefined>;
  list(): Promise<readonly StoredConfig[]>;
  getByIdentity(identity: string): Promise<StoredConfig | undefined>;
  close(): Promise<void>;
}

// The checks: each function compiles only if the Redis store is assignable to the interface.
export const asRegistrationStore = (s: RedisRegistrationStore<Registration>): RegistrationStore =>
  s;
export const asObservationStore = (s: RedisObservationStore<ObservationRecord>): ObservationStore =>
  s;
export const asSecurityStore = (s: RedisSecurityStore): SecurityStore => s;
export const asBootstrapConfigStore = (
  s: RedisBootstrapConfigStore<BootstrapConfig>,
): BootstrapConfigStore => s;

// And the generics carry the record type: a store of bare records is not a RegistrationStore.
export const notARegistrationStore = (
  s: RedisRegistrationStore<{ id: string; endpoint: string; expiresAt: number }>,
): RegistrationStore =>
  // @ts-expect-error records lack the Registration fields
  s;

describe('structural assignability to the apps’ store interfaces', () => {
  it('is checked by tsc (this file compiles)', () => {
    expect([
      asRegistrationStore,
      asObservationStore,
      asSecurityStore,
      asBootstrapConfigStore,
    ]).toHaveLength(4);
    expect(notARegistrationStore).toBeTypeOf('function');
  });
});
