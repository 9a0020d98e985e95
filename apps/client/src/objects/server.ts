import {
  chooseModel,
  type InstanceInput,
  InstanceObject,
  type InstanceObjectOptions,
  type ModelChoice,
} from '../instance-object.js';
import type { MaybePromise } from '../object-enabler.js';

/** One LwM2M server account in the Server object (1), as the client configuration gives it. */
export interface ServerAccount {
  /** Default: the next free id, in the order given. */
  readonly instanceId?: number;
  /** Resource 0, 1..65534: links the account to its Security instance. */
  readonly shortServerId: number;
  /** Resource 1, registration lifetime in seconds. Default 86400 (Core TS 1.2 §6.2.1 default). */
  readonly lifetime?: number;
  /** Resource 2, default pmin in seconds. */
  readonly defaultMinPeriod?: number;
  /** Resource 3, default pmax in seconds. */
  readonly defaultMaxPeriod?: number;
  /** Resource 5, seconds the server stays disabled after Disable. Default 86400. */
  readonly disableTimeout?: number;
  /** Resource 6: store notifications while disabled or offline. Default true. */
  readonly notificationStoring?: boolean;
  /** Resource 7: `U`, `UQ` (1.0), `T`, `S`… Default `U`. */
  readonly binding?: string;
}

/** What executing the Server object's resources does: wired to the registration engine. */
export interface ServerObjectHooks {
  /** /1/x/8 Registration Update Trigger: send an Update now (Core TS 1.2 §6.2.2). */
  readonly onRegistrationUpdateTrigger?: (
    shortServerId: number,
    instanceId: number,
  ) => MaybePromise<void>;
  /** /1/x/4 Disable: de-register and stay away for the Disable Timeout (Core TS 1.2 Appendix E.2). */
  readonly onDisable?: (
    shortServerId: number,
    disableTimeoutSeconds: number,
    instanceId: number,
  ) => MaybePromise<void>;
  /** /1/x/9 Bootstrap-Request Trigger (1.1+). */
  readonly onBootstrapRequestTrigger?: (
    shortServerId: number,
    instanceId: number,
  ) => MaybePromise<void>;
}

export interface ServerAccountInfo {
  readonly instanceId: number;
  readonly shortServerId: number;
  readonly lifetime: number;
  readonly defaultMinPeriod: number | undefined;
  readonly defaultMaxPeriod: number | undefined;
  readonly disableTimeout: number;
  readonly notificationStoring: boolean;
  readonly binding: string;
}

const DEFAULT_LIFETIME = 86400;
const DEFAULT_DISABLE_TIMEOUT = 86400;

/** The Server object (1): one instance per LwM2M server account. */
export class ServerObject extends InstanceObject {
  accounts(): ServerAccountInfo[] {
    return this.instanceIds().map((id) => this.account(id)!);
  }

  account(instanceId: number): ServerAccountInfo | undefined {
    if (!this.instanceIds().includes(instanceId)) return undefined;
    const int = (rid: number) => {
      const v = this.get(instanceId, rid);
      return typeof v === 'bigint' ? Number(v) : undefined;
    };
    const binding = this.get(instanceId, 7);
    return {
      instanceId,
      shortServerId: int(0) ?? 0,
      lifetime: int(1) ?? DEFAULT_LIFETIME,
      defaultMinPeriod: int(2),
      defaultMaxPeriod: int(3),
      disableTimeout: int(5) ?? DEFAULT_DISABLE_TIMEOUT,
      notificationStoring: this.get(instanceId, 6) !== false,
      binding: typeof binding === 'string' ? binding : 'U',
    };
  }

  /** The account of a short server id. */
  byShortServerId(shortServerId: number): ServerAccountInfo | undefined {
    return this.accounts().find((a) => a.shortServerId === shortServerId);
  }
}

export function serverInstance(account: ServerAccount): InstanceInput {
  const values: Record<number, InstanceInput[number]> = {
    0: account.shortServerId,
    1: account.lifetime ?? DEFAULT_LIFETIME,
    6: account.notificationStoring ?? true,
    7: account.binding ?? 'U',
  };
  if (account.defaultMinPeriod !== undefined) values[2] = account.defaultMinPeriod;
  if (account.defaultMaxPeriod !== undefined) values[3] = account.defaultMaxPeriod;
  values[5] = account.disableTimeout ?? DEFAULT_DISABLE_TIMEOUT;
  return values;
}

export interface ServerObjectOptions
  extends ModelChoice,
    ServerObjectHooks,
    Omit<InstanceObjectOptions, 'instances' | 'onExecute'> {}

/**
 * A Server object holding these accounts. Executing /1/x/8, /1/x/4 and /1/x/9 calls the hooks
 * with the account's short server id; the registration engine listens to changes of lifetime
 * and binding (through the tree's change events) to send an Update.
 */
export function serverObject(
  accounts: readonly ServerAccount[],
  options: ServerObjectOptions = {},
): ServerObject {
  const {
    model,
    version,
    onRegistrationUpdateTrigger,
    onDisable,
    onBootstrapRequestTrigger,
    ...rest
  } = options;
  let object: ServerObject | undefined;
  const ssid = (instanceId: number) => object!.account(instanceId)!.shortServerId;
  object = new ServerObject(chooseModel(1, { model, version }), {
    ...rest,
    onExecute: {
      8: (instanceId) => onRegistrationUpdateTrigger?.(ssid(instanceId), instanceId),
      4: (instanceId) =>
        onDisable?.(ssid(instanceId), object!.account(instanceId)!.disableTimeout, instanceId),
      9: (instanceId) => onBootstrapRequestTrigger?.(ssid(instanceId), instanceId),
    },
  });
  let next = 0;
  for (const account of accounts) {
    let id = account.instanceId;
    if (id === undefined) {
      const used = new Set(object.instanceIds());
      while (used.has(next)) next++;
      id = next;
    }
    object.addInstance(id, serverInstance(account));
  }
  return object;
}
