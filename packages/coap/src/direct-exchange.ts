/**
 * Outgoing requests the endpoint sends itself, with wire.ts, instead of through node-coap's agent.
 *
 * Why: node-coap's agent builds a writable stream for the request, a retransmission helper with
 * two timers, generates the message (and parses it again to read its message id), and builds a
 * readable stream for the response: about two thirds of the CPU of a request/response exchange.
 * A request that does not register or cancel an observation needs none of it: the endpoint
 * already routes every ACK, RST and response to its exchange (by message id and token), sends the
 * ACK for separate responses, and retransmitting a CON with back-off is a timer.
 * So those requests are encoded and sent here, their responses completed here, and a Block2
 * response is fetched block by block here, as node-coap's agent does it: same token, a new
 * message id and a fresh back-off per block, the payloads concatenated in order. Observe
 * registrations and cancellations still go through the agent (its observe stream).
 */
import type { CoapMethod, CoapOption } from './message.js';
import {
  type BlockValue,
  encodeBlock,
  encodeUint,
  OptionNumber,
  sharedUint,
  szxOf,
} from './options.js';

/** One request/response exchange (all Block2 blocks included). */
export interface ExchangeSpec {
  readonly method: CoapMethod;
  readonly path: readonly string[];
  readonly query: readonly string[];
  readonly payload: Uint8Array | undefined;
  readonly contentFormat: number | undefined;
  readonly accept: number | undefined;
  readonly confirmable: boolean;
  readonly options: readonly CoapOption[];
  readonly token: Buffer;
  readonly observe?: 0 | 1;
  readonly block1?: BlockValue;
  readonly block2?: BlockValue;
  readonly size1?: number;
  readonly requestTag?: Buffer;
}

/** The state of a request the endpoint sends itself. */
export interface DirectRequest {
  /** The method's code byte, and whether the messages are CON. */
  readonly code: number;
  readonly confirmable: boolean;
  /** The options of every message of the exchange (Block2 is replaced for each follow-up block). */
  readonly options: CoapOption[];
  /** When the exchange fails with TimeoutError (Date.now() ms). */
  readonly expiresAt: number;
  /** The wait for the answer to a NON was cut to node-coap's MAX_RTT (another error message). */
  readonly rttLimited: boolean;
  /** The message now in flight. */
  buf: Buffer;
  messageId: number;
  /**
   * Its next retransmission (Date.now() ms; 0: none), the current timeout and the
   * retransmissions so far: a CON, and every Block2 follow-up, until answered (RFC 7252 §4.2).
   */
  retransmitAt: number;
  timeout: number;
  attempts: number;
  /** The socket's send callback: a failed send fails the exchange. */
  readonly onSent: (err: Error | null) => void;
  /** Payloads of the Block2 blocks received so far (the last one excepted). */
  chunks: Buffer[] | undefined;
  /** Bytes in `chunks`. */
  received: number;
}

/** Method codes (RFC 7252 §12.1.1, RFC 8132 §6). */
export const METHOD_CODES: Readonly<Record<CoapMethod, number>> = {
  GET: 1,
  POST: 2,
  PUT: 3,
  DELETE: 4,
  FETCH: 5,
  PATCH: 6,
  iPATCH: 7,
};

/** True for an exchange the endpoint sends itself: anything but an Observe registration or cancellation. */
export function isDirect(spec: ExchangeSpec): boolean {
  return spec.observe === undefined;
}

/**
 * The options of a request, as the agent path puts them on the wire: the extra options, then
 * Uri-Path, Uri-Query, Content-Format, Accept, Block1, Size1, Request-Tag and Block2 (the
 * encoder sorts them by number, keeping this order among options of one number).
 */
export function requestOptions(spec: ExchangeSpec, blockSize: number): CoapOption[] {
  const o: CoapOption[] = [];
  for (const x of spec.options) o.push(x);
  for (const s of spec.path) o.push({ number: OptionNumber.URI_PATH, value: Buffer.from(s) });
  for (const s of spec.query) o.push({ number: OptionNumber.URI_QUERY, value: Buffer.from(s) });
  if (spec.contentFormat !== undefined) {
    o.push({ number: OptionNumber.CONTENT_FORMAT, value: sharedUint(spec.contentFormat) });
  }
  if (spec.accept !== undefined) {
    o.push({ number: OptionNumber.ACCEPT, value: sharedUint(spec.accept) });
  }
  if (spec.block1 !== undefined) {
    o.push({ number: OptionNumber.BLOCK1, value: encodeBlock(spec.block1) });
  }
  if (spec.size1 !== undefined)
    o.push({ number: OptionNumber.SIZE1, value: encodeUint(spec.size1) });
  if (spec.requestTag !== undefined) {
    o.push({ number: OptionNumber.REQUEST_TAG, value: spec.requestTag });
  }
  const block2 = initialBlock2(spec, blockSize);
  if (block2 !== undefined) o.push({ number: OptionNumber.BLOCK2, value: encodeBlock(block2) });
  return o;
}

/**
 * The Block2 option a request starts with: the one asked for, or (RFC 7959 §2.4) our block size
 * from the start when it is smaller than the default, so peers that do not know Block2 (a
 * critical option) are not bothered otherwise.
 */
export function initialBlock2(spec: ExchangeSpec, blockSize: number): BlockValue | undefined {
  if (spec.block2 !== undefined) return spec.block2;
  if (blockSize < 1024 && (spec.method === 'GET' || spec.method === 'FETCH')) {
    return { num: 0, more: false, szx: szxOf(blockSize) };
  }
  return undefined;
}

/** The options of the request for Block2 block `block`: Block2 replaced, everything else kept. */
export function withBlock2(options: CoapOption[], block: BlockValue): void {
  const value = encodeBlock(block);
  const k = options.findIndex((o) => o.number === OptionNumber.BLOCK2);
  if (k < 0) options.push({ number: OptionNumber.BLOCK2, value });
  else options[k] = { number: OptionNumber.BLOCK2, value };
}
