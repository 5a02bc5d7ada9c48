// The client library (client/socketship.js) in Node against the real server, through a TCP
// forwarder where the network has to fail: several rooms, replay after a drop, an acknowledgement
// lost in a drop (resolved from the replay, or resent with its key and stored once), sends queued
// during an outage, the close codes it must not retry, and 64 rooms resubscribed under the rate limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Client, type StateChange } from '../../client/socketship.js';
import type { Message } from '../../client/protocol.js';
import { API_KEY, call } from '../helpers/api.ts';
import { within } from '../helpers/bounded.ts';
import { TestClient } from '../helpers/client.ts';
import { eventually, serverPool, startServer, type TestServer } from '../helpers/server.ts';
import { tcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { hs256, SECRET } from '../helpers/tokens.ts';
import { parseIdentityConfig } from '../../src/config/identity.ts';

const server = serverPool();
const clients: Client[] = [];
const open = (url: string, options = {}): Client => {
  const c = connect(url, { random: () => 0, ...options });
  clients.push(c);
  return c;
};
test.afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

function states(c: Client): StateChange[] {
  const seen: StateChange[] = [];
  c.on('state', (s) => seen.push(s));
  return seen;
}

/** A room's messages as the library hands them over, in order. */
function inbox(c: Client, room: string): Message[] {
  const got: Message[] = [];
  c.subscribe(room, { message: (m) => got.push(m) });
  return got;
}

async function witness(s: TestServer, room: string): Promise<TestClient> {
  const w = await TestClient.connect(s.wsUrl);
  await w.nextOf('welcome');
  w.send({ type: 'subscribe', room });
  await w.nextOf('subscribed');
  return w;
}

async function withProxy(s: TestServer): Promise<TcpProxy & { url: string }> {
  const p = await tcpProxy(s.port);
  return Object.assign(p, { url: `ws://127.0.0.1:${p.port}/ws` });
}

test('several rooms: says resolve with the stored message, each room hears its own, rtt is measured', async () => {
  const s = await server();
  const c = open(s.wsUrl);
  const red = inbox(c, 'red');
  const blue = inbox(c, 'blue');
  await eventually(() => c.state === 'open' && [...c.rooms.values()].every((r) => r.live), 3000, 'both rooms live');
  const stored = await within(c.say('red', 'r1'), 3000, 'r1');
  assert.match(stored.id, /^\d+$/);
  await within(c.say('blue', 'b1'), 3000, 'b1');
  assert.deepEqual([red.map((m) => m.text), blue.map((m) => m.text)], [['r1'], ['b1']]);
  assert.equal(typeof c.rtt, 'number');
  await assert.rejects(c.say('green', 'x'), { name: 'SendError', reason: 'not_subscribed' });
});

test('a dropped connection: the library reconnects, resubscribes each room with since, and replays what was missed once', async () => {
  const s = await server({ rateLimitPerSec: 1000 });
  const proxy = await withProxy(s);
  const c = open(proxy.url);
  const red = inbox(c, 'red');
  const blue = inbox(c, 'blue');
  const seen = states(c);
  await eventually(() => [...c.rooms.values()].every((r) => r.live), 3000, 'live');
  await within(c.say('red', 'before'), 3000, 'before');
  const w = await witness(s, 'red');
  proxy.refuse(true);
  proxy.drop();
  await eventually(() => c.state === 'reconnecting', 3000, 'reconnecting');
  for (const text of ['missed 1', 'missed 2']) w.send({ type: 'say', room: 'red', text });
  w.send({ type: 'subscribe', room: 'blue' });
  await w.nextOf('subscribed');
  w.send({ type: 'say', room: 'blue', text: 'missed blue' });
  await w.nextOf('message', 3000, (m) => m.text === 'missed blue');
  proxy.refuse(false);
  await eventually(() => red.length === 3 && blue.length === 1, 5000, 'the replay');
  assert.deepEqual(red.map((m) => m.text), ['before', 'missed 1', 'missed 2']);
  assert.deepEqual(blue.map((m) => m.text), ['missed blue']);
  assert.ok(seen.some((x) => x.state === 'reconnecting' && x.code === 1006), JSON.stringify(seen));
  w.close();
  await proxy.close();
});

/**
 * A client in `room` whose say `text` reaches the server and is stored while everything the
 * server sends back is held: its acknowledgement will be lost when the test drops the connection.
 */
async function sayWithAckHeld(overrides: Parameters<typeof server>[0], room: string, text: string) {
  const s = await server(overrides);
  const proxy = await withProxy(s);
  const c = open(proxy.url);
  const got = inbox(c, room);
  await eventually(() => c.rooms.get(room)?.live === true, 3000, 'live');
  const w = await witness(s, room);
  proxy.hold();
  const sent = c.say(room, text);
  const stored = await w.nextOf('message', 3000, (m) => m.text === text);
  return { proxy, got, w, sent, stored };
}

test('an acknowledgement lost in a drop: the say resolves from the replay after the reconnect, stored once', async () => {
  const { proxy, w, sent, stored } = await sayWithAckHeld({}, 'acks', 'did it arrive?');
  proxy.drop();
  assert.equal((await within(sent, 5000, 'the acknowledgement')).id, stored.id);
  await assert.rejects(w.nextOf('message', 500, (m) => m.text === 'did it arrive?'), /timed out/, 'stored and delivered once');
  w.close();
  await proxy.close();
});

test('an acknowledgement lost and the say the last message of the replay: acknowledged by it, not sent again (regression)', async () => {
  // With a short SAY_DEDUPE_MS the server has forgotten the key by the time the client is back
  // (its backoff is at least 1 s): a resend would store the say twice.
  const { proxy, w, sent, stored } = await sayWithAckHeld({ sayDedupeMs: 1000 }, 'quiet', 'said once');
  proxy.drop();
  assert.equal((await within(sent, 5000, 'the acknowledgement')).id, stored.id);
  await assert.rejects(w.nextOf('message', 1000, (m) => m.text === 'said once'), /timed out/, 'not sent and stored again');
  w.close();
  await proxy.close();
});

test('an acknowledgement lost and the message out of the replay: resent with its key, answered with the first copy, stored once', async () => {
  const { proxy, got, w, sent, stored } = await sayWithAckHeld({ historySize: 1, rateLimitPerSec: 1000 }, 'tiny', 'lost ack');
  proxy.refuse(true);
  proxy.drop();
  for (const text of ['push 1', 'push 2']) w.send({ type: 'say', room: 'tiny', text });
  await w.nextOf('message', 3000, (m) => m.text === 'push 2');
  proxy.refuse(false);
  assert.equal((await within(sent, 5000, 'the acknowledgement')).id, stored.id, 'the first copy, not a second message');
  await assert.rejects(w.nextOf('message', 500, (m) => m.text === 'lost ack'), /timed out/, 'not stored or delivered again');
  assert.ok(!got.some((m, i) => got.findIndex((n) => n.id === m.id) !== i), 'no repeat handed to the app');
  w.close();
  await proxy.close();
});

test('sends made during an outage wait and go out after it, at most queueMax of them', async () => {
  const s = await server();
  const proxy = await withProxy(s);
  const c = open(proxy.url, { queueMax: 2 });
  inbox(c, 'q');
  await eventually(() => c.rooms.get('q')?.live === true, 3000, 'live');
  proxy.refuse(true);
  proxy.drop();
  await eventually(() => c.state === 'reconnecting', 3000, 'reconnecting');
  const a = c.say('q', 'queued a');
  const b = c.say('q', 'queued b');
  await assert.rejects(c.say('q', 'one too many'), { reason: 'queue_full' });
  proxy.refuse(false);
  assert.deepEqual([(await within(a, 5000, 'a')).text, (await within(b, 5000, 'b')).text], ['queued a', 'queued b']);
  await proxy.close();
});

test('no reconnect after 4003 (the server API disconnects the user) nor 1008; waiting sends fail with closed', async () => {
  const s = await server({ identity: parseIdentityConfig({ API_KEY, AUTH_JWT_SECRET: SECRET }) });
  const c = open(s.wsUrl, { getToken: () => hs256({ sub: 'kicked' }) });
  inbox(c, 'lobby');
  await eventually(() => c.state === 'open', 3000, 'open');
  assert.equal((await call(s, 'DELETE', '/api/users/kicked/connections')).status, 202);
  await eventually(() => c.state === 'closed', 3000, 'closed');
  const seen = states(c);
  await assert.rejects(c.say('lobby', 'too late'), { reason: 'closed' });
  assert.deepEqual(seen, [], 'it stays closed');
});

test('64 rooms resubscribed after a reconnect under the default rate limit: not closed with 1008', async () => {
  const s = await server();
  const proxy = await withProxy(s);
  const c = open(proxy.url);
  const rooms = Array.from({ length: 63 }, (_, i) => `many-${i}`);
  for (const room of rooms) inbox(c, room);
  const seen = states(c);
  await eventually(() => [...c.rooms.values()].every((r) => r.live), 10_000, 'all live');
  proxy.drop();
  await eventually(() => c.state === 'reconnecting', 3000, 'reconnecting');
  await eventually(() => c.state === 'open' && [...c.rooms.values()].every((r) => r.live), 15_000, 'all live again');
  assert.equal((await within(c.say('many-62', 'still here'), 3000, 'the say')).text, 'still here');
  assert.ok(!seen.some((x) => x.code === 1008), JSON.stringify(seen.filter((x) => x.code !== undefined)));
  await proxy.close();
});

test('after the server restarts with an empty in-process broker (ids counted anew): the truncated replay is delivered, and sends flow again', async () => {
  const first = await startServer();
  const proxy = await tcpProxy(first.port);
  const c = open(`ws://127.0.0.1:${proxy.port}/ws`);
  const got = inbox(c, 'restart');
  const truncated: string[] = [];
  c.subscribe('restart', { message: (m) => got.push(m), truncated: (since) => truncated.push(since) });
  await eventually(() => c.rooms.get('restart')?.live === true, 3000, 'live');
  for (const text of ['a1', 'a2', 'a3']) await within(c.say('restart', text), 3000, text);
  proxy.refuse(true);
  await first.stop();
  const second = await startServer({ port: first.port });
  const w = await witness(second, 'restart');
  for (const text of ['b1', 'b2']) w.send({ type: 'say', room: 'restart', text });
  await w.nextOf('message', 3000, (m) => m.text === 'b2');
  proxy.refuse(false);
  await eventually(() => got.length === 5, 5000, 'the replay after the restart');
  assert.deepEqual(got.map((m) => m.text), ['a1', 'a2', 'a3', 'b1', 'b2'], 'ids 1 and 2 again, new all the same');
  assert.equal(truncated.length, 1);
  assert.equal((await within(c.say('restart', 'after'), 3000, 'a say after the restart')).text, 'after');
  w.close();
  await proxy.close();
  await second.stop();
});

test('a name in anonymous mode is taken on connect and again after every reconnect; rename changes it', async () => {
  const s = await server();
  const proxy = await withProxy(s);
  const c = open(proxy.url, { name: 'Ann' });
  inbox(c, 'names');
  await eventually(() => c.rooms.get('names')?.live === true, 3000, 'live');
  assert.equal((await within(c.say('names', 'one'), 3000, 'one')).from, 'Ann');
  proxy.drop();
  await eventually(() => c.state === 'reconnecting', 3000, 'reconnecting');
  await eventually(() => c.state === 'open' && c.rooms.get('names')?.live === true, 5000, 'back');
  assert.equal((await within(c.say('names', 'two'), 3000, 'two')).from, 'Ann');
  c.rename('Annie');
  await eventually(() => c.welcome?.name === 'Annie', 3000, 'named');
  assert.equal((await within(c.say('names', 'three'), 3000, 'three')).from, 'Annie');
  await proxy.close();
});
