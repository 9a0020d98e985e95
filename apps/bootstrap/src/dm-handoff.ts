/**
 * Hands a freshly provisioned PSK to a running `@lwm2m-ts/server` through its REST API
 * (`PUT {url}/api/security/clients/:ep` with `{ "mode": "psk", "identity", "key": "<hex>" }`), so
 * the device can register there as soon as its bootstrap finishes.
 */
import type { ServerAccountConfig } from './config.js';

export interface DmServerOptions {
  /** Base URL of the DM server's REST API, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Its bearer token (`lwm2m-server --token`). */
  readonly token?: string;
  /** Time limit of one PUT in ms (default 5 000). */
  readonly timeoutMs?: number;
}

export interface HandoffResult {
  readonly ok: boolean;
  readonly status?: number;
  readonly message?: string;
}

/** Checks the URL once, at construction time (a typo should not wait for the first device). */
export function checkDmServerUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`dmServer.url: ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new RangeError(`dmServer.url: ${JSON.stringify(url)} must be http:// or https://`);
  }
  return url.replace(/\/+$/, '');
}

/** PUTs one PSK server account's credentials; never throws. */
export async function handOffPsk(
  dm: DmServerOptions,
  endpoint: string,
  account: ServerAccountConfig,
): Promise<HandoffResult> {
  const url = `${checkDmServerUrl(dm.url)}/api/security/clients/${encodeURIComponent(endpoint)}`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (dm.token !== undefined && dm.token !== '') headers.authorization = `Bearer ${dm.token}`;
  try {
    const res = await fetch(url, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ mode: 'psk', identity: account.pskIdentity, key: account.pskKey }),
      signal: AbortSignal.timeout(dm.timeoutMs ?? 5000),
    });
    const text = await res.text();
    if (res.ok) return { ok: true, status: res.status };
    let message = text;
    try {
      const body = JSON.parse(text) as { message?: unknown };
      if (typeof body.message === 'string') message = body.message;
    } catch {
      // not JSON: keep the text
    }
    return { ok: false, status: res.status, message: message.slice(0, 500) };
  } catch (err) {
    const cause = (err as { cause?: { message?: unknown } }).cause?.message;
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, message: typeof cause === 'string' ? `${message}: ${cause}` : message };
  }
}
