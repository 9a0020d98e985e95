import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LinkFormatError } from './errors.js';
import {
  formatLinkFormat,
  getLinkAttribute,
  getLinkAttributes,
  type Link,
  type LinkAttribute,
  type LinkAttributeValue,
  link,
  parseLinkFormat,
} from './link-format.js';

const token = (value: string): LinkAttributeValue => ({ kind: 'token', value });
const quoted = (value: string): LinkAttributeValue => ({ kind: 'quoted', value });
const flag: LinkAttributeValue = { kind: 'flag' };

describe('parseLinkFormat', () => {
  it('parses a registration payload (Core TS 1.2 §6.2)', () => {
    const text = '</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</5>;ver=1.1,</3303/0>,</3303/1>';
    expect(parseLinkFormat(text)).toEqual([
      {
        uri: '/',
        attributes: [
          ['rt', quoted('oma.lwm2m')],
          ['ct', token('11543')],
        ],
      },
      { uri: '/1/0', attributes: [] },
      { uri: '/3/0', attributes: [] },
      { uri: '/5', attributes: [['ver', token('1.1')]] },
      { uri: '/3303/0', attributes: [] },
      { uri: '/3303/1', attributes: [] },
    ]);
  });

  it('parses a Discover response (Core TS 1.2 §6.3.2)', () => {
    const text = '</3/0>;pmin=10,</3/0/1>,</3/0/6>;dim=8,</3/0/7>;dim=8;gt=50;lt=42.2';
    expect(parseLinkFormat(text)).toEqual([
      { uri: '/3/0', attributes: [['pmin', token('10')]] },
      { uri: '/3/0/1', attributes: [] },
      { uri: '/3/0/6', attributes: [['dim', token('8')]] },
      {
        uri: '/3/0/7',
        attributes: [
          ['dim', token('8')],
          ['gt', token('50')],
          ['lt', token('42.2')],
        ],
      },
    ]);
  });

  it('parses the LwM2M 1.1 quoted content-format list', () => {
    const [root] = parseLinkFormat('</>;rt="oma.lwm2m";ct="60 110 112 11543"');
    expect(root?.attributes).toEqual([
      ['rt', quoted('oma.lwm2m')],
      ['ct', quoted('60 110 112 11543')],
    ]);
    expect(getLinkAttribute(root!, 'ct')).toBe('60 110 112 11543');
  });

  it('parses object versions, dimensions and flags', () => {
    expect(parseLinkFormat('</3>;ver=1.2,</3/0/1>;dim=3,</3/0/13>;obs;ct=0')).toEqual([
      { uri: '/3', attributes: [['ver', token('1.2')]] },
      { uri: '/3/0/1', attributes: [['dim', token('3')]] },
      {
        uri: '/3/0/13',
        attributes: [
          ['obs', flag],
          ['ct', token('0')],
        ],
      },
    ]);
  });

  it('keeps ",", ";", "=" inside quoted values and unescapes \\" and \\\\', () => {
    const [l] = parseLinkFormat('</a>;title="x, y; z=1";t="say \\"hi\\" \\\\ bye";u="\\q"');
    expect(l?.attributes).toEqual([
      ['title', quoted('x, y; z=1')],
      ['t', quoted('say "hi" \\ bye')],
      ['u', quoted('q')],
    ]);
  });

  it('keeps repeated attribute names in order', () => {
    const [l] = parseLinkFormat('</a>;rt="x";if=core.s;rt="y";obs;rt=z');
    expect(getLinkAttribute(l!, 'rt')).toBe('x');
    expect(getLinkAttributes(l!, 'rt')).toEqual(['x', 'y', 'z']);
    expect(getLinkAttribute(l!, 'obs')).toBe(true);
    expect(getLinkAttribute(l!, 'missing')).toBeUndefined();
    expect(getLinkAttributes(l!, 'missing')).toEqual([]);
  });

  it('accepts ptoken characters such as "=", "<" and ">" in unquoted values', () => {
    const [l] = parseLinkFormat("</a>;x=a=b<c>?@[]{}|~!#$%&'()*+-./:^_`");
    expect(getLinkAttribute(l!, 'x')).toBe("a=b<c>?@[]{}|~!#$%&'()*+-./:^_`");
  });

  it('accepts ext-name-star parameter names (title*)', () => {
    const [l] = parseLinkFormat("</a>;title*=UTF-8'de'n%c3%a4chstes");
    expect(l?.attributes).toEqual([['title*', token("UTF-8'de'n%c3%a4chstes")]]);
  });

  it('tolerates whitespace and newlines around delimiters and at the ends', () => {
    const text = '\n  </3/0>;pmin=10 ,\r\n\t</3/0/1> ; obs ;  rt="a b" ,\n</3/0/2>\n';
    expect(parseLinkFormat(text)).toEqual([
      { uri: '/3/0', attributes: [['pmin', token('10')]] },
      {
        uri: '/3/0/1',
        attributes: [
          ['obs', flag],
          ['rt', quoted('a b')],
        ],
      },
      { uri: '/3/0/2', attributes: [] },
    ]);
    // The spec's own Discover examples put a space after each comma.
    expect(parseLinkFormat('</1>, </1/0>, </1/4>;pmax=300')).toHaveLength(3);
  });

  it('returns no links for empty or blank input', () => {
    expect(parseLinkFormat('')).toEqual([]);
    expect(parseLinkFormat(' \r\n\t ')).toEqual([]);
  });

  it('accepts an empty URI-Reference', () => {
    expect(parseLinkFormat('<>;rt="x"')).toEqual([{ uri: '', attributes: [['rt', quoted('x')]] }]);
  });

  it('returns deeply frozen links', () => {
    const [l] = parseLinkFormat('</a>;rt="x";ct=1;obs');
    expect(Object.isFrozen(l)).toBe(true);
    expect(Object.isFrozen(l?.attributes)).toBe(true);
    for (const entry of l!.attributes) {
      expect(Object.isFrozen(entry)).toBe(true);
      expect(Object.isFrozen(entry[1])).toBe(true);
    }
  });

  it.each([
    ['/1/0>', /expected "<" to start a link, found "\/" at offset 0/],
    ['</1/0', /unterminated URI: no ">" after "<" at offset 0/],
    ['</1/0,</3/0>', /"<" is not allowed in the URI .* \(missing ">"\?\) at offset 6/],
    ['</1 0>', /" " is not allowed in the URI/],
    ['</>;rt="oma.lwm2m', /unterminated quoted value of "rt" at offset 7/],
    ['</>;rt="oma\\', /unterminated quoted value of "rt"/],
    ['</>;rt="a\nb"', /control character in the quoted value of "rt" at offset 9/],
    ['</1>;=5', /empty attribute name in link <\/1> at offset 5/],
    ['</1>;;obs', /empty attribute name in link <\/1> at offset 5/],
    ['</1>;', /empty attribute name in link <\/1> at offset 5/],
    ['</1>;obs,</2>;', /empty attribute name in link <\/2> at offset 14/],
    ['</1>;"rt"=1', /"\\"" cannot start an attribute name in link <\/1>/],
    ['</1>;r"t=1', /"\\"" is not allowed in attribute name "r"/],
    ['</1>;ct=', /missing value after "ct="/],
    ['</1>;ct= 5', /missing value after "ct="/],
    ['</1>;ct=1"0', /"\\"" is not allowed in the unquoted value of "ct" \(quote the value\)/],
    ['</1>;ct=1\\0', /"\\\\" is not allowed in the unquoted value of "ct"/],
    ['</1>;rt="a"b', /expected ";" or "," after the quoted value of "rt", found "b"/],
    ['</1>,', /trailing "," with no link after it at offset 4/],
    ['</1>, \n', /trailing "," with no link after it at offset 4/],
    [',</1>', /empty link \(extra ","\), found "," at offset 0/],
    ['</1>,,</2>', /empty link \(extra ","\), found "," at offset 5/],
    ['</1> </2>', /expected ";" or "," after link <\/1>, found "<" at offset 5/],
    ['</1>x', /expected ";" or "," after link <\/1>, found "x" at offset 4/],
    ['</1>;a=b c', /expected ";" or "," after link <\/1>, found "c"/],
    ['</1>;obs x', /expected ";" or "," after link <\/1>, found "x"/],
    ['hello', /expected "<" to start a link, found "h" at offset 0/],
  ])('rejects %j', (text, message) => {
    expect(() => parseLinkFormat(text)).toThrow(LinkFormatError);
    expect(() => parseLinkFormat(text)).toThrow(message);
  });

  it('names the offending input in a bounded excerpt', () => {
    const text = `${'</3303/0>,'.repeat(1000)}</3303/1>x</3303/2>`;
    try {
      parseLinkFormat(text);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(LinkFormatError);
      const message = (e as Error).message;
      expect(message).toContain(`at offset ${text.indexOf('x')}`);
      expect(message).toContain('near "…');
      expect(message).toContain('</3303/1>x</3303/2>');
      expect(message.length).toBeLessThan(200);
    }
  });

  describe('works in linear time', () => {
    const MB = 1 << 20;
    const timed = (text: string): number => {
      const start = performance.now();
      try {
        parseLinkFormat(text);
      } catch (e) {
        if (!(e instanceof LinkFormatError)) throw e;
      }
      return performance.now() - start;
    };

    it('parses 1 MB of links well under a second', () => {
      const unit = '</3303/12>;ver=1.1;rt="a,b;c=\\"d\\"";obs;pmin=10,';
      const text = `${unit.repeat(Math.ceil(MB / unit.length))}</3303/0>`;
      const start = performance.now();
      const links = parseLinkFormat(text);
      expect(performance.now() - start).toBeLessThan(1000);
      expect(links).toHaveLength(Math.ceil(MB / unit.length) + 1);
      expect(getLinkAttribute(links[0]!, 'rt')).toBe('a,b;c="d"');
    });

    it.each([
      ['an unterminated quote', `</a>;rt="${'x'.repeat(MB)}`],
      ['an unterminated quote full of escapes', `</a>;rt="${'\\,'.repeat(MB / 2)}`],
      ['an unterminated URI', `</${'a'.repeat(MB)}`],
      ['many "<"', '<'.repeat(MB)],
      ['many ";"', `</a>${';'.repeat(MB)}`],
      ['many ","', `</a>${','.repeat(MB)}`],
      ['a long name ending badly', `</a>;${'n'.repeat(MB)}"`],
      ['a long token ending badly', `</a>;n=${'1'.repeat(MB)}"`],
      ['long whitespace before garbage', `</a>${' '.repeat(MB)}x`],
    ])('fails fast on 1 MB of %s', (_, text) => {
      expect(timed(text)).toBeLessThan(1000);
    });
  });
});

describe('formatLinkFormat', () => {
  it('writes the registration payload back unchanged', () => {
    const text = '</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</5>;ver=1.1,</3303/0>,</3303/1>';
    expect(formatLinkFormat(parseLinkFormat(text))).toBe(text);
  });

  it('writes the Discover response back unchanged', () => {
    const text = '</3/0>;pmin=10,</3/0/1>,</3/0/6>;dim=8,</3/0/7>;dim=8;gt=50;lt=42.2';
    expect(formatLinkFormat(parseLinkFormat(text))).toBe(text);
  });

  it('drops whitespace and needless escapes (canonical form)', () => {
    expect(formatLinkFormat(parseLinkFormat(' </1> ; obs , </1/0>;rt="\\a\\"" '))).toBe(
      '</1>;obs,</1/0>;rt="a\\""',
    );
  });

  it('returns an empty string for no links', () => {
    expect(formatLinkFormat([])).toBe('');
  });

  it('keeps quoted values quoted even when they are valid tokens', () => {
    expect(formatLinkFormat([{ uri: '/', attributes: [['ct', quoted('110')]] }])).toBe(
      '</>;ct="110"',
    );
  });

  it('escapes " and \\ in quoted values', () => {
    expect(formatLinkFormat([{ uri: '/a', attributes: [['t', quoted('a"b\\c,d;e')]] }])).toBe(
      '</a>;t="a\\"b\\\\c,d;e"',
    );
  });

  it('quotes token values that are not ptokens', () => {
    const links: Link[] = [
      {
        uri: '/a',
        attributes: [
          ['a', token('60 110')],
          ['b', token('')],
          ['c', token('x"y')],
        ],
      },
    ];
    const text = formatLinkFormat(links);
    expect(text).toBe('</a>;a="60 110";b="";c="x\\"y"');
    expect(parseLinkFormat(text)[0]?.attributes).toEqual([
      ['a', quoted('60 110')],
      ['b', quoted('')],
      ['c', quoted('x"y')],
    ]);
  });

  it.each([
    [{ uri: '/a>b', attributes: [] }, /link URI "\/a>b" contains ">"/],
    [{ uri: '/a b', attributes: [] }, /link URI "\/a b" contains " "/],
    [{ uri: '/a', attributes: [['', flag]] }, /attribute name "" of link <\/a>/],
    [{ uri: '/a', attributes: [['a b', flag]] }, /attribute name "a b" of link <\/a>/],
    [{ uri: '/a', attributes: [['*', flag]] }, /attribute name "\*" of link <\/a>/],
    [{ uri: '/a', attributes: [['a*b', flag]] }, /attribute name "a\*b"/],
    [{ uri: '/a', attributes: [['t', quoted('a\nb')]] }, /value "a\\nb" of "t" .* control/],
  ] as [Link, RegExp][])('rejects %j', (l, message) => {
    expect(() => formatLinkFormat([l])).toThrow(LinkFormatError);
    expect(() => formatLinkFormat([l])).toThrow(message);
  });
});

describe('link', () => {
  it('builds a registration root link', () => {
    const l = link('/', { rt: 'oma.lwm2m', ct: 11543 });
    expect(l).toEqual({
      uri: '/',
      attributes: [
        ['rt', quoted('oma.lwm2m')],
        ['ct', token('11543')],
      ],
    });
    expect(formatLinkFormat([l, link('/1/0'), link('/5', { ver: '1.1' })])).toBe(
      '</>;rt="oma.lwm2m";ct=11543,</1/0>,</5>;ver=1.1',
    );
  });

  it('writes true as a flag, leaves false out and quotes strings that need it', () => {
    const l = link('/3/0/1', { dim: 3, obs: true, hidden: false, ct: '60 110', gt: -5.5 });
    expect(formatLinkFormat([l])).toBe('</3/0/1>;dim=3;obs;ct="60 110";gt=-5.5');
  });

  it('returns frozen links', () => {
    const l = link('/a', { rt: 'x' });
    expect(Object.isFrozen(l)).toBe(true);
    expect(Object.isFrozen(l.attributes)).toBe(true);
  });

  it.each([
    ['/a b', {}, /link URI "\/a b"/],
    ['/a', { 'a;b': 1 }, /attribute name "a;b"/],
    ['/a', { n: Number.NaN }, /value NaN of "n" in link <\/a> is not a finite number/],
    ['/a', { n: Number.POSITIVE_INFINITY }, /not a finite number/],
    ['/a', { t: 'a\u0000b' }, /control character/],
  ] as [string, Record<string, string | number | boolean>, RegExp][])(
    'rejects %j %j',
    (uri, attrs, message) => {
      expect(() => link(uri, attrs)).toThrow(LinkFormatError);
      expect(() => link(uri, attrs)).toThrow(message);
    },
  );
});

describe('round trips (property)', () => {
  const chars = (s: string) => fc.constantFrom(...s.split(''));
  const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const uriArb = fc.string({ unit: chars(`${ALNUM}/-._~:?#[]@!$&'()*+,;=%`), maxLength: 20 });
  const nameArb = fc
    .tuple(
      fc.string({ unit: chars(`${ALNUM}!#$&+-.^_\`|~`), minLength: 1, maxLength: 8 }),
      fc.boolean(),
    )
    .map(([n, star]) => (star ? `${n}*` : n));
  const ptokenArb = fc.string({
    unit: chars(`${ALNUM}!#$%&'()*+-./:<=>?@[]^_\`{|}~`),
    minLength: 1,
    maxLength: 12,
  });
  // Anything but control characters, including quotes, backslashes, delimiters and non-ASCII.
  const quotedArb = fc
    .string({ unit: 'grapheme', maxLength: 16 })
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are the point
    .filter((s) => !/[\u0000-\u0008\u000a-\u001f\u007f]/.test(s));
  const valueArb: fc.Arbitrary<LinkAttributeValue> = fc.oneof(
    ptokenArb.map(token),
    quotedArb.map(quoted),
    fc.constant(flag),
  );
  const attributeArb: fc.Arbitrary<LinkAttribute> = fc.tuple(nameArb, valueArb);
  const linkArb: fc.Arbitrary<Link> = fc.record({
    uri: uriArb,
    attributes: fc.array(attributeArb, { maxLength: 5 }),
  });
  const linksArb = fc.array(linkArb, { maxLength: 6 });

  it('parse(format(links)) equals links', () => {
    fc.assert(
      fc.property(linksArb, (links) => {
        expect(parseLinkFormat(formatLinkFormat(links))).toEqual(links);
      }),
      { numRuns: 500 },
    );
  });

  it('format(parse(format(links))) equals format(links)', () => {
    fc.assert(
      fc.property(linksArb, (links) => {
        const text = formatLinkFormat(links);
        expect(formatLinkFormat(parseLinkFormat(text))).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('whitespace around delimiters does not change the result', () => {
    const wsArb = fc.string({ unit: chars(' \t\r\n'), maxLength: 3 });
    fc.assert(
      fc.property(linksArb, wsArb, wsArb, (links, a, b) => {
        // Each parameter formatted alone is `<>;name=value`; drop the `<>` and space the `;`.
        const param = (attr: LinkAttribute) =>
          `${a};${b}${formatLinkFormat([{ uri: '', attributes: [attr] }]).slice(3)}`;
        const spaced = links
          .map((l) => `<${l.uri}>${l.attributes.map(param).join('')}`)
          .join(`${b},${a}`);
        expect(parseLinkFormat(`${a}${spaced}${b}`)).toEqual(links);
      }),
      { numRuns: 300 },
    );
  });

  it('throws nothing but LinkFormatError on arbitrary input', () => {
    const linkish = fc.string({ unit: chars('<>/;,="\\ a1\n*'), maxLength: 40 });
    fc.assert(
      fc.property(fc.oneof(fc.string(), linkish), (text) => {
        try {
          const links = parseLinkFormat(text);
          // Whatever parses must format and parse back to the same links.
          expect(parseLinkFormat(formatLinkFormat(links))).toEqual(links);
        } catch (e) {
          if (!(e instanceof LinkFormatError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
