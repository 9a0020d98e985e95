/**
 * Failed requests in words a person understands. The REST API answers errors as
 * `{ "error", "message", "coapCode"? }` (apps/server/src/rest/http-errors.ts): `error` is the
 * server's error class (`TimeoutError`, `QueueFullError`…), the CoAP code's name when the device
 * refused (`NOT_FOUND`, `METHOD_NOT_ALLOWED`…), or an HTTP-level name (`BadRequest`…).
 */

export interface ErrorBody {
  readonly error?: string;
  readonly message?: string;
  readonly coapCode?: string;
  /** The field of the request body that is wrong (the bootstrap server's 400s). */
  readonly field?: string;
}

/** A failed API call: `status` 0 when the server could not be reached at all. */
export class ApiError extends Error {
  readonly status: number;
  readonly body: ErrorBody;

  constructor(status: number, body: ErrorBody, fallback?: string) {
    super(body.message ?? fallback ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

export interface ErrorWords {
  /** What happened, in plain words. */
  readonly title: string;
  /** The server's own message, when it adds something. */
  readonly detail?: string;
}

/** True when the API asks for (another) bearer token, not when a device refused access. */
export function needsToken(status: number, body: ErrorBody): boolean {
  return status === 401 && body.coapCode === undefined;
}

/** Whether the 4.xx/5.xx came from the device itself (it answered with an error code). */
function fromDevice(body: ErrorBody): boolean {
  return (
    body.error !== undefined && /^[A-Z][A-Z_]+$/.test(body.error) && body.coapCode !== undefined
  );
}

/** The plain-words form of an error answer. */
export function describeError(status: number, body: ErrorBody): ErrorWords {
  const error = body.error ?? '';
  const message = body.message?.trim() || undefined;
  const words = (title: string, withDetail = true): ErrorWords =>
    withDetail && message !== undefined && message !== title
      ? { title, detail: message }
      : { title };
  const device = fromDevice(body);

  if (status === 0)
    return words('the server cannot be reached (is it running? is the network up?)');
  if (error === 'TimeoutError' || status === 504) return words('the device did not answer in time');
  if (error === 'QueueFullError') {
    return words(
      'the device is asleep and its queue of waiting requests is full; try again when it wakes up',
    );
  }
  if (error === 'IdentityInUseError')
    return words('another endpoint already uses this PSK identity');
  if (error === 'UnknownClientError')
    return words('the device is not registered (it may have left)');
  if (error === 'ClientClosedError' || error === 'RegistrationGoneError') {
    return words('the device left before it answered');
  }
  switch (status) {
    case 400:
      if (device) return words('the device refused the request as malformed');
      return { title: message ?? 'the server refused the request' };
    case 401:
      if (device)
        return words('the device refused: this server is not authorised (access control)');
      return words('the API needs a valid access token');
    case 403:
      return words(device ? 'the device denied access to this path' : 'not allowed');
    case 404:
      if (device || error === 'NotFoundError') {
        return words('no such object, instance or resource on the device');
      }
      return words(message ?? 'not found', false);
    case 405:
      return words(
        device
          ? 'not allowed by the object model (the device refused this operation on this path)'
          : 'not allowed by the object model',
      );
    case 406:
      return words('the device cannot answer in that content format: choose another one or Auto');
    case 409:
      return words('the request clashes with what the server holds');
    case 412:
      return words('the device refused: a precondition failed');
    case 413:
      return words('the value is too large');
    case 415:
      return words('the device does not accept that content format: choose another one or Auto');
    case 500:
      return words(
        device ? 'the device failed while handling the request' : 'the server failed (see its log)',
      );
    case 501:
      return words('the device does not implement this operation');
    case 502:
      return words('the device answered something the server could not understand');
    case 503:
      return words('the device is not available now (it may be asleep or busy); try again later');
    default:
      return words(message ?? `the request failed (HTTP ${status})`, false);
  }
}

/** Any thrown value in plain words (an `ApiError`, a network failure, a bug). */
export function errorWords(err: unknown): ErrorWords {
  if (err instanceof ApiError) return describeError(err.status, err.body);
  if (err instanceof Error) return { title: err.message || err.name };
  return { title: String(err) };
}

/** One line: "title: detail". */
export function errorText(err: unknown): string {
  const w = errorWords(err);
  return w.detail === undefined ? w.title : `${w.title} (${w.detail})`;
}
