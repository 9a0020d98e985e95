/**
 * The server's web page with a big fleet, in Chromium: 1,500 registrations made with raw CoAP
 * Register datagrams (one UDP socket, no CoAP stack: the server does the real work), so the list
 * is searched, sorted and paged by the server (`GET /api/clients?limit=&offset=&q=&sort=`).
 * Paging, search and sort in the page; devices coming and going while the page is open update
 * the count and the rows shown without ever asking for the whole fleet.
 */
import dgram from 'node:dgram';
import type { LwM2mServer } from '@lwm2m-ts/server';
import {
  CoapOptionNumber,
  decodeCoapMessage,
  encodeCoapMessage,
  uriPathOptions,
} from '@lwm2m-ts/testkit';
import type { BrowserContext, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  browserContext,
  CHROMIUM,
  type Closers,
  closeAll,
  poll,
  shot,
  startWebServer,
  unlabelled,
  watchConsole,
} from './web-helpers.js';

const FLEET = 1500;
const name = (i: number) => `fleet-${String(i).padStart(4, '0')}`;

/**
 * Devices as raw datagrams from one socket: confirmable Register / De-register requests, at most
 * `window` waiting for their answer, each sent again when none came within a second.
 */
class RawFleet {
  readonly #socket = dgram.createSocket('udp4');
  readonly #waiting = new Map<number, (reply: ReturnType<typeof decodeCoapMessage>) => void>();
  readonly #locations = new Map<string, string>();
  #mid = 1;

  constructor(private readonly port: number) {
    this.#socket.on('message', (msg) => {
      try {
        const reply = decodeCoapMessage(new Uint8Array(msg));
        this.#waiting.get(reply.messageId)?.(reply);
      } catch {
        // not for us
      }
    });
  }

  async open(): Promise<void> {
    await new Promise<void>((resolve) => this.#socket.bind(0, '127.0.0.1', resolve));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }

  #exchange(spec: Parameters<typeof encodeCoapMessage>[0]): Promise<string> {
    const messageId = this.#mid++ & 0xffff;
    const bytes = encodeCoapMessage({
      ...spec,
      type: 'CON',
      messageId,
      token: Uint8Array.of(messageId >> 8, messageId & 0xff),
    });
    return new Promise((resolve, reject) => {
      let tries = 0;
      const send = () => {
        if (++tries > 5) {
          this.#waiting.delete(messageId);
          reject(new Error(`no answer to message ${messageId}`));
          return;
        }
        this.#socket.send(bytes, this.port, '127.0.0.1');
        timer = setTimeout(send, 1000);
      };
      let timer: ReturnType<typeof setTimeout>;
      this.#waiting.set(messageId, (reply) => {
        clearTimeout(timer);
        this.#waiting.delete(messageId);
        const location = reply.options
          .filter((o) => o.number === CoapOptionNumber.LocationPath)
          .map((o) => new TextDecoder().decode(o.value));
        resolve(`${reply.code} ${location.join('/')}`);
      });
      send();
    });
  }

  /** Registers every endpoint (LwM2M 1.1, objects 1 and 3), `window` at a time. */
  async register(endpoints: readonly string[], window = 64): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < endpoints.length) {
        const ep = endpoints[next++]!;
        const answer = await this.#exchange({
          code: '0.02',
          options: [
            ...uriPathOptions('/rd'),
            { number: CoapOptionNumber.ContentFormat, value: 40 },
            ...[`ep=${ep}`, 'lt=600', 'lwm2m=1.1', 'b=U'].map((value) => ({
              number: CoapOptionNumber.UriQuery,
              value,
            })),
          ],
          payload: '</1/0>,</3/0>',
        });
        expect(answer, ep).toMatch(/^2\.01 rd\//);
        this.#locations.set(ep, answer.slice(5));
      }
    };
    await Promise.all(Array.from({ length: window }, worker));
  }

  async deregister(ep: string): Promise<void> {
    const location = this.#locations.get(ep);
    if (location === undefined) throw new Error(`${ep} is not registered here`);
    const answer = await this.#exchange({ code: '0.04', options: uriPathOptions(location) });
    expect(answer).toMatch(/^2\.02/);
  }
}

describe.skipIf(!CHROMIUM)('the web page with 1,500 devices', () => {
  const open: Closers = [];
  let server: LwM2mServer;
  let fleet: RawFleet;
  let base: string;
  let context: BrowserContext;

  beforeAll(async () => {
    ({ server, base } = await startWebServer(open));
    fleet = new RawFleet(server.addresses().coap!.port);
    await fleet.open();
    open.push(fleet);
    context = await browserContext(open);
  }, 60_000);

  afterAll(() => closeAll(open));

  it('pages, searches and sorts on the server; live changes reload only the page', async () => {
    const started = Date.now();
    await fleet.register(Array.from({ length: FLEET }, (_, i) => name(i)));
    expect((await server.listRegistrations()).length).toBe(FLEET);
    const registerMs = Date.now() - started;

    const page = await context.newPage();
    const errors = watchConsole(page);
    const listCalls: string[] = [];
    page.on('request', (r: Request) => {
      const url = new URL(r.url());
      if (url.pathname === '/api/clients') listCalls.push(url.search);
    });
    await page.goto(`${base}/`);
    await page.getByRole('heading', { level: 1, name: 'Devices' }).waitFor();
    const rows = page.locator('table.devices tbody tr');
    const pager = page.getByRole('navigation', { name: 'Pages of the device list', exact: true });
    const counts = page.locator('.counts');

    // One page of 100, the total, next and previous.
    await poll(() => counts.textContent()).toBe('1,500 registered');
    await poll(() => pager.textContent()).toContain('1–100 of 1,500');
    expect(await rows.count()).toBe(100);
    expect(await rows.first().getAttribute('data-endpoint')).toBe('fleet-0000');
    expect(await pager.getByRole('button', { name: /Previous/ }).isDisabled()).toBe(true);
    expect(await unlabelled(page)).toEqual([]);
    await page.locator('.live-live').waitFor();
    await shot(page, 'fleet-list');

    await pager.getByRole('button', { name: /Next/ }).click();
    await poll(() => pager.textContent()).toContain('101–200 of 1,500');
    await poll(() => rows.first().getAttribute('data-endpoint')).toBe('fleet-0100');
    expect(await rows.count()).toBe(100);
    // The pager under the table goes on and back to the top.
    const bottom = page.getByRole('navigation', { name: 'Pages of the device list, at its end' });
    await bottom.scrollIntoViewIfNeeded();
    await bottom.getByRole('button', { name: /Next/ }).click();
    await poll(() => rows.first().getAttribute('data-endpoint')).toBe('fleet-0200');
    expect(await pager.textContent()).toContain('201–300 of 1,500');
    expect(await page.evaluate('window.scrollY')).toBe(0);
    await pager.getByRole('button', { name: /Previous/ }).click();
    await poll(() => rows.first().getAttribute('data-endpoint')).toBe('fleet-0100');
    await pager.getByRole('button', { name: /Previous/ }).click();
    await poll(() => rows.first().getAttribute('data-endpoint')).toBe('fleet-0000');

    // Search by the server: ten endpoints contain "fleet-012"; no pager for one page.
    await page.getByLabel('Search').fill('FLEET-012');
    await poll(() => counts.textContent()).toBe('1,500 registered · 10 match “FLEET-012”');
    await poll(() => rows.count()).toBe(10);
    expect(await rows.first().getAttribute('data-endpoint')).toBe('fleet-0120');
    expect(await pager.count()).toBe(0);
    await shot(page, 'fleet-search');
    await page.getByLabel('Search').fill('no-such-device');
    await page.getByText('No device matches “no-such-device”.').waitFor();
    await page.getByLabel('Search').fill('');
    await poll(() => pager.textContent()).toContain('1–100 of 1,500');

    // Sort by the server: endpoint descending, then back.
    await page.getByRole('button', { name: /^Endpoint/ }).click();
    await poll(() => rows.first().getAttribute('data-endpoint')).toBe('fleet-1499');
    expect(await page.locator('th[aria-sort="descending"]').textContent()).toContain('Endpoint');
    await page.getByRole('button', { name: /^Endpoint/ }).click();
    await poll(() => rows.first().getAttribute('data-endpoint')).toBe('fleet-0000');

    // Devices come and go with the page open: a shown row leaves at once (its event), the count
    // follows after a pause (one request for the page, not one per event, never the fleet).
    const before = listCalls.length;
    await fleet.deregister('fleet-0005');
    await poll(() => page.locator('tr[data-endpoint="fleet-0005"]').count()).toBe(0);
    await fleet.register(Array.from({ length: 50 }, (_, i) => name(FLEET + i)));
    await poll(() => counts.textContent()).toBe('1,549 registered');
    await poll(() => pager.textContent()).toContain('1–100 of 1,549');
    expect(await rows.count()).toBe(100);
    const during = listCalls.slice(before);
    expect(during.length).toBeGreaterThan(0);
    expect(during.length).toBeLessThan(6);
    // Every call of the page asked for a page (or the count), never for the whole list.
    expect(listCalls.filter((q) => !/[?&]limit=/.test(q))).toEqual([]);

    // A device of the list: its page knows it is registered.
    await page.getByRole('link', { name: 'fleet-0003', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'fleet-0003' }).waitFor();
    await page.locator('.reg-info').getByText('1.1').first().waitFor();
    expect(await page.getByText('The device is not registered now.').count()).toBe(0);
    // And one opened by its address, not on the page shown.
    await page.goto(`${base}/clients/${name(1234)}`);
    await page.getByRole('heading', { level: 1, name: name(1234) }).waitFor();
    await page.locator('.page-head .badge', { hasText: 'online' }).waitFor();
    expect(await page.getByText('The device is not registered now.').count()).toBe(0);

    expect(errors).toEqual([]);
    await page.close();
    // Registering 1,500 devices is a small part of the test's time.
    expect(registerMs).toBeLessThan(15_000);
  }, 60_000);
});
