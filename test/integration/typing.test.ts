// The typing indicator (docs/extending.md walks through how it was added): ephemeral, coalesced,
// rate-limited like any message, never stored or replayed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient, type Json } from '../helpers/client.ts';
import { fetchMetrics, metricValue, serverPool } from '../helpers/server.ts';
import { TYPING_NAMES_MAX, TYPING_TTL_MS } from '../../src/protocol/limits.ts';

const server = serverPool();

async function member(url: string, room: string, name: string): Promise<TestClient> {
  const c = await TestClient.connect(url);
  await c.nextOf('welcome'); // the default room
  c.send({ type: 'join', room, name });
  await c.nextOf('welcome', 3000, (w) => w.room === room);
  return c;
}

test('a typist is shown to the room, then cleared once it stops for TYPING_TTL_MS', async () => {
  const s = await server();
  const alice = await member(s.wsUrl, 'typing-a', 'alice');
  const bob = await member(s.wsUrl, 'typing-a', 'bob');
  const started = performance.now();
  alice.send({ type: 'typing' });
  assert.deepEqual(await bob.nextOf('typing', 2000), { type: 'typing', room: 'typing-a', names: ['alice'], others: 0 });
  const cleared = await bob.nextOf('typing', TYPING_TTL_MS + 2000, (t) => (t.names as string[]).length === 0);
  const after = performance.now() - started;
  assert.deepEqual(cleared, { type: 'typing', room: 'typing-a', names: [], others: 0 });
  assert.ok(after >= TYPING_TTL_MS - 50, `cleared after ${Math.round(after)} ms, not before the TTL`);
  const metrics = await fetchMetrics(s);
  assert.equal(metricValue(metrics, 'ws_messages_in_total', { type: 'typing' }), 1);
  assert.ok(metricValue(metrics, 'ws_messages_out_total', { type: 'typing' }) >= 4, 'two frames to each of two members');
  alice.close();
  bob.close();
});

test('twenty typists at once cost an observer at most two typing frames, naming five and counting the rest', async () => {
  const s = await server({ rateLimitPerSec: 1000 });
  const observer = await member(s.wsUrl, 'typing-b', 'observer');
  const typists = await Promise.all(Array.from({ length: 20 }, (_, i) => member(s.wsUrl, 'typing-b', `t${i}`)));
  const frames: Json[] = [];
  observer.ws.on('message', (d) => {
    const text = (d as Buffer).toString();
    if (text.includes('"type":"typing"')) frames.push(JSON.parse(text) as Json);
  });
  for (let round = 0; round < 3; round++) for (const t of typists) t.send({ type: 'typing' }); // keep typing: 60 messages
  const all = await observer.nextOf('typing', 3000, (t) => (t.names as string[]).length + Number(t.others) === 20);
  assert.equal((all.names as string[]).length, TYPING_NAMES_MAX);
  assert.equal(all.others, 20 - TYPING_NAMES_MAX);
  // A later chat message proves every typing frame sent before it has arrived.
  typists[0]!.send({ type: 'say', text: 'marker' });
  await observer.nextOf('message', 3000, (m) => m.text === 'marker');
  assert.ok(frames.length >= 1 && frames.length <= 2, `${frames.length} typing frames for 60 typing messages`);
  for (const c of [observer, ...typists]) c.close();
});

test('typing is never stored: a rejoin with since replays messages only', async () => {
  const s = await server();
  const alice = await member(s.wsUrl, 'typing-c', 'alice');
  alice.send({ type: 'say', text: 'hello' });
  const hello = await alice.nextOf('message');
  alice.send({ type: 'typing' });
  await alice.nextOf('typing', 2000); // the typist hears itself: the page hides its own name
  const late = await TestClient.connect(s.wsUrl);
  late.send({ type: 'join', room: 'typing-c', name: 'late', since: '0' });
  const history = await late.nextOf('history');
  assert.equal(history.count, 1);
  assert.equal((await late.nextOf('message')).id, hello.id);
  alice.close();
  late.close();
});

test('typing counts toward the rate limit: a typing flood ends with 1008', async () => {
  const s = await server({ rateLimitPerSec: 5 });
  const flooder = await member(s.wsUrl, 'typing-d', 'flooder');
  for (let i = 0; i < 30; i++) flooder.send({ type: 'typing' });
  assert.deepEqual(await Promise.race([flooder.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('no close within 3 s')), 3000))]), {
    code: 1008,
    reason: 'Rate limit exceeded',
  });
});
