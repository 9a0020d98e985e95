/** The "Random key" button beside a PSK key field. */
import { bytesToHex } from './values';

/** Gives `onKey` 16 random bytes in hex. */
export function RandomKeyButton(props: { onKey: (hex: string) => void; 'aria-label'?: string }) {
  return (
    <button
      type="button"
      class="small"
      aria-label={props['aria-label']}
      onClick={() => props.onKey(bytesToHex(crypto.getRandomValues(new Uint8Array(16))))}
    >
      Random key
    </button>
  );
}
