import { InvalidValueError } from '@lwm2m-ts/core';
import { chooseModel, InstanceObject, type ModelChoice } from '../instance-object.js';

export interface LocationOptions extends ModelChoice {
  /** Degrees, -90..90. */
  readonly latitude: number;
  /** Degrees, -180..180. */
  readonly longitude: number;
  /** Metres. */
  readonly altitude?: number;
  /** Uncertainty radius in metres. */
  readonly radius?: number;
  /** m/s: how fast the simulation moves the device. Default 0 (standing still). */
  readonly speed?: number;
  /** Degrees clockwise from north: which way it moves. Default 0. */
  readonly heading?: number;
  /** Clock in ms since 1970 (tests). Default `Date.now`. */
  readonly now?: () => number;
}

/** Metres per degree of latitude (mean Earth radius 6 371 km). */
const METRES_PER_DEGREE = (Math.PI * 6_371_000) / 180;

/**
 * The Location object (6), single instance 0: latitude, longitude, altitude, radius, speed and
 * the time of the fix. `moveTo` sets a new fix; `start(intervalMs)` moves the device along its
 * heading at its speed, one fix per tick (timer owned by the object: `stop()`/`close()`).
 */
export class LocationObject extends InstanceObject {
  readonly #now: () => number;
  #speed: number;
  #heading: number;

  constructor(options: LocationOptions) {
    super(chooseModel(6, options));
    this.#now = options.now ?? Date.now;
    this.#speed = options.speed ?? 0;
    this.#heading = options.heading ?? 0;
    this.addInstance(0, {});
    this.moveTo(options.latitude, options.longitude, options.altitude);
    const extra: Record<number, number> = {};
    if (options.radius !== undefined) extra[3] = options.radius;
    if (this.model.resources.has(6)) extra[6] = this.#speed;
    this.setMany(0, extra);
  }

  /** A new fix at these coordinates, timestamped now. */
  moveTo(latitude: number, longitude: number, altitude?: number): void {
    if (!(latitude >= -90 && latitude <= 90)) {
      throw new InvalidValueError(`latitude ${latitude} is not in -90..90`);
    }
    if (!(longitude >= -180 && longitude <= 180)) {
      throw new InvalidValueError(`longitude ${longitude} is not in -180..180`);
    }
    const values: Record<number, number | Date> = {
      0: latitude,
      1: longitude,
      5: new Date(this.#now()),
    };
    if (altitude !== undefined) values[2] = altitude;
    this.setMany(0, values);
  }

  get latitude(): number {
    return this.get(0, 0) as number;
  }

  get longitude(): number {
    return this.get(0, 1) as number;
  }

  /** Sets how the simulation moves the device. */
  setMotion(speed: number, heading: number): void {
    if (!(speed >= 0)) throw new InvalidValueError(`speed ${speed} is not ≥ 0`);
    this.#speed = speed;
    this.#heading = heading;
    if (this.model.resources.has(6)) this.set(0, 6, speed);
  }

  /** Moves along the heading at the speed every `intervalMs`. */
  start(intervalMs: number): void {
    this.startTicker(intervalMs, () => {
      const distance = (this.#speed * intervalMs) / 1000;
      const rad = (this.#heading * Math.PI) / 180;
      let lat = this.latitude + (distance * Math.cos(rad)) / METRES_PER_DEGREE;
      const cosLat = Math.max(Math.cos((lat * Math.PI) / 180), 1e-6);
      let lon = this.longitude + (distance * Math.sin(rad)) / (METRES_PER_DEGREE * cosLat);
      // Past a pole or the antimeridian: fold back into range.
      if (lat > 90) lat = 180 - lat;
      if (lat < -90) lat = -180 - lat;
      lon = ((((lon + 180) % 360) + 360) % 360) - 180;
      this.moveTo(lat, lon);
    });
  }

  stop(): void {
    this.stopTicker();
  }
}

export function locationObject(options: LocationOptions): LocationObject {
  return new LocationObject(options);
}
