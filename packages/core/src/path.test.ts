import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidPathError } from './errors.js';
import { LwM2mPath } from './path.js';

describe('LwM2mPath.parse', () => {
  it.each([
    ['/', 'root', []],
    ['/3', 'object', [3]],
    ['/3/0', 'instance', [3, 0]],
    ['/3/0/1', 'resource', [3, 0, 1]],
    ['/3/0/11/2', 'resourceInstance', [3, 0, 11, 2]],
    ['/65535/65535/65535/65535', 'resourceInstance', [65535, 65535, 65535, 65535]],
  ])('parses %s', (text, level, ids) => {
    const p = LwM2mPath.parse(text);
    expect(p.level).toBe(level);
    expect(p.ids).toEqual(ids);
    expect(p.toString()).toBe(text);
  });

  it.each([
    ['', /start with/],
    ['3/0', /start with/],
    ['/3/x', /not a canonical decimal id/],
    ['//', /end with/],
    ['/3//1', /empty segment/],
    ['/3/', /end with/],
    ['/70000', /above 65535/],
    ['/65536', /above 65535/],
    ['/-1', /canonical/],
    ['/03', /canonical/],
    ['/3/0/1/2/3', /more than 4/],
    ['/1e3', /canonical/],
    ['/ 3', /canonical/],
  ])('refuses %j', (text, message) => {
    expect(() => LwM2mPath.parse(text)).toThrow(InvalidPathError);
    expect(() => LwM2mPath.parse(text)).toThrow(message);
  });

  it('maps bad paths to CoAP 4.00 / HTTP 400', () => {
    try {
      LwM2mPath.parse('/x');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidPathError);
      expect((e as InvalidPathError).coapCode).toBe('4.00');
      expect((e as InvalidPathError).httpStatus).toBe(400);
    }
  });

  it('round-trips any id list', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 65535 }), { maxLength: 4 }), (ids) => {
        const p = LwM2mPath.of(...ids);
        expect(LwM2mPath.parse(p.toString()).equals(p)).toBe(true);
        expect(p.ids).toEqual(ids);
      }),
    );
  });

  it('never throws anything but InvalidPathError on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        try {
          const p = LwM2mPath.parse(s);
          expect(p.toString()).toBe(s);
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidPathError);
        }
      }),
    );
  });
});

describe('LwM2mPath relations', () => {
  const p = LwM2mPath.parse;
  it('knows ancestors', () => {
    expect(p('/').isAncestorOf(p('/3'))).toBe(true);
    expect(p('/3').isAncestorOf(p('/3/0/1'))).toBe(true);
    expect(p('/3/0').isAncestorOf(p('/3/0'))).toBe(false);
    expect(p('/3/0').contains(p('/3/0'))).toBe(true);
    expect(p('/3/0').isAncestorOf(p('/3/1/0'))).toBe(false);
    expect(p('/3/0/1').isAncestorOf(p('/3/0'))).toBe(false);
    expect(p('/3').isAncestorOf(p('/33/0'))).toBe(false);
  });

  it('sorts depth-first by id', () => {
    const sorted = ['/4', '/3/1', '/3/0/1', '/3', '/3/0', '/10', '/3/0/1/0']
      .map(p)
      .sort(LwM2mPath.compare)
      .map(String);
    expect(sorted).toEqual(['/3', '/3/0', '/3/0/1', '/3/0/1/0', '/3/1', '/4', '/10']);
  });

  it('walks up and down', () => {
    expect(p('/3/0/11/2').parent().toString()).toBe('/3/0/11');
    expect(p('/3').parent()).toBe(LwM2mPath.ROOT);
    expect(() => LwM2mPath.ROOT.parent()).toThrow(InvalidPathError);
    expect(p('/3/0').child(1).toString()).toBe('/3/0/1');
    expect(() => p('/3/0/1/2').child(1)).toThrow(/at most 4/);
    expect(() => LwM2mPath.of(3, 70000)).toThrow(InvalidPathError);
    expect(() => LwM2mPath.of(1.5)).toThrow(InvalidPathError);
  });

  it('exposes ids by level and is immutable', () => {
    const path = p('/3/0/11/2');
    expect([path.objectId, path.instanceId, path.resourceId, path.resourceInstanceId]).toEqual([
      3, 0, 11, 2,
    ]);
    expect(p('/3').instanceId).toBeUndefined();
    expect(Object.isFrozen(path)).toBe(true);
    expect(() => (path.ids as number[]).push(1)).toThrow(TypeError);
    expect(JSON.stringify({ path })).toBe('{"path":"/3/0/11/2"}');
    expect(LwM2mPath.from('/3').equals(LwM2mPath.from(p('/3')))).toBe(true);
  });
});
