import {
  chooseModel,
  type InstanceInput,
  InstanceObject,
  type InstanceObjectOptions,
  type ModelChoice,
} from '../instance-object.js';

/** ACL bits, resource 2/x/2 (Core TS 1.2 Appendix E.3). */
export const AccessRight = {
  read: 1,
  write: 2,
  execute: 4,
  delete: 8,
  create: 16,
} as const;

/** One Access Control instance: who may do what on one object instance. */
export interface AccessControlEntry {
  /** Default: the next free id, in the order given. */
  readonly instanceId?: number;
  /** The object the ACL applies to (resource 0). */
  readonly objectId: number;
  /** Its instance (resource 1); 65535 for the right to create instances of the object. */
  readonly objectInstanceId: number;
  /** Rights by short server id (0: every other server), as `AccessRight` bits (resource 2). */
  readonly acl?: Readonly<Record<number, number>>;
  /** Short server id of the owner (resource 3); 65535 when only the bootstrap server owns it. */
  readonly owner: number;
}

export function accessControlInstance(entry: AccessControlEntry): InstanceInput {
  return {
    0: entry.objectId,
    1: entry.objectInstanceId,
    2: entry.acl ?? {},
    3: entry.owner,
  };
}

export interface AccessControlObjectOptions
  extends ModelChoice,
    Omit<InstanceObjectOptions, 'instances'> {}

/**
 * The Access Control object (2), as data: the bootstrap server or a server provisions it and
 * reads it back. The object tree does not enforce these ACLs: the Core TS lets a client with a
 * single LwM2M server account skip access control (that server has full access), and enforcing
 * them for several servers is left for when the client registers to more than one.
 */
export function accessControlObject(
  entries: readonly AccessControlEntry[] = [],
  options: AccessControlObjectOptions = {},
): InstanceObject {
  const { model, version, ...hooks } = options;
  const object = new InstanceObject(chooseModel(2, { model, version }), hooks);
  let next = 0;
  for (const entry of entries) {
    let id = entry.instanceId;
    if (id === undefined) {
      const used = new Set(object.instanceIds());
      while (used.has(next)) next++;
      id = next;
    }
    object.addInstance(id, accessControlInstance(entry));
  }
  return object;
}
