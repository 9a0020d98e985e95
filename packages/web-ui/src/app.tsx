/** The page's shell: header and navigation, the shared data (devices, object models), routes. */
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api';
import { DeviceList } from './device-list';
import { DevicePage } from './device-page';
import { applyEvent, BIG_FLEET, type Devices, fromList } from './devices';
import { type ErrorWords, errorWords } from './errors';
import { type LiveState, live } from './live';
import type { ObjectSpec, Registration } from './model';
import { onNavigate, parseRoute, type Route } from './router';
import { SecurityPage } from './security-page';
import { ErrorBoundary, TokenDialog, TopBar, useFocusOnNavigate, useTokenPrompt } from './shell';
import { Link } from './ui';

export interface AppData {
  /** Small fleets: every device. Big ones: the rows of the list's page and the device open. */
  readonly devices: Devices | undefined;
  readonly devicesError: ErrorWords | undefined;
  /** More than `BIG_FLEET` devices: the list asks the server for one page at a time. */
  readonly big: boolean;
  /** Grows (at most once a second) as devices come and go in a big fleet: reload the page. */
  readonly changes: number;
  readonly specs: readonly ObjectSpec[] | undefined;
  readonly specsError: ErrorWords | undefined;
  readonly liveState: LiveState;
  reload(): void;
  /** Holds these rows (big fleets), instead of the ones held (`replace`) or with them. */
  track(list: readonly Registration[], replace?: boolean): void;
}

const AppContext = createContext<AppData>({
  devices: undefined,
  devicesError: undefined,
  big: false,
  changes: 0,
  specs: undefined,
  specsError: undefined,
  liveState: 'down',
  reload: () => {},
  track: () => {},
});

export function useAppData(): AppData {
  return useContext(AppContext);
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname));
  useEffect(() => onNavigate(() => setRoute(parseRoute(location.pathname))), []);
  return route;
}

/**
 * Devices and object models, loaded once and kept up to date from the event stream. A big fleet
 * is not loaded: events update the rows held, and devices coming or going ask for the page again
 * (throttled), never for the whole fleet.
 */
function useData(): AppData {
  const [devices, setDevices] = useState<Devices | undefined>(undefined);
  const [devicesError, setDevicesError] = useState<ErrorWords | undefined>(undefined);
  const [big, setBig] = useState(false);
  const [changes, setChanges] = useState(0);
  const [specs, setSpecs] = useState<readonly ObjectSpec[] | undefined>(undefined);
  const [specsError, setSpecsError] = useState<ErrorWords | undefined>(undefined);
  const [liveState, setLiveState] = useState<LiveState>(live.state);
  const [generation, setGeneration] = useState(0);
  const bigRef = useRef(false);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const changed = useCallback(() => {
    timer.current ??= setTimeout(() => {
      timer.current = undefined;
      setChanges((c) => c + 1);
    }, 1000);
  }, []);
  const goBig = useCallback(() => {
    if (bigRef.current) changed();
    bigRef.current = true;
    setBig(true);
  }, [changed]);

  /** Small fleets in full; for big ones only the count. */
  const load = useCallback(async () => {
    const probe = await api.clientPage({ limit: 0 });
    if (probe.total > BIG_FLEET) {
      goBig();
      setDevices((d) => d ?? new Map());
    } else {
      const list = await api.clients();
      bigRef.current = false;
      setBig(false);
      setDevices((d) => fromList(list, d));
    }
  }, [goBig]);

  useEffect(() => live.onState(setLiveState), []);
  useEffect(
    () =>
      live.on((name, data) => {
        const big = bigRef.current;
        if (big && (name === 'registration' || name === 'deregistration')) changed();
        setDevices((d) =>
          d === undefined || (big && !d.has(data?.endpoint))
            ? d
            : applyEvent(d, name, data, Date.now()),
        );
      }),
    [changed],
  );
  // A small fleet that grows big while the page is open is paged from then on.
  useEffect(() => {
    if (!bigRef.current && devices !== undefined && devices.size > BIG_FLEET) goBig();
  }, [devices, goBig]);
  useEffect(() => {
    let cancelled = false;
    load().then(
      () => {
        if (cancelled) return;
        setDevicesError(undefined);
        // Events only after the list answered: the token (if any) is known to be good.
        if (live.state === 'down') live.connect();
      },
      (err) => !cancelled && setDevicesError(errorWords(err)),
    );
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
  // After a reconnection, events may have been missed: load the list (or the page) again.
  useEffect(() => live.onState((s) => s === 'live' && load().catch(() => {})), [load]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const track = useCallback(
    (list: readonly Registration[], replace?: boolean) =>
      setDevices((d) => {
        const rows = fromList(list, d);
        return replace || d === undefined ? rows : new Map([...d, ...rows]);
      }),
    [],
  );
  return {
    devices,
    devicesError,
    big,
    changes,
    specs,
    specsError,
    liveState,
    reload,
    track,
  };
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
