import type { CoapErrorEvent } from '@lwm2m-ts/app-kit';
import type { TimedValue } from '@lwm2m-ts/codecs';
import type { ResponseCode } from '@lwm2m-ts/core';

export type Transport = 'udp' | 'dtls';

/** `request`: Bootstrap-Request and the server-driven sequence; `pack`: Bootstrap-Pack-Request (1.2). */
export type BootstrapMode = 'request' | 'pack';

/** One operation of a bootstrap sequence, as events name it. */
export interface BootstrapStep {
  /** Position in the sequence, from 0. */
  readonly index: number;
  readonly operation: 'delete' | 'discover' | 'read' | 'write' | 'finish' | 'pack';
  /** The target path (`/`, `/0/1`); Bootstrap-Finish and Bootstrap-Pack use `/bs` and `/bspack`. */
  readonly path: string;
  /** For writes: what the instance is. */
  readonly object?: 'security' | 'server' | 'acl' | 'object';
}

/** Who a session talks to. */
export interface SessionInfo {
  /** Unique per Bootstrap-Request (or Bootstrap-Pack-Request). */
  readonly sessionId: string;
  readonly endpoint: string;
  readonly mode: BootstrapMode;
  readonly transport: Transport;
  readonly address: string;
  readonly port: number;
  /** The DTLS PSK identity that authenticated. */
  readonly identity?: string;
}

/** Typed events of `BootstrapServer` (Node EventEmitter; also streamed by the REST API as SSE). */
export interface BootstrapEvents {
  /** A Bootstrap-Request (answered 2.04) or Bootstrap-Pack-Request was accepted. */
  bootstrapStarted: [
    event: SessionInfo & {
      /** Whether the configuration is the opt-in default for unknown endpoints. */
      readonly defaultConfig: boolean;
      /** The client's `pct` (1.2), when it sent one. */
      readonly preferredContentFormat?: number;
    },
  ];
  /** The client answered one operation of the sequence (success or not). */
  stepDone: [
    event: SessionInfo & {
      readonly step: BootstrapStep;
      readonly code: ResponseCode;
      readonly ok: boolean;
      readonly durationMs: number;
      /** The content format of the write or read (after any fallback). */
      readonly contentFormat?: number;
      /** Bootstrap-Discover: the link-format answer. */
      readonly links?: string;
      /** Bootstrap-Read: the decoded values. */
      readonly values?: readonly TimedValue[];
      /** The client's diagnostic payload of an error answer. */
      readonly diagnostic?: string;
    },
  ];
  /** Bootstrap-Finish was answered 2.04 (or the pack was served). */
  bootstrapFinished: [event: SessionInfo & { readonly steps: number; readonly durationMs: number }];
  /**
   * The sequence stopped: an error answer, a timeout, a configuration that cannot be encoded, a
   * new Bootstrap-Request from the same endpoint (`restarted`), or the server closing.
   */
  bootstrapFailed: [
    event: SessionInfo & {
      /** The step that failed; none when the sequence ended between steps. */
      readonly step?: BootstrapStep;
      /** The client's answer, when it gave one. */
      readonly code?: ResponseCode;
      readonly reason: string;
      readonly restarted: boolean;
      readonly durationMs: number;
    },
  ];
  /** The DM server hand-off (`dmServer` option) of one server account, successful or not. */
  dmServerHandoff: [
    event: {
      readonly endpoint: string;
      readonly sessionId: string;
      readonly shortServerId: number;
      readonly ok: boolean;
      /** The HTTP status, when the DM server answered. */
      readonly status?: number;
      readonly message?: string;
    },
  ];
  /** Something a peer sent that we refused (unknown endpoint, wrong identity, bad request). */
  coapError: [event: CoapErrorEvent];
}
