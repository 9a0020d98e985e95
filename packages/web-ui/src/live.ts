/**
 * The server's event stream (`GET /api/events`, SSE) shared by every view: one EventSource,
 * reopened after failures with a growing delay, listeners per event name.
 */
import { eventsUrl } from './api';

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

export type LiveState = 'connecting' | 'live' | 'down';

// biome-ignore lint/suspicious/noExplicitAny: event data is JSON checked by each listener
export type LiveListener = (name: EventName, data: any) => void;

export class LiveEvents {
  #source: EventSource | undefined;
  #state: LiveState = 'down';
  #retryMs = 1000;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #listeners = new Set<LiveListener>();
  readonly #stateListeners = new Set<(s: LiveState) => void>();

  get state(): LiveState {
    return this.#state;
  }

  on(listener: LiveListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onState(listener: (s: LiveState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  #setState(s: LiveState): void {
    if (s === this.#state) return;
    this.#state = s;
    for (const l of this.#stateListeners) l(s);
  }

  /** Opens (or reopens, e.g. with a new token) the stream. */
  connect(): void {
    this.close();
    if (typeof EventSource === 'undefined') return;
    this.#setState('connecting');
    const source = new EventSource(eventsUrl());
    this.#source = source;
    source.onopen = () => {
      this.#retryMs = 1000;
      this.#setState('live');
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. a 401): try again later ourselves.
        this.#setState('down');
        this.#source = undefined;
        this.#timer = setTimeout(() => this.connect(), this.#retryMs);
        this.#retryMs = Math.min(this.#retryMs * 2, 30_000);
      } else {
        this.#setState('connecting');
      }
    };
    for (const name of EVENT_NAMES) {
      source.addEventListener(name, (e) => {
        let data: unknown;
        try {
          data = JSON.parse((e as MessageEvent<string>).data);
        } catch {
          return;
        }
        for (const l of this.#listeners) {
          try {
            l(name, data);
          } catch (err) {
            console.warn('event listener failed', err);
          }
        }
      });
    }
  }

  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#source?.close();
    this.#source = undefined;
    this.#setState('down');
  }
}

export const live = new LiveEvents();
