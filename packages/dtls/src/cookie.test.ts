import { describe, expect, it } from 'vitest';
import { CookieFactory } from './cookie.js';
import { encodeClientHello, parseClientHello } from './handshake.js';

function hello(overrides: { random?: Buffer; cookie?: Buffer; cipherSuites?: number[] } = {}) {
  return parseClientHello(
    encodeClientHello({
      random: overrides.random ?? Buffer.alloc(32, 1),
      cookie: overrides.cookie ?? Buffer.alloc(0),
      cipherSuites: overrides.cipherSuites ?? [0xc0a8],
      extensions: [[0x0017, Buffer.alloc(0)]],
    }),
  )!;
}

describe('CookieFactory', () => {
  it('accepts its cookie for the same address, port and hello only', () => {
    const jar = new CookieFactory();
    const cookie = jar.make('127.0.0.1', 5000, hello());
    expect(cookie.length).toBe(32);
    expect(jar.verify('127.0.0.1', 5000, hello({ cookie }))).toBe(true);
    expect(jar.verify('127.0.0.2', 5000, hello({ cookie }))).toBe(false);
    expect(jar.verify('127.0.0.1', 5001, hello({ cookie }))).toBe(false);
    expect(jar.verify('127.0.0.1', 5000, hello({ cookie, random: Buffer.alloc(32, 2) }))).toBe(
      false,
    );
    expect(jar.verify('127.0.0.1', 5000, hello({ cookie, cipherSuites: [0x00ae] }))).toBe(false);
    expect(jar.verify('127.0.0.1', 5000, hello({ cookie: cookie.subarray(1) }))).toBe(false);
    expect(new CookieFactory().verify('127.0.0.1', 5000, hello({ cookie }))).toBe(false);
  });

  it('still accepts a cookie of the previous secret, not of the one before', () => {
    let now = 0;
    const jar = new CookieFactory({ rotateMs: 1000, now: () => now });
    const cookie = jar.make('::1', 7, hello());
    now = 1500; // rotated once: the cookie's secret is now the previous one
    expect(jar.verify('::1', 7, hello({ cookie }))).toBe(true);
    const second = jar.make('::1', 7, hello());
    now = 2600; // rotated again: the first cookie's secret is gone
    expect(jar.verify('::1', 7, hello({ cookie }))).toBe(false);
    expect(jar.verify('::1', 7, hello({ cookie: second }))).toBe(true);
    now = 10_000; // long silence: both secrets are replaced
    expect(jar.verify('::1', 7, hello({ cookie: second }))).toBe(false);
  });
});
