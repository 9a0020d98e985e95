import { describe, expect, it } from 'vitest';
import { InvalidValueError } from './errors.js';
import {
  describeSecurityValue,
  identityInUseMessage,
  normalizeSecurityEntry,
  type SecurityEntry,
} from './security-entry.js';

describe('normalizeSecurityEntry', () => {
  it('returns a frozen copy with its own key bytes', () => {
    const key = Uint8Array.from([1, 2, 3]);
    const entry = normalizeSecurityEntry({ endpoint: 'dev', mode: 'psk', identity: 'id', key });
    key[0] = 99;
    expect(entry).toEqual({
      endpoint: 'dev',
      mode: 'psk',
      identity: 'id',
      key: Uint8Array.of(1, 2, 3),
    });
    expect(Object.isFrozen(entry)).toBe(true);
    expect(normalizeSecurityEntry({ endpoint: 'dev', mode: 'nosec' })).toEqual({
      endpoint: 'dev',
      mode: 'nosec',
    });
  });

  it('drops unknown fields', () => {
    const info = { endpoint: 'dev', mode: 'nosec', extra: 1 } as unknown as SecurityEntry;
    expect(normalizeSecurityEntry(info)).toEqual({ endpoint: 'dev', mode: 'nosec' });
  });

  it.each([
    [null, 'a security entry must be an object, got null'],
    [
      { endpoint: '', mode: 'nosec' },
      'security entry: endpoint must be a non-empty string, got ""',
    ],
    [
      { endpoint: 42, mode: 'nosec' },
      'security entry: endpoint must be a non-empty string, got a number',
    ],
    [
      { endpoint: 'dev', mode: 'rpk' },
      'security entry of "dev": mode must be "psk" or "nosec", got "rpk"',
    ],
    [
      { endpoint: 'dev', mode: 'psk', identity: '', key: Uint8Array.of(1) },
      'security entry of "dev": PSK identity must be a non-empty string, got ""',
    ],
    [
      { endpoint: 'dev', mode: 'psk', identity: 'id', key: new Uint8Array(0) },
      'security entry of "dev": PSK key must be a non-empty Uint8Array',
    ],
    [
      { endpoint: 'dev', mode: 'psk', identity: 'id', key: '0102' },
      'security entry of "dev": PSK key must be a non-empty Uint8Array',
    ],
  ])('rejects %j with InvalidValueError', (info, message) => {
    expect(() => normalizeSecurityEntry(info as SecurityEntry)).toThrow(InvalidValueError);
    expect(() => normalizeSecurityEntry(info as SecurityEntry)).toThrow(message);
  });
});

describe('describeSecurityValue and identityInUseMessage', () => {
  it('quote strings (cut after 64 characters) and name other kinds', () => {
    expect(describeSecurityValue('a"b')).toBe('"a\\"b"');
    expect(describeSecurityValue('x'.repeat(70))).toBe(`"${'x'.repeat(64)}…"`);
    expect([null, [], 1, undefined, {}].map(describeSecurityValue)).toEqual([
      'null',
      'an array',
      'a number',
      'a undefined',
      'a object',
    ]);
    expect(identityInUseMessage('id', 'dev-1')).toBe(
      'PSK identity "id" is already used by endpoint "dev-1"',
    );
  });
});
