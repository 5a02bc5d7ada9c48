// Idempotent sends: a `say` with a `key` is stored once per room for SAY_DEDUPE_MS; the repeat is
// answered with the first message's copy, to the sender alone. With real `ws` clients and the
// in-process broker; across instances through Redis: test/e2e/redis-users.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient, type Json } from '../helpers/client.ts';
import { eventually, serverPool, type TestServer } from '../helpers/server.ts';

const server = serverPool({ rateLimitPerSec: 1000 });

async function member(s: TestServer, room = 'lobby'): Promise<TestClient> {
  const c = await TestClient.connect(s.wsUrl);
  await c.nextOf('welcome');
  if (room !== 'lobby') {
    c.send({ type: 'subscribe', room });
    await c.nextOf('subscribed');
  }
  return c;
}

async function history(s: TestServer, room: string): Promise<Json[]> {
  const c = await member(s);
  c.send({ type: 'subscribe', room, since: '0' });
  const { count } = await c.nextOf('history', 3000, (h) => h.room === room);
  const got: Json[] = [];
  for (let i = 0; i < Number(count); i++) got.push(await c.nextOf('message', 3000, (m) => m.room === room));
  c.close();
  return got;
}

test('the same key twice: stored once, the repeat answered with the first copy to the sender only', async () => {
  const s = await server();
  const sender = await member(s);
  const other = await member(s);
  sender.send({ type: 'say', text: 'hello', key: 'k-1' });
  const first = await sender.nextOf('message');
  assert.equal(first.key, 'k-1', 'the message carries its key: the sender matches its acknowledgement by it');
  sender.send({ type: 'say', text: 'hello', key: 'k-1' });
  assert.deepEqual(await sender.nextOf('message'), first, 'the acknowledgement of the repeat is the first message');
  sender.send({ type: 'say', text: 'marker' });
  assert.deepEqual((await other.nextOf('message')).id, first.id);
  assert.equal((await other.nextOf('message')).text, 'marker', 'the other member got hello once');
  assert.deepEqual((await history(s, 'lobby')).map((m) => [m.text, m.key]), [['hello', 'k-1'], ['marker', undefined]], 'a replay carries the key too');
  sender.close();
  other.close();
});

test('a key is per room: the same key in another room is another message', async () => {
  const s = await server();
  const c = await member(s, 'elsewhere');
  c.send({ type: 'say', room: 'lobby', text: 'one', key: 'same' });
  c.send({ type: 'say', room: 'elsewhere', text: 'two', key: 'same' });
  const a = await c.nextOf('message');
  const b = await c.nextOf('message');
  assert.deepEqual([a.room, b.room], ['lobby', 'elsewhere']);
  c.close();
});

test('after a reconnect the retried say is answered with the first copy, not stored again', async () => {
  const s = await server();
  let c = await member(s);
  c.send({ type: 'say', text: 'sent before the drop', key: 'retry-7' });
  const first = await c.nextOf('message');
  c.ws.terminate();
  c = await member(s);
  c.send({ type: 'say', text: 'sent before the drop', key: 'retry-7' });
  assert.equal((await c.nextOf('message')).id, first.id);
  assert.equal((await history(s, 'lobby')).length, 1);
  c.close();
});

test('after SAY_DEDUPE_MS the key is forgotten: the same key stores a new message', async () => {
  const s = await server({ sayDedupeMs: 1000 });
  const c = await member(s);
  c.send({ type: 'say', text: 'tick', key: 'short' });
  const first = await c.nextOf('message');
  const started = Date.now();
  let again: Json = first;
  await eventually(
    async () => {
      c.send({ type: 'say', text: 'tick', key: 'short' });
      again = await c.nextOf('message');
      return again.id !== first.id;
    },
    4000,
    'the key to be forgotten',
  );
  assert.ok(Date.now() - started >= 900, 'not forgotten before SAY_DEDUPE_MS');
  c.close();
});

test('a key outside 1-64 of A-Za-z0-9_- is a bad frame: 1008 Invalid field: key', async () => {
  const s = await server();
  for (const key of ['', 'k'.repeat(65), 'has space', 'ünï', 7]) {
    const c = await member(s);
    c.send({ type: 'say', text: 'x', key });
    assert.deepEqual(await c.closed, { code: 1008, reason: 'Invalid field: key' }, JSON.stringify(key));
  }
});
