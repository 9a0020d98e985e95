/**
 * The device list: registrations a page at a time, live, with search, sort and counts; searched,
 * sorted and paged by the server when the fleet is big.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from './api';
import { useAppData } from './app';
import {
  countStates,
  type DeviceRow,
  type ListView,
  PAGE_SIZE,
  queueStateOf,
  type SortKey,
  serverSort,
  visibleRows,
} from './devices';
import { type ErrorWords, errorWords } from './errors';
import { live } from './live';
import { LoadError } from './load-error';
import { deviceHref } from './router';
import { Link, LocalTime, TimeAgo, useNow } from './ui';
import { formatDuration } from './values';

const COLUMNS: readonly { key: SortKey; label: string }[] = [
  { key: 'endpoint', label: 'Endpoint' },
  { key: 'lwm2mVersion', label: 'LwM2M' },
  { key: 'binding', label: 'Binding' },
  { key: 'state', label: 'State' },
  { key: 'lastSeen', label: 'Last seen' },
  { key: 'registeredAt', label: 'Registered' },
  { key: 'lifetime', label: 'Lifetime' },
];

const VIEW_KEY = 'lwm2m-server.list-view';

function loadView(): ListView {
  try {
    const v = JSON.parse(sessionStorage.getItem(VIEW_KEY) ?? '');
    if (typeof v?.search === 'string' && COLUMNS.some((c) => c.key === v.sort)) return v;
  } catch {
    // none saved
  }
  return { search: '', sort: 'endpoint', descending: false };
}

export function StateBadge({ row }: { row: DeviceRow }) {
  const s = queueStateOf(row.reg);
  const queued = row.reg.queue?.queued ?? 0;
  return (
    <span class={`badge state-${s}`}>
      {s}
      {s === 'sleeping' && queued > 0 ? ` · ${queued} queued` : ''}
    </span>
  );
}

interface Activity {
  readonly at: number;
  readonly text: string;
}

/** The last few comings and goings, announced to screen readers. */
function useActivity(): Activity[] {
  const [items, setItems] = useState<Activity[]>([]);
  useEffect(
    () =>
      live.on((name, data) => {
        const ep = typeof data?.endpoint === 'string' ? data.endpoint : undefined;
        if (ep === undefined) return;
        let text: string | undefined;
        if (name === 'registration') text = `${ep} registered`;
        else if (name === 'deregistration')
          text = `${ep} left (${data.reason === 'expired' ? 'its registration expired' : String(data.reason ?? 'de-registered')})`;
        else if (name === 'sleeping') text = `${ep} fell asleep`;
        else if (name === 'awake') text = `${ep} woke up`;
        if (text !== undefined) {
          const item = { at: Date.now(), text };
          setItems((list) => [item, ...list].slice(0, 5));
        }
      }),
    [],
  );
  return items;
}

/** "101–200 of 1,502" with Previous and Next, when there is more than a page. */
function Pager(props: {
  offset: number;
  shown: number;
  total: number;
  go: (page: number) => void;
  label: string;
}) {
  const { offset, total } = props;
  if (total <= PAGE_SIZE) return null;
  const page = offset / PAGE_SIZE;
  return (
    <nav class="pager" aria-label={props.label}>
      <button type="button" class="small" disabled={page === 0} onClick={() => props.go(page - 1)}>
        ‹ Previous
      </button>
      <span aria-live="polite">
        {(offset + 1).toLocaleString()}–{(offset + props.shown).toLocaleString()} of{' '}
        {total.toLocaleString()}
      </span>
      <button
        type="button"
        class="small"
        disabled={offset + PAGE_SIZE >= total}
        onClick={() => props.go(page + 1)}
      >
        Next ›
      </button>
    </nav>
  );
}

interface ServerPage {
  readonly endpoints: readonly string[];
  readonly total: number;
  readonly search: string;
}

export function DeviceList() {
  const { devices, devicesError: loadError, reload, big, changes, track } = useAppData();
  const [view, setView] = useState<ListView>(loadView);
  const [pageNo, setPageNo] = useState(0);
  const [served, setServed] = useState<ServerPage | undefined>(undefined);
  const [registered, setRegistered] = useState<number | undefined>(undefined);
  const [search, setSearch] = useState(view.search.trim());
  const [pageError, setPageError] = useState<ErrorWords | undefined>(undefined);
  const now = useNow(1000);
  const activity = useActivity();

  useEffect(() => {
    document.title = 'Devices · LwM2M server';
  }, []);
  useEffect(() => {
    try {
      sessionStorage.setItem(VIEW_KEY, JSON.stringify(view));
    } catch {
      // storage may be off
    }
    // The server is asked once typing pauses.
    const t = setTimeout(() => setSearch(view.search.trim()), big ? 300 : 0);
    return () => clearTimeout(t);
  }, [view, big]);

  // A big fleet: the server searches, sorts and cuts the page; events keep its rows current.
  useEffect(() => {
    if (!big) return;
    let gone = false;
    api
      .clientPage({
        limit: PAGE_SIZE,
        offset: pageNo * PAGE_SIZE,
        q: search,
        sort: serverSort(view.sort),
        descending: view.descending,
      })
      .then(
        ({ rows, total }) => {
          if (gone) return;
          track(rows, true);
          setServed({ endpoints: rows.map((r) => r.endpoint), total, search });
          if (search === '') setRegistered(total);
          // Devices left and the page is past the end: show the last one.
          if (rows.length === 0 && pageNo > 0)
            setPageNo(Math.max(0, Math.ceil(total / PAGE_SIZE) - 1));
          setPageError(undefined);
        },
        (err) => !gone && setPageError(errorWords(err)),
      );
    return () => {
      gone = true;
    };
  }, [big, search, view.sort, view.descending, pageNo, changes]);

  const all = useMemo(
    () => (devices && !big ? visibleRows(devices, view) : []),
    [devices, view, big],
  );
  let rows: DeviceRow[];
  let total: number;
  if (big) {
    rows = (served?.endpoints ?? []).flatMap((ep) => devices?.get(ep) ?? []);
    total = served?.total ?? 0;
  } else {
    total = all.length;
    rows = all.slice(pageNo * PAGE_SIZE, pageNo * PAGE_SIZE + PAGE_SIZE);
  }
  const offset = Math.min(pageNo, Math.max(0, Math.ceil(total / PAGE_SIZE) - 1)) * PAGE_SIZE;
  if (!big && offset !== pageNo * PAGE_SIZE) rows = all.slice(offset, offset + PAGE_SIZE);
  const counts = devices && !big ? countStates(devices) : undefined;
  const devicesError = loadError ?? (big ? pageError : undefined);
  const loaded = big ? served !== undefined : devices !== undefined;
  const searching = view.search.trim() !== '';

  const pager = { offset, shown: rows.length, total, go: setPageNo };
  const change = (f: (v: ListView) => ListView) => {
    setView(f);
    setPageNo(0);
  };
  const sortBy = (key: SortKey) =>
    change((v) => ({ ...v, sort: key, descending: v.sort === key ? !v.descending : false }));

  return (
    <section class="page" aria-labelledby="devices-title">
      <div class="page-head">
        <h1 id="devices-title" tabIndex={-1}>
          Devices
        </h1>
        {counts && (
          <p class="counts" aria-live="polite">
            <strong>{counts.total}</strong> registered
            {counts.total > 0 && (
              <>
                {' · '}
                {counts.online} online · {counts.awake} awake · {counts.sleeping} sleeping
              </>
            )}
            {searching && <> · showing {total}</>}
          </p>
        )}
        {big && served && (
          <p class="counts" aria-live="polite">
            {registered !== undefined && (
              <>
                <strong>{registered.toLocaleString()}</strong> registered
              </>
            )}
            {served.search && (
              <>
                {registered !== undefined && ' · '}
                {served.total.toLocaleString()} match “{served.search}”
              </>
            )}
          </p>
        )}
      </div>

      <div class="toolbar">
        <label class="field search">
          <span>Search</span>
          <input
            type="search"
            placeholder={big ? 'endpoint contains…' : 'endpoint, address, version, state…'}
            value={view.search}
            onInput={(e) => {
              const search = e.currentTarget.value;
              change((v) => ({ ...v, search }));
            }}
          />
        </label>
        <label class="field narrow-only">
          <span>Sort by</span>
          <select
            value={view.sort}
            onChange={(e) => {
              const sort = e.currentTarget.value as SortKey;
              change((v) => ({ ...v, sort }));
            }}
          >
            {COLUMNS.map((c) => (
              <option key={c.key} value={c.key}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <label class="inline narrow-only descending">
          <input
            type="checkbox"
            checked={view.descending}
            onChange={(e) => {
              const descending = e.currentTarget.checked;
              change((v) => ({ ...v, descending }));
            }}
          />
          <span>Descending</span>
        </label>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>

      {devicesError && <LoadError what="The device list" error={devicesError} onRetry={reload} />}
      {!loaded && !devicesError && <p class="muted">Loading devices…</p>}
      {loaded && total === 0 && !searching && (
        <p class="empty">
          No device is registered yet. Devices appear here as soon as they register (CoAP port 5683,
          CoAPs 5684 by default).
        </p>
      )}
      {loaded && total === 0 && searching && (
        <p class="empty">No device matches “{view.search}”.</p>
      )}

      <Pager {...pager} label="Pages of the device list" />
      {rows.length > 0 && (
        <table class="devices">
          <caption class="visually-hidden">
            Registered devices, sorted by {COLUMNS.find((c) => c.key === view.sort)?.label}
          </caption>
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th
                  key={c.key}
                  scope="col"
                  aria-sort={
                    view.sort === c.key ? (view.descending ? 'descending' : 'ascending') : undefined
                  }
                >
                  <button type="button" class="sort" onClick={() => sortBy(c.key)}>
                    {c.label}
                    <span class="sort-mark" aria-hidden="true">
                      {view.sort === c.key ? (view.descending ? '▼' : '▲') : ''}
                    </span>
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => {
              const r = row.reg;
              return (
                <tr key={r.endpoint} data-endpoint={r.endpoint}>
                  <th scope="row" data-label="Endpoint">
                    <Link href={deviceHref(r.endpoint)}>{r.endpoint}</Link>
                    <div class="sub">
                      {r.address}:{r.port}
                      {r.secure ? ' · DTLS' : ''}
                    </div>
                  </th>
                  <td data-label="LwM2M">{r.lwm2mVersion}</td>
                  <td data-label="Binding">
                    {r.binding}
                    {r.queueMode ? ' (queue)' : ''}
                  </td>
                  <td data-label="State">
                    <StateBadge row={row} />
                  </td>
                  <td data-label="Last seen">
                    <TimeAgo ms={row.lastSeen} now={now} />
                  </td>
                  <td data-label="Registered">
                    <LocalTime ms={Date.parse(r.registeredAt)} />
                  </td>
                  <td data-label="Lifetime">
                    <div>
                      {formatDuration(r.lifetime)}
                      <div class="sub">
                        expires <TimeAgo ms={Date.parse(r.expiresAt)} now={now} />
                      </div>
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {rows.length > 20 && (
        <Pager
          {...pager}
          go={(p) => {
            setPageNo(p);
            scrollTo(0, 0);
          }}
          label="Pages of the device list, at its end"
        />
      )}

      {activity.length > 0 && (
        <section class="activity" aria-label="Recent activity">
          <h2>Recent activity</h2>
          <ul aria-live="polite">
            {activity.map((a) => (
              <li key={`${a.at}-${a.text}`}>
                <LocalTime ms={a.at} /> — {a.text}
              </li>
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}
