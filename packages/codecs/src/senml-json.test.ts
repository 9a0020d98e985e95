import { EncodeError, flattenNode, LwM2mPath, nodeFromValues, typedValue } from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { modelsOf, type TimedValue } from './content.js';
import {
  decodeSenmlJson,
  decodeSenmlJsonPaths,
  encodeSenmlJson,
  encodeSenmlJsonPaths,
} from './senml-json.js';
import { arbModelAndNode, arbTimedValues, fuzzDecoder } from './test-arbitraries.js';
import {
  allTypesObject,
  DEVICE_VALUES,
  decodeError,
  encodeError,
  str,
  text,
  v,
} from './test-fixtures.js';

const FORMAT = 'SenML JSON';
const registry = ObjectRegistry.withBuiltins();
const opts = { model: registry };
const p = (s: string) => LwM2mPath.parse(s);

const testObject = allTypesObject('1.1');
const testModel = { model: modelsOf([testObject]) };

// Core TS 1.1.1 §7.4.5 / Core TS 1.2 §7.4.6: Read of the Device object instance /3/0 (the spec's
// example, its whitespace removed).
const DEVICE_JSON =
  '[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"1","vs":"Lightweight M2M Client"},' +
  '{"n":"2","vs":"345000123"},{"n":"3","vs":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},' +
  '{"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},' +
  '{"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1367491215},' +
  '{"n":"14","vs":"+02:00"},{"n":"16","vs":"U"}]';

describe('SenML JSON: spec examples', () => {
  it('Read /3/0 (Core TS 1.2 §7.4.6), both ways', () => {
    expect(decodeSenmlJson(text(DEVICE_JSON), opts)).toEqual(DEVICE_VALUES);
    expect(str(encodeSenmlJson(DEVICE_VALUES, opts))).toBe(DEVICE_JSON);
    // Whitespace as printed in the spec is accepted.
    const pretty = DEVICE_JSON.replaceAll('},{', '},\n  {').replace('[', '[\n  ');
    expect(decodeSenmlJson(text(pretty), opts)).toEqual(DEVICE_VALUES);
  });

  it('Read of a single resource /3/0/0: the path is the base name', () => {
    const json = '[{"bn":"/3/0/0","vs":"Open Mobile Alliance"}]';
    const values = [DEVICE_VALUES[0]!];
    expect(str(encodeSenmlJson(values, opts))).toBe(json);
    expect(decodeSenmlJson(text(json), opts)).toEqual(values);
  });

  it('Read of a multiple resource /3/0/7: instances named relative to it', () => {
    const json = '[{"bn":"/3/0/7/","n":"0","v":3800},{"n":"1","v":5000}]';
    const values = DEVICE_VALUES.slice(6, 8);
    expect(str(encodeSenmlJson(values, opts))).toBe(json);
    expect(decodeSenmlJson(text(json), opts)).toEqual(values);
  });

  it('notification with history (Core TS 1.1 SenML JSON timestamped values): bt + t', () => {
    // The spec's form: a base time and negative offsets into the past.
    const json =
      '[{"bn":"/3303/0/5700","bt":1.320067464e+09,"v":22.4,"t":-5},{"v":22.9,"t":-30},{"v":24.1,"t":-50}]';
    const bt = 1320067464;
    const values = [
      v('/3303/0/5700', 'float', 22.4, bt - 5),
      v('/3303/0/5700', 'float', 22.9, bt - 30),
      v('/3303/0/5700', 'float', 24.1, bt - 50),
    ];
    expect(decodeSenmlJson(text(json), opts)).toEqual(values);
    // Written back: bt is the first value's time and t is relative to it.
    expect(str(encodeSenmlJson(values, opts))).toBe(
      '[{"bn":"/3303/0/5700","bt":1320067459,"v":22.4},{"v":22.9,"t":-25},{"v":24.1,"t":-45}]',
    );
  });

  it('Read-Composite / Observe-Composite request paths (Core TS 1.2 §6.3.8 Read-Composite)', () => {
    const json = '[{"n":"/3/0/0"},{"n":"/3/0/9"},{"n":"/1/0/1"},{"n":"/1/0"},{"n":"/3"}]';
    const paths = ['/3/0/0', '/3/0/9', '/1/0/1', '/1/0', '/3'].map(p);
    expect(str(encodeSenmlJsonPaths(paths))).toBe(json);
    expect(decodeSenmlJsonPaths(text(json))).toEqual(paths);
    // A base name may factor them, as in any SenML pack.
    expect(
      decodeSenmlJsonPaths(text('[{"bn":"/3/0/","n":"0"},{"n":"9"},{"bn":"/1/0/","n":"1"}]')),
    ).toEqual(paths.slice(0, 3));
  });

  it('Read-Composite response: several objects, full paths in n', () => {
    const values = [
      v('/3/0/0', 'string', 'Open Mobile Alliance'),
      v('/3/0/9', 'integer', 95),
      v('/1/0/1', 'integer', 86400),
    ];
    const json =
      '[{"n":"/3/0/0","vs":"Open Mobile Alliance"},{"n":"/3/0/9","v":95},{"n":"/1/0/1","v":86400}]';
    expect(str(encodeSenmlJson(values, opts))).toBe(json);
    expect(decodeSenmlJson(text(json), opts)).toEqual(values);
    // The same answer with base names (the 1.1 form) reads the same.
    const withBase =
      '[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"9","v":95},{"bn":"/1/0/","n":"1","v":86400}]';
    expect(decodeSenmlJson(text(withBase), opts)).toEqual(values);
  });

  it('Write-Composite payload: values of several objects', () => {
    const json = '[{"n":"/3/0/14","vs":"+01:00"},{"n":"/1/0/1","v":60},{"n":"/1/0/6","vb":false}]';
    const values = [
      v('/3/0/14', 'string', '+01:00'),
      v('/1/0/1', 'integer', 60),
      v('/1/0/6', 'boolean', false),
    ];
    expect(str(encodeSenmlJson(values, opts))).toBe(json);
    expect(decodeSenmlJson(text(json), opts)).toEqual(values);
  });

  it('Send of timestamped measurements from several instances', () => {
    const values = [
      v('/3303/0/5700', 'float', 21.5, 1700000000),
      v('/3303/1/5700', 'float', 19, 1700000000),
      v('/3303/0/5700', 'float', 21.75, 1700000060),
    ];
    const json =
      '[{"bn":"/3303/","bt":1700000000,"n":"0/5700","v":21.5},{"n":"1/5700","v":19.0},{"n":"0/5700","v":21.75,"t":60}]';
    expect(str(encodeSenmlJson(values, opts))).toBe(json);
    expect(decodeSenmlJson(text(json), opts)).toEqual(values);
  });
});

describe('SenML JSON: values', () => {
  it('every data type, with the test object', () => {
    const values = [
      v('/3442/0/110', 'string', 'é "quoted" \\ \n'),
      v('/3442/0/120', 'integer', -9223372036854775808n),
      v('/3442/0/125', 'unsigned', 18446744073709551615n),
      v('/3442/0/130', 'float', 0.1),
      v('/3442/0/140', 'boolean', true),
      v('/3442/0/150', 'opaque', Uint8Array.of(0xfb, 0xff, 0x00)),
      v('/3442/0/160', 'time', new Date(-1000)),
      v('/3442/0/170', 'objlnk', { objectId: 66, instanceId: 65535 }),
      v('/3442/0/180', 'corelnk', '</3/0>;ver=1.1'),
      v('/3442/0/1110/7', 'string', ''),
    ];
    const json =
      '[{"bn":"/3442/0/","n":"110","vs":"é \\"quoted\\" \\\\ \\n"},{"n":"120","v":-9223372036854775808},' +
      '{"n":"125","v":18446744073709551615},{"n":"130","v":0.1},{"n":"140","vb":true},' +
      '{"n":"150","vd":"-_8A"},{"n":"160","v":-1},{"n":"170","vlo":"66:65535"},' +
      '{"n":"180","vs":"</3/0>;ver=1.1"},{"n":"1110/7","vs":""}]';
    expect(str(encodeSenmlJson(values, testModel))).toBe(json);
    expect(decodeSenmlJson(text(json), testModel)).toEqual(values);
  });

  it('keeps 64-bit integers exact (JSON.parse would not)', () => {
    const json = '[{"n":"/3442/0/120","v":9007199254740993}]';
    expect(JSON.parse(json)[0].v).toBe(9007199254740992);
    expect(decodeSenmlJson(text(json), testModel)[0]!.value).toEqual(
      typedValue('integer', 9007199254740993n),
    );
    // Without a model too: an integer beyond 2^53 is a bigint.
    expect(decodeSenmlJson(text(json))[0]!.value).toEqual(typedValue('integer', 9007199254740993n));
  });

  it('floats read back as the same double; integral floats stay floats', () => {
    for (const f of [3, -2.5e-300, 1e21, 123456789012345680000, 5e-324, Number.MAX_VALUE]) {
      const values = [v('/3442/0/130', 'float', f)];
      const bytes = encodeSenmlJson(values, testModel);
      expect(decodeSenmlJson(bytes, testModel)).toEqual(values);
      // Float syntax keeps the type without a model.
      expect(decodeSenmlJson(bytes)[0]!.value).toEqual(typedValue('float', f));
    }
    expect(str(encodeSenmlJson([v('/3442/0/130', 'float', 3)]))).toBe(
      '[{"bn":"/3442/0/130","v":3.0}]',
    );
    // An integer literal where the model says float is a float.
    expect(decodeSenmlJson(text('[{"n":"/3442/0/130","v":3}]'), testModel)[0]!.value).toEqual(
      typedValue('float', 3),
    );
    expect(decodeSenmlJson(text('[{"n":"/3442/0/130","v":3}]'))[0]!.value).toEqual(
      typedValue('integer', 3),
    );
  });

  it('reads vd in either base64 alphabet, padded or not; writes base64url unpadded', () => {
    const want = [v('/3442/0/150', 'opaque', Uint8Array.of(0xfb, 0xff))];
    for (const vd of ['-_8', '-_8=', '+/8', '+/8=']) {
      expect(decodeSenmlJson(text(`[{"n":"/3442/0/150","vd":"${vd}"}]`), testModel)).toEqual(want);
    }
    expect(str(encodeSenmlJson(want, testModel))).toBe('[{"bn":"/3442/0/150","vd":"-_8"}]');
    for (const bad of ['-_8==', 'a', '-_8*', '=', 'ab=c']) {
      decodeError(FORMAT, () =>
        decodeSenmlJson(text(`[{"n":"/3442/0/150","vd":"${bad}"}]`), testModel),
      );
    }
  });

  it('resolves bn, bt, bv as RFC 8428 §4.6 does; ignores units and update times', () => {
    const json =
      '[{"bn":"/3442/0/","bt":1000,"bv":10,"bu":"Cel","n":"120","v":-3,"u":"Cel","ut":60},' +
      '{"n":"130","v":0.5,"t":-10},{"bn":"/3442/1/","n":"120","v":5,"t":2}]';
    expect(decodeSenmlJson(text(json), testModel)).toEqual([
      v('/3442/0/120', 'integer', 7, 1000),
      v('/3442/0/130', 'float', 10.5, 990),
      v('/3442/1/120', 'integer', 15, 1002),
    ]);
    // bv + v stays exact for 64-bit integers.
    expect(
      decodeSenmlJson(text('[{"bv":9007199254740993,"n":"/3442/0/120","v":2}]'), testModel)[0]!
        .value,
    ).toEqual(typedValue('integer', 9007199254740995n));
  });

  it('gives a record without bt or t no time; a sum next to a value is ignored', () => {
    expect(decodeSenmlJson(text('[{"n":"/3442/0/120","v":1,"s":5}]'), testModel)).toEqual([
      v('/3442/0/120', 'integer', 1),
    ]);
  });

  it('accepts bver 10 and unknown fields; refuses bver 11 and must-understand fields', () => {
    expect(
      decodeSenmlJson(text('[{"bver":10,"n":"/3442/0/120","v":1,"x":{"y":2}}]'), testModel),
    ).toEqual([v('/3442/0/120', 'integer', 1)]);
    expect(
      decodeError(FORMAT, () => decodeSenmlJson(text('[{"bver":11,"n":"/3/0/9","v":1}]'))).message,
    ).toMatch(/version 11/);
    const e = decodeError(FORMAT, () =>
      decodeSenmlJson(text('[{"n":"/3/0/9","v":1},{"n":"/3/0/9","v":1,"foo_":1}]')),
    );
    expect(e.message).toMatch(/must-understand field "foo_"/);
    expect(e.offset).toBe(42);
  });
});

describe('SenML JSON: refusals', () => {
  it('values that do not fit the model, with the record and its offset', () => {
    const cases: [string, RegExp][] = [
      ['[{"n":"/3442/0/125","v":-1}]', /out of range for unsigned/],
      ['[{"n":"/3442/0/125","v":-9223372036854775808}]', /out of range for unsigned/],
      ['[{"n":"/3442/0/125","v":18446744073709551616}]', /out of range for unsigned/],
      ['[{"n":"/3442/0/120","v":9223372036854775808}]', /out of range for integer/],
      ['[{"n":"/3442/0/120","vs":"12"}]', /string value where the model says integer/],
      ['[{"n":"/3442/0/120","v":2.5}]', /not an integer/],
      ['[{"n":"/3442/0/120","v":1e400}]', /integer/],
      ['[{"n":"/3442/0/130","v":1e400}]', /not finite/],
      ['[{"n":"/3442/0/140","v":1}]', /number value where the model says boolean/],
      ['[{"n":"/3442/0/150","vs":"AA=="}]', /string value where the model says opaque/],
      ['[{"n":"/3442/0/170","vlo":"66:65536"}]', /not objectId:instanceId/],
      ['[{"n":"/3442/0/170","vs":"66:1"}]', /string value where the model says objlnk/],
    ];
    for (const [json, why] of cases) {
      const e = decodeError(FORMAT, () => decodeSenmlJson(text(json), testModel));
      expect(e.message).toMatch(why);
      expect(e.message).toMatch(/record 0/);
      expect(e.offset).toBe(1);
    }
  });

  it('records without a value, with two, or with null (SenML-ETCH)', () => {
    expect(decodeError(FORMAT, () => decodeSenmlJson(text('[{"n":"/3/0/9"}]'))).message).toMatch(
      /no value/,
    );
    expect(
      decodeError(FORMAT, () => decodeSenmlJson(text('[{"n":"/3/0/9","s":1}]'))).message,
    ).toMatch(/sum without a value/);
    expect(
      decodeError(FORMAT, () => decodeSenmlJson(text('[{"n":"/3/0/9","v":1,"vs":"1"}]'))).message,
    ).toMatch(/more than one value/);
    const e = decodeError(FORMAT, () => decodeSenmlJson(text('[{"n":"/3/0/9","v":null}]')));
    expect(e.message).toMatch(/SenML-ETCH/);
    expect(e.offset).toBe(19);
  });

  it('names that are not resource paths', () => {
    const cases: [string, RegExp][] = [
      ['[{"v":1}]', /no name/],
      ['[{"n":"3/0/9","v":1}]', /not an LwM2M path/],
      ['[{"bn":"/3/0","n":"9","v":1}]', /not an LwM2M path/], // "/3/09"
      ['[{"n":"/3/0/","v":1}]', /not an LwM2M path/],
      ['[{"n":"/3/0/09","v":1}]', /not an LwM2M path/],
      ['[{"n":"/3/0/65536","v":1}]', /not an LwM2M path/],
      ['[{"n":"/3/0/1/2/3","v":1}]', /not an LwM2M path/],
      ['[{"n":"/3/0","v":1}]', /not a resource or resource instance/],
      ['[{"n":"urn:dev:ow:10e2073a01080063","v":23.1}]', /not an LwM2M path/],
    ];
    for (const [json, why] of cases) {
      expect(decodeError(FORMAT, () => decodeSenmlJson(text(json))).message).toMatch(why);
    }
    // A path record may name any level, but never carries a value.
    expect(
      decodeError(FORMAT, () => decodeSenmlJsonPaths(text('[{"n":"/3/0/9","v":1}]'))).message,
    ).toMatch(/carries no value/);
    expect(decodeSenmlJsonPaths(text('[{"n":"/"}]'))).toEqual([LwM2mPath.ROOT]);
  });

  it('field types and the pack shape', () => {
    // [payload, error, where the error points (the text that starts there)]
    const cases: [string, RegExp, string][] = [
      ['{"n":"/3/0/9","v":1}', /a SenML pack is a JSON array/, '{'],
      ['[1]', /record 0 is a number, not an object/, '1'],
      ['[{"n":9,"v":1}]', /"n" must be a string/, '9'],
      ['[{"n":"/3/0/9","v":"1"}]', /"v" must be a number/, '"1"'],
      ['[{"n":"/3/0/9","vb":1}]', /"vb" must be a boolean/, '1}'],
      ['[{"n":"/3/0/9","v":1,"t":"now"}]', /"t" must be a number/, '"now"'],
      ['[{"n":"/3/0/9","v":1,"bt":1e999}]', /"bt" is out of range/, '1e999'],
      ['[{"n":"/3/0/9","v":[1]}]', /"v" must be a number, not an array/, '[1]'],
      ['[{"n":"/3/0/9","v":1,"n":"x"}]', /"n" is given twice/, '"n":"x"'],
    ];
    for (const [json, why, at] of cases) {
      const e = decodeError(FORMAT, () => decodeSenmlJson(text(json)));
      expect(e.message).toMatch(why);
      expect(e.offset).toBe(json.indexOf(at));
    }
  });

  it('encoding values the model does not allow, and non-finite numbers', () => {
    const bad: [TimedValue, RegExp][] = [
      [v('/3442/0/125', 'integer', -1), /integer value where the model says unsigned/],
      [v('/3442/0/120', 'string', '1'), /string value where the model says integer/],
      [v('/3442/0/130', 'float', Number.NaN), /not finite/],
      [v('/3442/0/130', 'float', Number.POSITIVE_INFINITY), /not finite/],
      [v('/3442/0', 'integer', 1), /resources and resource instances only/],
      [v('/3442/0/120', 'integer', 1, Number.NaN), /time NaN/],
    ];
    for (const [value, why] of bad) {
      expect(encodeError(FORMAT, () => encodeSenmlJson([value], testModel)).message).toMatch(why);
    }
    // An 8-byte negative integer into an Unsigned resource.
    expect(() => encodeSenmlJson([v('/3442/0/125', 'integer', -(2n ** 63n))], testModel)).toThrow(
      EncodeError,
    );
  });
});

describe('SenML JSON: hostile input', () => {
  it('every truncation of a valid pack is a DecodeError with an offset', () => {
    const bytes = text(DEVICE_JSON);
    for (let n = 0; n < bytes.length; n++) {
      const e = decodeError(FORMAT, () => decodeSenmlJson(bytes.subarray(0, n), opts));
      expect(e.offset).toBeLessThanOrEqual(n);
    }
  });

  it('deep nesting fails at the depth limit', () => {
    const e = decodeError(FORMAT, () =>
      decodeSenmlJson(text(`[{"n":"/3/0/9","v":${'['.repeat(100_000)}`)),
    );
    expect(e.message).toMatch(/nesting deeper than 3/);
  });
});

describe('SenML JSON: properties', () => {
  it('round-trips nodes of random models at every level (flattened)', () => {
    fc.assert(
      fc.property(arbModelAndNode(), ({ model, path, node }) => {
        const o = { model: modelsOf([model]) };
        const values = flattenNode(path, node);
        const back = decodeSenmlJson(encodeSenmlJson(values, o), o);
        expect(back).toEqual(values);
        expect(nodeFromValues(path, back)).toEqual(node);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips random timed value lists, with and without a model', () => {
    fc.assert(
      fc.property(
        fc.oneof(arbTimedValues(), arbTimedValues({ times: 'all' })),
        ({ model, values }) => {
          const o = { model: modelsOf([model]) };
          expect(decodeSenmlJson(encodeSenmlJson(values, o), o)).toEqual(values);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('round-trips without a model when the wire types decide (integers, floats, strings…)', () => {
    fc.assert(
      fc.property(
        arbTimedValues({ types: ['string', 'integer', 'float', 'boolean', 'opaque', 'objlnk'] }),
        ({ values }) => {
          // Without a model a non-negative integer beyond 2^63 reads as Unsigned: skip those.
          fc.pre(values.every((v) => v.value.type !== 'integer' || v.value.value < 2n ** 63n));
          expect(decodeSenmlJson(encodeSenmlJson(values))).toEqual(values);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fuzz: only DecodeError on random and mutated JSON (100k cases)', () => {
    const seeds = [
      text(DEVICE_JSON),
      encodeSenmlJson(
        [
          v('/3442/0/120', 'integer', -9223372036854775808n, 1.5),
          v('/3442/0/150', 'opaque', Uint8Array.of(1, 2, 3)),
          v('/3442/0/170', 'objlnk', { objectId: 1, instanceId: 2 }),
          v('/3442/0/130', 'float', 1e-7),
        ],
        testModel,
      ),
      text('[{"bn":"/3/0/","bt":1,"bver":10,"n":"9","v":1,"t":-5,"u":"%","x_":1}]'),
      text('[{"n":"/3/0/0"},{"n":"/1/0"}]'),
    ];
    const both = { model: modelsOf([testObject, registry.get(3)!]) };
    fuzzDecoder(FORMAT, (b) => decodeSenmlJson(b, both), seeds, { runs: 70_000 });
    fuzzDecoder(FORMAT, (b) => decodeSenmlJsonPaths(b), seeds, { runs: 30_000, seed: 7 });
  }, 120_000);
});
