/**
 * The server's web page in a real browser: Debian's Chromium driven by playwright-core, against
 * a real LwM2mServer with its REST API and one of our clients. A person's path through the page:
 * the device appears live, its page shows the object tree, Read, Write and read back, Observe
 * with live values and a chart, Execute Reboot and the re-registration, an error in words; no
 * console errors; labels and keyboard focus; screenshots (wide and narrow) to look at.
 */
import { deviceObject, LwM2mClient } from '@lwm2m-ts/client';
import type { LwM2mServer } from '@lwm2m-ts/server';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  browserContext,
  CHROMIUM,
  type Closers,
  closeAll,
  openPage,
  openWithToken,
  poll,
  serveWebPage,
  shot,
  startWebServer,
  tabThrough,
  unlabelled,
} from './web-helpers.js';

const EP = 'web-dev-1';
const MANUFACTURER = 'ACME Sensors';

describe.skipIf(!CHROMIUM)('the web page in Chromium', () => {
  const open: Closers = [];
  let server: LwM2mServer;
  let base: string;
  let context: BrowserContext;

  beforeAll(async () => {
    ({ server, base } = await startWebServer(open));
    context = await browserContext(open);
  }, 60_000);

  // Clients first (they de-register while the server listens), then the browser, the HTTP API,
  // the server.
  afterAll(() => closeAll(open));

  it('lists, reads, writes, observes and reboots a device', async () => {
    // The list, empty at first.
    const { page, errors } = await openPage(context, `${base}/`);
    await page.getByRole('heading', { level: 1, name: 'Devices' }).waitFor();
    await page.getByText('No device is registered yet').waitFor();
    await page.locator('.live-live').waitFor();

    // A device registers: it appears without a reload.
    const client: LwM2mClient = new LwM2mClient({
      endpoint: EP,
      lwm2mVersion: '1.1',
      local: { address: '127.0.0.1' },
      server: { uri: `coap://127.0.0.1:${server.addresses().coap!.port}`, lifetime: 300 },
      objects: [
        deviceObject({
          manufacturer: MANUFACTURER,
          modelNumber: 'WT-100',
          serialNumber: EP,
          firmwareVersion: '1.0.0',
          // This Device object replaces the built-in one, so it brings its reboot: registering again,
          // as the built-in one does by default.
          onReboot: async () => {
            await client.deregister();
            await client.start();
          },
        }),
      ],
    });
    open.push(client);
    await client.start();
    const row = page.locator(`tr[data-endpoint="${EP}"]`);
    await row.waitFor();
    await poll(() => row.textContent()).toContain('1.1');
    await poll(() => page.locator('.counts').textContent()).toMatch(/^1 registered/);

    // Search and sort work on the list.
    await page.getByLabel('Search').fill('no-such-device');
    await page.getByText('No device matches').waitFor();
    await page.getByLabel('Search').fill('web-dev');
    await row.waitFor();
    await page.getByRole('button', { name: /^Lifetime/ }).click();
    expect(await page.locator('th[aria-sort="ascending"]').textContent()).toContain('Lifetime');
    await page.getByLabel('Search').fill('');

    expect(await unlabelled(page)).toEqual([]);
    await shot(page, 'devices');

    // Keyboard: Tab goes through the skip link, the navigation… each with a visible focus.
    await page.locator('body').click({ position: { x: 5, y: 300 } });
    const focused = await tabThrough(page, 5);
    expect(new Set(focused).size).toBe(5);

    // The device's page.
    await row.getByRole('link', { name: EP }).click();
    await page.getByRole('heading', { level: 1, name: EP }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/clients/${EP}`);
    await page.getByRole('heading', { level: 2, name: /^Device \/3/ }).waitFor();
    await page.getByRole('heading', { level: 2, name: /^Temperature \/3303/ }).waitFor();

    // Read the manufacturer.
    const value = (p: string) => page.locator(`[data-value-path="${p}"]`);
    await page.getByRole('button', { name: 'Read /3/0/0', exact: true }).click();
    await poll(() => value('/3/0/0').textContent()).toBe(MANUFACTURER);

    // Write the UTC offset (a string, RW) and read it back.
    await page.getByRole('button', { name: 'Write /3/0/14', exact: true }).click();
    const form = page.getByRole('form', { name: 'Write /3/0/14' });
    await form.getByLabel('New value of UTC Offset').fill('+02:00');
    await form.getByRole('button', { name: 'Write', exact: true }).click();
    await form.getByText(/^Written/).waitFor();
    await page.getByRole('button', { name: 'Read /3/0/14', exact: true }).click();
    await poll(() => value('/3/0/14').textContent()).toBe('+02:00');
    const onDevice = await client.get('/3/0/14');
    expect(onDevice).toMatchObject({ kind: 'singleResource', value: '+02:00' });

    // A value that does not fit the type is refused before anything is sent.
    await page.getByRole('button', { name: 'Write /1/0/1', exact: true }).click();
    const lifetimeForm = page.getByRole('form', { name: 'Write /1/0/1' });
    await lifetimeForm.getByRole('textbox').fill('soon');
    await lifetimeForm.getByRole('button', { name: 'Write', exact: true }).click();
    await lifetimeForm.getByText('expected a whole number, e.g. 42').waitFor();
    await lifetimeForm.getByRole('button', { name: 'Close' }).click();

    // Observe the temperature; the device changes it; the page shows each value and a chart.
    await page.getByRole('button', { name: 'Observe /3303/0/5700', exact: true }).click();
    await page.getByRole('button', { name: 'Stop observing /3303/0/5700', exact: true }).waitFor();
    await page.locator('.obs-item', { hasText: '/3303/0/5700' }).waitFor();
    for (const t of [22.5, 23, 24.5, 23.5]) {
      await client.set('/3303/0/5700', t);
      await poll(() => value('/3303/0/5700').textContent()).toBe(String(t));
    }
    const chart = page.locator('[data-chart-path="/3303/0/5700"]');
    await chart.waitFor();
    expect(await chart.locator('svg polyline').count()).toBe(1);
    expect(await chart.locator('svg').getAttribute('aria-label')).toMatch(
      /4 values, from 22\.5 to 24\.5, last 23\.5/,
    );

    // Data the device sends on its own (Send, LwM2M 1.1) shows in the same panel.
    await client.set('/3303/0/5700', 21);
    await client.send(['/3303/0/5700']);
    await page.locator('.history li', { hasText: 'Send' }).first().waitFor();
    await poll(() => value('/3303/0/5700').textContent()).toBe('21');

    // Write-Attributes in its dialog; the Discover that follows shows them on the row.
    await page
      .getByRole('button', { name: 'Write attributes of /3303/0/5700', exact: true })
      .click();
    const dialog = page.getByRole('dialog', { name: 'Write attributes of /3303/0/5700' });
    await dialog.getByLabel(/^Minimum period/).fill('1');
    await dialog.getByLabel(/^Maximum period/).fill('60');
    await dialog.getByLabel(/^Greater than/).fill('30');
    expect(await unlabelled(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Write attributes' }).click();
    await dialog.getByText(/^Attributes written/).waitFor();
    await shot(page, 'attributes-dialog');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await poll(() => page.locator('tr[data-path="/3303/0/5700"] .chips').textContent()).toMatch(
      /pmin=1.*pmax=60.*gt=30/,
    );

    // Discover shows the attributes; composite read of two selected paths (LwM2M 1.1).
    await page.getByRole('button', { name: 'Discover /3/0', exact: true }).click();
    await page
      .locator('[data-path="/3/0"] .instance-head')
      .getByText(/^Discovered \d+ links/)
      .waitFor();
    const select = (p: string) =>
      page.getByRole('checkbox', { name: `Select ${p} for composite operations` }).check();
    const panel = page.getByRole('region', { name: 'Selected resources' });
    await select('/3/0/1');
    await select('/3/0/2');
    await panel.getByRole('button', { name: 'Read selected (2)' }).click();
    await panel.getByText(/^Read 2 values/).waitFor();
    await poll(() => value('/3/0/1').textContent()).toBe('WT-100');
    await poll(() => value('/3/0/2').textContent()).toBe(EP);
    await poll(() => panel.locator('[data-composite-path="/3/0/2"]').textContent()).toBe(EP);

    // Units: the temperature is in what its instance's Sensor Units (5701) say (the model has
    // no unit for Sensor Value).
    await page.getByRole('button', { name: 'Read /3303/0', exact: true }).click();
    await poll(() => value('/3303/0/5701').textContent()).toBe('Cel');
    await poll(() => value('/3303/0/5700').textContent()).toBe('21 Cel');
    expect(await page.locator('tr[data-path="/3303/0/5700"] .sub').textContent()).toContain('Cel');

    // Composite observe of two resources: both values come live from composite notifications
    // (the temperature's own observation stopped first).
    await page.getByRole('button', { name: 'Stop observing /3303/0/5700', exact: true }).click();
    await page.getByRole('button', { name: 'Observe /3303/0/5700', exact: true }).waitFor();
    await panel.getByRole('button', { name: 'Clear selection' }).click();
    await select('/3303/0/5700');
    await select('/3/0/14');
    await panel.getByRole('button', { name: 'Observe selected' }).click();
    await panel.getByRole('button', { name: 'Stop observing selected' }).waitFor();
    await page
      .locator('.obs-item', { hasText: '/3/0/14, /3303/0/5700' })
      .getByText('composite')
      .waitFor();
    // Above the gt=30 written before, so the temperature's attributes let it through.
    await client.set('/3303/0/5700', 31.5);
    await poll(() => value('/3303/0/5700').textContent()).toBe('31.5 Cel');
    await client.set('/3/0/14', '+05:00');
    await poll(() => value('/3/0/14').textContent()).toBe('+05:00');
    await poll(() => panel.locator('[data-composite-path="/3/0/14"]').textContent()).toBe('+05:00');
    await poll(() => panel.locator('[data-composite-path="/3303/0/5700"]').textContent()).toBe(
      '31.5 Cel',
    );
    await page.evaluate('window.scrollTo(0, 0)');
    await shot(page, 'device-composite-observe');
    await panel.getByRole('button', { name: 'Stop observing selected' }).click();
    await panel.getByRole('button', { name: 'Observe selected' }).waitFor();
    await poll(() => page.locator('.obs-item', { hasText: 'composite' }).count()).toBe(0);

    // Composite write of two writable resources, typed inputs, read back.
    await panel.getByRole('button', { name: 'Clear selection' }).click();
    await select('/3/0/14');
    await select('/3/0/15');
    await panel.getByRole('button', { name: 'Write selected…' }).click();
    const cform = panel.getByRole('form', { name: 'Write the selected resources' });
    await cform.getByLabel('New value of UTC Offset (/3/0/14)').fill('-03:00');
    await cform.getByLabel('New value of Timezone (/3/0/15)').fill('America/Sao_Paulo');
    expect(await unlabelled(page)).toEqual([]);
    await cform.getByRole('button', { name: 'Write 2 values' }).click();
    await cform.getByText(/^Written \(2\.04\); read back/).waitFor();
    await poll(() => value('/3/0/14').textContent()).toBe('-03:00');
    await poll(() => value('/3/0/15').textContent()).toBe('America/Sao_Paulo');
    expect(await client.get('/3/0/14')).toMatchObject({ value: '-03:00' });
    expect(await client.get('/3/0/15')).toMatchObject({ value: 'America/Sao_Paulo' });
    await shot(page, 'device-composite-write');
    await cform.getByRole('button', { name: 'Close' }).click();

    expect(await unlabelled(page)).toEqual([]);
    await page.evaluate('window.scrollTo(0, 0)');
    await shot(page, 'device');
    await page.locator('#object-3303').scrollIntoViewIfNeeded();
    await shot(page, 'device-temperature');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot(page, 'device-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // Execute Reboot: the device registers again, the page says so and keeps working.
    const before = (await server.getRegistration(EP))!.id;
    await page.getByRole('button', { name: 'Execute /3/0/4', exact: true }).click();
    const execForm = page.getByRole('form', { name: 'Execute /3/0/4' });
    await execForm.getByRole('button', { name: 'Execute now' }).click();
    await execForm.getByText(/^Executed/).waitFor();
    await page.locator('.timeline').getByText('Registered again (a new registration)').waitFor();
    const after = (await server.getRegistration(EP))!.id;
    expect(after).not.toBe(before);
    await poll(() => page.locator('.reg-info').textContent()).toContain(after);
    // The observation went with the old registration.
    await page.getByRole('button', { name: 'Observe /3303/0/5700', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Read /3/0/0', exact: true }).click();
    await page
      .locator('tr[data-path="/3/0/0"]')
      .getByText(/^Read \(/)
      .waitFor();

    // Narrow window: the same pages, laid out for a phone.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate('window.scrollTo(0, 0)');
    await shot(page, 'device-narrow');
    await page.locator('tr[data-path="/3/0/0"]').scrollIntoViewIfNeeded();
    await shot(page, 'device-narrow-resources');
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Devices' })
      .click();
    await row.waitFor();
    await shot(page, 'devices-narrow');
    await page.setViewportSize({ width: 1360, height: 900 });

    // The security page: add a PSK entry, see it listed.
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Security' })
      .click();
    await page.getByRole('heading', { level: 1, name: 'Security' }).waitFor();
    await page.getByLabel('Endpoint').fill('psk-dev');
    await page.getByLabel('PSK identity').fill('psk-dev-id');
    await page.getByLabel('Key (hex)').fill('73656372657421');
    await page.getByRole('button', { name: 'Add entry' }).click();
    await page.locator('tr[data-endpoint="psk-dev"]').waitFor();
    expect(await server.security.getByEndpoint('psk-dev')).toMatchObject({
      identity: 'psk-dev-id',
    });
    expect(await unlabelled(page)).toEqual([]);
    await shot(page, 'security');

    expect(errors).toEqual([]);

    // The device leaves: the list drops it live; a request on its page fails in words.
    await page.goto(`${base}/clients/${EP}`);
    await page.getByRole('heading', { level: 2, name: /^Device \/3/ }).waitFor();
    await client.deregister();
    await page.getByText('The device is not registered now.').waitFor();
    await page.getByRole('button', { name: 'Read /3/0/0', exact: true }).click();
    await page
      .locator('tr[data-path="/3/0/0"] [role="alert"]')
      .getByText('the device is not registered (it may have left)')
      .waitFor();
    // The only console errors are the browser's own notes of the refused request.
    expect(
      errors.filter((e) => !/Failed to load resource.*404|response: 404 \/api\/clients\//.test(e)),
    ).toEqual([]);
    await page.close();
  }, 120_000);

  it('asks for the token when the API needs one, and keeps it for the tab', async () => {
    const url = await serveWebPage(server, { token: 'web-s3cret' }, open);
    const { page, errors } = await openWithToken(context, url, 'web-s3cret');
    await page.reload();
    await page.locator('.counts').waitFor();
    expect(await page.getByRole('dialog').count()).toBe(0);
    // Only the first, refused request shows in the console (as the browser's own 401 note).
    expect(
      errors.filter((e) => !/Failed to load resource.*401|response: 401 \/api\//.test(e)),
    ).toEqual([]);
    await page.close();
  }, 60_000);
});
