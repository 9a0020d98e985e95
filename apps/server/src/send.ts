/**
 * Send (Core TS 1.2 §6.4.7): values a registered client posts to `/dp` on its own. Apart from
 * `LwM2mServer` because it needs only the small `SendContext` below.
 */
import type { EventEmitter } from 'node:events';
import type { CoapRequest, CoapResponse } from '@lwm2m-ts/coap';
import { compositeFormats, decodeValues, formatName, type TimedValue } from '@lwm2m-ts/codecs';
import { NotFoundError, UnsupportedContentFormatError } from '@lwm2m-ts/core';
import type { ServerEvents } from './events.js';
import { registrationPeer, type Transport } from './registration.js';
import { checkSameClient } from './registration-interface.js';
import type { RegistrationStore } from './registration-store.js';
import type { RuntimeTable } from './runtime-table.js';

/** What Send handling uses of the server. */
export interface SendContext {
  readonly registrations: RegistrationStore;
  readonly runtimes: RuntimeTable;
  readonly counters: { sends: number };
  readonly events: Pick<EventEmitter<ServerEvents>, 'emit'>;
}

/** Answers a Send: finds the registration by the sender's address, decodes and emits `send`. */
export async function handleSend(
  ctx: SendContext,
  req: CoapRequest,
  transport: Transport,
): Promise<CoapResponse> {
  const peer = registrationPeer(transport, req.peer);
  const id = ctx.runtimes.idByPeer(peer);
  let reg = id === undefined ? undefined : await ctx.registrations.getById(id);
  if (reg === undefined && id === undefined && ctx.registrations.getByPeer !== undefined) {
    // Cluster mode: the device registered through another process (a balancer sent its Send
    // here). Over DTLS the session's identity must be the registration's.
    reg = await ctx.registrations.getByPeer(peer);
    if (reg !== undefined) checkSameClient(reg, req, transport);
  }
  if (reg === undefined) throw new NotFoundError('Send from a client that is not registered');
  const format = req.contentFormat;
  if (format === undefined || !compositeFormats(reg.lwm2mVersion).includes(format as never)) {
    throw new UnsupportedContentFormatError(
      `Send needs SenML JSON/CBOR or LwM2M CBOR, got ${format === undefined ? 'no content format' : formatName(format)}`,
    );
  }
  const rt = ctx.runtimes.runtime(reg);
  const values: TimedValue[] = decodeValues(format, req.payload, { model: rt.models });
  ctx.counters.sends++;
  rt.queue?.wake();
  ctx.events.emit('send', { registration: reg, values, contentFormat: format });
  return { code: '2.04' };
}
