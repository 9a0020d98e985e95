/** The banner of data that could not be loaded, with "Try again". */
import type { ComponentChildren } from 'preact';
import type { ErrorWords } from './errors';

export function LoadError(props: {
  /** What could not be loaded: "The device list". */
  what: string;
  error: ErrorWords;
  onRetry: () => void;
  /** More ways out, after "Try again" (the buttons are laid out in a row then). */
  children?: ComponentChildren;
}) {
  const { error } = props;
  return (
    <div class="notice notice-error" role="alert">
      <strong>
        {props.what} could not be loaded: {error.title}
      </strong>
      {error.detail && <div class="outcome-detail">{error.detail}</div>}
      <div class={props.children === undefined ? undefined : 'buttons'}>
        <button type="button" onClick={props.onRetry}>
          Try again
        </button>
        {props.children}
      </div>
    </div>
  );
}
