/** The security page's form, checked as the server checks entries (security-routes.ts). */
import type { SecurityEntry } from './model';

export interface SecurityForm {
  readonly endpoint: string;
  readonly mode: 'psk' | 'nosec';
  readonly identity: string;
  readonly key: string;
}

export const EMPTY_FORM: SecurityForm = { endpoint: '', mode: 'psk', identity: '', key: '' };

/** The entry a form describes, or what is wrong with each field. */
export function checkSecurityForm(
  f: SecurityForm,
):
  | { ok: true; entry: SecurityEntry }
  | { ok: false; errors: Partial<Record<keyof SecurityForm, string>> } {
  const errors: Partial<Record<keyof SecurityForm, string>> = {};
  const endpoint = f.endpoint.trim();
  if (endpoint === '') errors.endpoint = 'enter the endpoint name the device registers with';
  else if (endpoint.length > 1024) errors.endpoint = 'at most 1024 characters';
  if (f.mode === 'nosec') {
    if (Object.keys(errors).length > 0) return { ok: false, errors };
    return { ok: true, entry: { endpoint, mode: 'nosec' } };
  }
  if (f.identity === '') errors.identity = 'enter the PSK identity the device presents';
  else if (new TextEncoder().encode(f.identity).length > 256) errors.identity = 'at most 256 bytes';
  const key = f.key.replace(/[\s:]/g, '').toLowerCase();
  if (key === '') errors.key = 'enter the key in hex';
  else if (!/^(?:[0-9a-f]{2})+$/.test(key))
    errors.key = 'hex digits, two per byte (e.g. 73656372657421)';
  else if (key.length / 2 > 256) errors.key = 'at most 256 bytes';
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, entry: { endpoint, mode: 'psk', identity: f.identity, key } };
}
