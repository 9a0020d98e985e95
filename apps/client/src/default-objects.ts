/**
 * The objects a new `LwM2mClient` has unless told otherwise: Security (0) and Server (1) filled
 * from the client's `server` options (and, with `bootstrap`, the bootstrap-server account at
 * /0/0, the server account then at /0/1), Access Control (2), Device (3), Connectivity Monitoring
 * (4), Firmware Update (5), Location (6), Temperature (3303) and Generic Sensor (3300), built
 * with the factories of `objects/`. Objects the user passes replace these by id.
 */
import type { LwM2mVersion } from '@lwm2m-ts/codecs';
import { compareVersions, type ObjectModel } from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import type { DownloadCoapOptions } from './firmware-download.js';
import type { ObjectEnabler } from './object-enabler.js';
import { accessControlObject } from './objects/access-control.js';
import { connectivityMonitoringObject } from './objects/connectivity-monitoring.js';
import { deviceObject } from './objects/device.js';
import { firmwareUpdateObject } from './objects/firmware-update.js';
import { locationObject } from './objects/location.js';
import { securityObject } from './objects/security.js';
import { genericSensor, temperatureSensor } from './objects/sensors.js';
import { type ServerObjectHooks, serverObject } from './objects/server.js';

/** The newest model of `id` whose LwM2M version is at most `version` (else the newest). */
export function modelFor(
  registry: ObjectRegistry,
  id: number,
  version: LwM2mVersion | undefined,
): ObjectModel | undefined {
  const newest = registry.get(id);
  if (version === undefined) return newest;
  const fitting = registry
    .versions(id)
    .map((v) => registry.get(id, v)!)
    .filter((m) => compareVersions(m.lwm2mVersion, version) <= 0)
    .sort((a, b) => compareVersions(a.version, b.version));
  return fitting.at(-1) ?? newest;
}

function sameHost(a: string, b: string): boolean {
  try {
    return new URL(a).host === new URL(b).host;
  } catch {
    return false;
  }
}

export interface DefaultObjectsConfig {
  readonly endpoint: string;
  /**
   * The LwM2M version the client registers with: each object takes its newest model made for
   * that version or an older one (Server 1.2 needs LwM2M 1.2; a 1.1 client has Server 1.1).
   */
  readonly lwm2mVersion?: LwM2mVersion;
  /** The LwM2M server account; none for a client that gets its account by bootstrap. */
  readonly serverUri?: string | undefined;
  readonly shortServerId: number;
  readonly lifetime: number;
  readonly binding: string;
  readonly queueMode: boolean;
  readonly psk?: { readonly identity: string; readonly key: Uint8Array } | undefined;
  /** The bootstrap-server account (/0/0, Bootstrap-Server true). */
  readonly bootstrap?:
    | {
        readonly uri: string;
        readonly psk?: { readonly identity: string; readonly key: Uint8Array } | undefined;
        /** Client Hold Off Time (/0/0/11), seconds. */
        readonly holdOffSeconds?: number | undefined;
      }
    | undefined;
  /**
   * The LwM2M server account in use now, for firmware downloads from it with its PSK (after a
   * bootstrap it is no longer the one given here). Default: `serverUri` and `psk`.
   */
  readonly currentAccount?: () =>
    | { readonly uri: string; readonly psk?: { identity: string; key: Uint8Array } | undefined }
    | undefined;
  /** Models come from here when given (else the built-in ones). */
  readonly registry?: ObjectRegistry | undefined;
  /** The client's CoAP transmission parameters, for firmware downloads too. */
  readonly coapOptions?: DownloadCoapOptions | undefined;
  /** Executing /1/x/8 and /1/x/4. */
  readonly serverHooks?: ServerObjectHooks;
}

export function defaultObjects(config: DefaultObjectsConfig): ObjectEnabler[] {
  const registry = config.registry ?? ObjectRegistry.withBuiltins();
  const model = (id: number): { model?: ObjectModel } => {
    const m = modelFor(registry, id, config.lwm2mVersion);
    return m === undefined ? {} : { model: m };
  };
  const psk = config.psk;
  const bs = config.bootstrap;
  const serverUri = config.serverUri;
  const current =
    config.currentAccount ??
    (() => (serverUri === undefined ? undefined : { uri: serverUri, psk }));
  // A PSK to fetch firmware from the LwM2M server with: the configured one, or (after a
  // bootstrap) whatever the account in use holds.
  const canDownloadSecurely = psk !== undefined || bs !== undefined;
  return [
    securityObject(
      [
        ...(bs === undefined
          ? []
          : [
              {
                serverUri: bs.uri,
                bootstrapServer: true,
                ...(bs.psk !== undefined
                  ? {
                      securityMode: 'psk' as const,
                      pskIdentity: bs.psk.identity,
                      pskKey: bs.psk.key,
                    }
                  : { securityMode: 'nosec' as const }),
                ...(bs.holdOffSeconds !== undefined && { clientHoldOffTime: bs.holdOffSeconds }),
              },
            ]),
        ...(serverUri === undefined
          ? []
          : [
              {
                serverUri,
                shortServerId: config.shortServerId,
                ...(psk !== undefined
                  ? { securityMode: 'psk' as const, pskIdentity: psk.identity, pskKey: psk.key }
                  : { securityMode: 'nosec' as const }),
              },
            ]),
      ],
      model(0),
    ),
    serverObject(
      serverUri === undefined
        ? []
        : [
            {
              shortServerId: config.shortServerId,
              lifetime: config.lifetime,
              binding: config.binding,
            },
          ],
      { ...model(1), ...config.serverHooks },
    ),
    accessControlObject([], model(2)),
    deviceObject({
      ...model(3),
      manufacturer: 'lwm2m-ts',
      modelNumber: 'lwm2m-client',
      serialNumber: config.endpoint,
      firmwareVersion: '1.0.0',
      // Core TS 1.2 Appendix E.4: Supported Binding and Modes, `Q` for queue mode.
      supportedBindings: config.queueMode ? `${config.binding}Q` : config.binding,
    }),
    connectivityMonitoringObject(model(4)),
    firmwareUpdateObject({
      ...model(5),
      ...(config.coapOptions !== undefined && { downloadCoapOptions: config.coapOptions }),
      // A package on the LwM2M server itself is fetched with the same credentials.
      ...(canDownloadSecurely && {
        downloadPsk: (uri: string) => {
          const account = current();
          return account !== undefined && sameHost(uri, account.uri) ? account.psk : undefined;
        },
      }),
    }),
    locationObject({ ...model(6), latitude: 48.8584, longitude: 2.2945, altitude: 35 }),
    temperatureSensor(undefined, model(3303)),
    genericSensor(undefined, model(3300)),
  ];
}
