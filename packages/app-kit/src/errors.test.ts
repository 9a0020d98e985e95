import { LwM2mError } from '@lwm2m-ts/core';
import { describe, expect, it } from 'vitest';
import { ConflictError, IdentityInUseError, StoreFileError } from './errors.js';

describe('errors', () => {
  it('ConflictError and IdentityInUseError are 4.00 over CoAP and 409 over HTTP', () => {
    const err = new IdentityInUseError('identity "x" is already used by endpoint "a"');
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toBeInstanceOf(LwM2mError);
    expect(err.name).toBe('IdentityInUseError');
    expect(err.coapCode).toBe('4.00');
    expect(err.httpStatus).toBe(409);
    expect(new ConflictError('c').httpStatus).toBe(409);
  });

  it('StoreFileError starts with the path, keeps the cause and names the subclass', () => {
    class PskFileError extends StoreFileError {}
    const cause = new Error('EACCES');
    const err = new PskFileError('/etc/psk.json', 'cannot write: EACCES', { cause });
    expect(err.message).toBe('/etc/psk.json: cannot write: EACCES');
    expect(err.file).toBe('/etc/psk.json');
    expect(err.cause).toBe(cause);
    expect(err.name).toBe('PskFileError');
    expect(err.coapCode).toBe('5.00');
    expect(err.httpStatus).toBe(500);
  });
});
