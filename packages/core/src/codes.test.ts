import { describe, expect, it } from 'vitest';
import {
  ContentFormat,
  canonicalContentFormat,
  contentFormatMediaType,
  isContentFormat,
  isSuccessCode,
  ResponseCode,
  responseCodeFromByte,
  responseCodeToByte,
  responseCodeToHttpStatus,
} from './codes.js';
import * as errors from './errors.js';

describe('response codes', () => {
  it('converts to and from the code byte (RFC 7252 §3)', () => {
    expect(responseCodeToByte('2.05')).toBe(69);
    expect(responseCodeToByte('4.04')).toBe(132);
    expect(responseCodeFromByte(0x44)).toBe('2.04');
    expect(responseCodeFromByte(0xa0)).toBe('5.00');
    expect(responseCodeFromByte(0x01)).toBeUndefined();
    for (const code of Object.values(ResponseCode)) {
      expect(responseCodeFromByte(responseCodeToByte(code))).toBe(code);
    }
  });

  it('classifies and maps to HTTP', () => {
    expect(isSuccessCode('2.01')).toBe(true);
    expect(isSuccessCode('4.00')).toBe(false);
    expect(responseCodeToHttpStatus('4.04')).toBe(404);
    expect(responseCodeToHttpStatus('5.04')).toBe(504);
    expect(responseCodeToHttpStatus('2.01')).toBe(201);
  });
});

describe('content formats', () => {
  it('knows the LwM2M numbers', () => {
    expect(ContentFormat.SENML_CBOR).toBe(112);
    expect(contentFormatMediaType(ContentFormat.TLV)).toBe('application/vnd.oma.lwm2m+tlv');
    expect(isContentFormat(11544)).toBe(true);
    expect(isContentFormat(50)).toBe(false);
    expect(canonicalContentFormat(ContentFormat.LEGACY_TLV)).toBe(11542);
    expect(canonicalContentFormat(ContentFormat.CBOR)).toBe(60);
  });
});

describe('errors', () => {
  it('carry their CoAP and HTTP codes and class name', () => {
    const cases: [errors.LwM2mError, string, number][] = [
      [new errors.NotFoundError('no /9'), '4.04', 404],
      [new errors.MethodNotAllowedError('read-only'), '4.05', 405],
      [new errors.UnsupportedContentFormatError('ct 99'), '4.15', 415],
      [new errors.NotAcceptableError('tlv'), '4.06', 406],
      [new errors.DecodeError('bad tlv', { format: 'TLV', offset: 3 }), '4.00', 400],
      [new errors.TimeoutError('slow'), '5.04', 504],
      [new errors.ServiceUnavailableError('asleep'), '5.03', 503],
    ];
    for (const [e, coap, http] of cases) {
      expect(e).toBeInstanceOf(errors.LwM2mError);
      expect(e).toBeInstanceOf(Error);
      expect(e.coapCode).toBe(coap);
      expect(e.httpStatus).toBe(http);
      expect(e.name).toBe(e.constructor.name);
    }
  });

  it('codec errors name the format and offset', () => {
    const e = new errors.DecodeError('length runs past the end', { format: 'TLV', offset: 3 });
    expect(e.message).toBe('TLV: at offset 3: length runs past the end');
    expect([e.format, e.offset]).toEqual(['TLV', 3]);
    expect(new errors.EncodeError('NaN', { format: 'CBOR' }).message).toBe('CBOR: NaN');
  });

  it('ModelError names its source and keeps the cause', () => {
    const cause = new Error('inner');
    const e = new errors.ModelError('duplicate resource id 1', '3.xml', { cause });
    expect(e.message).toBe('3.xml: duplicate resource id 1');
    expect(e.source).toBe('3.xml');
    expect(e.cause).toBe(cause);
  });
});
