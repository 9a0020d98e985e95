/**
 * Run by close.test.ts in a child process: uses an endpoint in every way that starts timers,
 * closes it, and prints when it did. The process must then exit by itself.
 */
import dgram from 'node:dgram';
import { CoapEndpoint } from './index.js';

const silent = dgram.createSocket('udp4');
await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
const silentPort = silent.address().port;
silent.close();

const server = new CoapEndpoint({
  address: '127.0.0.1',
  handler: async (req, ctx) => {
    const obs = ctx.observe();
    if (obs) {
      setTimeout(
        () => obs.notify({ code: '2.05', payload: Buffer.from('n') }, { confirmable: true }),
        5,
      );
      return { code: '2.05', payload: Buffer.from('first') };
    }
    if (req.path[0] === 'slow') await new Promise((r) => setTimeout(r, 300));
    return { code: '2.05', payload: Buffer.alloc(3000, 1) };
  },
});
const client = new CoapEndpoint({ address: '127.0.0.1', blockSize: 64 });
const { port } = await server.listen();
await client.listen();
const to = { address: '127.0.0.1', port };
await client.request(to, { method: 'GET', path: '/big' }); // Block2, node-coap caches
await client.request(to, { method: 'PUT', path: '/up', payload: Buffer.alloc(500, 2) }); // Block1
const obs = await client.observe(to, { method: 'GET', path: '/o' });
await new Promise((r) => setTimeout(r, 30));
const pending = [
  client.request(to, { method: 'GET', path: '/slow' }).catch(() => 'closed'),
  client
    .request({ address: '127.0.0.1', port: silentPort }, { method: 'GET' })
    .catch(() => 'closed'),
];
await new Promise((r) => setTimeout(r, 20));
await Promise.all([server.close(), client.close()]);
await Promise.all(pending);
void obs;
process.stdout.write(`closed ${Date.now()}\n`);
