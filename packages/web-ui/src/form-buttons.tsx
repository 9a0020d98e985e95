/** The buttons at the foot of a form: submit, maybe Close, and the outcome of the submit. */
import type { ComponentChildren } from 'preact';
import { type Outcome, OutcomeText } from './ui';

export function FormButtons(props: {
  outcome: Outcome;
  /** The submit button's text. */
  children: ComponentChildren;
  /** The submit button's class (default "primary"). */
  class?: string;
  /** Shows a button that closes the form. */
  onClose?: (() => void) | undefined;
  /** That button's text (default "Close"). */
  closeLabel?: string;
}) {
  return (
    <div class="buttons">
      <button
        type="submit"
        class={props.class ?? 'primary'}
        disabled={props.outcome.kind === 'busy'}
      >
        {props.children}
      </button>
      {props.onClose && (
        <button type="button" onClick={props.onClose}>
          {props.closeLabel ?? 'Close'}
        </button>
      )}
      <OutcomeText outcome={props.outcome} />
    </div>
  );
}
