// The page following many rooms at once, in a real browser: a list of rooms with unread counts,
// a switch of view that shows what a room said meanwhile, `say` into the room in view, leaving,
// every room resubscribed with its own `since` after a reconnect, and (identity mode) the `@me`
// notifications panel fed by the server API. Every page's console stays free of errors and
// warnings (an uncompilable `pattern` attribute once logged one on every join).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium, watchConsole } from '../helpers/browser.ts';
import { TestClient } from '../helpers/client.ts';
import { serverPool, type TestServer } from '../helpers/server.ts';
import { hs256, SECRET } from '../helpers/tokens.ts';
import { parseIdentityConfig } from '../../src/config/identity.ts';

const KEY = 'k'.repeat(20) + '-api-key-for-browser-rooms';
/** Page waits: a regression fails in seconds, naming what it waited for. */
const WAIT = { timeout: 3000 };

let browser: BrowserContext;
const server = serverPool({ pingIntervalMs: 200 });
before(async () => {
  browser = await launchChromium();
});
after(() => browser?.close());

/** A started page (at `path`, e.g. a token link) with its console watched. */
async function startedPage(s: TestServer, path = '/'): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems = watchConsole(page);
  await page.goto(`${s.url}${path}`);
  await page.click('#toggle');
  await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'open', undefined, { timeout: 5000 });
  return { page, problems };
}

const shows = (page: Page, selector: string, text: string): Promise<unknown> =>
  page.waitForFunction(([sel, t]) => document.querySelector(sel)?.textContent?.includes(t), [selector, text] as const, WAIT);

/** The room list's unread badge of `room`: its count, and whether it is shown. */
async function unread(page: Page, room: string): Promise<{ count: string; shown: boolean }> {
  const badge = page.locator(`#rooms li[data-room="${room}"] .unread`);
  return { count: String(await badge.textContent(WAIT)), shown: await badge.isVisible() };
}

/** The page joins `first` through the Join form, then adds `second`, which comes into view. */
async function followTwo(page: Page, first: string, second: string, name: string): Promise<void> {
  await page.fill('#room', first);
  await page.fill('#name', name);
  await page.click('#join button');
  await shows(page, '#messages', `You are ${name} in ${first}`);
  await page.fill('#new-room', second);
  await page.click('#add-room button');
  await page.waitForSelector(`#rooms li[data-room="${second}"] .room-open[aria-current]`, WAIT);
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
  await followTwo(page, 'north', 'south', 'alice');
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

  // Leave: `unsubscribe`, the room goes from the list, the view moves on, bob sees alice go.
  await page.click('#rooms li[data-room="north"] .room-leave');
  await page.waitForSelector('#rooms li[data-room="north"]', { state: 'detached', ...WAIT });
  await bob.nextOf('presence', 3000, (p) => p.room === 'north' && p.members === 1);
  assert.equal(await page.textContent('#room-label'), 'south');
  assert.deepEqual(problems, [], 'no console errors or warnings');
  bob.close();
  await page.close();
});

test('after a reconnect every followed room is subscribed again with its own since and replays what it missed', async () => {
  const s = await server();
  const { page, problems } = await startedPage(s);
  await followTwo(page, 'east', 'west', 'alice');
  const bob = await bobIn(s, 'east', 'west');
  await say(bob, 'east', 'seen in east');
  await page.waitForFunction(() => document.querySelector('#rooms li[data-room="east"] .unread')?.textContent === '1', undefined, WAIT);

  // Stop, then Start: a new socket, which must follow both rooms again from where each was left.
  await page.click('#toggle');
  await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'stopped', undefined, WAIT);
  await say(bob, 'east', 'missed in east');
  await say(bob, 'west', 'missed in west');
  const sent: Record<string, unknown>[] = [];
  page.on('websocket', (ws) => ws.on('framesent', (f) => typeof f.payload === 'string' && f.payload.startsWith('{') && sent.push(JSON.parse(f.payload) as Record<string, unknown>)));
  await page.click('#toggle');

  await shows(page, '#messages', 'bob: missed in west');
  assert.match(String(await page.textContent('#messages')), /1 missed message while reconnecting/);
  await page.waitForFunction(() => document.querySelector('#rooms li[data-room="east"] .unread')?.textContent === '2', undefined, WAIT);
  const join = sent.find((f) => f.type === 'join');
  const subscribe = sent.find((f) => f.type === 'subscribe');
  assert.deepEqual([join?.room, typeof join?.since, join?.name], ['west', 'string', 'alice'], JSON.stringify(sent));
  assert.deepEqual([subscribe?.room, typeof subscribe?.since], ['east', 'string'], JSON.stringify(sent));

  await page.click('#rooms li[data-room="east"] .room-open');
  await shows(page, '#messages', 'bob: missed in east');
  const lines = await page.$$eval('#messages li', (lis) => lis.map((li) => li.textContent ?? ''));
  assert.equal(lines.filter((t) => t.endsWith('bob: seen in east')).length, 1, `nothing shown twice:\n${lines.join('\n')}`);
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

test('identity mode: the server API notifies the user in the notifications panel, through joins, and takes a room away', async () => {
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

  // A join leaves every room, `@me` too: the page follows it again, so nothing is lost.
  await page.fill('#room', 'ops');
  await page.click('#join button');
  await shows(page, '#messages', 'You are Carol in ops');
  assert.equal(await api(s, 'POST', '/api/users/u-carol/messages', { text: 'after the join' }), 201);
  await shows(page, '#notifications', '[server] server: after the join');

  // The backend takes the user out of a room: it leaves the list, and the page says why.
  await page.fill('#new-room', 'incident');
  await page.click('#add-room button');
  await page.waitForSelector('#rooms li[data-room="incident"] .room-open[aria-current]', WAIT);
  assert.equal(await api(s, 'DELETE', '/api/users/u-carol/rooms/incident'), 202);
  await page.waitForSelector('#rooms li[data-room="incident"]', { state: 'detached', ...WAIT });
  await shows(page, '#messages', 'The server took you out of incident.');
  assert.equal(await page.textContent('#room-label'), 'ops');
  assert.deepEqual(problems, [], 'no console errors or warnings');
  await page.close();
});
