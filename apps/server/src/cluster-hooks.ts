/**
 * The `ClusterHooks` of one server: what the cluster link (cluster.ts) may do to this process's
 * per-registration state when other processes report. Apart from `LwM2mServer` because it needs
 * only the small `ClusterHooksContext` below.
 */
import type { CachedRegistrationStore } from './cached-registration-store.js';
import type { ClusterHooks, ClusterLogger } from './cluster.js';
import { UnknownClientError } from './errors.js';
import type { ObservationStore } from './observation-store.js';
import type { RegistrationStore } from './registration-store.js';
import type { RuntimeTable } from './runtime-table.js';

/** What the cluster hooks use of the server. */
export interface ClusterHooksContext {
  readonly registrations: RegistrationStore;
  readonly observations: ObservationStore;
  readonly runtimes: RuntimeTable;
  /** The local copy of registrations, when there is one. */
  readonly registrationCache: CachedRegistrationStore | undefined;
  /** This process's node id (read when an event arrives: the link is made after the context). */
  nodeId(): string | undefined;
  readonly logger: ClusterLogger | undefined;
  scheduleExpiry(at: number): void;
}

export function clusterHooks(ctx: ClusterHooksContext): ClusterHooks {
  return {
    moved: (registrationId, id) => {
      const active = ctx.runtimes.get(registrationId)?.activeObservations?.get(id);
      if (active === undefined) return;
      // Events may arrive late: let go only if the store still says another process has it.
      ctx.observations.get(id).then(
        (current) => {
          if (current !== undefined && current.node === ctx.nodeId()) return;
          active.movedAway = true;
          // Reactive: the device keeps observing; the new holder answers it now.
          void active.coap.cancel('reactive');
        },
        (err: unknown) =>
          ctx.logger?.warn({ err, id }, 'cluster: re-reading a moved observation failed'),
      );
    },
    released: (id) => {
      ctx.registrationCache?.evictId(id);
      const rt = ctx.runtimes.get(id);
      if (rt === undefined) return;
      ctx.runtimes.drop(
        rt,
        () => new UnknownClientError(`${rt.reg.endpoint} is no longer registered`),
      );
    },
    heard: (reg, updated) => {
      // Registered or updated through another process: the local copy is out of date.
      if (updated) ctx.registrationCache?.evict(reg.endpoint);
      ctx.scheduleExpiry(reg.expiresAt);
      const rt = ctx.runtimes.get(reg.id);
      if (rt === undefined) return;
      if (!updated) {
        rt.queue?.wake();
        return;
      }
      // Events may arrive late: the store says what the registration is now.
      ctx.registrations.getById(reg.id).then(
        (current) => {
          const now = ctx.runtimes.get(reg.id);
          if (current !== undefined && now !== undefined)
            ctx.runtimes.adopt(now, current).queue?.wake();
        },
        (err: unknown) => ctx.logger?.warn({ err }, 'cluster: re-reading a registration failed'),
      );
    },
  };
}
