/**
 * What the browser tests of the two web pages share (web.test.ts, web-fleet.test.ts,
 * web-bootstrap.test.ts): Debian's Chromium through playwright-core, the server with its page,
 * the token prompt, console watching, screenshots, the label and focus checks.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createRestApi,
  LwM2mServer,
  type RestApiOptions,
  registerWebRoutes,
} from '@lwm2m-ts/server';
import { peerOrSkip } from '@lwm2m-ts/testkit';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** The Chromium binary, or undefined (the browser tests are skipped then). */
export const CHROMIUM = peerOrSkip('chromium');

/** Flags for a closed network: without them Chromium waits on lookups and updates. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const SCREENSHOTS = fileURLToPath(new URL('../.test-results/screenshots/', import.meta.url));

// Scripts that run in the page, as plain JavaScript (e2e type-checks without the DOM library).

/** Inputs, selects, text areas and buttons that have no accessible name. */
const UNLABELLED_JS = `(() => {
  const missing = [];
  for (const el of document.querySelectorAll('input, select, textarea, button')) {
    const has = (name) => (el.getAttribute(name) || '').trim() !== '';
    const named =
      has('aria-label') ||
      has('aria-labelledby') ||
      has('title') ||
      (el.tagName === 'BUTTON' ? el.textContent.trim() !== '' : (el.labels?.length ?? 0) > 0);
    if (!named) missing.push(el.outerHTML.slice(0, 120));
  }
  return missing;
})()`;

/** The focused element, and whether it shows an outline of at least 2 px. */
const FOCUSED_JS = `(() => {
  const el = document.activeElement;
  if (el === null || el === document.body) return undefined;
  const s = getComputedStyle(el);
  const name = (el.getAttribute('aria-label') ?? el.textContent ?? '').trim().slice(0, 40);
  return {
    what: el.tagName.toLowerCase() + ':' + name,
    outline: s.outlineStyle !== 'none' && Number.parseFloat(s.outlineWidth) >= 2,
  };
})()`;

/** Waits (up to 10 s) until the value matches: SSE, CoAP and rendering take their time. */
export function poll<T>(
  read: () => Promise<T> | T,
  timeout = 10_000,
): ReturnType<typeof expect.poll<T>> {
  return expect.poll(read, { timeout, interval: 100 });
}

/** A Chromium with its own profile directory; `close()` ends it and removes the directory. */
export async function launchBrowser(): Promise<{
  context: BrowserContext;
  close(): Promise<void>;
}> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'lwm2m-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM!,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1360, height: 900 },
      locale: 'en-GB',
      timezoneId: 'UTC',
      timeout: 30_000,
    });
    context.setDefaultTimeout(15_000);
    return {
      context,
      async close() {
        await context.close();
        rmSync(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw err;
  }
}

/** What a test closes when it ends, in reverse order (`closeAll`). */
export type Closers = { close(): Promise<unknown> }[];

/** Closes what `open` holds, the last opened first, and empties it. */
export async function closeAll(open: Closers): Promise<void> {
  for (const o of open.splice(0).reverse()) await o.close();
}

/** A new tab at `url`; `errors` watches its console from the start (`watchConsole`). */
export async function openPage(
  context: BrowserContext,
  url: string,
): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors = watchConsole(page);
  await page.goto(url);
  return { page, errors };
}

/** Starts an HTTP app on 127.0.0.1 (a free port); returns its base URL. */
export async function listenLocal(app: {
  listen(options: { host: string; port: number }): Promise<unknown>;
  readonly server: { address(): unknown };
}): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** The server's REST API with its web page, listening; pushed to `open`. Returns its base URL. */
export function serveWebPage(
  server: LwM2mServer,
  options: RestApiOptions,
  open: Closers,
): Promise<string> {
  const app = createRestApi(server, options);
  // The REST API may serve the page itself already; add it when it does not.
  if (!app.hasRoute({ method: 'GET', url: '/' })) registerWebRoutes(app);
  open.push(app);
  return listenLocal(app);
}

/**
 * An LwM2mServer on plain CoAP (127.0.0.1, a free port) and its web page (`base`), both pushed to
 * `open`.
 */
export async function startWebServer(
  open: Closers,
): Promise<{ server: LwM2mServer; base: string }> {
  const server = new LwM2mServer({
    coap: { address: '127.0.0.1', port: 0 },
    dtls: false,
    requestTimeout: 5000,
  });
  await server.start();
  open.push(server);
  return { server, base: await serveWebPage(server, { sseHeartbeatMs: 5000 }, open) };
}

/**
 * Opens the page at `url` of an API that needs a token, gives the token in the prompt and waits
 * for the page's data and live events. `errors` watches the console from the start.
 */
export async function openWithToken(
  context: BrowserContext,
  url: string,
  token: string,
): Promise<{ page: Page; errors: string[] }> {
  const { page, errors } = await openPage(context, `${url}/`);
  const dialog = page.getByRole('dialog', { name: 'Access token needed' });
  await dialog.waitFor();
  await dialog.getByLabel('Token').fill(token);
  await dialog.getByRole('button', { name: 'Use this token' }).click();
  await page.locator('.counts').waitFor();
  await page.locator('.live-live').waitFor();
  return { page, errors };
}

/** A Chromium (`launchBrowser`) pushed to `open`; returns its context. */
export async function browserContext(open: Closers): Promise<BrowserContext> {
  const browser = await launchBrowser();
  open.push(browser);
  return browser.context;
}

/** Console errors, uncaught page errors and HTTP answers ≥ 400, as they happen. */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  // Name the request behind a "Failed to load resource" note.
  page.on('response', (res) => {
    if (res.status() >= 400)
      errors.push(`response: ${res.status()} ${new URL(res.url()).pathname}`);
  });
  return errors;
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

/** Inputs without an accessible name, and buttons without text or label. */
export function unlabelled(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(UNLABELLED_JS);
}

/** Tabs `n` times; each focused element must change and show an outline. */
export async function tabThrough(page: Page, n: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < n; i++) {
    await page.keyboard.press('Tab');
    const f = await page.evaluate<{ what: string; outline: boolean } | undefined>(FOCUSED_JS);
    expect(f, `Tab #${i + 1} focuses something`).toBeDefined();
    expect(f!.outline, `${f!.what} shows its focus`).toBe(true);
    seen.push(f!.what);
  }
  return seen;
}
