/** The device's object tree: objects, instances and resources, each with its operations. */
import { useState } from 'preact/hooks';
import { api } from './api';
import { attributeChips } from './attributes';
import { ConfirmDelete } from './confirm-delete';
import { useDevice } from './device-context';
import { ExecuteForm, ValueView, WriteForm } from './editors';
import {
  isExecutable,
  isReadable,
  isWritable,
  type ObjectEntry,
  type ObjectSpec,
  type ResourceSpec,
  resourceIdsUnder,
  unitsFor,
} from './model';
import { OutcomeText, useAction } from './ui';

function Chips({ path }: { path: string }) {
  const ctx = useDevice();
  const chips = attributeChips(ctx.attributes.get(path));
  if (chips.length === 0) return null;
  return (
    <span class="chips" title="Attributes the device reported (Discover)">
      {chips.map((c) => (
        <span class="chip" key={c}>
          {c}
        </span>
      ))}
    </span>
  );
}

function opsLabel(spec: ResourceSpec | undefined): string {
  if (spec === undefined) return '?';
  return spec.operations === 'NONE' ? '—' : spec.operations;
}

function ResourceRow(props: { path: string; resourceId: number; spec: ResourceSpec | undefined }) {
  const ctx = useDevice();
  const { path, spec } = props;
  const [open, setOpen] = useState<'write' | 'execute' | undefined>(undefined);
  const [outcome, run] = useAction();
  const value = ctx.values.get(path);
  const observed = ctx.observed.has(path);
  const readable = spec === undefined || isReadable(spec);
  const writable = spec === undefined || isWritable(spec);
  const executable = spec === undefined ? false : isExecutable(spec);
  const name = spec?.name ?? `Resource ${props.resourceId}`;
  const instancePath = path.slice(0, path.lastIndexOf('/'));
  const missing = value === undefined && readable && ctx.readInstances.has(instancePath);
  const busy = outcome.kind === 'busy';
  const units = unitsFor(path, spec?.units, ctx.values);

  return (
    <>
      <tr
        class={`resource${missing ? ' missing' : ''}${observed ? ' observed' : ''}`}
        data-path={path}
      >
        <td class="sel" data-label="Select">
          {(readable || writable) && (
            <input
              type="checkbox"
              aria-label={`Select ${path} for composite operations`}
              checked={ctx.selected.has(path)}
              onChange={(e) => ctx.toggleSelected(path, e.currentTarget.checked)}
            />
          )}
        </td>
        <th scope="row" class="res-name">
          <span class="res-id">{props.resourceId}</span> {name}
          {spec?.mandatory && (
            <abbr class="mark" title="mandatory">
              *
            </abbr>
          )}
          {spec?.multiple && <span class="mark">multiple</span>}
          <div class="sub">
            <code>{path}</code>
            {spec && spec.type !== 'none' && <> · {spec.type}</>}
            {units && <> · {units}</>}
          </div>
        </th>
        <td class="ops" data-label="Operations">
          <span class={`badge ops-badge`} title="Operations the object model allows">
            {opsLabel(spec)}
          </span>
        </td>
        <td class="val" data-label="Value">
          <div>
            <span class="value" data-value-path={path}>
              {missing ? (
                <span class="muted" title="The last read of the instance did not include it">
                  not reported
                </span>
              ) : (
                <ValueView value={value} units={units} />
              )}
            </span>
            {observed && <span class="badge observing">observing</span>}
            <Chips path={path} />
          </div>
        </td>
        <td class="acts" data-label="Actions">
          <div class="action-buttons">
            {readable && <ReadDiscoverButtons path={path} busy={busy} run={run} noDiscover />}
            {readable && <ObserveButton path={path} busy={busy} run={run} />}
            {writable && (
              <button
                type="button"
                class="small"
                aria-label={`Write ${path}`}
                aria-expanded={open === 'write'}
                onClick={() => setOpen(open === 'write' ? undefined : 'write')}
              >
                Write…
              </button>
            )}
            {executable && (
              <button
                type="button"
                class="small"
                aria-label={`Execute ${path}`}
                aria-expanded={open === 'execute'}
                onClick={() => setOpen(open === 'execute' ? undefined : 'execute')}
              >
                Execute…
              </button>
            )}
            {readable && (
              <button
                type="button"
                class="small"
                aria-label={`Write attributes of ${path}`}
                onClick={() => ctx.openAttributes(path, spec)}
              >
                Attributes…
              </button>
            )}
          </div>
          <OutcomeText outcome={outcome} />
        </td>
      </tr>
      {open !== undefined && (
        <tr class="editor-row">
          <td colSpan={5}>
            {open === 'write' ? (
              <WriteForm
                path={path}
                spec={spec}
                current={value}
                onClose={() => setOpen(undefined)}
              />
            ) : (
              <ExecuteForm path={path} name={name} onClose={() => setOpen(undefined)} />
            )}
          </td>
        </tr>
      )}
    </>
  );
}

/** Read and Discover (not for a resource row); their outcome goes to the section's `run`. */
function ReadDiscoverButtons(props: {
  path: string;
  busy: boolean;
  run: ReturnType<typeof useAction>[1];
  noDiscover?: boolean;
}) {
  const ctx = useDevice();
  const { path, busy, run } = props;
  return (
    <>
      <button
        type="button"
        class="small"
        aria-label={`Read ${path}`}
        disabled={busy}
        onClick={() =>
          run('Reading…', async () => {
            const res = await api.read(ctx.ep, path, ctx.opts);
            ctx.applyRead(path, res.content);
            return `Read (${res.format}).`;
          })
        }
      >
        Read
      </button>
      {!props.noDiscover && (
        <button
          type="button"
          class="small"
          aria-label={`Discover ${path}`}
          disabled={busy}
          onClick={() =>
            run('Discovering…', async () => {
              const res = await api.discover(ctx.ep, path, ctx.opts);
              ctx.applyDiscover(path, res.links);
              return `Discovered ${res.links.length} link${res.links.length === 1 ? '' : 's'}.`;
            })
          }
        >
          Discover
        </button>
      )}
    </>
  );
}

/** Observe, or Stop observing, a resource or an instance. */
function ObserveButton(props: {
  path: string;
  busy: boolean;
  run: ReturnType<typeof useAction>[1];
}) {
  const ctx = useDevice();
  const { path } = props;
  const observed = ctx.observed.has(path);
  return (
    <button
      type="button"
      class={`small${observed ? ' on' : ''}`}
      aria-label={observed ? `Stop observing ${path}` : `Observe ${path}`}
      aria-pressed={observed}
      disabled={props.busy || !ctx.registered}
      onClick={() =>
        props.run(observed ? 'Cancelling…' : 'Observing…', async () => {
          if (observed) {
            const res = await api.cancelObserve(ctx.ep, path, ctx.opts);
            ctx.refreshObservations();
            return `Observation cancelled (${res.cancelled}).`;
          }
          const res = await api.observe(ctx.ep, path, ctx.opts);
          ctx.applyRead(path, res.content);
          ctx.refreshObservations();
          return 'Observing: new values appear as the device sends them.';
        })
      }
    >
      {observed ? 'Stop observing' : 'Observe'}
    </button>
  );
}

function DiscoveredLinks({ base }: { base: string }) {
  const ctx = useDevice();
  if (attributeChips(ctx.attributes.get(base)).length === 0) return null;
  return (
    <p class="discovered">
      Attributes of <code>{base}</code>: <Chips path={base} />
    </p>
  );
}

function InstanceSection(props: {
  objectId: number;
  instanceId: number;
  spec: ObjectSpec | undefined;
}) {
  const ctx = useDevice();
  const { objectId, instanceId, spec } = props;
  const path = `/${objectId}/${instanceId}`;
  const [outcome, run] = useAction();
  const observed = ctx.observed.has(path);
  const busy = outcome.kind === 'busy';
  const resourceIds =
    spec !== undefined ? spec.resources.map((r) => r.id) : resourceIdsUnder(ctx.values, path);
  const headingId = `inst-${objectId}-${instanceId}`;

  return (
    <section class="instance" aria-labelledby={headingId} data-path={path}>
      <div class="instance-head">
        <h3 id={headingId}>
          Instance {instanceId} <code>{path}</code>
          {observed && <span class="badge observing">observing</span>}
        </h3>
        <div class="action-buttons">
          <ReadDiscoverButtons path={path} busy={busy} run={run} />
          <ObserveButton path={path} busy={busy} run={run} />
          <button
            type="button"
            class="small"
            aria-label={`Write attributes of ${path}`}
            onClick={() => ctx.openAttributes(path, undefined)}
          >
            Attributes…
          </button>
          <ConfirmDelete
            run={run}
            what={path}
            question={<>Delete {path}?</>}
            disabled={busy}
            remove={async () => {
              const res = await api.delete(ctx.ep, path, ctx.opts);
              ctx.instanceDeleted(objectId, instanceId);
              return `Deleted (${res.status}).`;
            }}
          />
        </div>
        <OutcomeText outcome={outcome} />
      </div>
      <DiscoveredLinks base={path} />
      {resourceIds.length === 0 ? (
        <p class="muted">
          {spec === undefined
            ? 'This server has no model of this object: read the instance to see its resources.'
            : 'This object has no resources.'}
        </p>
      ) : (
        <table class="resources">
          <caption class="visually-hidden">
            Resources of {spec?.name ?? `object ${objectId}`} instance {instanceId}
          </caption>
          <thead>
            <tr>
              <th scope="col" class="sel">
                <span class="visually-hidden">Select</span>
              </th>
              <th scope="col">Resource</th>
              <th scope="col" class="ops">
                Ops
              </th>
              <th scope="col">Value</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {resourceIds.map((id) => (
              <ResourceRow
                key={id}
                path={`${path}/${id}`}
                resourceId={id}
                spec={spec?.resources.find((r) => r.id === id)}
              />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function ObjectSection({ entry }: { entry: ObjectEntry }) {
  const ctx = useDevice();
  const spec = ctx.specFor(entry.objectId);
  const path = `/${entry.objectId}`;
  const [outcome, run] = useAction();
  const busy = outcome.kind === 'busy';
  const headingId = `obj-${entry.objectId}`;
  const canCreate = spec === undefined || spec.multiple || entry.instances.length === 0;
  const [expanded, setExpanded] = useState(true);
  const bodyId = `obj-body-${entry.objectId}`;
  return (
    <section
      class="object panel"
      aria-labelledby={headingId}
      data-path={path}
      id={`object-${entry.objectId}`}
    >
      <div class="object-head">
        <button
          type="button"
          class="icon-button toggle"
          aria-expanded={expanded}
          aria-controls={bodyId}
          aria-label={`${expanded ? 'Collapse' : 'Expand'} ${path}`}
          onClick={() => setExpanded(!expanded)}
        >
          <span aria-hidden="true">{expanded ? '▾' : '▸'}</span>
        </button>
        <h2 id={headingId}>
          {spec ? spec.name : `Object ${entry.objectId}`} <code>{path}</code>
          {spec === undefined ? (
            <span class="badge unknown">unknown to this server</span>
          ) : (
            <span class="version" title="object version">
              v{spec.version}
            </span>
          )}
        </h2>
        <div class="action-buttons">
          <ReadDiscoverButtons path={path} busy={busy} run={run} />
          {canCreate && (
            <button
              type="button"
              class="small"
              aria-label={`Create an instance of ${path}`}
              onClick={() => ctx.openCreate(entry.objectId)}
            >
              Create…
            </button>
          )}
        </div>
        <OutcomeText outcome={outcome} />
      </div>
      <div id={bodyId} hidden={!expanded}>
        <DiscoveredLinks base={path} />
        {entry.instances.length === 0 && <p class="muted">No instances.</p>}
        {entry.instances.map((i) => (
          <InstanceSection key={i} objectId={entry.objectId} instanceId={i} spec={spec} />
        ))}
      </div>
    </section>
  );
}
