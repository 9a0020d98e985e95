/**
 * JSON shapes of the REST API other than values and nodes (those are in json-values.ts):
 * registrations, observations, Discover links, object models, security entries.
 */
import { ContentFormat, type Link, type ObjectModel, type ResourceModel } from '@lwm2m-ts/core';
import type { ObservationRecord } from '../observation-store.js';
import type { Registration } from '../registration.js';
import type { SecurityInfo } from '../security-store.js';

function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/** Content format names the API takes in `?format=` and shows in answers. */
export const FORMAT_NAMES: Readonly<Record<string, number>> = Object.freeze({
  text: ContentFormat.TEXT,
  'link-format': ContentFormat.LINK_FORMAT,
  opaque: ContentFormat.OPAQUE,
  cbor: ContentFormat.CBOR,
  'senml-json': ContentFormat.SENML_JSON,
  'senml-cbor': ContentFormat.SENML_CBOR,
  tlv: ContentFormat.TLV,
  'lwm2m-json': ContentFormat.LWM2M_JSON,
  'lwm2m-cbor': ContentFormat.LWM2M_CBOR,
});

const NAME_OF_FORMAT = new Map<number, string>(
  Object.entries(FORMAT_NAMES).map(([name, n]) => [n, name]),
);
NAME_OF_FORMAT.set(ContentFormat.LEGACY_TLV, 'tlv');
NAME_OF_FORMAT.set(ContentFormat.LEGACY_JSON, 'lwm2m-json');

/** `11542` → `"tlv"`; unknown numbers as their decimal text. */
export function formatLabel(format: number): string {
  return NAME_OF_FORMAT.get(format) ?? String(format);
}

export interface QueueStateJson {
  readonly awake: boolean;
  readonly queued: number;
}

/** A registration as `GET /api/clients` shows it; times are ISO-8601. */
export function registrationToJson(
  reg: Registration,
  queue?: QueueStateJson | undefined,
): Record<string, unknown> {
  return {
    endpoint: reg.endpoint,
    registrationId: reg.id,
    lwm2mVersion: reg.lwm2mVersion,
    lifetime: reg.lifetime,
    binding: reg.binding,
    queueMode: reg.queueMode,
    ...(reg.smsNumber === undefined ? {} : { smsNumber: reg.smsNumber }),
    rootPath: reg.rootPath,
    objectLinks: reg.objectLinks.map((l) => ({
      path: l.instanceId === undefined ? `/${l.objectId}` : `/${l.objectId}/${l.instanceId}`,
      objectId: l.objectId,
      ...(l.instanceId === undefined ? {} : { instanceId: l.instanceId }),
      ...(l.version === undefined ? {} : { version: l.version }),
    })),
    ...(reg.supportedFormats === undefined
      ? {}
      : { supportedFormats: reg.supportedFormats.map(formatLabel) }),
    address: reg.address,
    port: reg.port,
    transport: reg.transport,
    secure: reg.transport === 'dtls',
    ...(reg.identity === undefined ? {} : { identity: reg.identity }),
    ...(reg.node === undefined ? {} : { node: reg.node }),
    ...(reg.extraParameters === undefined ? {} : { extraParameters: reg.extraParameters }),
    registeredAt: iso(reg.registeredAt),
    lastUpdate: iso(reg.lastUpdate),
    expiresAt: iso(reg.expiresAt),
    ...(queue === undefined ? {} : { queue: { awake: queue.awake, queued: queue.queued } }),
  };
}

export function observationToJson(o: ObservationRecord): Record<string, unknown> {
  return {
    id: o.id,
    endpoint: o.endpoint,
    registrationId: o.registrationId,
    paths: [...o.paths],
    composite: o.composite,
    ...(o.contentFormat === undefined ? {} : { format: formatLabel(o.contentFormat) }),
    createdAt: iso(o.createdAt),
    ...(o.node === undefined ? {} : { node: o.node }),
  };
}

/**
 * A Discover link: `{ "path": "/3/0/7", "attributes": { "dim": "2", "pmin": "10", "obs": true } }`.
 * Values are the text as written; a flag is `true`; a repeated name gives an array.
 */
export function linkToJson(link: Link): {
  path: string;
  attributes: Record<string, string | true | (string | true)[]>;
} {
  const attributes: Record<string, string | true | (string | true)[]> = {};
  for (const [name, v] of link.attributes) {
    const value = v.kind === 'flag' ? true : v.value;
    const prev = attributes[name];
    if (prev === undefined) attributes[name] = value;
    else attributes[name] = Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return { path: link.uri, attributes };
}

export function resourceModelToJson(r: ResourceModel): Record<string, unknown> {
  return {
    id: r.id,
    name: r.name,
    type: r.type,
    operations: r.operations,
    multiple: r.multiple,
    mandatory: r.mandatory,
    ...(r.units === undefined ? {} : { units: r.units }),
    ...(r.rangeEnumeration === undefined ? {} : { rangeEnumeration: r.rangeEnumeration }),
    ...(r.range === undefined ? {} : { range: { min: r.range.min, max: r.range.max } }),
    ...(r.enumeration === undefined ? {} : { enumeration: [...r.enumeration] }),
  };
}

export function objectModelToJson(m: ObjectModel): Record<string, unknown> {
  return {
    id: m.id,
    name: m.name,
    version: m.version,
    lwm2mVersion: m.lwm2mVersion,
    ...(m.urn === undefined ? {} : { urn: m.urn }),
    multiple: m.multiple,
    mandatory: m.mandatory,
    resources: [...m.resources.values()].sort((a, b) => a.id - b.id).map(resourceModelToJson),
  };
}

/**
 * A security entry: `{ "endpoint", "mode": "psk", "identity", "key": "<hex>" }` or
 * `{ "endpoint", "mode": "nosec" }`. The key is shown in hex, as Leshan's demo server does: the
 * API is for operators who set the keys (protect it with `--token`).
 */
export function securityToJson(info: SecurityInfo): Record<string, unknown> {
  if (info.mode === 'nosec') return { endpoint: info.endpoint, mode: 'nosec' };
  return {
    endpoint: info.endpoint,
    mode: 'psk',
    identity: info.identity,
    key: Buffer.from(info.key.buffer, info.key.byteOffset, info.key.byteLength).toString('hex'),
  };
}
