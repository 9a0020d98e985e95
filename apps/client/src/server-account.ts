/**
 * The client's account with one LwM2M server, as objects 0 (Security) and 1 (Server) hold it
 * (Core TS 1.2 Appendix E.1, E.2): the Security instance whose Short Server ID (/0/x/10) matches
 * and that is not the bootstrap account (/0/x/1) gives the URI and credentials; the Server
 * instance with that Short Server ID (/1/x/0) gives the lifetime, binding and the registration
 * retry resources. Read from the tree every time they are needed, so a write by the server or a
 * bootstrap takes effect at the next Register or Update.
 *
 * The bootstrap side (Core TS 1.2 §6.1): `readBootstrapAccount` finds the Security instance with
 * Bootstrap-Server (/0/x/1) true, `usableAccounts` lists the DM accounts this client can register
 * with (a Security instance and a Server instance sharing a Short Server ID, NoSec or PSK with its
 * credentials, a coap:// or coaps:// URI), which is also what Bootstrap-Finish checks.
 */
import {
  type LwM2mNode,
  type LwM2mObjectInstance,
  LwM2mPath,
  NotFoundError,
  type TypedValue,
} from '@lwm2m-ts/core';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './backoff.js';
import type { RequestOrigin } from './object-enabler.js';
import { SecurityMode } from './objects/security.js';
import { parseServerUri } from './transport.js';

const LOCAL: RequestOrigin = Object.freeze({ kind: 'local' });

/** Resources of the Server object (1) this file reads. */
export const ServerResource = {
  SHORT_SERVER_ID: 0,
  LIFETIME: 1,
  DEFAULT_MIN_PERIOD: 2,
  DEFAULT_MAX_PERIOD: 3,
  DISABLE: 4,
  BINDING: 7,
  REGISTRATION_UPDATE_TRIGGER: 8,
  BOOTSTRAP_ON_REGISTRATION_FAILURE: 16,
  COMMUNICATION_RETRY_COUNT: 17,
  COMMUNICATION_RETRY_TIMER: 18,
  COMMUNICATION_SEQUENCE_DELAY_TIMER: 19,
  COMMUNICATION_SEQUENCE_RETRY_COUNT: 20,
  MUTE_SEND: 23,
} as const;

/** Resources of the Security object (0) this file reads. */
export const SecurityResource = {
  SERVER_URI: 0,
  BOOTSTRAP_SERVER: 1,
  SECURITY_MODE: 2,
  PUBLIC_KEY_OR_IDENTITY: 3,
  SECRET_KEY: 5,
  SHORT_SERVER_ID: 10,
  CLIENT_HOLD_OFF_TIME: 11,
  BOOTSTRAP_ACCOUNT_TIMEOUT: 12,
} as const;

export interface SecuritySettings {
  readonly instanceId: number;
  readonly uri: string;
  readonly mode: number;
  /** PSK identity (/0/x/3 as UTF-8) and key (/0/x/5) in PSK mode. */
  readonly psk?: { readonly identity: string; readonly key: Uint8Array };
}

export interface ServerSettings {
  readonly shortServerId: number;
  /** The Server object instance (/1/x). */
  readonly serverInstanceId: number;
  /** Seconds (/1/x/1). */
  readonly lifetime: number;
  /** Binding letters (/1/x/7), as stored. */
  readonly binding: string;
  /** The registration retry policy: /1/x/17–20 where present, the client's defaults elsewhere. */
  readonly retryPolicy: RetryPolicy;
  /** /1/x/23 (1.1+): the client must not use Send. */
  readonly muteSend: boolean;
  /** /1/x/16 (1.1+), default true. */
  readonly bootstrapOnRegistrationFailure: boolean;
  /** Default Minimum / Maximum Period (/1/x/2, /1/x/3) in seconds, when set. */
  readonly defaultMinPeriod: number | undefined;
  readonly defaultMaxPeriod: number | undefined;
}

/** What the tree needs to offer (ObjectTree does). */
export interface AccountTree {
  read(path: LwM2mPath, origin: RequestOrigin): Promise<LwM2mNode>;
}

/** Server account not found for a Short Server ID: 4.04. */
export class ServerAccountNotFoundError extends NotFoundError {}

function valueAt(inst: LwM2mObjectInstance, id: number): TypedValue | undefined {
  const r = inst.resources.find((x) => x.id === id);
  return r?.kind === 'singleResource'
    ? ({ type: r.type, value: r.value } as TypedValue)
    : undefined;
}

function num(v: TypedValue | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v.value === 'bigint') return Number(v.value);
  if (typeof v.value === 'number') return v.value;
  return undefined;
}

async function instances(tree: AccountTree, objectId: number): Promise<LwM2mObjectInstance[]> {
  try {
    const node = await tree.read(LwM2mPath.of(objectId), LOCAL);
    return node.kind === 'object' ? [...node.instances] : [];
  } catch (err) {
    if (err instanceof NotFoundError) return [];
    throw err;
  }
}

/**
 * The Server object values for `shortServerId`. `defaults` stands in for what the object does
 * not hold (an optional resource left out).
 */
export async function readServerSettings(
  tree: AccountTree,
  shortServerId: number,
  defaults: { lifetime: number; binding: string; retryPolicy?: RetryPolicy },
): Promise<ServerSettings> {
  for (const inst of await instances(tree, 1)) {
    if (num(valueAt(inst, ServerResource.SHORT_SERVER_ID)) !== shortServerId) continue;
    const base = defaults.retryPolicy ?? DEFAULT_RETRY_POLICY;
    const count = num(valueAt(inst, ServerResource.COMMUNICATION_RETRY_COUNT));
    const timer = num(valueAt(inst, ServerResource.COMMUNICATION_RETRY_TIMER));
    const seqDelay = num(valueAt(inst, ServerResource.COMMUNICATION_SEQUENCE_DELAY_TIMER));
    const seqCount = num(valueAt(inst, ServerResource.COMMUNICATION_SEQUENCE_RETRY_COUNT));
    const retryPolicy: RetryPolicy = {
      ...base,
      ...(count !== undefined && count >= 1 && { retryCount: count }),
      ...(timer !== undefined && timer >= 0 && { retryTimer: timer * 1000 }),
      ...(seqDelay !== undefined && seqDelay >= 0 && { sequenceDelay: seqDelay * 1000 }),
      ...(seqCount !== undefined && seqCount >= 1 && { sequenceRetryCount: seqCount }),
      // Values the server set are the spec's timing: no cap of ours cuts them short.
      ...((timer !== undefined || seqDelay !== undefined) && {
        maxDelay: Number.POSITIVE_INFINITY,
      }),
    };
    const binding = valueAt(inst, ServerResource.BINDING);
    const mute = valueAt(inst, ServerResource.MUTE_SEND);
    const bsOnFailure = valueAt(inst, ServerResource.BOOTSTRAP_ON_REGISTRATION_FAILURE);
    return {
      shortServerId,
      serverInstanceId: inst.id,
      lifetime: num(valueAt(inst, ServerResource.LIFETIME)) ?? defaults.lifetime,
      binding:
        binding?.type === 'string' && binding.value !== '' ? binding.value : defaults.binding,
      retryPolicy,
      muteSend: mute?.type === 'boolean' ? mute.value : false,
      bootstrapOnRegistrationFailure: bsOnFailure?.type === 'boolean' ? bsOnFailure.value : true,
      defaultMinPeriod: num(valueAt(inst, ServerResource.DEFAULT_MIN_PERIOD)),
      defaultMaxPeriod: num(valueAt(inst, ServerResource.DEFAULT_MAX_PERIOD)),
    };
  }
  throw new ServerAccountNotFoundError(
    `no Server object instance with Short Server ID ${shortServerId}`,
  );
}

/**
 * What `readServerSettings` gives for a Server instance as `serverObject` makes it from
 * `{ shortServerId, lifetime, binding }` (instance 0, nothing else set), without building and
 * reading the object: a client whose Server object is still unbuilt (nothing changed it) uses
 * this.
 */
export function initialServerSettings(
  shortServerId: number,
  defaults: { lifetime: number; binding: string; retryPolicy?: RetryPolicy },
): ServerSettings {
  return {
    shortServerId,
    serverInstanceId: 0,
    lifetime: defaults.lifetime,
    binding: defaults.binding,
    retryPolicy: { ...(defaults.retryPolicy ?? DEFAULT_RETRY_POLICY) },
    muteSend: false,
    bootstrapOnRegistrationFailure: true,
    defaultMinPeriod: undefined,
    defaultMaxPeriod: undefined,
  };
}

/** The Security object instance of the server with `shortServerId` (not the bootstrap account). */
export async function readSecuritySettings(
  tree: AccountTree,
  shortServerId: number,
): Promise<SecuritySettings> {
  for (const inst of await instances(tree, 0)) {
    const bootstrap = valueAt(inst, SecurityResource.BOOTSTRAP_SERVER);
    if (bootstrap?.type === 'boolean' && bootstrap.value) continue;
    if (num(valueAt(inst, SecurityResource.SHORT_SERVER_ID)) !== shortServerId) continue;
    const uri = valueAt(inst, SecurityResource.SERVER_URI);
    const mode = num(valueAt(inst, SecurityResource.SECURITY_MODE)) ?? SecurityMode.nosec;
    const identity = valueAt(inst, SecurityResource.PUBLIC_KEY_OR_IDENTITY);
    const key = valueAt(inst, SecurityResource.SECRET_KEY);
    const account = {
      instanceId: inst.id,
      uri: uri?.type === 'string' ? uri.value : '',
      mode,
    };
    if (mode === SecurityMode.psk && identity?.type === 'opaque' && key?.type === 'opaque') {
      return {
        ...account,
        psk: { identity: Buffer.from(identity.value).toString('utf8'), key: key.value },
      };
    }
    return account;
  }
  throw new ServerAccountNotFoundError(
    `no Security object instance for Short Server ID ${shortServerId}`,
  );
}

/** The bootstrap-server account (/0/x with Bootstrap-Server true). */
export interface BootstrapAccount {
  readonly instanceId: number;
  readonly uri: string;
  readonly mode: number;
  /** PSK identity (/0/x/3 as UTF-8) and key (/0/x/5) in PSK mode. */
  readonly psk?: { readonly identity: string; readonly key: Uint8Array };
  /** Client Hold Off Time (/0/x/11) in seconds, 0 when not set. */
  readonly holdOffSeconds: number;
  /** Bootstrap-Server Account Timeout (/0/x/12) in seconds; 0 (or not set): kept for ever. */
  readonly accountTimeoutSeconds: number;
}

/** A DM server account the client can register with. */
export interface UsableAccount extends SecuritySettings {
  readonly shortServerId: number;
  /** The Server object instance with the same Short Server ID. */
  readonly serverInstanceId: number;
}

function isBootstrapInstance(inst: LwM2mObjectInstance): boolean {
  const v = valueAt(inst, SecurityResource.BOOTSTRAP_SERVER);
  return v?.type === 'boolean' && v.value;
}

function credentials(
  inst: LwM2mObjectInstance,
  mode: number,
): { readonly identity: string; readonly key: Uint8Array } | undefined {
  const identity = valueAt(inst, SecurityResource.PUBLIC_KEY_OR_IDENTITY);
  const key = valueAt(inst, SecurityResource.SECRET_KEY);
  if (mode !== SecurityMode.psk || identity?.type !== 'opaque' || key?.type !== 'opaque') {
    return undefined;
  }
  if (identity.value.length === 0 || key.value.length === 0) return undefined;
  return { identity: Buffer.from(identity.value).toString('utf8'), key: key.value };
}

/** The bootstrap-server account, or undefined when the Security object has none. */
export async function readBootstrapAccount(
  tree: AccountTree,
): Promise<BootstrapAccount | undefined> {
  for (const inst of await instances(tree, 0)) {
    if (!isBootstrapInstance(inst)) continue;
    const uri = valueAt(inst, SecurityResource.SERVER_URI);
    const mode = num(valueAt(inst, SecurityResource.SECURITY_MODE)) ?? SecurityMode.nosec;
    const psk = credentials(inst, mode);
    const holdOff = num(valueAt(inst, SecurityResource.CLIENT_HOLD_OFF_TIME)) ?? 0;
    const timeout = num(valueAt(inst, SecurityResource.BOOTSTRAP_ACCOUNT_TIMEOUT)) ?? 0;
    return {
      instanceId: inst.id,
      uri: uri?.type === 'string' ? uri.value : '',
      mode,
      ...(psk !== undefined && { psk }),
      holdOffSeconds: Math.max(holdOff, 0),
      accountTimeoutSeconds: Math.max(timeout, 0),
    };
  }
  return undefined;
}

/**
 * Why an account cannot be used by this client (undefined: it can): NoSec with a coap:// URI or
 * PSK with identity, key and a coaps:// URI.
 */
export function accountProblem(account: {
  readonly uri: string;
  readonly mode: number;
  readonly psk?: unknown;
}): string | undefined {
  let scheme: 'coap' | 'coaps';
  try {
    scheme = parseServerUri(account.uri).scheme;
  } catch (err) {
    return (err as Error).message;
  }
  if (account.mode === SecurityMode.nosec) {
    return scheme === 'coap' ? undefined : `${account.uri}: NoSec needs a coap:// URI`;
  }
  if (account.mode === SecurityMode.psk) {
    if (account.psk === undefined) return `${account.uri}: PSK mode without identity and key`;
    return scheme === 'coaps' ? undefined : `${account.uri}: PSK needs a coaps:// URI`;
  }
  return `${account.uri}: security mode ${account.mode} is not supported (NoSec and PSK are)`;
}

/**
 * The DM server accounts this client can register with, by Security instance id: each has a
 * Security instance (not the bootstrap account) and a Server instance with the same Short Server
 * ID, and passes `accountProblem`. `problems` tells why the others were left out.
 */
export async function usableAccounts(
  tree: AccountTree,
): Promise<{ accounts: UsableAccount[]; problems: string[] }> {
  const servers = new Map<number, number>();
  for (const inst of await instances(tree, 1)) {
    const ssid = num(valueAt(inst, ServerResource.SHORT_SERVER_ID));
    if (ssid !== undefined && !servers.has(ssid)) servers.set(ssid, inst.id);
  }
  const accounts: UsableAccount[] = [];
  const problems: string[] = [];
  for (const inst of await instances(tree, 0)) {
    if (isBootstrapInstance(inst)) continue;
    const ssid = num(valueAt(inst, SecurityResource.SHORT_SERVER_ID));
    if (ssid === undefined) {
      problems.push(`/0/${inst.id} has no Short Server ID (/0/${inst.id}/10)`);
      continue;
    }
    const serverInstanceId = servers.get(ssid);
    if (serverInstanceId === undefined) {
      problems.push(`/0/${inst.id}: no Server instance (/1) with Short Server ID ${ssid}`);
      continue;
    }
    const uri = valueAt(inst, SecurityResource.SERVER_URI);
    const mode = num(valueAt(inst, SecurityResource.SECURITY_MODE)) ?? SecurityMode.nosec;
    const psk = credentials(inst, mode);
    const account: UsableAccount = {
      instanceId: inst.id,
      uri: uri?.type === 'string' ? uri.value : '',
      mode,
      ...(psk !== undefined && { psk }),
      shortServerId: ssid,
      serverInstanceId,
    };
    const problem = accountProblem(account);
    if (problem === undefined) accounts.push(account);
    else problems.push(`/0/${inst.id}: ${problem}`);
  }
  return { accounts, problems };
}
