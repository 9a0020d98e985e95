/** Delete in two steps: "Delete…", then "Yes, delete" or "Keep it". */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { useAction } from './ui';

export function ConfirmDelete(props: {
  /** The `run` of the caller's `useAction`: its outcome shows where the caller puts it. */
  run: ReturnType<typeof useAction>[1];
  /** Deletes; what it returns is the outcome's text ("Deleted." when it returns nothing). */
  remove: () => Promise<string | undefined>;
  /** After `remove` succeeded. */
  onDeleted?: () => void;
  /** Names the buttons for screen readers: "Delete <what>", "Yes, delete <what>". */
  what?: string;
  /** The first button's text (default "Delete…"). */
  label?: string;
  /** Asked beside the confirming buttons. */
  question?: ComponentChildren;
  disabled?: boolean;
}) {
  const [confirm, setConfirm] = useState(false);
  const { what } = props;
  if (!confirm) {
    return (
      <button
        type="button"
        class="small danger"
        aria-label={what === undefined ? undefined : `Delete ${what}`}
        disabled={props.disabled}
        onClick={() => setConfirm(true)}
      >
        {props.label ?? 'Delete…'}
      </button>
    );
  }
  return (
    <span class="confirm">
      {props.question !== undefined && <span>{props.question}</span>}
      <button
        type="button"
        class="small danger"
        aria-label={what === undefined ? undefined : `Yes, delete ${what}`}
        onClick={async () => {
          setConfirm(false);
          const ok = await props.run('Deleting…', async () => (await props.remove()) ?? 'Deleted.');
          if (ok) props.onDeleted?.();
        }}
      >
        Yes, delete
      </button>
      <button type="button" class="small" onClick={() => setConfirm(false)}>
        Keep it
      </button>
    </span>
  );
}
