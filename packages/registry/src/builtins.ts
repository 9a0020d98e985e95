import {
  defineObjectModel,
  type ObjectModel,
  type Operations,
  type ResourceModel,
  type ResourceType,
} from '@lwm2m-ts/core';
import { BUILTIN_OBJECTS, REGISTRY_SNAPSHOT } from './builtins.generated.js';
import { parseRangeEnumeration } from './range-enumeration.js';

/**
 * Rows of `builtins.generated.ts`: one tuple per resource and per object version, so the
 * shipped data stays small. Flags are 1/0. A trailing empty string is omitted.
 */
export type ResourceRow = readonly [
  id: number,
  name: string,
  operations: Operations,
  type: ResourceType,
  multiple: 0 | 1,
  mandatory: 0 | 1,
  rangeEnumeration?: string,
  units?: string,
];

export type ObjectRow = readonly [
  id: number,
  name: string,
  version: string,
  lwm2mVersion: string,
  urn: string,
  multiple: 0 | 1,
  mandatory: 0 | 1,
  resources: readonly ResourceRow[],
];

/** The OMA registry commit the built-in models were generated from. */
export const BUILTIN_SNAPSHOT: string = REGISTRY_SNAPSHOT;

let models: readonly ObjectModel[] | undefined;

/**
 * The built-in models: core objects 0–7, 9, 10, 11, 16, 19, 21 and IPSO 3200–3203, 3300–3350,
 * every version known to the registry snapshot, by id then version.
 * Built on first use and shared: the models are frozen.
 */
export function builtinModels(): readonly ObjectModel[] {
  models ??= Object.freeze(BUILTIN_OBJECTS.map(toModel));
  return models;
}

function toModel(row: ObjectRow): ObjectModel {
  const [id, name, version, lwm2mVersion, urn, multiple, mandatory, resources] = row;
  return defineObjectModel(
    {
      id,
      name,
      ...(urn !== '' ? { urn } : {}),
      version,
      lwm2mVersion,
      multiple: multiple === 1,
      mandatory: mandatory === 1,
      resources: resources.map(toResource),
    },
    'builtins',
  );
}

function toResource(row: ResourceRow): ResourceModel {
  const [id, name, operations, type, multiple, mandatory, rangeEnumeration = '', units = ''] = row;
  return {
    id,
    name,
    operations,
    multiple: multiple === 1,
    mandatory: mandatory === 1,
    type,
    // range/enumeration are derived, as `parseDdf` does, rather than stored twice.
    ...(rangeEnumeration !== ''
      ? { rangeEnumeration, ...parseRangeEnumeration(rangeEnumeration) }
      : {}),
    ...(units !== '' ? { units } : {}),
  };
}
