import { describe, expect, it } from 'vitest';
import { prf } from './prf.js';

describe('prf (TLS 1.2, SHA-256)', () => {
  it('matches the widely published TLS 1.2 PRF SHA-256 test vector', () => {
    const secret = Buffer.from('9bbe436ba940f017b17652849a71db35', 'hex');
    const seed = Buffer.from('a0ba9f936cda311827a6f796ffd5198c', 'hex');
    const expected =
      'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66';
    expect(prf(secret, 'test label', seed, 100).toString('hex')).toBe(expected);
  });

  it('gives prefixes of the same stream for shorter lengths', () => {
    const secret = Buffer.from('00112233', 'hex');
    const seed = Buffer.from('abcdef', 'hex');
    const long = prf(secret, 'key expansion', seed, 80);
    for (const n of [1, 12, 32, 33, 48, 64]) {
      expect(prf(secret, 'key expansion', seed, n)).toEqual(long.subarray(0, n));
    }
  });
});
