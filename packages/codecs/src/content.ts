import type { LwM2mPath, ObjectModel, PathValue, ResourceModel } from '@lwm2m-ts/core';

/**
 * One value at a full path, optionally with the time it was measured: what composite operations,
 * Send and notifications with history carry. `time` is in seconds as the payload gives it
 * (SenML base time + time, RFC 8428 §4.5.3; LwM2M JSON `bt` + `t`): values above 2^28 are
 * absolute (seconds since 1970), smaller ones are relative to now, as RFC 8428 §4.5.3 defines.
 */
export interface TimedValue extends PathValue {
  readonly time?: number;
}

/**
 * Where codecs find object models to type what they decode (TLV carries no types at all) and to
 * check what they encode. An `ObjectRegistry` from `@lwm2m-ts/registry` fits, as does any map
 * from object id to model. A server that knows which object versions a client registered binds
 * a provider to those versions.
 */
export interface ModelProvider {
  get(objectId: number): ObjectModel | undefined;
}

/** Options every codec call takes. */
export interface CodecOptions {
  /** Models to type and check values; without one, decoders fall back to wire types / opaque. */
  readonly model?: ModelProvider | undefined;
}

/** The resource model at `path` (resource or resource-instance level), if the provider has one. */
export function resourceModelAt(
  model: ModelProvider | undefined,
  path: LwM2mPath,
): ResourceModel | undefined {
  const [objectId, , resourceId] = path.ids;
  if (model === undefined || objectId === undefined || resourceId === undefined) return undefined;
  return model.get(objectId)?.resources.get(resourceId);
}

/** A provider over a fixed list of models (the latest given wins for one object id). */
export function modelsOf(models: Iterable<ObjectModel>): ModelProvider {
  const byId = new Map<number, ObjectModel>();
  for (const m of models) byId.set(m.id, m);
  return { get: (id) => byId.get(id) };
}
