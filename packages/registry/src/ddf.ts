import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  defineObjectModel,
  ModelError,
  type ObjectModel,
  type Operations,
  type ResourceModel,
  type ResourceType,
} from '@lwm2m-ts/core';
import { type EntityDecoderOptions, XMLParser, XMLValidator } from 'fast-xml-parser';
import { parseRangeEnumeration } from './range-enumeration.js';

/**
 * Reading object definitions (DDF XML, Core TS 1.2 Appendix D) in both schema shapes:
 * LWM2M.xsd (1.0) and LWM2M-v1_1.xsd, which only adds the `Unsigned Integer` and `Corelnk`
 * types. Only facts are kept (ids, names, versions, multiplicity, types, operations, ranges,
 * units); descriptions are dropped.
 */

export interface LoadDirectoryOptions {
  /** Also load `.xml` files in sub-directories (e.g. the registry's `version_history/`). */
  readonly recursive?: boolean;
}

/** A well-formed XML file that is not an object definition (e.g. the registry's `DDF.xml`). */
export interface SkippedFile {
  readonly source: string;
  readonly reason: string;
}

export interface DirectoryLoadResult {
  readonly models: ObjectModel[];
  /** One error per file that could not be read or is not a valid object definition. */
  readonly errors: ModelError[];
  readonly skipped: SkippedFile[];
}

/**
 * Parses a DDF document. A `<LWM2M>` root may hold several `<Object>` elements; each becomes a
 * frozen `ObjectModel`. Throws `ModelError` (prefixed with `source`) on anything else.
 */
export function parseDdf(xml: string, source?: string): ObjectModel[] {
  const doc = readDocument(xml, source);
  if (doc.kind === 'other') throw new ModelError(`not an object definition: ${doc.reason}`, source);
  return doc.models;
}

/** Reads and parses one DDF file; rejects with `ModelError` naming the file. */
export async function loadDdfFile(path: string): Promise<ObjectModel[]> {
  return parseDdf(await readText(path), path);
}

/**
 * Loads every `.xml` file of a directory (sorted by name). Bad files are reported in `errors`
 * and the good ones still load; XML files that are not object definitions (`DDF.xml`,
 * `LWM2M_senml_units.xml`, `Common.xml` in the OMA registry) are listed in `skipped`.
 */
export async function loadDdfDirectory(
  dir: string,
  options: LoadDirectoryOptions = {},
): Promise<DirectoryLoadResult> {
  const files = await listXmlFiles(dir, options.recursive ?? false);
  const texts = await mapLimit(files, 16, async (file) => {
    try {
      return await readText(file);
    } catch (e) {
      return e instanceof ModelError ? e : new ModelError(String(e), file);
    }
  });
  const result: DirectoryLoadResult = { models: [], errors: [], skipped: [] };
  files.forEach((file, i) => {
    const text = texts[i]!;
    if (text instanceof ModelError) {
      result.errors.push(text);
      return;
    }
    try {
      const doc = readDocument(text, file);
      if (doc.kind === 'other') result.skipped.push({ source: file, reason: doc.reason });
      else result.models.push(...doc.models);
    } catch (e) {
      result.errors.push(asModelError(e, file));
    }
  });
  return result;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new ModelError(`cannot read file: ${(e as Error).message}`, path, { cause: e });
  }
}

async function listXmlFiles(dir: string, recursive: boolean): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new ModelError(`cannot read directory: ${(e as Error).message}`, dir, { cause: e });
  }
  entries.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (recursive) files.push(...(await listXmlFiles(path, true)));
    } else if (entry.isFile() && entry.name.toLowerCase().endsWith('.xml')) {
      files.push(path);
    }
  }
  return files;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>) {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function asModelError(e: unknown, source: string | undefined): ModelError {
  if (e instanceof ModelError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new ModelError(`cannot parse: ${message}`, source, { cause: e });
}

// ---------------------------------------------------------------------------------------------
// XML layer

type XmlNode = string | XmlElement | XmlNode[];
interface XmlElement {
  [name: string]: XmlNode | undefined;
}

type Document =
  | { readonly kind: 'objects'; readonly models: ObjectModel[] }
  | { readonly kind: 'other'; readonly reason: string };

/**
 * Entities: the five predefined XML entities and character references are decoded (the
 * registry writes `&#60;7 to &#62;12.5`); entities declared in a DOCTYPE are never expanded,
 * as DDFs have no DOCTYPE and expansion is a denial-of-service vector. CDATA stays verbatim.
 */
const entityDecoder: EntityDecoderOptions = {
  decode: decodeEntities,
  setExternalEntities() {},
  addInputEntities() {},
  reset() {},
  setXmlVersion() {},
};

const PREDEFINED: Readonly<Record<string, string>> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
};

function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#[xX][0-9a-fA-F]{1,6}|#\d{1,7}|[a-z]+);/g, (whole, ref: string) => {
    if (ref[0] !== '#') return PREDEFINED[ref] ?? whole;
    const code =
      ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : Number(ref.slice(1));
    const valid = code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff);
    return valid ? String.fromCodePoint(code) : whole;
  });
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  // Values stay strings: ids are checked here, and `1.10` must not become the number 1.1.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: true,
  entityDecoder,
  isArray: (name) => name === 'Object' || name === 'Item',
});

function readDocument(xml: string, source: string | undefined): Document {
  if (typeof xml !== 'string') throw new ModelError('input is not a string', source);
  // A UTF-8 byte order mark is common in the registry (44 files); it is not content.
  const text = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    const where = col === undefined ? `line ${line}` : `line ${line}, column ${col}`;
    throw new ModelError(`not well-formed XML: ${msg} (${where})`, source);
  }
  let parsed: XmlElement;
  try {
    parsed = parser.parse(text) as XmlElement;
  } catch (e) {
    throw asModelError(e, source);
  }
  const roots = Object.keys(parsed).filter((k) => !k.startsWith('?') && !k.startsWith('!'));
  if (roots.length !== 1) {
    throw new ModelError(
      `not well-formed XML: expected one root element, found ${roots.length}`,
      source,
    );
  }
  const rootName = roots[0]!;
  if (rootName !== 'LWM2M') return { kind: 'other', reason: `root element is <${rootName}>` };
  const root = parsed[rootName];
  const objects = isElement(root) ? own(root, 'Object') : undefined;
  if (!Array.isArray(objects) || objects.length === 0) {
    throw new ModelError('no <Object> element in <LWM2M>', source);
  }
  const definitions: ObjectModel[] = [];
  const otherTypes = new Set<string>();
  objects.forEach((node, index) => {
    if (!isElement(node)) throw new ModelError(`<Object> #${index + 1} holds no elements`, source);
    // Core TS Appendix D: ObjectType is `MODefinition` for an object; the registry's Common.xml
    // uses `CommonResources` for reusable resources that belong to no object.
    const objectType = own(node, '@_ObjectType');
    if (typeof objectType === 'string' && objectType.trim() !== 'MODefinition') {
      otherTypes.add(objectType.trim());
      return;
    }
    definitions.push(readObject(node, index, source));
  });
  if (definitions.length === 0) {
    return { kind: 'other', reason: `<Object ObjectType="${[...otherTypes].join('", "')}">` };
  }
  return { kind: 'objects', models: definitions };
}

// ---------------------------------------------------------------------------------------------
// Model layer

function readObject(node: XmlElement, index: number, source: string | undefined): ObjectModel {
  const where = `<Object> #${index + 1}`;
  const idText = text(node, 'ObjectID', where, source);
  if (idText === undefined) throw new ModelError(`${where}: missing <ObjectID>`, source);
  const id = parseId(idText);
  if (id === undefined) {
    throw new ModelError(`${where}: ObjectID "${idText}" is not a number in 0..65535`, source);
  }
  const at = `object ${id}`;
  const req = (name: string): string => {
    const value = text(node, name, at, source);
    if (value === undefined) throw new ModelError(`${at}: missing <${name}>`, source);
    return value;
  };
  const name = collapse(req('Name'));
  if (name === '') throw new ModelError(`${at}: empty <Name>`, source);
  const urn = text(node, 'ObjectURN', at, source);
  const version = versionOf(text(node, 'ObjectVersion', at, source), 'ObjectVersion', at, source);
  const lwm2mVersion = versionOf(
    text(node, 'LWM2MVersion', at, source),
    'LWM2MVersion',
    at,
    source,
  );
  const multiple = multiplicity(req('MultipleInstances'), at, source);
  const mandatory = mandatoryOf(req('Mandatory'), at, source);

  const resourcesNode = own(node, 'Resources');
  if (resourcesNode === undefined) throw new ModelError(`${at}: missing <Resources>`, source);
  if (Array.isArray(resourcesNode)) {
    throw new ModelError(`${at}: <Resources> appears more than once`, source);
  }
  // `<Resources/>` (no Item) parses as an empty string: an object without resources.
  if (typeof resourcesNode === 'string' && resourcesNode !== '') {
    throw new ModelError(`${at}: <Resources> holds text instead of <Item> elements`, source);
  }
  const items = isElement(resourcesNode) ? own(resourcesNode, 'Item') : undefined;
  const resources: ResourceModel[] = [];
  const seen = new Set<number>();
  for (const [i, item] of (Array.isArray(items) ? items : []).entries()) {
    const resource = readResource(item, i, at, source);
    if (seen.has(resource.id)) {
      throw new ModelError(`${at}: duplicate resource id ${resource.id}`, source);
    }
    seen.add(resource.id);
    resources.push(resource);
  }
  const spec = {
    id,
    name,
    ...(urn ? { urn: urn.trim() } : {}),
    version,
    lwm2mVersion,
    multiple,
    mandatory,
    resources,
  };
  return defineObjectModel(spec, source);
}

function readResource(
  item: XmlNode,
  index: number,
  at: string,
  source: string | undefined,
): ResourceModel {
  const where = `${at}, <Item> #${index + 1}`;
  if (!isElement(item)) throw new ModelError(`${where}: <Item> holds no elements`, source);
  const idText = attribute(item, '@_ID');
  if (idText === undefined) throw new ModelError(`${where}: missing ID attribute`, source);
  const id = parseId(idText);
  if (id === undefined) {
    throw new ModelError(`${where}: resource ID "${idText}" is not a number in 0..65535`, source);
  }
  const rat = `${at}, resource ${id}`;
  const req = (name: string): string => {
    const value = text(item, name, rat, source);
    if (value === undefined) throw new ModelError(`${rat}: missing <${name}>`, source);
    return value;
  };
  const name = collapse(req('Name'));
  if (name === '') throw new ModelError(`${rat}: empty <Name>`, source);
  const operations = operationsOf(req('Operations'), rat, source);
  const multiple = multiplicity(req('MultipleInstances'), rat, source);
  const mandatory = mandatoryOf(req('Mandatory'), rat, source);
  const type = typeOf(req('Type'), rat, source);
  // The XSD requires RangeEnumeration and Units, but 290 resources of the registry omit them.
  const rangeEnumeration = text(item, 'RangeEnumeration', rat, source)?.trim() ?? '';
  const units = collapse(text(item, 'Units', rat, source) ?? '');
  const parsed = parseRangeEnumeration(rangeEnumeration);
  return {
    id,
    name,
    operations,
    multiple,
    mandatory,
    type,
    ...(rangeEnumeration !== '' ? { rangeEnumeration } : {}),
    ...parsed,
    ...(units !== '' ? { units } : {}),
  };
}

function parseId(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d{1,5}$/.test(t)) return undefined;
  const n = Number(t);
  return n <= 65535 ? n : undefined;
}

function versionOf(
  value: string | undefined,
  element: string,
  at: string,
  source: string | undefined,
): string {
  const v = value?.trim() ?? '';
  // Absent means 1.0 (Core TS 1.2 Appendix D); the registry also has empty `<ObjectVersion />`.
  if (v === '') return '1.0';
  if (!/^\d+\.\d+$/.test(v)) {
    throw new ModelError(`${at}: ${element} "${v}" is not major.minor`, source);
  }
  return v;
}

function multiplicity(value: string, at: string, source: string | undefined): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'multiple') return true;
  if (v === 'single') return false;
  throw new ModelError(`${at}: MultipleInstances "${value}" is not Single or Multiple`, source);
}

function mandatoryOf(value: string, at: string, source: string | undefined): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'mandatory') return true;
  if (v === 'optional') return false;
  throw new ModelError(`${at}: Mandatory "${value}" is not Mandatory or Optional`, source);
}

const OPERATIONS: Readonly<Record<string, Operations>> = {
  R: 'R',
  W: 'W',
  RW: 'RW',
  E: 'E',
  // Both XSDs allow an empty <Operations>: the resource allows no operation.
  '': 'NONE',
};

function operationsOf(value: string, at: string, source: string | undefined): Operations {
  const ops = Object.hasOwn(OPERATIONS, value.trim().toUpperCase())
    ? OPERATIONS[value.trim().toUpperCase()]
    : undefined;
  if (ops === undefined) throw new ModelError(`${at}: unknown operations "${value}"`, source);
  return ops;
}

/** DDF type names (LWM2M.xsd, LWM2M-v1_1.xsd) to core's names; keys are lower-case, no spaces. */
const TYPES: Readonly<Record<string, ResourceType>> = {
  string: 'string',
  integer: 'integer',
  unsignedinteger: 'unsigned',
  float: 'float',
  boolean: 'boolean',
  opaque: 'opaque',
  time: 'time',
  objlnk: 'objlnk',
  corelnk: 'corelnk',
  // Executable resources have an empty <Type>.
  '': 'none',
  none: 'none',
};

function typeOf(value: string, at: string, source: string | undefined): ResourceType {
  const key = value.replace(/\s+/g, '').toLowerCase();
  const type = Object.hasOwn(TYPES, key) ? TYPES[key] : undefined;
  if (type === undefined) throw new ModelError(`${at}: unknown type "${value}"`, source);
  return type;
}

function isElement(node: XmlNode | undefined): node is XmlElement {
  return typeof node === 'object' && node !== null && !Array.isArray(node);
}

function own(node: XmlElement, key: string): XmlNode | undefined {
  return Object.hasOwn(node, key) ? node[key] : undefined;
}

function attribute(node: XmlElement, key: string): string | undefined {
  const value = own(node, key);
  return typeof value === 'string' ? value : undefined;
}

/** Text of a child element; undefined when absent, an error when repeated or not text. */
function text(
  node: XmlElement,
  name: string,
  at: string,
  source: string | undefined,
): string | undefined {
  const value = own(node, name);
  if (value === undefined || typeof value === 'string') return value;
  if (Array.isArray(value)) throw new ModelError(`${at}: <${name}> appears more than once`, source);
  // An element with attributes parses as an object; its text is under `#text`.
  const textNode = own(value, '#text');
  const children = Object.keys(value).filter((k) => k !== '#text' && !k.startsWith('@_'));
  if (children.length > 0) throw new ModelError(`${at}: <${name}> must hold text only`, source);
  return typeof textNode === 'string' ? textNode : '';
}

function collapse(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
