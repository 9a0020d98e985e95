/**
 * The accounts a client keeps across restarts: the Security (0), Server (1) and Access Control
 * (2) objects as the last bootstrap left them, so a device that was bootstrapped once registers
 * with its server after a restart instead of asking the bootstrap server again (a device keeps
 * its configuration in flash; Core TS 1.2 §6.1 expects a bootstrap only when none is usable).
 *
 * Stored as SenML JSON, the one format that carries every resource type with its value (opaque
 * keys as base64url). The file holds PSK keys: it is written with mode 0600, atomically.
 */
import { randomBytes } from 'node:crypto';
import { chmod, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { decodeValues, encodeSenmlJson } from '@lwm2m-ts/codecs';
import {
  ContentFormat,
  flattenNode,
  InvalidValueError,
  LwM2mPath,
  type PathValue,
} from '@lwm2m-ts/core';
import { applyBootstrapPack } from './bootstrap-engine.js';
import type { RequestOrigin } from './object-enabler.js';
import type { ObjectTree } from './object-tree.js';

/** Where a client keeps its accounts: any string store (a file, a key in a database…). */
export interface ClientStateStore {
  /** What was saved last, or undefined when nothing was. */
  load(): Promise<string | undefined>;
  save(state: string): Promise<void>;
}

/** The objects kept. */
export const STATE_OBJECTS: readonly number[] = [0, 1, 2];

const LOCAL: RequestOrigin = Object.freeze({ kind: 'local' });

/** A state file that cannot be read back: the message says which file and why. */
export class ClientStateError extends InvalidValueError {}

/** A JSON file (SenML JSON) written atomically with mode 0600. */
export class FileClientState implements ClientStateStore {
  constructor(readonly path: string) {}

  async load(): Promise<string | undefined> {
    try {
      return await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async save(state: string): Promise<void> {
    const tmp = join(dirname(this.path), `.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await writeFile(tmp, state, { mode: 0o600 });
      await chmod(tmp, 0o600);
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }
}

/** Objects 0, 1 and 2 of `tree` as SenML JSON text. */
export async function snapshotState(tree: ObjectTree): Promise<string> {
  const values: PathValue[] = [];
  for (const oid of STATE_OBJECTS) {
    if (tree.get(oid) === undefined) continue;
    const path = LwM2mPath.of(oid);
    values.push(...flattenNode(path, await tree.read(path, LOCAL)));
  }
  return Buffer.from(encodeSenmlJson(values)).toString('utf8');
}

/**
 * Puts objects 0, 1 and 2 of `tree` as `state` has them: their instances are replaced by the
 * saved ones. Throws `ClientStateError` (nothing changed) when `state` cannot be decoded.
 */
export async function restoreState(tree: ObjectTree, state: string, where: string): Promise<void> {
  let values: PathValue[];
  try {
    values = decodeValues(ContentFormat.SENML_JSON, Buffer.from(state, 'utf8'), {
      model: tree.models(),
    });
  } catch (err) {
    throw new ClientStateError(`${where}: not a saved client state (${(err as Error).message})`, {
      cause: err,
    });
  }
  const foreign = values.find((v) => !STATE_OBJECTS.includes(v.path.objectId!));
  if (foreign !== undefined) {
    throw new ClientStateError(`${where}: holds ${foreign.path}, outside objects 0, 1 and 2`);
  }
  for (const oid of STATE_OBJECTS) {
    const enabler = tree.get(oid);
    if (enabler === undefined) continue;
    for (const iid of [...enabler.instanceIds()]) await enabler.delete(iid, LOCAL);
  }
  await applyBootstrapPack(tree, values);
}
