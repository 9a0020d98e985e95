/**
 * Parsing the paths given to the server's device-management calls, remembered: an application
 * reads the same few paths over and over.
 */
import { InvalidValueError, LwM2mPath } from '@lwm2m-ts/core';

/** Paths parsed lately. */
const parsedPaths = new Map<string, LwM2mPath>();

/** `LwM2mPath.parse`, remembered (paths are immutable). */
export function parsePath(text: string): LwM2mPath {
  let path = parsedPaths.get(text);
  if (path === undefined) {
    path = LwM2mPath.parse(text);
    if (parsedPaths.size >= 1024) parsedPaths.clear();
    parsedPaths.set(text, path);
  }
  return path;
}

/** The paths of a composite operation (at least one). */
export function parsePaths(paths: readonly string[]): LwM2mPath[] {
  if (paths.length === 0)
    throw new InvalidValueError('a composite operation needs at least one path');
  return paths.map((p) => parsePath(p));
}
