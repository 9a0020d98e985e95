/** Absolute path of the built page: `index.html`, `favicon.svg` and `assets/`. */
export declare const webUiDir: string;
export default webUiDir;
