/** The bootstrap server's error answers in words (its REST API: apps/bootstrap/src/rest/app.ts). */
import { ApiError, type ErrorWords, errorWords } from '../errors';
import { fieldInWords, problemOf } from './form';

export function bsErrorWords(err: unknown): ErrorWords {
  if (!(err instanceof ApiError)) return errorWords(err);
  const { status, body } = err;
  const message = body.message?.trim() || undefined;
  const withDetail = (title: string): ErrorWords =>
    message !== undefined && message !== title ? { title, detail: message } : { title };
  switch (status) {
    case 0:
      return {
        title: 'the bootstrap server cannot be reached (is it running? is the network up?)',
      };
    case 400:
      if (body.field !== undefined) {
        return {
          title: `${fieldInWords(body.field)}: ${problemOf(message ?? 'is not valid', body.field)}`,
        };
      }
      return { title: message ?? 'the bootstrap server refused the request' };
    case 401:
      return withDetail('the API needs a valid access token');
    case 404:
      return withDetail('there is no configuration for this endpoint (now)');
    case 409:
      return withDetail(
        body.error === 'IdentityInUseError'
          ? 'another endpoint already uses this PSK identity toward the bootstrap server'
          : 'the request clashes with what the bootstrap server holds',
      );
    case 503:
      return withDetail(
        'the configuration store is not available now (is Redis reachable?); try again shortly',
      );
    case 500:
      return withDetail('the bootstrap server failed (see its log)');
    default:
      return errorWords(err);
  }
}
