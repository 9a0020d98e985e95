/**
 * Test helpers (not built) for concurrent tests (`describe.concurrent`): test-util's afterEach,
 * and vitest's global onTestFinished, cannot tell concurrent tests apart, so these register
 * cleanup on the test's own context.
 */
import type { TestContext } from 'vitest';
import { CoapEndpoint, type EndpointOptions } from './index.js';

export type Scope = Pick<TestContext, 'onTestFinished'>;

/** A listening endpoint on loopback, closed when the test `t` finishes. */
export async function scopedEndpoint(
  t: Scope,
  options: EndpointOptions = {},
): Promise<CoapEndpoint> {
  const ep = new CoapEndpoint({
    address: options.type === 'udp6' ? '::1' : '127.0.0.1',
    ...options,
  });
  t.onTestFinished(() => ep.close());
  await ep.listen();
  return ep;
}
