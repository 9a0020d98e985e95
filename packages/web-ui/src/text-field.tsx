/** A labelled one-line text input: label, hint and error by `Field`, the value as text. */
import type { ComponentChildren } from 'preact';
import { Field } from './ui';

export function TextField(props: {
  label: ComponentChildren;
  error: string | undefined;
  hint?: string | undefined;
  /** The input's id (default: a generated one). */
  id?: string;
  /** The field's class. */
  class?: string | undefined;
  value: string;
  onInput: (value: string) => void;
  /** More attributes of the input. */
  input?: {
    spellcheck?: boolean;
    class?: string | undefined;
    inputMode?: 'numeric' | undefined;
    placeholder?: string | undefined;
    readOnly?: boolean | undefined;
  };
  /** The input sits in a `span.inline`, `children` (e.g. a button) after it on its line. */
  inline?: boolean;
  children?: ComponentChildren;
}) {
  return (
    <Field
      id={props.id}
      label={props.label}
      error={props.error}
      hint={props.hint}
      class={props.class}
    >
      {(id, d) => {
        const input = (
          <input
            {...props.input}
            id={id}
            type="text"
            autocomplete="off"
            value={props.value}
            aria-describedby={d}
            aria-invalid={props.error ? 'true' : undefined}
            onInput={(e) => props.onInput(e.currentTarget.value)}
          />
        );
        return props.inline || props.children !== undefined ? (
          <span class="inline">
            {input}
            {props.children}
          </span>
        ) : (
          input
        );
      }}
    </Field>
  );
}
