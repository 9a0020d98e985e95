import { describe, expect, it } from 'vitest';
import {
  base64ToBytes,
  bytesToBase64,
  bytesToHex,
  checkExecuteArgs,
  formatDuration,
  formatRelative,
  formatValue,
  hexToBytes,
  numericValue,
  parseTime,
  parseValue,
  toDateTimeLocal,
  toInputText,
} from './values';

describe('parseValue', () => {
  it('integers: numbers when safe, decimal strings beyond 2^53, 64-bit limits, ranges', () => {
    expect(parseValue('integer', ' 42 ')).toEqual({ ok: true, value: 42 });
    expect(parseValue('integer', '-7')).toEqual({ ok: true, value: -7 });
    expect(parseValue('integer', '9223372036854775807')).toEqual({
      ok: true,
      value: '9223372036854775807',
    });
    expect(parseValue('integer', '9223372036854775808').ok).toBe(false);
    expect(parseValue('integer', '4.5')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/whole number/),
    });
    expect(parseValue('integer', '')).toMatchObject({ ok: false });
    expect(parseValue('unsigned', '-1')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/0 or more/),
    });
    expect(parseValue('unsigned', '18446744073709551615')).toEqual({
      ok: true,
      value: '18446744073709551615',
    });
    expect(parseValue('unsigned', '18446744073709551616').ok).toBe(false);
    expect(parseValue('integer', '101', { range: { min: 0, max: 100 } })).toEqual({
      ok: false,
      error: 'must be between 0 and 100',
    });
    expect(parseValue('integer', '100', { range: { min: 0, max: 100 } })).toEqual({
      ok: true,
      value: 100,
    });
  });

  it('floats, including the special values the API takes as strings', () => {
    expect(parseValue('float', '21.5')).toEqual({ ok: true, value: 21.5 });
    expect(parseValue('float', '-1e3')).toEqual({ ok: true, value: -1000 });
    expect(parseValue('float', '.5')).toEqual({ ok: true, value: 0.5 });
    expect(parseValue('float', 'NaN')).toEqual({ ok: true, value: 'NaN' });
    expect(parseValue('float', '-Infinity')).toEqual({ ok: true, value: '-Infinity' });
    expect(parseValue('float', '1,5').ok).toBe(false);
    expect(parseValue('float', 'abc').ok).toBe(false);
    expect(parseValue('float', '1e999').ok).toBe(false);
  });

  it('booleans, strings (kept as typed), enumerations and object links', () => {
    expect(parseValue('boolean', 'true')).toEqual({ ok: true, value: true });
    expect(parseValue('boolean', '0')).toEqual({ ok: true, value: false });
    expect(parseValue('boolean', 'yes').ok).toBe(false);
    expect(parseValue('string', ' padded ')).toEqual({ ok: true, value: ' padded ' });
    expect(parseValue('string', '')).toEqual({ ok: true, value: '' });
    expect(parseValue('string', 'U', { enumeration: ['U', 'UQ'] })).toEqual({
      ok: true,
      value: 'U',
    });
    expect(parseValue('string', 'X', { enumeration: ['U', 'UQ'] }).ok).toBe(false);
    expect(parseValue('objlnk', '3:0')).toEqual({ ok: true, value: '3:0' });
    expect(parseValue('objlnk', '65536:0').ok).toBe(false);
    expect(parseValue('objlnk', '3/0').ok).toBe(false);
  });

  it('opaque in hex or base64, always sent as base64', () => {
    expect(parseValue('opaque', '0a ff:10')).toEqual({ ok: true, value: 'Cv8Q' });
    expect(parseValue('opaque', '0x0102')).toEqual({ ok: true, value: 'AQI=' });
    expect(parseValue('opaque', '')).toEqual({ ok: true, value: '' });
    expect(parseValue('opaque', 'abc')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/hex/),
    });
    expect(parseValue('opaque', 'AQI=', { encoding: 'base64' })).toEqual({
      ok: true,
      value: 'AQI=',
    });
    expect(parseValue('opaque', 'AQI', { encoding: 'base64' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/base64/),
    });
  });

  it('time from datetime-local (local zone), ISO with a zone, or seconds', () => {
    const local = new Date(2024, 4, 1, 12, 30, 15);
    expect(parseTime('2024-05-01T12:30:15')).toEqual({ ok: true, value: local.toISOString() });
    expect(parseTime('2024-05-01T12:30')).toEqual({
      ok: true,
      value: new Date(2024, 4, 1, 12, 30, 0).toISOString(),
    });
    expect(parseTime('2024-05-01T12:00:00Z')).toEqual({
      ok: true,
      value: '2024-05-01T12:00:00.000Z',
    });
    expect(parseTime('2024-05-01T14:00:00+02:00')).toEqual({
      ok: true,
      value: '2024-05-01T12:00:00.000Z',
    });
    expect(parseTime('1714564800')).toEqual({ ok: true, value: '2024-05-01T12:00:00.000Z' });
    expect(parseTime('2024-02-30T10:00').ok).toBe(false);
    expect(parseTime('yesterday').ok).toBe(false);
    expect(parseValue('time', '').ok).toBe(false);
  });
});

describe('bytes', () => {
  it('hex and base64 round-trip', () => {
    const bytes = new Uint8Array([0, 1, 127, 128, 255]);
    expect(bytesToHex(bytes)).toBe('00017f80ff');
    expect(hexToBytes('00017F80FF')).toEqual(bytes);
    expect(base64ToBytes(bytesToBase64(bytes))).toEqual(bytes);
    expect(hexToBytes('0g')).toBeUndefined();
    expect(base64ToBytes('!!!!')).toBeUndefined();
  });
});

describe('formatting', () => {
  it('shows values for people', () => {
    expect(formatValue('opaque', 'AQI=')).toBe('0102 (2 bytes)');
    expect(formatValue('opaque', '')).toBe('(0 bytes)');
    expect(formatValue('opaque', bytesToBase64(new Uint8Array(40)))).toMatch(/…\s\(40 bytes\)$/);
    expect(formatValue('time', '2024-05-01T12:00:00.000Z')).toBe(
      new Date('2024-05-01T12:00:00.000Z').toLocaleString(),
    );
    expect(formatValue('boolean', false)).toBe('false');
    expect(formatValue('float', 21.5)).toBe('21.5');
    expect(formatValue('integer', '9223372036854775807')).toBe('9223372036854775807');
  });

  it('gives editors their starting text', () => {
    expect(toInputText('opaque', 'AQI=')).toBe('0102');
    expect(toInputText('opaque', 'AQI=', 'base64')).toBe('AQI=');
    const d = new Date(2024, 0, 2, 3, 4, 5);
    expect(toInputText('time', d.toISOString())).toBe('2024-01-02T03:04:05');
    expect(toDateTimeLocal(d)).toBe('2024-01-02T03:04:05');
    expect(toInputText('integer', 5)).toBe('5');
    expect(toInputText('string', undefined)).toBe('');
  });

  it('numeric values for charts, durations and relative times', () => {
    expect(numericValue('float', 1.5)).toBe(1.5);
    expect(numericValue('integer', '12')).toBe(12);
    expect(numericValue('float', 'NaN')).toBeUndefined();
    expect(numericValue('string', 3)).toBeUndefined();
    expect(formatDuration(45)).toBe('45 s');
    expect(formatDuration(90)).toBe('1 min 30 s');
    expect(formatDuration(3600)).toBe('1 h');
    expect(formatDuration(86400 + 7200)).toBe('1 d 2 h');
    expect(formatRelative(1000, 13_000)).toBe('12 s ago');
    expect(formatRelative(61_000, 1_000)).toBe('in 1 min');
    expect(formatRelative(1000, 1500)).toBe('just now');
  });
});

describe('checkExecuteArgs', () => {
  it('accepts the Core TS argument list and explains what is wrong', () => {
    expect(checkExecuteArgs('')).toBeUndefined();
    expect(checkExecuteArgs('0')).toBeUndefined();
    expect(checkExecuteArgs("0='v',1,2='hello world'")).toBeUndefined();
    expect(checkExecuteArgs('10')).toMatch(/arguments/);
    expect(checkExecuteArgs("0='unterminated")).toMatch(/arguments/);
    expect(checkExecuteArgs('0=v')).toMatch(/arguments/);
  });
});
