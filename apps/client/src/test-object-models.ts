/** Test helpers (not built): an object model with every data type and operation. */
import { defineObjectModel, type ObjectModel, type ResourceModel } from '@lwm2m-ts/core';

const r = (
  id: number,
  name: string,
  operations: ResourceModel['operations'],
  type: ResourceModel['type'],
  extra: Partial<ResourceModel> = {},
): ResourceModel => ({ id, name, operations, type, multiple: false, mandatory: false, ...extra });

/**
 * Object 33000 "Test", multiple instances:
 *
 * | id | type     | ops | notes                   |
 * |----|----------|-----|-------------------------|
 * | 0  | string   | RW  | mandatory               |
 * | 1  | integer  | RW  | range 0..100            |
 * | 2  | unsigned | R   |                         |
 * | 3  | float    | RW  |                         |
 * | 4  | boolean  | RW  |                         |
 * | 5  | opaque   | RW  |                         |
 * | 6  | time     | RW  |                         |
 * | 7  | objlnk   | RW  |                         |
 * | 8  | corelnk  | R   |                         |
 * | 9  | integer  | RW  | multiple                |
 * | 10 | none     | E   |                         |
 * | 11 | string   | W   | write-only              |
 * | 12 | string   | R   | mandatory, read-only    |
 */
export const TEST_MODEL: ObjectModel = defineObjectModel({
  id: 33000,
  name: 'Test',
  version: '1.1',
  lwm2mVersion: '1.1',
  multiple: true,
  mandatory: false,
  resources: [
    r(0, 'String', 'RW', 'string', { mandatory: true }),
    r(1, 'Integer', 'RW', 'integer', { range: { min: 0, max: 100 }, rangeEnumeration: '0..100' }),
    r(2, 'Unsigned', 'R', 'unsigned'),
    r(3, 'Float', 'RW', 'float'),
    r(4, 'Boolean', 'RW', 'boolean'),
    r(5, 'Opaque', 'RW', 'opaque'),
    r(6, 'Time', 'RW', 'time'),
    r(7, 'Objlnk', 'RW', 'objlnk'),
    r(8, 'Corelnk', 'R', 'corelnk'),
    r(9, 'Integers', 'RW', 'integer', { multiple: true }),
    r(10, 'Run', 'E', 'none'),
    r(11, 'Secret', 'W', 'string'),
    r(12, 'Label', 'R', 'string', { mandatory: true }),
  ],
});

/** Values of one instance of TEST_MODEL. */
export function testValues(n = 0) {
  return {
    0: `text ${n}`,
    1: 42,
    2: 2n ** 63n,
    3: 1.5,
    4: true,
    5: new Uint8Array([1, 2, 3]),
    6: new Date(1_700_000_000_000),
    7: { objectId: 3, instanceId: 0 },
    8: '</3/0>',
    9: { 0: 10, 1: 11 },
    11: 'hidden',
    12: 'label',
  };
}
