import { fileURLToPath } from 'node:url';

/** Absolute path of the built page: `index.html`, `favicon.svg` and `assets/`. */
export const webUiDir = fileURLToPath(new URL('./dist', import.meta.url));

export default webUiDir;
