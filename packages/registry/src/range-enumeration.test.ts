import { describe, expect, it } from 'vitest';
import { parseRangeEnumeration } from './range-enumeration.js';

describe('parseRangeEnumeration', () => {
  it.each([
    ['0..100', 0, 100],
    ['0-100', 0, 100],
    ['-40..85', -40, 85],
    ['1..65534', 1, 65534],
    ['1-65534', 1, 65534],
    ['1...15', 1, 15],
    ['-110..-48', -110, -48],
    ['0.000001..1.0', 0.000001, 1],
    [' 0 .. 4294967295 ', 0, 4294967295],
  ])('reads the range %j', (text, min, max) => {
    expect(parseRangeEnumeration(text)).toEqual({ range: { min, max } });
  });

  it.each([
    ['0,1,2', ['0', '1', '2']],
    ['0;1', ['0', '1']],
    ['5, 10, 15, 20', ['5', '10', '15', '20']],
    ['ON;OFF', ['ON', 'OFF']],
    ['0: RELEASED\n\t\t1: PRESSED\n\t\t2: FAULT', ['0', '1', '2']],
  ])('reads the enumeration %j', (text, enumeration) => {
    expect(parseRangeEnumeration(text)).toEqual({ enumeration });
  });

  it.each([
    '',
    '   ',
    '255',
    '0..255 bytes',
    '-30..-120', // reversed
    '0..18446744073709551615', // not exact as a double
    '0..3, 99',
    '0; 3.8..20.5',
    '0,1;2',
    '[1:4]',
    '<7 to >12.5',
    'The possible values are those listed in the LwM2M Core Specification',
  ])('leaves %j as raw text only', (text) => {
    expect(parseRangeEnumeration(text)).toEqual({});
  });
});
