import { fileURLToPath } from 'node:url';

/** Absolute path of the LwM2M server's built page: `index.html`, `favicon.svg` and `assets/`. */
export const webUiDir = fileURLToPath(new URL('./dist/server', import.meta.url));

/** Absolute path of the bootstrap server's built page: `index.html`, `favicon.svg` and `assets/`. */
export const bootstrapWebUiDir = fileURLToPath(new URL('./dist/bootstrap', import.meta.url));

/** The bootstrap page's client-side views (besides `/`), answered with its `index.html`. */
export const BOOTSTRAP_PAGE_ROUTES = Object.freeze(['/configs', '/new']);

export default webUiDir;
