// The page in auth mode, in a real browser: a token from a link's #access_token=, who you are
// shown, the token's name kept, 4001 when the token expires with no fresh one given, then a fresh
// token pasted and the messages missed meanwhile replayed with `since`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext } from 'playwright-core';
import { follow, launchChromium, lines, shows, stateIs } from '../helpers/browser.ts';
import { TestClient } from '../helpers/client.ts';
import { serverPool, type TestServer } from '../helpers/server.ts';
import { hs256, SECRET } from '../helpers/tokens.ts';
import { parseIdentityConfig } from '../../src/config/identity.ts';

let browser: BrowserContext;
let s: TestServer;
const server = serverPool();
before(async () => {
  browser = await launchChromium();
  s = await server({ identity: parseIdentityConfig({ AUTH_JWT_SECRET: SECRET }), pingIntervalMs: 200 });
});
after(() => browser?.close());

test('auth mode: link token, who you are, 4001 on expiry, a new token, and nothing missed', async () => {
  // Without a token the page asks for one instead of connecting.
  const bare = await browser.newPage();
  await bare.goto(s.url);
  await bare.click('#toggle');
  assert.equal(await bare.isVisible('#auth'), true);
  assert.equal(await bare.textContent('#state'), 'idle');
  await bare.close();

  // A link carrying a token that expires in 3 s: the address bar loses it at once.
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  const short = await hs256({ sub: 'u-alice', name: 'Alice', rooms: ['lobby', 'team-*'] }, 3);
  await page.goto(`${s.url}/#access_token=${short}`);
  assert.ok(!page.url().includes('access_token'), 'the token is taken out of the URL');
  await page.click('#toggle');
  await page.waitForFunction(() => document.querySelector('#whoami')?.textContent === 'Signed in as Alice (u-alice)', undefined, { timeout: 5000 });
  await follow(page, 'team-red');
  await shows(page, '#messages', 'You are Alice in team-red');

  // Before it expires the page asks for a fresh token; none comes, so 4001, and it asks again.
  await page.waitForFunction(() => document.querySelector('#token')?.getAttribute('placeholder') === 'token expires soon: paste a fresh one', undefined, { timeout: 5000 });
  await stateIs(page, 'reconnecting (4001 Token expired', 6000);
  await page.waitForFunction(() => document.querySelector('#token')?.getAttribute('placeholder') === 'token expired: paste a new one', undefined, { timeout: 3000 });

  // Meanwhile the room goes on.
  const bob = await TestClient.connect(`${s.wsUrl}?access_token=${await hs256({ sub: 'u-bob', name: 'Bob' })}`);
  bob.send({ type: 'join', room: 'team-red', name: 'ignored' });
  await bob.nextOf('welcome', 3000, (w) => w.room === 'team-red');
  bob.send({ type: 'say', text: 'said while you were away' });
  await bob.nextOf('message', 3000, (m) => m.text === 'said while you were away');

  // A fresh token: back in the room with what was missed.
  await page.fill('#token', await hs256({ sub: 'u-alice', name: 'Alice', rooms: ['lobby', 'team-*'] }, 600));
  await page.click('#auth button');
  await stateIs(page, 'open');
  await shows(page, '#messages', 'Back in team-red: anything missed follows.');
  await shows(page, '#messages', 'Bob: said while you were away');
  const shown = await lines(page);
  assert.ok(shown.findIndex((t) => t.startsWith('Back in team-red')) < shown.findIndex((t) => t.endsWith('Bob: said while you were away')), shown.join('\n'));
  assert.equal(s.logs.filter((l) => l.msg === 'socket closed' && l.code === 4001).length, 1, 'one expiry, one close');
  await page.screenshot({ path: process.env.SCREENSHOT_DIR ? `${process.env.SCREENSHOT_DIR}/auth.png` : undefined, fullPage: true });
  assert.deepEqual(problems, []);
  bob.close();
  await page.close();
});
