/**
 * The device list's state, kept pure so it can be tested: registrations by endpoint, folded
 * from live events, filtered and sorted for display.
 */
import type { Registration } from './model';

export interface DeviceRow {
  readonly reg: Registration;
  /** ms since 1970 of the last thing heard from the device (update, notification, Send…). */
  readonly lastSeen: number;
}

export type Devices = ReadonlyMap<string, DeviceRow>;

/** Rows a page shows; past `BIG_FLEET` devices the server searches, sorts and pages. */
export const PAGE_SIZE = 100;
export const BIG_FLEET = 1000;

/** Rows from a list; `prev` keeps what was seen live since (notifications, Send). */
export function fromList(list: readonly Registration[], prev?: Devices): Devices {
  return new Map(
    list.map((reg) => [
      reg.endpoint,
      {
        reg,
        lastSeen: Math.max(Date.parse(reg.lastUpdate) || 0, prev?.get(reg.endpoint)?.lastSeen ?? 0),
      },
    ]),
  );
}

// biome-ignore lint/suspicious/noExplicitAny: SSE data is JSON; fields are checked here
type EventData = any;

/** `devices` after one SSE event (unchanged when the event does not concern the list). */
export function applyEvent(devices: Devices, name: string, data: EventData, now: number): Devices {
  const ep: unknown = data?.endpoint;
  if (typeof ep !== 'string') return devices;
  const prev = devices.get(ep);
  switch (name) {
    case 'registration':
    case 'update': {
      const reg = data.registration as Registration | undefined;
      if (reg === undefined || typeof reg !== 'object') return devices;
      const out = new Map(devices);
      out.set(ep, { reg, lastSeen: now });
      return out;
    }
    case 'deregistration': {
      if (prev === undefined) return devices;
      // A stale event (an older registration of an endpoint that registered again) is ignored.
      const id = data.registration?.registrationId;
      if (typeof id === 'string' && id !== prev.reg.registrationId) return devices;
      const out = new Map(devices);
      out.delete(ep);
      return out;
    }
    case 'awake':
    case 'sleeping': {
      if (prev === undefined) return devices;
      const out = new Map(devices);
      const awake = name === 'awake';
      out.set(ep, {
        reg: { ...prev.reg, queue: { awake, queued: prev.reg.queue?.queued ?? 0 } },
        lastSeen: awake ? now : prev.lastSeen,
      });
      return out;
    }
    case 'notification':
    case 'send': {
      if (prev === undefined) return devices;
      const out = new Map(devices);
      out.set(ep, { ...prev, lastSeen: now });
      return out;
    }
    default:
      return devices;
  }
}

export type QueueStateWord = 'online' | 'awake' | 'sleeping';

/** `online` for a device not in queue mode, else whether it is awake now. */
export function queueStateOf(reg: Registration): QueueStateWord {
  if (!reg.queueMode) return 'online';
  return reg.queue?.awake === false ? 'sleeping' : 'awake';
}

export type SortKey =
  | 'endpoint'
  | 'lwm2mVersion'
  | 'binding'
  | 'state'
  | 'lastSeen'
  | 'registeredAt'
  | 'lifetime';

/** The server's `?sort=` for a column (it knows registration updates, not every packet). */
export function serverSort(sort: SortKey): string {
  return sort === 'lastSeen' ? 'lastUpdate' : sort;
}

export interface ListView {
  readonly search: string;
  readonly sort: SortKey;
  readonly descending: boolean;
}

function key(row: DeviceRow, sort: SortKey): string | number {
  const r = row.reg;
  switch (sort) {
    case 'endpoint':
      return r.endpoint;
    case 'lwm2mVersion':
      return r.lwm2mVersion;
    case 'binding':
      return r.binding;
    case 'state':
      return queueStateOf(r);
    case 'lastSeen':
      return row.lastSeen;
    case 'registeredAt':
      return Date.parse(r.registeredAt) || 0;
    case 'lifetime':
      return r.lifetime;
  }
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** Whether a row matches the search text (endpoint, address, version, binding, state). */
export function matches(row: DeviceRow, search: string): boolean {
  const words = search.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const r = row.reg;
  const hay = [
    r.endpoint,
    `${r.address}:${r.port}`,
    `lwm2m ${r.lwm2mVersion}`,
    r.binding,
    queueStateOf(r),
    r.transport,
    r.identity ?? '',
  ]
    .join(' ')
    .toLowerCase();
  return words.every((w) => hay.includes(w));
}

/** The rows to show, filtered and sorted (ties broken by endpoint). */
export function visibleRows(devices: Devices, view: ListView): DeviceRow[] {
  const rows = [...devices.values()].filter((r) => matches(r, view.search));
  const dir = view.descending ? -1 : 1;
  rows.sort((a, b) => {
    const x = key(a, view.sort);
    const y = key(b, view.sort);
    const c =
      typeof x === 'number' && typeof y === 'number'
        ? x - y
        : collator.compare(String(x), String(y));
    return c !== 0 ? c * dir : collator.compare(a.reg.endpoint, b.reg.endpoint);
  });
  return rows;
}

export interface Counts {
  readonly total: number;
  readonly online: number;
  readonly awake: number;
  readonly sleeping: number;
}

export function countStates(devices: Devices): Counts {
  let online = 0;
  let awake = 0;
  let sleeping = 0;
  for (const { reg } of devices.values()) {
    const s = queueStateOf(reg);
    if (s === 'online') online++;
    else if (s === 'awake') awake++;
    else sleeping++;
  }
  return { total: devices.size, online, awake, sleeping };
}
