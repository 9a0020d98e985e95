import { ContentFormat, type PathLevel } from '@lwm2m-ts/core';

export type LwM2mVersion = '1.0' | '1.1' | '1.2';

export const LWM2M_VERSIONS: readonly LwM2mVersion[] = ['1.0', '1.1', '1.2'];

export function isLwM2mVersion(v: string): v is LwM2mVersion {
  return (LWM2M_VERSIONS as readonly string[]).includes(v);
}

const V1_0: readonly ContentFormat[] = [
  ContentFormat.TEXT,
  ContentFormat.LINK_FORMAT,
  ContentFormat.OPAQUE,
  ContentFormat.TLV,
  ContentFormat.LWM2M_JSON,
];
// Core TS 1.1 §7.4 adds CBOR, SenML JSON and SenML CBOR; TLV and LwM2M JSON stay for 1.0 peers.
const V1_1: readonly ContentFormat[] = [
  ...V1_0,
  ContentFormat.CBOR,
  ContentFormat.SENML_JSON,
  ContentFormat.SENML_CBOR,
];
// Core TS 1.2 §7.4 adds LwM2M CBOR.
const V1_2: readonly ContentFormat[] = [...V1_1, ContentFormat.LWM2M_CBOR];

const SUPPORTED: Readonly<Record<LwM2mVersion, readonly ContentFormat[]>> = {
  '1.0': V1_0,
  '1.1': V1_1,
  '1.2': V1_2,
};

/** The content formats an LwM2M version defines (what a peer of that version may use). */
export function supportedFormats(version: LwM2mVersion): readonly ContentFormat[] {
  return SUPPORTED[version];
}

/** Formats that carry path→value lists: Read/Write/Observe-Composite and Send (1.1+). */
export function compositeFormats(version: LwM2mVersion): readonly ContentFormat[] {
  if (version === '1.0') return [];
  return version === '1.1'
    ? [ContentFormat.SENML_CBOR, ContentFormat.SENML_JSON]
    : [ContentFormat.SENML_CBOR, ContentFormat.LWM2M_CBOR, ContentFormat.SENML_JSON];
}

/**
 * The content format a server should ask for when it reads `level` from a client of `version`.
 *
 * - 1.0: TLV at every level. Core TS 1.0 §6.4 makes TLV mandatory for clients, and it carries a
 *   single resource as well as an object.
 * - 1.1 / 1.2: SenML CBOR, the compact format every 1.1+ client that supports a self-describing
 *   format is most likely to have; LwM2M CBOR (1.2) when the client advertised it. 1.1+ clients
 *   list their formats in the registration's `ct` attribute (Core TS 1.2 §6.2.1); when given
 *   (`advertised`), the first format of our preference order that the client listed wins, so a
 *   client that speaks only SenML JSON and text is asked for SenML JSON, never TLV.
 * - A single resource or resource instance of a client that advertised nothing self-describing
 *   falls back to text/plain, which every version requires.
 */
export function preferredFormat(opts: {
  readonly version: LwM2mVersion;
  readonly level: Exclude<PathLevel, 'root'>;
  readonly advertised?: readonly number[] | undefined;
}): ContentFormat {
  const { version, level, advertised } = opts;
  const order: readonly ContentFormat[] =
    version === '1.0'
      ? [ContentFormat.TLV, ContentFormat.LWM2M_JSON]
      : version === '1.1'
        ? [
            ContentFormat.SENML_CBOR,
            ContentFormat.SENML_JSON,
            ContentFormat.TLV,
            ContentFormat.LWM2M_JSON,
          ]
        : [
            ContentFormat.LWM2M_CBOR,
            ContentFormat.SENML_CBOR,
            ContentFormat.SENML_JSON,
            ContentFormat.TLV,
            ContentFormat.LWM2M_JSON,
          ];
  if (advertised === undefined || advertised.length === 0) {
    // Without a `ct` list, LwM2M CBOR is optional even in 1.2: do not assume it.
    return order.find((f) => f !== ContentFormat.LWM2M_CBOR)!;
  }
  const found = order.find((f) => advertised.includes(f));
  if (found !== undefined) return found;
  if (level === 'resource' || level === 'resourceInstance') return ContentFormat.TEXT;
  return order.find((f) => f !== ContentFormat.LWM2M_CBOR)!;
}
