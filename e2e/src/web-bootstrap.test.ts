/**
 * The bootstrap server's web page in a real browser (Debian's Chromium, playwright-core) against
 * a real BootstrapServer with its REST API, a real LwM2mServer and our clients. A person's path:
 * add a configuration in the form, see it listed; a device bootstraps and the live panel shows
 * the session finish while the device registers at the LwM2M server; edit it; bad values are
 * refused in words (by the form, and by the server next to the field it names); delete it. Also
 * a DTLS-PSK device set up entirely from the form, and the token prompt. No console errors;
 * labels and keyboard focus; screenshots (wide and narrow) to look at.
 */
import { BootstrapServer, createRestApi } from '@lwm2m-ts/bootstrap';
import { LwM2mClient, type LwM2mClientOptions } from '@lwm2m-ts/client';
import { LwM2mServer, type ServerEvents } from '@lwm2m-ts/server';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  browserContext,
  CHROMIUM,
  type Closers,
  closeAll,
  listenLocal,
  openPage,
  openWithToken,
  poll,
  shot,
  tabThrough,
  unlabelled,
} from './web-helpers.js';

const EP = 'web-bs-dev-1';
const PSK_EP = 'web-bs-psk';
const BS_KEY = 'a1b2c3d4e5f60718';
const DM_KEY = '000102030405060708090a0b0c0d0e0f';

/** The browser's own notes of an answer the test provoked (e.g. "400 /api/bootstrap/x"). */
function besides(errors: readonly string[], status: number): string[] {
  const note = new RegExp(`Failed to load resource.*${status}|response: ${status} /api/`);
  return errors.filter((e) => !note.test(e));
}

describe.skipIf(!CHROMIUM)('the bootstrap server’s web page in Chromium', () => {
  const open: Closers = [];
  let server: LwM2mServer;
  let bs: BootstrapServer;
  let base: string;
  let context: BrowserContext;

  beforeAll(async () => {
    server = new LwM2mServer({
      coap: { address: '127.0.0.1', port: 0 },
      dtls: { address: '127.0.0.1', port: 0 },
      requestTimeout: 5000,
    });
    bs = new BootstrapServer({
      coap: { address: '127.0.0.1', port: 0 },
      dtls: { address: '127.0.0.1', port: 0 },
      stepTimeout: 5000,
    });
    open.push(server, bs);
    await Promise.all([server.start(), bs.start()]);
    const app = createRestApi(bs, { sseHeartbeatMs: 5000 });
    open.push(app);
    base = await listenLocal(app);
    context = await browserContext(open);
  }, 60_000);

  // Clients first (they de-register while the servers listen), then the browser, the HTTP API,
  // the servers.
  afterAll(() => closeAll(open));

  function registered(ep: string, timeoutMs = 20_000) {
    return new Promise<ServerEvents['registered'][0]>((resolve, reject) => {
      const timer = setTimeout(() => {
        server.off('registered', on);
        reject(new Error(`${ep} did not register in ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (e: ServerEvents['registered'][0]) => {
        if (e.registration.endpoint !== ep) return;
        clearTimeout(timer);
        server.off('registered', on);
        resolve(e);
      };
      server.on('registered', on);
    });
  }

  function client(options: LwM2mClientOptions): LwM2mClient {
    const c = new LwM2mClient({
      local: { address: '127.0.0.1' },
      requestTimeout: 5000,
      ...options,
    });
    open.push(c);
    return c;
  }

  const bsUri = (scheme: 'coap' | 'coaps') =>
    `${scheme}://127.0.0.1:${bs.addresses()[scheme === 'coap' ? 'coap' : 'dtls']!.port}`;
  const dmUri = (scheme: 'coap' | 'coaps') =>
    `${scheme}://127.0.0.1:${server.addresses()[scheme === 'coap' ? 'coap' : 'dtls']!.port}`;
  const retry = { retryCount: 2, retryTimer: 200, sequenceRetryCount: 1, jitter: 0 };

  const card = (page: Page, n: number) =>
    page.getByRole('group', { name: `DM server ${n}`, exact: true });

  it('adds, lists, watches a bootstrap, edits, refuses bad values in words and deletes', async () => {
    // The list, empty at first, with the live panel connected.
    const { page, errors } = await openPage(context, `${base}/`);
    await page.getByRole('heading', { level: 1, name: 'Bootstrap configurations' }).waitFor();
    await page.getByText('No configuration yet').waitFor();
    await page.locator('.live-live').waitFor();

    // Add a configuration through the form: one NoSec DM server, the LwM2M server.
    await page.getByRole('button', { name: 'Add a configuration' }).click();
    await page.getByRole('heading', { level: 1, name: 'Add a configuration' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/new');
    await page.getByLabel('Endpoint', { exact: true }).fill(EP);
    await card(page, 1).getByLabel('Server URI').fill(dmUri('coap'));
    await card(page, 1).getByLabel('Lifetime (s)').fill('60');
    expect(await unlabelled(page)).toEqual([]);
    await shot(page, 'bootstrap-new');
    await page.getByRole('button', { name: 'Add configuration' }).click();

    // Back on the list: the notice, the row with its counts and mode.
    await page.getByText(`Added the configuration of ${EP}.`).waitFor();
    const row = page.locator(`tr[data-endpoint="${EP}"]`);
    await row.waitFor();
    expect(await row.locator('td[data-label="DM servers"]').textContent()).toContain(
      `101 ${dmUri('coap')}`,
    );
    expect(await row.locator('td[data-label="Security"]').textContent()).toMatch(
      /^1 entry\s*NoSec$/,
    );
    expect(await page.locator('.counts').textContent()).toMatch(/^1 configuration/);
    expect(await bs.getConfig(EP)).toMatchObject({
      servers: [{ shortServerId: 101, uri: dmUri('coap'), securityMode: 'nosec', lifetime: 60 }],
      deletePaths: ['/'],
    });

    // Search.
    await page.getByLabel('Search').fill('no-such-endpoint');
    await page.getByText('No configuration matches').waitFor();
    await page.getByLabel('Search').fill('nosec web-bs');
    await row.waitFor();
    await page.getByLabel('Search').fill('');

    // Keyboard: each Tab stop shows its focus.
    await page.getByRole('heading', { level: 1 }).click();
    const focused = await tabThrough(page, 6);
    expect(new Set(focused).size).toBe(6);

    // A device bootstraps: the live panel shows the session finish; it registers at the server.
    const atServer = registered(EP);
    const device = client({
      endpoint: EP,
      lwm2mVersion: '1.1',
      bootstrap: { uri: bsUri('coap'), retry },
    });
    await device.start();
    const { registration } = await atServer;
    expect(registration).toMatchObject({ endpoint: EP, lifetime: 60 });
    const session = page.locator(`.sessions li[data-endpoint="${EP}"][data-state="finished"]`);
    await session.waitFor();
    expect(await session.textContent()).toMatch(
      /Bootstrap-Request over CoAP from 127\.0\.0\.1:\d+/,
    );
    expect(await session.textContent()).toMatch(/Bootstrapped: \d+ steps in \d+ ms/);
    await session.getByText(/^Steps \(\d+\)/).click();
    await session.locator('.steps li', { hasText: 'finish' }).waitFor();
    await poll(() => row.locator('td[data-label="Last session"]').textContent()).toMatch(
      /^finished/,
    );
    expect(await unlabelled(page)).toEqual([]);
    await shot(page, 'bootstrap-list');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot(page, 'bootstrap-list-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // Edit: a longer lifetime and a value to write.
    await page.getByRole('button', { name: `Edit ${EP}` }).click();
    await page.getByRole('heading', { level: 1, name: `Configuration of ${EP}` }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/configs/${EP}`);
    expect(await page.getByLabel('Endpoint', { exact: true }).getAttribute('readonly')).not.toBe(
      null,
    );
    await expect.poll(() => card(page, 1).getByLabel('Lifetime (s)').inputValue()).toBe('60');
    // The panel beside the form shows this endpoint's session.
    await page.locator(`.sessions li[data-endpoint="${EP}"][data-state="finished"]`).waitFor();
    await card(page, 1).getByLabel('Lifetime (s)').fill('120');
    await page.getByRole('button', { name: 'Add a value' }).click();
    await page.getByLabel('Resource path (value 1)').fill('/3/0/14');
    await page.getByLabel('Value (value 1)').fill('+01:00');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText(`Saved the configuration of ${EP}.`).waitFor();
    expect(await bs.getConfig(EP)).toMatchObject({
      servers: [{ lifetime: 120 }],
      writes: [{ path: '/3/0/14', value: '+01:00' }],
    });

    // A key that is not hex: refused by the form, in words, next to the field.
    await page.getByRole('button', { name: `Edit ${EP}` }).click();
    await page.getByRole('heading', { level: 1, name: `Configuration of ${EP}` }).waitFor();
    const first = card(page, 1);
    await first.getByLabel('Pre-shared key (PSK, coaps://)').check();
    // The URI follows the mode (the port is for the person to check).
    expect(await first.getByLabel('Server URI').inputValue()).toBe(
      dmUri('coap').replace('coap://', 'coaps://'),
    );
    await first.getByLabel('PSK identity').fill(`${EP}-dm`);
    await first.getByLabel('Key (hex)').fill('not-hex!');
    await page.getByRole('button', { name: 'Save changes' }).click();
    const banner = page.locator('.config-form > [role="alert"]');
    await banner.getByText('Not saved: one field needs attention.').waitFor();
    expect(await banner.textContent()).toContain('DM server 1, key');
    await first
      .getByText('not hex: use the digits 0-9 and a-f, two per byte (e.g. 0a1b2c3d)')
      .waitFor();
    expect(await first.getByLabel('Key (hex)').getAttribute('aria-invalid')).toBe('true');
    await banner.getByRole('button', { name: 'Go to DM server 1, key' }).click();
    expect(await page.evaluate('document.activeElement.id')).toBe('f-servers_0__pskKey');
    await shot(page, 'bootstrap-form-error');

    // What only the server knows: a resource no object model has needs its type. The 400 names
    // the field; the page puts the words next to it.
    await first.getByLabel('No security (NoSec, coap://)').check();
    await page.getByRole('button', { name: 'Add a value' }).click();
    await page.getByLabel('Resource path (value 2)').fill('/9999/0/1');
    await page.getByLabel('Value (value 2)').fill('cafe');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await banner
      .getByText(
        'Not saved: Other value 2, type: /9999/0/1 is not in the object models: give its "type"',
      )
      .waitFor();
    const valueRow = page.locator('[data-write-index="1"]');
    await valueRow.getByText('/9999/0/1 is not in the object models: give its "type"').waitFor();
    expect(await valueRow.getByLabel('Type (value 2)').getAttribute('aria-invalid')).toBe('true');
    expect(await unlabelled(page)).toEqual([]);
    await banner.getByRole('button', { name: 'Go to Other value 2, type' }).click();
    expect(await page.evaluate('document.activeElement.id')).toBe('f-writes_1__type');
    await shot(page, 'bootstrap-server-error');
    await valueRow.getByLabel('Type (value 2)').selectOption('opaque');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText(`Saved the configuration of ${EP}.`).waitFor();
    expect((await bs.getConfig(EP))?.writes).toEqual([
      { path: '/3/0/14', value: '+01:00' },
      { path: '/9999/0/1', type: 'opaque', value: 'cafe' },
    ]);

    // Narrow window: the list as cards, the form in one column.
    await page.setViewportSize({ width: 390, height: 844 });
    await row.waitFor();
    await shot(page, 'bootstrap-list-narrow');
    await page.getByRole('button', { name: `Edit ${EP}` }).click();
    await page.getByRole('heading', { level: 1, name: `Configuration of ${EP}` }).waitFor();
    await shot(page, 'bootstrap-form-narrow');
    await page.locator('[data-write-index="1"]').scrollIntoViewIfNeeded();
    await shot(page, 'bootstrap-form-narrow-values');
    const overflow = await page.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow, 'no sideways scrolling in a narrow window').toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1360, height: 900 });
    await page.getByRole('link', { name: 'Cancel' }).click();

    // Delete, after a confirmation.
    await page.getByRole('button', { name: `Delete ${EP}` }).click();
    await page.getByRole('button', { name: `Yes, delete ${EP}` }).click();
    await page.getByText(`Deleted the configuration of ${EP}.`).waitFor();
    await row.waitFor({ state: 'detached' });
    expect(await bs.getConfig(EP)).toBeUndefined();

    expect(besides(errors, 400)).toEqual([]);
    await page.close();
  }, 120_000);

  it('sets up a DTLS-PSK device from the form: it bootstraps over DTLS and registers over DTLS', async () => {
    // The LwM2M server must know the DM key the bootstrap server hands out.
    await server.security.put({
      endpoint: PSK_EP,
      mode: 'psk',
      identity: `${PSK_EP}-dm`,
      key: Buffer.from(DM_KEY, 'hex'),
    });
    const { page, errors } = await openPage(context, `${base}/new`);
    await page.getByRole('heading', { level: 1, name: 'Add a configuration' }).waitFor();
    await page.locator('.live-live').waitFor();
    await page.getByLabel('Endpoint', { exact: true }).fill(PSK_EP);
    const creds = page.getByRole('group', { name: 'How the device reaches this bootstrap server' });
    await creds.getByLabel('DTLS with a pre-shared key').check();
    await creds.getByLabel('PSK identity').fill(`${PSK_EP}-bs`);
    await creds.getByLabel('Key (hex)').fill(BS_KEY);
    const dm = card(page, 1);
    await dm.getByLabel('Pre-shared key (PSK, coaps://)').check();
    await dm.getByLabel('Server URI').fill(dmUri('coaps'));
    await dm.getByLabel('Lifetime (s)').fill('60');
    await dm.getByLabel('PSK identity').fill(`${PSK_EP}-dm`);
    await dm.getByLabel('Key (hex)').fill(DM_KEY);
    await page.getByRole('button', { name: 'Add configuration' }).click();
    const row = page.locator(`tr[data-endpoint="${PSK_EP}"]`);
    await row.waitFor();
    expect(await row.locator('td[data-label="Bootstrap PSK"]').textContent()).toBe(`${PSK_EP}-bs`);
    expect(await row.locator('td[data-label="Security"]').textContent()).toMatch(/PSK$/);

    const atServer = registered(PSK_EP);
    const device = client({
      endpoint: PSK_EP,
      lwm2mVersion: '1.1',
      bootstrap: {
        uri: bsUri('coaps'),
        psk: { identity: `${PSK_EP}-bs`, key: Buffer.from(BS_KEY, 'hex') },
        retry,
      },
    });
    await device.start();
    const { registration } = await atServer;
    expect(registration).toMatchObject({ endpoint: PSK_EP, transport: 'dtls' });
    const session = page.locator(`.sessions li[data-endpoint="${PSK_EP}"][data-state="finished"]`);
    await session.waitFor();
    expect(await session.textContent()).toContain(`Bootstrap-Request over DTLS from 127.0.0.1`);
    expect(await session.textContent()).toContain(`PSK identity ${PSK_EP}-bs`);
    await shot(page, 'bootstrap-psk');
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('asks for the token when the API needs one', async () => {
    const secured = createRestApi(bs, { token: 'bs-s3cret' });
    open.push(secured);
    const { page, errors } = await openWithToken(context, await listenLocal(secured), 'bs-s3cret');
    expect(besides(errors, 401)).toEqual([]);
    await page.close();
  }, 60_000);
});
