import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { follow, launchChromium, lines, nameOf, start, stateIs, WAIT, watchConsole, wire } from '../helpers/browser.ts';
import { TestClient } from '../helpers/client.ts';
import { eventually, startServer, type TestServer } from '../helpers/server.ts';

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
 * A page, started, that follows `room` through the form, with nothing in the console: the form's
 * field is validated on the way, where a `pattern` Chromium cannot compile logs one. Its name is
 * the one the server gave its connection.
 */
async function pageInRoom(room: string): Promise<{ page: Page; name: string }> {
  const page = await browser.newPage();
  const problems = watchConsole(page);
  await page.goto(server.url);
  await start(page);
  await follow(page, room);
  const name = await nameOf(page);
  assert.ok((await lines(page)).includes(`You are ${name} in ${room}`));
  assert.deepEqual(problems, [], 'no console errors or warnings while following');
  return { page, name };
}

test('the page connects over ws:, answers pings live, and shows no CSP violation', async () => {
  const page = await browser.newPage();
  const problems = watchConsole(page);
  const frames = wire(page);
  await page.goto(server.url);
  assert.equal(await page.textContent('#endpoint'), `ws://127.0.0.1:${server.port}/ws`);
  await start(page);
  // The library answers every ping: the pongs on the wire, the socket open across them.
  await eventually(() => frames.pongs() >= 3, 3000, 'three pongs from the page');
  assert.equal(await page.textContent('#state'), 'open');
  assert.match((await lines(page, '#exchange')).join('\n'), /connecting\n.*open$/);
  assert.deepEqual(problems, []);
  await page.screenshot({ path: process.env.SCREENSHOT_DIR ? `${process.env.SCREENSHOT_DIR}/client.png` : undefined, fullPage: true });

  await page.click('#toggle'); // Stop
  await stateIs(page, 'stopped', WAIT.timeout);
  await eventually(() => server.logs.some((l) => l.msg === 'socket closed' && l.code === 1000), 3000, 'the server to see the page close with 1000');
  const pongs = frames.pongs();
  // Longer than the library's first retry (1 s): a reconnection would have shown by now.
  await page.waitForTimeout(1200);
  assert.equal(frames.pongs(), pongs, 'no pings answered after Stop');
  assert.equal(frames.sockets(), 1, 'and no reconnection');
  assert.equal(await page.textContent('#toggle'), 'Start');
  await page.close();
});

test('a chat message typed in one page appears in another page in the same room', async () => {
  const alice = await pageInRoom('e2e');
  const bob = await pageInRoom('e2e');
  await alice.page.waitForFunction(() => document.querySelector('#members')?.textContent === '2', undefined, WAIT);
  await alice.page.fill('#text', 'hello from alice');
  await alice.page.click('#say button');
  await bob.page.waitForFunction((line) => document.querySelector('#messages')?.textContent?.includes(line), `${alice.name}: hello from alice`, WAIT);
  await alice.page.waitForFunction(() => /ms \(chat ack\)/.test(document.querySelector('#rtt')?.textContent ?? ''), undefined, WAIT);
  await alice.page.close();
  await bob.page.close();
});

test('the page reconnects by itself after a server restart (1001), and stays closed after 1008', async () => {
  const first = await startServer({ pingIntervalMs: 200, rateLimitPerSec: 1 });
  const page = await browser.newPage();
  const frames = wire(page);
  await page.goto(first.url);
  await start(page);
  await first.stop(); // the page gets 1001 Server shutting down
  await stateIs(page, 'reconnecting (1001 Server shutting down');
  const second = await startServer({ pingIntervalMs: 200, rateLimitPerSec: 1, port: first.port });
  try {
    await stateIs(page, 'open', 10_000);
    assert.equal(await page.textContent('#reconnects'), '1');
    const pongs = frames.pongs();
    await eventually(() => frames.pongs() > pongs, 3000, 'a pong on the new socket');

    // Flood past the rate limit: the server closes with 1008, which the page must not retry.
    await page.waitForSelector('#rooms li[data-room="lobby"]', WAIT);
    for (let i = 0; i < 5; i++) {
      await page.fill('#text', `flood ${i}`);
      await page.click('#say button');
    }
    await stateIs(page, 'closed');
    assert.match(String(await page.textContent('#state')), /1008 Rate limit exceeded/);
    const sockets = frames.sockets();
    // Longer than the library's first retry (1 s): a reconnection would have shown by now.
    await page.waitForTimeout(1500);
    assert.match(String(await page.textContent('#state')), /^closed/, 'no reconnection after 1008');
    assert.equal(frames.sockets(), sockets);
    assert.equal(await page.textContent('#toggle'), 'Start');
  } finally {
    await page.close();
    await second.stop();
  }
});

test('typing in one page shows "is typing…" in another page of the room, then clears', async () => {
  const alice = await pageInRoom('typing-e2e');
  const bob = await pageInRoom('typing-e2e');
  await alice.page.type('#text', 'hel'); // real key presses: the page's input listener sends `typing`
  await bob.page.waitForFunction((want) => document.querySelector('#typing')?.textContent === want, `${alice.name} is typing…`, WAIT);
  assert.equal(await alice.page.textContent('#typing'), '', 'a page does not show its own user typing');
  await bob.page.screenshot({ path: process.env.SCREENSHOT_DIR ? `${process.env.SCREENSHOT_DIR}/typing.png` : undefined, fullPage: true });
  // Alice stops: the server's TTL passes and it tells the room nobody types any more.
  await bob.page.waitForFunction(() => document.querySelector('#typing')?.textContent === '', undefined, { timeout: 6000 });
  await alice.page.close();
  await bob.page.close();
});

// The message box: a pasted paragraph arrives whole, line breaks kept, without ending the session.
test('Enter sends, Shift+Enter is a new line, a pasted paragraph keeps its lines and the socket stays open', async () => {
  const listener = await TestClient.connect(server.wsUrl);
  await listener.nextOf('welcome');
  const page = await browser.newPage();
  await page.goto(server.url);
  assert.equal(await page.getAttribute('#text', 'aria-describedby'), 'text-rules');
  assert.match(String(await page.textContent('#text-rules')), /Shift\+Enter/);
  await start(page);
  // The page follows the server's default room, the listener's too.
  await page.waitForSelector('#rooms li[data-room="lobby"] .room-open[aria-current]', WAIT);
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

test('a name typed before Start is taken on connect, and Rename changes it without leaving the room', async () => {
  const page = await browser.newPage();
  const problems = watchConsole(page);
  await page.goto(server.url);
  await page.fill('#name', 'Zed');
  await start(page);
  await page.waitForFunction(() => document.querySelector('#whoami')?.textContent === 'You are Zed', undefined, WAIT);
  await follow(page, 'names');
  const w = await TestClient.connect(server.wsUrl);
  await w.nextOf('welcome');
  w.send({ type: 'subscribe', room: 'names' });
  await w.nextOf('subscribed');
  await page.fill('#text', 'first');
  await page.click('#say button');
  assert.equal((await w.nextOf('message', 3000, (m) => m.text === 'first')).from, 'Zed');
  await page.fill('#name', 'Zed Two');
  await page.click('#name-form button');
  await page.waitForFunction(() => document.querySelector('#whoami')?.textContent === 'You are Zed Two', undefined, WAIT);
  await page.fill('#text', 'second');
  await page.click('#say button');
  assert.equal((await w.nextOf('message', 3000, (m) => m.text === 'second')).from, 'Zed Two');
  assert.equal(await page.textContent('#room-label'), 'names', 'still in the room');
  assert.deepEqual(problems, []);
  w.close();
  await page.close();
});
