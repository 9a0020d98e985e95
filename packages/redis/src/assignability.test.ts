// The Redis stores must fit the apps' store interfaces structurally: packages never import apps,
// so the interfaces are declared once below them, in testkit's store contracts (the apps' own
// stores are checked against the same declarations by their contract tests). `tsc -p
// tsconfig.json` (the typecheck task) fails if a store drifts from them.
import type {
  BootstrapConfigStoreLike,
  ContractObservation,
  ContractRegistration,
  ObservationStoreLike,
  RegistrationStoreLike,
  SecurityStoreLike,
} from '@lwm2m-ts/testkit/vitest';
import { describe, expect, it } from 'vitest';
import type { RedisBootstrapConfigStore } from './bootstrap-config-store.js';
import type { RedisObservationStore } from './observation-store.js';
import type { RedisRegistrationStore } from './registration-store.js';
import type { RedisSecurityStore } from './security-store.js';

// --- apps/bootstrap/src/config.ts (the parts that matter) ---
interface BootstrapConfig {
  readonly servers: readonly { readonly shortServerId: number; readonly uri: string }[];
  readonly bootstrapCredentials?: { readonly identity: string; readonly key: string };
  readonly deletePaths: readonly string[];
  readonly discover?: boolean;
  readonly lwm2mVersion?: '1.0' | '1.1' | '1.2';
}

// The checks: each function compiles only if the Redis store is assignable to the interface.
export const asRegistrationStore = (
  s: RedisRegistrationStore<ContractRegistration>,
): RegistrationStoreLike => s;
export const asObservationStore = (
  s: RedisObservationStore<ContractObservation>,
): ObservationStoreLike => s;
export const asSecurityStore = (s: RedisSecurityStore): SecurityStoreLike => s;
export const asBootstrapConfigStore = (
  s: RedisBootstrapConfigStore<BootstrapConfig>,
): BootstrapConfigStoreLike<BootstrapConfig> => s;

// And the generics carry the record type: a store of bare records is not a RegistrationStore.
export const notARegistrationStore = (
  s: RedisRegistrationStore<{ id: string; endpoint: string; expiresAt: number }>,
): RegistrationStoreLike =>
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
