/**
 * The bootstrap server's page: the configurations (list, add, edit, delete) and the live log of
 * bootstrap sessions, in the same frame and style as the LwM2M server's page.
 */
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import type { ErrorWords } from '../errors';
import type { LiveState } from '../live-events';
import { onNavigate } from '../router';
import { ErrorBoundary, TokenDialog, TopBar, useFocusOnNavigate, useTokenPrompt } from '../shell';
import { Link } from '../ui';
import { type BootstrapConfig, bsApi } from './api';
import { BsContext, type BsData, bsLive } from './context';
import { ConfigEditor } from './editor';
import { bsErrorWords } from './errors';
import { ConfigList } from './list';
import { type BsRoute, parseBsRoute } from './router';
import { applyBsEvent, type LogEntry } from './sessions';

function useRoute(): BsRoute {
  const [route, setRoute] = useState(() => parseBsRoute(location.pathname));
  useEffect(() => onNavigate(() => setRoute(parseBsRoute(location.pathname))), []);
  return route;
}

function useData(): BsData {
  const [configs, setConfigs] = useState<Record<string, BootstrapConfig> | undefined>(undefined);
  const [configsError, setConfigsError] = useState<ErrorWords | undefined>(undefined);
  const [log, setLog] = useState<readonly LogEntry[]>([]);
  const [liveState, setLiveState] = useState<LiveState>(bsLive.state);
  const [generation, setGeneration] = useState(0);
  const [notice, setNotice] = useState('');

  useEffect(() => bsLive.onState(setLiveState), []);
  useEffect(
    () => bsLive.on((name, data) => setLog((l) => applyBsEvent(l, name, data, Date.now()))),
    [],
  );
  useEffect(() => {
    let cancelled = false;
    bsApi.list().then(
      (list) => {
        if (cancelled) return;
        setConfigs(list);
        setConfigsError(undefined);
        // Events only after the list answered: the token (if any) is known to be good.
        if (bsLive.state === 'down') bsLive.connect();
      },
      (err) => !cancelled && setConfigsError(bsErrorWords(err)),
    );
    return () => {
      cancelled = true;
    };
  }, [generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const clearLog = useCallback(() => setLog([]), []);
  return useMemo(
    () => ({
      configs,
      configsError,
      log,
      liveState,
      notice,
      setNotice,
      reload,
      clearLog,
    }),
    [configs, configsError, log, liveState, notice, reload, clearLog],
  );
}

function NotFound({ path }: { path: string }) {
  return (
    <section class="panel">
      <h1 tabIndex={-1}>No such page</h1>
      <p>
        There is nothing at <code>{path}</code>. <Link href="/">See the configurations</Link>.
      </p>
    </section>
  );
}

export function BootstrapApp() {
  const route = useRoute();
  const data = useData();
  const reload = data.reload;
  const changed = useCallback(() => {
    bsLive.connect();
    reload();
  }, [reload]);
  const token = useTokenPrompt(changed);
  const page = route.page;
  useFocusOnNavigate(`${page}:${page === 'edit' ? route.endpoint : ''}`);

  return (
    <BsContext.Provider value={data}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <TopBar title="LwM2M bootstrap server" liveState={data.liveState} hasToken={token.hasToken}>
        <Link href="/" aria-current={page === 'list' || page === 'edit' ? 'page' : undefined}>
          Configurations
        </Link>
        <Link href="/new" aria-current={page === 'new' ? 'page' : undefined}>
          Add a configuration
        </Link>
      </TopBar>
      <main id="main">
        <ErrorBoundary key={page} homeLabel="Back to the configurations">
          {page === 'list' && <ConfigList />}
          {page === 'new' && <ConfigEditor key="new" endpoint={undefined} />}
          {page === 'edit' && <ConfigEditor key={route.endpoint} endpoint={route.endpoint} />}
          {page === 'not-found' && <NotFound path={route.path} />}
        </ErrorBoundary>
      </main>
      {token.ask && <TokenDialog onDone={token.dismiss} />}
    </BsContext.Provider>
  );
}
