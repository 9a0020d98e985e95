/** The Write-Attributes and Create dialogs of the device page. */
import { useId, useState } from 'preact/hooks';
import { api, type ResourceInput } from './api';
import { ATTRIBUTES, type AttributeField, attributeUpdate, formFromDiscovered } from './attributes';
import { useDevice } from './device-context';
import { ValueInput } from './editors';
import { FormButtons } from './form-buttons';
import { compareVersions, type DataType, isWritable, type ResourceSpec } from './model';
import { Modal, useAction } from './ui';
import { type OpaqueEncoding, optionsFor, parseValue } from './values';

function AttributeRow(props: {
  name: string;
  label: string;
  field: AttributeField;
  error: string | undefined;
  onChange: (f: AttributeField) => void;
}) {
  const id = useId();
  const { field } = props;
  return (
    <div class="attr-row">
      <label for={id}>
        {props.label} <code>{props.name}</code>
      </label>
      <input
        id={id}
        type="text"
        inputMode="decimal"
        value={field.text}
        disabled={field.unset}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={props.error ? `${id}-err` : undefined}
        onInput={(e) => props.onChange({ ...field, text: e.currentTarget.value })}
      />
      <label class="inline">
        <input
          type="checkbox"
          checked={field.unset}
          onChange={(e) => props.onChange({ ...field, unset: e.currentTarget.checked })}
        />
        <span>
          Unset<span class="visually-hidden"> {props.name}</span>
        </span>
      </label>
      {props.error && (
        <small id={`${id}-err`} class="field-error">
          {props.error}
        </small>
      )}
    </div>
  );
}

/** Write-Attributes of a path; after success, a Discover shows what the device holds now. */
export function AttributesDialog(props: {
  path: string;
  spec: ResourceSpec | undefined;
  onClose: () => void;
}) {
  const ctx = useDevice();
  const { path, spec } = props;
  const [form, setForm] = useState(() => formFromDiscovered(ctx.attributes.get(path)));
  const [tried, setTried] = useState(false);
  const [outcome, run] = useAction();
  const version = ctx.reg?.lwm2mVersion ?? '1.2';
  const depth = path.split('/').length - 1;
  const numeric = spec === undefined || ['integer', 'unsigned', 'float'].includes(spec.type);
  const boolean = spec === undefined || spec.type === 'boolean';
  const shown = ATTRIBUTES.filter(
    (a) =>
      compareVersions(a.since, version) <= 0 &&
      (a.only === undefined || depth >= 3) &&
      (a.only !== 'numeric' || numeric) &&
      (a.only !== 'boolean' || boolean),
  );
  const result = attributeUpdate(Object.fromEntries(shown.map((a) => [a.name, form[a.name]!])));
  const errors = !result.ok && tried ? result.errors : {};
  return (
    <Modal title={`Write attributes of ${path}`} onClose={props.onClose}>
      <form
        class="stack"
        onSubmit={async (e) => {
          e.preventDefault();
          setTried(true);
          if (!result.ok) return;
          if (Object.keys(result.update).length === 0) return;
          await run('Writing attributes…', async () => {
            const res = await api.writeAttributes(ctx.ep, path, result.update, ctx.opts);
            try {
              const d = await api.discover(ctx.ep, path, ctx.opts);
              ctx.applyDiscover(path, d.links);
            } catch {
              // the write worked; the Discover is only to show it
            }
            return `Attributes written (${res.status}).`;
          });
        }}
      >
        <p class="muted">
          These decide when the device notifies the observers of {path}. Leave a field empty to keep
          the attribute as it is; tick “Unset” to remove it.
        </p>
        {shown.map((a) => (
          <AttributeRow
            key={a.name}
            name={a.name}
            label={a.label}
            field={form[a.name]!}
            error={errors[a.name]}
            onChange={(f) => setForm((old) => ({ ...old, [a.name]: f }))}
          />
        ))}
        {tried && result.ok && Object.keys(result.update).length === 0 && (
          <p class="field-error">Nothing to write: fill in or unset at least one attribute.</p>
        )}
        <FormButtons outcome={outcome}>Write attributes</FormButtons>
      </form>
    </Modal>
  );
}

interface CreateField {
  readonly text: string;
  readonly encoding: OpaqueEncoding;
}

/** Create an instance with values for the writable single resources of the model. */
export function CreateDialog(props: { objectId: number; onClose: () => void }) {
  const ctx = useDevice();
  const { objectId } = props;
  const spec = ctx.specFor(objectId);
  const resources = (spec?.resources ?? []).filter(
    (r) => isWritable(r) && !r.multiple && r.type !== 'none',
  );
  const [instanceId, setInstanceId] = useState('');
  const [fields, setFields] = useState<Record<number, CreateField>>({});
  const [tried, setTried] = useState(false);
  const [outcome, run] = useAction();
  const idId = useId();

  const parsed = resources.map((r) => {
    const f = fields[r.id] ?? { text: '', encoding: 'hex' as const };
    const empty = f.text.trim() === '' && r.type !== 'string';
    return {
      r,
      f,
      empty: empty || f.text === '',
      value: parseValue(r.type as DataType, f.text, optionsFor(r, f.encoding)),
    };
  });
  const idOk = instanceId === '' || (/^\d{1,5}$/.test(instanceId) && Number(instanceId) < 65535);
  const bad = parsed.filter((p) => !p.empty && !p.value.ok);

  return (
    <Modal
      title={`Create an instance of ${spec?.name ?? `object ${objectId}`}`}
      onClose={props.onClose}
    >
      <form
        class="stack"
        onSubmit={async (e) => {
          e.preventDefault();
          setTried(true);
          if (!idOk || bad.length > 0) return;
          const list: ResourceInput[] = [];
          for (const p of parsed)
            if (!p.empty && p.value.ok) list.push({ id: p.r.id, value: p.value.value });
          const body = {
            ...(instanceId === '' ? {} : { id: Number(instanceId) }),
            resources: list,
          };
          await run('Creating…', async () => {
            const res = await api.create(ctx.ep, `/${objectId}`, body, ctx.opts);
            const created =
              res.location !== undefined
                ? Number(res.location.split('/').filter(Boolean).at(-1))
                : instanceId !== ''
                  ? Number(instanceId)
                  : undefined;
            if (created !== undefined && Number.isInteger(created))
              ctx.instanceCreated(objectId, created);
            return `Created${created !== undefined ? ` /${objectId}/${created}` : ''} (${res.status}).`;
          });
        }}
      >
        <div class="field">
          <label for={idId}>Instance id (empty: the device chooses)</label>
          <input
            id={idId}
            type="text"
            inputMode="numeric"
            value={instanceId}
            aria-invalid={idOk ? undefined : 'true'}
            onInput={(e) => setInstanceId(e.currentTarget.value)}
          />
          {!idOk && <small class="field-error">expected a whole number below 65535</small>}
        </div>
        {spec === undefined && (
          <p class="muted">
            This server has no model of object {objectId}: the instance is created empty.
          </p>
        )}
        {resources.length > 0 && (
          <fieldset>
            <legend>Values (empty ones are left out)</legend>
            {parsed.map(({ r, f, empty, value }) => (
              <ValueInput
                key={r.id}
                label={`${r.name} (${r.id})${r.mandatory ? ' *' : ''}`}
                type={r.type as DataType}
                spec={r}
                text={f.text}
                encoding={f.encoding}
                onText={(text) => setFields((old) => ({ ...old, [r.id]: { ...f, text } }))}
                onEncoding={(encoding) =>
                  setFields((old) => ({ ...old, [r.id]: { ...f, encoding } }))
                }
                error={(tried || !empty) && !empty && !value.ok ? value.error : undefined}
              />
            ))}
          </fieldset>
        )}
        <FormButtons outcome={outcome}>Create</FormButtons>
      </form>
    </Modal>
  );
}
