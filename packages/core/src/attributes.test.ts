import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AttributeContext,
  type AttributeUpdate,
  applyAttributeUpdate,
  attributesFromLink,
  attributesToLinkParams,
  formatAttributeQuery,
  formatAttributeQueryString,
  isWriteAttributeName,
  mergeAttributes,
  parseAttributeQuery,
  validateAttributes,
  WRITE_ATTRIBUTE_NAMES,
  type WriteAttributes,
} from './attributes.js';
import { InvalidAttributeError } from './errors.js';
import { formatLinkFormat, parseLinkFormat } from './link-format.js';

const RESOURCE: AttributeContext = { level: 'resource' };

describe('parseAttributeQuery', () => {
  it('parses a query string', () => {
    expect(parseAttributeQuery('pmin=10&pmax=60&gt=5')).toEqual({ pmin: 10, pmax: 60, gt: 5 });
  });

  it('parses Uri-Query option values', () => {
    expect(parseAttributeQuery(['pmin=10', 'pmax=60'])).toEqual({ pmin: 10, pmax: 60 });
  });

  it('skips a leading "?"', () => {
    expect(parseAttributeQuery('?epmin=1&epmax=30')).toEqual({ epmin: 1, epmax: 30 });
  });

  it('parses every attribute', () => {
    expect(
      parseAttributeQuery(
        'pmin=0&pmax=300&gt=50&lt=42.2&st=0.5&epmin=1&epmax=10&edge=1&con=0&hqmax=20',
      ),
    ).toEqual({
      pmin: 0,
      pmax: 300,
      gt: 50,
      lt: 42.2,
      st: 0.5,
      epmin: 1,
      epmax: 10,
      edge: 1,
      con: 0,
      hqmax: 20,
    });
  });

  it('parses signed, fractional and exponent floats', () => {
    expect(parseAttributeQuery('gt=-5.5&lt=1e3&st=2.5E-1')).toEqual({
      gt: -5.5,
      lt: 1000,
      st: 0.25,
    });
    expect(parseAttributeQuery('gt=-0')).toEqual({ gt: 0 });
    expect(Object.is(parseAttributeQuery('gt=-0').gt, 0)).toBe(true);
  });

  it('reads a name without "=" as unset', () => {
    expect(parseAttributeQuery('pmin&pmax=5&gt')).toEqual({ pmin: null, pmax: 5, gt: null });
    expect(parseAttributeQuery(['st'])).toEqual({ st: null });
  });

  it('returns an empty, frozen update for an empty query', () => {
    expect(parseAttributeQuery('')).toEqual({});
    expect(parseAttributeQuery('?')).toEqual({});
    expect(parseAttributeQuery([])).toEqual({});
    expect(Object.isFrozen(parseAttributeQuery('pmin=1'))).toBe(true);
  });

  it.each([
    ['foo=1', /unknown attribute "foo" in "foo=1" \(expected one of pmin, pmax/],
    ['dim=2', /unknown attribute "dim" in "dim=2"/],
    ['PMIN=2', /unknown attribute "PMIN"/],
    ['=5', /unknown attribute "" in "=5"/],
    ['pmin=1&pmin=2', /attribute "pmin" appears more than once/],
    ['pmin&pmin=2', /attribute "pmin" appears more than once/],
    ['pmin=10&&pmax=2', /empty parameter in query "pmin=10&&pmax=2"/],
    ['pmin=10&', /empty parameter/],
    ['pmin=abc', /invalid pmin value "abc" in "pmin=abc": expected a whole number of seconds ≥ 0/],
    ['pmin=-1', /invalid pmin value "-1" in "pmin=-1"/],
    ['pmin=1.5', /invalid pmin value "1.5"/],
    ['pmin=1e3', /invalid pmin value "1e3"/],
    ['pmin= 1', /invalid pmin value " 1"/],
    [
      'pmin=',
      /invalid pmin value "" in "pmin=": empty value \(write "pmin" without "=" to unset it\)/,
    ],
    ['pmin=9007199254740993', /invalid pmin value "9007199254740993".*out of range/],
    ['hqmax=1.0', /invalid hqmax value "1.0" in "hqmax=1.0": expected an integer ≥ 0/],
    ['edge=2', /invalid edge value "2" in "edge=2": expected 0 or 1/],
    ['edge=01', /invalid edge value "01"/],
    ['con=true', /invalid con value "true"/],
    ['st=-1', /invalid st value "-1" in "st=-1": expected a decimal number ≥ 0/],
    ['gt=abc', /invalid gt value "abc" in "gt=abc": expected a decimal number/],
    ['gt=.5', /invalid gt value ".5"/],
    ['gt=5.', /invalid gt value "5."/],
    ['gt=+5', /invalid gt value "\+5"/],
    ['gt=0x10', /invalid gt value "0x10"/],
    ['gt=Infinity', /invalid gt value "Infinity"/],
    ['gt=1e400', /invalid gt value "1e400".*out of range/],
  ])('rejects %j', (query, message) => {
    expect(() => parseAttributeQuery(query)).toThrow(InvalidAttributeError);
    expect(() => parseAttributeQuery(query)).toThrow(message);
  });

  it.each([
    [['pmin=1', ''], /empty parameter in query \["pmin=1",""\]/],
    [['pmin=1&pmax=2'], /invalid pmin value "1&pmax=2"/],
    [['?pmin=1'], /unknown attribute "\?pmin"/],
  ])('rejects options %j', (options, message) => {
    expect(() => parseAttributeQuery(options)).toThrow(message);
  });

  it('matches numbers in linear time', () => {
    const start = performance.now();
    expect(() => parseAttributeQuery(`gt=${'1'.repeat(100_000)}x`)).toThrow(InvalidAttributeError);
    expect(() => parseAttributeQuery(`gt=1.${'1'.repeat(100_000)}e`)).toThrow(
      InvalidAttributeError,
    );
    expect(performance.now() - start).toBeLessThan(500);
  });
});

describe('formatAttributeQuery', () => {
  it('writes options in the stable order of Table 5.1.2-2', () => {
    expect(formatAttributeQuery({ hqmax: 2, gt: -5.5, pmax: 60, pmin: 10, edge: 1 })).toEqual([
      'pmin=10',
      'pmax=60',
      'gt=-5.5',
      'edge=1',
      'hqmax=2',
    ]);
    expect(WRITE_ATTRIBUTE_NAMES).toEqual([
      'pmin',
      'pmax',
      'gt',
      'lt',
      'st',
      'epmin',
      'epmax',
      'edge',
      'con',
      'hqmax',
    ]);
  });

  it('writes unset attributes as a bare name and skips undefined ones', () => {
    expect(formatAttributeQuery({ pmin: null, pmax: undefined, st: null, con: 0 })).toEqual([
      'pmin',
      'st',
      'con=0',
    ]);
    expect(formatAttributeQuery({})).toEqual([]);
  });

  it('writes floats as plain decimals without an exponent', () => {
    expect(formatAttributeQuery({ gt: 1e21, lt: -1e-7, st: 1.5e-10 })).toEqual([
      'gt=1000000000000000000000',
      'lt=-0.0000001',
      'st=0.00000000015',
    ]);
    expect(formatAttributeQuery({ gt: 1.2345e25 })).toEqual(['gt=12345000000000000000000000']);
    expect(formatAttributeQuery({ gt: 5e-324 })).toEqual([`gt=0.${'0'.repeat(323)}5`]);
    expect(formatAttributeQuery({ gt: -0 })).toEqual(['gt=0']);
  });

  it('joins options into a query string', () => {
    expect(formatAttributeQueryString({ pmin: 10, pmax: 60, gt: null })).toBe('pmin=10&pmax=60&gt');
    expect(formatAttributeQueryString({})).toBe('');
  });

  it.each([
    [{ pmin: -1 }, /pmin value -1 is not a whole number of seconds ≥ 0/],
    [{ pmin: 1.5 }, /pmin value 1.5 is not a whole number of seconds ≥ 0/],
    [{ hqmax: 2 ** 53 }, /hqmax value 9007199254740992 is not an integer ≥ 0/],
    [{ edge: 2 }, /edge value 2 is not 0 or 1/],
    [{ con: true }, /con value true is not 0 or 1/],
    [{ gt: Number.NaN }, /gt value NaN is not a decimal number/],
    [{ lt: Number.NEGATIVE_INFINITY }, /lt value -Infinity is not a decimal number/],
    [{ st: -0.5 }, /st value -0.5 is not a decimal number ≥ 0/],
    [{ pmin: '10' }, /pmin value "10" is not a whole number/],
    [{ dim: 3 }, /unknown attribute "dim" in attribute update/],
  ])('rejects %j', (update, message) => {
    expect(() => formatAttributeQuery(update as AttributeUpdate)).toThrow(InvalidAttributeError);
    expect(() => formatAttributeQuery(update as AttributeUpdate)).toThrow(message);
  });
});

describe('isWriteAttributeName', () => {
  it('knows the notification attributes only', () => {
    expect(isWriteAttributeName('pmin')).toBe(true);
    expect(isWriteAttributeName('hqmax')).toBe(true);
    expect(isWriteAttributeName('dim')).toBe(false);
    expect(isWriteAttributeName('toString')).toBe(false);
    expect(isWriteAttributeName('__proto__')).toBe(false);
  });
});

describe('mergeAttributes', () => {
  it('sets, replaces, unsets and keeps', () => {
    const current: WriteAttributes = { pmin: 10, pmax: 60, gt: 50 };
    expect(mergeAttributes(current, { pmax: 120, gt: null, lt: 5 })).toEqual({
      pmin: 10,
      pmax: 120,
      lt: 5,
    });
  });

  it('leaves its inputs alone and returns a frozen object', () => {
    const current = { pmin: 10 };
    const update = { pmin: null };
    const merged = mergeAttributes(current, update);
    expect(merged).toEqual({});
    expect(current).toEqual({ pmin: 10 });
    expect(update).toEqual({ pmin: null });
    expect(Object.isFrozen(merged)).toBe(true);
  });

  it('unsetting an absent attribute is a no-op', () => {
    expect(mergeAttributes({ pmin: 1 }, { pmax: null })).toEqual({ pmin: 1 });
  });

  it('rejects unknown keys', () => {
    expect(() => mergeAttributes({}, { dim: 2 } as AttributeUpdate)).toThrow(
      /unknown attribute "dim"/,
    );
  });
});

describe('validateAttributes', () => {
  it('accepts the Discover example </3/0/7>;gt=50;lt=42.2 on a numeric resource', () => {
    expect(() =>
      validateAttributes({ gt: 50, lt: 42.2 }, { level: 'resource', resourceIsNumeric: true }),
    ).not.toThrow();
  });

  it('accepts period attributes at every level', () => {
    for (const level of ['object', 'instance', 'resource', 'resourceInstance'] as const) {
      expect(() =>
        validateAttributes({ pmin: 10, pmax: 60, epmin: 1, epmax: 5, con: 1, hqmax: 3 }, { level }),
      ).not.toThrow();
    }
  });

  it.each(['gt', 'lt', 'st', 'edge'] as const)('rejects %s above resource level', (name) => {
    for (const level of ['object', 'instance'] as const) {
      expect(() => validateAttributes({ [name]: 1 }, { level })).toThrow(
        `${name} can only be set on a resource or resource instance, not at ${level} level`,
      );
    }
    expect(() => validateAttributes({ [name]: 1 }, { level: 'resourceInstance' })).not.toThrow();
  });

  it('rejects gt, lt, st on a non-numeric resource, only when that is known', () => {
    for (const name of ['gt', 'lt', 'st'] as const) {
      expect(() =>
        validateAttributes({ [name]: 1 }, { level: 'resource', resourceIsNumeric: false }),
      ).toThrow(`${name} only applies to numeric resources`);
      expect(() => validateAttributes({ [name]: 1 }, RESOURCE)).not.toThrow();
    }
  });

  it('rejects edge on a non-boolean resource, only when that is known', () => {
    expect(() =>
      validateAttributes({ edge: 1 }, { level: 'resource', resourceIsBoolean: false }),
    ).toThrow('edge only applies to boolean resources');
    expect(() =>
      validateAttributes({ edge: 0 }, { level: 'resource', resourceIsBoolean: true }),
    ).not.toThrow();
    expect(() => validateAttributes({ edge: 0 }, RESOURCE)).not.toThrow();
  });

  it('requires lt < gt (Core TS 1.2 §5.1.2)', () => {
    expect(() => validateAttributes({ lt: 50, gt: 50 }, RESOURCE)).toThrow(
      'lt (50) must be less than gt (50)',
    );
    expect(() => validateAttributes({ lt: 60, gt: 50 }, RESOURCE)).toThrow(InvalidAttributeError);
    expect(() => validateAttributes({ lt: -5.5, gt: -5 }, RESOURCE)).not.toThrow();
  });

  it('requires lt + 2 × st < gt when all three are set', () => {
    expect(() => validateAttributes({ lt: 10, st: 1, gt: 12 }, RESOURCE)).toThrow(
      'lt + 2 × st (10 + 2 × 1) must be less than gt (12)',
    );
    expect(() => validateAttributes({ lt: 10, st: 2, gt: 12 }, RESOURCE)).toThrow(
      InvalidAttributeError,
    );
    expect(() => validateAttributes({ lt: 10, st: 0.9, gt: 12 }, RESOURCE)).not.toThrow();
    // st alone or with only one threshold has no cross rule.
    expect(() => validateAttributes({ lt: 10, st: 100 }, RESOURCE)).not.toThrow();
    expect(() => validateAttributes({ gt: 10, st: 100 }, RESOURCE)).not.toThrow();
  });

  it('requires pmin ≤ pmax, except pmax = 0 or when asked to allow it', () => {
    expect(() => validateAttributes({ pmin: 60, pmax: 10 }, RESOURCE)).toThrow(
      'pmax (10) must not be less than pmin (60)',
    );
    expect(() => validateAttributes({ pmin: 60, pmax: 60 }, RESOURCE)).not.toThrow();
    expect(() => validateAttributes({ pmin: 60, pmax: 0 }, RESOURCE)).not.toThrow();
    expect(() =>
      validateAttributes({ pmin: 60, pmax: 10 }, { level: 'object', allowPmaxBelowPmin: true }),
    ).not.toThrow();
  });

  it('requires epmin < epmax', () => {
    expect(() => validateAttributes({ epmin: 5, epmax: 5 }, RESOURCE)).toThrow(
      'epmin (5) must be less than epmax (5)',
    );
    expect(() => validateAttributes({ epmin: 6, epmax: 5 }, RESOURCE)).toThrow(
      InvalidAttributeError,
    );
    expect(() => validateAttributes({ epmin: 4, epmax: 5 }, RESOURCE)).not.toThrow();
  });

  it.each([
    [{ pmin: -1 }, /pmin value -1/],
    [{ pmax: 1.5 }, /pmax value 1.5/],
    [{ edge: 2 }, /edge value 2 is not 0 or 1/],
    [{ gt: Number.NaN }, /gt value NaN/],
    [{ st: -1 }, /st value -1/],
    [{ foo: 1 }, /unknown attribute "foo" in attributes/],
  ])('checks values of hand-built attributes: %j', (attrs, message) => {
    expect(() => validateAttributes(attrs as WriteAttributes, RESOURCE)).toThrow(message);
  });
});

describe('applyAttributeUpdate', () => {
  it('validates the merged result, catching rules that span requests', () => {
    // gt=50 was set earlier; lt=60 alone looks fine but breaks lt < gt once merged.
    expect(() => applyAttributeUpdate({ gt: 50 }, { lt: 60 }, RESOURCE)).toThrow(
      'lt (60) must be less than gt (50)',
    );
    expect(() => applyAttributeUpdate({ pmax: 30 }, { pmin: 60 }, RESOURCE)).toThrow(
      /pmax \(30\) must not be less than pmin \(60\)/,
    );
  });

  it('returns the merged attributes when they are valid', () => {
    expect(applyAttributeUpdate({ gt: 50 }, { gt: null, lt: 60 }, RESOURCE)).toEqual({ lt: 60 });
    expect(
      applyAttributeUpdate({ pmin: 10 }, parseAttributeQuery('pmax=60&gt=5'), RESOURCE),
    ).toEqual({ pmin: 10, pmax: 60, gt: 5 });
  });
});

describe('attributesFromLink / attributesToLinkParams', () => {
  const discover = parseLinkFormat(
    '</3/0>;pmin=10,</3/0/1>,</3/0/6>;dim=8,</3/0/7>;dim=8;gt=50;lt=42.2',
  );

  it('reads notification attributes from a Discover response, ignoring others', () => {
    expect(discover.map(attributesFromLink)).toEqual([{ pmin: 10 }, {}, {}, { gt: 50, lt: 42.2 }]);
    const [root] = parseLinkFormat('</>;rt="oma.lwm2m";ct=11543;ver=1.1');
    expect(attributesFromLink(root!)).toEqual({});
  });

  it('reads quoted values like unquoted ones', () => {
    const [l] = parseLinkFormat('</3/0/7>;gt="50";edge="1"');
    expect(attributesFromLink(l!)).toEqual({ gt: 50, edge: 1 });
  });

  it.each([
    ['</3/0>;pmin', /attribute "pmin" of link <\/3\/0> has no value/],
    ['</3/0>;pmin=1;pmin=2', /attribute "pmin" appears more than once in link <\/3\/0>/],
    ['</3/0>;pmin=x', /invalid pmin value "x" in "<\/3\/0>;pmin=x"/],
    ['</3/0/7>;edge=2', /invalid edge value "2"/],
  ])('rejects %j', (text, message) => {
    const [l] = parseLinkFormat(text);
    expect(() => attributesFromLink(l!)).toThrow(InvalidAttributeError);
    expect(() => attributesFromLink(l!)).toThrow(message);
  });

  it('writes link parameters in the stable order', () => {
    const attributes = attributesToLinkParams({ lt: 42.2, gt: 50, pmin: 10 });
    expect(attributes).toEqual([
      ['pmin', { kind: 'token', value: '10' }],
      ['gt', { kind: 'token', value: '50' }],
      ['lt', { kind: 'token', value: '42.2' }],
    ]);
    expect(formatLinkFormat([{ uri: '/3/0/7', attributes }])).toBe(
      '</3/0/7>;pmin=10;gt=50;lt=42.2',
    );
  });

  it('rejects invalid values', () => {
    expect(() => attributesToLinkParams({ pmin: -3 })).toThrow(/pmin value -3/);
  });
});

describe('round trips (property)', () => {
  const seconds = fc.maxSafeNat();
  const float = fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => x + 0); // no -0
  const step = float.map(Math.abs);
  const bit = fc.constantFrom(0 as const, 1 as const);
  const attrsModel = {
    pmin: seconds,
    pmax: seconds,
    gt: float,
    lt: float,
    st: step,
    epmin: seconds,
    epmax: seconds,
    edge: bit,
    con: bit,
    hqmax: seconds,
  };
  const attrsArb: fc.Arbitrary<WriteAttributes> = fc.record(attrsModel, { requiredKeys: [] });
  const updateArb: fc.Arbitrary<AttributeUpdate> = fc.record(
    Object.fromEntries(
      Object.entries(attrsModel).map(([k, arb]) => [k, fc.option(arb as fc.Arbitrary<number>)]),
    ) as { [K in keyof typeof attrsModel]: fc.Arbitrary<number | null> },
    { requiredKeys: [] },
  ) as fc.Arbitrary<AttributeUpdate>;

  it('parseAttributeQuery(formatAttributeQuery(u)) equals u, as options and as a string', () => {
    fc.assert(
      fc.property(updateArb, (update) => {
        const options = formatAttributeQuery(update);
        expect(parseAttributeQuery(options)).toEqual(update);
        expect(parseAttributeQuery(formatAttributeQueryString(update))).toEqual(update);
        expect(parseAttributeQuery(`?${options.join('&')}`)).toEqual(update);
      }),
      { numRuns: 1000 },
    );
  });

  it('formatting is stable: format(parse(format(u))) equals format(u)', () => {
    fc.assert(
      fc.property(updateArb, (update) => {
        const options = formatAttributeQuery(update);
        expect(formatAttributeQuery(parseAttributeQuery(options))).toEqual(options);
      }),
    );
  });

  it('attributes survive a trip through link-format text', () => {
    fc.assert(
      fc.property(attrsArb, (attrs) => {
        const text = formatLinkFormat([
          {
            uri: '/3/0/7',
            attributes: [['dim', { kind: 'token', value: '2' }], ...attributesToLinkParams(attrs)],
          },
        ]);
        const [l] = parseLinkFormat(text);
        expect(attributesFromLink(l!)).toEqual(attrs);
      }),
      { numRuns: 500 },
    );
  });

  it('merging applies each key of the update and is idempotent', () => {
    fc.assert(
      fc.property(attrsArb, updateArb, (current, update) => {
        const merged = mergeAttributes(current, update);
        expect(mergeAttributes(merged, update)).toEqual(merged);
        for (const name of WRITE_ATTRIBUTE_NAMES) {
          const u = update[name];
          if (u === null) expect(merged).not.toHaveProperty(name);
          else if (u !== undefined) expect(merged[name]).toBe(u);
          else expect(merged[name]).toBe(current[name]);
        }
      }),
    );
  });

  it('validation throws only InvalidAttributeError', () => {
    const levelArb = fc.constantFrom(
      'object',
      'instance',
      'resource',
      'resourceInstance',
    ) as fc.Arbitrary<AttributeContext['level']>;
    fc.assert(
      fc.property(
        attrsArb,
        levelArb,
        fc.option(fc.boolean(), { nil: undefined }),
        (attrs, level, numeric) => {
          try {
            validateAttributes(attrs, { level, resourceIsNumeric: numeric });
          } catch (e) {
            if (!(e instanceof InvalidAttributeError)) throw e;
          }
        },
      ),
    );
  });
});
