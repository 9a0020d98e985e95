import {
  chooseModel,
  InstanceObject,
  type InstanceObjectOptions,
  type ModelChoice,
} from '../instance-object.js';

/** Network Bearer values, resources 4/0/0 and 4/0/1 (object 4 DDF). */
export const NetworkBearer = {
  gsm: 0,
  tdScdma: 1,
  wcdma: 2,
  cdma2000: 3,
  wimax: 4,
  lteTdd: 5,
  lteFdd: 6,
  nbIot: 7,
  wlan: 21,
  bluetooth: 22,
  ieee802154: 23,
  ethernet: 41,
  dsl: 42,
  plc: 43,
} as const;

export interface ConnectivityMonitoringOptions
  extends ModelChoice,
    Omit<InstanceObjectOptions, 'instances'> {
  /** Resource 0. Default Ethernet (41). */
  readonly networkBearer?: number;
  /** Resource 1. Default: the network bearer alone. */
  readonly availableNetworkBearers?: readonly number[];
  /** Resource 2, dBm. Default -70. */
  readonly radioSignalStrength?: number;
  readonly linkQuality?: number;
  /** Resource 4. Default `['127.0.0.1']`. */
  readonly ipAddresses?: readonly string[];
  readonly routerIpAddresses?: readonly string[];
  /** Resource 6, percent. */
  readonly linkUtilization?: number;
  readonly apn?: readonly string[];
  readonly cellId?: number;
  readonly smnc?: number;
  readonly smcc?: number;
}

/**
 * The Connectivity Monitoring object (4), single instance 0: what the device reports about
 * its network link. The values are the device's to set (`set(0, 2, -80)`).
 */
export function connectivityMonitoringObject(
  options: ConnectivityMonitoringOptions = {},
): InstanceObject {
  const { model, version, ...rest } = options;
  const object = new InstanceObject(chooseModel(4, { model, version }), rest);
  const bearer = options.networkBearer ?? NetworkBearer.ethernet;
  const values: Record<number, unknown> = {
    0: bearer,
    1: options.availableNetworkBearers ?? [bearer],
    2: options.radioSignalStrength ?? -70,
    3: options.linkQuality,
    4: options.ipAddresses ?? ['127.0.0.1'],
    5: options.routerIpAddresses,
    6: options.linkUtilization,
    7: options.apn,
    8: options.cellId,
    9: options.smnc,
    10: options.smcc,
  };
  object.addInstance(
    0,
    Object.fromEntries(
      Object.entries(values).filter(
        ([rid, v]) => v !== undefined && object.model.resources.has(Number(rid)),
      ),
    ) as never,
  );
  return object;
}
