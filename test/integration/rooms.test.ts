// Many rooms on one socket (subscribe/unsubscribe), with real `ws` clients and the in-process
// broker: per-room delivery, presence and replay, the cap, and `join` as the single-room shorthand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient, type Json } from '../helpers/client.ts';
import { serverPool, type TestServer } from '../helpers/server.ts';

const server = serverPool({ rateLimitPerSec: 1000 });

/** A socket in the default room (lobby), subscribed to `rooms` as well. */
async function follower(s: TestServer, rooms: string[]): Promise<TestClient> {
  const c = await TestClient.connect(s.wsUrl);
  await c.nextOf('welcome');
  for (const room of rooms) await subscribe(c, room);
  return c;
}

async function subscribe(c: TestClient, room: string, since?: string): Promise<Json> {
  c.send({ type: 'subscribe', room, ...(since === undefined ? {} : { since }) });
  return c.nextOf('subscribed', 3000, (m) => m.room === room);
}

async function say(c: TestClient, room: string, text: string): Promise<Json> {
  c.send({ type: 'say', room, text });
  return c.nextOf('message', 3000, (m) => m.text === text);
}

/** The `message` frames a client has been sent, in order, until `last` (a text) arrives. */
async function messagesUntil(c: TestClient, last: string): Promise<Json[]> {
  const got: Json[] = [];
  for (;;) {
    const m = await c.nextOf('message');
    got.push(m);
    if (m.text === last) return got;
  }
}

test('one socket follows several rooms: each room\'s messages and presence reach it with their room', async () => {
  const s = await server();
  const reader = await follower(s, ['north', 'south']);
  const writer = await follower(s, ['north', 'south']);
  assert.deepEqual(await reader.nextOf('presence', 3000, (p) => p.room === 'south' && p.members === 2), { type: 'presence', room: 'south', members: 2 });
  await say(writer, 'north', 'n1');
  await say(writer, 'south', 's1');
  await say(writer, 'lobby', 'l1');
  const got = await messagesUntil(reader, 'l1');
  assert.deepEqual(got.map((m) => [m.room, m.text]), [['north', 'n1'], ['south', 's1'], ['lobby', 'l1']]);
  reader.close();
  writer.close();
});

test('say without room goes to the room subscribed last; with a room the socket does not follow: not_subscribed, and it carries on', async () => {
  const s = await server();
  const c = await follower(s, ['first', 'second']);
  c.send({ type: 'say', text: 'where?' });
  assert.equal((await c.nextOf('message', 3000, (m) => m.text === 'where?')).room, 'second');
  c.send({ type: 'say', room: 'elsewhere', text: 'lost' });
  assert.deepEqual(await c.nextOf('error'), { type: 'error', reason: 'not_subscribed', room: 'elsewhere' });
  c.send({ type: 'typing', room: 'elsewhere' });
  assert.deepEqual(await c.nextOf('error'), { type: 'error', reason: 'not_subscribed', room: 'elsewhere' });
  assert.equal((await say(c, 'first', 'still here')).room, 'first');
  c.close();
});

test('unsubscribe: answered, and nothing of that room arrives after it; unsubscribing a room not followed is not_subscribed', async () => {
  const s = await server();
  const reader = await follower(s, ['keep', 'drop']);
  const writer = await follower(s, ['keep', 'drop']);
  reader.send({ type: 'unsubscribe', room: 'drop' });
  assert.deepEqual(await reader.nextOf('unsubscribed'), { type: 'unsubscribed', room: 'drop' });
  await say(writer, 'drop', 'not for you');
  await say(writer, 'keep', 'for you');
  const got = await messagesUntil(reader, 'for you');
  assert.deepEqual(got.map((m) => m.room), ['keep'], 'the message said in the room left first never arrived');
  reader.send({ type: 'unsubscribe', room: 'drop' });
  assert.deepEqual(await reader.nextOf('error'), { type: 'error', reason: 'not_subscribed', room: 'drop' });
  assert.equal((await writer.nextOf('presence', 3000, (p) => p.room === 'drop' && p.members === 1)).members, 1, 'presence counts the socket out');
  reader.close();
  writer.close();
});

test('per-room replay after a reconnect: every room resumes from its own since, no repeat, no gap', async () => {
  const s = await server();
  const writer = await follower(s, ['red', 'blue']);
  let reader = await follower(s, ['red', 'blue']);
  const seen = { red: [await say(writer, 'red', 'r0')], blue: [await say(writer, 'blue', 'b0'), await say(writer, 'blue', 'b1')] };
  await messagesUntil(reader, 'b1');
  reader.close();
  await reader.closed;
  const missed = { red: ['r1', 'r2'], blue: ['b2'] };
  for (const [room, texts] of Object.entries(missed)) for (const text of texts) await say(writer, room, text);
  reader = await follower(s, []);
  for (const room of ['red', 'blue'] as const) {
    const since = String(seen[room].at(-1)!.id);
    const answer = await subscribe(reader, room, since);
    assert.equal(typeof answer.last, 'string');
    const history = await reader.nextOf('history', 3000, (h) => h.room === room);
    assert.deepEqual(history, { type: 'history', room, since, truncated: false, count: missed[room].length });
    const replayed: Json[] = [];
    for (let i = 0; i < missed[room].length; i++) replayed.push(await reader.nextOf('message', 3000, (m) => m.room === room));
    assert.deepEqual(replayed.map((m) => m.text), missed[room]);
  }
  await say(writer, 'red', 'r3');
  assert.equal((await reader.nextOf('message')).text, 'r3', 'then live: no repeat of what the replay sent');
  reader.close();
  writer.close();
});

test('subscribing to a room already followed is a resubscribe with its since: the history again, no duplicate live delivery', async () => {
  const s = await server();
  const c = await follower(s, ['again']);
  const m0 = await say(c, 'again', 'm0');
  await say(c, 'again', 'm1');
  await subscribe(c, 'again', String(m0.id));
  assert.equal((await c.nextOf('history')).count, 1);
  assert.equal((await c.nextOf('message')).text, 'm1');
  c.send({ type: 'say', room: 'again', text: 'm2' });
  c.send({ type: 'say', room: 'lobby', text: 'marker' });
  const got = await messagesUntil(c, 'marker');
  assert.deepEqual(got.map((m) => m.text), ['m2', 'marker'], 'm2 arrived once');
  c.close();
});

test('MAX_ROOMS_PER_CONNECTION: past the cap too_many_rooms, the socket stays open; a resubscribe at the cap is allowed', async () => {
  const s = await server({ maxRoomsPerConnection: 3 });
  const c = await follower(s, ['two', 'three']);
  c.send({ type: 'subscribe', room: 'four' });
  assert.deepEqual(await c.nextOf('error'), { type: 'error', reason: 'too_many_rooms', room: 'four' });
  await subscribe(c, 'three');
  c.send({ type: 'unsubscribe', room: 'two' });
  await c.nextOf('unsubscribed');
  await subscribe(c, 'four');
  assert.equal((await say(c, 'four', 'fits now')).room, 'four');
  c.close();
});

test('join is still the single-room shorthand: it leaves every room followed and follows one', async () => {
  const s = await server();
  const reader = await follower(s, ['old-a', 'old-b']);
  const writer = await follower(s, ['old-a', 'old-b', 'new']);
  reader.send({ type: 'join', room: 'new', name: 'reader' });
  assert.equal((await reader.nextOf('welcome', 3000, (w) => w.room === 'new')).name, 'reader');
  await say(writer, 'old-a', 'gone a');
  await say(writer, 'old-b', 'gone b');
  await say(writer, 'new', 'here');
  assert.deepEqual((await messagesUntil(reader, 'here')).map((m) => m.room), ['new']);
  reader.send({ type: 'say', text: 'to the joined room' });
  assert.equal((await reader.nextOf('message', 3000, (m) => m.text === 'to the joined room')).room, 'new');
  reader.close();
  writer.close();
});

test('anonymous sockets cannot follow @me: forbidden, and the socket carries on', async () => {
  const s = await server();
  const c = await follower(s, []);
  c.send({ type: 'subscribe', room: '@me' });
  assert.deepEqual(await c.nextOf('error'), { type: 'error', reason: 'forbidden', room: '@me' });
  c.send({ type: 'say', room: '@me', text: 'hi' });
  assert.deepEqual(await c.nextOf('error'), { type: 'error', reason: 'forbidden', room: '@me' });
  assert.equal((await say(c, 'lobby', 'fine')).room, 'lobby');
  c.close();
});

test('latest-value rooms keep their newest message, and every subscribe gets it at once, with or without since', async () => {
  const s = await server({ latestRooms: { exact: new Set(['weather']), prefixes: ['ticker-'] } });
  const writer = await follower(s, ['ticker-acme', 'weather', 'plain']);
  const first = await say(writer, 'ticker-acme', '101');
  await say(writer, 'ticker-acme', '102');
  const newest = await say(writer, 'ticker-acme', '103');
  await say(writer, 'plain', 'p1');
  const reader = await follower(s, []);
  const answer = await subscribe(reader, 'ticker-acme');
  assert.equal(answer.last, newest.id);
  assert.deepEqual(await reader.nextOf('message'), newest, 'the newest value right after subscribed, without since');
  await subscribe(reader, 'ticker-acme', String(first.id));
  assert.deepEqual(await reader.nextOf('history', 3000, (h) => h.room === 'ticker-acme'), { type: 'history', room: 'ticker-acme', since: String(first.id), truncated: false, count: 1 });
  assert.equal((await reader.nextOf('message')).text, '103', 'with since: only the newest, not what led to it');
  await subscribe(reader, 'ticker-acme', String(newest.id));
  await reader.nextOf('history', 3000, (h) => h.room === 'ticker-acme');
  assert.deepEqual(await reader.nextOf('message'), newest, 'with since = the newest id: the newest again, the current value');
  await say(writer, 'weather', 'cloudy');
  await say(writer, 'weather', 'sunny');
  await subscribe(reader, 'weather');
  assert.equal((await reader.nextOf('message')).text, 'sunny', 'an exact name in LATEST_ROOMS too');
  await subscribe(reader, 'plain');
  await say(writer, 'plain', 'p2');
  assert.equal((await reader.nextOf('message')).text, 'p2', 'a room outside LATEST_ROOMS sends nothing on subscribe without since');
  reader.close();
  writer.close();
});

test('name renames an anonymous socket without leaving its rooms; a bad name is a bad frame', async () => {
  const s = await server();
  const c = await follower(s, ['kept']);
  c.send({ type: 'name', name: 'Ann' });
  assert.deepEqual(await c.nextOf('named'), { type: 'named', name: 'Ann' });
  assert.equal((await say(c, 'kept', 'still in kept')).from, 'Ann');
  c.send({ type: 'name', name: '\u200b' });
  assert.deepEqual(await c.closed, { code: 1008, reason: 'Invalid field: name' });
});
