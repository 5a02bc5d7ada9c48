// Replay on `join` with `since`, with the in-process broker (REDIS_URL unset): the same
// protocol the Redis broker speaks, proven here with Node alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient, type Json } from '../helpers/client.ts';
import { serverPool, type TestServer } from '../helpers/server.ts';

const server = serverPool({ rateLimitPerSec: 1000 });

async function member(s: TestServer, room: string, name: string): Promise<TestClient> {
  const c = await TestClient.connect(s.wsUrl);
  c.send({ type: 'join', room, name });
  await c.nextOf('welcome', 3000, (w) => w.room === room);
  return c;
}

async function say(c: TestClient, texts: string[]): Promise<Json[]> {
  const acks: Json[] = [];
  for (const text of texts) {
    c.send({ type: 'say', text });
    acks.push(await c.nextOf('message', 3000, (m) => m.text === text));
  }
  return acks;
}

/** The frames after a join with since: welcome, history, then `count` messages. */
async function joinSince(c: TestClient, room: string, since: string): Promise<{ history: Json; replayed: Json[] }> {
  c.send({ type: 'join', room, name: 'late', since });
  await c.nextOf('welcome', 3000, (w) => w.room === room);
  const history = await c.nextOf('history');
  const replayed: Json[] = [];
  for (let i = 0; i < Number(history.count); i++) replayed.push(await c.nextOf('message'));
  return { history, replayed };
}

test('join with since replays exactly the missed messages, in order, then continues live', async () => {
  const s = await server();
  const alice = await member(s, 'replay', 'alice');
  const sent = await say(alice, ['m0', 'm1', 'm2', 'm3', 'm4']);
  const bob = await TestClient.connect(s.wsUrl);
  const { history, replayed } = await joinSince(bob, 'replay', String(sent[1]!.id));
  assert.deepEqual(history, { type: 'history', room: 'replay', since: String(sent[1]!.id), truncated: false, count: 3 });
  assert.deepEqual(replayed, sent.slice(2));
  await say(alice, ['live']);
  const next = await bob.nextOf('message');
  assert.equal(next.text, 'live', 'the first message after the replay is the live one: no repeat, no gap');
  assert.deepEqual(await bob.nextOf('presence', 3000, (p) => p.members === 2), { type: 'presence', room: 'replay', members: 2 });
  alice.close();
  bob.close();
});

test('since = the last id: an empty history, then live', async () => {
  const s = await server();
  const alice = await member(s, 'uptodate', 'alice');
  const sent = await say(alice, ['a', 'b']);
  const bob = await TestClient.connect(s.wsUrl);
  const { history } = await joinSince(bob, 'uptodate', String(sent[1]!.id));
  assert.equal(history.count, 0);
  assert.equal(history.truncated, false);
  await say(alice, ['c']);
  assert.equal((await bob.nextOf('message')).text, 'c');
  alice.close();
  bob.close();
});

test('a since older than HISTORY_SIZE messages is marked truncated and gets what is kept', async () => {
  const s = await server({ historySize: 5 });
  const alice = await member(s, 'small', 'alice');
  const sent = await say(alice, ['1', '2', '3', '4', '5', '6', '7', '8']);
  const bob = await TestClient.connect(s.wsUrl);
  const { history, replayed } = await joinSince(bob, 'small', String(sent[0]!.id));
  assert.equal(history.truncated, true);
  assert.deepEqual(replayed.map((m) => m.text), ['4', '5', '6', '7', '8']);
  // Exactly at the edge: since = the newest message trimmed away is complete history.
  const carol = await TestClient.connect(s.wsUrl);
  const edge = await joinSince(carol, 'small', String(sent[2]!.id));
  assert.equal(edge.history.truncated, false);
  assert.equal(edge.replayed.length, 5);
  alice.close();
  bob.close();
  carol.close();
});

test('a since from before a restart (an id this process never gave) is truncated: everything kept is replayed', async () => {
  const s = await server();
  const alice = await member(s, 'restarted', 'alice');
  await say(alice, ['after restart 1', 'after restart 2']);
  const bob = await TestClient.connect(s.wsUrl);
  const { history, replayed } = await joinSince(bob, 'restarted', '500');
  assert.equal(history.truncated, true);
  assert.deepEqual(replayed.map((m) => m.text), ['after restart 1', 'after restart 2']);
  alice.close();
  bob.close();
});

test('a malformed since closes with 1008 Invalid field: since', async () => {
  const s = await server();
  const c = await TestClient.connect(s.wsUrl);
  c.send({ type: 'join', room: 'r', name: 'n', since: '12--3' });
  assert.deepEqual(await c.closed, { code: 1008, reason: 'Invalid field: since' });
});
