import {
  ContentFormat,
  canonicalContentFormat,
  DecodeError,
  EncodeError,
  flattenNode,
  InvalidValueError,
  isContentFormat,
  type LwM2mError,
  type LwM2mNode,
  LwM2mPath,
  multipleResource,
  NotAcceptableError,
  nodeFromValues,
  type TypedValue,
  UnsupportedContentFormatError,
} from '@lwm2m-ts/core';
import { decodeCbor, encodeCbor } from './cbor.js';
import {
  type CodecOptions,
  type ModelProvider,
  resourceModelAt,
  type TimedValue,
} from './content.js';
import { decodeLwm2mCbor, encodeLwm2mCbor } from './lwm2m-cbor.js';
import { decodeLwm2mJson, encodeLwm2mJson } from './lwm2m-json.js';
import { decodeOpaque, encodeOpaque } from './opaque.js';
import { decodeSenmlCbor, encodeSenmlCbor } from './senml-cbor.js';
import { decodeSenmlJson, encodeSenmlJson } from './senml-json.js';
import { decodeText, encodeText } from './text.js';
import { decodeTlv, encodeTlv } from './tlv.js';
import { checkValueForModel } from './wire-value.js';

/**
 * What a payload carries: a node (Read/Write/Observe of one path) or a list of path→value
 * entries, optionally timestamped (composite operations, Send, notifications with history).
 */
export type Content = LwM2mNode | readonly TimedValue[];

export interface PathOptions extends CodecOptions {
  /** The path the request targets: what a node payload stands for. */
  readonly path: LwM2mPath | string;
}

/** The content formats `encode`/`decode` handle (link format has its own functions). */
export const NODE_FORMATS: readonly ContentFormat[] = [
  ContentFormat.TEXT,
  ContentFormat.OPAQUE,
  ContentFormat.CBOR,
  ContentFormat.SENML_JSON,
  ContentFormat.SENML_CBOR,
  ContentFormat.TLV,
  ContentFormat.LWM2M_JSON,
  ContentFormat.LWM2M_CBOR,
];

const FORMAT_NAMES: Readonly<Record<number, string>> = {
  [ContentFormat.TEXT]: 'text/plain',
  [ContentFormat.LINK_FORMAT]: 'link-format',
  [ContentFormat.OPAQUE]: 'opaque',
  [ContentFormat.CBOR]: 'CBOR',
  [ContentFormat.SENML_JSON]: 'SenML JSON',
  [ContentFormat.SENML_CBOR]: 'SenML CBOR',
  [ContentFormat.TLV]: 'TLV',
  [ContentFormat.LWM2M_JSON]: 'LwM2M JSON',
  [ContentFormat.LWM2M_CBOR]: 'LwM2M CBOR',
};

/** The name codec errors use for a content format (`TLV: at offset 3: ...`). */
export function formatName(format: number): string {
  return (
    FORMAT_NAMES[isContentFormat(format) ? canonicalContentFormat(format) : format] ??
    `format ${format}`
  );
}

/** Formats that carry one value only: a single resource or a resource instance. */
const SINGLE_VALUE_FORMATS: ReadonlySet<number> = new Set([
  ContentFormat.TEXT,
  ContentFormat.OPAQUE,
  ContentFormat.CBOR,
]);

/** Formats that carry several root paths (composite operations and Send; Core TS 1.2 §6.3.8). */
const COMPOSITE_FORMATS: ReadonlySet<number> = new Set([
  ContentFormat.SENML_JSON,
  ContentFormat.SENML_CBOR,
  ContentFormat.LWM2M_CBOR,
]);

function knownFormat(format: number, direction: 'encode' | 'decode'): ContentFormat {
  const f = isContentFormat(format) ? canonicalContentFormat(format) : undefined;
  if (f === undefined || !NODE_FORMATS.includes(f)) {
    const message = `content format ${format} is not one this codec ${direction}s as LwM2M content`;
    throw direction === 'encode'
      ? new NotAcceptableError(message)
      : new UnsupportedContentFormatError(message);
  }
  return f;
}

function isNodeContent(content: Content): content is LwM2mNode {
  return !Array.isArray(content);
}

/**
 * Encodes content in `format`. A node is what lives at `options.path`; a value list may hold
 * values under several paths only in the composite formats. Throws `NotAcceptableError` (4.06)
 * when the format cannot carry the content (text/plain for an instance, TLV for timestamped
 * values) and `EncodeError` when a value breaks the model.
 */
export function encode(format: number, content: Content, options: PathOptions): Uint8Array {
  const f = knownFormat(format, 'encode');
  const path = LwM2mPath.from(options.path);
  const name = formatName(f);
  if (SINGLE_VALUE_FORMATS.has(f)) {
    const value = singleValue(content, path, name);
    checkValueForModel(value, resourceModelAt(options.model, path), {
      format: name,
      path: `${path}`,
    });
    if (f === ContentFormat.TEXT) return encodeText(value);
    if (f === ContentFormat.OPAQUE) return encodeOpaque(value);
    return encodeCbor(value);
  }
  let values: readonly TimedValue[];
  let node: LwM2mNode | undefined;
  if (isNodeContent(content)) {
    node = content;
    values = shaped(() => flattenNode(path, content), name, 'encode');
    checkShape(content, path, options.model, name, 'encode');
  } else {
    values = content;
    if (!COMPOSITE_FORMATS.has(f)) {
      for (const v of values) {
        if (!path.contains(v.path)) {
          throw new NotAcceptableError(`${name} cannot carry ${v.path}: it lies outside ${path}`);
        }
      }
    }
  }
  switch (f) {
    case ContentFormat.TLV: {
      if (values.some((v) => v.time !== undefined)) {
        throw new NotAcceptableError(`${name} cannot carry timestamped values`);
      }
      node ??= shaped(() => nodeFromValues(path, values), name, 'encode');
      return encodeTlv(path, node, options);
    }
    case ContentFormat.LWM2M_JSON:
      return encodeLwm2mJson(path, values, options);
    case ContentFormat.SENML_JSON:
      return encodeSenmlJson(values, options);
    case ContentFormat.SENML_CBOR:
      return encodeSenmlCbor(values, options);
    default:
      if (values.some((v) => v.time !== undefined)) {
        throw new NotAcceptableError(`${name} cannot carry timestamped values`);
      }
      return encodeLwm2mCbor(values, options);
  }
}

/**
 * Decodes a payload that answers or carries one path (`options.path`) into the node living
 * there. Values outside the path, or shaped against the model (a multiple resource where the
 * model says single), are decode errors (4.00).
 */
export function decode(format: number, bytes: Uint8Array, options: PathOptions): LwM2mNode {
  const f = knownFormat(format, 'decode');
  const path = LwM2mPath.from(options.path);
  const name = formatName(f);
  if (f === ContentFormat.TLV) {
    const node = decodeTlv(bytes, path, options);
    checkShape(node, path, options.model, name, 'decode');
    return node;
  }
  if (SINGLE_VALUE_FORMATS.has(f)) {
    const [{ value }] = decodeSingle(f, bytes, path, options, name) as [TimedValue];
    return shaped(() => nodeFromValues(path, [{ path, value }]), name, 'decode');
  }
  const values = decodeList(f, bytes, path, options);
  for (const v of values) {
    if (!path.contains(v.path)) {
      throw new DecodeError(`${v.path} lies outside the target ${path}`, { format: name });
    }
  }
  if (values.length === 0 && path.isResource()) {
    // An empty list answers a Read of a multiple resource without instances.
    const model = resourceModelAt(options.model, path);
    if (model?.multiple && model.type !== 'none')
      return multipleResource(path.resourceId!, model.type, []);
    throw new DecodeError(`no value for ${path}`, { format: name });
  }
  const node = shaped(() => nodeFromValues(path, values), name, 'decode');
  checkShape(node, path, options.model, name, 'decode');
  return node;
}

/**
 * Decodes a payload into its path→value entries: composite answers, Send, notifications with
 * history, and any single-path payload when the caller wants leaves rather than a node.
 * Single-value formats need `path` (they carry no path of their own).
 */
export function decodeValues(
  format: number,
  bytes: Uint8Array,
  options: CodecOptions & { readonly path?: LwM2mPath | string },
): TimedValue[] {
  const f = knownFormat(format, 'decode');
  const name = formatName(f);
  const path = options.path === undefined ? undefined : LwM2mPath.from(options.path);
  if (path === undefined && !COMPOSITE_FORMATS.has(f)) {
    throw new UnsupportedContentFormatError(`${name} needs the target path to be decoded`);
  }
  if (f === ContentFormat.TLV) {
    const node = decodeTlv(bytes, path!, options);
    return flattenNode(path!, node);
  }
  if (SINGLE_VALUE_FORMATS.has(f)) return decodeSingle(f, bytes, path!, options, name);
  return decodeList(f, bytes, path ?? LwM2mPath.ROOT, options);
}

function decodeList(
  f: ContentFormat,
  bytes: Uint8Array,
  path: LwM2mPath,
  options: CodecOptions,
): TimedValue[] {
  switch (f) {
    case ContentFormat.SENML_JSON:
      return decodeSenmlJson(bytes, options);
    case ContentFormat.SENML_CBOR:
      return decodeSenmlCbor(bytes, options);
    case ContentFormat.LWM2M_JSON:
      return decodeLwm2mJson(bytes, path, options);
    default:
      return decodeLwm2mCbor(bytes, options);
  }
}

function decodeSingle(
  f: ContentFormat,
  bytes: Uint8Array,
  path: LwM2mPath,
  options: CodecOptions,
  name: string,
): TimedValue[] {
  if (!path.isResource() && !path.isResourceInstance()) {
    throw new UnsupportedContentFormatError(
      `${name} carries a single value, not the ${path.level} ${path}`,
    );
  }
  const model = resourceModelAt(options.model, path);
  if (model?.multiple && path.isResource()) {
    throw new UnsupportedContentFormatError(`${name} cannot carry the multiple resource ${path}`);
  }
  const known = model !== undefined && model.type !== 'none' ? model.type : undefined;
  let value: TypedValue;
  if (f === ContentFormat.TEXT) value = decodeText(bytes, known ?? 'string', path);
  else if (f === ContentFormat.OPAQUE) {
    if (known !== undefined && known !== 'opaque') {
      throw new DecodeError(`${path}: opaque content where the model says ${known}`, {
        format: name,
      });
    }
    value = decodeOpaque(bytes);
  } else value = decodeCbor(bytes, model, path);
  return [{ path, value }];
}

function singleValue(content: Content, path: LwM2mPath, name: string): TypedValue {
  if (isNodeContent(content)) {
    if (content.kind === 'singleResource' || content.kind === 'resourceInstance') {
      return { type: content.type, value: content.value } as TypedValue;
    }
    throw new NotAcceptableError(`${name} carries a single value, not a ${content.kind} (${path})`);
  }
  const [only, ...rest] = content;
  if (only === undefined || rest.length > 0 || !only.path.equals(path) || only.time !== undefined) {
    throw new NotAcceptableError(`${name} carries exactly one untimed value at ${path}`);
  }
  return only.value;
}

function codecError(
  direction: 'encode' | 'decode',
  message: string,
  format: string,
  cause?: unknown,
): LwM2mError {
  return direction === 'encode'
    ? new EncodeError(message, { format, cause })
    : new DecodeError(message, { format, cause });
}

/** Node-model shape errors (values outside the path, duplicates) become codec errors. */
function shaped<T>(fn: () => T, format: string, direction: 'encode' | 'decode'): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof InvalidValueError) throw codecError(direction, e.message, format, e);
    throw e;
  }
}

/**
 * Refuses a node whose resources are single where the model says multiple or the reverse: the
 * peer would read it as a different resource (Core TS 1.2 §6.1, "Multiple" in the object model).
 */
function checkShape(
  node: LwM2mNode,
  path: LwM2mPath,
  model: ModelProvider | undefined,
  format: string,
  direction: 'encode' | 'decode',
): void {
  const objectModel = model?.get(path.objectId!);
  if (objectModel === undefined) return;
  const check = (instanceId: number, r: LwM2mNode): void => {
    const rm = objectModel.resources.get(r.id);
    if (rm === undefined) return;
    const multiple = r.kind === 'multipleResource';
    if (rm.multiple !== multiple) {
      throw codecError(
        direction,
        `/${objectModel.id}/${instanceId}/${r.id} is ${multiple ? 'multiple' : 'single'} but the model says ${rm.multiple ? 'multiple' : 'single'}`,
        format,
      );
    }
  };
  switch (node.kind) {
    case 'object':
      for (const i of node.instances) for (const r of i.resources) check(i.id, r);
      break;
    case 'instance':
      for (const r of node.resources) check(node.id, r);
      break;
    case 'singleResource':
    case 'multipleResource':
      check(path.instanceId!, node);
      break;
    case 'resourceInstance':
      if (objectModel.resources.get(path.resourceId!)?.multiple === false) {
        throw codecError(
          direction,
          `${path.parent()} is a single resource: it has no instance ${node.id}`,
          format,
        );
      }
      break;
  }
}
