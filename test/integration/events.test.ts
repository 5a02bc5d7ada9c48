// The backend's events without Redis (docs/events.md): made in this process, POSTed signed to a
// real local receiver. Membership per member (a user's sockets count once), per-room sequence
// numbers without gaps, EVENTS choosing what is made, and nothing at all when it is unset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_KEY, call } from '../helpers/api.ts';
import { TestClient, type Json } from '../helpers/client.ts';
import { eventually, serverPool, type TestServer } from '../helpers/server.ts';
import { hs256, SECRET } from '../helpers/tokens.ts';
import { startReceiver, TEST_WEBHOOK_SECRET, type Receiver } from '../helpers/webhook-receiver.ts';
import { parseConfig } from '../../src/config/config.ts';
import { parseIdentityConfig } from '../../src/config/identity.ts';
import type { BackendEvent } from '../../src/protocol/backend-events.ts';

const server = serverPool({ rateLimitPerSec: 1000 });

async function eventsServer(receiver: Receiver, env: Record<string, string> = {}, overrides = {}): Promise<TestServer> {
  const { events, eventsIncludeText, webhookUrl, webhookSecret, webhookRetryBaseMs } = parseConfig({ EVENTS: 'all', WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: TEST_WEBHOOK_SECRET, WEBHOOK_RETRY_BASE_MS: '50', ...env });
  return server({ events, eventsIncludeText, webhookUrl, webhookSecret, webhookRetryBaseMs, ...overrides });
}

async function subscribe(c: TestClient, room: string): Promise<Json> {
  c.send({ type: 'subscribe', room });
  return c.nextOf('subscribed', 3000, (m) => m.room === room);
}

/** The events of `room`, by seq: the sequence must be 1..n without a gap or repeat. */
function roomEvents(receiver: Receiver, room: string): BackendEvent[] {
  const events = [...receiver.distinct().values()].filter((e) => e.room === room).sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i + 1), `${room}: seq 1..n without gaps`);
  return events;
}

test('anonymous sockets: opened, occupied, joined, published, left, vacated and closed arrive signed, each room in sequence', async () => {
  const receiver = await startReceiver();
  const s = await eventsServer(receiver);
  const a = await TestClient.connect(s.wsUrl);
  const aId = (await a.nextOf('welcome')).id as string;
  const b = await TestClient.connect(s.wsUrl);
  await b.nextOf('welcome');
  await subscribe(a, 'team');
  a.send({ type: 'say', room: 'team', text: 'secret plans' });
  const said = await a.nextOf('message', 3000, (m) => m.room === 'team');
  a.close();
  await a.closed;
  await eventually(() => receiver.ofType('connection.closed').length === 1, 5000, 'connection.closed');
  assert.equal(receiver.badSignatures, 0);

  const team = roomEvents(receiver, 'team');
  assert.deepEqual(team.map((e) => [e.type, e.connId, e.reason]), [
    ['room.occupied', aId, undefined],
    ['room.member_joined', aId, undefined],
    ['message.published', aId, undefined],
    ['room.member_left', aId, 'closed'],
    ['room.vacated', aId, undefined],
  ]);
  const published = team[2];
  assert.equal(published?.messageId, said.id);
  assert.equal(published?.text, undefined, 'no text unless EVENTS_INCLUDE_TEXT');
  // The lobby keeps b: a left it, and it did not empty.
  const lobby = roomEvents(receiver, 'lobby');
  assert.deepEqual(lobby.map((e) => e.type), ['room.occupied', 'room.member_joined', 'room.member_joined', 'room.member_left']);
  const closed = receiver.ofType('connection.closed')[0];
  assert.deepEqual([closed?.connId, closed?.code, closed?.reason], [aId, 1005, 'closed']);
  assert.equal(receiver.ofType('connection.opened').length, 2);
  const ids = receiver.events.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, 'ids are unique');
  for (const e of receiver.events) assert.ok(!Number.isNaN(Date.parse(e.time)) && typeof e.instance === 'string' && e.instance.length > 0, 'time and instance on every event');
  b.close();
});

test('a user is one member however many sockets: joined for the first, left for the last; unsubscribe leaves with reason left', async () => {
  const receiver = await startReceiver();
  const s = await eventsServer(receiver, { EVENTS: 'room.member_joined,room.member_left,room.vacated' }, { identity: parseIdentityConfig({ AUTH_JWT_SECRET: SECRET }) });
  const token = await hs256({ sub: 'alice', name: 'Alice' });
  const phone = await TestClient.connect(`${s.wsUrl}?access_token=${token}`);
  const laptop = await TestClient.connect(`${s.wsUrl}?access_token=${token}`);
  for (const c of [phone, laptop]) await c.nextOf('welcome');
  for (const c of [phone, laptop]) await subscribe(c, 'team');
  phone.send({ type: 'unsubscribe', room: 'team' });
  await phone.nextOf('unsubscribed');
  laptop.send({ type: 'unsubscribe', room: 'team' });
  await laptop.nextOf('unsubscribed');
  await eventually(() => receiver.ofType('room.vacated').some((e) => e.room === 'team'), 5000, 'team vacated');
  const team = roomEvents(receiver, 'team');
  assert.deepEqual(team.map((e) => [e.type, e.sub, e.reason]), [
    ['room.member_joined', 'alice', undefined],
    ['room.member_left', 'alice', 'left'],
    ['room.vacated', 'alice', undefined],
  ]);
  assert.equal(receiver.ofType('connection.opened').length, 0, 'only the types EVENTS names');
  // A personal channel is a user's own sockets, not a room: no membership events for it.
  assert.ok(![...receiver.distinct().values()].some((e) => e.room?.startsWith('@')), 'no events for personal channels');
  phone.close();
  laptop.close();
});

test('EVENTS_INCLUDE_TEXT puts the text in message.published', async () => {
  const receiver = await startReceiver();
  const s = await eventsServer(receiver, { EVENTS: 'message.published', EVENTS_INCLUDE_TEXT: 'true' });
  const a = await TestClient.connect(s.wsUrl);
  await a.nextOf('welcome');
  a.send({ type: 'say', text: 'hello backend' });
  await eventually(() => receiver.ofType('message.published').length === 1, 5000, 'message.published');
  assert.equal(receiver.ofType('message.published')[0]?.text, 'hello backend');
  a.close();
});

test('a publication through the server API is message.published with sender server and no connection', async () => {
  const receiver = await startReceiver();
  const s = await eventsServer(receiver, { EVENTS: 'message.published' }, { identity: parseIdentityConfig({ API_KEY }) });
  const r = await call(s, 'POST', '/api/rooms/news/messages', { text: 'deploy at 17:00', from: 'Ops' });
  assert.equal(r.status, 201);
  await eventually(() => receiver.ofType('message.published').length === 1, 5000, 'message.published');
  const e = receiver.ofType('message.published')[0];
  assert.deepEqual([e?.room, e?.messageId, e?.from, e?.sender, e?.connId, e?.seq], ['news', (r.body as { id: string }).id, 'Ops', 'server', undefined, 1]);
});

test('EVENTS unset: nothing is POSTed, whatever happens', async () => {
  const receiver = await startReceiver();
  const s = await server({ webhookUrl: receiver.url, webhookSecret: TEST_WEBHOOK_SECRET });
  const a = await TestClient.connect(s.wsUrl);
  await a.nextOf('welcome');
  await subscribe(a, 'team');
  a.send({ type: 'say', room: 'team', text: 'x' });
  await a.nextOf('message');
  a.close();
  await a.closed;
  // The same wait the first test needed for its first batch, and more: a batch would be here by now.
  const marker = await startReceiver();
  const t = await eventsServer(marker, { EVENTS: 'connection.opened' });
  const probe = await TestClient.connect(t.wsUrl);
  await eventually(() => marker.events.length === 1, 5000, 'the marker server POSTed');
  assert.equal(receiver.posts, 0);
  probe.close();
});

test('bad settings stop start-up naming the variable', () => {
  assert.throws(() => parseConfig({ EVENTS: 'room.member_joined,room.exploded', WEBHOOK_URL: 'http://127.0.0.1:1/x', WEBHOOK_SECRET: TEST_WEBHOOK_SECRET }), (err: Error & { variable?: string }) => err.variable === 'EVENTS' && /room\.exploded/.test(err.message));
  assert.throws(() => parseConfig({ EVENTS: 'all' }), (err: Error & { variable?: string }) => err.variable === 'EVENTS' && /REDIS_URL|WEBHOOK_URL/.test(err.message));
  assert.throws(() => parseConfig({ EVENTS: 'all', WEBHOOK_URL: 'ftp://example.com/x', WEBHOOK_SECRET: TEST_WEBHOOK_SECRET }), (err: Error & { variable?: string }) => err.variable === 'WEBHOOK_URL');
  assert.throws(() => parseConfig({ EVENTS: 'all', WEBHOOK_URL: 'http://127.0.0.1:1/x', WEBHOOK_SECRET: 'short' }), (err: Error & { variable?: string }) => err.variable === 'WEBHOOK_SECRET' && !err.message.includes('short'));
  assert.throws(() => parseConfig({ EVENTS_STREAM_MAXLEN: '5' }), (err: Error & { variable?: string }) => err.variable === 'EVENTS_STREAM_MAXLEN');
});
