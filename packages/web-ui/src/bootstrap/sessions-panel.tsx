/** The live panel of bootstrap sessions (from the bootstrap server's event stream). */
import { Link, TimeAgo, useNow } from '../ui';
import { useBsData } from './context';
import { configHref } from './router';
import {
  failureWords,
  type LogEntry,
  type RefusedEntry,
  refusalWords,
  type SessionEntry,
} from './sessions';

const STATE_TEXT = { running: 'Running…', finished: 'Finished', failed: 'Failed' } as const;
const STATE_CLASS = { running: '', finished: 'state-online', failed: 'state-gone' } as const;

function SessionItem({ s, now }: { s: SessionEntry; now: number }) {
  const how = `${s.mode === 'pack' ? 'Bootstrap-Pack' : 'Bootstrap-Request'} over ${
    s.transport === 'dtls' ? 'DTLS' : 'CoAP'
  } from ${s.address}:${s.port}${s.identity ? `, PSK identity ${s.identity}` : ''}${
    s.defaultConfig ? ' (default configuration)' : ''
  }`;
  const steps = s.steps.length;
  return (
    <li class={`session session-${s.state}`} data-endpoint={s.endpoint} data-state={s.state}>
      <div class="session-head">
        <span class={`badge ${STATE_CLASS[s.state]}`}>{STATE_TEXT[s.state]}</span>
        <Link href={configHref(s.endpoint)}>{s.endpoint}</Link>
        <TimeAgo ms={s.startedAt} now={now} />
      </div>
      <div class="session-meta">{how}</div>
      {s.state === 'finished' && (
        <div class="session-result">
          Bootstrapped: {steps} step{steps === 1 ? '' : 's'} in {s.durationMs} ms.
        </div>
      )}
      {s.state === 'failed' && (
        <div class="session-reason">
          <strong>Failed{s.failedAt ? ` at ${s.failedAt}` : ''}:</strong> {failureWords(s)}
        </div>
      )}
      {s.handoffs.map((h) => (
        <div class="session-meta" key={h}>
          DM server {h}
        </div>
      ))}
      {steps > 0 && (
        <details class="session-steps">
          <summary>
            Steps ({steps}
            {s.state === 'running' ? ' so far' : ''})
          </summary>
          <ol class="steps">
            {s.steps.map((st, i) => (
              <li key={i}>
                <span>{st.operation}</span> <code>{st.path}</code>{' '}
                <span class={`badge ${st.ok ? 'state-online' : 'state-gone'}`}>{st.code}</span>{' '}
                <span class="muted">{st.durationMs} ms</span>
                {st.detail && <span class="muted"> — {st.detail}</span>}
              </li>
            ))}
          </ol>
        </details>
      )}
    </li>
  );
}

function RefusedItem({ e, now }: { e: RefusedEntry; now: number }) {
  return (
    <li class="session session-refused" data-endpoint={e.endpoint ?? ''} data-state="refused">
      <div class="session-head">
        <span class="badge state-sleeping">Refused</span>
        {e.endpoint !== undefined ? <strong>{e.endpoint}</strong> : <span>unknown endpoint</span>}
        <TimeAgo ms={e.at} now={now} />
      </div>
      <div class="session-reason">
        <strong>{refusalWords(e)}</strong>
      </div>
      <div class="session-meta">
        {e.address}:{e.port} — {e.message}
      </div>
    </li>
  );
}

/** Sessions of every endpoint, or of `endpoint` only. */
export function SessionsPanel({ endpoint }: { endpoint?: string | undefined }) {
  const { log, liveState, clearLog } = useBsData();
  const now = useNow(5000);
  const entries: readonly LogEntry[] =
    endpoint === undefined ? log : log.filter((e) => e.endpoint === endpoint);
  return (
    <section class="panel side sessions" aria-labelledby="sessions-title">
      <div class="panel-head">
        <h2 id="sessions-title">Bootstrap sessions</h2>
        {endpoint === undefined && log.length > 0 && (
          <button type="button" class="small" onClick={clearLog}>
            Clear
          </button>
        )}
      </div>
      <p class="muted hint">
        Live from the bootstrap server since this page was opened
        {endpoint === undefined ? '' : `, for ${endpoint} only`}.
      </p>
      {liveState === 'down' && (
        <p class="notice notice-warn">
          Not connected to the bootstrap server’s events: sessions will show when it is back.
        </p>
      )}
      {entries.length === 0 ? (
        <p class="muted">
          No session yet: they appear here as devices send their Bootstrap-Request.
        </p>
      ) : (
        <ol class="sessions-list" aria-live="polite" aria-relevant="additions text">
          {entries.map((e) =>
            e.kind === 'session' ? (
              <SessionItem key={e.id} s={e} now={now} />
            ) : (
              <RefusedItem key={e.id} e={e} now={now} />
            ),
          )}
        </ol>
      )}
    </section>
  );
}
