/**
 * Per-registration state beside the stored record is made only when needed: a server holding
 * 100,000 registrations that only register and update must not pay for models, refused-format
 * sets and observation maps of each (issue 11: ≤ 2 KB of heap per registration).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

const calls = vi.hoisted(() => ({ models: 0 }));
vi.mock('./client-models.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('./client-models.js')>();
  return {
    ...actual,
    modelsForRegistration: (...args: Parameters<typeof actual.modelsForRegistration>) => {
      calls.models++;
      return actual.modelsForRegistration(...args);
    },
  };
});

const { LwM2mServer } = await import('./server.js');
const { TestDevice } = await import('./test-device.js');

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

describe('per-registration state', () => {
  it('is made at the first request, once, not at Register or Update', async () => {
    const server = new LwM2mServer({
      coap: { address: '127.0.0.1', port: 0 },
      dtls: false,
      requestTimeout: 3000,
    });
    open.push(server);
    await server.start();
    const coap = server.addresses().coap!;
    const devices = [];
    for (let i = 0; i < 3; i++) {
      const d = await TestDevice.start();
      open.push(d);
      expect((await d.register(coap, [`ep=lazy-${i}`, 'lt=120', 'lwm2m=1.1'])).code).toBe('2.01');
      devices.push(d);
    }
    expect((await devices[0]!.update(coap, ['lt=300'])).code).toBe('2.04');
    expect(calls.models).toBe(0);
    expect(server.stats()).toMatchObject({ registrations: 3, observations: 0, queuedRequests: 0 });

    const first = await server.read('lazy-0', '/3/0/0');
    expect(first).toMatchObject({ ok: true });
    expect(calls.models).toBe(1);
    await server.read('lazy-0', '/3/0/1');
    expect(calls.models).toBe(1); // kept for the registration

    // An Update keeps what was made (same object versions), and the next read still works.
    expect((await devices[0]!.update(coap, ['lt=400'])).code).toBe('2.04');
    expect(await server.read('lazy-0', '/3/0/0')).toMatchObject({ ok: true });
    expect(calls.models).toBe(1);
    expect(server.stats().registrations).toBe(3);

    // Observing makes the observation map; stats count it.
    await server.observe('lazy-1', '/3/0/9');
    expect(server.stats().observations).toBe(1);
  });
});
