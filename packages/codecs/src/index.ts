export { decodeCbor, encodeCbor } from './cbor.js';
export {
  type Content,
  decode,
  decodeValues,
  encode,
  formatName,
  NODE_FORMATS,
  type PathOptions,
} from './codec.js';
export {
  type CodecOptions,
  type ModelProvider,
  modelsOf,
  resourceModelAt,
  type TimedValue,
} from './content.js';
export { decodeLinkFormat, encodeLinkFormat } from './link-format.js';
export { decodeLwm2mCbor, encodeLwm2mCbor, type Lwm2mCborOptions } from './lwm2m-cbor.js';
export { decodeLwm2mJson, encodeLwm2mJson } from './lwm2m-json.js';
export { decodeOpaque, encodeOpaque } from './opaque.js';
export {
  decodeSenmlCbor,
  decodeSenmlCborPaths,
  encodeSenmlCbor,
  encodeSenmlCborPaths,
} from './senml-cbor.js';
export {
  decodeSenmlJson,
  decodeSenmlJsonPaths,
  encodeSenmlJson,
  encodeSenmlJsonPaths,
} from './senml-json.js';
export { decodeText, encodeText } from './text.js';
export { decodeTlv, encodeTlv } from './tlv.js';
export {
  compositeFormats,
  isLwM2mVersion,
  LWM2M_VERSIONS,
  type LwM2mVersion,
  preferredFormat,
  supportedFormats,
} from './versions.js';
export { checkValueForModel, typeWireValue, type WireValue } from './wire-value.js';
