import type { LwM2mVersion } from '@lwm2m-ts/codecs';

/** Which of the server's sockets a client talks to. */
export type Transport = 'udp' | 'dtls';

/** One link of the Register/Update payload (`</3/0>`, `</3442>;ver=1.1`), Core TS 1.2 §6.2.1. */
export interface ObjectLinkInfo {
  readonly objectId: number;
  readonly instanceId?: number;
  /** The `ver` attribute: the object's version as the client implements it. */
  readonly version?: string;
}

/**
 * A client's registration, as stored. Plain data (numbers, strings, arrays) so a store can keep it
 * as JSON (in memory, in a file or in Redis) without losing anything. Times are ms since 1970.
 */
export interface Registration {
  /** The id in the Location-Path the client got (`/rd/<id>`). */
  readonly id: string;
  /** Endpoint client name (`ep`). */
  readonly endpoint: string;
  /** LwM2M enabler version (`lwm2m`); `1.0` when the client sent none (Core TS 1.0 had none). */
  readonly lwm2mVersion: LwM2mVersion;
  /** Lifetime in seconds (`lt`, default 86400, Core TS 1.2 §6.2.1). */
  readonly lifetime: number;
  /** Binding mode (`b`), e.g. `U`, `UQ`, `T`; default `U`. */
  readonly binding: string;
  /** Queue mode: `b=UQ` (1.0/1.1) or the `Q` parameter (1.2). */
  readonly queueMode: boolean;
  /** MSISDN (`sms`) when given. */
  readonly smsNumber?: string;
  /** Alternate path of the objects (`</lwm2m>;rt="oma.lwm2m"`), `/` when none. */
  readonly rootPath: string;
  readonly objectLinks: readonly ObjectLinkInfo[];
  /** Content formats the client listed in the root link's `ct` attribute (1.1+), if any. */
  readonly supportedFormats?: readonly number[];
  /** Where the client talks from; updated when an Update comes from a new address. */
  readonly address: string;
  readonly port: number;
  readonly transport: Transport;
  /** The DTLS PSK identity the client authenticated with. */
  readonly identity?: string;
  /**
   * Cluster mode: the server process (node id) the client last registered or updated at, which
   * holds its DTLS session. Unset outside cluster mode.
   */
  readonly node?: string;
  /** Unknown query parameters of the Register request, kept as sent. */
  readonly extraParameters?: Readonly<Record<string, string>>;
  readonly registeredAt: number;
  readonly lastUpdate: number;
  /** `lastUpdate + lifetime`: the registration is removed when this passes. */
  readonly expiresAt: number;
}

/** Object ids and versions of a registration, for binding codec models (`/3 → 1.1`). */
export function objectVersions(reg: Registration): Map<number, string | undefined> {
  const out = new Map<number, string | undefined>();
  for (const l of reg.objectLinks) {
    if (!out.has(l.objectId) || l.version !== undefined) out.set(l.objectId, l.version);
  }
  return out;
}

/** Where a registration's device sends from: `transport|address|port` (a store's peer index). */
export function registrationPeer(
  transport: Transport,
  peer: { readonly address: string; readonly port: number },
): string {
  return `${transport}|${peer.address}|${peer.port}`;
}
