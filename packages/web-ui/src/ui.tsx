/** Small building blocks shared by the pages. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import { type ErrorWords, errorWords } from './errors';
import { isPlainClick, navigate } from './router';
import { formatRelative } from './values';

export function Link(props: {
  href: string;
  children: ComponentChildren;
  class?: string;
  'aria-current'?: 'page' | undefined;
}) {
  const { href, children, ...rest } = props;
  return (
    <a
      href={href}
      {...rest}
      onClick={(e) => {
        if (isPlainClick(e)) {
          e.preventDefault();
          navigate(href);
        }
      }}
    >
      {children}
    </a>
  );
}

/** The outcome of an action the person started. */
export type Outcome =
  | { readonly kind: 'idle' }
  | { readonly kind: 'busy'; readonly text: string }
  | { readonly kind: 'ok'; readonly text: string }
  | { readonly kind: 'error'; readonly words: ErrorWords };

export const IDLE: Outcome = { kind: 'idle' };

/**
 * Runs async actions one at a time and keeps their outcome for display: "Reading…", then what
 * the action returns, or the error in words.
 */
export function useAction(): [
  Outcome,
  (busyText: string, action: () => Promise<string>) => Promise<boolean>,
  () => void,
] {
  const [outcome, setOutcome] = useState<Outcome>(IDLE);
  const alive = useRef(true);
  useEffect(
    () => () => {
      alive.current = false;
    },
    [],
  );
  const run = useCallback(async (busyText: string, action: () => Promise<string>) => {
    setOutcome({ kind: 'busy', text: busyText });
    try {
      const text = await action();
      if (alive.current) setOutcome({ kind: 'ok', text });
      return true;
    } catch (err) {
      if (alive.current) setOutcome({ kind: 'error', words: errorWords(err) });
      return false;
    }
  }, []);
  const clear = useCallback(() => setOutcome(IDLE), []);
  return [outcome, run, clear];
}

/** Shows an outcome; errors are announced (role=alert), the rest politely. */
export function OutcomeText({ outcome, id }: { outcome: Outcome; id?: string }) {
  if (outcome.kind === 'idle') return <span id={id} class="outcome" role="status" />;
  if (outcome.kind === 'error') {
    return (
      <span id={id} class="outcome outcome-error" role="alert">
        <strong>{outcome.words.title}</strong>
        {outcome.words.detail !== undefined && (
          <span class="outcome-detail"> — {outcome.words.detail}</span>
        )}
      </span>
    );
  }
  return (
    <span id={id} class={`outcome outcome-${outcome.kind}`} role="status">
      {outcome.kind === 'busy' && <span class="spinner" aria-hidden="true" />}
      {outcome.text}
    </span>
  );
}

/** A modal dialog on the native `<dialog>` (focus kept inside, Escape closes). */
export function Modal(props: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  class?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const onClose = useRef(props.onClose);
  onClose.current = props.onClose;
  useEffect(() => {
    const d = ref.current;
    if (d === null) return;
    if (!d.open) d.showModal();
    const close = () => onClose.current();
    d.addEventListener('close', close);
    return () => {
      d.removeEventListener('close', close);
      if (d.open) d.close();
    };
  }, []);
  const titleId = `dialog-title-${props.title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <dialog ref={ref} class={`modal ${props.class ?? ''}`} aria-labelledby={titleId}>
      <div class="modal-head">
        <h2 id={titleId}>{props.title}</h2>
        <button
          type="button"
          class="icon-button"
          aria-label="Close"
          onClick={() => ref.current?.close()}
        >
          ×
        </button>
      </div>
      {props.children}
    </dialog>
  );
}

/** The current time, refreshed every `ms`. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/** "12 s ago" with the full local date-time as a tooltip. */
export function TimeAgo({ ms, now }: { ms: number; now: number }) {
  if (!Number.isFinite(ms) || ms <= 0) return <span>—</span>;
  const d = new Date(ms);
  return (
    <time dateTime={d.toISOString()} title={d.toLocaleString()}>
      {formatRelative(ms, now)}
    </time>
  );
}

export function LocalTime({ ms }: { ms: number }) {
  if (!Number.isFinite(ms) || ms <= 0) return <span>—</span>;
  const d = new Date(ms);
  return <time dateTime={d.toISOString()}>{d.toLocaleString()}</time>;
}

export interface Point {
  readonly t: number;
  readonly v: number;
}

/** A small line chart of numeric values over time (inline SVG). */
export function Sparkline(props: {
  points: readonly Point[];
  label: string;
  units?: string | undefined;
}) {
  const { points } = props;
  const w = 240;
  const h = 56;
  const pad = 4;
  if (points.length === 0) return null;
  const t0 = points[0]!.t;
  const t1 = points.at(-1)!.t;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const p of points) {
    lo = Math.min(lo, p.v);
    hi = Math.max(hi, p.v);
  }
  const span = hi - lo || 1;
  const x = (t: number) => (t1 === t0 ? w / 2 : pad + ((t - t0) / (t1 - t0)) * (w - 2 * pad));
  const y = (v: number) => (hi === lo ? h / 2 : h - pad - ((v - lo) / span) * (h - 2 * pad));
  const line = points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  const last = points.at(-1)!;
  const u = props.units ? ` ${props.units}` : '';
  const summary = `${props.label}: ${points.length} value${points.length === 1 ? '' : 's'}, from ${lo}${u} to ${hi}${u}, last ${last.v}${u}`;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${w} ${h}`} width={w} height={h} role="img" aria-label={summary}>
        <title>{summary}</title>
        <line class="chart-axis" x1={pad} x2={w - pad} y1={h - pad} y2={h - pad} />
        {points.length > 1 && <polyline class="chart-line" points={line} />}
        <circle class="chart-dot" cx={x(last.t)} cy={y(last.v)} r="3" />
      </svg>
      <figcaption>
        <span class="chart-range">
          {lo}
          {u} – {hi}
          {u}
        </span>
        <span class="chart-last">
          last <strong>{last.v}</strong>
          {u}
        </span>
      </figcaption>
    </figure>
  );
}

/** A labelled field: `children` gets the input's id and its `aria-describedby` (hint, error). */
export function Field(props: {
  label: ComponentChildren;
  error: string | undefined;
  hint?: string;
  /** The input's id (default: a generated one). */
  id?: string;
  class?: string;
  children: (id: string, describedBy: string | undefined) => ComponentChildren;
}) {
  const generated = useId();
  const id = props.id ?? generated;
  const describedBy = [props.hint ? `${id}-hint` : '', props.error ? `${id}-err` : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div class={props.class ? `field ${props.class}` : 'field'}>
      <label for={id}>{props.label}</label>
      {props.children(id, describedBy || undefined)}
      {props.hint && (
        <small id={`${id}-hint`} class="hint">
          {props.hint}
        </small>
      )}
      {props.error && (
        <small id={`${id}-err`} class="field-error">
          {props.error}
        </small>
      )}
    </div>
  );
}
