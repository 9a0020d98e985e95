import { describe, expect, it } from 'vitest';
import { ApiError, describeError, errorText, errorWords, needsToken } from './errors';

describe('describeError', () => {
  it('says what happened to a device request in plain words', () => {
    expect(
      describeError(504, {
        error: 'TimeoutError',
        message: 'Read /3/0/0: no answer within 5000 ms',
        coapCode: '5.04',
      }),
    ).toEqual({
      title: 'the device did not answer in time',
      detail: 'Read /3/0/0: no answer within 5000 ms',
    });
    expect(
      describeError(409, { error: 'QueueFullError', message: 'queue full', coapCode: '5.03' })
        .title,
    ).toBe(
      'the device is asleep and its queue of waiting requests is full; try again when it wakes up',
    );
    expect(
      describeError(404, {
        error: 'UnknownClientError',
        message: 'no client is registered as "x"',
        coapCode: '4.04',
      }).title,
    ).toBe('the device is not registered (it may have left)');
    expect(
      describeError(404, {
        error: 'NOT_FOUND',
        message: 'Read /3/0/99: the client answered 4.04 NOT_FOUND',
        coapCode: '4.04',
      }).title,
    ).toBe('no such object, instance or resource on the device');
    expect(
      describeError(405, {
        error: 'METHOD_NOT_ALLOWED',
        message: 'Read /3/0/4: the client answered 4.05 METHOD_NOT_ALLOWED',
        coapCode: '4.05',
      }).title,
    ).toMatch(/^not allowed by the object model/);
    expect(describeError(406, { error: 'NOT_ACCEPTABLE', coapCode: '4.06' }).title).toMatch(
      /content format/,
    );
  });

  it('shows the server message for a bad request, and HTTP-level 404s as they are', () => {
    expect(
      describeError(400, {
        error: 'InvalidValueError',
        message: '/1/0/1: expected a signed 64-bit integer',
        coapCode: '4.00',
      }),
    ).toEqual({ title: '/1/0/1: expected a signed 64-bit integer' });
    expect(
      describeError(404, { error: 'NotFound', message: 'no observation of /3/0/0 on "x"' }),
    ).toEqual({
      title: 'no observation of /3/0/0 on "x"',
    });
    expect(describeError(418, {})).toEqual({ title: 'the request failed (HTTP 418)' });
  });

  it('tells an unreachable server, a missing token and a device refusing access apart', () => {
    expect(describeError(0, {}).title).toMatch(/cannot be reached/);
    expect(needsToken(401, { error: 'Unauthorized', message: 'wrong bearer token' })).toBe(true);
    expect(needsToken(401, { error: 'UNAUTHORIZED', coapCode: '4.01' })).toBe(false);
    expect(describeError(401, { error: 'UNAUTHORIZED', coapCode: '4.01' }).title).toMatch(
      /access control/,
    );
    expect(
      describeError(401, { error: 'Unauthorized', message: 'wrong bearer token' }).title,
    ).toMatch(/token/);
    expect(describeError(409, { error: 'IdentityInUseError', message: 'x' }).title).toMatch(
      /identity/,
    );
  });

  it('words any thrown value', () => {
    expect(errorWords(new ApiError(504, { error: 'TimeoutError' })).title).toBe(
      'the device did not answer in time',
    );
    expect(errorText(new ApiError(400, { error: 'BadRequest', message: 'bad' }))).toBe('bad');
    expect(errorText(new ApiError(504, { message: 'late' }))).toBe(
      'the device did not answer in time (late)',
    );
    expect(errorWords(new Error('boom')).title).toBe('boom');
    expect(errorWords('odd').title).toBe('odd');
  });
});
