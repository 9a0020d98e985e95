// The helpers that call vitest (describe/it, hooks): `@lwm2m-ts/testkit/vitest`, apart from the
// main entry, which bench and scripts load outside a test runner.
//
// Store contracts: one suite per store interface of the apps, run by every implementation's tests
// (in memory, file, Redis) through a factory.
export * from './hooks.js';
export * from './store-contracts/bootstrap-config-store.js';
export * from './store-contracts/common.js';
export * from './store-contracts/observation-store.js';
export * from './store-contracts/registration-store.js';
export * from './store-contracts/security-store.js';
