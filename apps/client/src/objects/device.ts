import { InvalidValueError } from '@lwm2m-ts/core';
import {
  chooseModel,
  InstanceObject,
  type InstanceObjectOptions,
  type ModelChoice,
} from '../instance-object.js';
import type { MaybePromise } from '../object-enabler.js';

/** Available Power Sources, resource 3/0/6 (object 3 DDF). */
export const PowerSource = {
  dc: 0,
  internalBattery: 1,
  externalBattery: 2,
  fuelCell: 3,
  powerOverEthernet: 4,
  usb: 5,
  ac: 6,
  solar: 7,
} as const;

export interface PowerSourceInfo {
  readonly type: number;
  /** mV (resource 7). */
  readonly voltage?: number;
  /** mA (resource 8). */
  readonly current?: number;
}

export interface DeviceOptions extends ModelChoice {
  readonly manufacturer?: string;
  readonly modelNumber?: string;
  readonly serialNumber?: string;
  readonly firmwareVersion?: string;
  readonly hardwareVersion?: string;
  readonly softwareVersion?: string;
  readonly deviceType?: string;
  /** Resource 16, e.g. `U`, `UQ`. Default `U`. */
  readonly supportedBindings?: string;
  readonly powerSources?: readonly PowerSourceInfo[];
  /** Percent (resource 9); the battery simulation drains it. */
  readonly batteryLevel?: number;
  /** KB (resources 10 and 21). */
  readonly memoryFree?: number;
  readonly memoryTotal?: number;
  /** Resource 14, `+01:00`. Default: the host's offset now. */
  readonly utcOffset?: string;
  /** Resource 15, an IANA zone. Default: the host's. */
  readonly timezone?: string;
  /** Resource 11 (0 = no error). Default `[0]`. */
  readonly errorCodes?: readonly number[];
  /** /3/0/4 Reboot: the client answers 2.04 first, then calls this. */
  readonly onReboot?: () => MaybePromise<void>;
  /** /3/0/5 Factory Reset. */
  readonly onFactoryReset?: () => MaybePromise<void>;
  /**
   * Where a failing Reboot / Factory Reset hook is reported (it runs after the response, so it
   * cannot fail the request). Default: a process warning.
   */
  readonly onHookError?: (err: unknown) => void;
  /** Clock in ms since 1970 (tests). Default `Date.now`. */
  readonly now?: () => number;
  readonly onWrite?: InstanceObjectOptions['onWrite'];
}

function hostUtcOffset(date: Date): string {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/**
 * The host's IANA time zone. `Intl` takes tens of µs to say it, which a fleet would pay per
 * device: it is asked once per value of `TZ` (the variable that changes it in a running process).
 */
function hostTimeZone(): string {
  const tz = process.env.TZ;
  if (zoneCache === undefined || zoneCache.tz !== tz) {
    zoneCache = { tz, zone: Intl.DateTimeFormat().resolvedOptions().timeZone };
  }
  return zoneCache.zone;
}
let zoneCache: { readonly tz: string | undefined; readonly zone: string } | undefined;

/**
 * The Device object (3), single instance 0. Current Time (/3/0/13) is the host clock plus an
 * offset: a server writing it sets the offset (Core TS 1.2 Appendix E.4 makes it writable so a
 * server can correct the device's clock). Reboot and Factory Reset run hooks after the 2.04 is
 * sent, as a real device would answer before restarting. Error codes are a multiple resource
 * holding 0 when there is no error; Reset Error Code (/3/0/12) clears them.
 */
export class DeviceObject extends InstanceObject {
  readonly #now: () => number;
  #clockOffsetMs = 0;

  constructor(options: DeviceOptions = {}) {
    const now = options.now ?? Date.now;
    const report =
      options.onHookError ??
      ((err: unknown) => process.emitWarning(`device hook failed: ${String(err)}`));
    const afterResponse = (hook: (() => MaybePromise<void>) | undefined) => () => {
      // The 2.04 must leave before the device "restarts": run the hook on the next turn.
      if (hook !== undefined) setImmediate(() => Promise.resolve().then(hook).catch(report));
    };
    super(chooseModel(3, options), {
      onExecute: {
        4: afterResponse(options.onReboot),
        5: afterResponse(options.onFactoryReset),
        12: () => this!.clearErrorCodes(),
      },
      onRead: { 13: () => this!.currentTime() },
      onWrite: async (instanceId, resources, mode, origin) => {
        await options.onWrite?.(instanceId, resources, mode, origin);
        const time = resources.find((r) => r.id === 13);
        if (time?.kind === 'singleResource' && time.type === 'time') {
          this!.#clockOffsetMs = time.value.getTime() - this!.#now();
        }
      },
    });
    this.#now = now;
    const values: Record<number, unknown> = {
      0: options.manufacturer,
      1: options.modelNumber,
      2: options.serialNumber,
      3: options.firmwareVersion,
      9: options.batteryLevel,
      10: options.memoryFree,
      11: options.errorCodes ?? [0],
      14: options.utcOffset ?? hostUtcOffset(new Date(now())),
      15: options.timezone ?? hostTimeZone(),
      16: options.supportedBindings ?? 'U',
      17: options.deviceType,
      18: options.hardwareVersion,
      19: options.softwareVersion,
      21: options.memoryTotal,
    };
    if (options.powerSources !== undefined) {
      const sources = options.powerSources;
      values[6] = sources.map((s) => s.type);
      if (sources.some((s) => s.voltage !== undefined))
        values[7] = sources.map((s) => s.voltage ?? 0);
      if (sources.some((s) => s.current !== undefined))
        values[8] = sources.map((s) => s.current ?? 0);
    }
    const present = Object.fromEntries(
      Object.entries(values).filter(
        ([rid, v]) => v !== undefined && this.model.resources.has(Number(rid)),
      ),
    );
    this.addInstance(0, present as never);
  }

  /** The device's clock: the host's plus what a server's write of /3/0/13 set. */
  currentTime(): Date {
    return new Date(this.#now() + this.#clockOffsetMs);
  }

  /** Adds an error code (1..32) to /3/0/11, replacing the "no error" 0. */
  addErrorCode(code: number): void {
    if (!Number.isInteger(code) || code < 1 || code > 32) {
      throw new InvalidValueError(`error code ${code} is not in 1..32`);
    }
    const current = this.get(0, 11);
    const codes = current instanceof Map ? [...current.values()].map(Number) : [];
    const next = [...codes.filter((c) => c !== 0 && c !== code), code];
    this.set(0, 11, next);
  }

  clearErrorCodes(): void {
    this.set(0, 11, [0]);
  }

  setBatteryLevel(percent: number): void {
    this.set(0, 9, Math.max(0, Math.min(100, Math.round(percent))));
  }

  /**
   * Simulates the battery: one percent less every `intervalMs`, back to 100 when empty (a
   * recharge). Stopped by `stop()` or `close()`.
   */
  start(intervalMs: number): void {
    const level = this.get(0, 9);
    if (typeof level !== 'bigint') this.setBatteryLevel(100);
    this.startTicker(intervalMs, () => {
      const current = Number(this.get(0, 9) ?? 100n);
      this.setBatteryLevel(current <= 0 ? 100 : current - 1);
    });
  }

  stop(): void {
    this.stopTicker();
  }
}

/** The Device object (3) with these values and hooks. */
export function deviceObject(options: DeviceOptions = {}): DeviceObject {
  return new DeviceObject(options);
}
