/**
 * Add or edit one endpoint's bootstrap configuration: the device's credentials toward this
 * server, its DM servers, the bootstrap-server account, access control, other values and the
 * sequence. Checked before it is sent; what the server still refuses (a 400 naming the field)
 * shows next to that field and in a banner.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type ErrorWords } from '../errors';
import { navigate } from '../router';
import { Field, Link, OutcomeText, useAction } from '../ui';
import { bytesToHex } from '../values';
import { bsApi, type SecurityModeName } from './api';
import { useBsData } from './context';
import { bsErrorWords } from './errors';
import {
  type AccountForm,
  type AclForm,
  CONTENT_FORMATS,
  type ConfigForm,
  checkConfigForm,
  DATA_TYPES,
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

/** Words that tell same-named fields apart for screen readers (" (value 2)"), not shown. */
function Which({ text }: { text: string }) {
  return <span class="visually-hidden"> ({text})</span>;
}

function TextInput(props: {
  ctx: FieldContext;
  name: string;
  label: ComponentChildren;
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
  const { ctx, name } = props;
  const error = ctx.errors[name];
  return (
    <Field
      id={fieldId(name)}
      label={props.label}
      error={error}
      {...(props.hint !== undefined && { hint: props.hint })}
      {...(props.class !== undefined && { class: props.class })}
    >
      {(id, d) => (
        <span class="inline">
          <input
            id={id}
            type="text"
            autocomplete="off"
            spellcheck={false}
            class={props.mono ? 'mono' : undefined}
            inputMode={props.numeric ? 'numeric' : undefined}
            placeholder={props.placeholder}
            readOnly={props.readOnly}
            value={props.value}
            aria-describedby={d}
            aria-invalid={error ? 'true' : undefined}
            onInput={(e) => {
              ctx.clearError(name);
              props.onInput(e.currentTarget.value);
            }}
          />
          {props.children}
        </span>
      )}
    </Field>
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
      <label class="inline">
        <input
          type="radio"
          name={props.name}
          value="nosec"
          checked={props.value === 'nosec'}
          onChange={() => props.onChange('nosec')}
        />
        <span>No security (NoSec, coap://)</span>
      </label>
      <label class="inline">
        <input
          type="radio"
          name={props.name}
          value="psk"
          checked={props.value === 'psk'}
          onChange={() => props.onChange('psk')}
        />
        <span>Pre-shared key (PSK, coaps://)</span>
      </label>
    </fieldset>
  );
}

function randomKey(): string {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(16)));
}

/** PSK identity and key (hex) with a "Random key" button. */
function PskFields(props: {
  ctx: FieldContext;
  prefix: string;
  identityName: string;
  keyName: string;
  identity: string;
  pskKey: string;
  onIdentity: (v: string) => void;
  onKey: (v: string) => void;
  what: string;
}) {
  return (
    <div class="grid-fields">
      <TextInput
        ctx={props.ctx}
        name={`${props.prefix}${props.identityName}`}
        label="PSK identity"
        value={props.identity}
        onInput={props.onIdentity}
      />
      <TextInput
        ctx={props.ctx}
        name={`${props.prefix}${props.keyName}`}
        label="Key (hex)"
        hint={`The secret ${props.what}, two hex digits per byte.`}
        mono
        class="wide"
        value={props.pskKey}
        onInput={props.onKey}
      >
        <button
          type="button"
          class="small"
          aria-label={`Random key for ${props.what}`}
          onClick={() => {
            props.ctx.clearError(`${props.prefix}${props.keyName}`);
            props.onKey(randomKey());
          }}
        >
          Random key
        </button>
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
          ctx={ctx}
          name={`${at}.uri`}
          label="Server URI"
          class="wide"
          placeholder={s.securityMode === 'psk' ? 'coaps://host:5684' : 'coap://host:5683'}
          value={s.uri}
          onInput={(uri) => onChange({ uri })}
        />
        <TextInput
          ctx={ctx}
          name={`${at}.shortServerId`}
          label="Short server ID"
          numeric
          value={s.shortServerId}
          onInput={(shortServerId) => onChange({ shortServerId })}
        />
        <TextInput
          ctx={ctx}
          name={`${at}.lifetime`}
          label="Lifetime (s)"
          numeric
          value={s.lifetime}
          onInput={(lifetime) => onChange({ lifetime })}
        />
        <TextInput
          ctx={ctx}
          name={`${at}.binding`}
          label="Binding"
          hint="U (UDP), Q (queue), T, S, N…"
          value={s.binding}
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
          ctx={ctx}
          prefix={`${at}.`}
          identityName="pskIdentity"
          keyName="pskKey"
          identity={s.pskIdentity}
          pskKey={s.pskKey}
          onIdentity={(pskIdentity) => onChange({ pskIdentity })}
          onKey={(pskKey) => onChange({ pskKey })}
          what={`DM server ${n} shares with the device`}
        />
      )}
      <details open={hasAdvanced}>
        <summary>More settings of DM server {n}</summary>
        <div class="grid-fields">
          <TextInput
            ctx={ctx}
            name={`${at}.defaultMinPeriod`}
            label="Default minimum period (s)"
            numeric
            value={s.defaultMinPeriod}
            onInput={(v) => onChange({ defaultMinPeriod: v })}
          />
          <TextInput
            ctx={ctx}
            name={`${at}.defaultMaxPeriod`}
            label="Default maximum period (s)"
            numeric
            value={s.defaultMaxPeriod}
            onInput={(v) => onChange({ defaultMaxPeriod: v })}
          />
          <TextInput
            ctx={ctx}
            name={`${at}.securityInstanceId`}
            label="Security instance id"
            hint="Empty: the lowest free one."
            numeric
            value={s.securityInstanceId}
            onInput={(v) => onChange({ securityInstanceId: v })}
          />
          <TextInput
            ctx={ctx}
            name={`${at}.serverInstanceId`}
            label="Server instance id"
            hint="Empty: the lowest free one."
            numeric
            value={s.serverInstanceId}
            onInput={(v) => onChange({ serverInstanceId: v })}
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
              ctx={ctx}
              name="bootstrapServer.uri"
              label="Bootstrap server URI"
              class="wide"
              placeholder={a.securityMode === 'psk' ? 'coaps://host:5784' : 'coap://host:5783'}
              value={a.uri}
              onInput={(uri) => onChange({ uri })}
            />
            <TextInput
              ctx={ctx}
              name="bootstrapServer.instanceId"
              label="Security instance id"
              hint="Empty: 0."
              numeric
              value={a.instanceId}
              onInput={(instanceId) => onChange({ instanceId })}
            />
            <TextInput
              ctx={ctx}
              name="bootstrapServer.clientHoldOffTime"
              label="Client hold-off time (s)"
              numeric
              value={a.clientHoldOffTime}
              onInput={(clientHoldOffTime) => onChange({ clientHoldOffTime })}
            />
            <TextInput
              ctx={ctx}
              name="bootstrapServer.accountTimeout"
              label="Account timeout (s)"
              numeric
              value={a.accountTimeout}
              onInput={(accountTimeout) => onChange({ accountTimeout })}
            />
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
                ctx={ctx}
                prefix="bootstrapServer."
                identityName="pskIdentity"
                keyName="pskKey"
                identity={a.pskIdentity}
                pskKey={a.pskKey}
                onIdentity={(pskIdentity) => onChange({ pskIdentity })}
                onKey={(pskKey) => onChange({ pskKey })}
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
  return (
    <div class="card row-card" data-acl-index={props.index}>
      <div class="grid-fields">
        <TextInput
          ctx={ctx}
          name={`${at}.objectId`}
          label={
            <>
              Object id
              <Which text={`ACL ${n}`} />
            </>
          }
          numeric
          value={a.objectId}
          onInput={(objectId) => onChange({ objectId })}
        />
        <TextInput
          ctx={ctx}
          name={`${at}.instanceId`}
          label={
            <>
              Instance id
              <Which text={`ACL ${n}`} />
            </>
          }
          numeric
          value={a.instanceId}
          onInput={(instanceId) => onChange({ instanceId })}
        />
        <TextInput
          ctx={ctx}
          name={`${at}.acl`}
          label={
            <>
              Rights
              <Which text={`ACL ${n}`} />
            </>
          }
          hint="Short server id:letters of R W E D C; 0 is the default entry."
          placeholder="101:RWE, 0:R"
          class="wide"
          value={a.acl}
          onInput={(acl) => onChange({ acl })}
        />
        <TextInput
          ctx={ctx}
          name={`${at}.owner`}
          label={
            <>
              Owner
              <Which text={`ACL ${n}`} />
            </>
          }
          hint="A short server id; 65535: the bootstrap server."
          numeric
          value={a.owner}
          onInput={(owner) => onChange({ owner })}
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
  const typeError = ctx.errors[`${at}.type`];
  const valueError = ctx.errors[`${at}.value`];
  const typeId = fieldId(`${at}.type`);
  const valueId = fieldId(`${at}.value`);
  return (
    <div class="card row-card" data-write-index={props.index}>
      <div class="grid-fields write-fields">
        <TextInput
          ctx={ctx}
          name={`${at}.path`}
          label={
            <>
              Resource path
              <Which text={`value ${n}`} />
            </>
          }
          placeholder="/3/0/14"
          mono
          value={w.path}
          onInput={(path) => onChange({ path })}
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
            <textarea
              id={valueId}
              rows={3}
              value={w.value}
              aria-invalid={valueError ? 'true' : undefined}
              aria-describedby={`${valueId}-hint${valueError ? ` ${valueId}-err` : ''}`}
              onInput={(e) => {
                ctx.clearError(`${at}.value`);
                onChange({ value: e.currentTarget.value });
              }}
            />
          ) : (
            <input
              id={valueId}
              type="text"
              autocomplete="off"
              value={w.value}
              aria-invalid={valueError ? 'true' : undefined}
              aria-describedby={`${valueId}-hint${valueError ? ` ${valueId}-err` : ''}`}
              onInput={(e) => {
                ctx.clearError(`${at}.value`);
                onChange({ value: e.currentTarget.value });
              }}
            />
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
          ctx={ctx}
          name="deletePaths"
          label="Bootstrap-Delete paths"
          hint="Separated by spaces; / deletes all but the bootstrap account; empty: nothing."
          mono
          value={f.deletePaths}
          onInput={(deletePaths) => set({ deletePaths })}
        />
        <TextInput
          ctx={ctx}
          name="read"
          label="Bootstrap-Read paths"
          hint="LwM2M 1.1+: /1, /2 or their instances."
          mono
          value={f.read}
          onInput={(read) => set({ read })}
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

  const updateList = <T extends { uid: number }>(
    key: 'servers' | 'acls' | 'writes',
    list: readonly T[],
    i: number,
    patch: Partial<T> | undefined,
  ) => {
    const next =
      patch === undefined
        ? list.filter((_, j) => j !== i)
        : list.map((x, j) => (j === i ? { ...x, ...patch } : x));
    // Errors are keyed by position: the server's ones are stale once the list changes shape.
    if (patch === undefined) setServerErrors({});
    set({ [key]: next } as Partial<ConfigForm>);
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
          ctx={ctx}
          name="endpoint"
          label="Endpoint"
          hint={
            props.editing
              ? 'The endpoint name cannot change: add a new configuration for another name.'
              : 'The endpoint client name the device sends in its Bootstrap-Request (ep=).'
          }
          readOnly={props.editing}
          value={form.endpoint}
          onInput={(endpoint) => set({ endpoint })}
        />
        <fieldset>
          <legend>How the device reaches this bootstrap server</legend>
          <div class="inline-choices">
            <label class="inline">
              <input
                type="radio"
                name="credentials-mode"
                value="none"
                checked={c.mode === 'none'}
                onChange={() => set({ credentials: { ...c, mode: 'none' } })}
              />
              <span>Plain CoAP (no credentials)</span>
            </label>
            <label class="inline">
              <input
                type="radio"
                name="credentials-mode"
                value="psk"
                checked={c.mode === 'psk'}
                onChange={() => set({ credentials: { ...c, mode: 'psk' } })}
              />
              <span>DTLS with a pre-shared key</span>
            </label>
          </div>
          {c.mode === 'psk' && (
            <PskFields
              ctx={ctx}
              prefix="bootstrapCredentials."
              identityName="identity"
              keyName="key"
              identity={c.identity}
              pskKey={c.key}
              onIdentity={(identity) => set({ credentials: { ...c, identity } })}
              onKey={(key) => set({ credentials: { ...c, key } })}
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
          <ServerCard
            key={s.uid}
            ctx={ctx}
            index={i}
            server={s}
            onChange={(patch) => updateList('servers', form.servers, i, patch)}
            onRemove={() => updateList('servers', form.servers, i, undefined)}
          />
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
            <AclRow
              key={a.uid}
              ctx={ctx}
              index={i}
              acl={a}
              onChange={(patch) => updateList('acls', form.acls, i, patch)}
              onRemove={() => updateList('acls', form.acls, i, undefined)}
            />
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
            <WriteRow
              key={w.uid}
              ctx={ctx}
              index={i}
              write={w}
              onChange={(patch) => updateList('writes', form.writes, i, patch)}
              onRemove={() => updateList('writes', form.writes, i, undefined)}
            />
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
  const [confirm, setConfirm] = useState(false);
  const [outcome, run] = useAction();
  return (
    <div class="buttons">
      {!confirm ? (
        <button type="button" class="small danger" onClick={() => setConfirm(true)}>
          Delete this configuration…
        </button>
      ) : (
        <span class="confirm">
          <span>Delete the configuration of {endpoint}?</span>
          <button
            type="button"
            class="small danger"
            onClick={async () => {
              setConfirm(false);
              const ok = await run('Deleting…', async () => {
                await bsApi.delete(endpoint);
                return 'Deleted.';
              });
              if (ok) onDeleted();
            }}
          >
            Yes, delete
          </button>
          <button type="button" class="small" onClick={() => setConfirm(false)}>
            Keep it
          </button>
        </span>
      )}
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
            <div class="notice notice-error" role="alert">
              <strong>The configuration could not be loaded: {loadError.title}</strong>
              {loadError.detail && <div class="outcome-detail">{loadError.detail}</div>}
              <div class="buttons">
                <button type="button" onClick={() => setGeneration((g) => g + 1)}>
                  Try again
                </button>
                <Link href="/">Back to the configurations</Link>
              </div>
            </div>
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
