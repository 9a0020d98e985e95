/**
 * Composite operations on the resources ticked in the tree (LwM2M 1.1+): read them, write the
 * writable ones with typed inputs, observe them together (values come live) and stop.
 */
import { useState } from 'preact/hooks';
import { api } from './api';
import { useDevice } from './device-context';
import { ValueInput, ValueView } from './editors';
import { FormButtons } from './form-buttons';
import {
  type DataType,
  isReadable,
  isWritable,
  type Observation,
  type ResourceSpec,
  type TimedValue,
  unitsFor,
} from './model';
import { OutcomeText, useAction } from './ui';
import { optionsFor, parseValue, toInputText } from './values';

type SpecOf = (path: string) => ResourceSpec | undefined;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function CompositeWrite(props: {
  paths: readonly string[];
  specOf: SpecOf;
  onValues: (values: readonly TimedValue[]) => void;
  onClose: () => void;
}) {
  const ctx = useDevice();
  const [texts, setTexts] = useState<Record<string, string>>(() =>
    Object.fromEntries(
      props.paths.map((p) => [
        p,
        toInputText(props.specOf(p)!.type as DataType, ctx.values.get(p)?.value),
      ]),
    ),
  );
  const [tried, setTried] = useState(false);
  const [outcome, run] = useAction();
  const items = props.paths.map((path) => {
    const spec = props.specOf(path)!;
    const text = texts[path] ?? '';
    return { path, spec, text, parsed: parseValue(spec.type as DataType, text, optionsFor(spec)) };
  });
  return (
    <form
      class="editor"
      aria-label="Write the selected resources"
      onSubmit={(e) => {
        e.preventDefault();
        setTried(true);
        const values = items.flatMap((x) =>
          x.parsed.ok ? [{ path: x.path, value: x.parsed.value }] : [],
        );
        if (values.length < items.length) return;
        run(`Writing ${plural(values.length, 'value')}…`, async () => {
          const res = await api.writeComposite(ctx.ep, values, ctx.opts);
          const back = items.filter((x) => isReadable(x.spec)).map((x) => x.path);
          try {
            if (back.length > 0) {
              props.onValues((await api.readComposite(ctx.ep, back, ctx.opts)).values);
              return `Written (${res.status}); read back.`;
            }
          } catch {
            // the write went through; the read back did not
          }
          return `Written (${res.status}).`;
        });
      }}
    >
      {items.map((x) => (
        <ValueInput
          key={x.path}
          label={`New value of ${x.spec.name} (${x.path})`}
          type={x.spec.type as DataType}
          spec={x.spec}
          text={x.text}
          onText={(t) => setTexts((m) => ({ ...m, [x.path]: t }))}
          encoding="hex"
          error={(tried || x.text !== '') && !x.parsed.ok ? x.parsed.error : undefined}
        />
      ))}
      <FormButtons outcome={outcome} onClose={props.onClose}>
        Write {plural(items.length, 'value')}
      </FormButtons>
    </form>
  );
}

export function CompositePanel(props: {
  /** The selected paths, in order. */
  paths: readonly string[];
  /** The device speaks LwM2M 1.1 or later. */
  allowed: boolean;
  observations: readonly Observation[] | undefined;
  specOf: SpecOf;
  onValues: (values: readonly TimedValue[]) => void;
  onClear: () => void;
}) {
  const ctx = useDevice();
  const { paths, specOf } = props;
  const [outcome, run] = useAction();
  const [writing, setWriting] = useState(false);
  const readable = paths.filter((p) => {
    const s = specOf(p);
    return s === undefined || isReadable(s);
  });
  // Single resources of a known type: multiple ones are written on their own row.
  const writable = paths.filter((p) => {
    const s = specOf(p);
    return s !== undefined && isWritable(s) && !s.multiple && s.type !== 'none';
  });
  const held = props.observations?.find(
    (o) =>
      o.composite &&
      o.paths.length === readable.length &&
      readable.every((p) => o.paths.includes(p)),
  );
  const off = !ctx.registered || outcome.kind === 'busy';

  return (
    <section class="panel side" aria-labelledby="comp-title">
      <div class="panel-head">
        <h2 id="comp-title">Selected resources</h2>
        {paths.length > 0 && (
          <button type="button" class="small" aria-label="Clear selection" onClick={props.onClear}>
            Clear
          </button>
        )}
      </div>
      {!props.allowed ? (
        <p class="muted">Composite operations need LwM2M 1.1 or later.</p>
      ) : paths.length === 0 ? (
        <p class="muted">
          Tick resources in the tree to read, write or observe them in one request.
        </p>
      ) : (
        <>
          <ul class="plain">
            {paths.map((p) => {
              const spec = specOf(p);
              return (
                <li key={p} class="obs-item">
                  <span>
                    {spec?.name ?? 'Resource'} <code>{p}</code>
                  </span>
                  <span class="value" data-composite-path={p}>
                    <ValueView
                      value={ctx.values.get(p)}
                      units={unitsFor(p, spec?.units, ctx.values)}
                    />
                  </span>
                </li>
              );
            })}
          </ul>
          <div class="action-buttons comp-acts">
            <button
              type="button"
              class="small"
              disabled={off || readable.length === 0}
              onClick={() =>
                run('Reading the selected paths…', async () => {
                  const res = await api.readComposite(ctx.ep, readable, ctx.opts);
                  props.onValues(res.values);
                  return `Read ${plural(res.values.length, 'value')} (${res.format}).`;
                })
              }
            >
              Read selected ({readable.length})
            </button>
            <button
              type="button"
              class={`small${held ? ' on' : ''}`}
              disabled={off || readable.length === 0}
              onClick={() =>
                run(held ? 'Cancelling…' : 'Observing…', async () => {
                  if (held) {
                    await api.cancelObservation(ctx.ep, held.id);
                    ctx.refreshObservations();
                    return 'Observation cancelled.';
                  }
                  const res = await api.observeComposite(ctx.ep, readable, ctx.opts);
                  props.onValues(res.values);
                  ctx.refreshObservations();
                  return `Observing ${plural(readable.length, 'path')} together: new values appear as the device sends them.`;
                })
              }
            >
              {held ? 'Stop observing selected' : 'Observe selected'}
            </button>
            <button
              type="button"
              class="small"
              aria-expanded={writing}
              disabled={writable.length === 0}
              title={
                writable.length === 0 ? 'None of the selected resources is writable' : undefined
              }
              onClick={() => setWriting(!writing)}
            >
              Write selected…
            </button>
          </div>
        </>
      )}
      <OutcomeText outcome={outcome} />
      {writing && props.allowed && writable.length > 0 && (
        <CompositeWrite
          key={writable.join()}
          paths={writable}
          specOf={specOf}
          onValues={props.onValues}
          onClose={() => setWriting(false)}
        />
      )}
    </section>
  );
}
