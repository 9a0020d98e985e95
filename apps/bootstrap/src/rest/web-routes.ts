/**
 * The bootstrap server's web page (`@lwm2m-ts/web-ui`'s `bootstrapWebUiDir`, prebuilt) on the
 * REST API's HTTP port: `/`, the page's views `/configs[/…]` and `/new`, and the build's files
 * (app-kit's `registerStaticSite` says how each is served and cached).
 */
import { registerStaticSite } from '@lwm2m-ts/app-kit';
import { BOOTSTRAP_PAGE_ROUTES, bootstrapWebUiDir } from '@lwm2m-ts/web-ui';
import type { FastifyInstance } from 'fastify';

export interface WebRoutesOptions {
  /** Directory of the built page. Default: `@lwm2m-ts/web-ui`'s `bootstrapWebUiDir`. */
  readonly root?: string | undefined;
  /**
   * Top-level paths of the page's own views, answered with `index.html` (with everything under
   * them). Default `["/configs", "/new"]`.
   */
  readonly pageRoutes?: readonly string[] | undefined;
}

/** The page's client-side views (packages/web-ui/src/bootstrap/router.ts). */
export const PAGE_ROUTES: readonly string[] = BOOTSTRAP_PAGE_ROUTES;

/** Serves the bootstrap page on `app`. Call it once, before `listen()`. */
export function registerWebRoutes(app: FastifyInstance, options: WebRoutesOptions = {}): void {
  registerStaticSite(app, {
    root: options.root ?? bootstrapWebUiDir,
    pageRoutes: options.pageRoutes ?? PAGE_ROUTES,
    title: 'LwM2M bootstrap server',
    apiUrl: '/api/bootstrap',
  });
}
