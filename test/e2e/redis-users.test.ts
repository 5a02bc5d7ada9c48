// Many rooms, personal channels and server-side subscriptions across instances of the real
// service (node src/main.ts) sharing a real Redis (Debian's redis-server on a free loopback port):
// what one instance's API asks reaches the user's sockets on the others, and a user's messages
// survive the restart of the instance they were connected to. A missing redis-server fails it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { redisKeys } from '../../src/broker/redis/keys.ts';
import { evalScript, PUBLISH_KEYED } from '../../src/broker/redis/scripts.ts';
import { IDEMPOTENCY_KEYS_PER_ROOM } from '../../src/protocol/limits.ts';
import { until } from '../helpers/chat.ts';
import { TestClient, type Json } from '../helpers/client.ts';
import { freePort, killServices, runService, type Service } from '../helpers/process.ts';
import { suiteRedis } from '../helpers/redis.ts';
import { hs256, SECRET } from '../helpers/tokens.ts';

const API_KEY = 'k'.repeat(20) + '-api-key-for-redis-0123';
const redis = suiteRedis();
const services: Service[] = [];
const clients: TestClient[] = [];

interface Instance {
  port: number;
  ws: string;
  service: Service;
}

async function instance(): Promise<Instance> {
  const port = await freePort();
  const service = runService({ PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redis.url, AUTH_JWT_SECRET: SECRET, API_KEY, LATEST_ROOMS: 'ticker-*', RATE_LIMIT_PER_SEC: '200', SHUTDOWN_TIMEOUT_MS: '2000' });
  services.push(service);
  await until(`instance on ${port} ready`, async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200, 15_000);
  return { port, ws: `ws://127.0.0.1:${port}/ws`, service };
}

async function user(at: Instance, sub: string): Promise<TestClient> {
  const c = await TestClient.connect(`${at.ws}?access_token=${await hs256({ sub, name: sub })}`);
  clients.push(c);
  await c.nextOf('welcome', 5000);
  return c;
}

async function subscribe(c: TestClient, room: string, since?: string): Promise<Json> {
  c.send({ type: 'subscribe', room, ...(since === undefined ? {} : { since }) });
  return c.nextOf('subscribed', 5000, (m) => m.room === room);
}

async function api(at: Instance, method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`http://127.0.0.1:${at.port}${path}`, { method, headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: (await res.json()) as Json };
}

after(async () => {
  for (const c of clients) c.ws.terminate();
  await killServices(services);
});

describe('users and rooms across two instances sharing one Redis', () => {
  let a: Instance;
  let b: Instance;
  before(async () => {
    [a, b] = [await instance(), await instance()];
  });

  it('a socket on A follows rooms said into on B, each message with its room; after unsubscribe nothing of that room', async () => {
    const reader = await user(a, 'reader');
    const writer = await user(b, 'writer');
    for (const room of ['east', 'west']) {
      await subscribe(reader, room);
      await subscribe(writer, room);
    }
    for (const room of ['east', 'west']) writer.send({ type: 'say', room, text: `hello ${room}` });
    const got = [await reader.nextOf('message', 5000), await reader.nextOf('message', 5000)];
    assert.deepEqual(got.map((m) => [m.room, m.text]), [['east', 'hello east'], ['west', 'hello west']]);
    reader.send({ type: 'unsubscribe', room: 'east' });
    await reader.nextOf('unsubscribed', 5000);
    writer.send({ type: 'say', room: 'east', text: 'east again' });
    writer.send({ type: 'say', room: 'west', text: 'west again' });
    assert.deepEqual([(await reader.nextOf('message', 5000)).text], ['west again'], 'east is not delivered after the unsubscribe');
  });

  it("a message to a user through B's API reaches their @me sockets on A and on B", async () => {
    const onA = await user(a, 'alice');
    const onB = await user(b, 'alice');
    for (const c of [onA, onB]) await subscribe(c, '@me');
    const r = await api(b, 'POST', '/api/users/alice/messages', { text: 'ping from the backend' });
    assert.equal(r.status, 201);
    for (const c of [onA, onB]) {
      const m = await c.nextOf('message', 5000, (f) => f.id === r.body.id);
      assert.deepEqual([m.room, m.sender, m.text], ['@me', 'server', 'ping from the backend']);
    }
  });

  it("PUT and DELETE on A's API subscribe and unsubscribe the user's socket on B", async () => {
    const dave = await user(b, 'dave');
    assert.equal((await api(a, 'PUT', '/api/users/dave/rooms/incident')).status, 202);
    await dave.nextOf('subscribed', 5000, (m) => m.room === 'incident');
    assert.equal((await api(a, 'POST', '/api/rooms/incident/messages', { text: 'status page updated' })).status, 201);
    assert.equal((await dave.nextOf('message', 5000, (m) => m.room === 'incident')).text, 'status page updated');
    assert.equal((await api(a, 'DELETE', '/api/users/dave/rooms/incident')).status, 202);
    assert.deepEqual(await dave.nextOf('unsubscribed', 5000), { type: 'unsubscribed', room: 'incident', reason: 'server' });
  });

  it('a latest-value room keeps only its newest message in Redis: a subscriber on the other instance gets it at once', async () => {
    const writer = await user(a, 'ticker');
    await subscribe(writer, 'ticker-acme');
    for (const price of ['101', '102', '103']) {
      writer.send({ type: 'say', room: 'ticker-acme', text: price });
      await writer.nextOf('message', 5000, (m) => m.text === price);
    }
    const reader = await user(b, 'watcher');
    await subscribe(reader, 'ticker-acme');
    assert.equal((await reader.nextOf('message', 5000)).text, '103');
    const kept = await api(b, 'GET', '/api/rooms/ticker-acme/history?since=0');
    assert.deepEqual((kept.body.messages as Json[]).map((m) => m.text), ['103'], 'its history holds the newest value only');
  });

  it('a say repeated with its key on the other instance is answered with the first copy, stored once', async () => {
    const watcher = await user(b, 'watcher-2');
    let alice = await user(a, 'alice-keys');
    alice.send({ type: 'say', text: 'exactly once', key: 'abc-123' });
    const first = await alice.nextOf('message', 5000, (m) => m.text === 'exactly once');
    alice.ws.terminate();
    alice = await user(b, 'alice-keys');
    alice.send({ type: 'say', text: 'exactly once', key: 'abc-123' });
    assert.equal((await alice.nextOf('message', 5000, (m) => m.text === 'exactly once')).id, first.id);
    const kept = await api(b, 'GET', '/api/rooms/lobby/history?since=0');
    assert.equal((kept.body.messages as Json[]).filter((m) => m.text === 'exactly once').length, 1);
    assert.equal((await watcher.nextOf('message', 5000, (m) => m.text === 'exactly once')).id, first.id);
    await assert.rejects(watcher.nextOf('message', 300, (m) => m.text === 'exactly once'), /timed out/, 'the watcher got it once');
  });

  it('a flood of distinct keys keeps a room at IDEMPOTENCY_KEYS_PER_ROOM keys in Redis', async () => {
    const client = createClient({ url: redis.url });
    client.on('error', () => {});
    await client.connect();
    const keys = redisKeys();
    const room = 'key-flood';
    const script = [keys.room(room), keys.keyIds(room), keys.keyExpiry(room)];
    const sends = Array.from({ length: IDEMPOTENCY_KEYS_PER_ROOM + 300 }, (_, i) => evalScript(client, PUBLISH_KEYED, script, ['100', '60000', 'PUBLISH', keys.channel(room), `k${i}`, '60000', String(IDEMPOTENCY_KEYS_PER_ROOM), 'from', 'f', 'text', 't', 'ts', '0', 'pid', `p${i}`, 'key', `k${i}`]));
    await Promise.all(sends);
    assert.deepEqual([await client.zCard(keys.keyExpiry(room)), await client.hLen(keys.keyIds(room))], [IDEMPOTENCY_KEYS_PER_ROOM, IDEMPOTENCY_KEYS_PER_ROOM]);
    assert.ok((await client.pTTL(keys.keyIds(room))) > 0, 'the key hash expires');
    await client.quit();
  });

  it('a user offline while their instance restarts replays their @me messages with since on another instance', async () => {
    let carol = await user(a, 'carol');
    await subscribe(carol, '@me');
    const seen = await api(b, 'POST', '/api/users/carol/messages', { text: 'before' });
    await carol.nextOf('message', 5000, (m) => m.id === seen.body.id);
    a.service.child.kill('SIGKILL');
    await a.service.exited;
    await carol.closedWithin(5000);
    for (const text of ['while away 1', 'while away 2']) assert.equal((await api(b, 'POST', '/api/users/carol/messages', { text })).status, 201);
    const c = await instance();
    carol = await user(c, 'carol');
    await subscribe(carol, '@me', String(seen.body.id));
    const history = await carol.nextOf('history', 5000);
    assert.deepEqual({ room: history.room, truncated: history.truncated, count: history.count }, { room: '@me', truncated: false, count: 2 });
    assert.deepEqual([(await carol.nextOf('message', 5000)).text, (await carol.nextOf('message', 5000)).text], ['while away 1', 'while away 2']);
  });
});
