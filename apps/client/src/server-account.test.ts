import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY } from './backoff.js';
import { ObjectTree } from './object-tree.js';
import { securityObject } from './objects/security.js';
import { serverObject } from './objects/server.js';
import {
  readSecuritySettings,
  readServerSettings,
  ServerAccountNotFoundError,
} from './server-account.js';

function tree() {
  const t = new ObjectTree();
  t.add(
    securityObject([
      { serverUri: 'coaps://bs.example:5784', bootstrapServer: true },
      {
        serverUri: 'coaps://lwm2m.example:5684',
        shortServerId: 7,
        pskIdentity: 'dev-7',
        pskKey: '0a0b0c',
      },
      { serverUri: 'coap://other.example', shortServerId: 8 },
    ]),
  );
  const server = serverObject([
    { shortServerId: 7, lifetime: 120, binding: 'UQ', defaultMinPeriod: 5 },
    { shortServerId: 8 },
  ]);
  t.add(server);
  return { t, server };
}

const defaults = { lifetime: 300, binding: 'U' };

describe('server account', () => {
  it('reads the Security instance of a short server id, skipping the bootstrap account', async () => {
    const { t } = tree();
    const s7 = await readSecuritySettings(t, 7);
    expect(s7).toMatchObject({ instanceId: 1, uri: 'coaps://lwm2m.example:5684', mode: 0 });
    expect(s7.psk?.identity).toBe('dev-7');
    expect([...s7.psk!.key]).toEqual([10, 11, 12]);
    const s8 = await readSecuritySettings(t, 8);
    expect(s8).toEqual({ instanceId: 2, uri: 'coap://other.example', mode: 3 });
    await expect(readSecuritySettings(t, 9)).rejects.toBeInstanceOf(ServerAccountNotFoundError);
  });

  it('reads lifetime, binding and default periods, with the client defaults elsewhere', async () => {
    const { t } = tree();
    const s = await readServerSettings(t, 7, defaults);
    expect(s).toMatchObject({
      shortServerId: 7,
      serverInstanceId: 0,
      lifetime: 120,
      binding: 'UQ',
      muteSend: false,
      bootstrapOnRegistrationFailure: true,
      defaultMinPeriod: 5,
      defaultMaxPeriod: undefined,
    });
    expect(s.retryPolicy).toEqual(DEFAULT_RETRY_POLICY);
    await expect(readServerSettings(t, 9, defaults)).rejects.toThrow(/Short Server ID 9/);
  });

  it('takes the retry policy from /1/x/17–20 when set, in seconds, without the cap', async () => {
    const { t, server } = tree();
    server.setMany(0, { 17: 3, 18: 10, 19: 600, 20: 2, 23: true });
    const s = await readServerSettings(t, 7, defaults);
    expect(s.retryPolicy).toEqual({
      ...DEFAULT_RETRY_POLICY,
      retryCount: 3,
      retryTimer: 10_000,
      sequenceDelay: 600_000,
      sequenceRetryCount: 2,
      maxDelay: Number.POSITIVE_INFINITY,
    });
    expect(s.muteSend).toBe(true);
  });
});
