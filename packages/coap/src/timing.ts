import { parameters } from 'coap';

/** RFC 7252 §4.8 transmission parameters, in seconds, with the values derived from them (§4.8.2). */
export interface Timing {
  readonly ackTimeout: number;
  readonly ackRandomFactor: number;
  readonly maxRetransmit: number;
  /** ACK_TIMEOUT × (2^MAX_RETRANSMIT − 1) × ACK_RANDOM_FACTOR */
  readonly maxTransmitSpan: number;
  /** ACK_TIMEOUT × (2^(MAX_RETRANSMIT + 1) − 1) × ACK_RANDOM_FACTOR: when a CON sender gives up. */
  readonly maxTransmitWait: number;
  /** MAX_TRANSMIT_SPAN + 2 × MAX_LATENCY + PROCESSING_DELAY: how long message ids are remembered. */
  readonly exchangeLifetime: number;
  /** MAX_TRANSMIT_SPAN + MAX_LATENCY */
  readonly nonLifetime: number;
}

const MAX_LATENCY = 100;

export function makeTiming(ackTimeout = 2, ackRandomFactor = 1.5, maxRetransmit = 4): Timing {
  if (!(ackTimeout > 0) || !Number.isFinite(ackTimeout)) {
    throw new RangeError(`ackTimeout must be a positive number of seconds, got ${ackTimeout}`);
  }
  if (!(ackRandomFactor >= 1) || !Number.isFinite(ackRandomFactor)) {
    throw new RangeError(`ackRandomFactor must be >= 1, got ${ackRandomFactor}`);
  }
  if (!Number.isInteger(maxRetransmit) || maxRetransmit < 0 || maxRetransmit > 20) {
    throw new RangeError(`maxRetransmit must be an integer 0..20, got ${maxRetransmit}`);
  }
  const maxTransmitSpan = ackTimeout * (2 ** maxRetransmit - 1) * ackRandomFactor;
  const maxTransmitWait = ackTimeout * (2 ** (maxRetransmit + 1) - 1) * ackRandomFactor;
  // PROCESSING_DELAY is ACK_TIMEOUT (§4.8.2).
  const exchangeLifetime = maxTransmitSpan + 2 * MAX_LATENCY + ackTimeout;
  const nonLifetime = maxTransmitSpan + MAX_LATENCY;
  return {
    ackTimeout,
    ackRandomFactor,
    maxRetransmit,
    maxTransmitSpan,
    maxTransmitWait,
    exchangeLifetime,
    nonLifetime,
  };
}

/** The first retransmission timeout of a CON, in ms: ACK_TIMEOUT × random(1, ACK_RANDOM_FACTOR) (§4.2). */
export function initialRetransmitTimeout(t: Timing): number {
  return t.ackTimeout * (1 + (t.ackRandomFactor - 1) * Math.random()) * 1000;
}

/**
 * Runs `fn` with node-coap's transmission parameters set to `t`.
 *
 * Why: node-coap keeps ACK_TIMEOUT, ACK_RANDOM_FACTOR and MAX_RETRANSMIT in one module-global
 * `parameters` object (its `updateTiming()` changes every server and agent in the process). Its
 * retransmission helper (RetrySend) copies them when it is constructed, and it is constructed
 * synchronously inside `agent.request()`, `OutgoingMessage.end()` and the server's `_handle()`;
 * so setting the globals around exactly those calls and restoring them afterwards gives each
 * endpoint its own timing without touching anyone else's. JavaScript runs this synchronously, so
 * no other code can observe the temporary values.
 */
export function withTiming<T>(t: Timing, fn: () => T): T {
  const p = parameters;
  const saved = [
    p.ackTimeout,
    p.ackRandomFactor,
    p.maxRetransmit,
    p.exchangeLifetime,
    p.maxTransmitSpan,
    p.maxTransmitWait,
  ] as const;
  p.ackTimeout = t.ackTimeout;
  p.ackRandomFactor = t.ackRandomFactor;
  p.maxRetransmit = t.maxRetransmit;
  // Whole seconds: node-coap's reply cache (lru-cache) wants an integer ttl in ms.
  p.exchangeLifetime = Math.ceil(t.exchangeLifetime);
  p.maxTransmitSpan = t.maxTransmitSpan;
  p.maxTransmitWait = t.maxTransmitWait;
  try {
    return fn();
  } finally {
    [
      p.ackTimeout,
      p.ackRandomFactor,
      p.maxRetransmit,
      p.exchangeLifetime,
      p.maxTransmitSpan,
      p.maxTransmitWait,
    ] = saved;
  }
}
