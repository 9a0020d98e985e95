import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The OMA registry snapshot kept beside the repository (see its NOTICE.md). Tests need it. */
export const REGISTRY_DIR = fileURLToPath(
  new URL('../../../../shared/oma-registry', import.meta.url),
);

export const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

if (!existsSync(REGISTRY_DIR)) {
  throw new Error(`OMA registry snapshot not found at ${REGISTRY_DIR}`);
}
