import type { ModelProvider } from '@lwm2m-ts/codecs';
import type { ObjectModel } from '@lwm2m-ts/core';
import type { ObjectRegistry } from '@lwm2m-ts/registry';
import { objectVersions, type Registration } from './registration.js';

/**
 * The models a registration's payloads are typed with: each object in the version the client
 * registered (`ver=`, Core TS 1.2 §6.2.1; 1.0 objects when absent), the nearest known version when
 * the registry lacks that one, and a resource-less stand-in for unknown objects (their values
 * decode as opaque or with their wire types).
 */
export function modelsForRegistration(registry: ObjectRegistry, reg: Registration): ModelProvider {
  const versions = objectVersions(reg);
  const cache = new Map<number, ObjectModel>();
  return {
    get(objectId: number): ObjectModel | undefined {
      let model = cache.get(objectId);
      if (model === undefined) {
        const version = versions.get(objectId);
        model =
          version === undefined
            ? (registry.get(objectId, '1.0') ?? registry.resolve(objectId).model)
            : registry.resolve(objectId, version).model;
        cache.set(objectId, model);
      }
      return model;
    },
  };
}
