/** Client-side routes (the server answers index.html for each of them). */

export type Route =
  | { readonly page: 'devices' }
  | { readonly page: 'device'; readonly endpoint: string }
  | { readonly page: 'security' }
  | { readonly page: 'not-found'; readonly path: string };

export function parseRoute(pathname: string): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/' || path === '/clients') return { page: 'devices' };
  if (path === '/security') return { page: 'security' };
  const m = /^\/clients\/([^/]+)$/.exec(path);
  if (m) {
    try {
      return { page: 'device', endpoint: decodeURIComponent(m[1]!) };
    } catch {
      return { page: 'not-found', path };
    }
  }
  return { page: 'not-found', path };
}

export function deviceHref(endpoint: string): string {
  return `/clients/${encodeURIComponent(endpoint)}`;
}

const listeners = new Set<() => void>();

/** Goes to `href` without reloading the page. */
export function navigate(href: string): void {
  if (href === location.pathname + location.search) return;
  history.pushState(null, '', href);
  for (const l of listeners) l();
}

export function onNavigate(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener('popstate', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', listener);
  };
}

/** A click on a same-origin link that the page handles itself (not a new tab or download). */
export function isPlainClick(e: MouseEvent): boolean {
  return (
    e.button === 0 && !e.metaKey && !e.ctrlKey && !e.shiftKey && !e.altKey && !e.defaultPrevented
  );
}
