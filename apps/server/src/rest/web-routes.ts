/**
 * The web page (`@lwm2m-ts/web-ui`, prebuilt) on the REST API's HTTP port: `/`, the page's views
 * `/clients[/…]` and `/security[/…]`, and the build's files (app-kit's `registerStaticSite`
 * says how each is served and cached).
 */
import { registerStaticSite } from '@lwm2m-ts/app-kit';
import { webUiDir } from '@lwm2m-ts/web-ui';
import type { FastifyInstance } from 'fastify';

export interface WebRoutesOptions {
  /** Directory of the built page. Default: `@lwm2m-ts/web-ui`'s `webUiDir`. */
  readonly root?: string | undefined;
  /**
   * Top-level paths of the page's own views, answered with `index.html` (with everything under
   * them). Default `["/clients", "/security"]`.
   */
  readonly pageRoutes?: readonly string[] | undefined;
}

/** The page's client-side views (packages/web-ui/src/router.ts). */
export const PAGE_ROUTES: readonly string[] = ['/clients', '/security'];

/** Serves the web page on `app`. Call it once, before `listen()`. */
export function registerWebRoutes(app: FastifyInstance, options: WebRoutesOptions = {}): void {
  registerStaticSite(app, {
    root: options.root ?? webUiDir,
    pageRoutes: options.pageRoutes ?? PAGE_ROUTES,
    title: 'LwM2M server',
    apiUrl: '/api/clients',
  });
}
