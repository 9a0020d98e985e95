/** Absolute path of the LwM2M server's built page: `index.html`, `favicon.svg` and `assets/`. */
export declare const webUiDir: string;
/** Absolute path of the bootstrap server's built page: `index.html`, `favicon.svg` and `assets/`. */
export declare const bootstrapWebUiDir: string;
/** The bootstrap page's client-side views (besides `/`), answered with its `index.html`. */
export declare const BOOTSTRAP_PAGE_ROUTES: readonly string[];
export default webUiDir;
