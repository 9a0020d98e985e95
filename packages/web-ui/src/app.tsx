/** The page's shell: header and navigation, the shared data (devices, object models), routes. */
import { type ComponentChildren, createContext } from 'preact';
import {
  useCallback,
  useContext,
  useEffect,
  useErrorBoundary,
  useRef,
  useState,
} from 'preact/hooks';
import { api, getToken, onTokenChange, onUnauthorized, setToken } from './api';
import { DeviceList } from './device-list';
import { DevicePage } from './device-page';
import { applyEvent, type Devices, fromList } from './devices';
import { type ErrorWords, errorWords } from './errors';
import { type LiveState, live } from './live';
import type { ObjectSpec } from './model';
import { onNavigate, parseRoute, type Route } from './router';
import { SecurityPage } from './security-page';
import { Link, Modal } from './ui';

export interface AppData {
  readonly devices: Devices | undefined;
  readonly devicesError: ErrorWords | undefined;
  readonly specs: readonly ObjectSpec[] | undefined;
  readonly specsError: ErrorWords | undefined;
  readonly liveState: LiveState;
  reload(): void;
}

const AppContext = createContext<AppData>({
  devices: undefined,
  devicesError: undefined,
  specs: undefined,
  specsError: undefined,
  liveState: 'down',
  reload: () => {},
});

export function useAppData(): AppData {
  return useContext(AppContext);
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname));
  useEffect(() => onNavigate(() => setRoute(parseRoute(location.pathname))), []);
  return route;
}

/** Devices and object models, loaded once and kept up to date from the event stream. */
function useData(): AppData {
  const [devices, setDevices] = useState<Devices | undefined>(undefined);
  const [devicesError, setDevicesError] = useState<ErrorWords | undefined>(undefined);
  const [specs, setSpecs] = useState<readonly ObjectSpec[] | undefined>(undefined);
  const [specsError, setSpecsError] = useState<ErrorWords | undefined>(undefined);
  const [liveState, setLiveState] = useState<LiveState>(live.state);
  const [generation, setGeneration] = useState(0);

  useEffect(() => live.onState(setLiveState), []);
  useEffect(
    () =>
      live.on((name, data) =>
        setDevices((d) => (d === undefined ? d : applyEvent(d, name, data, Date.now()))),
      ),
    [],
  );
  useEffect(() => {
    let cancelled = false;
    api
      .clients()
      .then((list) => {
        if (cancelled) return;
        setDevices(fromList(list));
        setDevicesError(undefined);
        // Events only after the list answered: the token (if any) is known to be good.
        if (live.state === 'down') live.connect();
      })
      .catch((err) => !cancelled && setDevicesError(errorWords(err)));
    api
      .objectSpecs()
      .then((s) => {
        if (cancelled) return;
        setSpecs(s);
        setSpecsError(undefined);
      })
      .catch((err) => !cancelled && setSpecsError(errorWords(err)));
    return () => {
      cancelled = true;
    };
  }, [generation]);
  // After a reconnection, events may have been missed: load the list again.
  useEffect(
    () =>
      live.onState((s) => {
        if (s === 'live')
          api.clients().then(
            (list) => setDevices(fromList(list)),
            () => {},
          );
      }),
    [],
  );
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { devices, devicesError, specs, specsError, liveState, reload };
}

function TokenDialog({ onDone }: { onDone: () => void }) {
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

function LiveBadge({ state }: { state: LiveState }) {
  const text = state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Offline';
  return (
    <span class={`live live-${state}`} role="status" title="Live updates from the server">
      <span class="live-dot" aria-hidden="true" />
      {text}
    </span>
  );
}

function ErrorBoundary({ children }: { children: ComponentChildren }) {
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
          <Link href="/">Back to the device list</Link>
        </div>
      </section>
    );
  }
  return <>{children}</>;
}

function NotFound({ path }: { path: string }) {
  return (
    <section class="panel">
      <h1 tabIndex={-1}>No such page</h1>
      <p>
        There is nothing at <code>{path}</code>. <Link href="/">See the devices</Link>.
      </p>
    </section>
  );
}

export function App() {
  const route = useRoute();
  const data = useData();
  const [askToken, setAskToken] = useState(false);
  const [hasToken, setHasToken] = useState(() => getToken() !== undefined);
  const reload = data.reload;

  useEffect(() => onUnauthorized(() => setAskToken(true)), []);
  useEffect(
    () =>
      onTokenChange(() => {
        setHasToken(getToken() !== undefined);
        live.connect();
        reload();
      }),
    [reload],
  );

  // Focus the new page's heading so keyboard and screen-reader users land on it.
  const firstRoute = useRef(true);
  useEffect(() => {
    if (firstRoute.current) {
      firstRoute.current = false;
      return;
    }
    document.querySelector<HTMLElement>('main h1')?.focus();
    window.scrollTo(0, 0);
  }, [route.page, route.page === 'device' ? route.endpoint : '']);

  const page = route.page;
  return (
    <AppContext.Provider value={data}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="top">
        <div class="brand">
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <circle cx="12" cy="12" r="4" />
            <path d="M4 12a8 8 0 0 1 16 0M1 12a11 11 0 0 1 22 0" fill="none" />
          </svg>
          <span>LwM2M server</span>
        </div>
        <nav aria-label="Main">
          <Link
            href="/"
            aria-current={page === 'devices' || page === 'device' ? 'page' : undefined}
          >
            Devices
          </Link>
          <Link href="/security" aria-current={page === 'security' ? 'page' : undefined}>
            Security
          </Link>
        </nav>
        <div class="top-right">
          <LiveBadge state={data.liveState} />
          {hasToken && (
            <button type="button" class="small" onClick={() => setToken(undefined)}>
              Forget token
            </button>
          )}
        </div>
      </header>
      <main id="main">
        <ErrorBoundary key={page}>
          {page === 'devices' && <DeviceList />}
          {page === 'device' && <DevicePage key={route.endpoint} endpoint={route.endpoint} />}
          {page === 'security' && <SecurityPage />}
          {page === 'not-found' && <NotFound path={route.path} />}
        </ErrorBoundary>
      </main>
      {askToken && <TokenDialog onDone={() => setAskToken(false)} />}
    </AppContext.Provider>
  );
}
