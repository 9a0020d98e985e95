/**
 * `RequestTarget`: how one device-management call reaches its client (device-management.ts's
 * `Target`), and `outgoingRequest`, the CoAP request a `TargetRequest` becomes. Apart from the
 * server because they need only the client's runtime and a CoAP endpoint, not the server.
 */
import type {
  ClientObservation,
  CoapEndpoint,
  IncomingResponse,
  OutgoingRequest,
} from '@lwm2m-ts/coap';
import type { ModelProvider } from '@lwm2m-ts/codecs';
import type { ClientRuntime } from './client-runtime.js';
import type { Target, TargetRequest } from './device-management.js';
import type { Registration } from './registration.js';

/** One device-management call's way to its client: requests within the call's time limit. */
export class RequestTarget implements Target {
  readonly registration: Registration;
  readonly #rt: ClientRuntime;
  readonly #endpoint: CoapEndpoint;
  readonly #deadline: number;
  readonly #signal: AbortSignal | undefined;
  readonly #counters: { requestsSent: number };

  constructor(
    rt: ClientRuntime,
    endpoint: CoapEndpoint,
    deadline: number,
    signal: AbortSignal | undefined,
    counters: { requestsSent: number },
  ) {
    this.registration = rt.reg;
    this.#rt = rt;
    this.#endpoint = endpoint;
    this.#deadline = deadline;
    this.#signal = signal;
    this.#counters = counters;
  }

  get models(): ModelProvider {
    return this.#rt.models;
  }

  get rejected(): Set<number> {
    return this.#rt.rejected;
  }

  request(req: TargetRequest): Promise<IncomingResponse> {
    return this.#endpoint.request(this.#rt.peer, this.#outgoing(req));
  }

  observe(req: TargetRequest): Promise<ClientObservation> {
    return this.#endpoint.observe(this.#rt.peer, this.#outgoing(req));
  }

  #outgoing(req: TargetRequest): OutgoingRequest {
    this.#counters.requestsSent++;
    return outgoingRequest(this.#rt, req, Math.max(1, this.#deadline - Date.now()), this.#signal);
  }
}

/** `req` as sent to the client of `rt` (its path under the client's root path). */
export function outgoingRequest(
  rt: ClientRuntime,
  req: TargetRequest,
  timeout: number,
  signal: AbortSignal | undefined,
): OutgoingRequest {
  const root = rt.root;
  const ids = req.path.ids;
  const path: string[] = [...root];
  for (const id of ids) path.push(String(id));
  // Field by field (a spread of the many shapes requests come in is slower); `satisfies`
  // keeps the list complete.
  return {
    method: req.method,
    path,
    query: req.query,
    payload: req.payload,
    contentFormat: req.contentFormat,
    accept: req.accept,
    confirmable: req.confirmable,
    options: req.options,
    timeout,
    signal,
  } satisfies Record<keyof OutgoingRequest, unknown>;
}
