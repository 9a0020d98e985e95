import { describe, expect, it } from 'vitest';
import { InvalidServerUriError, parseServerUri, Transport } from './transport.js';

describe('parseServerUri', () => {
  it('reads scheme, host and port, with the default ports', () => {
    expect(parseServerUri('coap://127.0.0.1:5683')).toEqual({
      scheme: 'coap',
      host: '127.0.0.1',
      port: 5683,
    });
    expect(parseServerUri('coap://lwm2m.example.com')).toEqual({
      scheme: 'coap',
      host: 'lwm2m.example.com',
      port: 5683,
    });
    expect(parseServerUri('coaps://[::1]')).toEqual({ scheme: 'coaps', host: '::1', port: 5684 });
    expect(parseServerUri('coaps://h:15684/')).toEqual({ scheme: 'coaps', host: 'h', port: 15684 });
  });

  it.each([
    'http://h',
    'coap:/h',
    'h:5683',
    'coap://h/rd',
    'coap://h?x=1',
    'coap://u:p@h',
    'coap://h:0',
    'coap://h:99999',
  ])('refuses %s', (uri) => {
    expect(() => parseServerUri(uri)).toThrow(InvalidServerUriError);
  });

  it('refuses coaps:// without a PSK', () => {
    expect(() => new Transport({ uri: 'coaps://127.0.0.1' })).toThrow(/PSK/);
  });

  it('binds where told and closes, also when never opened', async () => {
    const t = new Transport({ uri: 'coap://127.0.0.1:5683', local: { address: '127.0.0.1' } });
    const a = await t.open();
    expect(a.address).toBe('127.0.0.1');
    expect(a.port).toBeGreaterThan(0);
    await t.close();
    await t.close();
    const never = new Transport({ uri: 'coap://127.0.0.1:5683' });
    await never.close();
  });
});
