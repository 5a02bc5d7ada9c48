// The page follows its room again with `since` after a reconnect and shows the missed messages,
// with a marker when the server could not replay everything (here: a restart of the in-process
// broker, which forgets its history and numbers the room's messages from 1 again).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext } from 'playwright-core';
import { follow, launchChromium, lines, shows, start } from '../helpers/browser.ts';
import { TestClient } from '../helpers/client.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

let browser: BrowserContext;
const servers: TestServer[] = [];
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await Promise.all(servers.map((s) => s.stop()));
});

async function say(url: string, room: string, texts: string[]): Promise<void> {
  const bob = await TestClient.connect(url);
  bob.send({ type: 'join', room, name: 'bob' });
  await bob.nextOf('welcome', 3000, (w) => w.room === room);
  for (const text of texts) {
    bob.send({ type: 'say', text });
    await bob.nextOf('message', 3000, (m) => m.text === text);
  }
  bob.close();
}

test('after a restart the page follows again with since, replays what it missed and marks the truncated history', async () => {
  const first = await startServer({ pingIntervalMs: 200 });
  servers.push(first);
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(first.url);
  await start(page);
  await follow(page, 'replay');
  await say(first.wsUrl, 'replay', ['a1', 'a2', 'a3', 'a4', 'a5']);
  await shows(page, '#messages', 'bob: a5');

  await first.stop(); // 1001: the page retries after at least a second
  const second = await startServer({ pingIntervalMs: 200, port: first.port });
  servers.push(second);
  // Said while the page is away; the restarted server numbers from 1 again, below the page's since.
  await say(second.wsUrl, 'replay', ['b1', 'b2']);
  await shows(page, '#messages', 'history was truncated', 10_000);
  await shows(page, '#messages', 'bob: b2');
  const items = await lines(page);
  const marker = items.findIndex((t) => t.includes('history was truncated'));
  assert.ok(marker >= 0 && items.slice(marker).some((t) => t.endsWith('bob: b1')), items.join('\n'));
  assert.equal(items.filter((t) => t.endsWith('bob: a5')).length, 1, 'nothing shown twice');
  // And the room is live again: the page's own message goes out and comes back.
  await page.fill('#text', 'after the restart');
  await page.click('#say button');
  await shows(page, '#messages', ': after the restart');
  assert.deepEqual(problems, []);
  await page.close();
});
