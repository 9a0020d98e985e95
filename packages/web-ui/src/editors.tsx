/** Inputs that fit a value's type, the Write form of a resource, and the Execute form. */
import { useId, useState } from 'preact/hooks';
import { api } from './api';
import { useDevice } from './device-context';
import { FormButtons } from './form-buttons';
import {
  DATA_TYPES,
  type DataType,
  isReadable,
  type JsonValue,
  type ResourceSpec,
  type ResourceValue,
} from './model';
import { useAction } from './ui';
import {
  checkExecuteArgs,
  formatValue,
  type OpaqueEncoding,
  optionsFor,
  parseValue,
  toDateTimeLocal,
  toInputText,
} from './values';

function typeHint(
  type: DataType,
  spec: ResourceSpec | undefined,
  encoding: OpaqueEncoding,
): string {
  const parts: string[] = [];
  switch (type) {
    case 'integer':
      parts.push('whole number');
      break;
    case 'unsigned':
      parts.push('whole number ≥ 0');
      break;
    case 'float':
      parts.push('number');
      break;
    case 'opaque':
      parts.push(encoding === 'hex' ? 'bytes in hex' : 'bytes in base64');
      break;
    case 'time':
      parts.push('local date and time');
      break;
    case 'objlnk':
      parts.push('object link, e.g. 3:0');
      break;
    default:
      parts.push(type);
  }
  if (spec?.range) parts.push(`${spec.range.min}…${spec.range.max}`);
  if (spec?.units) parts.push(spec.units);
  return parts.join(' · ');
}

/** One input for a value of `type`, with its label and validation message. */
export function ValueInput(props: {
  label: string;
  type: DataType;
  spec?: ResourceSpec | undefined;
  text: string;
  onText: (text: string) => void;
  encoding: OpaqueEncoding;
  onEncoding?: (e: OpaqueEncoding) => void;
  error?: string | undefined;
  required?: boolean;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errId = `${id}-err`;
  const { type, spec, text, onText, encoding } = props;
  const describedBy = props.error ? `${hintId} ${errId}` : hintId;
  const common = {
    id,
    'aria-describedby': describedBy,
    'aria-invalid': props.error ? ('true' as const) : undefined,
    required: props.required,
  };
  const enumeration =
    spec?.enumeration && spec.enumeration.length <= 30 ? spec.enumeration : undefined;
  let input: preact.JSX.Element;
  if (type === 'boolean') {
    input = (
      <select {...common} value={text} onChange={(e) => onText(e.currentTarget.value)}>
        <option value="">—</option>
        <option value="true">true</option>
        <option value="false">false</option>
      </select>
    );
  } else if (enumeration && (type === 'string' || type === 'integer' || type === 'unsigned')) {
    input = (
      <select {...common} value={text} onChange={(e) => onText(e.currentTarget.value)}>
        <option value="">—</option>
        {enumeration.map((v) => (
          <option key={v} value={v}>
            {v}
          </option>
        ))}
      </select>
    );
  } else if (type === 'time') {
    input = (
      <span class="inline">
        <input
          {...common}
          type="datetime-local"
          step="1"
          value={text}
          onInput={(e) => onText(e.currentTarget.value)}
        />
        <button type="button" class="small" onClick={() => onText(toDateTimeLocal(new Date()))}>
          Now
        </button>
      </span>
    );
  } else if (type === 'opaque') {
    input = (
      <span class="stack-tight">
        <textarea
          {...common}
          rows={2}
          spellcheck={false}
          value={text}
          onInput={(e) => onText(e.currentTarget.value)}
        />
        {props.onEncoding && (
          <label class="inline small-label">
            <span>Written as</span>
            <select
              value={encoding}
              onChange={(e) => props.onEncoding?.(e.currentTarget.value as OpaqueEncoding)}
            >
              <option value="hex">hex</option>
              <option value="base64">base64</option>
            </select>
          </label>
        )}
      </span>
    );
  } else {
    const numeric = type === 'integer' || type === 'unsigned' || type === 'float';
    input = (
      <input
        {...common}
        type="text"
        inputMode={numeric ? (type === 'float' ? 'decimal' : 'numeric') : undefined}
        autocomplete="off"
        spellcheck={false}
        value={text}
        onInput={(e) => onText(e.currentTarget.value)}
      />
    );
  }
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {input}
      <small id={hintId} class="hint">
        {typeHint(type, spec, encoding)}
      </small>
      {props.error && (
        <small id={errId} class="field-error">
          {props.error}
        </small>
      )}
    </div>
  );
}

/** Converts opaque text between hex and base64 when the person switches the encoding. */
function reencode(text: string, from: OpaqueEncoding, to: OpaqueEncoding): string {
  if (from === to || text.trim() === '') return text;
  const parsed = parseValue('opaque', text, { encoding: from });
  return parsed.ok ? toInputText('opaque', parsed.value, to) : text;
}

interface Row {
  readonly id: string;
  readonly text: string;
}

/** The Write form of one resource (single or multiple). */
export function WriteForm(props: {
  path: string;
  spec: ResourceSpec | undefined;
  current: ResourceValue | undefined;
  onClose: () => void;
}) {
  const ctx = useDevice();
  const { path, spec, current } = props;
  const known = spec !== undefined && spec.type !== 'none';
  const [type, setType] = useState<DataType>(
    known ? (spec.type as DataType) : (current?.type ?? 'string'),
  );
  const multiple = spec?.multiple ?? current?.values !== undefined;
  const [encoding, setEncoding] = useState<OpaqueEncoding>('hex');
  const [text, setText] = useState(() => toInputText(type, current?.value));
  const [rows, setRows] = useState<Row[]>(() => {
    const v = current?.values;
    if (v === undefined || Object.keys(v).length === 0) return [{ id: '0', text: '' }];
    return Object.entries(v).map(([id, value]) => ({ id, text: toInputText(type, value) }));
  });
  const [tried, setTried] = useState(false);
  const [outcome, run] = useAction();
  const opts = optionsFor(spec, encoding);

  const single = parseValue(type, text, opts);
  const rowResults = rows.map((r) => ({
    idOk: /^\d{1,5}$/.test(r.id) && Number(r.id) <= 65535,
    value: parseValue(type, r.text, opts),
  }));
  const dupIds = new Set(rows.map((r) => r.id)).size !== rows.length;

  const submit = async (e: Event) => {
    e.preventDefault();
    setTried(true);
    let body: { type?: DataType; value?: JsonValue; values?: Record<string, JsonValue> };
    if (multiple) {
      if (dupIds || rowResults.some((r) => !r.idOk || !r.value.ok)) return;
      const values: Record<string, JsonValue> = {};
      rows.forEach((r, i) => {
        const v = rowResults[i]!.value;
        if (v.ok) values[String(Number(r.id))] = v.value;
      });
      body = { values };
    } else {
      if (!single.ok) return;
      body = { value: single.value };
    }
    if (!known) body = { ...body, type };
    await run(`Writing ${path}…`, async () => {
      const res = await api.write(ctx.ep, path, body, ctx.opts);
      if (spec === undefined || isReadable(spec)) {
        try {
          const back = await api.read(ctx.ep, path, ctx.opts);
          ctx.applyRead(path, back.content);
          return `Written (${res.status}); read back.`;
        } catch {
          return `Written (${res.status}).`;
        }
      }
      return `Written (${res.status}).`;
    });
  };

  const label = spec ? spec.name : `Resource ${path}`;
  return (
    <form class="editor" onSubmit={submit} aria-label={`Write ${path}`}>
      {!known && (
        <label class="field">
          <span>Type</span>
          <select value={type} onChange={(e) => setType(e.currentTarget.value as DataType)}>
            {DATA_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
      )}
      {!multiple && (
        <ValueInput
          label={`New value of ${label}`}
          type={type}
          spec={spec}
          text={text}
          onText={setText}
          encoding={encoding}
          onEncoding={(to) => {
            setText(reencode(text, encoding, to));
            setEncoding(to);
          }}
          error={(tried || text !== '') && !single.ok ? single.error : undefined}
        />
      )}
      {multiple && (
        <fieldset class="multi-editor">
          <legend>Instances of {label} (the write replaces them all)</legend>
          {rows.map((r, i) => {
            const res = rowResults[i]!;
            return (
              <div class="multi-row" key={i}>
                <label class="field id-field">
                  <span>Id</span>
                  <input
                    type="text"
                    inputMode="numeric"
                    value={r.id}
                    aria-invalid={!res.idOk || dupIds ? 'true' : undefined}
                    onInput={(e) => {
                      const id = e.currentTarget.value;
                      setRows((rs) => rs.map((x, j) => (j === i ? { ...x, id } : x)));
                    }}
                  />
                </label>
                <ValueInput
                  label={`Value of instance ${r.id}`}
                  type={type}
                  spec={spec}
                  text={r.text}
                  onText={(t) =>
                    setRows((rs) => rs.map((x, j) => (j === i ? { ...x, text: t } : x)))
                  }
                  encoding={encoding}
                  error={(tried || r.text !== '') && !res.value.ok ? res.value.error : undefined}
                />
                <button
                  type="button"
                  class="small"
                  aria-label={`Remove instance ${r.id}`}
                  disabled={rows.length === 1}
                  onClick={() => setRows((rs) => rs.filter((_, j) => j !== i))}
                >
                  Remove
                </button>
              </div>
            );
          })}
          {tried && dupIds && <small class="field-error">Each instance needs its own id.</small>}
          <div>
            <button
              type="button"
              class="small"
              onClick={() =>
                setRows((rs) => [
                  ...rs,
                  { id: String(Math.max(-1, ...rs.map((x) => Number(x.id) || 0)) + 1), text: '' },
                ])
              }
            >
              Add an instance
            </button>
          </div>
        </fieldset>
      )}
      <FormButtons outcome={outcome} onClose={props.onClose}>
        Write
      </FormButtons>
    </form>
  );
}

/** Execute with optional arguments. */
export function ExecuteForm(props: { path: string; name: string; onClose: () => void }) {
  const ctx = useDevice();
  const [args, setArgs] = useState('');
  const [outcome, run] = useAction();
  const id = useId();
  const problem = checkExecuteArgs(args);
  return (
    <form
      class="editor"
      aria-label={`Execute ${props.path}`}
      onSubmit={async (e) => {
        e.preventDefault();
        if (problem !== undefined) return;
        await run(`Executing ${props.path}…`, async () => {
          const res = await api.execute(ctx.ep, props.path, args, ctx.opts);
          return `Executed (${res.status}).`;
        });
      }}
    >
      <div class="field">
        <label for={id}>Arguments for {props.name} (optional)</label>
        <input
          id={id}
          type="text"
          placeholder="e.g. 0='v',1"
          value={args}
          spellcheck={false}
          aria-invalid={problem ? 'true' : undefined}
          aria-describedby={`${id}-hint`}
          onInput={(e) => setArgs(e.currentTarget.value)}
        />
        <small id={`${id}-hint`} class={problem ? 'field-error' : 'hint'}>
          {problem ?? "digits 0–9, each with an optional ='value', separated by commas"}
        </small>
      </div>
      <FormButtons outcome={outcome} class="primary danger-ish" onClose={props.onClose}>
        Execute now
      </FormButtons>
    </form>
  );
}

/** A resource's value for display (multiple resources as a list). */
export function ValueView({
  value,
  units,
}: {
  value: ResourceValue | undefined;
  units?: string | undefined;
}) {
  if (value === undefined) return null;
  const u = units ? <span class="units"> {units}</span> : null;
  if (value.values !== undefined) {
    const entries = Object.entries(value.values);
    if (entries.length === 0) return <span class="muted">(no instances)</span>;
    return (
      <ul class="multi">
        {entries.map(([id, v]) => (
          <li key={id}>
            <span class="ri">{id}</span> {formatValue(value.type, v)}
            {u}
          </li>
        ))}
      </ul>
    );
  }
  if (value.value === undefined) return null;
  return (
    <span>
      {formatValue(value.type, value.value)}
      {u}
    </span>
  );
}
