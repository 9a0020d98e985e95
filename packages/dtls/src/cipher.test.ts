import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CipherSuite,
  type CipherSuiteName,
  cipherSuiteName,
  deriveClientEpochKeys,
  deriveEpochKeys,
} from './cipher.js';
import { ContentType, DTLS_1_2 } from './constants.js';

const master = Buffer.alloc(48, 7);
const clientRandom = Buffer.alloc(32, 1);
const serverRandom = Buffer.alloc(32, 2);
const ALL = Object.keys(CipherSuite) as CipherSuiteName[];

function pair(name: CipherSuiteName) {
  const id = CipherSuite[name];
  return {
    server: deriveEpochKeys(id, master, clientRandom, serverRandom),
    client: deriveClientEpochKeys(id, master, clientRandom, serverRandom),
  };
}

describe('AES-128-CCM with an 8-byte tag (node:crypto)', () => {
  it('matches RFC 3610 packet vector #1', () => {
    const key = Buffer.from('c0c1c2c3c4c5c6c7c8c9cacbcccdcecf', 'hex');
    const nonce = Buffer.from('00000003020100a0a1a2a3a4a5', 'hex');
    const aad = Buffer.from('0001020304050607', 'hex');
    const pt = Buffer.from('08090a0b0c0d0e0f101112131415161718191a1b1c1d1e', 'hex');
    const c = createCipheriv('aes-128-ccm', key, nonce, { authTagLength: 8 });
    c.setAAD(aad, { plaintextLength: pt.length });
    const out = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
    expect(out.toString('hex')).toBe(
      '588c979a61c663d2f066d0c2c0f989806d5f6b61dac38417e8d12cfdf926e0',
    );
  });
});

describe.each(ALL)('%s record protection', (name) => {
  it('round-trips client → server and server → client, empty and 16 KiB records too', () => {
    const { server, client } = pair(name);
    for (const size of [0, 1, 15, 16, 17, 100, 1024, 2 ** 14]) {
      const pt = Buffer.alloc(size, size & 0xff);
      const up = client.write.seal(ContentType.APPLICATION_DATA, DTLS_1_2, 1, size, pt);
      expect(server.read.open(ContentType.APPLICATION_DATA, DTLS_1_2, 1, size, up)).toEqual(pt);
      const down = server.write.seal(ContentType.APPLICATION_DATA, DTLS_1_2, 1, size, pt);
      expect(client.read.open(ContentType.APPLICATION_DATA, DTLS_1_2, 1, size, down)).toEqual(pt);
      expect(up.length - pt.length).toBeLessThanOrEqual(server.read.maxOverhead);
    }
  });

  it('detects tampering with any byte, the header fields or the sequence number', () => {
    const { server, client } = pair(name);
    const pt = Buffer.from('GET /x: some CoAP bytes');
    const sealed = client.write.seal(ContentType.APPLICATION_DATA, DTLS_1_2, 1, 42, pt);
    for (let i = 0; i < sealed.length; i++) {
      const t = Buffer.from(sealed);
      t[i]! ^= 0x01;
      expect(server.read.open(ContentType.APPLICATION_DATA, DTLS_1_2, 1, 42, t)).toBeUndefined();
    }
    expect(server.read.open(ContentType.HANDSHAKE, DTLS_1_2, 1, 42, sealed)).toBeUndefined();
    expect(server.read.open(ContentType.APPLICATION_DATA, DTLS_1_2, 2, 42, sealed)).toBeUndefined();
    expect(server.read.open(ContentType.APPLICATION_DATA, 0xfeff, 1, 42, sealed)).toBeUndefined();
    // The sequence number is authenticated (AEAD: additional data; CBC: the MAC input).
    expect(server.read.open(ContentType.APPLICATION_DATA, DTLS_1_2, 1, 43, sealed)).toBeUndefined();
    // The direction matters: the server does not accept its own records.
    const own = server.write.seal(ContentType.APPLICATION_DATA, DTLS_1_2, 1, 42, pt);
    expect(server.read.open(ContentType.APPLICATION_DATA, DTLS_1_2, 1, 42, own)).toBeUndefined();
  });

  it('rejects truncated fragments and random bytes without throwing', () => {
    const { server, client } = pair(name);
    const sealed = client.write.seal(
      ContentType.APPLICATION_DATA,
      DTLS_1_2,
      1,
      1,
      Buffer.alloc(40),
    );
    for (let n = 0; n < sealed.length; n++) {
      expect(
        server.read.open(ContentType.APPLICATION_DATA, DTLS_1_2, 1, 1, sealed.subarray(0, n)),
      ).toBeUndefined();
    }
    for (let i = 0; i < 300; i++) {
      const junk = Buffer.from(Array.from({ length: i }, () => Math.floor(Math.random() * 256)));
      expect(server.read.open(ContentType.APPLICATION_DATA, DTLS_1_2, 1, 1, junk)).toBeUndefined();
    }
  });
});

describe('CCM_8 record layout (RFC 6655 §3)', () => {
  it('is 8-byte explicit nonce (epoch + sequence) + ciphertext + 8-byte tag', () => {
    const { client } = pair('TLS_PSK_WITH_AES_128_CCM_8');
    const sealed = client.write.seal(
      ContentType.APPLICATION_DATA,
      DTLS_1_2,
      1,
      0x0102030405,
      Buffer.alloc(10),
    );
    expect(sealed.length).toBe(8 + 10 + 8);
    expect(sealed.subarray(0, 8).toString('hex')).toBe('0001000102030405');
  });
});

describe('cipherSuiteName', () => {
  it('names the four suites and nothing else', () => {
    expect(cipherSuiteName(0xc0a8)).toBe('TLS_PSK_WITH_AES_128_CCM_8');
    expect(cipherSuiteName(0x00ae)).toBe('TLS_PSK_WITH_AES_128_CBC_SHA256');
    expect(cipherSuiteName(0x00a8)).toBe('TLS_PSK_WITH_AES_128_GCM_SHA256');
    expect(cipherSuiteName(0xc0a4)).toBe('TLS_PSK_WITH_AES_128_CCM');
    expect(cipherSuiteName(0x002f)).toBeUndefined();
  });
});
