// Debian's Chromium driven by playwright-core (no browser download: none is reachable here).
import { access, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page, type WebSocketRoute } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(extraArgs: string[] = [], env?: Record<string, string>): Promise<BrowserContext> {
  try {
    await access(CHROMIUM);
  } catch {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (Debian: apt-get install chromium) or set CHROMIUM_PATH`);
  }
  const profile = await mkdtemp(join(tmpdir(), 'socketship-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    ...(env ? { env } : {}),
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
}

/**
 * The console errors and warnings (Chromium reports an invalid `pattern` attribute so) and the
 * uncaught exceptions of `page`, collected as they happen: a test asserts the list stays empty.
 */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return problems;
}

/** Page waits: a regression fails in seconds, naming what it waited for. */
export const WAIT = { timeout: 3000 };

/** Until the page's connection state (`#state`) starts with `want`. */
export function stateIs(page: Page, want: string, timeout = 5000): Promise<unknown> {
  return page.waitForFunction((w) => document.querySelector('#state')?.textContent?.startsWith(w), want, { timeout });
}

/** Until the text of `selector` includes `text`; a timeout names the text and shows the log as it stood. */
export async function shows(page: Page, selector: string, text: string, timeout = WAIT.timeout): Promise<void> {
  try {
    await page.waitForFunction(([sel, t]) => document.querySelector(sel)?.textContent?.includes(t), [selector, text] as const, { timeout });
  } catch (err) {
    const shown = await lines(page, selector).catch(() => []);
    throw new Error(`${selector} did not show "${text}" within ${timeout} ms; it showed:\n${shown.join('\n')}`, { cause: err });
  }
}

/** The lines of a log (`#messages`, `#notifications`, `#exchange`), as shown. */
export function lines(page: Page, selector = '#messages'): Promise<string[]> {
  return page.$$eval(`${selector} li`, (lis) => lis.map((li) => li.textContent ?? ''));
}

/** Presses Start and waits until the page says it is open. */
export async function start(page: Page): Promise<void> {
  await page.click('#toggle');
  await stateIs(page, 'open');
}

/** The name the server gave the page's connection (anonymous mode), from "You are guest-…". */
export async function nameOf(page: Page): Promise<string> {
  await page.waitForFunction(() => /^You are \S+$/.test(document.querySelector('#whoami')?.textContent ?? ''), undefined, WAIT);
  return String(await page.textContent('#whoami')).slice('You are '.length);
}

/** The page follows `room` through the Add room form; it comes into view once the server answered. */
export async function follow(page: Page, room: string): Promise<void> {
  await page.fill('#new-room', room);
  await page.click('#add-room button');
  await page.waitForSelector(`#rooms li[data-room="${room}"] .room-open[aria-current]`, WAIT);
}

/** What the page's sockets send and open, recorded from now: JSON frames parsed, `pong`s counted. */
export function wire(page: Page): { sent: Record<string, unknown>[]; pongs: () => number; sockets: () => number } {
  const sent: Record<string, unknown>[] = [];
  let pongs = 0;
  let sockets = 0;
  page.on('websocket', (ws) => {
    sockets++;
    ws.on('framesent', (f) => {
      if (f.payload === 'pong') pongs++;
      else if (typeof f.payload === 'string' && f.payload.startsWith('{')) sent.push(JSON.parse(f.payload) as Record<string, unknown>);
    });
  });
  return { sent, pongs: () => pongs, sockets: () => sockets };
}

/**
 * The page's sockets through Playwright's WebSocket route, so a test can drop one as a network
 * would (the server never restarts: its history stays), and hold the page's reconnects until it
 * has done what is to happen while the page is away. Install before the page loads. `sent`: the
 * JSON frames the page sent, from every socket.
 */
export async function droppable(page: Page): Promise<{ sent: Record<string, unknown>[]; drop(): Promise<void>; release(): void }> {
  const sent: Record<string, unknown>[] = [];
  let current: WebSocketRoute | undefined;
  let held: PromiseWithResolvers<void> | undefined;
  await page.routeWebSocket(/\/ws$/, async (ws) => {
    current = ws;
    await held?.promise;
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      if (typeof m === 'string' && m.startsWith('{')) sent.push(JSON.parse(m) as Record<string, unknown>);
      server.send(m);
    });
  });
  return {
    sent,
    async drop() {
      held = Promise.withResolvers();
      // 4000 (pong timeout) is one the library retries, as it retries a connection lost.
      await current?.close({ code: 4000, reason: 'dropped by the test' });
    },
    release: () => held?.resolve(),
  };
}
