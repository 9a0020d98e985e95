/** The Actions cell of a table row: Edit, Delete with confirmation, and their outcome. */
import { ConfirmDelete } from './confirm-delete';
import { OutcomeText, useAction } from './ui';

export function RowActions(props: {
  /** What the row shows, for the buttons' names: "Edit <what>", "Delete <what>". */
  what: string;
  onEdit: () => void;
  remove: () => Promise<string | undefined>;
  onDeleted: () => void;
  /** The class of the cell's content. */
  class?: string;
}) {
  const [outcome, run] = useAction();
  return (
    <td data-label="Actions">
      <div class={props.class}>
        <div class="action-buttons">
          <button
            type="button"
            class="small"
            aria-label={`Edit ${props.what}`}
            onClick={props.onEdit}
          >
            Edit
          </button>
          <ConfirmDelete
            run={run}
            what={props.what}
            remove={props.remove}
            onDeleted={props.onDeleted}
          />
        </div>
        <OutcomeText outcome={outcome} />
      </div>
    </td>
  );
}
