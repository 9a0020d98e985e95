import { InvalidValueError } from '@lwm2m-ts/core';
import {
  chooseModel,
  type InstanceInput,
  InstanceObject,
  type InstanceObjectOptions,
  type ModelChoice,
} from '../instance-object.js';

/** Security Mode, resource 0/x/2 (Core TS 1.2 Appendix E.1). */
export const SecurityMode = {
  psk: 0,
  rpk: 1,
  x509: 2,
  nosec: 3,
  est: 4,
} as const;

export type SecurityModeName = keyof typeof SecurityMode;

/** One server account in the Security object, as the client configuration gives it. */
export interface SecurityAccount {
  /** Default: the next free id, in the order given. */
  readonly instanceId?: number;
  /** `coap://host:5683`, `coaps://host:5684`. */
  readonly serverUri: string;
  /** True for the bootstrap server's account. Default false. */
  readonly bootstrapServer?: boolean;
  /** Default: `psk` when a PSK identity is given, else `nosec`. */
  readonly securityMode?: SecurityModeName;
  /** PSK identity (resource 3, "Public Key or Identity"), as UTF-8 text or bytes. */
  readonly pskIdentity?: string | Uint8Array;
  /** PSK (resource 5, "Secret Key"), as bytes or hex. */
  readonly pskKey?: string | Uint8Array;
  /** Resource 4, "Server Public Key". */
  readonly serverPublicKey?: Uint8Array;
  /** Short Server ID (resource 10) linking the account to its Server object instance. */
  readonly shortServerId?: number;
  /** Resource 11, seconds to wait before a client-initiated bootstrap. */
  readonly clientHoldOffTime?: number;
  /** Resource 12, seconds after which the bootstrap account is dropped (0: never). */
  readonly bootstrapServerAccountTimeout?: number;
}

/** An account as the Security object holds it now (after any bootstrap writes). */
export interface SecurityAccountInfo {
  readonly instanceId: number;
  readonly serverUri: string;
  readonly bootstrapServer: boolean;
  readonly securityMode: number;
  readonly publicKeyOrIdentity: Uint8Array;
  readonly serverPublicKey: Uint8Array;
  readonly secretKey: Uint8Array;
  readonly shortServerId: number | undefined;
  readonly clientHoldOffTime: number | undefined;
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

function bytesOf(v: string | Uint8Array | undefined, what: string, hex: boolean): Uint8Array {
  if (v === undefined) return new Uint8Array(0);
  if (v instanceof Uint8Array) return v;
  if (!hex) return new TextEncoder().encode(v);
  if (!HEX.test(v))
    throw new InvalidValueError(`${what} "${v}" is not an even number of hex digits`);
  return new Uint8Array(Buffer.from(v, 'hex'));
}

/**
 * The Security object (0): server URIs and credentials. Core TS 1.2 Appendix E.1: it is not
 * accessible to DM servers (the object tree hides it from them); only the bootstrap server and
 * the device itself read or write it. `accounts()` gives what the registration engine needs.
 */
export class SecurityObject extends InstanceObject {
  /** Every account, ordered by instance id. */
  accounts(): SecurityAccountInfo[] {
    return this.instanceIds().map((id) => this.account(id)!);
  }

  /** One account, undefined when there is no such instance. */
  account(instanceId: number): SecurityAccountInfo | undefined {
    if (!this.instanceIds().includes(instanceId)) return undefined;
    const str = (rid: number) => {
      const v = this.get(instanceId, rid);
      return typeof v === 'string' ? v : '';
    };
    const bytes = (rid: number) => {
      const v = this.get(instanceId, rid);
      return v instanceof Uint8Array ? v : new Uint8Array(0);
    };
    const int = (rid: number) => {
      const v = this.get(instanceId, rid);
      return typeof v === 'bigint' ? Number(v) : undefined;
    };
    return {
      instanceId,
      serverUri: str(0),
      bootstrapServer: this.get(instanceId, 1) === true,
      securityMode: int(2) ?? SecurityMode.nosec,
      publicKeyOrIdentity: bytes(3),
      serverPublicKey: bytes(4),
      secretKey: bytes(5),
      shortServerId: int(10),
      clientHoldOffTime: int(11),
    };
  }
}

/** The values of one Security instance for an account. */
export function securityInstance(account: SecurityAccount): InstanceInput {
  const mode = account.securityMode ?? (account.pskIdentity !== undefined ? 'psk' : 'nosec');
  if (!(mode in SecurityMode)) {
    throw new InvalidValueError(
      `security mode "${mode}" is not one of ${Object.keys(SecurityMode).join(', ')}`,
    );
  }
  const bootstrap = account.bootstrapServer ?? false;
  if (!bootstrap && account.shortServerId === undefined) {
    throw new InvalidValueError(
      `the account of ${account.serverUri} needs a short server id (only the bootstrap account has none)`,
    );
  }
  const values: Record<number, InstanceInput[number]> = {
    0: account.serverUri,
    1: bootstrap,
    2: SecurityMode[mode],
    3: bytesOf(account.pskIdentity, 'PSK identity', false),
    4: account.serverPublicKey ?? new Uint8Array(0),
    5: bytesOf(account.pskKey, 'PSK key', true),
  };
  if (account.shortServerId !== undefined) values[10] = account.shortServerId;
  if (account.clientHoldOffTime !== undefined) values[11] = account.clientHoldOffTime;
  if (account.bootstrapServerAccountTimeout !== undefined) {
    values[12] = account.bootstrapServerAccountTimeout;
  }
  return values;
}

export interface SecurityObjectOptions
  extends ModelChoice,
    Omit<InstanceObjectOptions, 'instances'> {}

/** A Security object holding these accounts (instance ids in order unless given). */
export function securityObject(
  accounts: readonly SecurityAccount[],
  options: SecurityObjectOptions = {},
): SecurityObject {
  const { model, version, ...hooks } = options;
  const object = new SecurityObject(chooseModel(0, { model, version }), hooks);
  let next = 0;
  for (const account of accounts) {
    const used = new Set(object.instanceIds());
    let id = account.instanceId;
    if (id === undefined) {
      while (used.has(next)) next++;
      id = next;
    }
    object.addInstance(id, securityInstance(account));
  }
  return object;
}
