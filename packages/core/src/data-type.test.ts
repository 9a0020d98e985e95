import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  convertValue,
  DATA_TYPES,
  type DataType,
  isDataType,
  type TypedValue,
  timeFromSeconds,
  timeToSeconds,
  typedValue,
  valueFromText,
  valueToText,
} from './data-type.js';
import { InvalidValueError } from './errors.js';

const arbTyped: fc.Arbitrary<TypedValue> = fc.oneof(
  fc.string().map((v) => typedValue('string', v)),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v) => typedValue('integer', v)),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => typedValue('unsigned', v)),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => typedValue('float', v)),
  fc.boolean().map((v) => typedValue('boolean', v)),
  fc.uint8Array({ maxLength: 64 }).map((v) => typedValue('opaque', v)),
  fc
    .integer({ min: -8_640_000_000_000, max: 8_640_000_000_000 })
    .map((s) => typedValue('time', new Date(s * 1000))),
  fc
    .record({
      objectId: fc.integer({ min: 0, max: 65535 }),
      instanceId: fc.integer({ min: 0, max: 65535 }),
    })
    .map((v) => typedValue('objlnk', v)),
);

describe('text form', () => {
  it.each<[DataType, string, unknown]>([
    ['integer', '-42', -42n],
    ['unsigned', '18446744073709551615', 2n ** 64n - 1n],
    ['float', '3.5', 3.5],
    ['float', '-1e3', -1000],
    ['boolean', '1', true],
    ['boolean', '0', false],
    ['time', '1367491215', new Date(1_367_491_215_000)],
    ['objlnk', '3:0', { objectId: 3, instanceId: 0 }],
    ['opaque', 'AQID', new Uint8Array([1, 2, 3])],
    ['string', 'héllo', 'héllo'],
  ])('parses %s %j', (type, text, value) => {
    expect(valueFromText(type, text).value).toEqual(value);
  });

  it.each<[DataType, string]>([
    ['integer', '1.5'],
    ['integer', '9223372036854775808'],
    ['unsigned', '-1'],
    ['float', 'abc'],
    ['float', ''],
    ['boolean', 'true'],
    ['objlnk', '3'],
    ['objlnk', '3:70000'],
    ['opaque', '@@@'],
    ['time', 'yesterday'],
  ])('refuses %s %j', (type, text) => {
    expect(() => valueFromText(type, text)).toThrow(InvalidValueError);
  });

  it('formats floats so they read back as floats', () => {
    expect(valueToText(typedValue('float', 2))).toBe('2.0');
    expect(valueToText(typedValue('float', 0.1))).toBe('0.1');
  });

  it('round-trips every type', () => {
    fc.assert(
      fc.property(arbTyped, (v) => {
        const back = valueFromText(v.type, valueToText(v));
        if (v.type === 'float' && Object.is(v.value, -0)) expect(back.value).toBe(0);
        else expect(back).toEqual(v);
      }),
    );
  });
});

describe('conversions', () => {
  it('converts where lossless', () => {
    expect(convertValue(typedValue('integer', 5), 'float')).toEqual({ type: 'float', value: 5 });
    expect(convertValue(typedValue('float', 5), 'unsigned')).toEqual({
      type: 'unsigned',
      value: 5n,
    });
    expect(convertValue(typedValue('string', '12'), 'integer').value).toBe(12n);
    expect(convertValue(typedValue('integer', 60), 'time').value).toEqual(new Date(60_000));
    expect(convertValue(typedValue('time', new Date(61_500)), 'integer').value).toBe(61n);
    expect(convertValue(typedValue('boolean', true), 'integer').value).toBe(1n);
    expect(convertValue(typedValue('integer', 0), 'boolean').value).toBe(false);
    expect(convertValue(typedValue('string', 'ab'), 'opaque').value).toEqual(
      new Uint8Array([97, 98]),
    );
    expect(convertValue(typedValue('opaque', new Uint8Array([97])), 'string').value).toBe('a');
    expect(convertValue(typedValue('objlnk', { objectId: 1, instanceId: 2 }), 'string').value).toBe(
      '1:2',
    );
  });

  it('refuses lossy or meaningless conversions', () => {
    expect(() => convertValue(typedValue('float', 1.5), 'integer')).toThrow(InvalidValueError);
    expect(() => convertValue(typedValue('integer', -1), 'unsigned')).toThrow(/out of range/);
    expect(() => convertValue(typedValue('integer', 2), 'boolean')).toThrow(/not a boolean/);
    expect(() => convertValue(typedValue('opaque', new Uint8Array()), 'integer')).toThrow(
      /cannot convert/,
    );
    expect(() =>
      convertValue(typedValue('objlnk', { objectId: 1, instanceId: 2 }), 'float'),
    ).toThrow();
  });

  it('converts time in whole seconds', () => {
    expect(timeToSeconds(new Date(-1500))).toBe(-2n);
    expect(timeFromSeconds(10n).getTime()).toBe(10_000);
    expect(() => timeFromSeconds(10n ** 15n)).toThrow(InvalidValueError);
  });

  it('lists the data types', () => {
    expect(DATA_TYPES).toHaveLength(9);
    expect(isDataType('unsigned')).toBe(true);
    expect(isDataType('none')).toBe(false);
  });
});
