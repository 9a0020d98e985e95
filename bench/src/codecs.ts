import {
  decode,
  decodeSenmlCbor,
  encode,
  encodeSenmlCbor,
  modelsOf,
  type TimedValue,
} from '@lwm2m-ts/codecs';
import {
  ContentFormat,
  LwM2mPath,
  multipleResource,
  objectInstance,
  singleResource,
  typedValue,
} from '@lwm2m-ts/core';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { Decoder, Encoder } from 'cbor-x';
import { type Comparison, compare } from './harness.js';

const registry = ObjectRegistry.withBuiltins();

/** Ten temperature readings of one composite value, as a Send or Read-Composite carries them. */
function tenRecords(): TimedValue[] {
  return Array.from({ length: 10 }, (_, i) => ({
    path: LwM2mPath.of(3303, i, 5700),
    value: typedValue('float', 20 + i / 4),
  }));
}

/** Object 3 with all 23 resources (executables and multiples with two instances). */
function device() {
  const model = registry.get(3)!;
  return objectInstance(
    0,
    [...model.resources.values()]
      .filter((r) => r.type !== 'none')
      .map((r) => {
        const sample = {
          string: 'ACME Corporation',
          integer: 42,
          unsigned: 42,
          float: 3.25,
          boolean: true,
          opaque: new Uint8Array([1, 2, 3]),
          time: new Date(1_700_000_000_000),
          objlnk: { objectId: 3, instanceId: 0 },
          corelnk: '</3/0>',
        }[r.type as Exclude<typeof r.type, 'none'>];
        return r.multiple
          ? multipleResource(r.id, r.type as never, [
              [0, sample as never],
              [1, sample as never],
            ])
          : singleResource(r.id, r.type as never, sample as never);
      }),
  );
}

export async function codecBenchmarks(): Promise<Comparison[]> {
  const rows: Comparison[] = [];
  const values = tenRecords();
  const model = registry;
  const plainEncoder = new Encoder({ useRecords: false, mapsAsObjects: false });
  const plainDecoder = new Decoder({ useRecords: false, mapsAsObjects: false });
  // The same records as plain CBOR maps with SenML's integer labels (n = 0, v = 2).
  const plain = values.map(
    (v) =>
      new Map<number, unknown>([
        [0, v.path.toString()],
        [2, v.value.value],
      ]),
  );
  rows.push(
    await compare({
      name: 'SenML CBOR, 10-record composite: encode+decode',
      subject: [
        'encodeSenmlCbor+decodeSenmlCbor',
        () => decodeSenmlCbor(encodeSenmlCbor(values, { model }), { model }),
      ],
      reference: [
        'cbor-x pack+unpack of the plain array',
        () => plainDecoder.decode(plainEncoder.encode(plain)),
      ],
      iterations: 5_000,
      rounds: 11,
      goal: '≤ 2×',
    }),
  );

  const node = device();
  const path = LwM2mPath.of(3, 0);
  const device3 = modelsOf([registry.get(3)!]);
  rows.push(
    await compare({
      name: `object 3 (${node.resources.length} readable resources): encode+decode`,
      subject: [
        'TLV',
        () =>
          decode(ContentFormat.TLV, encode(ContentFormat.TLV, node, { path, model: device3 }), {
            path,
            model: device3,
          }),
      ],
      reference: [
        'SenML CBOR',
        () =>
          decode(
            ContentFormat.SENML_CBOR,
            encode(ContentFormat.SENML_CBOR, node, { path, model: device3 }),
            {
              path,
              model: device3,
            },
          ),
      ],
      iterations: 2_000,
      rounds: 11,
    }),
  );
  return rows;
}
