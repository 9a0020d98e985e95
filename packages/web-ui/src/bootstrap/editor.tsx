/**
 * Add or edit one endpoint's bootstrap configuration: the device's credentials toward this
 * server, its DM servers, the bootstrap-server account, access control, other values and the
 * sequence. Checked before it is sent; what the server still refuses (a 400 naming the field)
 * shows next to that field and in a banner.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ConfirmDelete } from '../confirm-delete';
import { ApiError, type ErrorWords } from '../errors';
import { LoadError } from '../load-error';
import { DATA_TYPES } from '../model';
import { RadioChoices } from '../radio-choices';
import { RandomKeyButton } from '../random-key';
import { navigate } from '../router';
import { TextField } from '../text-field';
import { Link, OutcomeText, useAction } from '../ui';
import { bsApi, type SecurityModeName } from './api';
import { useBsData } from './context';
import { bsErrorWords } from './errors';
import {
  type AccountForm,
  type AclForm,
  CONTENT_FORMATS,
  type ConfigForm,
  checkConfigForm,
  emptyForm,
  type FieldErrors,
  fieldInWords,
  formField,
  formFields,
  formFromConfig,
  newAcl,
  newServer,
  newWrite,
  problemOf,
  type ServerForm,
  uriForMode,
  type WriteForm,
} from './form';
import { SessionsPanel } from './sessions-panel';

/** The DOM id of a field's input: `servers[0].uri` → `f-servers_0__uri`. */
export function fieldId(field: string): string {
  return `f-${field.replace(/[^\w-]/g, '_')}`;
}

function focusField(field: string): void {
  const el = document.getElementById(fieldId(field));
  if (el === null) return;
  // Open the <details> it may sit in.
  for (let p = el.parentElement; p !== null; p = p.parentElement) {
    if (p instanceof HTMLDetailsElement) p.open = true;
  }
  el.scrollIntoView({ block: 'center' });
  el.focus({ preventScroll: true });
}

interface FieldContext {
  readonly errors: FieldErrors;
  clearError(field: string): void;
}

/** The keys of `T` whose values are any text. */
type TextKeys<T> = {
  [K in keyof T]: T[K] extends string ? (string extends T[K] ? K : never) : never;
}[keyof T] &
  string;

/** What ties a `TextInput` to one text value of a part of the form. */
interface Bound {
  readonly ctx: FieldContext;
  /** The field's name: `servers[0].uri`. */
  readonly name: string;
  readonly value: string;
  readonly onInput: (v: string) => void;
}

/**
 * Ties inputs to the text values of `values`, named `prefix` + key (`servers[0].` + `uri`):
 * `<TextInput {...bind('uri')} label="Server URI" />`.
 */
function binder<T>(
  ctx: FieldContext,
  prefix: string,
  values: T,
  onChange: (patch: Partial<T>) => void,
): (key: TextKeys<T>) => Bound {
  return (key) => ({
    ctx,
    name: `${prefix}${key}`,
    value: values[key] as string,
    onInput: (v) => onChange({ [key]: v } as Partial<T>),
  });
}

/** Words that tell same-named fields apart for screen readers (" (value 2)"), not shown. */
function Which({ text }: { text: string }) {
  return <span class="visually-hidden"> ({text})</span>;
}

function TextInput(props: {
  ctx: FieldContext;
  name: string;
  label: ComponentChildren;
  /** Tells the field from its namesakes in other rows (see `Which`). */
  which?: string;
  value: string;
  onInput: (v: string) => void;
  hint?: string;
  mono?: boolean;
  numeric?: boolean;
  placeholder?: string;
  readOnly?: boolean;
  class?: string;
  children?: ComponentChildren;
}) {
  const { ctx, name, which } = props;
  return (
    <TextField
      id={fieldId(name)}
      label={
        which === undefined ? (
          props.label
        ) : (
          <>
            {props.label}
            <Which text={which} />
          </>
        )
      }
      error={ctx.errors[name]}
      hint={props.hint}
      class={props.class}
      inline
      input={{
        spellcheck: false,
        class: props.mono ? 'mono' : undefined,
        inputMode: props.numeric ? 'numeric' : undefined,
        placeholder: props.placeholder,
        readOnly: props.readOnly,
      }}
      value={props.value}
      onInput={(v) => {
        ctx.clearError(name);
        props.onInput(v);
      }}
    >
      {props.children}
    </TextField>
  );
}

function ModeChoice(props: {
  name: string;
  legend: string;
  value: SecurityModeName;
  onChange: (m: SecurityModeName) => void;
}) {
  return (
    <fieldset class="inline-choices">
      <legend>{props.legend}</legend>
      <RadioChoices
        name={props.name}
        value={props.value}
        choices={[
          ['nosec', 'No security (NoSec, coap://)'],
          ['psk', 'Pre-shared key (PSK, coaps://)'],
        ]}
        onChange={props.onChange}
      />
    </fieldset>
  );
}

/** PSK identity and key (hex) with a "Random key" button. */
function PskFields(props: { identity: Bound; pskKey: Bound; what: string }) {
  const { pskKey } = props;
  return (
    <div class="grid-fields">
      <TextInput {...props.identity} label="PSK identity" />
      <TextInput
        {...pskKey}
        label="Key (hex)"
        hint={`The secret ${props.what}, two hex digits per byte.`}
        mono
        class="wide"
      >
        <RandomKeyButton
          aria-label={`Random key for ${props.what}`}
          onKey={(key) => {
            pskKey.ctx.clearError(pskKey.name);
            pskKey.onInput(key);
          }}
        />
      </TextInput>
    </div>
  );
}

function ServerCard(props: {
  ctx: FieldContext;
  index: number;
  server: ServerForm;
  onChange: (patch: Partial<ServerForm>) => void;
  onRemove: () => void;
}) {
  const { ctx, index: i, server: s, onChange } = props;
  const at = `servers[${i}]`;
  const n = i + 1;
  const bind = binder(ctx, `${at}.`, s, onChange);
  const advanced = [
    'defaultMinPeriod',
    'defaultMaxPeriod',
    'securityInstanceId',
    'serverInstanceId',
  ] as const;
  const hasAdvanced =
    advanced.some((k) => s[k] !== '' || ctx.errors[`${at}.${k}`] !== undefined) ||
    !s.notificationStoring;
  return (
    <fieldset class="card" data-server-index={i}>
      <legend>DM server {n}</legend>
      <div class="grid-fields">
        <TextInput
          {...bind('uri')}
          label="Server URI"
          class="wide"
          placeholder={s.securityMode === 'psk' ? 'coaps://host:5684' : 'coap://host:5683'}
        />
        <TextInput {...bind('shortServerId')} label="Short server ID" numeric />
        <TextInput {...bind('lifetime')} label="Lifetime (s)" numeric />
        <TextInput
          {...bind('binding')}
          label="Binding"
          hint="U (UDP), Q (queue), T, S, N…"
          onInput={(binding) => onChange({ binding: binding.toUpperCase() })}
        />
      </div>
      <ModeChoice
        name={`server-${s.uid}-mode`}
        legend={`Security mode of DM server ${n}`}
        value={s.securityMode}
        onChange={(m) => onChange({ securityMode: m, uri: uriForMode(s.uri, m) })}
      />
      {s.securityMode === 'psk' && (
        <PskFields
          identity={bind('pskIdentity')}
          pskKey={bind('pskKey')}
          what={`DM server ${n} shares with the device`}
        />
      )}
      <details open={hasAdvanced}>
        <summary>More settings of DM server {n}</summary>
        <div class="grid-fields">
          <TextInput {...bind('defaultMinPeriod')} label="Default minimum period (s)" numeric />
          <TextInput {...bind('defaultMaxPeriod')} label="Default maximum period (s)" numeric />
          <TextInput
            {...bind('securityInstanceId')}
            label="Security instance id"
            hint="Empty: the lowest free one."
            numeric
          />
          <TextInput
            {...bind('serverInstanceId')}
            label="Server instance id"
            hint="Empty: the lowest free one."
            numeric
          />
        </div>
        <label class="inline">
          <input
            type="checkbox"
            checked={s.notificationStoring}
            onChange={(e) => onChange({ notificationStoring: e.currentTarget.checked })}
          />
          <span>Store notifications while the server is unreachable</span>
        </label>
      </details>
      <div class="buttons">
        <button type="button" class="small danger" onClick={props.onRemove}>
          Remove DM server {n}
        </button>
      </div>
    </fieldset>
  );
}

function AccountSection(props: {
  ctx: FieldContext;
  account: AccountForm;
  credentials: ConfigForm['credentials'];
  onChange: (patch: Partial<AccountForm>) => void;
}) {
  const { ctx, account: a, onChange } = props;
  const creds = props.credentials;
  const bind = binder(ctx, 'bootstrapServer.', a, onChange);
  return (
    <fieldset>
      <legend>Bootstrap-server account on the device</legend>
      <label class="inline">
        <input
          type="checkbox"
          checked={a.enabled}
          onChange={(e) => onChange({ enabled: e.currentTarget.checked })}
        />
        <span>Write a bootstrap-server account (/0, Bootstrap-Server true)</span>
      </label>
      {!a.enabled && (
        <p class="hint">Most devices keep the account they were made with; leave this off then.</p>
      )}
      {a.enabled && (
        <>
          <div class="grid-fields">
            <TextInput
              {...bind('uri')}
              label="Bootstrap server URI"
              class="wide"
              placeholder={a.securityMode === 'psk' ? 'coaps://host:5784' : 'coap://host:5783'}
            />
            <TextInput
              {...bind('instanceId')}
              label="Security instance id"
              hint="Empty: 0."
              numeric
            />
            <TextInput {...bind('clientHoldOffTime')} label="Client hold-off time (s)" numeric />
            <TextInput {...bind('accountTimeout')} label="Account timeout (s)" numeric />
          </div>
          <ModeChoice
            name="account-mode"
            legend="Security mode of the bootstrap-server account"
            value={a.securityMode}
            onChange={(m) => onChange({ securityMode: m, uri: uriForMode(a.uri, m) })}
          />
          {a.securityMode === 'psk' && (
            <>
              <PskFields
                identity={bind('pskIdentity')}
                pskKey={bind('pskKey')}
                what="of the bootstrap-server account"
              />
              {creds.mode === 'psk' && (
                <div class="buttons">
                  <button
                    type="button"
                    class="small"
                    onClick={() => onChange({ pskIdentity: creds.identity, pskKey: creds.key })}
                  >
                    Use the credentials toward this server
                  </button>
                </div>
              )}
            </>
          )}
        </>
      )}
    </fieldset>
  );
}

function AclRow(props: {
  ctx: FieldContext;
  index: number;
  acl: AclForm;
  onChange: (patch: Partial<AclForm>) => void;
  onRemove: () => void;
}) {
  const { ctx, acl: a, onChange } = props;
  const at = `acls[${props.index}]`;
  const n = props.index + 1;
  const bind = binder(ctx, `${at}.`, a, onChange);
  return (
    <div class="card row-card" data-acl-index={props.index}>
      <div class="grid-fields">
        <TextInput {...bind('objectId')} label="Object id" which={`ACL ${n}`} numeric />
        <TextInput {...bind('instanceId')} label="Instance id" which={`ACL ${n}`} numeric />
        <TextInput
          {...bind('acl')}
          label="Rights"
          which={`ACL ${n}`}
          hint="Short server id:letters of R W E D C; 0 is the default entry."
          placeholder="101:RWE, 0:R"
          class="wide"
        />
        <TextInput
          {...bind('owner')}
          label="Owner"
          which={`ACL ${n}`}
          hint="A short server id; 65535: the bootstrap server."
          numeric
        />
      </div>
      <button type="button" class="small danger" onClick={props.onRemove}>
        Remove ACL {n}
      </button>
    </div>
  );
}

function WriteRow(props: {
  ctx: FieldContext;
  index: number;
  write: WriteForm;
  onChange: (patch: Partial<WriteForm>) => void;
  onRemove: () => void;
}) {
  const { ctx, write: w, onChange } = props;
  const at = `writes[${props.index}]`;
  const n = props.index + 1;
  const bind = binder(ctx, `${at}.`, w, onChange);
  const typeError = ctx.errors[`${at}.type`];
  const valueError = ctx.errors[`${at}.value`];
  const typeId = fieldId(`${at}.type`);
  const valueId = fieldId(`${at}.value`);
  // The value's input: one line, or a text area for the values of a multiple resource.
  const valueInput = {
    id: valueId,
    value: w.value,
    'aria-invalid': valueError ? ('true' as const) : undefined,
    'aria-describedby': `${valueId}-hint${valueError ? ` ${valueId}-err` : ''}`,
    onInput: (e: { currentTarget: { value: string } }) => {
      ctx.clearError(`${at}.value`);
      onChange({ value: e.currentTarget.value });
    },
  };
  return (
    <div class="card row-card" data-write-index={props.index}>
      <div class="grid-fields write-fields">
        <TextInput
          {...bind('path')}
          label="Resource path"
          which={`value ${n}`}
          placeholder="/3/0/14"
          mono
        />
        <div class="field">
          <label for={typeId}>
            Type
            <Which text={`value ${n}`} />
          </label>
          <select
            id={typeId}
            value={w.type}
            aria-invalid={typeError ? 'true' : undefined}
            aria-describedby={typeError ? `${typeId}-err` : undefined}
            onChange={(e) => {
              ctx.clearError(`${at}.type`);
              onChange({ type: e.currentTarget.value });
            }}
          >
            <option value="">From the object model</option>
            {DATA_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
          {typeError && (
            <small id={`${typeId}-err`} class="field-error">
              {typeError}
            </small>
          )}
        </div>
        <div class="field wide">
          <label for={valueId}>
            {w.multiple ? 'Values, one "id=value" per line' : 'Value'}
            <Which text={`value ${n}`} />
          </label>
          {w.multiple ? (
            <textarea rows={3} {...valueInput} />
          ) : (
            <input type="text" autocomplete="off" {...valueInput} />
          )}
          <small id={`${valueId}-hint`} class="hint">
            Numbers and true/false are sent as such; put text that looks like one in "quotes".
            Opaque in hex.
          </small>
          {valueError && (
            <small id={`${valueId}-err`} class="field-error">
              {valueError}
            </small>
          )}
        </div>
      </div>
      <div class="buttons">
        <label class="inline">
          <input
            type="checkbox"
            checked={w.multiple}
            onChange={(e) => onChange({ multiple: e.currentTarget.checked })}
          />
          <span>
            Multiple resource
            <Which text={`value ${n}`} />
          </span>
        </label>
        <button type="button" class="small danger" onClick={props.onRemove}>
          Remove value {n}
        </button>
      </div>
    </div>
  );
}

function SequenceSection(props: {
  ctx: FieldContext;
  form: ConfigForm;
  set: (patch: Partial<ConfigForm>) => void;
}) {
  const { ctx, form: f, set } = props;
  const bind = binder(ctx, '', f, set);
  const versionId = fieldId('lwm2mVersion');
  const formatId = fieldId('contentFormat');
  const changed =
    f.deletePaths.trim() !== '/' ||
    f.discover ||
    f.read !== '' ||
    f.lwm2mVersion !== '' ||
    f.contentFormat !== '' ||
    ['deletePaths', 'read', 'lwm2mVersion', 'contentFormat', 'discover'].some(
      (k) => ctx.errors[k] !== undefined,
    );
  return (
    <details class="card" open={changed}>
      <summary>Bootstrap sequence and content format</summary>
      <div class="grid-fields">
        <TextInput
          {...bind('deletePaths')}
          label="Bootstrap-Delete paths"
          hint="Separated by spaces; / deletes all but the bootstrap account; empty: nothing."
          mono
        />
        <TextInput
          {...bind('read')}
          label="Bootstrap-Read paths"
          hint="LwM2M 1.1+: /1, /2 or their instances."
          mono
        />
        <div class="field">
          <label for={versionId}>Device’s LwM2M version</label>
          <select
            id={versionId}
            value={f.lwm2mVersion}
            onChange={(e) => {
              ctx.clearError('lwm2mVersion');
              set({ lwm2mVersion: e.currentTarget.value as ConfigForm['lwm2mVersion'] });
            }}
          >
            <option value="">Unknown (learned by Discover)</option>
            <option value="1.0">1.0</option>
            <option value="1.1">1.1</option>
            <option value="1.2">1.2</option>
          </select>
          {ctx.errors.lwm2mVersion && <small class="field-error">{ctx.errors.lwm2mVersion}</small>}
        </div>
        <div class="field">
          <label for={formatId}>Content format of the writes</label>
          <select
            id={formatId}
            value={f.contentFormat}
            onChange={(e) => {
              ctx.clearError('contentFormat');
              set({ contentFormat: e.currentTarget.value });
            }}
          >
            <option value="">By version (TLV for 1.0, SenML CBOR after)</option>
            {CONTENT_FORMATS.map(([n, name]) => (
              <option key={n} value={String(n)}>
                {name} ({n})
              </option>
            ))}
          </select>
          {ctx.errors.contentFormat && (
            <small class="field-error">{ctx.errors.contentFormat}</small>
          )}
        </div>
      </div>
      <label class="inline">
        <input
          type="checkbox"
          checked={f.discover}
          onChange={(e) => set({ discover: e.currentTarget.checked })}
        />
        <span>Bootstrap-Discover first (learns the device’s version and its accounts)</span>
      </label>
    </details>
  );
}

function ConfigFormView(props: {
  initial: ConfigForm;
  editing: boolean;
  onSaved: (endpoint: string, created: boolean) => void;
}) {
  const { configs } = useBsData();
  const [form, setForm] = useState(props.initial);
  const [tried, setTried] = useState(false);
  const [serverErrors, setServerErrors] = useState<FieldErrors>({});
  const [banner, setBanner] = useState<{ words: ErrorWords; field?: string } | undefined>();
  const [busy, setBusy] = useState(false);
  const bannerRef = useRef<HTMLDivElement>(null);
  const set = (patch: Partial<ConfigForm>) => setForm((f) => ({ ...f, ...patch }));
  const checked = checkConfigForm(form);
  const clientErrors: FieldErrors = tried && !checked.ok ? { ...checked.errors } : {};
  const ep = form.endpoint.trim();
  if (tried && !props.editing && ep !== '' && configs?.[ep] !== undefined) {
    clientErrors.endpoint = 'this endpoint has a configuration already: edit that one instead';
  }
  const errors = { ...clientErrors, ...serverErrors };
  const shown = new Set(formFields(form));
  const ctx: FieldContext = {
    errors,
    clearError: (field) =>
      setServerErrors((e) => {
        if (e[field] === undefined) return e;
        const { [field]: _, ...rest } = e;
        return rest;
      }),
  };

  useEffect(() => {
    if (banner !== undefined) bannerRef.current?.focus();
  }, [banner]);

  /** The props of row `i` of one of the form's lists: the form's errors, changes, removal. */
  const rowOf = <K extends 'servers' | 'acls' | 'writes'>(key: K, i: number) => {
    const update = (patch: Partial<ConfigForm[K][number]> | undefined) => {
      const list: readonly ConfigForm[K][number][] = form[key];
      const next =
        patch === undefined
          ? list.filter((_, j) => j !== i)
          : list.map((x, j) => (j === i ? { ...x, ...patch } : x));
      // Errors are keyed by position: the server's ones are stale once the list changes shape.
      if (patch === undefined) setServerErrors({});
      set({ [key]: next } as Partial<ConfigForm>);
    };
    return {
      ctx,
      index: i,
      onChange: (patch: Partial<ConfigForm[K][number]>) => update(patch),
      onRemove: () => update(undefined),
    };
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setTried(true);
    setServerErrors({});
    const exists = !props.editing && ep !== '' && configs?.[ep] !== undefined;
    if (!checked.ok || exists) {
      const fields = checked.ok ? ['endpoint'] : Object.keys(checked.errors);
      setBanner({
        words: {
          title: `Not saved: ${fields.length === 1 ? 'one field needs' : `${fields.length} fields need`} attention.`,
          detail: fields.map((f) => fieldInWords(f)).join('; '),
        },
        field: fields[0]!,
      });
      return;
    }
    setBusy(true);
    try {
      await bsApi.put(checked.endpoint, checked.config);
      setBanner(undefined);
      props.onSaved(checked.endpoint, !props.editing);
    } catch (err) {
      const words = bsErrorWords(err);
      let field: string | undefined;
      if (err instanceof ApiError) {
        const apiField = err.body.field;
        if (err.status === 400 && apiField !== undefined) {
          field = formField(apiField, (f) => shown.has(f));
          if (field !== undefined) {
            setServerErrors({ [field]: problemOf(err.body.message ?? 'not valid', apiField) });
          }
        } else if (err.body.error === 'IdentityInUseError') {
          field = 'bootstrapCredentials.identity';
          setServerErrors({ [field]: 'another endpoint already uses this identity' });
        }
      }
      setBanner({
        words: {
          title: `Not saved: ${words.title}`,
          ...(words.detail !== undefined && { detail: words.detail }),
        },
        ...(field !== undefined && { field }),
      });
    } finally {
      setBusy(false);
    }
  };

  const c = form.credentials;
  const bind = binder(ctx, '', form, set);
  const credential = binder(ctx, 'bootstrapCredentials.', c, (patch) =>
    set({ credentials: { ...c, ...patch } }),
  );
  return (
    <form class="stack config-form" aria-labelledby="config-title" noValidate onSubmit={submit}>
      {banner && (
        <div class="notice notice-error" role="alert" tabIndex={-1} ref={bannerRef}>
          <strong>{banner.words.title}</strong>
          {banner.words.detail && <div class="outcome-detail">{banner.words.detail}</div>}
          {banner.field !== undefined && shown.has(banner.field) && (
            <div>
              <button type="button" class="small" onClick={() => focusField(banner.field!)}>
                Go to {fieldInWords(banner.field)}
              </button>
            </div>
          )}
        </div>
      )}
      <div class="panel stack">
        <TextInput
          {...bind('endpoint')}
          label="Endpoint"
          hint={
            props.editing
              ? 'The endpoint name cannot change: add a new configuration for another name.'
              : 'The endpoint client name the device sends in its Bootstrap-Request (ep=).'
          }
          readOnly={props.editing}
        />
        <fieldset>
          <legend>How the device reaches this bootstrap server</legend>
          <div class="inline-choices">
            <RadioChoices
              name="credentials-mode"
              value={c.mode}
              choices={[
                ['none', 'Plain CoAP (no credentials)'],
                ['psk', 'DTLS with a pre-shared key'],
              ]}
              onChange={(mode) => set({ credentials: { ...c, mode } })}
            />
          </div>
          {c.mode === 'psk' && (
            <PskFields
              identity={credential('identity')}
              pskKey={credential('key')}
              what="the device presents to this bootstrap server"
            />
          )}
        </fieldset>
      </div>

      <section class="panel stack" aria-labelledby="servers-title">
        <h2 id="servers-title">DM servers</h2>
        <p class="hint">
          The LwM2M servers the device registers with: a Security (/0) and a Server (/1) instance
          each.
        </p>
        {form.servers.length === 0 && (
          <p class="muted">No DM server: the device will have no server to register with.</p>
        )}
        {form.servers.map((s, i) => (
          <ServerCard key={s.uid} {...rowOf('servers', i)} server={s} />
        ))}
        <div class="buttons">
          <button
            type="button"
            onClick={() => {
              const used = new Set(form.servers.map((s) => Number(s.shortServerId)));
              let ssid = 101;
              while (used.has(ssid)) ssid++;
              set({ servers: [...form.servers, newServer(ssid)] });
            }}
          >
            Add a DM server
          </button>
        </div>
      </section>

      <div class="panel stack">
        <AccountSection
          ctx={ctx}
          account={form.account}
          credentials={c}
          onChange={(patch) => set({ account: { ...form.account, ...patch } })}
        />
        <fieldset>
          <legend>Access control (/2)</legend>
          {form.acls.length === 0 && <p class="hint">None: the device’s defaults apply.</p>}
          {form.acls.map((a, i) => (
            <AclRow key={a.uid} {...rowOf('acls', i)} acl={a} />
          ))}
          <div class="buttons">
            <button type="button" onClick={() => set({ acls: [...form.acls, newAcl()] })}>
              Add an access-control entry
            </button>
          </div>
        </fieldset>
        <fieldset>
          <legend>Other values to write</legend>
          {form.writes.length === 0 && (
            <p class="hint">None. E.g. /3/0/14 (UTC offset) = +02:00.</p>
          )}
          {form.writes.map((w, i) => (
            <WriteRow key={w.uid} {...rowOf('writes', i)} write={w} />
          ))}
          <div class="buttons">
            <button type="button" onClick={() => set({ writes: [...form.writes, newWrite()] })}>
              Add a value
            </button>
          </div>
        </fieldset>
        <SequenceSection ctx={ctx} form={form} set={set} />
      </div>

      <div class="buttons form-actions">
        <button type="submit" class="primary" disabled={busy}>
          {props.editing ? 'Save changes' : 'Add configuration'}
        </button>
        <Link href="/">Cancel</Link>
        {busy && (
          <span class="outcome outcome-busy" role="status">
            <span class="spinner" aria-hidden="true" />
            Saving…
          </span>
        )}
      </div>
    </form>
  );
}

function DeleteButton({ endpoint, onDeleted }: { endpoint: string; onDeleted: () => void }) {
  const [outcome, run] = useAction();
  return (
    <div class="buttons">
      <ConfirmDelete
        run={run}
        label="Delete this configuration…"
        question={<>Delete the configuration of {endpoint}?</>}
        remove={() => bsApi.delete(endpoint)}
        onDeleted={onDeleted}
      />
      <OutcomeText outcome={outcome} />
    </div>
  );
}

/** `/new` (endpoint undefined) or `/configs/<endpoint>`. */
export function ConfigEditor({ endpoint }: { endpoint: string | undefined }) {
  const { reload, setNotice } = useBsData();
  const editing = endpoint !== undefined;
  const [initial, setInitial] = useState<ConfigForm | undefined>(() =>
    editing ? undefined : emptyForm(),
  );
  const [loadError, setLoadError] = useState<ErrorWords | undefined>(undefined);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    document.title = `${editing ? endpoint : 'New configuration'} · LwM2M bootstrap server`;
    if (!editing) return;
    let cancelled = false;
    bsApi.get(endpoint).then(
      (c) => {
        if (cancelled) return;
        setInitial(formFromConfig(endpoint, c));
        setLoadError(undefined);
      },
      (err) => !cancelled && setLoadError(bsErrorWords(err)),
    );
    return () => {
      cancelled = true;
    };
  }, [endpoint, editing, generation]);

  const done = (text: string) => {
    setNotice(text);
    reload();
    navigate('/');
  };

  return (
    <section class="page" aria-labelledby="config-title">
      <p class="crumbs">
        <Link href="/">Configurations</Link> / {editing ? endpoint : 'new'}
      </p>
      <div class="page-head">
        <h1 id="config-title" tabIndex={-1}>
          {editing ? `Configuration of ${endpoint}` : 'Add a configuration'}
        </h1>
      </div>
      <div class="bs-layout">
        <div class="stack">
          {loadError && (
            <LoadError
              what="The configuration"
              error={loadError}
              onRetry={() => setGeneration((g) => g + 1)}
            >
              <Link href="/">Back to the configurations</Link>
            </LoadError>
          )}
          {editing && initial === undefined && !loadError && <p class="muted">Loading…</p>}
          {initial !== undefined && (
            <ConfigFormView
              initial={initial}
              editing={editing}
              onSaved={(ep, created) =>
                done(`${created ? 'Added' : 'Saved'} the configuration of ${ep}.`)
              }
            />
          )}
          {editing && initial !== undefined && (
            <DeleteButton
              endpoint={endpoint}
              onDeleted={() => done(`Deleted the configuration of ${endpoint}.`)}
            />
          )}
        </div>
        <div class="sidebar">
          <SessionsPanel endpoint={endpoint} />
        </div>
      </div>
    </section>
  );
}
