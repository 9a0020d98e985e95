import {
  InvalidValueError,
  LinkFormatError,
  LwM2mError,
  UnsupportedContentFormatError,
} from '@lwm2m-ts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseObjectLinks,
  parseRegisterRequest,
  parseUpdateRequest,
  UnsupportedLwM2mVersionError,
} from './registration-params.js';

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);
const none = new Uint8Array(0);

function register(query: string[], payload = '', cf: number | undefined = 40) {
  return parseRegisterRequest(query, bytes(payload), cf);
}

function registerError(query: string[], payload = '', cf: number | undefined = 40): Error {
  try {
    register(query, payload, cf);
  } catch (err) {
    expect(err).toBeInstanceOf(LwM2mError);
    return err as Error;
  }
  throw new Error(`expected ${JSON.stringify(query)} ${JSON.stringify(payload)} to be refused`);
}

function linksError(text: string): Error {
  try {
    parseObjectLinks(text);
  } catch (err) {
    expect(err).toBeInstanceOf(LwM2mError);
    return err as Error;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

describe('parseRegisterRequest', () => {
  it('reads the Core TS 1.0 example (defaults for what is left out)', () => {
    const p = register(['ep=example_client'], '</1/0>,</1/1>,</2/0>,</3/0>,</4/0>,</5>');
    expect(p).toEqual({
      endpoint: 'example_client',
      lifetime: 86400,
      lwm2mVersion: '1.0',
      binding: 'U',
      queueMode: false,
      rootPath: '/',
      objectLinks: [
        { objectId: 1, instanceId: 0 },
        { objectId: 1, instanceId: 1 },
        { objectId: 2, instanceId: 0 },
        { objectId: 3, instanceId: 0 },
        { objectId: 4, instanceId: 0 },
        { objectId: 5 },
      ],
    });
    expect('smsNumber' in p).toBe(false);
    expect('supportedFormats' in p).toBe(false);
    expect('extraParameters' in p).toBe(false);
  });

  it('reads an alternate root path with ct (Core TS 1.0 §5.3.1 example)', () => {
    const p = register(
      ['ep=example_client', 'lt=3600', 'lwm2m=1.0', 'b=U'],
      '</lwm2m>;rt="oma.lwm2m";ct=11543,</lwm2m/1/101>,</lwm2m/1/102>,</lwm2m/2/0>,</lwm2m/3/0>,</lwm2m/4/0>,</lwm2m/5>',
    );
    expect(p.rootPath).toBe('/lwm2m');
    expect(p.supportedFormats).toEqual([11543]);
    expect(p.lifetime).toBe(3600);
    expect(p.objectLinks).toEqual([
      { objectId: 1, instanceId: 101 },
      { objectId: 1, instanceId: 102 },
      { objectId: 2, instanceId: 0 },
      { objectId: 3, instanceId: 0 },
      { objectId: 4, instanceId: 0 },
      { objectId: 5 },
    ]);
  });

  it('reads a 1.1 registration with object versions and an SMS number', () => {
    const p = register(
      ['ep=urn:imei:861107030000001', 'lt=300', 'lwm2m=1.1', 'b=UQ', 'sms=+15555550100'],
      '</>;rt="oma.lwm2m";ct="60 110 112 11542 11543",</1/0>,</3>;ver=1.1,</3/0>,</3442>;ver=1.0,</3442/0>',
    );
    expect(p).toMatchObject({
      endpoint: 'urn:imei:861107030000001',
      lifetime: 300,
      lwm2mVersion: '1.1',
      binding: 'UQ',
      queueMode: true,
      smsNumber: '+15555550100',
      rootPath: '/',
      supportedFormats: [60, 110, 112, 11542, 11543],
    });
    expect(p.objectLinks).toEqual([
      { objectId: 1, instanceId: 0 },
      { objectId: 3, version: '1.1' },
      { objectId: 3, instanceId: 0 },
      { objectId: 3442, version: '1.0' },
      { objectId: 3442, instanceId: 0 },
    ]);
  });

  it('reads a 1.2 registration with the Q parameter', () => {
    const p = register(['ep=dev', 'lwm2m=1.2', 'b=T', 'Q'], '</1/0>,</3/0>');
    expect(p.lwm2mVersion).toBe('1.2');
    expect(p.binding).toBe('T');
    expect(p.queueMode).toBe(true);
  });

  it('accepts parameters in any order and an empty payload (no objects)', () => {
    const p = parseRegisterRequest(['lt=60', 'b=U', 'ep=x'], none, undefined);
    expect(p).toMatchObject({ endpoint: 'x', lifetime: 60, rootPath: '/', objectLinks: [] });
  });

  it('does not decode values a second time', () => {
    const p = register(['ep=a%2Fb c', 'x%41=%41'], '');
    expect(p.endpoint).toBe('a%2Fb c');
    expect(p.extraParameters).toEqual({ 'x%41': '%41' });
  });

  it('keeps unknown parameters as extraParameters, even awkward names', () => {
    const p = register(['ep=x', 'foo=bar', 'flag', '__proto__=1', 'empty=', 'a=b=c']);
    expect(p.extraParameters).toEqual(
      Object.fromEntries([
        ['foo', 'bar'],
        ['flag', ''],
        ['__proto__', '1'],
        ['empty', ''],
        ['a', 'b=c'],
      ]),
    );
    expect(Object.getPrototypeOf(p.extraParameters)).toBe(Object.prototype);
  });

  it('skips empty query options', () => {
    expect(register(['', 'ep=x', '']).endpoint).toBe('x');
  });

  it('accepts the binding combinations of every version', () => {
    for (const b of ['U', 'UQ', 'S', 'SQ', 'US', 'UQS', 'T', 'N', 'UT', 'M', 'H', 'UMHTSN']) {
      const p = register(['ep=x', `b=${b}`]);
      expect(p.binding).toBe(b);
      expect(p.queueMode).toBe(b.includes('Q'));
    }
  });

  it('accepts the lifetime bounds and leading zeros', () => {
    expect(register(['ep=x', 'lt=1']).lifetime).toBe(1);
    expect(register(['ep=x', 'lt=4294967295']).lifetime).toBe(4294967295);
    expect(register(['ep=x', 'lt=0060']).lifetime).toBe(60);
  });

  describe('refuses bad parameters with a message naming them', () => {
    const cases: [string, string[], RegExp][] = [
      ['missing ep', ['lt=60'], /missing endpoint client name \(ep\)/],
      ['empty ep', ['ep='], /\(ep\) is empty/],
      ['bare ep', ['ep'], /\(ep\) has no value/],
      ['ep with a control character', ['ep=a\nb'], /ep="a\\nb" contains a control character/],
      ['duplicate ep', ['ep=a', 'ep=b'], /"ep" appears more than once/],
      ['duplicate lt', ['ep=a', 'lt=1', 'lt=1'], /"lt" appears more than once/],
      ['duplicate unknown', ['ep=a', 'x=1', 'x'], /"x" appears more than once/],
      ['duplicate Q', ['ep=a', 'Q', 'Q'], /"Q" appears more than once/],
      ['no name', ['ep=a', '=5'], /"=5" has no name/],
      ['lt=0', ['ep=a', 'lt=0'], /invalid lifetime lt="0"/],
      ['lt too big', ['ep=a', 'lt=4294967296'], /invalid lifetime lt="4294967296"/],
      ['lt negative', ['ep=a', 'lt=-5'], /invalid lifetime/],
      ['lt fraction', ['ep=a', 'lt=1.5'], /invalid lifetime/],
      ['lt exponent', ['ep=a', 'lt=1e3'], /invalid lifetime/],
      ['lt hex', ['ep=a', 'lt=0x10'], /invalid lifetime/],
      ['lt space', ['ep=a', 'lt= 60'], /invalid lifetime/],
      ['lt empty', ['ep=a', 'lt='], /invalid lifetime lt=""/],
      ['lt bare', ['ep=a', 'lt'], /lifetime \(lt\) has no value/],
      ['b empty', ['ep=a', 'b='], /invalid binding mode b="": empty/],
      ['b lower case', ['ep=a', 'b=u'], /invalid binding mode b="u": "u" is not one of/],
      ['b unknown letter', ['ep=a', 'b=UX'], /"X" is not one of/],
      ['b repeated', ['ep=a', 'b=UU'], /"U" appears twice/],
      ['b only Q', ['ep=a', 'b=Q'], /names no transport/],
      ['b bare', ['ep=a', 'b'], /binding mode \(b\) has no value/],
      ['Q with a value', ['ep=a', 'Q=1'], /Q takes no value, got Q="1"/],
      ['Q empty value', ['ep=a', 'Q='], /Q takes no value/],
      ['sms empty', ['ep=a', 'sms='], /invalid SMS number sms=""/],
      ['lwm2m empty', ['ep=a', 'lwm2m='], /unsupported LwM2M version ""/],
      ['lwm2m bare', ['ep=a', 'lwm2m'], /LwM2M version \(lwm2m\) has no value/],
    ];
    for (const [name, query, message] of cases) {
      it(name, () => {
        const err = registerError(query);
        expect(err).toBeInstanceOf(InvalidValueError);
        expect((err as LwM2mError).coapCode).toBe('4.00');
        expect(err.message).toMatch(message);
      });
    }
  });

  it('refuses an unsupported LwM2M version with 4.00 so the client can fall back', () => {
    for (const v of ['1.3', '2.0', '1', '1.1.1', ' 1.1']) {
      const err = registerError(['ep=a', `lwm2m=${v}`]);
      expect(err).toBeInstanceOf(UnsupportedLwM2mVersionError);
      expect(err).toBeInstanceOf(InvalidValueError);
      expect((err as LwM2mError).coapCode).toBe('4.00');
      expect(err.message).toContain(`unsupported LwM2M version ${JSON.stringify(v)}`);
      expect((err as UnsupportedLwM2mVersionError).version).toBe(v);
    }
  });

  it('refuses a payload in another content format with 4.15', () => {
    const err = registerError(['ep=a'], '</3/0>', 0);
    expect(err).toBeInstanceOf(UnsupportedContentFormatError);
    expect((err as LwM2mError).coapCode).toBe('4.15');
    expect(err.message).toContain('got content format 0');
    // Without a payload there is nothing for the format to describe.
    expect(register(['ep=a'], '', 11542).objectLinks).toEqual([]);
  });

  it('accepts a link-format payload without a Content-Format option', () => {
    expect(register(['ep=a'], '</3/0>', undefined).objectLinks).toEqual([
      { objectId: 3, instanceId: 0 },
    ]);
  });

  it('refuses a payload that is not UTF-8', () => {
    expect(() => parseRegisterRequest(['ep=a'], Uint8Array.of(0x3c, 0xff, 0x3e), 40)).toThrow(
      /not valid UTF-8/,
    );
  });

  it('refuses bad link syntax with LinkFormatError', () => {
    expect(registerError(['ep=a'], '</3/0>,,</4/0>')).toBeInstanceOf(LinkFormatError);
    expect(registerError(['ep=a'], '</3/0')).toBeInstanceOf(LinkFormatError);
  });
});

describe('parseObjectLinks', () => {
  it('reads an empty document', () => {
    expect(parseObjectLinks('')).toEqual({ rootPath: '/', objectLinks: [] });
  });

  it('reads the root link in its token and quoted forms', () => {
    expect(parseObjectLinks('</>;rt=oma.lwm2m;ct=110,</3/0>')).toEqual({
      rootPath: '/',
      objectLinks: [{ objectId: 3, instanceId: 0 }],
      supportedFormats: [110],
    });
    expect(parseObjectLinks('</a/b/>;rt="core.rd oma.lwm2m",</a/b/3/0>').rootPath).toBe('/a/b');
  });

  it('reads ct lists separated by spaces or commas, without repeats', () => {
    expect(parseObjectLinks('</>;rt="oma.lwm2m";ct="60,110, 11542  110"').supportedFormats).toEqual(
      [60, 110, 11542],
    );
    expect(parseObjectLinks('</>;rt="oma.lwm2m";ct=110;ct=112').supportedFormats).toEqual([
      110, 112,
    ]);
  });

  it('reads ct from a plain </> link when there is no rt root link', () => {
    expect(parseObjectLinks('</>;ct=11543,</3/0>').supportedFormats).toEqual([11543]);
  });

  it('refuses a bad ct', () => {
    expect(linksError('</>;rt="oma.lwm2m";ct=abc').message).toMatch(
      /"abc" is not a content format/,
    );
    expect(linksError('</>;rt="oma.lwm2m";ct="110 70000"').message).toMatch(/"70000"/);
    expect(linksError('</>;rt="oma.lwm2m";ct=""').message).toMatch(/ct has no content format/);
    expect(linksError('</>;rt="oma.lwm2m";ct').message).toMatch(/ct has no content format/);
  });

  it('refuses two root links and a bad root path', () => {
    expect(linksError('</>;rt="oma.lwm2m",</a>;rt="oma.lwm2m"').message).toMatch(
      /more than one root link/,
    );
    expect(linksError('<lwm2m>;rt="oma.lwm2m"').message).toMatch(/must start with "\/"/);
    expect(linksError('</a//b>;rt="oma.lwm2m"').message).toMatch(/not a valid path segment/);
    expect(linksError('</a/..>;rt="oma.lwm2m"').message).toMatch(/not a valid path segment/);
    expect(linksError('</a?x=1>;rt="oma.lwm2m"').message).toMatch(/plain path/);
  });

  it('reads ver on object links (and on instance links, where some clients put it)', () => {
    expect(parseObjectLinks('</3>;ver=1.1,</3/0>;ver="2.0",</4>;ver=10.12').objectLinks).toEqual([
      { objectId: 3, version: '1.1' },
      { objectId: 3, instanceId: 0, version: '2.0' },
      { objectId: 4, version: '10.12' },
    ]);
  });

  it('refuses a bad ver', () => {
    for (const bad of [
      '</3>;ver=1',
      '</3>;ver=1.1.1',
      '</3>;ver=v1.0',
      '</3>;ver',
      '</3>;ver=.1',
    ]) {
      expect(linksError(bad).message).toMatch(/invalid object version ver/);
    }
    expect(linksError('</3>;ver=1.0;ver=1.1').message).toMatch(/ver appears more than once/);
  });

  it('ignores links outside the LwM2M tree and links deeper than an instance', () => {
    const p = parseObjectLinks(
      '</firmware>,</.well-known/core>,</3/0/1>,</3/0/11/2>,</3/0>,</x/3/0>,</lwm2m/3/0>',
    );
    expect(p.objectLinks).toEqual([{ objectId: 3, instanceId: 0 }]);
    const alt = parseObjectLinks('</lwm2m>;rt="oma.lwm2m",</3/0>,</lwm2m/4/0>,</lwm2mx/5/0>,</>');
    expect(alt.objectLinks).toEqual([{ objectId: 4, instanceId: 0 }]);
  });

  it('refuses object links that cannot be LwM2M paths', () => {
    expect(linksError('</3/x>').message).toMatch(/object link <\/3\/x>/);
    expect(linksError('</70000>').message).toMatch(/object link <\/70000>/);
    expect(linksError('</3/65536>').message).toMatch(/object link/);
    expect(linksError('</03/0>').message).toMatch(/object link <\/03\/0>/);
    expect(linksError('</3/>').message).toMatch(/object link <\/3\/>/);
    expect(linksError('</3//0>').message).toMatch(/object link/);
    expect(linksError('</3/0/>').message).toMatch(/empty path segment/);
    expect(linksError('</lwm2m>;rt="oma.lwm2m",</lwm2m/3/x>').message).toMatch(/object link/);
  });

  it('refuses links that are not absolute paths', () => {
    expect(linksError('<3/0>').message).toMatch(/not an absolute path/);
    expect(linksError('<coap://h/3/0>').message).toMatch(/not an absolute path/);
    expect(linksError('<>').message).toMatch(/not an absolute path/);
  });

  it('accepts the largest ids', () => {
    expect(parseObjectLinks('</65535/65535>').objectLinks).toEqual([
      { objectId: 65535, instanceId: 65535 },
    ]);
  });
});

describe('parseUpdateRequest', () => {
  it('gives an empty change for an empty Update', () => {
    expect(parseUpdateRequest([], none, undefined)).toEqual({});
  });

  it('reads lt, b, sms and Q, with no key for what is absent', () => {
    expect(parseUpdateRequest(['lt=120'], none, undefined)).toEqual({ lifetime: 120 });
    expect(parseUpdateRequest(['b=UQ', 'sms=123'], none, undefined)).toEqual({
      binding: 'UQ',
      queueMode: true,
      smsNumber: '123',
    });
    expect(parseUpdateRequest(['Q'], none, undefined)).toEqual({ queueMode: true });
  });

  it('turns queue mode off by a b without Q only for a 1.0 registration', () => {
    expect(parseUpdateRequest(['b=U'], none, undefined, '1.0')).toEqual({
      binding: 'U',
      queueMode: false,
    });
    expect(parseUpdateRequest(['b=U'], none, undefined, '1.1')).toEqual({ binding: 'U' });
    expect(parseUpdateRequest(['b=U'], none, undefined)).toEqual({ binding: 'U' });
    expect(parseUpdateRequest(['b=U', 'Q'], none, undefined, '1.2')).toEqual({
      binding: 'U',
      queueMode: true,
    });
  });

  it('replaces the object list, root path included, when there is a payload', () => {
    expect(parseUpdateRequest([], bytes('</1/0>,</3/0>,</5>'), 40)).toEqual({
      rootPath: '/',
      objectLinks: [
        { objectId: 1, instanceId: 0 },
        { objectId: 3, instanceId: 0 },
        { objectId: 5 },
      ],
    });
    expect(
      parseUpdateRequest(['lt=60'], bytes('</l>;rt="oma.lwm2m";ct=110,</l/3/0>'), undefined),
    ).toEqual({
      lifetime: 60,
      rootPath: '/l',
      supportedFormats: [110],
      objectLinks: [{ objectId: 3, instanceId: 0 }],
    });
  });

  it('applies by spreading over a registration', () => {
    const reg = { lifetime: 60, binding: 'U', queueMode: true, rootPath: '/x', smsNumber: '1' };
    expect({ ...reg, ...parseUpdateRequest(['lt=90'], none, undefined, '1.1') }).toEqual({
      ...reg,
      lifetime: 90,
    });
  });

  it('ignores parameters an Update does not have', () => {
    expect(parseUpdateRequest(['ep=x', 'lwm2m=1.1', 'foo'], none, undefined)).toEqual({});
  });

  it('refuses bad parameters and payloads', () => {
    const bad: [string[], RegExp][] = [
      [['lt=0'], /Update: invalid lifetime lt="0"/],
      [['lt'], /lifetime \(lt\) has no value/],
      [['b=UU'], /Update: invalid binding mode/],
      [['sms='], /Update: invalid SMS number/],
      [['Q=x'], /Q takes no value/],
      [['lt=1', 'lt=2'], /"lt" appears more than once/],
      [['foo=1', 'foo=1'], /"foo" appears more than once/],
    ];
    for (const [query, message] of bad) {
      expect(() => parseUpdateRequest(query, none, undefined)).toThrow(message);
    }
    expect(() => parseUpdateRequest([], bytes('</3/0>'), 110)).toThrow(
      UnsupportedContentFormatError,
    );
    expect(() => parseUpdateRequest([], bytes('</3/x>'), 40)).toThrow(InvalidValueError);
  });
});

describe('object lists shared between requests', () => {
  const payload = '</>;rt="oma.lwm2m";ct="60 112",</1/0>,</3>;ver=1.1,</3/0>,</5>';

  it('gives requests with the same payload one frozen list, equal to a fresh parse', () => {
    const share = { shareObjectLinks: true };
    const a = parseRegisterRequest(['ep=a'], bytes(payload), 40, share);
    const b = parseRegisterRequest(['ep=b'], bytes(payload), 40, share);
    const fresh = parseRegisterRequest(['ep=c'], bytes(payload), 40);
    expect(b.objectLinks).toBe(a.objectLinks);
    expect(b.supportedFormats).toBe(a.supportedFormats);
    expect(a.objectLinks).toEqual(fresh.objectLinks);
    expect(a.supportedFormats).toEqual(fresh.supportedFormats);
    expect(Object.isFrozen(a.objectLinks) && Object.isFrozen(a.objectLinks[0])).toBe(true);
    // Without the option every request gets its own list.
    expect(parseRegisterRequest(['ep=c'], bytes(payload), 40).objectLinks).not.toBe(
      fresh.objectLinks,
    );
    expect(Object.isFrozen(fresh.objectLinks)).toBe(false);
    const update = parseUpdateRequest([], bytes(payload), 40, '1.1', share);
    expect(update.objectLinks).toBe(a.objectLinks);
  });

  it('refuses a bad payload every time, shared or not', () => {
    for (let i = 0; i < 2; i++) {
      expect(() =>
        parseRegisterRequest(['ep=a'], bytes('</3/x>'), 40, { shareObjectLinks: true }),
      ).toThrow(InvalidValueError);
      expect(() =>
        parseRegisterRequest(['ep=a'], bytes('</03/0>'), 40, { shareObjectLinks: true }),
      ).toThrow(/not a canonical decimal id/);
      expect(() =>
        parseRegisterRequest(['ep=a'], bytes('</3/65536>'), 40, { shareObjectLinks: true }),
      ).toThrow(/above 65535/);
    }
  });
});

describe('untrusted input', () => {
  /** Runs `run`; true when it returned, false when it threw an LwM2mError; rethrows anything else. */
  const isLwM2mError = (run: () => unknown): boolean => {
    try {
      run();
      return true;
    } catch (err) {
      if (!(err instanceof LwM2mError)) throw err;
      return false;
    }
  };

  const names = fc.constantFrom('ep', 'lt', 'lwm2m', 'b', 'sms', 'Q', 'x', '');
  const values = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom('1.0', '1.1', '1.2', 'U', 'UQ', 'Q', '60', '0', '4294967296', 'a\u0000'),
  );
  const queryItem = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.tuple(names, values).map(([n, v]) => `${n}=${v}`),
    names,
    // Valid items, so that whole requests are accepted often enough to check the results.
    {
      arbitrary: fc.constantFrom('lt=60', 'lwm2m=1.1', 'b=UQ', 'Q', 'sms=1', 'x=y', ''),
      weight: 6,
    },
  );
  const query = fc
    .tuple(fc.boolean(), fc.array(queryItem, { maxLength: 5 }))
    .map(([withEp, items]) => (withEp ? ['ep=dev', ...items] : items));
  const fragments = fc.constantFrom(
    '</',
    '>',
    ',',
    ';',
    '/',
    '3',
    '0',
    '65535',
    '70000',
    'lwm2m',
    'rt="oma.lwm2m"',
    'rt=oma.lwm2m',
    'ct=',
    '"60 110"',
    'ver=',
    '1.1',
    '=',
    '"',
    ' ',
    'x',
  );
  const garbled = fc.array(fragments, { maxLength: 30 }).map((parts) => parts.join(''));
  const segment = fc.oneof(
    { arbitrary: fc.constantFrom('3', '0', '1', '65535', 'lwm2m'), weight: 10 },
    { arbitrary: fc.constantFrom('70000', '03', 'x', ''), weight: 1 },
  );
  const uri = fc.array(segment, { maxLength: 4 }).map((segs) => `/${segs.join('/')}`);
  const attr = fc.oneof(
    {
      arbitrary: fc.constantFrom(';rt="oma.lwm2m"', ';ct=110', ';ct="60 110 11542"', ';ver=1.1'),
      weight: 6,
    },
    { arbitrary: fc.constantFrom(';ct=abc', ';ver=x', ';obs'), weight: 1 },
  );
  const oneLink = fc
    .tuple(uri, fc.array(attr, { maxLength: 3 }))
    .map(([u, attrs]) => `<${u}>${attrs.join('')}`);
  const structured = fc.array(oneLink, { maxLength: 6 }).map((links) => links.join(','));
  const linkish = fc.oneof({ arbitrary: structured, weight: 3 }, garbled);
  const payloads = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.oneof({ arbitrary: linkish, weight: 3 }, fc.string({ maxLength: 64 })).map(bytes),
  );
  const formats = fc.oneof(fc.constant(undefined), fc.constant(40), fc.integer());

  it('parseRegisterRequest and parseUpdateRequest throw nothing but LwM2mError', () => {
    let accepted = 0;
    fc.assert(
      fc.property(query, payloads, formats, (q, p, cf) => {
        const ok = isLwM2mError(() => {
          const r = parseRegisterRequest(q, p, cf);
          expect(r.endpoint.length).toBeGreaterThan(0);
          expect(r.lifetime >= 1 && r.lifetime <= 4294967295).toBe(true);
        });
        if (ok) accepted++;
        isLwM2mError(() => parseUpdateRequest(q, p, cf));
        isLwM2mError(() => parseUpdateRequest(q, p, cf, '1.0'));
      }),
      { numRuns: 3000 },
    );
    // The generators must reach the accepting paths too, not only the refusals.
    expect(accepted).toBeGreaterThan(50);
  });

  it('parseObjectLinks throws nothing but LwM2mError and returns valid ids', () => {
    let withObjects = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          linkish,
          fc.string({ maxLength: 80 }),
          fc.string({ unit: 'binary', maxLength: 80 }),
        ),
        (t) => {
          isLwM2mError(() => {
            const { rootPath, objectLinks } = parseObjectLinks(t);
            if (objectLinks.length > 0) withObjects++;
            expect(rootPath.startsWith('/')).toBe(true);
            for (const l of objectLinks) {
              expect(Number.isInteger(l.objectId) && l.objectId >= 0 && l.objectId <= 65535).toBe(
                true,
              );
              if (l.version !== undefined) expect(l.version).toMatch(/^\d+\.\d+$/);
            }
          });
        },
      ),
      { numRuns: 5000 },
    );
    expect(withObjects).toBeGreaterThan(50);
  });
});
