/**
 * The registration interface (Core TS 1.2 §6.2): Register, Update and De-register requests on
 * `/rd`, checked against the security store. Apart from `LwM2mServer` because it needs only the
 * small `RegistrationContext` below, not the server's device management or observations.
 */
import type { EventEmitter } from 'node:events';
import type { CoapRequest, CoapResponse } from '@lwm2m-ts/coap';
import { ForbiddenError, NotFoundError, ServiceUnavailableError } from '@lwm2m-ts/core';
import { needsNewRuntime } from './client-runtime.js';
import type { DeregistrationReason, ServerEvents } from './events.js';
import type { Registration, Transport } from './registration.js';
import { registrationId } from './registration-id.js';
import { parseRegisterRequest, parseUpdateRequest } from './registration-params.js';
import type { RegistrationStore } from './registration-store.js';
import type { RuntimeTable } from './runtime-table.js';
import type { SecurityStore } from './security-store.js';

/** What the registration interface uses of the server. */
export interface RegistrationContext {
  readonly registrations: RegistrationStore;
  readonly security: SecurityStore;
  readonly runtimes: RuntimeTable;
  /** Accept plain-CoAP registrations from endpoints without a security entry. */
  readonly allowUnsecured: boolean;
  /** Cluster mode: this process's node id, written into the registrations it handles. */
  readonly nodeId: string | undefined;
  readonly counters: {
    registrationRequests: number;
    updateRequests: number;
    deregistrations: number;
  };
  readonly events: Pick<EventEmitter<ServerEvents>, 'emit'>;
  /** A registration is gone: end its observations and queued requests, then say so. */
  ended(reg: Registration, reason: DeregistrationReason): Promise<void>;
  scheduleExpiry(at: number): void;
}

/** Registrations that sent the same object list share it (parsed once, held once). */
const SHARE_LINKS = Object.freeze({ shareObjectLinks: true });

export class RegistrationInterface {
  readonly #ctx: RegistrationContext;

  constructor(ctx: RegistrationContext) {
    this.#ctx = ctx;
  }

  async register(req: CoapRequest, transport: Transport): Promise<CoapResponse> {
    const ctx = this.#ctx;
    ctx.counters.registrationRequests++;
    const params = parseRegisterRequest(req.query, req.payload, req.contentFormat, SHARE_LINKS);
    await this.#authorize(params.endpoint, transport, req.peer.identity);
    const now = Date.now();
    const reg: Registration = {
      id: registrationId(),
      ...params,
      address: req.peer.address,
      port: req.peer.port,
      transport,
      ...(req.peer.identity !== undefined && { identity: req.peer.identity }),
      ...(ctx.nodeId !== undefined && { node: ctx.nodeId }),
      registeredAt: now,
      lastUpdate: now,
      expiresAt: now + params.lifetime * 1000,
    };
    const previous = await ctx.registrations.add(reg);
    // An endpoint registering again replaces its registration and its observations (§6.2.1).
    if (previous !== undefined) await ctx.ended(previous, 'replaced');
    ctx.runtimes.runtime(reg);
    ctx.scheduleExpiry(reg.expiresAt);
    ctx.events.emit('registered', { registration: reg });
    return { code: '2.01', locationPath: ['rd', reg.id] };
  }

  async update(id: string, req: CoapRequest, transport: Transport): Promise<CoapResponse> {
    const ctx = this.#ctx;
    ctx.counters.updateRequests++;
    const current = await ctx.registrations.getById(id);
    if (current === undefined) throw new NotFoundError(`no registration ${id}`);
    // In 1.0 queue mode lives in `b`, so the registered version decides what `b=U` means.
    const params = parseUpdateRequest(
      req.query,
      req.payload,
      req.contentFormat,
      current.lwm2mVersion,
      SHARE_LINKS,
    );
    const now = Date.now();
    const result = await ctx.registrations.update(id, (cur) => {
      checkSameClient(cur, req, transport);
      const lifetime = params.lifetime ?? cur.lifetime;
      return {
        ...cur,
        ...params,
        // Devices behind NAT come back from another address and port: move there.
        address: req.peer.address,
        port: req.peer.port,
        ...(ctx.nodeId !== undefined && { node: ctx.nodeId }),
        lastUpdate: now,
        expiresAt: now + lifetime * 1000,
      };
    });
    if (result === undefined) throw new NotFoundError(`no registration ${id}`);
    const { before, after } = result;
    let rt = ctx.runtimes.get(id);
    if (rt !== undefined && needsNewRuntime(before, after)) {
      // Queue mode or object versions changed: start afresh (queued requests fail).
      ctx.runtimes.drop(rt, () => new ServiceUnavailableError('the registration changed'));
      rt = undefined;
    }
    if (rt !== undefined) {
      ctx.runtimes.move(rt, before, after);
    } else {
      rt = ctx.runtimes.runtime(after);
    }
    ctx.scheduleExpiry(after.expiresAt);
    ctx.events.emit('updated', { before, registration: after });
    rt.queue?.wake();
    return { code: '2.04' };
  }

  async deregister(id: string, req: CoapRequest, transport: Transport): Promise<CoapResponse> {
    const ctx = this.#ctx;
    const current = await ctx.registrations.getById(id);
    if (current === undefined) throw new NotFoundError(`no registration ${id}`);
    checkSameClient(current, req, transport);
    const removed = await ctx.registrations.remove(id);
    if (removed === undefined) throw new NotFoundError(`no registration ${id}`);
    ctx.counters.deregistrations++;
    await ctx.ended(removed, 'deregistered');
    return { code: '2.02' };
  }

  async #authorize(endpoint: string, transport: Transport, identity: string | undefined) {
    const info = await this.#ctx.security.getByEndpoint(endpoint);
    if (transport === 'dtls') {
      // Core TS 1.2 §7.1: the endpoint name must belong to the credentials that authenticated.
      if (info?.mode !== 'psk' || info.identity !== identity) {
        throw new ForbiddenError(
          `PSK identity ${JSON.stringify(identity)} may not register as ${JSON.stringify(endpoint)}`,
        );
      }
      return;
    }
    if (info?.mode === 'psk') {
      throw new ForbiddenError(`${endpoint} has a PSK: it must register over DTLS`);
    }
    if (info === undefined && !this.#ctx.allowUnsecured) {
      throw new ForbiddenError(`plain CoAP registration is not allowed for ${endpoint}`);
    }
  }
}

/** The `ep` query parameter of a Register request, to name the client in errors. */
export function endpointOf(req: CoapRequest): string | undefined {
  const ep = req.query.find((q) => q.startsWith('ep='));
  return ep?.slice(3);
}

/** Update and De-register must come over the same transport and, on DTLS, from the same identity. */
export function checkSameClient(reg: Registration, req: CoapRequest, transport: Transport): void {
  if (reg.transport !== transport || (transport === 'dtls' && reg.identity !== req.peer.identity)) {
    throw new ForbiddenError(`registration ${reg.id} belongs to another client`);
  }
}
