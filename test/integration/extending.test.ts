// docs/extending.md's promise, kept: a new ephemeral message type is one feature module
// (test/fixtures/react-feature.ts) and one line in the list of features, and it works end to end
// through the real server, its broker port untouched. Also: a feature built with its own options
// (typing with a short flush and time to live) without waiting on the production timings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createChat } from '../../src/realtime/features/chat.ts';
import { FEATURES } from '../../src/realtime/features/index.ts';
import { createSubscribe } from '../../src/realtime/features/subscribe.ts';
import { createTypingFeature } from '../../src/realtime/features/typing.ts';
import { createUserControl } from '../../src/realtime/features/users.ts';
import { createReact } from '../fixtures/react-feature.ts';
import { TestClient } from '../helpers/client.ts';
import { fetchMetrics, metricValue, serverPool, type TestServer } from '../helpers/server.ts';

const server = serverPool({ rateLimitPerSec: 1000 });

async function follower(s: TestServer, rooms: string[]): Promise<TestClient> {
  const c = await TestClient.connect(s.wsUrl);
  await c.nextOf('welcome');
  for (const room of rooms) {
    c.send({ type: 'subscribe', room });
    await c.nextOf('subscribed', 3000, (m) => m.room === room);
  }
  return c;
}

test('react, added as one feature: followers of the room get the reaction, other rooms do not, nothing is stored', async () => {
  const s = await server({}, { features: [...FEATURES, createReact] });
  const alice = await follower(s, ['party']);
  const bob = await follower(s, ['party']);
  const carol = await follower(s, ['other']);
  alice.send({ type: 'react', room: 'party', emoji: '🎉' });
  assert.deepEqual(await bob.nextOf('reaction'), { type: 'reaction', room: 'party', emoji: '🎉', from: (await alice.nextOf('reaction')).from });
  carol.send({ type: 'say', room: 'other', text: 'marker' });
  assert.equal((await carol.nextOf('message')).text, 'marker');
  await assert.rejects(carol.nextOf('reaction', 200), /timed out/, 'a room that was not reacted in hears nothing');
  alice.send({ type: 'react', room: 'other', emoji: '👍' });
  assert.deepEqual(await alice.nextOf('error'), { type: 'error', reason: 'not_subscribed', room: 'other' });
  const text = await fetchMetrics(s);
  assert.equal(metricValue(text, 'ws_messages_in_total', { type: 'react' }), 2);
  assert.equal(metricValue(text, 'ws_messages_out_total', { type: 'reaction' }), 2);
  const late = await follower(s, []);
  late.send({ type: 'subscribe', room: 'party', since: '0' });
  assert.equal((await late.nextOf('history')).count, 0, 'reactions are ephemeral: never in the history');
  for (const c of [alice, bob, carol, late]) c.close();
});

test('react with a bad field is a bad frame (1008 Invalid field: emoji); a server without the feature refuses react as before', async () => {
  const s = await server({}, { features: [...FEATURES, createReact] });
  const c = await follower(s, []);
  c.send({ type: 'react', emoji: '<script>' });
  assert.deepEqual(await c.closed, { code: 1008, reason: 'Invalid field: emoji' });
  const plain = await server();
  const d = await follower(plain, []);
  d.send({ type: 'react', emoji: '🎉' });
  assert.deepEqual(await d.closed, { code: 1008, reason: "Expected 'pong'" });
});

test('typing built with its own flushMs and ttlMs: a typist appears and is cleared within the short TTL', async () => {
  const ttlMs = 300;
  const typing = (deps: Parameters<typeof createTypingFeature>[0]): ReturnType<typeof createTypingFeature> => createTypingFeature(deps, { flushMs: 20, ttlMs });
  const s = await server({}, { features: [createSubscribe, createChat, typing, createUserControl] });
  const alice = await follower(s, []);
  alice.send({ type: 'join', room: 'quick', name: 'alice' });
  await alice.nextOf('welcome', 3000, (w) => w.room === 'quick');
  const bob = await follower(s, ['quick']);
  const started = performance.now();
  alice.send({ type: 'typing', room: 'quick' });
  assert.deepEqual(await bob.nextOf('typing', 1000), { type: 'typing', room: 'quick', names: ['alice'], others: 0 });
  await bob.nextOf('typing', ttlMs + 1000, (t) => (t.names as string[]).length === 0);
  assert.ok(performance.now() - started >= ttlMs - 20, 'not cleared before the TTL');
  alice.close();
  bob.close();
});
