import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  coapClient,
  type LibcoapServer,
  type LibcoapVariant,
  libcoapOrSkip,
  startLibcoapServer,
} from './libcoap.js';
import { findPeerBinary } from './peer-binary.js';
import { liveProcesses, stopAll } from './processes.js';

afterAll(async () => {
  await stopAll();
  expect(liveProcesses()).toHaveLength(0);
});

const DTLS: LibcoapVariant[] = ['openssl', 'gnutls'];

describe.each(DTLS)('libcoap DTLS PSK (%s server)', (variant) => {
  const peers = libcoapOrSkip(variant);
  // The other DTLS build as a second client, when it is there too.
  const other = DTLS.find((v) => v !== variant)!;
  const otherClient = findPeerBinary(`coap-client-${other}`);
  const psk = { identity: 'dev-1', key: 'secret-key-1' };
  let server: LibcoapServer;

  beforeAll(async () => {
    if (!peers) return;
    server = await startLibcoapServer({ variant, psk, verbosity: 4 });
  });
  afterAll(() => server?.stop());

  it.skipIf(!peers)('serves DTLS on port + 1 to the right identity and key only', async () => {
    expect(server.secureUri).toBe(`coaps://127.0.0.1:${server.port + 1}`);
    const bad = { timeoutSec: 1 };
    const [ok, cross, plain, wrongKey, wrongIdentity, dtlsOnP] = await Promise.all([
      coapClient({ variant, uri: `${server.secureUri}/time`, psk }),
      otherClient
        ? coapClient({ variant: other, uri: `${server.secureUri}/`, psk })
        : Promise.resolve(undefined),
      coapClient({ uri: `${server.uri}/time` }),
      coapClient({ variant, uri: `${server.secureUri}/`, psk: { ...psk, key: 'wrong' }, ...bad }),
      coapClient({
        variant,
        uri: `${server.secureUri}/`,
        psk: { ...psk, identity: 'dev-2' },
        ...bad,
      }),
      coapClient({ variant, uri: `coaps://127.0.0.1:${server.port}/`, psk, ...bad }),
    ]);
    expect(ok.responseCode).toBe('2.05');
    expect(ok.text).toMatch(/\d\d:\d\d:\d\d/);
    if (cross) expect(cross.responseCode).toBe('2.05');
    expect(plain.responseCode).toBe('2.05');
    expect(wrongKey.responseCode).toBeUndefined();
    expect(wrongIdentity.responseCode).toBeUndefined();
    expect(dtlsOnP.responseCode).toBeUndefined();
  });

  it.skipIf(!peers)('accepts any identity when the server has only a key', async () => {
    const open = await startLibcoapServer({ variant, psk: { key: 'k2', hint: '' } });
    try {
      const r = await coapClient({
        variant,
        uri: `${open.secureUri}/`,
        psk: { identity: 'anyone', key: 'k2' },
      });
      expect(r.responseCode).toBe('2.05');
    } finally {
      await open.stop();
    }
  });
});
