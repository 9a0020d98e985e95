import { InvalidValueError, LwM2mError } from '@lwm2m-ts/core';
import { describeSecurityStoreContract, contractPsk as psk } from '@lwm2m-ts/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { IdentityInUseError } from './errors.js';
import { InMemorySecurityStore } from './memory-security-store.js';

describeSecurityStoreContract('InMemorySecurityStore', {
  // Initial entries through the constructor, which checks them like put.
  create: (entries = []) => new InMemorySecurityStore(entries),
  count: (store) => store.size,
  errors: { base: LwM2mError, invalidValue: InvalidValueError, identityInUse: IdentityInUseError },
});

describe('InMemorySecurityStore', () => {
  it('constructor rejects conflicting initial entries', () => {
    expect(() => new InMemorySecurityStore([psk('a', 'id'), psk('b', 'id')])).toThrow(
      IdentityInUseError,
    );
  });
});
