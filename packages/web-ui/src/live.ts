/** The LwM2M server's event stream (`GET /api/events`, SSE) shared by every view. */
import { eventsUrl } from './api';
import { LiveEvents, type LiveListener } from './live-events';

export { LiveEvents, type LiveState } from './live-events';

export const EVENT_NAMES = [
  'registration',
  'update',
  'deregistration',
  'notification',
  'send',
  'coap-error',
  'awake',
  'sleeping',
  'observation-cancelled',
] as const;
export type EventName = (typeof EVENT_NAMES)[number];
export type { LiveListener };

export const live = /* @__PURE__ */ new LiveEvents<EventName>(EVENT_NAMES, eventsUrl);
