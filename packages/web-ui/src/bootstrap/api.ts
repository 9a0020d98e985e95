/**
 * The bootstrap server's REST API (apps/bootstrap/src/rest/app.ts) and the JSON it speaks: the
 * configuration as `validateBootstrapConfig` (apps/bootstrap/src/config.ts) accepts and returns
 * it, and the events of `GET /api/events`.
 */
import { call, eventsPath } from '../http';

export type SecurityModeName = 'nosec' | 'psk';
export type JsonScalar = string | number | boolean;

export interface ServerAccount {
  readonly shortServerId: number;
  readonly uri: string;
  readonly securityMode: SecurityModeName;
  readonly pskIdentity?: string;
  readonly pskKey?: string;
  readonly lifetime: number;
  readonly binding?: string;
  readonly defaultMinPeriod?: number;
  readonly defaultMaxPeriod?: number;
  readonly notificationStoring?: boolean;
  readonly securityInstanceId?: number;
  readonly serverInstanceId?: number;
}

export interface BootstrapAccount {
  readonly uri: string;
  readonly securityMode: SecurityModeName;
  readonly pskIdentity?: string;
  readonly pskKey?: string;
  readonly instanceId?: number;
  readonly clientHoldOffTime?: number;
  readonly accountTimeout?: number;
}

export interface Acl {
  readonly objectId: number;
  readonly instanceId: number;
  /** Short Server ID → rights: bits (1 R, 2 W, 4 E, 8 D, 16 C) or letters. */
  readonly acl: Readonly<Record<string, number | string>>;
  readonly owner: number;
}

export interface Write {
  readonly path: string;
  readonly value?: JsonScalar;
  readonly values?: Readonly<Record<string, JsonScalar>>;
  readonly type?: string;
}

export interface BootstrapConfig {
  readonly servers: readonly ServerAccount[];
  readonly bootstrapServer?: BootstrapAccount;
  readonly bootstrapCredentials?: { readonly identity: string; readonly key: string };
  readonly acls?: readonly Acl[];
  readonly deletePaths?: readonly string[];
  readonly writes?: readonly Write[];
  readonly discover?: boolean;
  readonly read?: readonly string[];
  readonly lwm2mVersion?: '1.0' | '1.1' | '1.2';
  readonly contentFormat?: number;
}

const url = (ep: string) => `/api/bootstrap/${encodeURIComponent(ep)}`;

export const bsApi = {
  /** Every configuration, by endpoint. */
  list: () => call<Record<string, BootstrapConfig>>('GET', '/api/bootstrap'),
  get: (ep: string) => call<BootstrapConfig>('GET', url(ep)),
  put: (ep: string, config: BootstrapConfig) =>
    call<BootstrapConfig>('PUT', url(ep), { body: config }),
  delete: (ep: string) => call<undefined>('DELETE', url(ep)),
};

export const BS_EVENT_NAMES = [
  'bootstrap-started',
  'step-done',
  'bootstrap-finished',
  'bootstrap-failed',
  'dm-server-handoff',
  'coap-error',
] as const;
export type BsEventName = (typeof BS_EVENT_NAMES)[number];

export function bsEventsUrl(): string {
  return eventsPath('/api/events');
}
