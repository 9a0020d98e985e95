/**
 * Run by dtls-client-close.test.ts in a child process: uses DtlsClientSocket in every way that
 * opens sockets or starts timers — a session with a reconnection, a handshake refused for a wrong
 * key, one timed out against a silent port, one closed half-way — closes what it opened and
 * prints when it did. The failed clients are deliberately not closed. The process must then exit
 * by itself.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { DtlsClientSocket, type DtlsClientSocketOptions } from './dtls-client-socket.js';
import { DtlsServerSocket } from './dtls-server-socket.js';

const key = Buffer.from('secretkey');
const server = new DtlsServerSocket({
  type: 'udp4',
  psk: (id) => (id === 'dev1' ? key : undefined),
});
server.on('message', (msg, rinfo) => server.send(msg, rinfo.port, rinfo.address));
server.bind(0, '127.0.0.1');
await once(server, 'listening');
const port = server.address().port;

const silent = dgram.createSocket('udp4');
await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
const silentPort = silent.address().port;

function client(options: Partial<DtlsClientSocketOptions> = {}): DtlsClientSocket {
  return new DtlsClientSocket({
    type: 'udp4',
    address: '127.0.0.1',
    port,
    psk: { identity: 'dev1', key },
    ...options,
  });
}
const failure = (c: DtlsClientSocket) => new Promise<Error>((r) => c.once('error', r));
const reply = (c: DtlsClientSocket) =>
  new Promise<string>((r) => c.once('message', (m) => r(`${m}`)));

// A session, a reconnection, and traffic on both.
const c = client();
c.bind(0, '127.0.0.1');
let got = reply(c);
c.send('one');
if ((await got) !== 'one') throw new Error('no echo');
c.reconnect();
got = reply(c);
c.send('two');
if ((await got) !== 'two') throw new Error('no echo after reconnect');

// A wrong key, a silent server, and a close() half-way through a handshake.
const wrong = client({ psk: { identity: 'dev1', key: Buffer.from('wrong') } });
const refused = failure(wrong);
wrong.send('x', () => {});
const mute = client({ port: silentPort, handshakeTimeoutMs: 300 });
const timedOut = failure(mute);
mute.connect();
const halfway = client({ port: silentPort });
halfway.connect();
await new Promise((r) => setTimeout(r, 20));
halfway.close();
const errors = await Promise.all([refused, timedOut]);
if (errors.some((e) => !(e instanceof Error))) throw new Error('expected errors');

await Promise.all([
  new Promise((r) => c.close(() => r(undefined))),
  new Promise((r) => server.close(() => r(undefined))),
  new Promise((r) => silent.close(() => r(undefined))),
]);
process.stdout.write(`closed ${Date.now()} ${errors.map((e) => e.constructor.name).join(',')}\n`);
