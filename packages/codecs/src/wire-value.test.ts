import { DecodeError, EncodeError, type ResourceModel, typedValue } from '@lwm2m-ts/core';
import { describe, expect, it } from 'vitest';
import { res } from './test-fixtures.js';
import { checkValueForModel, defaultTypeOf, typeWireValue } from './wire-value.js';

const model = (type: ResourceModel['type']): ResourceModel => res(1, type);
const where = { format: 'SenML JSON', offset: 7, path: '/3/0/1' };

describe('typeWireValue', () => {
  it('types numbers with the model', () => {
    expect(typeWireValue({ kind: 'number', value: 5 }, model('integer'), where)).toEqual({
      type: 'integer',
      value: 5n,
    });
    expect(typeWireValue({ kind: 'number', value: 5 }, model('float'), where)).toEqual({
      type: 'float',
      value: 5,
    });
    expect(typeWireValue({ kind: 'number', value: 60 }, model('time'), where).value).toEqual(
      new Date(60_000),
    );
    expect(
      typeWireValue({ kind: 'number', value: 2n ** 64n - 1n }, model('unsigned'), where).value,
    ).toBe(2n ** 64n - 1n);
  });

  it('falls back to wire kinds without a model', () => {
    expect(defaultTypeOf({ kind: 'number', value: 2.5 })).toBe('float');
    expect(defaultTypeOf({ kind: 'number', value: 3 })).toBe('integer');
    expect(defaultTypeOf({ kind: 'number', value: 2n ** 63n })).toBe('unsigned');
    expect(defaultTypeOf({ kind: 'bytes', value: new Uint8Array() })).toBe('opaque');
    expect(typeWireValue({ kind: 'string', value: 'x' }, undefined, where)).toEqual({
      type: 'string',
      value: 'x',
    });
    expect(typeWireValue({ kind: 'number', value: 1 }, model('none'), where).type).toBe('integer');
  });

  it('reports, never coerces, values that do not fit the model', () => {
    const cases: [Parameters<typeof typeWireValue>[0], ResourceModel['type'], RegExp][] = [
      [{ kind: 'string', value: '5' }, 'integer', /a string value where the model says integer/],
      [{ kind: 'number', value: 2.5 }, 'integer', /not an integer/],
      [{ kind: 'number', value: -1 }, 'unsigned', /out of range for unsigned/],
      [{ kind: 'number', value: 2n ** 63n }, 'integer', /out of range for integer/],
      [{ kind: 'number', value: 2 ** 60 }, 'integer', /lost precision/],
      [{ kind: 'number', value: Number.NaN }, 'float', /not finite/],
      [{ kind: 'number', value: 1e300 }, 'time', /lost precision|out of range/],
      [{ kind: 'boolean', value: true }, 'string', /boolean value where the model says string/],
    ];
    for (const [wire, type, message] of cases) {
      let error: unknown;
      try {
        typeWireValue(wire, model(type), where);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DecodeError);
      expect((error as DecodeError).message).toMatch(message);
      expect((error as DecodeError).message).toMatch(/^SenML JSON: at offset 7: \/3\/0\/1: /);
    }
  });
});

describe('checkValueForModel', () => {
  const w = { format: 'TLV', path: '/3/0/9' };
  it('accepts values of the declared type', () => {
    expect(() => checkValueForModel(typedValue('integer', 5), model('integer'), w)).not.toThrow();
    expect(() => checkValueForModel(typedValue('string', 'x'), undefined, w)).not.toThrow();
  });

  it('refuses mismatched and non-finite values', () => {
    expect(() => checkValueForModel(typedValue('integer', -5), model('unsigned'), w)).toThrow(
      'TLV: /3/0/9: a integer value where the model says unsigned',
    );
    expect(() => checkValueForModel(typedValue('float', Number.NaN), model('float'), w)).toThrow(
      EncodeError,
    );
    expect(() =>
      checkValueForModel({ type: 'integer', value: 2n ** 70n }, model('integer'), w),
    ).toThrow(/not a valid integer/);
  });
});
