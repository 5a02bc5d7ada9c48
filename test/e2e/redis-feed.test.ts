// Live delivery by push, repaired from the stream (src/broker/redis/feed.ts), against a real
// redis-server: a push that never came (an entry appended without one, as an instance of an older
// version does), a push lost at the end of a room's traffic, the subscriber's connection killed in
// the middle of a burst, and garbage on a room's channel. In each, the room's clients get every
// message once, in id order.
// Needs redis-server (apt-get install redis-server); a missing one fails the suite.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { redisKeys } from '../../src/broker/redis/keys.ts';
import { until } from '../helpers/chat.ts';
import { TestClient, type Json } from '../helpers/client.ts';
import { suiteRedis } from '../helpers/redis.ts';
import { fetchMetrics, metricValue, serverPool, type TestServer } from '../helpers/server.ts';

const redis = suiteRedis();
const server = serverPool();
const keys = redisKeys();
/** Short, so that the sweep (a third of it) checks the rooms' tails every half second. */
const PRESENCE_TTL_MS = 1500;

async function instance(): Promise<TestServer> {
  const s = await server({ redisUrl: redis.url, presenceTtlMs: PRESENCE_TTL_MS, rateLimitPerSec: 1000 });
  await until('the broker to connect', async () => (await fetch(`${s.url}/readyz`)).status === 200, 10_000);
  return s;
}

async function member(s: TestServer, room: string): Promise<TestClient> {
  const c = await TestClient.connect(s.wsUrl);
  c.send({ type: 'join', room, name: 'm' });
  await c.nextOf('welcome', 5000, (m) => m.room === room);
  return c;
}

async function raw() {
  const client = createClient({ url: redis.url });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** An entry stored the way the publish script stores one, but pushed to nobody. */
function appendUnpushed(client: Awaited<ReturnType<typeof raw>>, room: string, text: string): Promise<string> {
  return client.xAdd(keys.room(room), '*', { from: 'old-instance', text, ts: String(Date.now()), pid: `old-${text}` });
}

async function texts(c: TestClient, n: number, timeoutMs = 5000): Promise<string[]> {
  const got: Json[] = [];
  for (let i = 0; i < n; i++) got.push(await c.nextOf('message', timeoutMs));
  const ids = got.map((m) => String(m.id));
  assert.deepEqual(ids, [...ids].sort((a, b) => (BigInt(a.split('-')[0]!) - BigInt(b.split('-')[0]!) || BigInt(a.split('-')[1]!) - BigInt(b.split('-')[1]!)) > 0n ? 1 : -1), 'in id order');
  return got.map((m) => String(m.text));
}

async function repairs(s: TestServer): Promise<number> {
  return metricValue(await fetchMetrics(s), 'ws_broker_op_seconds_count', { op: 'repair' });
}

describe('room feed over Redis pub/sub', () => {
  it('an entry that came without a push is delivered before the next message, which revealed the gap', async () => {
    const s = await instance();
    const c = await member(s, 'gap');
    const client = await raw();
    try {
      const before = await repairs(s);
      await appendUnpushed(client, 'gap', 'unpushed');
      c.send({ type: 'say', text: 'next' });
      assert.deepEqual(await texts(c, 2), ['unpushed', 'next']);
      assert.ok((await repairs(s)) > before, 'counted as a repair');
      await assert.rejects(c.nextOf('message', 300), /timed out/, 'nothing twice');
    } finally {
      c.close();
      await client.quit();
    }
  });

  it('an entry without a push and nothing after it is delivered by the sweep check within two sweeps', async () => {
    const s = await instance();
    const c = await member(s, 'tail');
    const client = await raw();
    try {
      c.send({ type: 'say', text: 'first' });
      assert.deepEqual(await texts(c, 1), ['first']);
      await appendUnpushed(client, 'tail', 'last, unpushed');
      // Two checks a third of PRESENCE_TTL_MS apart, with room for a slow machine.
      assert.deepEqual(await texts(c, 1, PRESENCE_TTL_MS * 3), ['last, unpushed']);
      await assert.rejects(c.nextOf('message', 300), /timed out/, 'nothing twice');
    } finally {
      c.close();
      await client.quit();
    }
  });

  it("the subscriber's connection killed in the middle of a burst from another instance: every message once, in order", async () => {
    const [a, b] = [await instance(), await instance()];
    const reader = await member(a, 'burst');
    const writer = await member(b, 'burst');
    const client = await raw();
    try {
      const before = await repairs(a);
      const sent = Array.from({ length: 300 }, (_, i) => `b${i}`);
      for (const [i, text] of sent.entries()) {
        writer.send({ type: 'say', text });
        // Mid-burst: every pub/sub connection (both instances' subscribers) dropped by Redis.
        if (i === 120) await client.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
      }
      assert.deepEqual(await texts(reader, sent.length), sent);
      await assert.rejects(reader.nextOf('message', 300), /timed out/, 'nothing twice');
      assert.ok((await repairs(a)) > before, 'the reconnect read what it missed from the stream');
    } finally {
      reader.close();
      writer.close();
      await client.quit();
    }
  });

  it("garbage on a room's channel is counted and ignored; the room carries on", async () => {
    const s = await instance();
    const c = await member(s, 'noise');
    const client = await raw();
    try {
      const errors = (): Promise<number> => fetchMetrics(s).then((t) => metricValue(t, 'ws_broker_errors_total', { op: 'read' }));
      const before = await errors();
      for (const junk of ['not json', '[1,2]', '["x","1-1",["from"]]', JSON.stringify(['0-0', '99999999999999-0', ['from', 'x', 'text', 'forged', 'ts', '1']]).slice(0, -1)]) {
        await client.publish(keys.channel('noise'), junk);
      }
      c.send({ type: 'say', text: 'still here' });
      assert.deepEqual(await texts(c, 1), ['still here']);
      assert.ok((await errors()) >= before + 4, 'each counted');
      await assert.rejects(c.nextOf('message', 300), /timed out/, 'no forged message');
    } finally {
      c.close();
      await client.quit();
    }
  });
});
