// The client library and tokens, against the real server in identity mode: a 20-second token
// refreshed in-band three times with no 4001 and no gap; a refresh that takes a room away; the
// personal channel fed by the server API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Client, type StateChange } from '../../client/socketship.js';
import type { Message } from '../../client/protocol.js';
import { API_KEY, call } from '../helpers/api.ts';
import { within } from '../helpers/bounded.ts';
import { TestClient } from '../helpers/client.ts';
import { eventually, serverPool, type TestServer } from '../helpers/server.ts';
import { hs256, SECRET } from '../helpers/tokens.ts';
import { parseIdentityConfig } from '../../src/config/identity.ts';

const server = serverPool({ rateLimitPerSec: 100 });
const identityServer = (): Promise<TestServer> => server({ identity: parseIdentityConfig({ API_KEY, AUTH_JWT_SECRET: SECRET }) });
const clients: Client[] = [];
test.afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

test('a 20-second token stays connected across three refreshes: no 4001, no reconnect, no message missed', { timeout: 90_000 }, async () => {
  const s = await identityServer();
  let minted = 0;
  const c = connect(s.wsUrl, { getToken: () => (minted++, hs256({ sub: 'long-lived', name: 'Lee' }, 20)) });
  clients.push(c);
  const changes: StateChange[] = [];
  c.on('state', (x) => changes.push(x));
  const got: Message[] = [];
  c.subscribe('lobby', { message: (m) => got.push(m) });
  await eventually(() => c.state === 'open', 3000, 'open');
  const firstExpiry = Number(c.welcome?.expiresAt);
  const speaker = await TestClient.connect(`${s.wsUrl}?access_token=${await hs256({ sub: 'speaker' }, 120)}`);
  await speaker.nextOf('welcome');
  const said: string[] = [];
  const start = Date.now();
  // One message every two seconds while three refreshes happen (one every ~13 s, a third of the lifetime early).
  while (minted < 4 || Date.now() < firstExpiry + 2000) {
    const text = `tick ${said.length}`;
    speaker.send({ type: 'say', text });
    said.push(text);
    await speaker.nextOf('message', 3000, (m) => m.text === text);
    await new Promise((r) => setTimeout(r, 2000));
    assert.ok(Date.now() - start < 70_000, 'three refreshes within 70 s');
  }
  await eventually(() => got.length === said.length, 3000, 'every message');
  assert.deepEqual(got.map((m) => m.text), said, 'no gap, no repeat');
  assert.deepEqual(changes, [{ state: 'open' }], 'opened once, never left open: no close, no reconnect');
  assert.ok(!s.logs.some((l) => l.msg === 'socket closed' && l.code === 4001), 'no 4001');
  assert.ok(minted >= 4, `${minted} tokens: the first and three refreshes`);
  speaker.close();
});

test('a refresh whose token no longer allows a room: the room is dropped with unsubscribed(forbidden)', async () => {
  const s = await identityServer();
  let rooms = ['lobby', 'team-*'];
  const c = connect(s.wsUrl, { getToken: () => hs256({ sub: 'narrowed', rooms }, 60), refreshMarginMs: 59_000 });
  clients.push(c);
  const reasons: string[] = [];
  c.subscribe('team-x', { unsubscribed: (reason) => reasons.push(reason) });
  await eventually(() => c.rooms.get('team-x')?.live === true, 3000, 'live');
  rooms = ['lobby'];
  await c.refresh();
  await eventually(() => reasons.length === 1, 3000, 'unsubscribed');
  assert.deepEqual(reasons, ['forbidden']);
  assert.equal(c.rooms.has('team-x'), false);
  await assert.rejects(c.say('team-x', 'no'), { reason: 'not_subscribed' });
});

test('@me: a message the backend sends the user reaches the library, and one sent while offline is replayed', async () => {
  const s = await identityServer();
  const c = connect(s.wsUrl, { getToken: () => hs256({ sub: 'notified' }, 60) });
  clients.push(c);
  const notes: Message[] = [];
  c.subscribe('@me', { message: (m) => notes.push(m) });
  await eventually(() => c.rooms.get('@me')?.live === true, 3000, 'live');
  assert.equal((await call(s, 'POST', '/api/users/notified/messages', { text: 'order shipped' })).status, 201);
  await eventually(() => notes.length === 1, 3000, 'the notification');
  assert.deepEqual([notes[0]?.room, notes[0]?.sender], ['@me', 'server']);
  await assert.rejects(within(c.say('@me', 'talking to myself'), 3000, 'the refusal'), { name: 'SendError', reason: 'forbidden' });
});

test('a room the backend subscribes the user to (PUT /api/users/{sub}/rooms/{room}) is followed, and the app hears of it', async () => {
  const s = await identityServer();
  const c = connect(s.wsUrl, { getToken: () => hs256({ sub: 'adopted' }, 60) });
  clients.push(c);
  const got: Message[] = [];
  c.on('subscribed', (room) => c.subscribe(room, { message: (m) => got.push(m) }));
  await eventually(() => c.state === 'open', 3000, 'open');
  assert.equal((await call(s, 'PUT', '/api/users/adopted/rooms/ops')).status, 202);
  await eventually(() => c.rooms.get('ops')?.live === true, 3000, 'ops followed');
  assert.equal((await call(s, 'POST', '/api/rooms/ops/messages', { text: 'deploy at 5' })).status, 201);
  await eventually(() => got.length === 1, 3000, 'the message');
  assert.equal(got[0]?.text, 'deploy at 5');
  assert.equal((await within(c.say('ops', 'ack'), 3000, 'a say into it')).room, 'ops');
});
