import { InvalidValueError, type ObjectModel } from '@lwm2m-ts/core';
import { chooseModel, InstanceObject, type ModelChoice } from '../instance-object.js';

// IPSO resource ids shared by the sensor objects (3300, 3303, …).
const SENSOR_VALUE = 5700;
const MIN_MEASURED = 5601;
const MAX_MEASURED = 5602;
const MIN_RANGE = 5603;
const MAX_RANGE = 5604;
const RESET_MIN_MAX = 5605;
const UNITS = 5701;
const APPLICATION_TYPE = 5750;
const SENSOR_TYPE = 5751;
const TIMESTAMP = 5518;

/** One sensor instance. */
export interface SensorOptions {
  /** Default: the next free id. */
  readonly instanceId?: number;
  /** The first value. Default: the middle of the range. */
  readonly value?: number;
  /** Min and Max Range Value (5603/5604): the simulation stays inside. */
  readonly minRange?: number;
  readonly maxRange?: number;
  /** Largest change per simulation tick. Default 2 % of the range. */
  readonly step?: number;
  /** Sensor Units (5701). */
  readonly units?: string;
  /** Application Type (5750). */
  readonly applicationType?: string;
  /** Sensor Type (5751, Generic Sensor only). */
  readonly sensorType?: string;
}

export interface SensorObjectOptions extends ModelChoice {
  /** Random numbers in [0, 1) for the simulation (tests pass a seeded one). Default `Math.random`. */
  readonly random?: () => number;
  /** Clock in ms since 1970, for the Timestamp resource. Default `Date.now`. */
  readonly now?: () => number;
}

interface Walk {
  readonly min: number;
  readonly max: number;
  readonly step: number;
}

/**
 * An IPSO sensor object (3300 Generic Sensor, 3303 Temperature, and others sharing resources
 * 5700–5605): `setValue` records a measurement and keeps Min/Max Measured Value (5601/5602) and
 * the Timestamp (5518) up to date; executing 5605 resets min and max to the current value.
 * `start(intervalMs)` runs a random walk within each instance's range, through `setValue`, so
 * observers see every change; `stop()` or `close()` ends it.
 */
export class SensorObject extends InstanceObject {
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #walks = new Map<number, Walk>();

  constructor(
    model: ObjectModel,
    sensors: readonly SensorOptions[],
    options: SensorObjectOptions = {},
  ) {
    super(model, { onExecute: { [RESET_MIN_MAX]: (instanceId) => this!.resetMinMax(instanceId) } });
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
    for (const sensor of sensors) this.addSensor(sensor);
  }

  /** Adds a sensor instance; returns its id. */
  addSensor(sensor: SensorOptions = {}): number {
    let id = sensor.instanceId;
    if (id === undefined) {
      const used = new Set(this.instanceIds());
      id = 0;
      while (used.has(id)) id++;
    }
    const min = sensor.minRange ?? 0;
    const max = sensor.maxRange ?? 100;
    if (!(min < max)) throw new InvalidValueError(`sensor range ${min}..${max} is empty`);
    const value = sensor.value ?? (min + max) / 2;
    const values: Record<number, number | string> = {
      [MIN_RANGE]: min,
      [MAX_RANGE]: max,
    };
    if (sensor.units !== undefined) values[UNITS] = sensor.units;
    if (sensor.applicationType !== undefined) values[APPLICATION_TYPE] = sensor.applicationType;
    if (sensor.sensorType !== undefined) values[SENSOR_TYPE] = sensor.sensorType;
    this.addInstance(id, this.#known(values));
    this.#walks.set(id, { min, max, step: sensor.step ?? (max - min) / 50 });
    this.setValue(id, value);
    return id;
  }

  /** Records a measurement. */
  setValue(instanceId: number, value: number): void {
    if (!Number.isFinite(value)) throw new InvalidValueError(`sensor value ${value} is not finite`);
    const min = this.get(instanceId, MIN_MEASURED);
    const max = this.get(instanceId, MAX_MEASURED);
    const values: Record<number, number | Date> = {
      [SENSOR_VALUE]: value,
      [MIN_MEASURED]: typeof min === 'number' ? Math.min(min, value) : value,
      [MAX_MEASURED]: typeof max === 'number' ? Math.max(max, value) : value,
      [TIMESTAMP]: new Date(this.#now()),
    };
    this.setMany(instanceId, this.#known(values));
  }

  value(instanceId: number): number | undefined {
    const v = this.get(instanceId, SENSOR_VALUE);
    return typeof v === 'number' ? v : undefined;
  }

  /** 5605: Min and Max Measured Value start again from the current value. */
  resetMinMax(instanceId: number): void {
    const value = this.value(instanceId);
    if (value === undefined) return;
    this.setMany(instanceId, this.#known({ [MIN_MEASURED]: value, [MAX_MEASURED]: value }));
  }

  /** One random-walk step for every instance: ± up to `step`, kept inside the range. */
  tick(): void {
    for (const [id, walk] of this.#walks) {
      if (!this.instanceIds().includes(id)) continue;
      const current = this.value(id) ?? (walk.min + walk.max) / 2;
      const next = current + (this.#random() * 2 - 1) * walk.step;
      const bounded = Math.min(walk.max, Math.max(walk.min, next));
      this.setValue(id, Math.round(bounded * 100) / 100);
    }
  }

  start(intervalMs: number): void {
    this.startTicker(intervalMs, () => this.tick());
  }

  stop(): void {
    this.stopTicker();
  }

  /** Only the resources this object's model (and version) defines. */
  #known<V>(values: Record<number, V>): Record<number, V> {
    return Object.fromEntries(
      Object.entries(values).filter(([rid]) => this.model.resources.has(Number(rid))),
    ) as Record<number, V>;
  }
}

function list(
  sensors: SensorOptions | readonly SensorOptions[] | undefined,
): readonly SensorOptions[] {
  if (sensors === undefined) return [{}];
  return Array.isArray(sensors) ? sensors : [sensors as SensorOptions];
}

/** Temperature (3303): °C (`Cel`), -40..85 unless given. */
export function temperatureSensor(
  sensors?: SensorOptions | readonly SensorOptions[],
  options: SensorObjectOptions = {},
): SensorObject {
  const withDefaults = list(sensors).map((s) => ({
    units: 'Cel',
    minRange: -40,
    maxRange: 85,
    step: 0.5,
    // Room temperature, unless a range of its own says where the sensor lives.
    ...(s.minRange === undefined && s.maxRange === undefined ? { value: 21 } : {}),
    ...s,
  }));
  return new SensorObject(chooseModel(3303, options), withDefaults, options);
}

/** Generic Sensor (3300): 0..100 unless given. */
export function genericSensor(
  sensors?: SensorOptions | readonly SensorOptions[],
  options: SensorObjectOptions = {},
): SensorObject {
  return new SensorObject(chooseModel(3300, options), list(sensors), options);
}
