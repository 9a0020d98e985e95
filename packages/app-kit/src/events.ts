import type { EventEmitter } from 'node:events';
import type { ResponseCode } from '@lwm2m-ts/core';

/** The `coapError` event of the servers: something a peer sent that was refused or unusable. */
export interface CoapErrorEvent {
  readonly endpoint?: string;
  readonly address: string;
  readonly port: number;
  readonly code: ResponseCode;
  readonly message: string;
}

/** Some of the listeners of an emitter with the typed events `E`, by event name. */
export type EventListeners<E extends Record<keyof E, unknown[]>> = {
  readonly [K in keyof E]?: (...args: E[K]) => void;
};

type Untyped = (...args: unknown[]) => void;

/**
 * Adds `listeners` to `emitter` and returns the function that removes them again. With
 * `onError`, a listener that throws is reported there (with the event's name) instead of
 * throwing into whoever emitted the event.
 */
export function listenTo<E extends Record<keyof E, unknown[]>>(
  emitter: EventEmitter<E>,
  listeners: EventListeners<E>,
  onError?: (err: unknown, event: string) => void,
): () => void {
  // EventEmitter<E>'s overloads are awkward to satisfy generically: one cast, here.
  const target = emitter as unknown as {
    on(name: string, listener: Untyped): unknown;
    off(name: string, listener: Untyped): unknown;
  };
  const added: [string, Untyped][] = [];
  for (const [name, listener] of Object.entries(listeners) as [string, Untyped | undefined][]) {
    if (listener === undefined) continue;
    const wrapped: Untyped =
      onError === undefined
        ? listener
        : (...args) => {
            try {
              listener(...args);
            } catch (err) {
              onError(err, name);
            }
          };
    target.on(name, wrapped);
    added.push([name, wrapped]);
  }
  return () => {
    for (const [name, listener] of added.splice(0)) target.off(name, listener);
  };
}
