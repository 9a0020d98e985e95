/** The list of bootstrap configurations, with search, delete, and the live session panel. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { LoadError } from '../load-error';
import { navigate } from '../router';
import { RowActions } from '../row-actions';
import { Link, TimeAgo, useNow } from '../ui';
import { bsApi } from './api';
import { useBsData } from './context';
import { configHref } from './router';
import { lastSessions, type SessionEntry } from './sessions';
import { SessionsPanel } from './sessions-panel';
import { type ConfigSummary, matches, modeName, summaries } from './summary';

function LastSession({ s, now }: { s: SessionEntry | undefined; now: number }) {
  if (s === undefined) return <span class="muted">—</span>;
  const text = s.state === 'finished' ? 'finished' : s.state === 'failed' ? 'failed' : 'running';
  const cls = s.state === 'finished' ? 'state-online' : s.state === 'failed' ? 'state-gone' : '';
  return (
    <span>
      <span class={`badge ${cls}`}>{text}</span> <TimeAgo ms={s.startedAt} now={now} />
    </span>
  );
}

function ConfigRow(props: {
  s: ConfigSummary;
  last: SessionEntry | undefined;
  now: number;
  onDeleted: () => void;
}) {
  const { s } = props;
  return (
    <tr data-endpoint={s.endpoint}>
      <th scope="row">
        <Link href={configHref(s.endpoint)}>{s.endpoint}</Link>
        {s.extras.length > 0 && <div class="sub">{s.extras.join(' · ')}</div>}
      </th>
      <td data-label="DM servers">
        <strong>{s.servers}</strong>
        <ul class="plain uris">
          {s.uris.map((u) => (
            <li key={u}>
              <code>{u}</code>
            </li>
          ))}
        </ul>
      </td>
      <td data-label="Security">
        {s.securityEntries} {s.securityEntries === 1 ? 'entry' : 'entries'}
        {s.modes.map((m) => (
          <span key={m} class={`badge mode-${m}`}>
            {modeName(m)}
          </span>
        ))}
      </td>
      <td data-label="Bootstrap PSK">
        {s.identity !== undefined ? (
          <code>{s.identity}</code>
        ) : (
          <span class="muted">none (plain CoAP)</span>
        )}
      </td>
      <td data-label="Last session">
        <LastSession s={props.last} now={props.now} />
      </td>
      <RowActions
        class="stack-tight"
        what={s.endpoint}
        onEdit={() => navigate(configHref(s.endpoint))}
        remove={() => bsApi.delete(s.endpoint)}
        onDeleted={props.onDeleted}
      />
    </tr>
  );
}

export function ConfigList() {
  const { configs, configsError, reload, notice, setNotice, log } = useBsData();
  const [query, setQuery] = useState('');
  const now = useNow(5000);
  useEffect(() => {
    document.title = 'Configurations · LwM2M bootstrap server';
    return () => setNotice('');
  }, [setNotice]);
  const all = useMemo(() => (configs === undefined ? undefined : summaries(configs)), [configs]);
  const shown = all?.filter((s) => matches(s, query));
  const last = useMemo(() => lastSessions(log), [log]);

  return (
    <section class="page" aria-labelledby="list-title">
      <div class="page-head">
        <h1 id="list-title" tabIndex={-1}>
          Bootstrap configurations
        </h1>
        {all && (
          <p class="counts">
            <strong>{all.length}</strong> configuration{all.length === 1 ? '' : 's'}
            {shown && shown.length !== all.length && <>, {shown.length} shown</>}
          </p>
        )}
      </div>
      <p class="muted">
        What each device gets when it asks this server for its bootstrap: the DM servers it will
        register with and their credentials, by endpoint name.
      </p>
      {configsError && (
        <LoadError what="The configurations" error={configsError} onRetry={reload} />
      )}
      <p class="notice-line" role="status">
        {notice}
      </p>
      <div class="bs-layout">
        <div class="stack">
          <div class="toolbar">
            <label class="field search">
              <span>Search</span>
              <input
                type="search"
                value={query}
                placeholder="endpoint, URI, identity, psk…"
                onInput={(e) => setQuery(e.currentTarget.value)}
              />
            </label>
            <button type="button" class="primary" onClick={() => navigate('/new')}>
              Add a configuration
            </button>
            <button type="button" onClick={reload}>
              Refresh
            </button>
          </div>
          {all === undefined && !configsError && <p class="muted">Loading…</p>}
          {all !== undefined && all.length === 0 && (
            <p class="empty">
              No configuration yet. <Link href="/new">Add the first one</Link>.
            </p>
          )}
          {all !== undefined && all.length > 0 && shown!.length === 0 && (
            <p class="empty">No configuration matches “{query}”.</p>
          )}
          {shown !== undefined && shown.length > 0 && (
            <table class="entries configs">
              <caption class="visually-hidden">Bootstrap configurations</caption>
              <thead>
                <tr>
                  <th scope="col">Endpoint</th>
                  <th scope="col">DM servers</th>
                  <th scope="col">Security</th>
                  <th scope="col">Bootstrap PSK</th>
                  <th scope="col">Last session</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((s) => (
                  <ConfigRow
                    key={s.endpoint}
                    s={s}
                    last={last.get(s.endpoint)}
                    now={now}
                    onDeleted={() => {
                      setNotice(`Deleted the configuration of ${s.endpoint}.`);
                      reload();
                    }}
                  />
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div class="sidebar">
          <SessionsPanel />
        </div>
      </div>
    </section>
  );
}
