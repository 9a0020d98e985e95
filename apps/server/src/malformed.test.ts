/**
 * Bad input on the CoAP side: malformed datagrams, random bytes and mutated registration requests
 * sent at the server while a real device registers and is read. The server must drop or refuse
 * each one, keep what it stores intact and go on serving.
 */
import { createSocket } from 'node:dgram';
import {
  CoapOptionNumber,
  encodeCoapMessage,
  malformedDatagrams,
  mutateDatagram,
  randomDatagrams,
} from '@lwm2m-ts/testkit';
import { afterEach, expect, it } from 'vitest';
import { LwM2mServer } from './server.js';
import { TestDevice } from './test-device.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

function registerRequest(messageId: number): Uint8Array {
  return encodeCoapMessage({
    code: '0.02',
    messageId,
    token: Uint8Array.of(1, 2, 3, 4),
    options: [
      { number: CoapOptionNumber.UriPath, value: 'rd' },
      { number: CoapOptionNumber.ContentFormat, value: 40 },
      { number: CoapOptionNumber.UriQuery, value: 'ep=fuzz' },
      { number: CoapOptionNumber.UriQuery, value: 'lt=300' },
      { number: CoapOptionNumber.UriQuery, value: 'lwm2m=1.1' },
    ],
    payload: '</>;rt="oma.lwm2m";ct=110,</1/0>,</3/0>,</3303/0>;ver=1.1',
  });
}

it('survives malformed, random and mutated datagrams while a device registers and is read', async () => {
  const server = new LwM2mServer({ coap: { address: '127.0.0.1', port: 0 }, dtls: false });
  open.push(server);
  await server.start();
  const { port } = server.addresses().coap!;
  const device = await TestDevice.start();
  open.push(device);
  expect((await device.register({ port }, ['ep=good', 'lwm2m=1.1'])).code).toBe('2.01');

  const attacker = createSocket('udp4');
  open.push({ close: () => new Promise<void>((r) => attacker.close(() => r())) });
  await new Promise<void>((r) => attacker.bind(0, '127.0.0.1', () => r()));
  const datagrams = [
    ...malformedDatagrams().map((c) => c.bytes),
    ...randomDatagrams(7, 300),
    ...Array.from({ length: 300 }, (_, i) => mutateDatagram(registerRequest(i), i + 1)),
  ];
  let coapErrors = 0;
  server.on('coapError', () => coapErrors++);
  // Interleave the garbage with real work.
  const reads: Promise<unknown>[] = [];
  for (let i = 0; i < datagrams.length; i++) {
    attacker.send(datagrams[i]!, port, '127.0.0.1');
    if (i % 100 === 0) reads.push(server.read('good', '/3/0/0'));
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  for (const r of await Promise.all(reads)) {
    expect(r).toMatchObject({ ok: true, content: { value: 'ACME' } });
  }
  // The good registration is intact; the server still registers and answers.
  expect((await server.getRegistration('good'))?.port).toBe(device.port);
  expect((await device.update({ port })).code).toBe('2.04');
  const late = await TestDevice.start();
  open.push(late);
  expect((await late.register({ port }, ['ep=late'])).code).toBe('2.01');
  // Well-formed but bad requests among the mutations were refused with a reason.
  expect(coapErrors).toBeGreaterThan(0);
});
