// Recovery as the page lives it, through the client library: a server restart the page comes
// back from by itself, replaying what was said meanwhile and sending what the user wrote while it
// was away, each message once; and a token that expires while the page is open, refreshed in-band
// so the socket never closes. Needs redis-server (apt-get install redis-server): the restart keeps
// its history there, as a production restart does, so the replay is a real one, not a truncation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BrowserContext } from 'playwright-core';
import { follow, launchChromium, lines, shows, start, stateIs, watchConsole, wire } from '../helpers/browser.ts';
import { TestClient } from '../helpers/client.ts';
import { replayJoin, suiteRedis } from '../helpers/redis.ts';
import { eventually, serverPool } from '../helpers/server.ts';
import { hs256, SECRET } from '../helpers/tokens.ts';
import { parseIdentityConfig } from '../../src/config/identity.ts';

let browser: BrowserContext;
const redis = suiteRedis();
const server = serverPool({ pingIntervalMs: 200 });
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

test('a server restart: the page reconnects by itself, replays what was said meanwhile and sends what was written offline, each once', async () => {
  const config = { redisUrl: redis.url };
  const first = await server(config);
  // Bob talks on another instance sharing the Redis, so he can go on while the page's server is down.
  const other = await server(config);
  const page = await browser.newPage();
  const problems = watchConsole(page);
  const frames = wire(page);
  await page.goto(first.url);
  await start(page);
  await follow(page, 'restart');
  const bob = await TestClient.connect(other.wsUrl);
  bob.send({ type: 'join', room: 'restart', name: 'bob' });
  await bob.nextOf('welcome', 3000, (w) => w.room === 'restart');
  const copies: Record<string, unknown>[] = [];
  for (const text of ['a1', 'a2']) {
    bob.send({ type: 'say', text });
    copies.push(await bob.nextOf('message', 3000, (m) => m.text === text));
  }
  await shows(page, '#messages', 'bob: a2');
  await page.fill('#text', 'before the restart');
  await page.click('#say button');
  await bob.nextOf('message', 3000, (m) => m.text === 'before the restart');

  await first.stop(); // 1001 Server shutting down: the page retries after at least a second
  await stateIs(page, 'reconnecting (1001 Server shutting down');
  for (const text of ['b1', 'b2']) {
    bob.send({ type: 'say', text });
    await bob.nextOf('message', 3000, (m) => m.text === text);
  }
  // Written while away: the library keeps it, and sends it once the room is followed again.
  await page.fill('#text', 'written while away');
  await page.click('#say button');
  await shows(page, '#messages', 'Not connected: sent once back.');
  const second = await server({ ...config, port: first.port });

  await stateIs(page, 'open', 10_000);
  await shows(page, '#messages', ': written while away');
  await bob.nextOf('message', 3000, (m) => m.text === 'written while away');
  const shown = (await lines(page)).filter((t) => / {2}\S+: /.test(t)).map((t) => t.replace(/^.* {2}(\S+): /, (_, from: string) => (from === 'bob' ? 'bob: ' : 'me: ')));
  assert.deepEqual(shown, ['bob: a1', 'bob: a2', 'me: before the restart', 'bob: b1', 'bob: b2', 'me: written while away'], 'each message once, in order');
  const items = await lines(page);
  assert.ok(items.indexOf('Back in restart: anything missed follows.') < items.findIndex((t) => t.endsWith('bob: b1')), items.join('\n'));
  // Stored once: the room's history after a1 holds each message once.
  const stored = await replayJoin(second.wsUrl, 'restart', String(copies[0]?.id));
  assert.deepEqual(stored.texts, ['a2', 'before the restart', 'b1', 'b2', 'written while away']);
  assert.equal(await page.textContent('#reconnects'), '1');
  assert.equal(await page.textContent('#toggle'), 'Stop', 'nobody pressed anything');
  assert.equal(frames.sockets(), 2);
  assert.deepEqual(problems, [], 'no console errors or warnings');
  bob.close();
  await page.close();
});

test('identity mode: a token that expires while the page is open is refreshed in-band, and the socket never closes', async () => {
  const s = await server({ identity: parseIdentityConfig({ AUTH_JWT_SECRET: SECRET }) });
  const claims = { sub: 'u-dana', name: 'Dana', rooms: ['lobby', 'vault'] };
  const short = await hs256(claims, 8);
  const expiresAt = 1000 * (JSON.parse(Buffer.from(String(short.split('.')[1]), 'base64url').toString()) as { exp: number }).exp;
  const page = await browser.newPage();
  const problems = watchConsole(page);
  const frames = wire(page);
  await page.goto(`${s.url}/#access_token=${short}`);
  await start(page);
  await follow(page, 'vault');
  // The user pastes a fresh token well before the library asks for one (at two thirds of the lifetime).
  const fresh = await hs256(claims, 600);
  await page.fill('#token', fresh);

  await eventually(() => frames.sent.some((f) => f.type === 'refresh'), expiresAt - Date.now(), 'the page to send a refresh before the first token expires');
  assert.deepEqual(frames.sent.filter((f) => f.type === 'refresh'), [{ type: 'refresh', token: fresh }]);
  // Past the first token's expiry, and two heartbeat sweeps (200 ms each) that would have closed it.
  await sleep(Math.max(0, expiresAt - Date.now()) + 500);
  await page.fill('#text', 'after the first token expired');
  await page.click('#say button');
  await shows(page, '#messages', 'Dana: after the first token expired');
  await page.waitForFunction(() => /ms \(chat ack\)/.test(document.querySelector('#rtt')?.textContent ?? ''), undefined, { timeout: 3000 });

  const states = (await lines(page, '#exchange')).map((t) => t.replace(/^\S+ {2}/, '')).filter((t) => !t.startsWith('acknowledged'));
  assert.deepEqual(states, ['connecting', 'open'], 'the state never left open');
  assert.equal(await page.textContent('#reconnects'), '0');
  assert.equal(frames.sockets(), 1, 'one socket all along');
  assert.deepEqual(s.logs.filter((l) => l.msg === 'socket closed' && l.code === 4001), [], 'no 4001 close');
  assert.deepEqual(s.logs.filter((l) => l.msg === 'token refresh refused'), []);
  assert.deepEqual(problems, [], 'no console errors or warnings');
  await page.close();
});
