/**
 * From a configuration to the object instances the bootstrap server writes, in the order it
 * writes them (Core TS 1.2 §6.1.7): Security (/0) instances first, then Server (/1), then Access
 * Control (/2), then the other objects' instances. Pure: the same configuration and discovery
 * result always give the same plan, so Bootstrap-Pack and the write sequence agree.
 */
import {
  flattenNode,
  type LwM2mObjectInstance,
  LwM2mPath,
  type LwM2mResource,
  multipleResource,
  objectInstance,
  type PathValue,
  singleResource,
} from '@lwm2m-ts/core';
import type { ObjectRegistry } from '@lwm2m-ts/registry';
import {
  type BootstrapAccountConfig,
  type BootstrapConfig,
  type SecurityModeName,
  type ServerAccountConfig,
  valueFromJson,
  writeType,
} from './config.js';

/** Security Mode (/0/x/2) values: 0 PSK, 3 NoSec (Core TS 1.2 Appendix E.1). */
export const SECURITY_MODE: Readonly<Record<SecurityModeName, number>> = { psk: 0, nosec: 3 };

export type WriteKind = 'security' | 'server' | 'acl' | 'object';

export interface PlannedWrite {
  readonly kind: WriteKind;
  /** An object instance path, `/0/1`. */
  readonly path: LwM2mPath;
  readonly node: LwM2mObjectInstance;
}

export interface PlanContext {
  /**
   * Security instances the client keeps for its bootstrap-server account, as Bootstrap-Discover
   * showed them; default: `bootstrapServer.instanceId` or 0. DM accounts get other ids.
   */
  readonly bootstrapAccountIds?: readonly number[];
}

function opaque(id: number, bytes: Uint8Array): LwM2mResource {
  return singleResource(id, 'opaque', bytes);
}

function credentialsResources(a: {
  securityMode: SecurityModeName;
  pskIdentity?: string;
  pskKey?: string;
}): LwM2mResource[] {
  return [
    singleResource(2, 'integer', SECURITY_MODE[a.securityMode]),
    opaque(3, a.pskIdentity === undefined ? new Uint8Array() : Buffer.from(a.pskIdentity, 'utf8')),
    opaque(4, new Uint8Array()),
    opaque(5, a.pskKey === undefined ? new Uint8Array() : Buffer.from(a.pskKey, 'hex')),
  ];
}

function bootstrapSecurity(id: number, a: BootstrapAccountConfig): LwM2mObjectInstance {
  return objectInstance(id, [
    singleResource(0, 'string', a.uri),
    singleResource(1, 'boolean', true),
    ...credentialsResources(a),
    ...(a.clientHoldOffTime === undefined
      ? []
      : [singleResource(11, 'integer', a.clientHoldOffTime)]),
    ...(a.accountTimeout === undefined ? [] : [singleResource(12, 'integer', a.accountTimeout)]),
  ]);
}

function serverSecurity(id: number, s: ServerAccountConfig): LwM2mObjectInstance {
  return objectInstance(id, [
    singleResource(0, 'string', s.uri),
    singleResource(1, 'boolean', false),
    ...credentialsResources(s),
    singleResource(10, 'integer', s.shortServerId),
  ]);
}

function serverInstance(id: number, s: ServerAccountConfig): LwM2mObjectInstance {
  return objectInstance(id, [
    singleResource(0, 'integer', s.shortServerId),
    singleResource(1, 'integer', s.lifetime),
    ...(s.defaultMinPeriod === undefined ? [] : [singleResource(2, 'integer', s.defaultMinPeriod)]),
    ...(s.defaultMaxPeriod === undefined ? [] : [singleResource(3, 'integer', s.defaultMaxPeriod)]),
    singleResource(6, 'boolean', s.notificationStoring),
    singleResource(7, 'string', s.binding),
  ]);
}

/** Hands out the lowest ids not taken. */
function allocator(taken: Iterable<number>): () => number {
  const used = new Set(taken);
  let next = 0;
  return () => {
    while (used.has(next)) next++;
    used.add(next);
    return next;
  };
}

/** The instances to write, Security first, then Server, ACL and the other objects. */
export function planWrites(
  config: BootstrapConfig,
  registry: ObjectRegistry,
  context: PlanContext = {},
): PlannedWrite[] {
  const out: PlannedWrite[] = [];
  const bsId = config.bootstrapServer?.instanceId ?? 0;
  const reserved = new Set(context.bootstrapAccountIds ?? [bsId]);
  if (config.bootstrapServer !== undefined) reserved.add(bsId);
  for (const s of config.servers) {
    if (s.securityInstanceId !== undefined) reserved.add(s.securityInstanceId);
  }
  const securityId = allocator(reserved);
  const serverId = allocator(
    config.servers.flatMap((s) => (s.serverInstanceId === undefined ? [] : [s.serverInstanceId])),
  );

  if (config.bootstrapServer !== undefined) {
    out.push({
      kind: 'security',
      path: LwM2mPath.of(0, bsId),
      node: bootstrapSecurity(bsId, config.bootstrapServer),
    });
  }
  for (const s of config.servers) {
    const id = s.securityInstanceId ?? securityId();
    out.push({ kind: 'security', path: LwM2mPath.of(0, id), node: serverSecurity(id, s) });
  }
  for (const s of config.servers) {
    const id = s.serverInstanceId ?? serverId();
    out.push({ kind: 'server', path: LwM2mPath.of(1, id), node: serverInstance(id, s) });
  }
  (config.acls ?? []).forEach((a, id) => {
    const entries = Object.entries(a.acl).map(([ssid, bits]) => [Number(ssid), bits] as const);
    out.push({
      kind: 'acl',
      path: LwM2mPath.of(2, id),
      node: objectInstance(id, [
        singleResource(0, 'integer', a.objectId),
        singleResource(1, 'integer', a.instanceId),
        ...(entries.length === 0 ? [] : [multipleResource(2, 'integer', entries)]),
        singleResource(3, 'integer', a.owner),
      ]),
    });
  });

  // Other objects: one write per object instance, with every configured resource of it.
  const byInstance = new Map<string, LwM2mResource[]>();
  (config.writes ?? []).forEach((w, i) => {
    const where = `writes[${i}]`;
    const p = LwM2mPath.parse(w.path);
    const { type } = writeType(w, registry, where);
    const resource =
      w.values === undefined
        ? singleResource(
            p.resourceId!,
            type,
            valueFromJson(type, w.value, `${where}.value`).value as never,
          )
        : multipleResource(
            p.resourceId!,
            type,
            Object.entries(w.values).map(
              ([id, v]) =>
                [
                  Number(id),
                  valueFromJson(type, v, `${where}.values["${id}"]`).value as never,
                ] as const,
            ),
          );
    const key = `${p.parent()}`;
    const list = byInstance.get(key);
    if (list === undefined) byInstance.set(key, [resource]);
    else list.push(resource);
  });
  const instances = [...byInstance.entries()]
    .map(([key, resources]) => ({ path: LwM2mPath.parse(key), resources }))
    .sort((a, b) => LwM2mPath.compare(a.path, b.path));
  for (const { path, resources } of instances) {
    out.push({ kind: 'object', path, node: objectInstance(path.instanceId!, resources) });
  }
  return out;
}

/** Every value of a plan, for Bootstrap-Pack (a composite payload rooted at `/`). */
export function planValues(plan: readonly PlannedWrite[]): PathValue[] {
  return plan.flatMap((w) => flattenNode(w.path, w.node));
}
