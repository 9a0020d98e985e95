/**
 * `Fleet`: many simulated LwM2M devices in one process, for load tests (`lwm2m-client fleet`).
 *
 * Every device is a full `LwM2mClient` with its own UDP socket: it registers, sends its Updates,
 * answers the server's reads and writes and notifies its observers, like a lone client. What the
 * fleet adds is the load-test harness around them:
 *
 * - a ramp: Registers start at `rampPerSecond` (a token bucket, at most 50 ms of burst) with at
 *   most `concurrency` first Registers in flight; a device waiting in back-off gives its slot
 *   back, so an unreachable server does not stall the ramp on its first `concurrency` devices;
 * - sockets spread over local addresses: one UDP port per device, and a loopback address has
 *   only the ephemeral port range (~28,000 on Linux), so a fleet bigger than `perAddress` towards
 *   a loopback server binds on 127.0.0.1, 127.0.0.2, … (on Linux all of 127.0.0.0/8 is
 *   loopback);
 * - memory kept small: one `ObjectRegistry` shared by every device, devices created only when
 *   the ramp reaches them, shared event listeners (no closures per device), and one timer for
 *   all the simulated sensors, which ticks a slice of the devices at a time, instead of one
 *   interval per device;
 * - statistics: registered / failed / retrying counts, registration latency percentiles, Updates,
 *   re-registrations, requests served, heap in use and heap per device; `progress` events;
 * - `close()`: De-register every device with bounded concurrency and release every socket.
 */
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import {
  constants,
  type PerformanceEntry,
  PerformanceObserver,
  performance,
} from 'node:perf_hooks';
import type { LwM2mVersion } from '@lwm2m-ts/codecs';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import type { RetryPolicy } from './backoff.js';
import {
  type ClientLogger,
  type ClientServerOptions,
  LwM2mClient,
  type LwM2mClientOptions,
  type RegisteredEvent,
  type RequestEvent,
} from './client.js';
import type { ObjectEnabler } from './object-enabler.js';
import type { RetryInfo } from './registration-engine.js';
import { parseServerUri, type TransportCoapOptions } from './transport.js';

/** UDP ports one local address gives a fleet before it moves on to the next address. */
export const DEFAULT_PER_ADDRESS = 20_000;
/** Most local addresses the fleet spreads over by default (127.0.0.1 … 127.0.0.254). */
const MAX_DEFAULT_ADDRESSES = 254;

export interface FleetPskOptions {
  /**
   * PSK identity per device: `{ep}` (or `${ep}`) is replaced with the endpoint name and `{i}`
   * with the device index. Default `{ep}`.
   */
  readonly identity?: string;
  /** One key for every device. */
  readonly key: Uint8Array;
}

export interface FleetOptions {
  /** How many devices. */
  readonly count: number;
  readonly server: {
    /** `coap://host[:port]` or `coaps://host[:port]` (with `psk`). */
    readonly uri: string;
    readonly psk?: FleetPskOptions;
  };
  /** Endpoint names are `${endpointPrefix}${index}`. Default `fleet-`. */
  readonly endpointPrefix?: string;
  /** The first index (several fleets on one server use different ranges). Default 0. */
  readonly firstIndex?: number;
  /** Default 1.1. */
  readonly lwm2mVersion?: LwM2mVersion;
  /** Registration lifetime in seconds. Default 300. */
  readonly lifetime?: number;
  /** Registers started per second. Default 1000; `Infinity`: as fast as `concurrency` allows. */
  readonly rampPerSecond?: number;
  /** First Registers in flight at once. Default 200. */
  readonly concurrency?: number;
  /** De-registers in flight at once in `close()`. Default `concurrency`. */
  readonly closeConcurrency?: number;
  /**
   * Local addresses to bind, used in turn. Default: for a loopback server 127.0.0.1, and one
   * more address of 127.0.0.0/8 per `perAddress` devices; for any other server the wildcard
   * address (one address: at most the ephemeral port range of devices).
   */
  readonly addresses?: readonly string[];
  /** Devices per default local address. Default 20,000. */
  readonly perAddress?: number;
  /** Every device's Temperature (3303) takes a random step this often (ms); 0: never. Default 10 000. */
  readonly sensorIntervalMs?: number;
  /** `progress` events this often (ms) while the fleet runs; 0: none. Default 1000. */
  readonly progressIntervalMs?: number;
  /** Shared by every device. Default: one `ObjectRegistry.withBuiltins()`. */
  readonly registry?: ObjectRegistry;
  /** Extra objects of a device (added to, or replacing, the built-in ones). */
  readonly objects?: (endpoint: string, index: number) => readonly ObjectEnabler[];
  /** CoAP transmission parameters of every device. */
  readonly coapOptions?: TransportCoapOptions;
  /** Registration retry timing (see backoff.ts). Default: the client's. */
  readonly retry?: Partial<RetryPolicy>;
  /** Time limit of one Register or Update (ms). Default: the client's (30 s). */
  readonly requestTimeout?: number;
  /** Time limit of each device's DTLS handshake (ms). Default: the client's (10 s). */
  readonly dtlsHandshakeTimeout?: number;
  /** How long each De-register waits for its answer (ms). Default 5000. */
  readonly deregisterTimeout?: number;
  readonly logger?: ClientLogger;
}

/** A snapshot of the fleet. Latencies in ms; `undefined` before the first registration. */
export interface FleetStats {
  readonly count: number;
  /** Devices whose client was created and started. */
  readonly started: number;
  /** First Register in flight. */
  readonly registering: number;
  /** Registered now. */
  readonly registered: number;
  /** Waiting to register again (back-off after a failed Register, or registration lost). */
  readonly retrying: number;
  /** Failed for good (refused with 4.xx, retries used up, socket errors). */
  readonly failed: number;
  /** De-registers the server confirmed (2.02). */
  readonly deregistered: number;
  /** Devices whose client is closed (failed or `close()`d). */
  readonly closed: number;
  /** Updates sent and answered 2.04. */
  readonly updates: number;
  /** Registrations after the first one of a device (after a lost registration). */
  readonly reregistrations: number;
  /** Device-management requests the devices answered. */
  readonly requests: number;
  /** Sensor value changes simulated. */
  readonly sensorChanges: number;
  /** Time from `start()` to the first registration of a device. */
  readonly latency: {
    readonly samples: number;
    readonly p50: number | undefined;
    readonly p95: number | undefined;
    readonly p99: number | undefined;
    readonly max: number | undefined;
  };
  /** Since `start()`, ms. */
  readonly elapsedMs: number;
  /** `process.memoryUsage().heapUsed` now (garbage included), bytes. */
  readonly heapUsed: number;
  /** `heapUsed` right after the last full garbage collection since `start()`, if one ran. */
  readonly liveHeap: number | undefined;
  /**
   * Heap growth since `start()` per device alive (bytes): measured right after the last full
   * garbage collection when one ran (garbage then does not count), else now. `undefined` with
   * no device alive.
   */
  readonly heapPerDevice: number | undefined;
  /** `process.memoryUsage().arrayBuffers` growth (socket and CoAP buffers) per device alive. */
  readonly buffersPerDevice: number | undefined;
  /** Why devices failed: the first words of each error, with how many devices. */
  readonly failures: Readonly<Record<string, number>>;
}

export type FleetEvents = {
  /** Every `progressIntervalMs` while the fleet runs. */
  progress: [FleetStats];
  registered: [{ readonly endpoint: string; readonly index: number; readonly latencyMs: number }];
  failed: [{ readonly endpoint: string; readonly index: number; readonly error: Error }];
  retry: [{ readonly endpoint: string; readonly index: number; readonly info: RetryInfo }];
  /** Every device started and its first Register settled (registered, failed or retrying). */
  ramped: [FleetStats];
  closed: [FleetStats];
};

type DeviceState = 'registering' | 'registered' | 'retrying' | 'failed' | 'stopped';

interface Device {
  readonly index: number;
  /** Undefined when the client could not be built (counted as failed). */
  readonly client: LwM2mClient | undefined;
  state: DeviceState;
  /** The client is closed and its socket released. */
  closed: boolean;
  /** Holds a ramp slot (first Register in flight). */
  slot: boolean;
  /** Registered at least once. */
  registeredOnce: boolean;
  readonly startedAt: number;
  /** The sensor the shared scheduler steps, if the device has one. */
  sensor: { tick(): void } | undefined;
}

/** Distinct failure reasons kept in the stats. */
const MAX_FAILURE_REASONS = 20;

export class Fleet extends EventEmitter<FleetEvents> {
  readonly count: number;
  readonly #options: FleetOptions;
  readonly #prefix: string;
  readonly #firstIndex: number;
  readonly #rate: number;
  readonly #concurrency: number;
  readonly #closeConcurrency: number;
  readonly #addresses: readonly (string | undefined)[];
  readonly #registry: ObjectRegistry;
  readonly #sensorIntervalMs: number;
  readonly #progressIntervalMs: number;
  readonly #psk: { readonly identity: string; readonly key: Uint8Array } | undefined;
  /** The client options every device shares. */
  readonly #clientOptions: {
    readonly common: Omit<LwM2mClientOptions, 'endpoint'>;
    readonly server: ClientServerOptions;
    readonly locals: readonly { readonly address?: string }[];
  };

  /** Devices by position (0 … count − 1), created when the ramp reaches them. */
  readonly #devices: Device[] = [];
  readonly #byClient = new Map<LwM2mClient, Device>();
  readonly #latencies: Float64Array;
  #latencyCount = 0;
  #sortedLatencies: Float64Array | undefined;
  readonly #counts = {
    registering: 0,
    registered: 0,
    retrying: 0,
    failed: 0,
    closed: 0,
    deregistered: 0,
    updates: 0,
    reregistrations: 0,
    requests: 0,
    sensorChanges: 0,
  };
  readonly #failures = new Map<string, number>();
  #startedAt = 0;
  #heapBaseline = 0;
  /** Heap in use and devices alive right after the last full GC. */
  #afterGc: { readonly heap: number; readonly alive: number } | undefined;
  #gcObserver: PerformanceObserver | undefined;
  #buffersBaseline = 0;

  #state: 'new' | 'running' | 'closing' | 'closed' = 'new';
  #starting: Promise<FleetStats> | undefined;
  #closing: Promise<FleetStats> | undefined;
  #ramped: (() => void) | undefined;
  #tokens = 0;
  #tokensAt = 0;
  #rampTimer: NodeJS.Timeout | undefined;
  #sensorTimer: NodeJS.Timeout | undefined;
  #sensorSlice = 0;
  #sensorSlices = 1;
  #progressTimer: NodeJS.Timeout | undefined;

  constructor(options: FleetOptions) {
    super();
    const { count } = options;
    if (!(Number.isSafeInteger(count) && count >= 0)) {
      throw new RangeError(`count must be a whole number ≥ 0, got ${count}`);
    }
    const rate = options.rampPerSecond ?? 1000;
    if (!(rate > 0)) throw new RangeError(`rampPerSecond must be > 0, got ${rate}`);
    const concurrency = options.concurrency ?? 200;
    if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
      throw new RangeError(`concurrency must be a whole number ≥ 1, got ${concurrency}`);
    }
    const closeConcurrency = options.closeConcurrency ?? concurrency;
    if (!(Number.isInteger(closeConcurrency) && closeConcurrency >= 1)) {
      throw new RangeError(`closeConcurrency must be a whole number ≥ 1, got ${closeConcurrency}`);
    }
    const firstIndex = options.firstIndex ?? 0;
    if (!(Number.isSafeInteger(firstIndex) && firstIndex >= 0)) {
      throw new RangeError(`firstIndex must be a whole number ≥ 0, got ${firstIndex}`);
    }
    const sensorIntervalMs = options.sensorIntervalMs ?? 10_000;
    if (!(sensorIntervalMs >= 0 && Number.isFinite(sensorIntervalMs))) {
      throw new RangeError(`sensorIntervalMs must be ≥ 0, got ${sensorIntervalMs}`);
    }
    const progressIntervalMs = options.progressIntervalMs ?? 1000;
    if (!(progressIntervalMs >= 0 && Number.isFinite(progressIntervalMs))) {
      throw new RangeError(`progressIntervalMs must be ≥ 0, got ${progressIntervalMs}`);
    }
    const uri = parseServerUri(options.server.uri);
    if (uri.scheme === 'coaps' && options.server.psk === undefined) {
      throw new RangeError(`server ${options.server.uri}: coaps:// needs a PSK key for the fleet`);
    }
    this.count = count;
    this.#options = options;
    this.#prefix = options.endpointPrefix ?? 'fleet-';
    this.#firstIndex = firstIndex;
    this.#rate = rate;
    this.#concurrency = concurrency;
    this.#closeConcurrency = closeConcurrency;
    this.#addresses =
      options.addresses !== undefined && options.addresses.length > 0
        ? checkAddresses(options.addresses)
        : defaultAddresses(uri.host, count, options.perAddress ?? DEFAULT_PER_ADDRESS);
    this.#registry = options.registry ?? ObjectRegistry.withBuiltins();
    this.#sensorIntervalMs = sensorIntervalMs;
    this.#progressIntervalMs = progressIntervalMs;
    this.#psk =
      options.server.psk === undefined
        ? undefined
        : { identity: options.server.psk.identity ?? '{ep}', key: options.server.psk.key };
    this.#latencies = new Float64Array(count);
    this.#clientOptions = {
      common: {
        ...(options.lwm2mVersion !== undefined && { lwm2mVersion: options.lwm2mVersion }),
        registry: this.#registry,
        ...(options.coapOptions !== undefined && { coapOptions: options.coapOptions }),
        ...(options.requestTimeout !== undefined && { requestTimeout: options.requestTimeout }),
        ...(options.dtlsHandshakeTimeout !== undefined && {
          dtlsHandshakeTimeout: options.dtlsHandshakeTimeout,
        }),
        deregisterTimeout: options.deregisterTimeout ?? 5000,
        ...(options.logger !== undefined && { logger: options.logger }),
      },
      server: {
        uri: options.server.uri,
        ...(options.lifetime !== undefined && { lifetime: options.lifetime }),
        ...(options.retry !== undefined && { retry: options.retry }),
      },
      locals: this.#addresses.map((address) => (address === undefined ? {} : { address })),
    };
  }

  /** The local addresses devices bind, in the order they are handed out. */
  get addresses(): readonly (string | undefined)[] {
    return this.#addresses;
  }

  /** The endpoint name of the device at `position` (0 … count − 1). */
  endpointName(position: number): string {
    return `${this.#prefix}${this.#firstIndex + position}`;
  }

  /** The client of the device at `position`, once the ramp has started it. */
  client(position: number): LwM2mClient | undefined {
    return this.#devices[position]?.client;
  }

  /**
   * Starts the ramp. Resolves once every device has started and its first Register has settled
   * (registered, failed, or waiting to retry), or when `close()` interrupts the ramp.
   */
  start(): Promise<FleetStats> {
    if (this.#starting !== undefined) return this.#starting;
    if (this.#state === 'closing' || this.#state === 'closed') {
      return Promise.reject(new Error('the fleet is closed'));
    }
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<FleetStats> {
    this.#state = 'running';
    const mem = process.memoryUsage();
    this.#heapBaseline = mem.heapUsed;
    this.#buffersBaseline = mem.arrayBuffers;
    this.#startedAt = performance.now();
    this.#tokensAt = this.#startedAt;
    this.#tokens = 1;
    if (this.#progressIntervalMs > 0) {
      this.#progressTimer = setInterval(
        () => this.emit('progress', this.stats()),
        this.#progressIntervalMs,
      );
      this.#progressTimer.unref();
    }
    if (this.#sensorIntervalMs > 0) this.#startSensors();
    this.#watchGc();
    const done = new Promise<void>((resolve) => {
      this.#ramped = resolve;
    });
    this.#pump();
    await done;
    const stats = this.stats();
    if (this.#state === 'running') this.emit('ramped', stats);
    return stats;
  }

  /** A snapshot of counts, latencies and memory. */
  stats(): FleetStats {
    const c = this.#counts;
    const mem = process.memoryUsage();
    const alive = this.#devices.length - c.closed;
    const sorted = this.#sorted();
    const n = sorted.length;
    return {
      count: this.count,
      started: this.#devices.length,
      registering: c.registering,
      registered: c.registered,
      retrying: c.retrying,
      failed: c.failed,
      deregistered: c.deregistered,
      closed: c.closed,
      updates: c.updates,
      reregistrations: c.reregistrations,
      requests: c.requests,
      sensorChanges: c.sensorChanges,
      latency: {
        samples: n,
        p50: percentile(sorted, 0.5),
        p95: percentile(sorted, 0.95),
        p99: percentile(sorted, 0.99),
        max: n === 0 ? undefined : sorted[n - 1],
      },
      elapsedMs: this.#startedAt === 0 ? 0 : performance.now() - this.#startedAt,
      heapUsed: mem.heapUsed,
      liveHeap: this.#afterGc?.heap,
      heapPerDevice: this.#heapPerDevice(mem.heapUsed, alive),
      buffersPerDevice:
        alive > 0 ? Math.max(0, mem.arrayBuffers - this.#buffersBaseline) / alive : undefined,
      failures: Object.fromEntries(this.#failures),
    };
  }

  /**
   * Stops the ramp and the sensors, De-registers every registered device (at most
   * `closeConcurrency` at once) and closes every socket. Resolves with the final stats once
   * everything is released. Idempotent.
   */
  close(): Promise<FleetStats> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<FleetStats> {
    this.#state = 'closing';
    clearTimeout(this.#rampTimer);
    this.#rampTimer = undefined;
    clearInterval(this.#sensorTimer);
    this.#sensorTimer = undefined;
    clearInterval(this.#progressTimer);
    this.#progressTimer = undefined;
    // Memory per device stays as measured with the devices alive.
    this.#gcObserver?.disconnect();
    this.#gcObserver = undefined;
    // A start() waiting for the ramp resolves now (with what has started).
    this.#ramped?.();
    let next = 0;
    const devices = this.#devices;
    const worker = async () => {
      while (next < devices.length) {
        const d = devices[next++]!;
        await this.#closeDevice(d);
      }
    };
    const workers = Math.min(this.#closeConcurrency, devices.length);
    await Promise.all(Array.from({ length: workers }, worker));
    this.#state = 'closed';
    const stats = this.stats();
    this.emit('closed', stats);
    return stats;
  }

  // --- the ramp --------------------------------------------------------------------------------

  /** Starts as many devices as the token bucket and the free slots allow, then waits. */
  #pump(): void {
    if (this.#state !== 'running') return;
    this.#rampTimer = undefined;
    const now = performance.now();
    if (Number.isFinite(this.#rate)) {
      const burst = Math.max(1, this.#rate / 20);
      this.#tokens = Math.min(burst, this.#tokens + ((now - this.#tokensAt) * this.#rate) / 1000);
    } else {
      this.#tokens = Number.POSITIVE_INFINITY;
    }
    this.#tokensAt = now;
    while (
      this.#devices.length < this.count &&
      this.#tokens >= 1 &&
      this.#counts.registering < this.#concurrency
    ) {
      this.#tokens -= 1;
      this.#launch(this.#devices.length);
    }
    if (this.#devices.length >= this.count) {
      if (this.#counts.registering === 0) this.#ramped?.();
      return;
    }
    // Out of slots: a settling Register calls #pump again. Out of tokens: wait for the next one.
    if (this.#counts.registering < this.#concurrency) {
      const wait = Math.max(1, Math.ceil(((1 - this.#tokens) * 1000) / this.#rate));
      this.#rampTimer = setTimeout(() => this.#pump(), wait);
    }
  }

  #launch(position: number): void {
    const index = this.#firstIndex + position;
    const endpoint = `${this.#prefix}${index}`;
    const o = this.#options;
    const psk = this.#psk;
    const shared = this.#clientOptions;
    let client: LwM2mClient;
    try {
      // What every device has alike is made once (clients keep their options: shared, they
      // cost a device nothing).
      client = new LwM2mClient({
        ...shared.common,
        endpoint,
        server:
          psk === undefined
            ? shared.server
            : {
                ...shared.server,
                psk: { identity: pskIdentity(psk.identity, endpoint, index), key: psk.key },
              },
        local: shared.locals[position % shared.locals.length]!,
        ...(o.objects !== undefined && { objects: o.objects(endpoint, index) }),
      });
    } catch (err) {
      // A bad option hits every device alike: count it like a failed Register.
      const error = toError(err);
      this.#noteFailure(error);
      this.#counts.failed++;
      this.#counts.closed++;
      this.#devices.push({
        index,
        client: undefined,
        state: 'failed',
        closed: true,
        slot: false,
        registeredOnce: false,
        startedAt: 0,
        sensor: undefined,
      });
      this.emit('failed', { endpoint, index, error });
      return;
    }
    const device: Device = {
      index,
      client,
      state: 'registering',
      closed: false,
      slot: true,
      registeredOnce: false,
      startedAt: performance.now(),
      sensor: undefined,
    };
    this.#devices.push(device);
    this.#byClient.set(client, device);
    this.#counts.registering++;
    client.on('registered', this.#onRegistered);
    client.on('retry', this.#onRetry);
    client.on('registrationLost', this.#onLost);
    client.on('updated', this.#onUpdated);
    client.on('deregistered', this.#onDeregistered);
    client.on('request', this.#onRequest);
    client.on('error', this.#onError);
    client.start().then(NOOP, (err: unknown) => this.#startFailed(device, toError(err)));
  }

  /** Releases the ramp slot of a device whose first Register settled. */
  #release(d: Device): void {
    if (!d.slot) return;
    d.slot = false;
    this.#counts.registering--;
    if (this.#state !== 'running') return;
    if (this.#rampTimer === undefined) this.#pump();
    else if (this.#devices.length >= this.count && this.#counts.registering === 0) this.#ramped?.();
  }

  #setState(d: Device, state: DeviceState): void {
    const c = this.#counts;
    if (d.state === 'registered') c.registered--;
    else if (d.state === 'retrying') c.retrying--;
    d.state = state;
    if (state === 'registered') c.registered++;
    else if (state === 'retrying') c.retrying++;
    else if (state === 'failed') c.failed++;
  }

  // Shared listeners: `this` of an EventEmitter listener is the emitter, here the client, so no
  // device needs closures of its own.
  readonly #onRegistered = ((fleet: Fleet) =>
    function (this: LwM2mClient, _reg: RegisteredEvent): void {
      const d = fleet.#byClient.get(this);
      if (d === undefined || d.closed || d.state === 'failed') return;
      if (d.registeredOnce) {
        fleet.#counts.reregistrations++;
      } else {
        d.registeredOnce = true;
        const latencyMs = performance.now() - d.startedAt;
        fleet.#latencies[fleet.#latencyCount++] = latencyMs;
        fleet.#sortedLatencies = undefined;
        // Looking the sensor up builds the object (built-in objects are built at first use).
        if (fleet.#sensorIntervalMs > 0) d.sensor = sensorOf(this);
        fleet.#setState(d, 'registered');
        fleet.#release(d);
        fleet.emit('registered', { endpoint: this.endpointName, index: d.index, latencyMs });
        return;
      }
      fleet.#setState(d, 'registered');
    })(this);

  readonly #onRetry = ((fleet: Fleet) =>
    function (this: LwM2mClient, info: RetryInfo): void {
      const d = fleet.#byClient.get(this);
      if (d === undefined || d.closed || d.state === 'failed') return;
      fleet.#setState(d, 'retrying');
      fleet.#release(d);
      fleet.emit('retry', { endpoint: this.endpointName, index: d.index, info });
    })(this);

  readonly #onLost = ((fleet: Fleet) =>
    function (this: LwM2mClient): void {
      const d = fleet.#byClient.get(this);
      if (d !== undefined && d.state === 'registered') fleet.#setState(d, 'retrying');
    })(this);

  readonly #onUpdated = ((fleet: Fleet) => (): void => {
    fleet.#counts.updates++;
  })(this);

  readonly #onDeregistered = (
    (fleet: Fleet) =>
    (d: { readonly confirmed: boolean }): void => {
      if (d.confirmed) fleet.#counts.deregistered++;
    }
  )(this);

  readonly #onRequest = (
    (fleet: Fleet) =>
    (_r: RequestEvent): void => {
      fleet.#counts.requests++;
    }
  )(this);

  readonly #onError = ((fleet: Fleet) =>
    function (this: LwM2mClient, err: Error): void {
      fleet.#options.logger?.warn({ err, endpoint: this.endpointName }, 'fleet device error');
    })(this);

  #startFailed(d: Device, error: Error): void {
    if (d.closed || d.state === 'stopped') return;
    if (this.#state === 'closing' || this.#state === 'closed') {
      // close() aborted the Register: not a failure of the device.
      this.#release(d);
      return;
    }
    this.#noteFailure(error);
    this.#setState(d, 'failed');
    this.#release(d);
    this.emit('failed', {
      endpoint: this.endpointName(d.index - this.#firstIndex),
      index: d.index,
      error,
    });
    // Give the socket back at once; the device stays counted as failed.
    void this.#closeDevice(d);
  }

  /** Closes a device's client (De-register first when registered); counts it closed once. */
  async #closeDevice(d: Device): Promise<void> {
    const client = d.client;
    if (client === undefined || d.closed) return;
    try {
      await client.close();
    } catch (err) {
      this.#options.logger?.warn({ err: toError(err) }, 'fleet device close failed');
    }
    if (d.closed) return;
    d.closed = true;
    d.sensor = undefined;
    client.removeAllListeners();
    this.#byClient.delete(client);
    if (d.state !== 'failed') this.#setState(d, 'stopped');
    this.#counts.closed++;
    this.#release(d);
  }

  #noteFailure(error: Error): void {
    const reason = failureReason(error);
    const known = this.#failures.get(reason);
    if (known !== undefined) this.#failures.set(reason, known + 1);
    else if (this.#failures.size < MAX_FAILURE_REASONS) this.#failures.set(reason, 1);
    else this.#failures.set('other', (this.#failures.get('other') ?? 0) + 1);
  }

  // --- sensors ---------------------------------------------------------------------------------

  /**
   * One timer for every device: it fires every `sensorIntervalMs / slices` and steps the sensors
   * of one slice of the devices (every `slices`-th device), so each device's value changes once
   * per `sensorIntervalMs` and the work is spread evenly instead of all at once.
   */
  #startSensors(): void {
    const period = Math.min(this.#sensorIntervalMs, 100);
    this.#sensorSlices = Math.max(1, Math.round(this.#sensorIntervalMs / period));
    this.#sensorTimer = setInterval(() => this.#tickSensors(), period);
    this.#sensorTimer.unref();
  }

  #tickSensors(): void {
    const slice = this.#sensorSlice;
    this.#sensorSlice = (slice + 1) % this.#sensorSlices;
    const devices = this.#devices;
    for (let i = slice; i < devices.length; i += this.#sensorSlices) {
      const d = devices[i]!;
      if (d.state !== 'registered' || d.sensor === undefined) continue;
      try {
        d.sensor.tick();
        this.#counts.sensorChanges++;
      } catch (err) {
        this.#options.logger?.warn({ err: toError(err) }, 'fleet sensor step failed');
      }
    }
  }

  /** Samples the heap after every full GC: a figure without garbage in it. */
  #watchGc(): void {
    const major = constants.NODE_PERFORMANCE_GC_MAJOR;
    this.#gcObserver = new PerformanceObserver((list) => {
      const full = list
        .getEntries()
        .some(
          (e: PerformanceEntry) => (e as { detail?: { kind?: number } }).detail?.kind === major,
        );
      if (!full || this.#state !== 'running') return;
      this.#afterGc = {
        heap: process.memoryUsage().heapUsed,
        alive: this.#devices.length - this.#counts.closed,
      };
    });
    this.#gcObserver.observe({ entryTypes: ['gc'] });
  }

  #heapPerDevice(heapNow: number, aliveNow: number): number | undefined {
    const gc = this.#afterGc;
    // After GC, but only while the fleet is about as big as then (not early in the ramp).
    if (gc !== undefined && gc.alive > 0 && gc.alive >= aliveNow * 0.9) {
      return Math.max(0, gc.heap - this.#heapBaseline) / gc.alive;
    }
    return aliveNow > 0 ? Math.max(0, heapNow - this.#heapBaseline) / aliveNow : undefined;
  }

  #sorted(): Float64Array {
    if (this.#sortedLatencies === undefined) {
      this.#sortedLatencies = this.#latencies.slice(0, this.#latencyCount).sort();
    }
    return this.#sortedLatencies;
  }
}

const NOOP = (): void => {};

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** The simulated temperature (3303) of a client, when it has one that can step. */
function sensorOf(client: LwM2mClient): { tick(): void } | undefined {
  const e = client.tree.get(3303) as { tick?: unknown } | undefined;
  return typeof e?.tick === 'function' ? (e as { tick(): void }) : undefined;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: ArrayLike<number>, q: number): number | undefined {
  const n = sorted.length;
  if (n === 0) return undefined;
  const rank = Math.min(n, Math.max(1, Math.ceil(q * n)));
  return sorted[rank - 1];
}

/** `{ep}`, `${ep}` → endpoint name; `{i}`, `${i}` → index. */
export function pskIdentity(pattern: string, endpoint: string, index: number): string {
  return pattern.replace(/\$?\{(ep|i)\}/g, (_m, name: string) =>
    name === 'ep' ? endpoint : String(index),
  );
}

/** A short, stable reason for the failure counts: the error code, else the first words. */
function failureReason(err: Error): string {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  const coap = (err as { coapCode?: unknown }).coapCode;
  const message = err.message.replace(/\s+/g, ' ').slice(0, 60);
  return typeof coap === 'string' && !message.includes(coap) ? `${coap} ${message}` : message;
}

function checkAddresses(addresses: readonly string[]): string[] {
  for (const a of addresses) {
    if (isIP(a) === 0)
      throw new RangeError(`local address ${JSON.stringify(a)} is not an IP address`);
  }
  return [...addresses];
}

function isLoopbackV4(host: string): boolean {
  return host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.'));
}

/**
 * For a loopback IPv4 server: 127.0.0.1, then 127.0.0.2 … one more address per `perAddress`
 * devices. `::1` for an IPv6 loopback server. Otherwise the wildcard address.
 */
export function defaultAddresses(
  serverHost: string,
  count: number,
  perAddress = DEFAULT_PER_ADDRESS,
): (string | undefined)[] {
  if (!(Number.isInteger(perAddress) && perAddress >= 1)) {
    throw new RangeError(`perAddress must be a whole number ≥ 1, got ${perAddress}`);
  }
  if (serverHost === '::1') return ['::1'];
  if (!isLoopbackV4(serverHost)) return [undefined];
  const n = Math.min(MAX_DEFAULT_ADDRESSES, Math.max(1, Math.ceil(count / perAddress)));
  return Array.from({ length: n }, (_, i) => `127.0.0.${i + 1}`);
}
