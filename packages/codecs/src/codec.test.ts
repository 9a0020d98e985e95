import {
  ContentFormat,
  DecodeError,
  EncodeError,
  flattenNode,
  type LwM2mNode,
  LwM2mPath,
  link,
  multipleResource,
  NotAcceptableError,
  objectInstance,
  resourceInstance,
  singleResource,
  typedValue,
  UnsupportedContentFormatError,
} from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, decodeValues, encode, formatName, NODE_FORMATS } from './codec.js';
import { modelsOf } from './content.js';
import { decodeLinkFormat, encodeLinkFormat } from './link-format.js';
import { arbModelAndNode, fuzzDecoder } from './test-arbitraries.js';
import { compositeFormats, preferredFormat, supportedFormats } from './versions.js';

const registry = ObjectRegistry.withBuiltins();
const device = objectInstance(0, [
  singleResource(0, 'string', 'Open Mobile Alliance'),
  multipleResource(6, 'integer', { 0: 1, 1: 5 }),
  singleResource(9, 'integer', 100),
  singleResource(13, 'time', new Date(1_367_491_215_000)),
]);
const at = LwM2mPath.parse('/3/0');

/** True when `node` has an empty instance or multiple resource somewhere (SenML/CBOR lists cannot say so). */
function hasEmpty(node: LwM2mNode): boolean {
  switch (node.kind) {
    case 'object':
      return node.instances.length === 0 || node.instances.some(hasEmpty);
    case 'instance':
      return node.resources.length === 0 || node.resources.some(hasEmpty);
    case 'multipleResource':
      return node.instances.length === 0;
    default:
      return false;
  }
}

describe('encode/decode through one entry point', () => {
  const listFormats = [
    ContentFormat.TLV,
    ContentFormat.LWM2M_JSON,
    ContentFormat.SENML_JSON,
    ContentFormat.SENML_CBOR,
    ContentFormat.LWM2M_CBOR,
  ];

  it.each(listFormats)('round-trips the Device instance in format %i', (format) => {
    const bytes = encode(format, device, { path: at, model: registry });
    expect(decode(format, bytes, { path: at, model: registry })).toEqual(device);
    expect(decodeValues(format, bytes, { path: at, model: registry })).toEqual(
      flattenNode(at, device),
    );
  });

  it('round-trips random nodes in every format that can carry them', () => {
    fc.assert(
      fc.property(arbModelAndNode({ allowEmpty: true }), ({ model, path, node }) => {
        const provider = modelsOf([model]);
        const formats: number[] = [...listFormats];
        if (node.kind === 'singleResource' || node.kind === 'resourceInstance') {
          formats.push(ContentFormat.TEXT, ContentFormat.CBOR);
          if (node.type === 'opaque') formats.push(ContentFormat.OPAQUE);
        }
        for (const format of formats) {
          // Only TLV can say "no resources" or "no instances".
          if (format !== ContentFormat.TLV && hasEmpty(node)) continue;
          const bytes = encode(format, node, { path, model: provider });
          expect(decode(format, bytes, { path, model: provider }), formatName(format)).toEqual(
            node,
          );
        }
      }),
      { numRuns: 400, seed: 42 },
    );
  });

  it('carries single values in text/plain, opaque and CBOR', () => {
    const path = LwM2mPath.parse('/3/0/9');
    const node = singleResource(9, 'integer', 87);
    for (const format of [ContentFormat.TEXT, ContentFormat.CBOR]) {
      const bytes = encode(format, node, { path, model: registry });
      expect(decode(format, bytes, { path, model: registry })).toEqual(node);
    }
    expect(new TextDecoder().decode(encode(ContentFormat.TEXT, node, { path }))).toBe('87');
    const ri = LwM2mPath.parse('/3/0/6/1');
    expect(
      decode(ContentFormat.TEXT, new TextEncoder().encode('5'), { path: ri, model: registry }),
    ).toEqual(resourceInstance(1, 'integer', 5));
  });

  it('answers 4.06 when a format cannot carry the content', () => {
    expect(() => encode(ContentFormat.TEXT, device, { path: at })).toThrow(NotAcceptableError);
    expect(() =>
      encode(ContentFormat.OPAQUE, singleResource(0, 'string', 'x'), { path: '/3/0/0' }),
    ).toThrow(EncodeError);
    const timed = [{ path: LwM2mPath.parse('/3/0/9'), value: typedValue('integer', 1), time: 5 }];
    expect(() => encode(ContentFormat.TLV, timed, { path: '/3/0/9' })).toThrow(/timestamped/);
    expect(() => encode(ContentFormat.LWM2M_CBOR, timed, { path: '/3/0/9' })).toThrow(
      /timestamped/,
    );
    expect(() => encode(ContentFormat.LINK_FORMAT, device, { path: at })).toThrow(
      NotAcceptableError,
    );
    expect(() => encode(9999, device, { path: at })).toThrow(NotAcceptableError);
  });

  it('answers 4.15 when a payload cannot be decoded as asked', () => {
    expect(() => decode(9999, new Uint8Array(), { path: at })).toThrow(
      UnsupportedContentFormatError,
    );
    expect(() => decode(ContentFormat.TEXT, new Uint8Array([0x31]), { path: at })).toThrow(
      UnsupportedContentFormatError,
    );
    expect(() =>
      decode(ContentFormat.TEXT, new Uint8Array([0x31]), { path: '/3/0/6', model: registry }),
    ).toThrow(/multiple resource/);
    expect(() => decodeValues(ContentFormat.TLV, new Uint8Array(), {})).toThrow(
      /needs the target path/,
    );
  });

  it('refuses values outside the target path and shapes against the model', () => {
    const senml = encode(ContentFormat.SENML_JSON, device, { path: at });
    expect(() => decode(ContentFormat.SENML_JSON, senml, { path: '/3/1' })).toThrow(
      /outside the target/,
    );
    const singleAsMultiple = objectInstance(0, [multipleResource(9, 'integer', { 0: 1 })]);
    for (const format of [ContentFormat.SENML_CBOR, ContentFormat.TLV]) {
      expect(() => encode(format, singleAsMultiple, { path: at, model: registry })).toThrow(
        EncodeError,
      );
      const bytes = encode(format, singleAsMultiple, { path: at });
      expect(() => decode(format, bytes, { path: at, model: registry })).toThrow(DecodeError);
    }
    const ri = encode(ContentFormat.SENML_CBOR, resourceInstance(0, 'integer', 1), {
      path: '/3/0/9/0',
    });
    expect(() =>
      decode(ContentFormat.SENML_CBOR, ri, { path: '/3/0/9/0', model: registry }),
    ).toThrow(/single resource/);
  });

  it('decodes an empty list as an empty multiple resource when the model says so', () => {
    const empty = encode(ContentFormat.SENML_JSON, [], { path: '/3/0/6' });
    expect(decode(ContentFormat.SENML_JSON, empty, { path: '/3/0/6', model: registry })).toEqual(
      multipleResource(6, 'integer', []),
    );
    expect(() =>
      decode(ContentFormat.SENML_JSON, empty, { path: '/3/0/9', model: registry }),
    ).toThrow(/no value/);
  });

  it('carries composite values across objects in the composite formats only', () => {
    const values = [
      { path: LwM2mPath.parse('/3/0/9'), value: typedValue('integer', 90) },
      { path: LwM2mPath.parse('/3303/0/5700'), value: typedValue('float', 21.5) },
    ];
    for (const format of compositeFormats('1.2')) {
      const bytes = encode(format, values, { path: '/', model: registry });
      expect(decodeValues(format, bytes, { model: registry })).toEqual(values);
    }
    expect(() => encode(ContentFormat.LWM2M_JSON, values, { path: '/3' })).toThrow(/outside/);
  });

  it('fuzzes the entry point: only codec errors escape', () => {
    const seeds = NODE_FORMATS.filter(
      (f) => f !== ContentFormat.OPAQUE && f !== ContentFormat.TEXT && f !== ContentFormat.CBOR,
    ).map((f) => encode(f, device, { path: at, model: registry }));
    for (const format of NODE_FORMATS) {
      fuzzDecoder(
        formatName(format),
        (b) => decode(format, b, { path: '/3/0/9', model: registry }),
        seeds,
        {
          runs: 3_000,
        },
      );
    }
  }, 60_000);
});

describe('link format payloads', () => {
  it('round-trips a registration payload', () => {
    const text = '</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</5>;ver=1.1';
    const links = decodeLinkFormat(new TextEncoder().encode(text));
    expect(links.map((l) => l.uri)).toEqual(['/', '/1/0', '/3/0', '/5']);
    expect(new TextDecoder().decode(encodeLinkFormat(links))).toBe(text);
    expect(encodeLinkFormat([link('/3/0', { pmin: 10 })])).toEqual(
      new TextEncoder().encode('</3/0>;pmin=10'),
    );
  });

  it('reports bad payloads as link-format decode errors', () => {
    expect(() => decodeLinkFormat(new Uint8Array([0xff]))).toThrow(/link-format: not valid UTF-8/);
    expect(() => decodeLinkFormat(new TextEncoder().encode('</3/0'))).toThrow(DecodeError);
    fuzzDecoder(
      'link-format',
      decodeLinkFormat,
      [new TextEncoder().encode('</>;rt="oma.lwm2m",</3/0>;ver=1.1')],
      {
        runs: 100_000,
      },
    );
  }, 60_000);
});

describe('formats per LwM2M version', () => {
  it('lists what each version defines', () => {
    expect(supportedFormats('1.0')).toContain(ContentFormat.TLV);
    expect(supportedFormats('1.0')).not.toContain(ContentFormat.SENML_CBOR);
    expect(supportedFormats('1.1')).toContain(ContentFormat.SENML_JSON);
    expect(supportedFormats('1.1')).not.toContain(ContentFormat.LWM2M_CBOR);
    expect(supportedFormats('1.2')).toContain(ContentFormat.LWM2M_CBOR);
    expect(compositeFormats('1.0')).toEqual([]);
  });

  it('picks the default a server should ask for', () => {
    expect(preferredFormat({ version: '1.0', level: 'instance' })).toBe(ContentFormat.TLV);
    expect(preferredFormat({ version: '1.1', level: 'object' })).toBe(ContentFormat.SENML_CBOR);
    expect(preferredFormat({ version: '1.2', level: 'object' })).toBe(ContentFormat.SENML_CBOR);
    expect(preferredFormat({ version: '1.2', level: 'object', advertised: [112, 11544] })).toBe(
      ContentFormat.LWM2M_CBOR,
    );
    // a client that speaks only SenML JSON and text is never asked for TLV
    expect(preferredFormat({ version: '1.1', level: 'instance', advertised: [0, 110] })).toBe(
      ContentFormat.SENML_JSON,
    );
    expect(preferredFormat({ version: '1.1', level: 'resource', advertised: [0, 42] })).toBe(
      ContentFormat.TEXT,
    );
  });
});
