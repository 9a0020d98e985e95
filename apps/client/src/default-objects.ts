/**
 * The objects a new `LwM2mClient` has unless told otherwise: Security (0) and Server (1) filled
 * from the client's `server` options (and, with `bootstrap`, the bootstrap-server account at
 * /0/0, the server account then at /0/1), Access Control (2), Device (3), Connectivity Monitoring
 * (4), Firmware Update (5), Location (6), Temperature (3303) and Generic Sensor (3300), built
 * with the factories of `objects/`. Objects the user passes replace these by id.
 */
import type { LwM2mVersion } from '@lwm2m-ts/codecs';
import { compareVersions, InvalidValueError, type ObjectModel } from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import type { DownloadCoapOptions } from './firmware-download.js';
import { chooseModel } from './instance-object.js';
import type { ObjectEnabler } from './object-enabler.js';
import type { LazyEntry, LazyObjects } from './object-tree.js';
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
  if (version === undefined || newest === undefined) return newest;
  if (madeFor(newest, version)) return newest;
  // The registry keeps an object's versions sorted, oldest first: the newest that fits wins.
  const versions = registry.versions(id);
  for (let i = versions.length - 2; i >= 0; i--) {
    const m = registry.get(id, versions[i]);
    if (m !== undefined && madeFor(m, version)) return m;
  }
  return newest;
}

/** `compareVersions(model.lwm2mVersion, version) <= 0`, remembered per pair of versions. */
function madeFor(model: ObjectModel, version: LwM2mVersion): boolean {
  let byVersion = versionFits.get(model.lwm2mVersion);
  if (byVersion === undefined) {
    // DDF versions are few ("1.0", "1.1", "1.2"): the bound only guards against odd registries.
    if (versionFits.size >= 64) versionFits.clear();
    byVersion = new Map();
    versionFits.set(model.lwm2mVersion, byVersion);
  }
  let fits = byVersion.get(version);
  if (fits === undefined) {
    fits = compareVersions(model.lwm2mVersion, version) <= 0;
    byVersion.set(version, fits);
  }
  return fits;
}
const versionFits = new Map<string, Map<LwM2mVersion, boolean>>();

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
  /** Executing /3/0/4 Reboot, and where a failing hook is reported. */
  readonly deviceHooks?: {
    readonly onReboot?: () => void | Promise<void>;
    readonly onHookError?: (err: unknown) => void;
  };
}

export function defaultObjects(config: DefaultObjectsConfig): ObjectEnabler[] {
  const lazy = defaultLazyObjects(config);
  return [...lazy.entries.keys()].map((id) => lazy.build(id));
}

/** The built-in objects, in the order `defaultObjects` gives them. */
const BUILTIN_IDS: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 3303, 3300];

/**
 * The objects of `defaultObjects` for `ObjectTree.addLazy`: a client builds an object when it is
 * first used, which for the devices of a fleet is mostly never. Clients alike (same registry,
 * version and accounts) share one map of models and instance ids; each has its builder.
 */
export function defaultLazyObjects(config: DefaultObjectsConfig): LazyObjects {
  return lazyDefaultObjects(config, () => config);
}

/** What decides the models and instances of the built-in objects. */
export type DefaultObjectsShape = Pick<
  DefaultObjectsConfig,
  'registry' | 'lwm2mVersion' | 'serverUri' | 'bootstrap'
>;

/**
 * `defaultLazyObjects` with the configuration made only when an object is built (a client keeps
 * no configuration object, hooks or closures for objects it never builds): `config` must give
 * the `shape` given here.
 */
export function lazyDefaultObjects(
  shape: DefaultObjectsShape,
  config: () => DefaultObjectsConfig,
): LazyObjects {
  const registry = shape.registry ?? defaultRegistry();
  const accounts =
    (shape.bootstrap === undefined ? 0 : 1) + (shape.serverUri === undefined ? 0 : 1);
  const entries = sharedEntries(
    registry,
    shape.lwm2mVersion,
    accounts,
    shape.serverUri !== undefined,
  );
  return {
    entries,
    build: (id) => buildDefaultObject(id, { model: entries.get(id)!.model }, config()),
  };
}

/** Entries made for a registry, version and accounts, checked against the registry each time. */
const entryCache = new WeakMap<ObjectRegistry, Map<string, Map<number, LazyEntry>>>();

function sharedEntries(
  registry: ObjectRegistry,
  version: LwM2mVersion | undefined,
  accounts: number,
  hasServer: boolean,
): ReadonlyMap<number, LazyEntry> {
  let byKey = entryCache.get(registry);
  if (byKey === undefined) {
    byKey = new Map();
    entryCache.set(registry, byKey);
  }
  const key = `${version ?? ''}|${accounts}|${hasServer}`;
  const cached = byKey.get(key);
  // The registry may have changed since (models added or replaced): the models must still be
  // the ones chosen now.
  if (cached !== undefined && BUILTIN_IDS.every((id) => cached.get(id)!.model === model(id))) {
    return cached;
  }
  const entries = new Map<number, LazyEntry>();
  for (const id of BUILTIN_IDS) {
    const instanceIds =
      id === 0 ? ids(accounts) : id === 1 ? ids(hasServer ? 1 : 0) : id === 2 ? NONE : ONE;
    entries.set(id, Object.freeze({ model: model(id), instanceIds }));
  }
  byKey.set(key, entries);
  return entries;

  // Without a model in the registry an object takes the latest built-in one.
  function model(id: number): ObjectModel {
    const m = modelFor(registry, id, version);
    return m ?? chooseModel(id);
  }
}

/** One built-in object of a client, with its chosen model. */
function buildDefaultObject(
  id: number,
  model: { readonly model: ObjectModel },
  config: DefaultObjectsConfig,
): ObjectEnabler {
  const psk = config.psk;
  const bs = config.bootstrap;
  const serverUri = config.serverUri;
  switch (id) {
    case 0:
      return securityObject(
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
                  ...(bs.holdOffSeconds !== undefined && {
                    clientHoldOffTime: bs.holdOffSeconds,
                  }),
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
        model,
      );
    case 1:
      return serverObject(
        serverUri === undefined
          ? []
          : [
              {
                shortServerId: config.shortServerId,
                lifetime: config.lifetime,
                binding: config.binding,
              },
            ],
        { ...model, ...config.serverHooks },
      );
    case 2:
      return accessControlObject([], model);
    case 3:
      return deviceObject({
        ...model,
        manufacturer: 'lwm2m-ts',
        modelNumber: 'lwm2m-client',
        serialNumber: config.endpoint,
        firmwareVersion: '1.0.0',
        // Core TS 1.2 Appendix E.4: Supported Binding and Modes, `Q` for queue mode.
        supportedBindings: config.queueMode ? `${config.binding}Q` : config.binding,
        ...config.deviceHooks,
      });
    case 4:
      return connectivityMonitoringObject(model);
    case 5: {
      const current =
        config.currentAccount ??
        (() => (serverUri === undefined ? undefined : { uri: serverUri, psk }));
      // A PSK to fetch firmware from the LwM2M server with: the configured one, or (after a
      // bootstrap) whatever the account in use holds.
      const canDownloadSecurely = psk !== undefined || bs !== undefined;
      return firmwareUpdateObject({
        ...model,
        ...(config.coapOptions !== undefined && { downloadCoapOptions: config.coapOptions }),
        // A package on the LwM2M server itself is fetched with the same credentials.
        ...(canDownloadSecurely && {
          downloadPsk: (uri: string) => {
            const account = current();
            return account !== undefined && sameHost(uri, account.uri) ? account.psk : undefined;
          },
        }),
      });
    }
    case 6:
      return locationObject({ ...model, latitude: 48.8584, longitude: 2.2945, altitude: 35 });
    case 3303:
      return temperatureSensor(undefined, model);
    case 3300:
      return genericSensor(undefined, model);
    default:
      throw new InvalidValueError(`object ${id} is not a built-in object of the client`);
  }
}

const NONE: readonly number[] = Object.freeze([]);
const ONE: readonly number[] = Object.freeze([0]);
const TWO: readonly number[] = Object.freeze([0, 1]);

/** Instances 0 … n − 1 (n ≤ 2). */
function ids(n: number): readonly number[] {
  return n === 0 ? NONE : n === 1 ? ONE : TWO;
}

let builtins: ObjectRegistry | undefined;

/** One registry of the built-in models for every client that was given none (read only). */
export function defaultRegistry(): ObjectRegistry {
  builtins ??= ObjectRegistry.withBuiltins();
  return builtins;
}
