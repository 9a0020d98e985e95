/**
 * The Firmware Update object (5) on the device: the State / Update Result machine of Core TS 1.2
 * Appendix E.6 and the object's DDF (version 1.2), with push delivery (Write of the Package,
 * /5/0/0, which the CoAP layer has reassembled from its Block1 transfer) and pull delivery (Write
 * of a `coap://` or `coaps://` Package URI, /5/0/1, downloaded in the background), Update
 * (/5/0/2) through the user's `apply` hook, and Cancel (/5/0/10).
 *
 * State (/5/0/3) and Update Result (/5/0/5) change only through this class, and every change is
 * told to `onChange` listeners, so a server observing them during an update is notified.
 *
 * Decisions where the spec leaves room (each marked `Decision:` below):
 * - a Package or Package URI write that would start a delivery is accepted in Idle only (4.05
 *   otherwise); an empty one (reset) in any state but Updating;
 * - Update outside Downloaded, and Cancel outside Downloading/Downloaded, answer 4.05;
 * - an `apply` failure goes back to Downloaded with result 8 (or the result of the
 *   `FirmwareUpdateError` it threw), or to Idle for results 5 and 6 (the package itself is bad,
 *   so it is dropped);
 * - a failed download or check goes to Idle with its result; a bad or unsupported URI leaves the
 *   state Idle and sets 7 or 9, the Write itself succeeding (errors are reported only through
 *   Update Result).
 */
import {
  InvalidValueError,
  isReadable,
  isWritable,
  type LwM2mResource,
  MethodNotAllowedError,
  multipleResource,
  NotFoundError,
  type ObjectModel,
  ServiceUnavailableError,
  singleResource,
} from '@lwm2m-ts/core';
import {
  type DownloadCoapOptions,
  type DownloadOptions,
  downloadPackage,
  type FailureResult,
  FirmwareUpdateError,
  isFailureResult,
  parsePackageUri,
  UpdateResult,
  type UpdateResultCode,
} from '../firmware-download.js';
import { chooseModel, type ModelChoice } from '../instance-object.js';
import type {
  ChangeListener,
  MaybePromise,
  ObjectEnabler,
  RequestOrigin,
} from '../object-enabler.js';

export {
  type FailureResult,
  FirmwareUpdateError,
  UpdateResult,
  type UpdateResultCode,
} from '../firmware-download.js';

/** Values of the State resource /5/0/3. */
export const FirmwareState = {
  Idle: 0,
  Downloading: 1,
  Downloaded: 2,
  Updating: 3,
} as const;

export type FirmwareStateCode = (typeof FirmwareState)[keyof typeof FirmwareState];

/** Firmware Update Delivery Method (/5/0/9): 0 pull only, 1 push only, 2 both. */
export type DeliveryMethod = 'pull' | 'push' | 'both';

/** What PkgName (/5/0/6) and PkgVersion (/5/0/7) report about the package held. */
export interface PackageInfo {
  readonly name?: string;
  readonly version?: string;
}

/**
 * `model` or `version` (ModelChoice) pick the object's model: default the newest built-in,
 * object 5 version 1.2. Resources missing from an older model (1.0 has no Cancel or settings)
 * are not offered.
 */
export interface FirmwareUpdateOptions extends ModelChoice {
  /** Which deliveries are accepted (/5/0/9). Default 'both'. */
  readonly delivery?: DeliveryMethod;
  /** Largest package accepted, pushed or pulled (bytes); beyond it: result 2. Default 8 MiB. */
  readonly maxPackageSize?: number;
  /** Time for a whole pull download (ms); past it: result 4. Default 300 000. */
  readonly downloadTimeoutMs?: number;
  /**
   * PSK credentials for a `coaps://` Package URI. Without this option `coaps://` is not offered
   * (/5/0/8 lists CoAP only) and such a URI gets result 9; when it returns undefined for a URI,
   * result 7.
   */
  readonly downloadPsk?: (
    uri: string,
  ) => { readonly identity: string; readonly key: Uint8Array } | undefined;
  /** Local address the download sockets bind to (default: any). */
  readonly downloadLocalAddress?: string;
  /** CoAP transmission parameters of the downloads (the client passes its `coapOptions`). */
  readonly downloadCoapOptions?: DownloadCoapOptions;
  /**
   * Checks a received package before it counts as Downloaded: `true` passes, `false` is result 5
   * (integrity check failure), or return (or throw a `FirmwareUpdateError` with) another failure
   * result, e.g. 6 unsupported package type, 3 out of RAM. Any other throw is result 5.
   */
  readonly integrity?: (pkg: Uint8Array) => MaybePromise<boolean | FailureResult>;
  /** Name and version of a package that passed `integrity`, for /5/0/6 and /5/0/7. A throw is result 6. */
  readonly packageInfo?: (pkg: Uint8Array) => MaybePromise<PackageInfo | undefined>;
  /**
   * Installs the package (Execute /5/0/2). Resolving is success (result 1, state Idle). Throwing a
   * `FirmwareUpdateError` reports its result; anything else is result 8. Default: succeeds.
   */
  readonly apply?: (pkg: Uint8Array, info: PackageInfo) => MaybePromise<void>;
  /** Told after a successful update, e.g. to set the Device object's Firmware Version (/3/0/3). */
  readonly onUpdated?: (update: {
    readonly package: Uint8Array;
    readonly info: PackageInfo;
  }) => MaybePromise<void>;
  /**
   * Errors of the object's background work that have nowhere else to go: a throwing
   * `onUpdated`, or a throwing change listener. Default: ignored.
   */
  readonly onError?: (err: unknown) => void;
}

/** Resource ids of object 5. */
const R = {
  Package: 0,
  PackageUri: 1,
  Update: 2,
  State: 3,
  UpdateResult: 5,
  PkgName: 6,
  PkgVersion: 7,
  ProtocolSupport: 8,
  DeliveryMethod: 9,
  Cancel: 10,
  Severity: 11,
  LastStateChangeTime: 12,
  MaxDeferPeriod: 13,
  AutomaticUpgrade: 14,
} as const;

const DELIVERY_CODE: Readonly<Record<DeliveryMethod, number>> = { pull: 0, push: 1, both: 2 };
const DEFAULT_MAX_PACKAGE = 8 * 1024 * 1024;
const DEFAULT_DOWNLOAD_TIMEOUT = 300_000;
/** Package URI is a String of 0..255 bytes (object 5's DDF). */
const MAX_URI_BYTES = 255;
/** Severity (/5/0/11): 0 critical, 1 mandatory, 2 optional; 1 by default (DDF). */
const DEFAULT_SEVERITY = 1n;
const NOOP = (): void => {};

/** Creates the Firmware Update object (5), instance 0. */
export function firmwareUpdateObject(options: FirmwareUpdateOptions = {}): FirmwareUpdateObject {
  return new FirmwareUpdateObject(options);
}

export class FirmwareUpdateObject implements ObjectEnabler {
  readonly model: ObjectModel;
  readonly #options: FirmwareUpdateOptions;
  readonly #delivery: DeliveryMethod;
  readonly #maxPackageSize: number;
  readonly #downloadTimeoutMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #listeners = new Set<ChangeListener>();
  #state: FirmwareStateCode = FirmwareState.Idle;
  #result: UpdateResultCode = UpdateResult.Initial;
  #uri = '';
  /** The package once Downloaded (and while Updating). */
  #package: Uint8Array | undefined;
  #info: PackageInfo = {};
  #severity = DEFAULT_SEVERITY;
  #maxDeferPeriod = 0n;
  #automaticUpgrade = false;
  #lastStateChange: Date | undefined;
  /**
   * Bumped by every delivery that starts and every reset or cancel: asynchronous work (a
   * download, a hook) that finishes in an older epoch drops its outcome.
   */
  #epoch = 0;
  /** The pull download in progress: what `close()` and a reset abort. */
  #download: { readonly controller: AbortController; readonly done: Promise<void> } | undefined;
  /** Background work (download, checks, update) not finished yet. */
  readonly #jobs = new Set<Promise<void>>();
  #closed = false;

  constructor(options: FirmwareUpdateOptions = {}) {
    this.model = chooseModel(5, options);
    this.#options = options;
    this.#delivery = options.delivery ?? 'both';
    this.#maxPackageSize = positive(
      'maxPackageSize',
      options.maxPackageSize ?? DEFAULT_MAX_PACKAGE,
    );
    this.#downloadTimeoutMs = positive(
      'downloadTimeoutMs',
      options.downloadTimeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT,
    );
    this.#onError = options.onError ?? NOOP;
  }

  /** State (/5/0/3). */
  get state(): FirmwareStateCode {
    return this.#state;
  }

  /** Update Result (/5/0/5). */
  get updateResult(): UpdateResultCode {
    return this.#result;
  }

  /** Package URI (/5/0/1) as last written. */
  get packageUri(): string {
    return this.#uri;
  }

  /** The package held (Downloaded or Updating), else undefined. */
  get package(): Uint8Array | undefined {
    return this.#package;
  }

  /** Resolves once no background work (download, checks, update) is running. */
  async settled(): Promise<void> {
    while (this.#jobs.size > 0) await Promise.allSettled([...this.#jobs]);
  }

  /**
   * Aborts a download in progress and resolves once its socket is closed. Writes that would
   * start a new delivery are refused afterwards (5.03). An `apply` already running is the
   * user's and is not waited for.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const download = this.#download;
    download?.controller.abort(new ServiceUnavailableError('firmware update object closed'));
    await download?.done;
  }

  // ---------------------------------------------------------------------------------------------
  // ObjectEnabler

  instanceIds(): readonly number[] {
    return [0];
  }

  read(
    instanceId: number,
    resourceId: number | undefined,
    _origin: RequestOrigin,
  ): readonly LwM2mResource[] {
    checkInstance(instanceId);
    if (resourceId === undefined) {
      const out: LwM2mResource[] = [];
      for (const r of this.model.resources.values()) {
        if (!isReadable(r)) continue;
        const v = this.#value(r.id);
        if (v !== undefined) out.push(v);
      }
      return out;
    }
    const r = this.model.resources.get(resourceId);
    if (r === undefined) throw new NotFoundError(`/5/0/${resourceId} does not exist`);
    if (!isReadable(r)) throw new MethodNotAllowedError(`/5/0/${resourceId} is not readable`);
    const v = this.#value(resourceId);
    if (v === undefined) throw new NotFoundError(`/5/0/${resourceId} has no value`);
    return [v];
  }

  async write(
    instanceId: number,
    resources: readonly LwM2mResource[],
    mode: 'replace' | 'update',
    _origin: RequestOrigin,
  ): Promise<void> {
    checkInstance(instanceId);
    const w = this.#checkWrite(resources);

    // Writable settings first; on a replace of the instance, those not given go back to their
    // defaults (Core TS 1.2 §6.4.3). Package and Package URI are commands more than settings:
    // not giving them does not reset the state machine.
    const changed: number[] = [];
    const severity = w.severity ?? (mode === 'replace' ? DEFAULT_SEVERITY : this.#severity);
    const defer = w.maxDeferPeriod ?? (mode === 'replace' ? 0n : this.#maxDeferPeriod);
    const auto = w.automaticUpgrade ?? (mode === 'replace' ? false : this.#automaticUpgrade);
    if (severity !== this.#severity || w.severity !== undefined) changed.push(R.Severity);
    if (defer !== this.#maxDeferPeriod || w.maxDeferPeriod !== undefined) {
      changed.push(R.MaxDeferPeriod);
    }
    if (auto !== this.#automaticUpgrade || w.automaticUpgrade !== undefined) {
      changed.push(R.AutomaticUpgrade);
    }
    this.#severity = severity;
    this.#maxDeferPeriod = defer;
    this.#automaticUpgrade = auto;
    if (changed.length > 0) this.#emit(changed.filter((id) => this.model.resources.has(id)));

    // Appendix E.6, State: an empty Package URI or a NULL Package resets the state machine.
    if (w.resetUri) this.#reset(true);
    else if (w.resetPackage) this.#reset(false);
    if (w.uri !== undefined) this.#startPull(w.uri);
    if (w.package !== undefined) await this.#startPush(w.package);
  }

  execute(instanceId: number, resourceId: number, _args: string, _origin: RequestOrigin): void {
    checkInstance(instanceId);
    const r = this.model.resources.get(resourceId);
    if (r === undefined) throw new NotFoundError(`/5/0/${resourceId} does not exist`);
    if (resourceId === R.Update) {
      // Decision: "This Resource is only executable when the value of the State Resource is
      // Downloaded" (DDF); outside it, 4.05 as the DDF asks of Cancel in the same situation.
      if (this.#state !== FirmwareState.Downloaded || this.#package === undefined) {
        throw new MethodNotAllowedError(
          `Update is executable in state Downloaded only (state is ${this.#state})`,
        );
      }
      this.#startUpdate();
      return;
    }
    if (resourceId === R.Cancel) {
      // DDF, Cancel: possible while the update has not started; once installing or installed,
      // "MUST respond with Method Not Allowed". Decision: in Idle there is nothing to cancel.
      if (this.#state !== FirmwareState.Downloading && this.#state !== FirmwareState.Downloaded) {
        throw new MethodNotAllowedError(
          `nothing to cancel in state ${this.#state} (Downloading or Downloaded only)`,
        );
      }
      this.#abortDownload();
      this.#epoch++;
      this.#finish(FirmwareState.Idle, UpdateResult.Cancelled);
      return;
    }
    throw new MethodNotAllowedError(`/5/0/${resourceId} is not executable`);
  }

  create(instanceId: number, _resources: readonly LwM2mResource[], _origin: RequestOrigin): void {
    throw new MethodNotAllowedError(
      `object 5 has one instance, /5/0; cannot create /5/${instanceId}`,
    );
  }

  delete(instanceId: number, _origin: RequestOrigin): void {
    checkInstance(instanceId);
    throw new MethodNotAllowedError('/5/0 cannot be deleted');
  }

  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Writes

  /** Checks a whole write before anything changes, so a refused write changes nothing. */
  #checkWrite(resources: readonly LwM2mResource[]): CheckedWrite {
    const w: {
      -readonly [K in keyof CheckedWrite]: CheckedWrite[K];
    } = { resetPackage: false, resetUri: false };
    for (const res of resources) {
      const model = this.model.resources.get(res.id);
      if (model === undefined) throw new NotFoundError(`/5/0/${res.id} does not exist`);
      if (!isWritable(model)) throw new MethodNotAllowedError(`/5/0/${res.id} is not writable`);
      if (res.kind !== 'singleResource') {
        throw new InvalidValueError(`/5/0/${res.id} is a single resource`);
      }
      switch (res.id) {
        case R.Package:
          if (res.type !== 'opaque') throw wrongType(res.id, 'opaque');
          if (isNullPackage(res.value)) w.resetPackage = true;
          else w.package = res.value;
          break;
        case R.PackageUri:
          if (res.type !== 'string') throw wrongType(res.id, 'string');
          if (Buffer.byteLength(res.value) > MAX_URI_BYTES) {
            throw new InvalidValueError(`Package URI is longer than ${MAX_URI_BYTES} bytes`);
          }
          if (res.value === '') w.resetUri = true;
          else w.uri = res.value;
          break;
        case R.Severity:
          if (res.type !== 'integer') throw wrongType(res.id, 'integer');
          if (res.value < 0n || res.value > 2n) {
            throw new InvalidValueError(`Severity ${res.value} is not 0, 1 or 2`);
          }
          w.severity = res.value;
          break;
        case R.MaxDeferPeriod:
          if (res.type !== 'unsigned') throw wrongType(res.id, 'unsigned');
          w.maxDeferPeriod = res.value;
          break;
        case R.AutomaticUpgrade:
          if (res.type !== 'boolean') throw wrongType(res.id, 'boolean');
          w.automaticUpgrade = res.value;
          break;
        default:
          throw new MethodNotAllowedError(`/5/0/${res.id} is not writable here`);
      }
    }
    if (w.package !== undefined && w.uri !== undefined) {
      throw new InvalidValueError(
        'a Package and a Package URI in one write: one delivery at a time',
      );
    }
    const resets = w.resetPackage || w.resetUri;
    // The DDF's Cancel text: once the update is under way it cannot be called off.
    if (resets && this.#state === FirmwareState.Updating) {
      throw new MethodNotAllowedError('the update is being installed: it cannot be reset');
    }
    if (w.package !== undefined || w.uri !== undefined) {
      const pull = w.uri !== undefined;
      if (this.#closed) throw new ServiceUnavailableError('firmware update object closed');
      if (this.#delivery === (pull ? 'push' : 'pull')) {
        throw new MethodNotAllowedError(
          `this device takes firmware by ${this.#delivery} only (/5/0/9)`,
        );
      }
      // Decision: a delivery starts from Idle only (Appendix E.6 state machine); the server
      // resets first (an empty Package URI) to replace a package it delivered.
      const state = resets ? FirmwareState.Idle : this.#state;
      if (state !== FirmwareState.Idle) {
        throw new MethodNotAllowedError(
          `a new package is accepted in state Idle only (state is ${state}); write an empty Package URI to reset`,
        );
      }
    }
    return w;
  }

  /** Pull: Write of a non-empty Package URI. The Write answers at once; the download follows. */
  #startPull(uri: string): void {
    this.#uri = uri;
    this.#emit([R.PackageUri]);
    let psk: DownloadOptions['psk'];
    try {
      const target = parsePackageUri(uri);
      if (target.scheme === 'coaps') {
        const lookup = this.#options.downloadPsk;
        if (lookup === undefined) {
          // /5/0/8 does not list CoAPS: for this client it is an unsupported protocol.
          throw new FirmwareUpdateError(UpdateResult.UnsupportedProtocol, 'coaps is not supported');
        }
        psk = lookup(uri);
        if (psk === undefined) {
          throw new FirmwareUpdateError(UpdateResult.InvalidUri, `no PSK for ${uri}`);
        }
      }
    } catch (err) {
      // An invalid or unsupported URI never starts a download: State stays Idle, the result
      // says why (Appendix E.6, Update Result 7 and 9).
      this.#setResult(resultOf(err, UpdateResult.InvalidUri));
      return;
    }
    const epoch = this.#begin();
    const controller = new AbortController();
    const download = downloadPackage(uri, {
      timeoutMs: this.#downloadTimeoutMs,
      maxSize: this.#maxPackageSize,
      signal: controller.signal,
      ...(psk !== undefined ? { psk } : {}),
      ...(this.#options.downloadLocalAddress !== undefined
        ? { localAddress: this.#options.downloadLocalAddress }
        : {}),
      ...(this.#options.downloadCoapOptions !== undefined
        ? { coap: this.#options.downloadCoapOptions }
        : {}),
    });
    const done = download.then(NOOP, NOOP).finally(() => {
      if (this.#download?.controller === controller) this.#download = undefined;
    });
    this.#download = { controller, done };
    this.#track(
      download.then(
        (pkg) => this.#accept(pkg, epoch),
        (err: unknown) => {
          if (epoch === this.#epoch) this.#fail(resultOf(err, UpdateResult.ConnectionLost));
        },
      ),
    );
  }

  /**
   * Push: Write of the Package (the CoAP layer has reassembled its blocks). Decision: the Write
   * answers once the package is checked, so the server reads Downloaded (or Idle and the
   * failure) right after the 2.04.
   */
  async #startPush(pkg: Uint8Array): Promise<void> {
    const copy = pkg.slice(); // the decoder's bytes may be a view of a larger buffer
    const epoch = this.#begin();
    await this.#track(this.#accept(copy, epoch));
  }

  /** A delivery starts: Update Result back to 0 (DDF, Update Result), State Downloading. */
  #begin(): number {
    const epoch = ++this.#epoch;
    this.#package = undefined;
    this.#info = {};
    this.#transition(FirmwareState.Downloading, UpdateResult.Initial, true);
    return epoch;
  }

  /** A package has arrived: size and integrity checks, then Downloaded. */
  async #accept(pkg: Uint8Array, epoch: number): Promise<void> {
    if (pkg.length > this.#maxPackageSize) {
      this.#fail(UpdateResult.NotEnoughFlash);
      return;
    }
    if (pkg.length === 0) {
      this.#fail(UpdateResult.IntegrityCheckFailure);
      return;
    }
    let verdict: boolean | FailureResult;
    try {
      verdict = (await this.#options.integrity?.(pkg)) ?? true;
    } catch (err) {
      verdict = resultOf(err, UpdateResult.IntegrityCheckFailure);
    }
    if (epoch !== this.#epoch) return;
    if (verdict !== true) {
      this.#fail(isFailureResult(verdict) ? verdict : UpdateResult.IntegrityCheckFailure);
      return;
    }
    let info: PackageInfo;
    try {
      info = (await this.#options.packageInfo?.(pkg)) ?? {};
    } catch (err) {
      if (epoch === this.#epoch) this.#fail(resultOf(err, UpdateResult.UnsupportedPackageType));
      return;
    }
    if (epoch !== this.#epoch) return;
    this.#package = pkg;
    this.#info = info;
    this.#transition(FirmwareState.Downloaded, this.#result, true);
    // Automatic Upgrade at Download (/5/0/14): no Execute needed.
    if (this.#automaticUpgrade && this.model.resources.has(R.AutomaticUpgrade)) {
      this.#startUpdate();
    }
  }

  /** Empty Package URI or NULL Package: State Idle, Update Result 0, package dropped. */
  #reset(clearUri: boolean): void {
    this.#abortDownload();
    this.#epoch++;
    if (clearUri && this.#uri !== '') {
      this.#uri = '';
      this.#emit([R.PackageUri]);
    }
    this.#finish(FirmwareState.Idle, UpdateResult.Initial);
  }

  #abortDownload(): void {
    this.#download?.controller.abort(new FirmwareUpdateError(UpdateResult.Cancelled, 'reset'));
    this.#download = undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // Update

  /** Execute Update from Downloaded: State Updating, then the `apply` hook in the background. */
  #startUpdate(): void {
    const pkg = this.#package!;
    const info = this.#info;
    const epoch = ++this.#epoch;
    // DDF, Update Result: reset to 0 once the update is initiated.
    this.#transition(FirmwareState.Updating, UpdateResult.Initial, false);
    const apply = this.#options.apply;
    this.#track(
      (async () => {
        try {
          // After the Execute has been answered: applying may take long, or reboot the device.
          await Promise.resolve();
          await apply?.(pkg, info);
        } catch (err) {
          if (epoch !== this.#epoch) return;
          const result = resultOf(err, UpdateResult.UpdateFailed);
          // Decision (DDF, State): "the state may return to either Downloaded or Idle depending
          // on the underlying reason … e.g. Integrity Check Failure results in … Idle". A bad
          // package (5, 6) is dropped; otherwise it stays for the server to try again.
          if (
            result === UpdateResult.IntegrityCheckFailure ||
            result === UpdateResult.UnsupportedPackageType
          ) {
            this.#fail(result);
          } else {
            this.#transition(FirmwareState.Downloaded, result, false);
          }
          return;
        }
        if (epoch !== this.#epoch) return;
        // DDF, State: Idle "after successful updating", Update Result 1. The package is spent.
        this.#package = undefined;
        this.#transition(FirmwareState.Idle, UpdateResult.Success, false);
        await this.#options.onUpdated?.({ package: pkg, info });
      })(),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // State

  /** A failed delivery or check: State Idle with the failure result, package dropped. */
  #fail(result: FailureResult): void {
    this.#finish(FirmwareState.Idle, result);
  }

  #finish(state: FirmwareStateCode, result: UpdateResultCode): void {
    this.#package = undefined;
    this.#transition(state, result, true);
  }

  /**
   * Sets State and Update Result and tells the listeners once. `infoChanged`: PkgName and
   * PkgVersion changed too (they describe the package held, and are cleared without one).
   */
  #transition(state: FirmwareStateCode, result: UpdateResultCode, infoChanged: boolean): void {
    const changed: number[] = [];
    if (state !== this.#state) {
      // DDF, Last State Change Time: updated before the State changes.
      this.#lastStateChange = new Date();
      changed.push(R.LastStateChangeTime);
      this.#state = state;
      changed.push(R.State);
    }
    if (result !== this.#result) {
      this.#result = result;
      changed.push(R.UpdateResult);
    }
    if (infoChanged) {
      if (this.#package === undefined && this.#state !== FirmwareState.Updating) this.#info = {};
      changed.push(R.PkgName, R.PkgVersion);
    }
    this.#emit(changed.filter((id) => this.model.resources.has(id)));
  }

  #setResult(result: UpdateResultCode): void {
    this.#transition(this.#state, result, false);
  }

  #emit(resourceIds: readonly number[]): void {
    if (resourceIds.length === 0) return;
    const ids = [...resourceIds].sort((a, b) => a - b);
    for (const listener of [...this.#listeners]) {
      try {
        listener(0, ids);
      } catch (err) {
        this.#onError(err);
      }
    }
  }

  #track(job: Promise<void>): Promise<void> {
    const tracked = job.catch((err: unknown) => this.#onError(err));
    this.#jobs.add(tracked);
    void tracked.finally(() => this.#jobs.delete(tracked));
    return tracked;
  }

  /** The current value of a resource, undefined when it has none (or is not in the model). */
  #value(id: number): LwM2mResource | undefined {
    if (!this.model.resources.has(id)) return undefined;
    switch (id) {
      case R.PackageUri:
        return singleResource(id, 'string', this.#uri);
      case R.State:
        return singleResource(id, 'integer', this.#state);
      case R.UpdateResult:
        return singleResource(id, 'integer', this.#result);
      case R.PkgName:
        return singleResource(id, 'string', this.#info.name ?? '');
      case R.PkgVersion:
        return singleResource(id, 'string', this.#info.version ?? '');
      case R.ProtocolSupport:
        // 0 CoAP with block-wise; 1 CoAPS when PSKs can be had (DDF, resource 8).
        return multipleResource(
          id,
          'integer',
          this.#options.downloadPsk === undefined ? { 0: 0 } : { 0: 0, 1: 1 },
        );
      case R.DeliveryMethod:
        return singleResource(id, 'integer', DELIVERY_CODE[this.#delivery]);
      case R.Severity:
        return singleResource(id, 'integer', this.#severity);
      case R.LastStateChangeTime:
        return this.#lastStateChange === undefined
          ? undefined
          : singleResource(id, 'time', this.#lastStateChange);
      case R.MaxDeferPeriod:
        return singleResource(id, 'unsigned', this.#maxDeferPeriod);
      case R.AutomaticUpgrade:
        return singleResource(id, 'boolean', this.#automaticUpgrade);
      default:
        return undefined; // Package (write-only), Update and Cancel (executable)
    }
  }
}

interface CheckedWrite {
  readonly package?: Uint8Array;
  readonly uri?: string;
  readonly resetPackage: boolean;
  readonly resetUri: boolean;
  readonly severity?: bigint;
  readonly maxDeferPeriod?: bigint;
  readonly automaticUpgrade?: boolean;
}

function positive(name: string, v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) {
    throw new RangeError(`${name} must be a positive number, got ${v}`);
  }
  return v;
}

function checkInstance(instanceId: number): void {
  if (instanceId !== 0) throw new NotFoundError(`/5/${instanceId} does not exist`);
}

/** DDF, State: "setting the Package Resource to NULL ('\0')" resets; an empty write as well. */
function isNullPackage(pkg: Uint8Array): boolean {
  return pkg.length === 0 || (pkg.length === 1 && pkg[0] === 0);
}

function wrongType(id: number, type: string): InvalidValueError {
  return new InvalidValueError(`/5/0/${id} takes a value of type ${type}`);
}

function resultOf(err: unknown, fallback: FailureResult): FailureResult {
  return err instanceof FirmwareUpdateError ? err.result : fallback;
}
