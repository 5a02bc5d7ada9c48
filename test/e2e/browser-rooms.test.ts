// The page following many rooms at once, in a real browser: a list of rooms with unread counts,
// a switch of view that shows what a room said meanwhile, `say` into the room in view, leaving,
// every room resubscribed with its own `since` after a reconnect, and (identity mode) the `@me`
// notifications panel fed by the server API. Every page's console stays free of errors and
// warnings (an uncompilable `pattern` attribute once logged one on every join).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { droppable, follow, launchChromium, lines, shows, stateIs, WAIT, watchConsole } from '../helpers/browser.ts';
import { TestClient } from '../helpers/client.ts';
import { serverPool, type TestServer } from '../helpers/server.ts';
import { hs256, SECRET } from '../helpers/tokens.ts';
import { parseIdentityConfig } from '../../src/config/identity.ts';

const KEY = 'k'.repeat(20) + '-api-key-for-browser-rooms';

let browser: BrowserContext;
const server = serverPool({ pingIntervalMs: 200 });
before(async () => {
  browser = await launchChromium();
});
after(() => browser?.close());

/** A started page (at `path`, e.g. a token link) with its console watched; `before` runs before it loads. */
async function startedPage(s: TestServer, path = '/', before?: (page: Page) => Promise<unknown>): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems = watchConsole(page);
  await before?.(page);
  await page.goto(`${s.url}${path}`);
  await page.click('#toggle');
  await stateIs(page, 'open');
  return { page, problems };
}

/** The room list's unread badge of `room`: its count, and whether it is shown. */
async function unread(page: Page, room: string): Promise<{ count: string; shown: boolean }> {
  const badge = page.locator(`#rooms li[data-room="${room}"] .unread`);
  return { count: String(await badge.textContent(WAIT)), shown: await badge.isVisible() };
}

/** The page (in the server's default room, lobby) follows `first`, then `second`, which stays in view. */
async function followTwo(page: Page, first: string, second: string): Promise<void> {
  await page.waitForSelector('#rooms li[data-room="lobby"]', WAIT);
  await follow(page, first);
  await follow(page, second);
  assert.equal(await page.textContent('#room-label'), second);
}

/** A `ws` client in `rooms` (joined to the first, subscribed to the rest), named bob. */
async function bobIn(s: TestServer, ...rooms: string[]): Promise<TestClient> {
  const bob = await TestClient.connect(s.wsUrl);
  const [first, ...rest] = rooms;
  bob.send({ type: 'join', room: first, name: 'bob' });
  await bob.nextOf('welcome', 3000, (w) => w.room === first);
  for (const room of rest) {
    bob.send({ type: 'subscribe', room });
    await bob.nextOf('subscribed', 3000, (m) => m.room === room);
  }
  return bob;
}

/** Bob says `text` into `room` and waits for his own copy: the message is stored and delivered. */
async function say(bob: TestClient, room: string, text: string): Promise<void> {
  bob.send({ type: 'say', room, text });
  await bob.nextOf('message', 3000, (m) => m.text === text && m.room === room);
}

test('two rooms on one page: unread counts for the room not in view, a switch shows it and resets the count, say and leave go to the room in view', async () => {
  const s = await server();
  const { page, problems } = await startedPage(s);
  assert.equal(await page.isVisible('#notifications-card'), false, 'no notifications panel without identity mode');
  await followTwo(page, 'north', 'south');
  const bob = await bobIn(s, 'north');

  await say(bob, 'north', 'news from north');
  await page.waitForFunction(() => document.querySelector('#rooms li[data-room="north"] .unread')?.textContent === '1', undefined, WAIT);
  assert.deepEqual(await unread(page, 'north'), { count: '1', shown: true });
  assert.deepEqual(await unread(page, 'south'), { count: '0', shown: false });
  assert.doesNotMatch(String(await page.textContent('#messages')), /news from north/, 'a room not in view does not show its messages');

  await page.click('#rooms li[data-room="north"] .room-open');
  await shows(page, '#messages', 'bob: news from north');
  assert.equal(await page.textContent('#room-label'), 'north');
  assert.deepEqual(await unread(page, 'north'), { count: '0', shown: false }, 'read once in view');

  // The page's `say` names the room in view: bob follows only north and hears it there.
  await page.fill('#text', 'reply from alice');
  await page.click('#say button');
  const reply = await bob.nextOf('message', 3000, (m) => m.text === 'reply from alice');
  assert.equal(reply.room, 'north');

  // Leave: `unsubscribe`, the room goes from the list, the view moves to the first room left, bob sees alice go.
  await page.click('#rooms li[data-room="north"] .room-leave');
  await page.waitForSelector('#rooms li[data-room="north"]', { state: 'detached', ...WAIT });
  await bob.nextOf('presence', 3000, (p) => p.room === 'north' && p.members === 1);
  assert.equal(await page.textContent('#room-label'), 'lobby');
  await shows(page, '#messages', 'You left north.');
  assert.deepEqual(problems, [], 'no console errors or warnings');
  bob.close();
  await page.close();
});

test('after a dropped connection every followed room is subscribed again with its own since and replays what it missed', async () => {
  const s = await server();
  let route: Awaited<ReturnType<typeof droppable>> | undefined;
  const { page, problems } = await startedPage(s, '/', async (p) => (route = await droppable(p)));
  assert.ok(route);
  await followTwo(page, 'east', 'west');
  const bob = await bobIn(s, 'east', 'west');
  await say(bob, 'east', 'seen in east');
  await page.waitForFunction(() => document.querySelector('#rooms li[data-room="east"] .unread')?.textContent === '1', undefined, WAIT);

  // The connection drops; the page reconnects by itself once the test lets it.
  await route.drop();
  await stateIs(page, 'reconnecting (4000 dropped by the test');
  await say(bob, 'east', 'missed in east');
  await say(bob, 'west', 'missed in west');
  const before = route.sent.length;
  route.release();

  await stateIs(page, 'open');
  await shows(page, '#messages', 'bob: missed in west');
  const west = await lines(page);
  assert.ok(west.findIndex((t) => t === 'Back in west: anything missed follows.') < west.findIndex((t) => t.endsWith('bob: missed in west')), west.join('\n'));
  await page.waitForFunction(() => document.querySelector('#rooms li[data-room="east"] .unread')?.textContent === '2', undefined, WAIT);
  const again = route.sent.slice(before).filter((f) => f.type === 'subscribe');
  assert.deepEqual(again.map((f) => [f.room, typeof f.since]).sort(), [['east', 'string'], ['lobby', 'string'], ['west', 'string']], JSON.stringify(again));

  await page.click('#rooms li[data-room="east"] .room-open');
  await shows(page, '#messages', 'bob: missed in east');
  const east = await lines(page);
  assert.equal(east.filter((t) => t.endsWith('bob: seen in east')).length, 1, `nothing shown twice:\n${east.join('\n')}`);
  assert.equal(await page.textContent('#reconnects'), '1');
  assert.deepEqual(problems, [], 'no console errors or warnings');
  bob.close();
  await page.close();
});

async function api(s: TestServer, method: string, path: string, body?: unknown): Promise<number> {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  await res.body?.cancel();
  return res.status;
}

test('identity mode: the server API notifies the user in the notifications panel, across rooms followed, and takes a room away', async () => {
  const s = await server({ identity: parseIdentityConfig({ AUTH_JWT_SECRET: SECRET, API_KEY: KEY }) });
  const token = await hs256({ sub: 'u-carol', name: 'Carol' }, 600);
  const { page, problems } = await startedPage(s, `/#access_token=${token}`);
  assert.equal(await page.isVisible('#notifications-card'), true);
  // The page follows `@me` by itself once connected: the panel says so.
  await shows(page, '#notifications', 'Notifications from the server appear here.');

  assert.equal(await api(s, 'POST', '/api/users/u-carol/messages', { text: 'your report is ready', from: 'Reports' }), 201);
  await shows(page, '#notifications', '[server] Reports: your report is ready');
  assert.doesNotMatch(String(await page.textContent('#messages')), /your report is ready/, 'a notification is not a chat message');
  assert.equal(await page.locator('#rooms .unread:visible').count(), 0, 'and counts as unread in no room');

  // Following another room leaves `@me` followed: nothing is lost.
  await follow(page, 'ops');
  await shows(page, '#messages', 'You are Carol in ops');
  assert.equal(await api(s, 'POST', '/api/users/u-carol/messages', { text: 'after following ops' }), 201);
  await shows(page, '#notifications', '[server] server: after following ops');

  // The backend takes the user out of a room: it leaves the list, and the page says why.
  await follow(page, 'incident');
  assert.equal(await api(s, 'DELETE', '/api/users/u-carol/rooms/incident'), 202);
  await page.waitForSelector('#rooms li[data-room="incident"]', { state: 'detached', ...WAIT });
  await shows(page, '#messages', 'The server took you out of incident.');
  assert.equal(await page.textContent('#room-label'), 'lobby');
  assert.deepEqual(problems, [], 'no console errors or warnings');
  await page.close();
});
