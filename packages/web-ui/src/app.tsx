/** The page's shell: header and navigation, the shared data (devices, object models), routes. */
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useState } from 'preact/hooks';
import { api } from './api';
import { DeviceList } from './device-list';
import { DevicePage } from './device-page';
import { applyEvent, type Devices, fromList } from './devices';
import { type ErrorWords, errorWords } from './errors';
import { type LiveState, live } from './live';
import type { ObjectSpec } from './model';
import { onNavigate, parseRoute, type Route } from './router';
import { SecurityPage } from './security-page';
import { ErrorBoundary, TokenDialog, TopBar, useFocusOnNavigate, useTokenPrompt } from './shell';
import { Link } from './ui';

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
  const reload = data.reload;
  const changed = useCallback(() => {
    live.connect();
    reload();
  }, [reload]);
  const token = useTokenPrompt(changed);
  useFocusOnNavigate(`${route.page}:${route.page === 'device' ? route.endpoint : ''}`);

  const page = route.page;
  return (
    <AppContext.Provider value={data}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <TopBar title="LwM2M server" liveState={data.liveState} hasToken={token.hasToken}>
        <Link href="/" aria-current={page === 'devices' || page === 'device' ? 'page' : undefined}>
          Devices
        </Link>
        <Link href="/security" aria-current={page === 'security' ? 'page' : undefined}>
          Security
        </Link>
      </TopBar>
      <main id="main">
        <ErrorBoundary key={page} homeLabel="Back to the device list">
          {page === 'devices' && <DeviceList />}
          {page === 'device' && <DevicePage key={route.endpoint} endpoint={route.endpoint} />}
          {page === 'security' && <SecurityPage />}
          {page === 'not-found' && <NotFound path={route.path} />}
        </ErrorBoundary>
      </main>
      {token.ask && <TokenDialog onDone={token.dismiss} />}
    </AppContext.Provider>
  );
}
