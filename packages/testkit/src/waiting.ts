/** Something with `on`/`off` listeners: an EventEmitter, a typed one, a server or client. */
export interface EventSource {
  // biome-ignore lint/suspicious/noExplicitAny: any emitter's listener signature fits
  on(name: any, listener: (...args: any[]) => void): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: as on
  off(name: any, listener: (...args: any[]) => void): unknown;
}

/**
 * The arguments of the next `name` event of `source` that `filter` accepts, or a rejection after
 * `ms` (`no <name> event within <ms> ms`). The listener is removed either way.
 */
export function nextEmitted<A extends unknown[] = unknown[]>(
  source: EventSource,
  name: string | symbol,
  ms = 5000,
  filter: (...args: A) => boolean = () => true,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const listener = (...args: A) => {
      if (!filter(...args)) return;
      clearTimeout(timer);
      source.off(name, listener);
      resolve(args);
    };
    const timer = setTimeout(() => {
      source.off(name, listener);
      reject(new Error(`no ${String(name)} event within ${ms} ms`));
    }, ms);
    source.on(name, listener);
  });
}

/** Rejects after `ms` with a message naming `what`, so a hung peer fails the test, not the run. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
