export { BUILTIN_SNAPSHOT, builtinModels } from './builtins.js';
export {
  type DirectoryLoadResult,
  type LoadDirectoryOptions,
  loadDdfDirectory,
  loadDdfFile,
  parseDdf,
  type SkippedFile,
} from './ddf.js';
export {
  type Match,
  ObjectRegistry,
  type ObjectResolution,
  type ResourceResolution,
} from './object-registry.js';
export { type ParsedRangeEnumeration, parseRangeEnumeration } from './range-enumeration.js';
