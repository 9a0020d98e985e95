/**
 * The fast path for incoming requests: what the endpoint answers itself, with wire.ts, instead
 * of handing the request to node-coap's server.
 *
 * Why: node-coap builds a readable stream for the request, a writable stream for the response,
 * a retransmission helper with two timers, an LRU entry and a timer for the piggyback window
 * for every request, and parses and generates the message again; that was about four fifths of
 * the CPU an endpoint spent answering a GET or a Register. Most requests need none of it: the
 * request is not block-wise and does not register an observation, and the handler answers within
 * the piggyback window with a response that fits in one message. Those are answered here —
 * piggybacked on the ACK for a CON, as a NON for a NON (RFC 7252 §5.2.1, §5.2.3) — and
 * deduplicated by the endpoint's own message-id cache (§4.5), as before. Everything else still
 * goes to node-coap: Block1 and Block2, Observe registrations, and a response that needs Block2
 * or comes after the piggyback window (then the endpoint has sent the empty ACK, and node-coap
 * sends the separate CON response and retransmits it until acknowledged).
 */
import type { CoapOption, CoapResponse } from './message.js';
import { OptionNumber, sharedUint } from './options.js';
import { optionValue, type ParsedMessage } from './wire.js';

/** node-coap's server slices a payload of this size or more block-wise even unasked (its maxBlock2). */
export const NODE_COAP_BLOCKWISE_FROM = 1024;
/** The largest message node-coap's server sends (its maxMessageSize); bigger responses fail with 5.00. */
export const NODE_COAP_MAX_RESPONSE = 1152;
/** The largest request node-coap's agent sends (coap-packet's default limit). */
export const NODE_COAP_MAX_REQUEST = 1280;

/**
 * True when the request may be answered on the fast path, whatever the handler returns: no
 * Block1 (reassembled or not), no Block2 (a follow-up block or a size request), no Observe
 * registration (`observe === 0`: the observation is set up by the node-coap path).
 */
export function fastPathRequest(
  msg: ParsedMessage,
  observe: number | undefined,
  reassembled: boolean,
): boolean {
  return !reassembled && observe !== 0 && optionValue(msg, OptionNumber.BLOCK2) === undefined;
}

/**
 * True when a payload goes in one message as node-coap would send it: not above the endpoint's
 * block size, and below the size from which node-coap slices by itself.
 */
export function fitsOneMessage(payloadLength: number, blockSize: number): boolean {
  return payloadLength <= blockSize && payloadLength < NODE_COAP_BLOCKWISE_FROM;
}

/**
 * The options of a response, as the node-coap path sets them: Content-Format and Location-Path
 * from their fields, then `options` — which replace a Content-Format or Location-Path of the same
 * number (node-coap's setOption replaces an option of the same name). The encoder sorts them.
 */
export function responseOptions(response: CoapResponse): CoapOption[] {
  const extra = response.options;
  let extraFormat = false;
  let extraLocation = false;
  if (extra !== undefined) {
    for (const o of extra) {
      if (o.number === OptionNumber.CONTENT_FORMAT) extraFormat = true;
      else if (o.number === OptionNumber.LOCATION_PATH) extraLocation = true;
    }
  }
  const out: CoapOption[] = [];
  if (response.contentFormat !== undefined && !extraFormat) {
    out.push({ number: OptionNumber.CONTENT_FORMAT, value: sharedUint(response.contentFormat) });
  }
  const location = response.locationPath;
  if (location !== undefined && !extraLocation) {
    for (const s of location)
      out.push({ number: OptionNumber.LOCATION_PATH, value: Buffer.from(s) });
  }
  if (extra !== undefined) for (const o of extra) out.push(o);
  return out;
}
