/** What the bootstrap page's views share: configurations, the session log, the event stream. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ErrorWords } from '../errors';
import { LiveEvents, type LiveState } from '../live-events';
import { type BootstrapConfig, BS_EVENT_NAMES, bsEventsUrl } from './api';
import type { LogEntry } from './sessions';

export const bsLive = /* @__PURE__ */ new LiveEvents(BS_EVENT_NAMES, bsEventsUrl);

export interface BsData {
  /** Configurations by endpoint; undefined until loaded. */
  readonly configs: Readonly<Record<string, BootstrapConfig>> | undefined;
  readonly configsError: ErrorWords | undefined;
  readonly log: readonly LogEntry[];
  readonly liveState: LiveState;
  /** A message for the next view ("Saved the configuration of …"). */
  readonly notice: string;
  setNotice(text: string): void;
  reload(): void;
  clearLog(): void;
}

export const BsContext = createContext<BsData>({
  configs: undefined,
  configsError: undefined,
  log: [],
  liveState: 'down',
  notice: '',
  setNotice: () => {},
  reload: () => {},
  clearLog: () => {},
});

export function useBsData(): BsData {
  return useContext(BsContext);
}
