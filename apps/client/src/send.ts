/**
 * Send (Core TS 1.2 §6.4.7, new in 1.1): the client pushes values to its server unasked,
 * `POST /dp` with a composite payload — SenML CBOR by default, SenML JSON or (1.2) LwM2M CBOR
 * on request — answered 2.04 Changed. The Server object's Mute Send (/1/x/23) turns it off.
 */
import { compositeFormats, encode, type LwM2mVersion, type TimedValue } from '@lwm2m-ts/codecs';
import {
  ContentFormat,
  LwM2mError,
  LwM2mPath,
  MethodNotAllowedError,
  NotAcceptableError,
  NotFoundError,
  type ResponseCode,
} from '@lwm2m-ts/core';
import type { ObjectTree } from './object-tree.js';

export interface SendOptions {
  /** 112 SenML CBOR (default), 110 SenML JSON, 11544 LwM2M CBOR (1.2). */
  readonly format?: number;
  /** Time limit in ms (CoAP retransmissions included). Default 30 000. */
  readonly timeout?: number;
}

/** What a Send carried and how the server answered. */
export interface SendResult {
  readonly values: readonly TimedValue[];
  readonly contentFormat: number;
  readonly code: ResponseCode;
}

/** The server answered a Send with something other than 2.04. */
export class SendRefusedError extends LwM2mError {
  readonly coapCode: ResponseCode;
  constructor(code: ResponseCode, detail: string) {
    super(`Send refused with ${code}${detail === '' ? '' : `: ${detail}`}`);
    this.coapCode = code;
  }
}

/** Paths as given (`'/3303/0/5700'` or LwM2mPath), parsed; at least one. */
export function sendPaths(paths: readonly (string | LwM2mPath)[]): LwM2mPath[] {
  if (paths.length === 0) throw new NotFoundError('Send needs at least one path');
  return paths.map((p) => LwM2mPath.from(p));
}

/** Checks the version and format: Send exists from 1.1 on, in the composite formats only. */
export function sendFormat(version: LwM2mVersion, format: number | undefined): number {
  if (version === '1.0') {
    throw new MethodNotAllowedError('Send needs LwM2M 1.1 or later (registered with 1.0)');
  }
  const f = format ?? ContentFormat.SENML_CBOR;
  if (!compositeFormats(version).includes(f as ContentFormat)) {
    throw new NotAcceptableError(
      `content format ${f} cannot carry a Send in LwM2M ${version} (use ${compositeFormats(version).join(', ')})`,
    );
  }
  return f;
}

/** Reads the values under `paths` and encodes them; NotFoundError when none exists. */
export async function encodeSend(
  tree: ObjectTree,
  paths: readonly LwM2mPath[],
  format: number,
): Promise<{ payload: Uint8Array; values: TimedValue[] }> {
  // The device reads its own data for a Send: no DM-server access rules apply.
  const values = await tree.readValues(paths, { kind: 'local' });
  if (values.length === 0) {
    throw new NotFoundError(`nothing to send: no value under ${paths.join(', ')}`);
  }
  const payload = encode(format, values, { path: LwM2mPath.ROOT, model: tree.models() });
  return { payload, values };
}
