/** The bootstrap page's client-side routes (the bootstrap server answers index.html for each). */

export type BsRoute =
  | { readonly page: 'list' }
  | { readonly page: 'new' }
  | { readonly page: 'edit'; readonly endpoint: string }
  | { readonly page: 'not-found'; readonly path: string };

/** Top-level paths of the views, for the server's routes (`/` besides). */
export const BS_PAGE_ROUTES: readonly string[] = ['/configs', '/new'];

export function parseBsRoute(pathname: string): BsRoute {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/' || path === '/configs') return { page: 'list' };
  if (path === '/new') return { page: 'new' };
  const m = /^\/configs\/([^/]+)$/.exec(path);
  if (m) {
    try {
      return { page: 'edit', endpoint: decodeURIComponent(m[1]!) };
    } catch {
      return { page: 'not-found', path };
    }
  }
  return { page: 'not-found', path };
}

export function configHref(endpoint: string): string {
  return `/configs/${encodeURIComponent(endpoint)}`;
}
