import { flattenNode, LwM2mPath, nodeFromValues } from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { modelsOf, type TimedValue } from './content.js';
import { decodeLwm2mJson, encodeLwm2mJson } from './lwm2m-json.js';
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

const FORMAT = 'LwM2M JSON';
const registry = ObjectRegistry.withBuiltins();
const opts = { model: registry };
const p = (s: string) => LwM2mPath.parse(s);

const testObject = allTypesObject('1.0');
const testModel = { model: modelsOf([testObject]) };

// Core TS 1.0 §6.4.4 (Table 21 and its example): Read of the Device object instance /3/0.
const DEVICE_JSON =
  '{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"1","sv":"Lightweight M2M Client"},' +
  '{"n":"2","sv":"345000123"},{"n":"3","sv":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},' +
  '{"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},' +
  '{"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1367491215},' +
  '{"n":"14","sv":"+02:00"},{"n":"16","sv":"U"}]}';

describe('LwM2M JSON: spec examples', () => {
  it('Read /3/0 (Core TS 1.0 §6.4.4), both ways', () => {
    expect(str(encodeLwm2mJson(p('/3/0'), DEVICE_VALUES, opts))).toBe(DEVICE_JSON);
    expect(decodeLwm2mJson(text(DEVICE_JSON), p('/3/0'), opts)).toEqual(DEVICE_VALUES);
    // The draft form without bn: names relative to the request path.
    const noBase = DEVICE_JSON.replace('"bn":"/3/0/",', '');
    expect(decodeLwm2mJson(text(noBase), p('/3/0'), opts)).toEqual(DEVICE_VALUES);
  });

  it('Read of a single resource and of a multiple resource', () => {
    const single = '{"bn":"/3/0/0","e":[{"sv":"Open Mobile Alliance"}]}';
    expect(str(encodeLwm2mJson(p('/3/0/0'), [DEVICE_VALUES[0]!], opts))).toBe(single);
    expect(decodeLwm2mJson(text(single), p('/3/0/0'), opts)).toEqual([DEVICE_VALUES[0]]);
    const multiple = '{"bn":"/3/0/7/","e":[{"n":"0","v":3800},{"n":"1","v":5000}]}';
    expect(str(encodeLwm2mJson(p('/3/0/7'), DEVICE_VALUES.slice(6, 8), opts))).toBe(multiple);
    expect(decodeLwm2mJson(text(multiple), p('/3/0/7'), opts)).toEqual(DEVICE_VALUES.slice(6, 8));
    // Read of the object /3: names below the object.
    const object = '{"bn":"/3/","e":[{"n":"0/0","sv":"Open Mobile Alliance"},{"n":"0/9","v":100}]}';
    const values = [DEVICE_VALUES[0]!, DEVICE_VALUES[10]!];
    expect(str(encodeLwm2mJson(p('/3'), values, opts))).toBe(object);
    expect(decodeLwm2mJson(text(object), p('/3'), opts)).toEqual(values);
  });

  it('notification with history (Core TS 1.0 §6.4.4): bt and relative t', () => {
    const json =
      '{"bn":"/3303/0/5700","bt":25462634,"e":[{"v":22.4,"t":-5},{"v":22.9,"t":-30},{"v":24.1,"t":-50}]}';
    const values = [
      v('/3303/0/5700', 'float', 22.4, 25462629),
      v('/3303/0/5700', 'float', 22.9, 25462604),
      v('/3303/0/5700', 'float', 24.1, 25462584),
    ];
    expect(decodeLwm2mJson(text(json), p('/3303/0/5700'), opts)).toEqual(values);
    expect(str(encodeLwm2mJson(p('/3303/0/5700'), values, opts))).toBe(
      '{"bn":"/3303/0/5700","bt":25462629,"e":[{"v":22.4},{"v":22.9,"t":-25},{"v":24.1,"t":-45}]}',
    );
    // Without bt, t is the time itself.
    expect(
      decodeLwm2mJson(text('{"e":[{"n":"5700","v":1.5,"t":1700000000}]}'), p('/3303/0'), opts),
    ).toEqual([v('/3303/0/5700', 'float', 1.5, 1700000000)]);
  });

  it('every data type: v, bv, ov, sv (Opaque as base64)', () => {
    const values = [
      v('/3442/0/110', 'string', 'é\n'),
      v('/3442/0/120', 'integer', -9223372036854775808n),
      v('/3442/0/125', 'unsigned', 18446744073709551615n),
      v('/3442/0/130', 'float', 3),
      v('/3442/0/140', 'boolean', false),
      v('/3442/0/150', 'opaque', Uint8Array.of(0xfb, 0xff)),
      v('/3442/0/160', 'time', new Date(1367491215000)),
      v('/3442/0/170', 'objlnk', { objectId: 65535, instanceId: 65535 }),
      v('/3442/0/180', 'corelnk', '</3/0>'),
      v('/3442/0/1110/2', 'string', 'x'),
    ];
    const json =
      '{"bn":"/3442/0/","e":[{"n":"110","sv":"é\\n"},{"n":"120","v":-9223372036854775808},' +
      '{"n":"125","v":18446744073709551615},{"n":"130","v":3.0},{"n":"140","bv":false},' +
      '{"n":"150","sv":"+/8="},{"n":"160","v":1367491215},{"n":"170","ov":"65535:65535"},' +
      '{"n":"180","sv":"</3/0>"},{"n":"1110/2","sv":"x"}]}';
    expect(str(encodeLwm2mJson(p('/3442/0'), values, testModel))).toBe(json);
    expect(decodeLwm2mJson(text(json), p('/3442/0'), testModel)).toEqual(values);
    // Opaque in base64url or without padding reads the same.
    expect(
      decodeLwm2mJson(text('{"e":[{"n":"150","sv":"-_8"}]}'), p('/3442/0'), testModel),
    ).toEqual([values[5]]);
  });

  it('a Write-Composite-like root payload: bn "/" and names from the object id', () => {
    const values = [v('/3/0/14', 'string', '+01:00'), v('/1/0/1', 'integer', 60)];
    const json = '{"bn":"/","e":[{"n":"3/0/14","sv":"+01:00"},{"n":"1/0/1","v":60}]}';
    expect(str(encodeLwm2mJson(LwM2mPath.ROOT, values, opts))).toBe(json);
    expect(decodeLwm2mJson(text(json), LwM2mPath.ROOT, opts)).toEqual(values);
  });
});

describe('LwM2M JSON: refusals', () => {
  it('names outside the request path or above resource level', () => {
    const cases: [string, string, RegExp][] = [
      ['{"bn":"/3/1/","e":[{"n":"0","sv":"x"}]}', '/3/0', /lies outside the request path \/3\/0/],
      ['{"e":[{"n":"/4/0/0","sv":"x"}]}', '/3/0', /lies outside the request path/],
      ['{"bn":"/3/","e":[{"n":"0","sv":"x"}]}', '/3', /not a resource or resource instance/],
      ['{"bn":"/3/0/","e":[{"n":"x","sv":"x"}]}', '/3/0', /not an LwM2M path/],
      ['{"bn":"/3/0/","e":[{"sv":"x"}]}', '/3/0', /not an LwM2M path/],
    ];
    for (const [json, path, why] of cases) {
      const e = decodeError(FORMAT, () => decodeLwm2mJson(text(json), p(path)));
      expect(e.message).toMatch(why);
      expect(e.offset).toBe(json.indexOf('[') + 1);
    }
  });

  it('the payload shape, entries and member types, with offsets', () => {
    const cases: [string, RegExp, string][] = [
      ['[]', /the payload is a JSON object, not an array/, '['],
      ['{"bn":"/3/0/"}', /no "e"/, '{'],
      ['{"e":{}}', /"e" must be an array/, '{}'],
      ['{"bn":3,"e":[]}', /"bn" must be a string/, '3'],
      ['{"bt":"x","e":[]}', /"bt" must be a number/, '"x"'],
      ['{"e":[1]}', /entry 0 is a number/, '1'],
      ['{"e":[{"n":"9"}]}', /no value/, '{"n"'],
      ['{"e":[{"n":"9","v":1,"sv":"1"}]}', /more than one value/, '"sv"'],
      ['{"e":[{"n":"9","v":"1"}]}', /"v" must be a number/, '"1"'],
      ['{"e":[{"n":"9","bv":1}]}', /"bv" must be a boolean/, '1}'],
      ['{"e":[{"n":"9","ov":"1"}]}', /"ov" "1" is not objectId:instanceId/, '"1"'],
      ['{"e":[{"n":9,"v":1}]}', /"n" must be a string/, '9'],
      ['{"e":[{"n":"9","v":1,"t":[]}]}', /"t" must be a number/, '[]}'],
    ];
    for (const [json, why, at] of cases) {
      const e = decodeError(FORMAT, () => decodeLwm2mJson(text(json), p('/3/0'), opts));
      expect(e.message, json).toMatch(why);
      expect(e.offset, json).toBe(json.indexOf(at));
    }
  });

  it('values the model does not allow', () => {
    const cases: [string, RegExp][] = [
      ['{"e":[{"n":"125","v":-1}]}', /out of range for unsigned/],
      ['{"e":[{"n":"125","v":-9223372036854775808}]}', /out of range for unsigned/],
      ['{"e":[{"n":"120","sv":"1"}]}', /string value where the model says integer/],
      ['{"e":[{"n":"120","v":0.5}]}', /not an integer/],
      ['{"e":[{"n":"140","v":1}]}', /number value where the model says boolean/],
      ['{"e":[{"n":"150","sv":"a"}]}', /not base64/],
      ['{"e":[{"n":"170","sv":"1:2"}]}', /string value where the model says objlnk/],
    ];
    for (const [json, why] of cases) {
      const e = decodeError(FORMAT, () => decodeLwm2mJson(text(json), p('/3442/0'), testModel));
      expect(e.message).toMatch(why);
      expect(e.message).toMatch(/entry 0/);
    }
  });

  it('encoding: values outside the path, values the model refuses, non-finite numbers', () => {
    const bad: [string, TimedValue[], RegExp][] = [
      ['/3442/0', [v('/3442/1/120', 'integer', 1)], /outside the request path/],
      ['/3442/0', [v('/3442/0/125', 'integer', -1)], /where the model says unsigned/],
      ['/3442/0', [v('/3442/0/130', 'float', Number.NaN)], /not finite/],
      ['/3442/0', [v('/3442/0/130', 'float', 1, Number.POSITIVE_INFINITY)], /time/],
      [
        '/3442/0/1110',
        [v('/3442/0/1110', 'string', 'a'), v('/3442/0/1110/1', 'string', 'b')],
        /cannot be sent with values below it/,
      ],
    ];
    for (const [path, values, why] of bad) {
      const e = encodeError(FORMAT, () => encodeLwm2mJson(p(path), values, testModel));
      expect(e.message).toMatch(why);
    }
  });
});

describe('LwM2M JSON: hostile input', () => {
  it('every truncation of a valid payload is a DecodeError with an offset', () => {
    const bytes = text(DEVICE_JSON);
    for (let n = 0; n < bytes.length; n++) {
      const e = decodeError(FORMAT, () => decodeLwm2mJson(bytes.subarray(0, n), p('/3/0'), opts));
      expect(e.offset).toBeLessThanOrEqual(n);
    }
  });

  it('deep nesting fails at the depth limit', () => {
    const e = decodeError(FORMAT, () =>
      decodeLwm2mJson(text(`{"e":[${'{"x":'.repeat(100_000)}`), p('/3/0')),
    );
    expect(e.message).toMatch(/nesting deeper than 4/);
  });
});

describe('LwM2M JSON: properties', () => {
  it('round-trips nodes of random models at every level, under their own path', () => {
    fc.assert(
      fc.property(arbModelAndNode(), ({ model, path, node }) => {
        const o = { model: modelsOf([model]) };
        const values = flattenNode(path, node);
        const back = decodeLwm2mJson(encodeLwm2mJson(path, values, o), path, o);
        expect(back).toEqual(values);
        expect(nodeFromValues(path, back)).toEqual(node);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips random timed value lists under the object path', () => {
    fc.assert(
      fc.property(
        fc.oneof(arbTimedValues(), arbTimedValues({ times: 'all' })),
        ({ model, values }) => {
          const o = { model: modelsOf([model]) };
          const path = LwM2mPath.of(model.id);
          expect(decodeLwm2mJson(encodeLwm2mJson(path, values, o), path, o)).toEqual(values);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('fuzz: only DecodeError on random and mutated JSON (100k cases)', () => {
    const seeds = [
      text(DEVICE_JSON),
      encodeLwm2mJson(
        p('/3442/0'),
        [
          v('/3442/0/120', 'integer', -9223372036854775808n, 1.5),
          v('/3442/0/150', 'opaque', Uint8Array.of(1, 2, 3), 2),
          v('/3442/0/170', 'objlnk', { objectId: 1, instanceId: 2 }, 3),
          v('/3442/0/140', 'boolean', true, 4),
        ],
        testModel,
      ),
      text('{"bn":"/3303/0/5700","bt":25462634,"e":[{"v":22.4,"t":-5},{"v":22.9,"t":-30}]}'),
    ];
    const both = { model: modelsOf([testObject, registry.get(3)!, registry.get(3303)!]) };
    fuzzDecoder(FORMAT, (b) => decodeLwm2mJson(b, p('/3442/0'), both), seeds, { runs: 40_000 });
    fuzzDecoder(FORMAT, (b) => decodeLwm2mJson(b, p('/3'), both), seeds, {
      runs: 30_000,
      seed: 5,
    });
    fuzzDecoder(FORMAT, (b) => decodeLwm2mJson(b, LwM2mPath.ROOT), seeds, {
      runs: 30_000,
      seed: 9,
    });
  }, 120_000);
});
