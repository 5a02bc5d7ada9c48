import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium, watchConsole } from '../helpers/browser.ts';
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

/**
 * A page, started, that has joined `room` as `name` through the form, with nothing in the console:
 * the form's fields are validated on the join, where a `pattern` Chromium cannot compile logs one.
 */
async function pageInRoom(room: string, name: string): Promise<Page> {
  const page = await browser.newPage();
  const problems = watchConsole(page);
  await page.goto(server.url);
  await page.click('#toggle');
  await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'open', undefined, { timeout: 5000 });
  await page.fill('#room', room);
  await page.fill('#name', name);
  await page.click('#join button');
  await page.waitForFunction(([r, n]) => document.querySelector('#messages')?.textContent?.includes(`You are ${n} in ${r}`), [room, name], { timeout: 3000 });
  assert.deepEqual(problems, [], 'no console errors or warnings during the join');
  return page;
}

test('the page connects over ws:, answers pings live, and shows no CSP violation', async () => {
  const page = await browser.newPage();
  const problems = watchConsole(page);
  await page.goto(server.url);
  assert.equal(await page.textContent('#endpoint'), `ws://127.0.0.1:${server.port}/ws`);
  await page.click('#toggle');
  await page.waitForFunction(() => Number(document.querySelector('#pings')?.textContent) >= 2, undefined, { timeout: 5000 });
  assert.equal(await page.textContent('#state'), 'open');
  assert.match(String(await page.textContent('#exchange')), /← ping {2}→ pong {2}#2/);
  assert.deepEqual(problems, []);
  await page.screenshot({ path: process.env.SCREENSHOT_DIR ? `${process.env.SCREENSHOT_DIR}/client.png` : undefined, fullPage: true });

  await page.click('#toggle'); // Stop
  await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'stopped', undefined, { timeout: 3000 });
  const pings = Number(await page.textContent('#pings'));
  await page.waitForTimeout(600);
  assert.equal(Number(await page.textContent('#pings')), pings, 'no pings after Stop, and no reconnection');
  await page.close();
});

test('a chat message typed in one page appears in another page in the same room', async () => {
  const alice = await pageInRoom('e2e', 'alice');
  const bob = await pageInRoom('e2e', 'bob');
  await alice.waitForFunction(() => document.querySelector('#members')?.textContent === '2', undefined, { timeout: 3000 });
  await alice.fill('#text', 'hello from alice');
  await alice.click('#say button');
  await bob.waitForFunction(() => document.querySelector('#messages')?.textContent?.includes('alice: hello from alice'), undefined, { timeout: 3000 });
  await alice.waitForFunction(() => /ms \(chat ack\)/.test(document.querySelector('#rtt')?.textContent ?? ''), undefined, { timeout: 3000 });
  await alice.close();
  await bob.close();
});

test('the page reconnects by itself after a server restart (1001), and stays closed after 1008', async () => {
  const first = await startServer({ pingIntervalMs: 200, rateLimitPerSec: 1 });
  const page = await browser.newPage();
  await page.goto(first.url);
  await page.click('#toggle');
  const state = (want: string, timeout = 5000) =>
    page.waitForFunction((w) => document.querySelector('#state')?.textContent?.startsWith(w), want, { timeout });
  await state('open');
  await first.stop(); // the page gets 1001 Server shutting down
  await state('reconnecting');
  const second = await startServer({ pingIntervalMs: 200, rateLimitPerSec: 1, port: first.port });
  try {
    await state('open', 10_000);
    const pings = Number(await page.textContent('#pings'));
    await page.waitForFunction((p) => Number(document.querySelector('#pings')?.textContent) > p, pings, { timeout: 3000 });

    // Flood past the rate limit: the server closes with 1008, which the page must not retry.
    for (let i = 0; i < 5; i++) {
      await page.fill('#text', `flood ${i}`);
      await page.click('#say button');
    }
    await state('closed');
    assert.match(String(await page.textContent('#state')), /1008 Rate limit exceeded/);
    await page.waitForTimeout(1500);
    assert.match(String(await page.textContent('#state')), /^closed/, 'no reconnection after 1008');
    assert.equal(await page.textContent('#toggle'), 'Start');
  } finally {
    await page.close();
    await second.stop();
  }
});

test('typing in one page shows "is typing…" in another page of the room, then clears', async () => {
  const alice = await pageInRoom('typing-e2e', 'alice');
  const bob = await pageInRoom('typing-e2e', 'bob');
  await alice.type('#text', 'hel'); // real key presses: the page's input listener sends `typing`
  await bob.waitForFunction(() => document.querySelector('#typing')?.textContent === 'alice is typing…', undefined, { timeout: 3000 });
  assert.equal(await alice.textContent('#typing'), '', 'a page does not show its own user typing');
  await bob.screenshot({ path: process.env.SCREENSHOT_DIR ? `${process.env.SCREENSHOT_DIR}/typing.png` : undefined, fullPage: true });
  // Alice stops: the server's TTL passes and it tells the room nobody types any more.
  await bob.waitForFunction(() => document.querySelector('#typing')?.textContent === '', undefined, { timeout: 6000 });
  await alice.close();
  await bob.close();
});

// The message box: a pasted paragraph arrives whole, line breaks kept, without ending the session.
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
