/** The device list: every registration, live, with search, sort and counts. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { useAppData } from './app';
import {
  countStates,
  type DeviceRow,
  type ListView,
  queueStateOf,
  type SortKey,
  visibleRows,
} from './devices';
import { live } from './live';
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

export function DeviceList() {
  const { devices, devicesError, reload } = useAppData();
  const [view, setView] = useState<ListView>(loadView);
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
  }, [view]);

  const rows = useMemo(() => (devices ? visibleRows(devices, view) : []), [devices, view]);
  const counts = devices ? countStates(devices) : undefined;

  const sortBy = (key: SortKey) =>
    setView((v) => ({ ...v, sort: key, descending: v.sort === key ? !v.descending : false }));

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
            {view.search.trim() !== '' && <> · showing {rows.length}</>}
          </p>
        )}
      </div>

      <div class="toolbar">
        <label class="field search">
          <span>Search</span>
          <input
            type="search"
            placeholder="endpoint, address, version, state…"
            value={view.search}
            onInput={(e) => {
              const search = e.currentTarget.value;
              setView((v) => ({ ...v, search }));
            }}
          />
        </label>
        <label class="field narrow-only">
          <span>Sort by</span>
          <select
            value={view.sort}
            onChange={(e) => {
              const sort = e.currentTarget.value as SortKey;
              setView((v) => ({ ...v, sort }));
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
              setView((v) => ({ ...v, descending }));
            }}
          />
          <span>Descending</span>
        </label>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>

      {devicesError && (
        <div class="notice notice-error" role="alert">
          <strong>The device list could not be loaded: {devicesError.title}</strong>
          {devicesError.detail && <div class="outcome-detail">{devicesError.detail}</div>}
          <div>
            <button type="button" onClick={reload}>
              Try again
            </button>
          </div>
        </div>
      )}
      {devices === undefined && !devicesError && <p class="muted">Loading devices…</p>}
      {devices !== undefined && devices.size === 0 && (
        <p class="empty">
          No device is registered yet. Devices appear here as soon as they register (CoAP port 5683,
          CoAPs 5684 by default).
        </p>
      )}
      {devices !== undefined && devices.size > 0 && rows.length === 0 && (
        <p class="empty">No device matches “{view.search}”.</p>
      )}

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
