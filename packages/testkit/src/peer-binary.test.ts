import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  findPeerBinary,
  interopRequired,
  MissingPeerError,
  peerOrSkip,
  peersOrSkip,
  requirePeer,
} from './peer-binary.js';

const dir = mkdtempSync(path.join(tmpdir(), 'testkit-peer-'));
const exe = path.join(dir, 'fake-peer');
writeFileSync(exe, '#!/bin/sh\nexit 0\n');
chmodSync(exe, 0o755);
const plain = path.join(dir, 'not-executable');
writeFileSync(plain, '');
chmodSync(plain, 0o644);
const env = { PATH: ['/nonexistent-dir', dir].join(path.delimiter) };

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('findPeerBinary', () => {
  it('finds executables on PATH and ignores non-executables', () => {
    expect(findPeerBinary('fake-peer', env)).toBe(exe);
    expect(findPeerBinary('not-executable', env)).toBeUndefined();
    expect(findPeerBinary('no-such-peer', env)).toBeUndefined();
    expect(findPeerBinary(exe, {})).toBe(exe);
  });

  it('finds a real system binary', () => {
    expect(findPeerBinary('sh')).toMatch(/\/sh$/);
  });
});

describe('requirePeer / peerOrSkip', () => {
  it('reports found and missing peers', () => {
    expect(requirePeer('fake-peer', env)).toEqual({ path: exe });
    expect(requirePeer('nope', env)).toEqual({ skip: 'nope not found on PATH' });
  });

  it('returns undefined (with a warning) for a missing peer when interop is optional', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      expect(peerOrSkip('fake-peer', env)).toBe(exe);
      expect(peerOrSkip('nope', env)).toBeUndefined();
      expect(peersOrSkip(['fake-peer', 'nope2'], env)).toBeUndefined();
      expect(warn).toHaveBeenCalledTimes(2);
    } finally {
      warn.mockRestore();
    }
  });

  it('throws for a missing peer when LWM2M_REQUIRE_INTEROP=1', () => {
    const strict = { ...env, LWM2M_REQUIRE_INTEROP: '1' };
    expect(interopRequired(strict)).toBe(true);
    expect(interopRequired({ LWM2M_REQUIRE_INTEROP: '0' })).toBe(false);
    expect(peerOrSkip('fake-peer', strict)).toBe(exe);
    expect(() => peerOrSkip('nope', strict)).toThrow(MissingPeerError);
    expect(() => peersOrSkip(['fake-peer', 'a', 'b'], strict)).toThrow(/a, b/);
    expect(peersOrSkip(['fake-peer'], strict)).toEqual({ 'fake-peer': exe });
  });
});

const sh = peerOrSkip('sh');
describe.skipIf(!sh)('skipIf ergonomics', () => {
  it('runs when the peer exists', () => {
    expect(sh).toBeDefined();
  });
});
