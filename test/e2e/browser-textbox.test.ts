// The page's message box in a real Chromium: Enter sends, Shift+Enter starts a new line, and a
// pasted paragraph arrives whole, line breaks kept, without ending the session.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext } from 'playwright-core';
import { launchChromium } from '../helpers/browser.ts';
import { TestClient } from '../helpers/client.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let browser: BrowserContext;
before(async () => {
  server = await startServer({ pingIntervalMs: 200 });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('Enter sends, Shift+Enter is a new line, a pasted paragraph keeps its lines and the socket stays open', async () => {
  const listener = await TestClient.connect(server.wsUrl);
  await listener.nextOf('welcome');
  const page = await browser.newPage();
  await page.goto(server.url);
  assert.equal(await page.getAttribute('#text', 'aria-describedby'), 'text-rules');
  assert.match(String(await page.textContent('#text-rules')), /Shift\+Enter/);
  await page.click('#toggle');
  await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'open', undefined, { timeout: 5000 });
  await page.click('#text');
  await page.keyboard.type('first line');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('second line');
  await page.keyboard.press('Enter');
  assert.equal((await listener.nextOf('message', 3000)).text, 'first line\nsecond line');
  assert.equal(await page.inputValue('#text'), '', 'the box is emptied once sent');
  await page.fill('#text', 'pasted\r\nparagraph\r\nof three lines');
  await page.click('#say button');
  assert.equal((await listener.nextOf('message', 3000)).text, 'pasted\nparagraph\nof three lines');
  assert.equal(await page.textContent('#state'), 'open', 'multi-line text does not end the session');
  await page.close();
  listener.close();
});
