import type { TimedValue } from '@lwm2m-ts/codecs';
import type { Link, LwM2mNode, ResponseCode } from '@lwm2m-ts/core';
import type { ObservationRecord } from './observation-store.js';

/** Options every device-management call takes. */
export interface RequestOptions {
  /**
   * Time limit in ms for the whole call, including the time a request for a sleeping queue-mode
   * client waits for it to wake up. Default: the server's `requestTimeout`.
   */
  readonly timeout?: number;
  /**
   * Content format to ask for (Read, Observe: Accept) or to send in (Write, Create: Content-Format).
   * Default: chosen from the client's version and advertised formats, falling back to the next
   * format the client can speak when it answers 4.06/4.15 (remembered per registration).
   */
  readonly format?: number;
  readonly signal?: AbortSignal;
}

/**
 * What the client answered. A device's refusal (4.04, 4.05…) is an answer, not an exception:
 * `ok` is false and `code` says why. Failures to get an answer at all (unknown client, timeout,
 * queue full, undecodable payload) reject with a `LwM2mError` subclass instead.
 */
export type DmResponse<T extends object = object> =
  | ({ readonly ok: true; readonly code: ResponseCode } & T)
  | { readonly ok: false; readonly code: ResponseCode; readonly diagnostic?: string };

export type ReadResponse = DmResponse<{
  readonly content: LwM2mNode;
  readonly contentFormat: number;
}>;
export type CompositeReadResponse = DmResponse<{
  readonly values: readonly TimedValue[];
  readonly contentFormat: number;
}>;
export type DiscoverResponse = DmResponse<{ readonly links: readonly Link[] }>;
export type CreateResponse = DmResponse<{
  /** Path of the new instance (`/3303/1`), from Location-Path or the id we sent. */
  readonly location?: string;
}>;
export type ObserveResponse = DmResponse<{
  readonly observation: ObservationRecord;
  /** The current value(s): the first notification. */
  readonly content: LwM2mNode;
  readonly contentFormat: number;
}>;
export type CompositeObserveResponse = DmResponse<{
  readonly observation: ObservationRecord;
  readonly values: readonly TimedValue[];
  readonly contentFormat: number;
}>;
/** Write, Write-Attributes, Execute, Delete, Write-Composite, Cancel: only a code. */
export type EmptyResponse = DmResponse;

export type WriteMode = 'replace' | 'update';
