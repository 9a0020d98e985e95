/** The server's security store: PSK (and no-sec) entries per endpoint. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api } from './api';
import { type ErrorWords, errorWords } from './errors';
import { FormButtons } from './form-buttons';
import type { SecurityEntry } from './model';
import { RadioChoices } from './radio-choices';
import { RandomKeyButton } from './random-key';
import { RowActions } from './row-actions';
import { checkSecurityForm, EMPTY_FORM, type SecurityForm } from './security';
import { TextField } from './text-field';
import { useAction } from './ui';

function EntryForm(props: {
  initial: SecurityForm;
  editing: boolean;
  onSaved: (message: string) => void;
  onCancel: () => void;
}) {
  const [form, setForm] = useState(props.initial);
  const [tried, setTried] = useState(false);
  const [outcome, run] = useAction();
  const checked = checkSecurityForm(form);
  const errors = tried && !checked.ok ? checked.errors : {};
  const set = (patch: Partial<SecurityForm>) => setForm((f) => ({ ...f, ...patch }));
  return (
    <form
      class="panel stack entry-form"
      aria-labelledby="entry-form-title"
      onSubmit={async (e) => {
        e.preventDefault();
        setTried(true);
        if (!checked.ok) return;
        const ok = await run('Saving…', async () => {
          await api.putSecurity(checked.entry);
          return `Saved the entry of ${checked.entry.endpoint}.`;
        });
        if (ok) props.onSaved(`Saved the entry of ${checked.entry.endpoint}.`);
      }}
    >
      <h2 id="entry-form-title">
        {props.editing ? `Edit ${props.initial.endpoint}` : 'Add an entry'}
      </h2>
      <TextField
        label="Endpoint"
        error={errors.endpoint}
        value={form.endpoint}
        input={{ readOnly: props.editing }}
        onInput={(endpoint) => set({ endpoint })}
      />
      <fieldset class="inline-choices">
        <legend>Security mode</legend>
        <RadioChoices
          name="mode"
          value={form.mode}
          choices={[
            ['psk', 'Pre-shared key (DTLS)'],
            ['nosec', 'No security (plain CoAP)'],
          ]}
          onChange={(mode) => set({ mode })}
        />
      </fieldset>
      {form.mode === 'psk' && (
        <>
          <TextField
            label="PSK identity"
            error={errors.identity}
            input={{ spellcheck: false }}
            value={form.identity}
            onInput={(identity) => set({ identity })}
          />
          <TextField
            label="Key (hex)"
            error={errors.key}
            hint="The shared secret, two hex digits per byte."
            input={{ spellcheck: false, class: 'mono' }}
            value={form.key}
            onInput={(key) => set({ key })}
          >
            <RandomKeyButton onKey={(key) => set({ key })} />
          </TextField>
        </>
      )}
      <FormButtons
        outcome={outcome}
        onClose={props.editing ? props.onCancel : undefined}
        closeLabel="Cancel"
      >
        {props.editing ? 'Save changes' : 'Add entry'}
      </FormButtons>
    </form>
  );
}

function EntryRow(props: { entry: SecurityEntry; onEdit: () => void; onDeleted: () => void }) {
  const { entry } = props;
  const [showKey, setShowKey] = useState(false);
  return (
    <tr data-endpoint={entry.endpoint}>
      <th scope="row" data-label="Endpoint">
        {entry.endpoint}
      </th>
      <td data-label="Mode">{entry.mode === 'psk' ? 'PSK' : 'no security'}</td>
      <td data-label="Identity">{entry.identity ?? '—'}</td>
      <td data-label="Key" class="mono">
        {entry.key === undefined ? (
          '—'
        ) : (
          <span>
            {showKey ? entry.key : '•'.repeat(Math.min(16, entry.key.length / 2))}{' '}
            <button
              type="button"
              class="small"
              aria-pressed={showKey}
              aria-label={`${showKey ? 'Hide' : 'Show'} the key of ${entry.endpoint}`}
              onClick={() => setShowKey(!showKey)}
            >
              {showKey ? 'Hide' : 'Show'}
            </button>
          </span>
        )}
      </td>
      <RowActions
        what={entry.endpoint}
        onEdit={props.onEdit}
        remove={() => api.deleteSecurity(entry.endpoint)}
        onDeleted={props.onDeleted}
      />
    </tr>
  );
}

export function SecurityPage() {
  const [entries, setEntries] = useState<SecurityEntry[] | undefined>(undefined);
  const [error, setError] = useState<ErrorWords | undefined>(undefined);
  const [editing, setEditing] = useState<SecurityForm | undefined>(undefined);
  // A new key remounts the form with fresh fields (after a save, an edit, a cancel).
  const [formKey, setFormKey] = useState(0);
  const [notice, setNotice] = useState('');
  const edit = (f: SecurityForm | undefined) => {
    setEditing(f);
    setFormKey((k) => k + 1);
  };
  const load = useCallback(() => {
    api.security().then(
      (list) => {
        setEntries([...list].sort((a, b) => a.endpoint.localeCompare(b.endpoint)));
        setError(undefined);
      },
      (err) => setError(errorWords(err)),
    );
  }, []);
  useEffect(() => {
    document.title = 'Security · LwM2M server';
    load();
  }, [load]);

  return (
    <section class="page" aria-labelledby="security-title">
      <div class="page-head">
        <h1 id="security-title" tabIndex={-1}>
          Security
        </h1>
        {entries && (
          <p class="counts">
            <strong>{entries.length}</strong> entr{entries.length === 1 ? 'y' : 'ies'}
          </p>
        )}
      </div>
      <p class="muted">
        The credentials devices must present to register over DTLS, by endpoint name. An endpoint
        with no entry may register over plain CoAP.
      </p>
      {error && (
        <div class="notice notice-error" role="alert">
          <strong>The entries could not be loaded: {error.title}</strong>
          <div>
            <button type="button" onClick={load}>
              Try again
            </button>
          </div>
        </div>
      )}
      <p class="notice-line" role="status">
        {notice}
      </p>
      <div class="security-layout">
        <div>
          {entries !== undefined && entries.length === 0 && <p class="empty">No entries yet.</p>}
          {entries !== undefined && entries.length > 0 && (
            <table class="entries">
              <caption class="visually-hidden">Security entries</caption>
              <thead>
                <tr>
                  <th scope="col">Endpoint</th>
                  <th scope="col">Mode</th>
                  <th scope="col">Identity</th>
                  <th scope="col">Key</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((e) => (
                  <EntryRow
                    key={e.endpoint}
                    entry={e}
                    onEdit={() =>
                      edit({
                        endpoint: e.endpoint,
                        mode: e.mode,
                        identity: e.identity ?? '',
                        key: e.key ?? '',
                      })
                    }
                    onDeleted={() => {
                      setNotice(`Deleted the entry of ${e.endpoint}.`);
                      load();
                    }}
                  />
                ))}
              </tbody>
            </table>
          )}
        </div>
        <EntryForm
          key={formKey}
          initial={editing ?? EMPTY_FORM}
          editing={editing !== undefined}
          onSaved={(message) => {
            setNotice(message);
            edit(undefined);
            load();
          }}
          onCancel={() => edit(undefined)}
        />
      </div>
    </section>
  );
}
