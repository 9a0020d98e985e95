import { compositeFormats, type LwM2mVersion } from '@lwm2m-ts/codecs';
import { ContentFormat, type PathLevel } from '@lwm2m-ts/core';

/** What a request carries or asks for: one path's node, or a path→value list (composite). */
export type PayloadKind = 'node' | 'composite';

// Our order of preference per version (Core TS 1.2 §7.4 lists what each version defines): the
// compact self-describing formats first, TLV and LwM2M JSON for 1.0 peers and as fallbacks.
const NODE_ORDER: Readonly<Record<LwM2mVersion, readonly number[]>> = {
  '1.0': [ContentFormat.TLV, ContentFormat.LWM2M_JSON],
  '1.1': [
    ContentFormat.SENML_CBOR,
    ContentFormat.SENML_JSON,
    ContentFormat.TLV,
    ContentFormat.LWM2M_JSON,
  ],
  '1.2': [
    ContentFormat.LWM2M_CBOR,
    ContentFormat.SENML_CBOR,
    ContentFormat.SENML_JSON,
    ContentFormat.TLV,
    ContentFormat.LWM2M_JSON,
  ],
};
// Single values also travel as text/plain (every version) and CBOR (1.1+).
const SINGLE_VALUE: readonly number[] = [ContentFormat.TEXT, ContentFormat.CBOR];

/**
 * Formats to try, best first, for a request on `level` to a client of `version`. Formats the client
 * listed in its `ct` attribute (1.1+) come first in our order; LwM2M CBOR is tried only when
 * listed (it is optional even in 1.2). `rejected` holds formats this client already refused
 * (4.06/4.15): they go last, so one refusal costs one retry, once per registration.
 */
export function formatCandidates(opts: {
  readonly version: LwM2mVersion;
  readonly level: Exclude<PathLevel, 'root'> | 'root';
  readonly kind: PayloadKind;
  readonly advertised?: readonly number[] | undefined;
  readonly rejected?: ReadonlySet<number> | undefined;
}): number[] {
  const { version, level, kind, advertised, rejected } = opts;
  let order: readonly number[];
  if (kind === 'composite') {
    order = compositeFormats(version);
  } else {
    order = NODE_ORDER[version];
    if (level === 'resource' || level === 'resourceInstance') {
      order = [
        ...order,
        ...SINGLE_VALUE.filter((f) => version !== '1.0' || f === ContentFormat.TEXT),
      ];
    }
  }
  const listed = advertised !== undefined && advertised.length > 0;
  const ranked = listed
    ? [
        ...order.filter((f) => advertised.includes(f)),
        ...order.filter((f) => !advertised.includes(f) && f !== ContentFormat.LWM2M_CBOR),
      ]
    : order.filter((f) => f !== ContentFormat.LWM2M_CBOR);
  if (rejected === undefined || rejected.size === 0) return ranked;
  return [...ranked.filter((f) => !rejected.has(f)), ...ranked.filter((f) => rejected.has(f))];
}
