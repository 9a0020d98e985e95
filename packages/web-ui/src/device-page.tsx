/** One device: its registration, object tree, observations and incoming data. */
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api } from './api';
import { useAppData } from './app';
import { CompositePanel } from './composite';
import { DeviceContext, type DeviceCtx } from './device-context';
import { StateBadge } from './device-list';
import { AttributesDialog, CreateDialog } from './dialogs';
import { type ErrorWords, errorWords } from './errors';
import { live } from './live';
import {
  applyNode,
  applyTimedValues,
  chooseSpec,
  comparePaths,
  type DataType,
  type DiscoverLink,
  FORMATS,
  groupObjectLinks,
  type JsonNode,
  type JsonValue,
  type LinkAttributeValue,
  nodeToTimedValues,
  type ObjectEntry,
  type Observation,
  type Registration,
  type ResourceSpec,
  type TimedValue,
  unitsFor,
  type ValueMap,
} from './model';
import { ObjectSection } from './object-tree';
import {
  Link,
  LocalTime,
  OutcomeText,
  type Point,
  Sparkline,
  TimeAgo,
  useAction,
  useNow,
} from './ui';
import { formatDuration, formatValue, numericValue } from './values';

interface HistoryItem {
  readonly key: number;
  readonly at: number;
  readonly source: 'notification' | 'send';
  readonly path: string;
  readonly type: DataType;
  readonly value: JsonValue;
}

interface TimelineItem {
  readonly key: number;
  readonly at: number;
  readonly text: string;
}

const MAX_HISTORY = 500;
const MAX_POINTS = 60;
let counter = 0;

function RegistrationInfo({ reg, now }: { reg: Registration; now: number }) {
  const items: [string, preact.ComponentChildren][] = [
    ['LwM2M version', reg.lwm2mVersion],
    ['Binding', `${reg.binding}${reg.queueMode ? ' (queue mode)' : ''}`],
    [
      'Address',
      `${reg.address}:${reg.port} (${reg.secure ? 'DTLS' : reg.transport.toUpperCase()})`,
    ],
    ['Lifetime', formatDuration(reg.lifetime)],
    ['Registered', <LocalTime key="r" ms={Date.parse(reg.registeredAt)} />],
    ['Last update', <TimeAgo key="u" ms={Date.parse(reg.lastUpdate)} now={now} />],
    ['Expires', <TimeAgo key="e" ms={Date.parse(reg.expiresAt)} now={now} />],
  ];
  if (reg.identity) items.push(['PSK identity', reg.identity]);
  if (reg.supportedFormats) items.push(['Formats', reg.supportedFormats.join(', ')]);
  items.push(['Registration id', <code key="id">{reg.registrationId}</code>]);
  return (
    <dl class="reg-info">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

function ObservationList(props: {
  ep: string;
  list: readonly Observation[] | undefined;
  error: ErrorWords | undefined;
  onChange: () => void;
}) {
  const [outcome, run] = useAction();
  return (
    <section class="panel side" aria-labelledby="obs-title">
      <h2 id="obs-title">Observations</h2>
      {props.error && (
        <p class="notice notice-error" role="alert">
          {props.error.title}
        </p>
      )}
      {props.list !== undefined && props.list.length === 0 && (
        <p class="muted">None. Use Observe on a resource or an instance.</p>
      )}
      {props.list !== undefined && props.list.length > 0 && (
        <ul class="plain">
          {props.list.map((o) => (
            <li key={o.id} class="obs-item">
              <span>
                <code>{o.paths.join(', ')}</code>
                {o.composite && <span class="badge">composite</span>}
                {o.format && <span class="muted"> · {o.format}</span>}
              </span>
              <button
                type="button"
                class="small"
                aria-label={`Cancel the observation of ${o.paths.join(', ')}`}
                onClick={() =>
                  run('Cancelling…', async () => {
                    await api.cancelObservation(props.ep, o.id);
                    props.onChange();
                    return 'Cancelled.';
                  })
                }
              >
                Cancel
              </button>
            </li>
          ))}
        </ul>
      )}
      <OutcomeText outcome={outcome} />
    </section>
  );
}

function LiveData(props: {
  history: readonly HistoryItem[];
  specOf: (path: string) => ResourceSpec | undefined;
  unitsOf: (path: string) => string | undefined;
  onClear: () => void;
}) {
  const { history, specOf, unitsOf } = props;
  const series = useMemo(() => {
    const byPath = new Map<string, Point[]>();
    // history is newest first; charts go left to right in time.
    for (let i = history.length - 1; i >= 0; i--) {
      const h = history[i]!;
      const v = numericValue(h.type, h.value);
      if (v === undefined) continue;
      let list = byPath.get(h.path);
      if (list === undefined) {
        list = [];
        byPath.set(h.path, list);
      }
      list.push({ t: h.at, v });
    }
    return [...byPath.entries()]
      .sort((a, b) => comparePaths(a[0], b[0]))
      .map(([path, points]) => [path, points.slice(-MAX_POINTS)] as const);
  }, [history]);
  return (
    <section class="panel side" aria-labelledby="live-title">
      <div class="panel-head">
        <h2 id="live-title">Live data</h2>
        {history.length > 0 && (
          <button type="button" class="small" onClick={props.onClear}>
            Clear
          </button>
        )}
      </div>
      {history.length === 0 && (
        <p class="muted">
          Notifications of observed resources and data the device sends show here.
        </p>
      )}
      {series.length > 0 && (
        <div class="charts">
          {series.map(([path, points]) => {
            const spec = specOf(path);
            return (
              <div key={path} class="chart-box" data-chart-path={path}>
                <div class="chart-title">
                  {spec?.name ?? 'Resource'} <code>{path}</code>
                </div>
                <Sparkline points={points} label={`${spec?.name ?? path}`} units={unitsOf(path)} />
              </div>
            );
          })}
        </div>
      )}
      {history.length > 0 && (
        <ol class="history" aria-label="Values received, newest first">
          {history.slice(0, 50).map((h) => {
            const units = unitsOf(h.path);
            return (
              <li key={h.key}>
                <time
                  dateTime={new Date(h.at).toISOString()}
                  title={new Date(h.at).toLocaleString()}
                >
                  {new Date(h.at).toLocaleTimeString()}
                </time>
                <span class={`badge src-${h.source}`}>
                  {h.source === 'send' ? 'Send' : 'notify'}
                </span>
                <code>{h.path}</code>
                <span class="history-value">
                  {formatValue(h.type, h.value)}
                  {units ? ` ${units}` : ''}
                </span>
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}

/** Object entries from the registration, with instances created or deleted from this page. */
function mergedEntries(
  reg: Registration | undefined,
  added: ReadonlyMap<number, ReadonlySet<number>>,
  removed: ReadonlySet<string>,
): ObjectEntry[] {
  const base = reg ? groupObjectLinks(reg.objectLinks) : [];
  const byId = new Map(base.map((e) => [e.objectId, e]));
  for (const [objectId, ids] of added) {
    const e = byId.get(objectId) ?? { objectId, instances: [] };
    byId.set(objectId, {
      ...e,
      instances: [...new Set([...e.instances, ...ids])].sort((a, b) => a - b),
    });
  }
  return [...byId.values()]
    .filter((e) => e.objectId !== 0)
    .sort((a, b) => a.objectId - b.objectId)
    .map((e) => ({
      ...e,
      instances: e.instances.filter((i) => !removed.has(`/${e.objectId}/${i}`)),
    }));
}

export function DevicePage({ endpoint }: { endpoint: string }) {
  const app = useAppData();
  const now = useNow(1000);
  const row = app.devices?.get(endpoint);
  const [lastReg, setLastReg] = useState<Registration | undefined>(row?.reg);
  const [lookup, setLookup] = useState<ErrorWords | undefined>(undefined);
  const [values, setValues] = useState<ValueMap>(new Map());
  const [history, setHistory] = useState<HistoryItem[]>([]);
  const [timeline, setTimeline] = useState<TimelineItem[]>([]);
  const [observations, setObservations] = useState<Observation[] | undefined>(undefined);
  const [obsError, setObsError] = useState<ErrorWords | undefined>(undefined);
  const [attributes, setAttributes] = useState<
    ReadonlyMap<string, Readonly<Record<string, LinkAttributeValue>>>
  >(new Map());
  const [readInstances, setReadInstances] = useState<ReadonlySet<string>>(new Set());
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [format, setFormat] = useState('');
  const [timeoutText, setTimeoutText] = useState('');
  const [attrFor, setAttrFor] = useState<{ path: string; spec: ResourceSpec | undefined }>();
  const [createFor, setCreateFor] = useState<number | undefined>(undefined);
  const [added, setAdded] = useState<ReadonlyMap<number, ReadonlySet<number>>>(new Map());
  const [removed, setRemoved] = useState<ReadonlySet<string>>(new Set());

  const registered = row !== undefined;
  const reg = row?.reg ?? lastReg;

  useEffect(() => {
    document.title = `${endpoint} · LwM2M server`;
  }, [endpoint]);
  useEffect(() => {
    if (row?.reg) setLastReg(row.reg);
  }, [row?.reg]);

  // Not in the list when the page opens: ask the server once, for its answer in words. (When
  // the device leaves later, the event stream has said so already.)
  const lookedUp = useRef(false);
  useEffect(() => {
    // Decided once, when the list first arrives: a device that leaves later (a reboot) must not
    // trigger a lookup that can only answer 404.
    if (app.devices === undefined || lookedUp.current) return;
    lookedUp.current = true;
    if (row !== undefined) return;
    api.client(endpoint).then(
      (r) => {
        setLastReg(r);
        setLookup(undefined);
        // A big fleet's list does not hold every device: hold this one.
        app.track([r]);
      },
      (err) => setLookup(errorWords(err)),
    );
  }, [row, app.devices, endpoint]);

  const refreshObservations = useCallback(() => {
    api.observations(endpoint).then(
      (list) => {
        setObservations(list);
        setObsError(undefined);
      },
      (err) => {
        setObservations([]);
        setObsError(errorWords(err));
      },
    );
  }, [endpoint]);
  useEffect(() => {
    if (registered) refreshObservations();
  }, [registered, reg?.registrationId]);

  const addTimeline = useCallback((text: string) => {
    setTimeline((t) => [{ key: ++counter, at: Date.now(), text }, ...t].slice(0, 20));
  }, []);
  const addHistory = useCallback((source: HistoryItem['source'], list: readonly TimedValue[]) => {
    const at = Date.now();
    const items = list.map((v) => ({
      key: ++counter,
      at: v.time === undefined ? at : Date.parse(v.time) || at,
      source,
      path: v.path,
      type: v.type,
      value: v.value,
    }));
    items.sort((a, b) => b.at - a.at);
    setHistory((h) => [...items, ...h].slice(0, MAX_HISTORY));
  }, []);

  const lastRegId = useRef(reg?.registrationId);
  useEffect(
    () =>
      live.on((name, data) => {
        if (data?.endpoint !== endpoint) return;
        const at = Date.now();
        switch (name) {
          case 'notification': {
            const paths: string[] = Array.isArray(data.paths) ? data.paths : [];
            if (data.content !== undefined && paths.length === 1) {
              const node = data.content as JsonNode;
              setValues((v) => applyNode(v, paths[0]!, node, at));
              addHistory('notification', nodeToTimedValues(paths[0]!, node));
            } else if (Array.isArray(data.values)) {
              setValues((v) => applyTimedValues(v, data.values, at));
              addHistory('notification', data.values);
            }
            break;
          }
          case 'send':
            if (Array.isArray(data.values)) {
              setValues((v) => applyTimedValues(v, data.values, at));
              addHistory('send', data.values);
            }
            break;
          case 'observation-cancelled': {
            const id = data.observation?.id;
            setObservations((list) => list?.filter((o) => o.id !== id));
            break;
          }
          case 'registration': {
            if (data.registration) app.track([data.registration]);
            const again = lastRegId.current !== undefined;
            lastRegId.current = data.registration?.registrationId;
            addTimeline(again ? 'Registered again (a new registration)' : 'Registered');
            setRemoved(new Set());
            setAdded(new Map());
            break;
          }
          case 'update':
            addTimeline('Updated its registration');
            break;
          case 'deregistration':
            addTimeline(
              data.reason === 'expired'
                ? 'Left: its registration expired'
                : `Left (${String(data.reason ?? 'de-registered')})`,
            );
            setObservations([]);
            break;
          case 'awake':
            addTimeline('Woke up');
            break;
          case 'sleeping':
            addTimeline('Fell asleep');
            break;
        }
      }),
    [endpoint, addHistory, addTimeline, refreshObservations, app.track],
  );
  useEffect(() => {
    if (reg?.registrationId !== undefined && lastRegId.current === undefined) {
      lastRegId.current = reg.registrationId;
    }
  }, [reg?.registrationId]);

  const specs = app.specs;
  const specFor = useCallback(
    (objectId: number) => {
      if (specs === undefined) return undefined;
      const version = reg?.objectLinks.find((l) => l.objectId === objectId && l.version)?.version;
      return chooseSpec(specs, objectId, version);
    },
    [specs, reg],
  );
  const specOf = useCallback(
    (path: string) => {
      const [o, , r] = path.split('/').slice(1).map(Number);
      if (o === undefined || r === undefined) return undefined;
      return specFor(o)?.resources.find((x) => x.id === r);
    },
    [specFor],
  );

  const timeout = /^\d+$/.test(timeoutText) ? Number(timeoutText) * 1000 : undefined;
  const opts = useMemo(
    () => ({ format: format === '' ? undefined : format, timeout }),
    [format, timeout],
  );
  const observed = useMemo(
    () => new Set((observations ?? []).filter((o) => !o.composite).flatMap((o) => o.paths)),
    [observations],
  );

  const ctx: DeviceCtx = {
    ep: endpoint,
    reg,
    registered,
    opts,
    values,
    observed,
    attributes,
    readInstances,
    selected,
    toggleSelected: (path, on) =>
      setSelected((s) => {
        const n = new Set(s);
        if (on) n.add(path);
        else n.delete(path);
        return n;
      }),
    applyRead: (base, node) => {
      const at = Date.now();
      setValues((v) => applyNode(v, base, node, at));
      const depth = base.split('/').length - 1;
      if (node.kind === 'instance' || node.kind === 'object') {
        const paths =
          node.kind === 'instance' ? [base] : node.instances.map((i) => `${base}/${i.id}`);
        if (depth <= 2) setReadInstances((s) => new Set([...s, ...paths]));
      }
    },
    applyDiscover: (base, links: readonly DiscoverLink[]) =>
      setAttributes((a) => {
        const n = new Map(a);
        for (const l of links) {
          if (l.path === base || l.path.startsWith(`${base}/`)) n.set(l.path, l.attributes);
        }
        return n;
      }),
    refreshObservations,
    openAttributes: (path, spec) => setAttrFor({ path, spec }),
    openCreate: (objectId) => setCreateFor(objectId),
    instanceCreated: (objectId, instanceId) => {
      setAdded((a) => new Map(a).set(objectId, new Set([...(a.get(objectId) ?? []), instanceId])));
      setRemoved((r) => {
        const n = new Set(r);
        n.delete(`/${objectId}/${instanceId}`);
        return n;
      });
    },
    instanceDeleted: (objectId, instanceId) =>
      setRemoved((r) => new Set([...r, `/${objectId}/${instanceId}`])),
    specFor,
  };

  const entries = mergedEntries(reg, added, removed);
  const selectedPaths = useMemo(() => [...selected].sort(comparePaths), [selected]);
  const compositeAllowed = reg !== undefined && reg.lwm2mVersion !== '1.0';
  const formats = reg?.supportedFormats?.length
    ? FORMATS.filter((f) => reg.supportedFormats!.includes(f))
    : FORMATS;

  return (
    <DeviceContext.Provider value={ctx}>
      <section class="page device-page" aria-labelledby="device-title">
        <nav class="crumbs" aria-label="Breadcrumb">
          <Link href="/">Devices</Link> <span aria-hidden="true">›</span> <span>{endpoint}</span>
        </nav>
        <div class="page-head">
          <h1 id="device-title" tabIndex={-1}>
            {endpoint}
          </h1>
          {row && <StateBadge row={row} />}
          {!registered && reg && <span class="badge state-gone">not registered</span>}
        </div>

        {!registered && app.devices !== undefined && (
          <div class="notice notice-warn" role="status">
            <strong>{lookup?.title ?? 'The device is not registered now.'}</strong>{' '}
            {reg
              ? 'What it showed when it was last registered stays below; requests will fail until it registers again.'
              : 'It appears here when it registers.'}
          </div>
        )}
        {app.devicesError && (
          <div class="notice notice-error" role="alert">
            The server could not be asked about its devices: {app.devicesError.title}
          </div>
        )}
        {app.specsError && (
          <div class="notice notice-error" role="alert">
            The object models could not be loaded ({app.specsError.title}): objects are shown by id.
          </div>
        )}

        {reg && (
          <details class="panel reg-panel" open>
            <summary>Registration</summary>
            <RegistrationInfo reg={reg} now={now} />
            {timeline.length > 0 && (
              <ol class="timeline" aria-label="Registration events on this page">
                {timeline.map((t) => (
                  <li key={t.key}>
                    <LocalTime ms={t.at} /> — {t.text}
                  </li>
                ))}
              </ol>
            )}
          </details>
        )}

        <div class="toolbar sticky" role="toolbar" aria-label="Request options">
          <label class="field">
            <span>Content format</span>
            <select value={format} onChange={(e) => setFormat(e.currentTarget.value)}>
              <option value="">Auto (the server chooses)</option>
              {formats.map((f) => (
                <option key={f} value={f}>
                  {f}
                </option>
              ))}
            </select>
          </label>
          <label class="field timeout">
            <span>Timeout (s)</span>
            <input
              type="text"
              inputMode="numeric"
              placeholder="default"
              value={timeoutText}
              aria-invalid={timeoutText !== '' && timeout === undefined ? 'true' : undefined}
              onInput={(e) => setTimeoutText(e.currentTarget.value)}
            />
          </label>
        </div>

        <div class="device-layout">
          <div class="tree">
            {entries.length > 0 && (
              <nav class="jump" aria-label="Objects">
                {entries.map((e) => (
                  <a key={e.objectId} class="jump-link" href={`#object-${e.objectId}`}>
                    {specFor(e.objectId)?.name ?? `Object ${e.objectId}`}
                  </a>
                ))}
              </nav>
            )}
            {app.specs === undefined && !app.specsError && (
              <p class="muted">Loading object models…</p>
            )}
            {reg === undefined && lookup === undefined && !app.devicesError && (
              <p class="muted">Loading the device…</p>
            )}
            {entries.map((e) => (
              <ObjectSection key={e.objectId} entry={e} />
            ))}
          </div>
          <aside class="sidebar" aria-label="Selected resources, observations and live data">
            <CompositePanel
              paths={selectedPaths}
              allowed={compositeAllowed}
              observations={observations}
              specOf={specOf}
              onValues={(list) => {
                const at = Date.now();
                setValues((v) => applyTimedValues(v, list, at));
              }}
              onClear={() => setSelected(new Set())}
            />
            <ObservationList
              ep={endpoint}
              list={observations}
              error={obsError}
              onChange={refreshObservations}
            />
            <LiveData
              history={history}
              specOf={specOf}
              unitsOf={(p) => unitsFor(p, specOf(p)?.units, values)}
              onClear={() => setHistory([])}
            />
          </aside>
        </div>
      </section>
      {attrFor && (
        <AttributesDialog
          path={attrFor.path}
          spec={attrFor.spec}
          onClose={() => setAttrFor(undefined)}
        />
      )}
      {createFor !== undefined && (
        <CreateDialog objectId={createFor} onClose={() => setCreateFor(undefined)} />
      )}
    </DeviceContext.Provider>
  );
}
