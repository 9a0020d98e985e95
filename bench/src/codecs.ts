import { decode, decodeValues, encode, modelsOf, type TimedValue } from '@lwm2m-ts/codecs';
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
import { compare, type Row, rateRow } from './harness.js';

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

const SECTION = '5. Codecs';

/** `value` as cbor-x sees plain data: bigints and dates as numbers, links as strings. */
function plainValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.getTime() / 1000;
  if (typeof v === 'object' && v !== null && 'objectId' in v) {
    const l = v as { objectId: number; instanceId: number };
    return `${l.objectId}:${l.instanceId}`;
  }
  return v;
}

export async function codecBenchmarks(quick: boolean): Promise<Row[]> {
  const rows: Row[] = [];
  const plainEncoder = new Encoder({ useRecords: false, mapsAsObjects: false });
  const plainDecoder = new Decoder({ useRecords: false, mapsAsObjects: false });
  const rounds = quick ? 5 : 11;
  const scale = quick ? 0.25 : 1;
  const its = (n: number) => Math.max(50, Math.round(n * scale));

  // Object 3, one instance: every format that carries an instance, next to cbor-x packing the
  // same values as a plain map (resource id → value, multiples as id → instance map).
  const node = device();
  const path = LwM2mPath.of(3, 0);
  const device3 = modelsOf([registry.get(3)!]);
  const plainDevice = new Map<number, unknown>(
    node.resources.map((r) => [
      r.id,
      r.kind === 'multipleResource'
        ? new Map(r.instances.map((ri) => [ri.id, plainValue(ri.value)]))
        : plainValue(r.value),
    ]),
  );
  const objectFormats: [string, number][] = [
    ['TLV', ContentFormat.TLV],
    ['SenML CBOR', ContentFormat.SENML_CBOR],
    ['SenML JSON', ContentFormat.SENML_JSON],
    ['LwM2M JSON', ContentFormat.LWM2M_JSON],
    ['LwM2M CBOR', ContentFormat.LWM2M_CBOR],
  ];
  for (const [name, format] of objectFormats) {
    const opts = { path, model: device3 };
    const bytes = encode(format, node, opts);
    const c = await compare({
      name: `object 3 (${node.resources.length} resources, ${bytes.length} B in ${name}): encode+decode`,
      subject: [name, () => decode(format, encode(format, node, opts), opts)],
      reference: [
        'cbor-x pack+unpack of the same values',
        () => plainDecoder.decode(plainEncoder.encode(plainDevice)),
      ],
      iterations: its(2_000),
      rounds,
    });
    rows.push(rateRow(SECTION, c));
  }

  // Ten temperature readings as a composite (Read-Composite answer, Send), next to cbor-x
  // packing the same records as SenML maps with integer labels (n = 0, v = 2).
  const values = tenRecords();
  const plain = values.map(
    (v) =>
      new Map<number, unknown>([
        [0, v.path.toString()],
        [2, v.value.value],
      ]),
  );
  const compositeFormats: [string, number, string?][] = [
    ['SenML CBOR', ContentFormat.SENML_CBOR, '≥ 0.5× cbor-x'],
    ['SenML JSON', ContentFormat.SENML_JSON],
    ['LwM2M CBOR', ContentFormat.LWM2M_CBOR],
  ];
  for (const [name, format, goal] of compositeFormats) {
    const opts = { path: LwM2mPath.ROOT, model: registry };
    const bytes = encode(format, values, opts);
    const c = await compare({
      name: `10-record composite (${bytes.length} B in ${name}): encode+decode`,
      subject: [
        name,
        () => decodeValues(format, encode(format, values, opts), { model: registry }),
      ],
      reference: [
        'cbor-x pack+unpack of the same records',
        () => plainDecoder.decode(plainEncoder.encode(plain)),
      ],
      iterations: its(5_000),
      rounds,
    });
    rows.push(rateRow(SECTION, c, goal === undefined ? undefined : { text: goal, minRatio: 0.5 }));
  }
  return rows;
}
