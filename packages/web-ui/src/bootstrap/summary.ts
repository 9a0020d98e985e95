/** One row of the configuration list: what a configuration gives its device, in short. */
import type { BootstrapConfig, SecurityModeName } from './api';

export interface ConfigSummary {
  readonly endpoint: string;
  /** DM server accounts (Server /1 instances). */
  readonly servers: number;
  /** Security (/0) instances written: one per DM server, plus the bootstrap account if any. */
  readonly securityEntries: number;
  /** The security modes used, in order of first use. */
  readonly modes: readonly SecurityModeName[];
  /** `101 coap://…` per DM server. */
  readonly uris: readonly string[];
  /** The PSK identity the device presents to this bootstrap server; none: plain CoAP. */
  readonly identity: string | undefined;
  /** Other parts, in words: "2 ACLs", "1 value", "Discover", "Read /1". */
  readonly extras: readonly string[];
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function summarize(endpoint: string, c: BootstrapConfig): ConfigSummary {
  const modes: SecurityModeName[] = [];
  for (const m of [...c.servers.map((s) => s.securityMode), c.bootstrapServer?.securityMode]) {
    if (m !== undefined && !modes.includes(m)) modes.push(m);
  }
  const extras: string[] = [];
  if (c.bootstrapServer !== undefined) extras.push('bootstrap account');
  if (c.acls?.length) extras.push(plural(c.acls.length, 'ACL'));
  if (c.writes?.length) extras.push(plural(c.writes.length, 'value'));
  if (c.discover) extras.push('Discover');
  if (c.read?.length) extras.push(`Read ${c.read.join(' ')}`);
  if (c.lwm2mVersion) extras.push(`LwM2M ${c.lwm2mVersion}`);
  return {
    endpoint,
    servers: c.servers.length,
    securityEntries: c.servers.length + (c.bootstrapServer === undefined ? 0 : 1),
    modes,
    uris: c.servers.map((s) => `${s.shortServerId} ${s.uri}`),
    identity: c.bootstrapCredentials?.identity,
    extras,
  };
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Summaries sorted by endpoint, naturally (dev-2 before dev-10). */
export function summaries(configs: Readonly<Record<string, BootstrapConfig>>): ConfigSummary[] {
  return Object.entries(configs)
    .map(([ep, c]) => summarize(ep, c))
    .sort((a, b) => collator.compare(a.endpoint, b.endpoint));
}

/** Whether every word of `query` is in the endpoint, a URI, the identity or a mode. */
export function matches(s: ConfigSummary, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const text = [s.endpoint, ...s.uris, s.identity ?? '', ...s.modes, ...s.extras]
    .join(' ')
    .toLowerCase();
  return words.every((w) => text.includes(w));
}

export function modeName(m: SecurityModeName): string {
  return m === 'psk' ? 'PSK' : 'NoSec';
}
