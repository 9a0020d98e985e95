import type { CoapErrorEvent } from '@lwm2m-ts/app-kit';
import type { TimedValue } from '@lwm2m-ts/codecs';
import type { LwM2mNode, ResponseCode } from '@lwm2m-ts/core';
import type { ObservationRecord } from './observation-store.js';
import type { Registration } from './registration.js';

export type DeregistrationReason = 'deregistered' | 'expired' | 'replaced' | 'removed';

/**
 * Cluster mode (cluster.ts): set on an event another server process emitted and this one re-emits
 * (the other process's node id); unset on this process's own events. A listener that acts on an
 * event rather than shows it skips remote ones: the process where it happened acts.
 */
export interface Relayed {
  readonly remote?: string;
}

/**
 * Typed events of `LwM2mServer` (Node EventEmitter; also streamed by the REST API as SSE). In
 * cluster mode the `Relayed` ones also come from the other processes, marked `remote`.
 */
export interface ServerEvents {
  registered: [event: { readonly registration: Registration } & Relayed];
  updated: [
    event: { readonly before: Registration; readonly registration: Registration } & Relayed,
  ];
  deregistered: [
    event: { readonly registration: Registration; readonly reason: DeregistrationReason } & Relayed,
  ];
  /** A queue-mode client talked to us (Register, Update, Notify, Send): queued requests go now. */
  awake: [event: { readonly registration: Registration }];
  /** A queue-mode client's awake window passed with nothing heard: requests queue again. */
  sleeping: [event: { readonly registration: Registration }];
  notification: [
    event: {
      readonly registration: Registration;
      readonly observation: ObservationRecord;
      readonly code: ResponseCode;
      /** The decoded node (Observe) … */
      readonly content?: LwM2mNode;
      /** … or path→value list (Observe-Composite, or a node payload with timestamps). */
      readonly values?: readonly TimedValue[];
      readonly contentFormat?: number;
    } & Relayed,
  ];
  /** An observation ended (cancelled, re-registration, error notification, client gone). */
  observationCancelled: [
    event: { readonly observation: ObservationRecord; readonly reason: string } & Relayed,
  ];
  /** Data the client sent with the Send operation (`POST /dp`, Core TS 1.2 §6.4.7). */
  send: [
    event: {
      readonly registration: Registration;
      readonly values: readonly TimedValue[];
      readonly contentFormat: number;
    } & Relayed,
  ];
  /**
   * Something a peer sent that we refused or could not use (bad registration, undecodable
   * notification or Send): what a person debugging a device wants to see.
   */
  coapError: [event: CoapErrorEvent];
}
