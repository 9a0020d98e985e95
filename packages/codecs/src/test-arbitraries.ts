// Shared fast-check arbitraries for codec tests: random object models and nodes that are valid
// under them, and a fuzz harness for decoders. Test-only (excluded from the build).
import {
  DATA_TYPES,
  type DataType,
  DecodeError,
  defineObjectModel,
  type LwM2mNode,
  type LwM2mObjectInstance,
  LwM2mPath,
  type LwM2mResource,
  lwm2mObject,
  multipleResource,
  type ObjectModel,
  objectInstance,
  type ResourceModel,
  resourceInstance,
  singleResource,
  type TypedValue,
  typedValue,
} from '@lwm2m-ts/core';
import fc from 'fast-check';
import { expect } from 'vitest';
import type { TimedValue } from './content.js';

const id = fc.integer({ min: 0, max: 65535 });

export function arbValue(type: DataType): fc.Arbitrary<TypedValue> {
  switch (type) {
    case 'string':
      return fc.string({ unit: 'grapheme', maxLength: 20 }).map((v) => typedValue('string', v));
    case 'corelnk':
      return fc.constantFrom('</3/0>', '</1/0>;ver=1.1', '').map((v) => typedValue('corelnk', v));
    case 'integer':
      return fc
        .bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
        .map((v) => typedValue('integer', v));
    case 'unsigned':
      return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => typedValue('unsigned', v));
    case 'float':
      return fc
        .double({ noNaN: true, noDefaultInfinity: true })
        .filter((v) => !Object.is(v, -0))
        .map((v) => typedValue('float', v));
    case 'boolean':
      return fc.boolean().map((v) => typedValue('boolean', v));
    case 'opaque':
      return fc.uint8Array({ maxLength: 40 }).map((v) => typedValue('opaque', v));
    case 'time':
      // Whole seconds: every format carries time as seconds.
      return fc
        .integer({ min: -(2 ** 40), max: 2 ** 40 })
        .map((s) => typedValue('time', new Date(s * 1000)));
    case 'objlnk':
      return fc.record({ objectId: id, instanceId: id }).map((v) => typedValue('objlnk', v));
  }
}

export interface ArbOptions {
  /** Data types to draw from (default: all). */
  readonly types?: readonly DataType[];
  /** Allow instances without resources and multiple resources without instances. */
  readonly allowEmpty?: boolean;
}

export const arbResourceModel = (
  rid: number,
  types: readonly DataType[],
): fc.Arbitrary<ResourceModel> =>
  fc.record({
    id: fc.constant(rid),
    name: fc.constant(`R${rid}`),
    operations: fc.constant('RW' as const),
    multiple: fc.boolean(),
    mandatory: fc.constant(false),
    type: fc.constantFrom(...types),
  });

export function arbObjectModel(opts: ArbOptions = {}): fc.Arbitrary<ObjectModel> {
  const types = opts.types ?? DATA_TYPES;
  return fc
    .record({
      oid: id,
      rids: fc.uniqueArray(fc.oneof(fc.integer({ min: 0, max: 30 }), id), {
        minLength: 1,
        maxLength: 8,
      }),
    })
    .chain(({ oid, rids }) =>
      fc.tuple(...rids.map((rid) => arbResourceModel(rid, types))).map((resources) =>
        defineObjectModel({
          id: oid,
          name: `O${oid}`,
          version: '1.0',
          lwm2mVersion: '1.1',
          multiple: true,
          mandatory: false,
          resources,
        }),
      ),
    );
}

function arbResource(r: ResourceModel, opts: ArbOptions): fc.Arbitrary<LwM2mResource> {
  const type = r.type as DataType;
  if (!r.multiple) return arbValue(type).map((v) => singleResource(r.id, type, v.value as never));
  return fc
    .uniqueArray(fc.tuple(fc.oneof(fc.integer({ min: 0, max: 9 }), id), arbValue(type)), {
      minLength: opts.allowEmpty ? 0 : 1,
      maxLength: 3,
      selector: ([k]) => k,
    })
    .map((entries) =>
      multipleResource(
        r.id,
        type,
        entries.map(([k, v]) => resourceInstance(k, type, v.value as never)),
      ),
    );
}

export function arbInstance(
  model: ObjectModel,
  iid: number,
  opts: ArbOptions = {},
): fc.Arbitrary<LwM2mObjectInstance> {
  const all = [...model.resources.values()];
  return fc
    .subarray(all, { minLength: opts.allowEmpty ? 0 : 1 })
    .chain((rs) => fc.tuple(...rs.map((r) => arbResource(r, opts))))
    .map((resources) => objectInstance(iid, resources));
}

/** A model, and a node valid under it at a random level, with the path it lives at. */
export function arbModelAndNode(
  opts: ArbOptions = {},
): fc.Arbitrary<{ model: ObjectModel; path: LwM2mPath; node: LwM2mNode }> {
  return arbObjectModel(opts).chain((model) => {
    const o = model.id;
    const instance = fc
      .integer({ min: 0, max: 65534 })
      .chain((iid) => arbInstance(model, iid, opts));
    const atObject = fc
      .uniqueArray(fc.integer({ min: 0, max: 65534 }), {
        minLength: opts.allowEmpty ? 0 : 1,
        maxLength: 3,
      })
      .chain((iids) => fc.tuple(...iids.map((iid) => arbInstance(model, iid, opts))))
      .map((insts) => ({ model, path: LwM2mPath.of(o), node: lwm2mObject(o, insts) as LwM2mNode }));
    const atInstance = instance.map((inst) => ({
      model,
      path: LwM2mPath.of(o, inst.id),
      node: inst as LwM2mNode,
    }));
    const atResource = fc
      .tuple(fc.integer({ min: 0, max: 65534 }), fc.constantFrom(...model.resources.values()))
      .chain(([iid, r]) =>
        arbResource(r, opts).map((res) => ({
          model,
          path: LwM2mPath.of(o, iid, r.id),
          node: res as LwM2mNode,
        })),
      );
    const atResourceInstance = fc
      .tuple(fc.integer({ min: 0, max: 65534 }), fc.constantFrom(...model.resources.values()), id)
      .chain(([iid, r, riid]) =>
        arbValue(r.type as DataType).map((v) => ({
          model,
          path: LwM2mPath.of(o, iid, r.id, riid),
          node: resourceInstance(riid, v.type, v.value as never) as LwM2mNode,
        })),
      );
    const multiples = [...model.resources.values()].some((r) => r.multiple);
    return multiples
      ? fc.oneof(
          atObject,
          atInstance,
          atResource,
          atResourceInstance.filter(
            ({ model: m, path }) => m.resources.get(path.resourceId!)!.multiple,
          ),
        )
      : fc.oneof(atObject, atInstance, atResource);
  });
}

/**
 * Decodes `runs` random and mutated inputs (seeded, so failures replay) and asserts that every
 * failure is a `DecodeError` naming `format`. Mutations of valid `seeds` reach deep into a
 * decoder, where purely random bytes stop at the first check.
 */
export function fuzzDecoder(
  format: string,
  decode: (bytes: Uint8Array) => unknown,
  seeds: readonly Uint8Array[],
  opts: { runs?: number; seed?: number } = {},
): void {
  const mutate = fc
    .tuple(
      // constantFrom needs one value; `mutate` is only used when there are seeds.
      fc.constantFrom(...(seeds.length > 0 ? seeds : [new Uint8Array()])),
      fc.array(
        fc.tuple(
          fc.nat(),
          fc.integer({ min: 0, max: 255 }),
          fc.constantFrom('set', 'insert', 'delete', 'truncate'),
        ),
        {
          minLength: 1,
          maxLength: 4,
        },
      ),
    )
    .map(([seed, edits]) => {
      const bytes = [...seed];
      for (const [pos, byte, op] of edits) {
        const at = bytes.length === 0 ? 0 : pos % bytes.length;
        if (op === 'set' && bytes.length > 0) bytes[at] = byte;
        else if (op === 'insert') bytes.splice(at, 0, byte);
        else if (op === 'delete') bytes.splice(at, 1);
        else if (op === 'truncate') bytes.length = at;
      }
      return Uint8Array.from(bytes);
    });
  const input =
    seeds.length > 0
      ? fc.oneof(fc.uint8Array({ maxLength: 64 }), mutate, mutate)
      : fc.uint8Array({ maxLength: 64 });
  fc.assert(
    fc.property(input, (bytes) => {
      try {
        decode(bytes);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        expect(e.format).toBe(format);
      }
    }),
    { numRuns: opts.runs ?? 100_000, seed: opts.seed ?? 0x1e2d3c },
  );
}

/**
 * A model and a list of timed values valid under it, as composite operations, Send and
 * notifications with history carry them: 1–8 values at resource or resource-instance paths of
 * the model's object (a path may repeat: a history), each with or without a time (seconds,
 * integral or not, never -0). `times` forces every value to have one, or none.
 */
export function arbTimedValues(
  opts: ArbOptions & { readonly times?: 'all' | 'none' | 'any' } = {},
): fc.Arbitrary<{ model: ObjectModel; values: TimedValue[] }> {
  const time = fc.oneof(
    fc.integer({ min: 0, max: 2 ** 32 }),
    fc.integer({ min: -(2 ** 28), max: 2 ** 28 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((t) => !Object.is(t, -0)),
  );
  const maybeTime =
    opts.times === 'all'
      ? time
      : opts.times === 'none'
        ? fc.constant(undefined)
        : fc.option(time, { nil: undefined });
  return arbObjectModel(opts).chain((model) => {
    const resources = [...model.resources.values()];
    const entry = fc
      .tuple(
        fc.oneof(fc.integer({ min: 0, max: 3 }), id),
        fc.constantFrom(...resources),
        fc.oneof(fc.integer({ min: 0, max: 3 }), id),
        maybeTime,
      )
      .chain(([iid, r, riid, t]) =>
        arbValue(r.type as DataType).map((value): TimedValue => {
          const path = r.multiple
            ? LwM2mPath.of(model.id, iid, r.id, riid)
            : LwM2mPath.of(model.id, iid, r.id);
          return t === undefined ? { path, value } : { path, value, time: t };
        }),
      );
    return fc.array(entry, { minLength: 1, maxLength: 8 }).map((values) => ({ model, values }));
  });
}
