/**
 * The frame both pages share: the header, the token prompt (a 401 from the API asks for the
 * bearer token, kept in sessionStorage), the live-updates badge and the error boundary.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useErrorBoundary, useRef, useState } from 'preact/hooks';
import { getToken, onTokenChange, onUnauthorized, setToken } from './http';
import type { LiveState } from './live-events';
import { Link, Modal } from './ui';

export function TokenDialog({ onDone }: { onDone: () => void }) {
  const [value, setValue] = useState('');
  const hadToken = getToken() !== undefined;
  return (
    <Modal title="Access token needed" onClose={onDone}>
      <form
        method="dialog"
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          setToken(value.trim());
          onDone();
        }}
      >
        <p>
          {hadToken
            ? 'The server did not accept the token. Enter the right one.'
            : 'This server’s API needs a bearer token (the one it was started with, --token).'}{' '}
          It is kept for this browser tab only.
        </p>
        <label class="field">
          <span>Token</span>
          <input
            type="password"
            name="token"
            autocomplete="off"
            required
            value={value}
            onInput={(e) => setValue(e.currentTarget.value)}
          />
        </label>
        <div class="buttons">
          <button type="submit" class="primary">
            Use this token
          </button>
        </div>
      </form>
    </Modal>
  );
}

/**
 * Whether to show the token dialog (after a 401) and whether a token is held; `changed` runs when
 * the token changes (reconnect the events, load the data again).
 */
export function useTokenPrompt(changed: () => void): {
  readonly ask: boolean;
  readonly hasToken: boolean;
  readonly dismiss: () => void;
} {
  const [ask, setAsk] = useState(false);
  const [hasToken, setHasToken] = useState(() => getToken() !== undefined);
  useEffect(() => onUnauthorized(() => setAsk(true)), []);
  useEffect(
    () =>
      onTokenChange(() => {
        setHasToken(getToken() !== undefined);
        changed();
      }),
    [changed],
  );
  return { ask, hasToken, dismiss: () => setAsk(false) };
}

export function LiveBadge({ state }: { state: LiveState }) {
  const text = state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Offline';
  return (
    <span class={`live live-${state}`} role="status" title="Live updates from the server">
      <span class="live-dot" aria-hidden="true" />
      {text}
    </span>
  );
}

/** The header: the page's name, its navigation, the live badge and "Forget token". */
export function TopBar(props: {
  title: string;
  children: ComponentChildren;
  liveState: LiveState;
  hasToken: boolean;
}) {
  return (
    <header class="top">
      <div class="brand">
        <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
          <circle cx="12" cy="12" r="4" />
          <path d="M4 12a8 8 0 0 1 16 0M1 12a11 11 0 0 1 22 0" fill="none" />
        </svg>
        <span>{props.title}</span>
      </div>
      <nav aria-label="Main">{props.children}</nav>
      <div class="top-right">
        <LiveBadge state={props.liveState} />
        {props.hasToken && (
          <button type="button" class="small" onClick={() => setToken(undefined)}>
            Forget token
          </button>
        )}
      </div>
    </header>
  );
}

/** A view that throws shows what went wrong and a way back, never a blank page. */
export function ErrorBoundary(props: { children: ComponentChildren; homeLabel: string }) {
  const [error, reset] = useErrorBoundary((err) => console.warn('the page failed', err));
  if (error) {
    return (
      <section class="panel failure" role="alert">
        <h1>Something went wrong on this page</h1>
        <p>{error instanceof Error ? error.message : String(error)}</p>
        <div class="buttons">
          <button type="button" class="primary" onClick={reset}>
            Try again
          </button>
          <Link href="/">{props.homeLabel}</Link>
        </div>
      </section>
    );
  }
  return <>{props.children}</>;
}

/** Moves focus to the new view's heading (keyboard and screen-reader users land on it). */
export function useFocusOnNavigate(key: string): void {
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.querySelector<HTMLElement>('main h1')?.focus();
    window.scrollTo(0, 0);
  }, [key]);
}
