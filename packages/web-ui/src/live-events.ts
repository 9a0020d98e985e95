/**
 * An event stream (SSE) shared by every view of a page: one EventSource, reopened after failures
 * with a growing delay, listeners per event name.
 */

export type LiveState = 'connecting' | 'live' | 'down';

// biome-ignore lint/suspicious/noExplicitAny: event data is JSON checked by each listener
export type LiveListener<N extends string = string> = (name: N, data: any) => void;

export class LiveEvents<N extends string> {
  readonly #names: readonly N[];
  readonly #url: () => string;
  #source: EventSource | undefined;
  #state: LiveState = 'down';
  #retryMs = 1000;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #listeners = new Set<LiveListener<N>>();
  readonly #stateListeners = new Set<(s: LiveState) => void>();

  /** `names`: the event names to listen to; `url`: the stream's URL (with the token). */
  constructor(names: readonly N[], url: () => string) {
    this.#names = names;
    this.#url = url;
  }

  get state(): LiveState {
    return this.#state;
  }

  on(listener: LiveListener<N>): () => void {
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
    const source = new EventSource(this.#url());
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
    for (const name of this.#names) {
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
