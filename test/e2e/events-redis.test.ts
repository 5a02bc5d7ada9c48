// The backend's events across instances, with a real Redis, real service processes and a real
// webhook receiver that verifies signatures (docs/events.md): an instance killed with SIGKILL is
// reported gone by a survivor, member by member, with no ghosts and no false departures; a
// receiver that was down gets everything once it is back; one that always fails gets dead letters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { API_KEY } from '../helpers/api.ts';
import { TestClient } from '../helpers/client.ts';
import { freePort, killServices, runService, waitHealthy, type Service } from '../helpers/process.ts';
import { suiteRedis } from '../helpers/redis.ts';
import { eventually } from '../helpers/server.ts';
import { hs256, SECRET } from '../helpers/tokens.ts';
import { startReceiver, TEST_WEBHOOK_SECRET, type Receiver } from '../helpers/webhook-receiver.ts';
import type { BackendEvent } from '../../src/protocol/backend-events.ts';

const redis = suiteRedis();
const PRESENCE_TTL_MS = 3000;
const STREAM = '{socketship}:events';

interface Instance {
  service: Service;
  port: number;
  ws: string;
}

async function instance(receiver: Receiver, env: Record<string, string> = {}, at?: number): Promise<Instance> {
  const port = at ?? (await freePort());
  const service = runService({
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    REDIS_URL: redis.url,
    PRESENCE_TTL_MS: String(PRESENCE_TTL_MS),
    AUTH_JWT_SECRET: SECRET,
    API_KEY,
    RATE_LIMIT_PER_SEC: '1000',
    EVENTS: 'connection.opened,connection.closed,room.member_joined,room.member_left,room.occupied,room.vacated',
    WEBHOOK_URL: receiver.url,
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    WEBHOOK_RETRY_BASE_MS: '100',
    WEBHOOK_RETRY_MAX_MS: '1000',
    ...env,
  });
  await waitHealthy(port, 15_000);
  return { service, port, ws: `ws://127.0.0.1:${port}/ws` };
}

async function member(at: Instance, sub: string, room: string): Promise<TestClient> {
  const c = await TestClient.connect(`${at.ws}?access_token=${await hs256({ sub, name: sub }, 600)}`);
  await c.nextOf('welcome');
  c.send({ type: 'join', room, name: sub });
  await c.nextOf('welcome', 5000, (m) => m.room === room);
  return c;
}

async function presence(at: Instance, room: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${at.port}/api/rooms/${room}/presence`, { headers: { authorization: `Bearer ${API_KEY}` } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { count: number }).count;
}

async function flush(): Promise<void> {
  const c = createClient({ url: redis.url });
  await c.connect();
  await c.flushAll();
  await c.close();
}

function lost(receiver: Receiver, type: BackendEvent['type']): BackendEvent[] {
  return receiver.ofType(type).filter((e) => e.reason === 'instance_lost');
}

test('an instance killed with SIGKILL: within PRESENCE_TTL_MS + 5 s exactly its 100 members are reported left (instance_lost), the rooms it alone held vacated, and nobody on the survivor', async () => {
  await flush();
  const receiver = await startReceiver();
  const a = await instance(receiver);
  const b = await instance(receiver);
  const services = [a.service, b.service];
  try {
    const sockets: TestClient[] = [];
    // 100 members on A, 10 per room; rooms 5..9 have two members on B as well.
    for (let i = 0; i < 100; i++) sockets.push(await member(a, `a-${i}`, `room-${i % 10}`));
    for (let r = 5; r < 10; r++) for (let k = 0; k < 2; k++) sockets.push(await member(b, `b-${r}-${k}`, `room-${r}`));
    // One user on both: its socket on A dies, its socket on B keeps it in the room.
    sockets.push(await member(a, 'dual', 'room-5'), await member(b, 'dual', 'room-5'));
    await eventually(() => receiver.ofType('room.member_joined').filter((e) => e.room?.startsWith('room-')).length === 111, 10_000, '111 members joined');
    const instanceA = receiver.ofType('room.member_joined').find((e) => e.sub === 'a-0')?.instance;

    a.service.child.kill('SIGKILL');
    await a.service.exited;
    const killedAt = Date.now();
    await eventually(() => lost(receiver, 'room.member_left').length >= 100 && lost(receiver, 'connection.closed').length >= 101, PRESENCE_TTL_MS + 5000, 'instance_lost for every member and connection');
    const tookMs = Date.now() - killedAt;

    const left = lost(receiver, 'room.member_left');
    assert.deepEqual(new Set(left.map((e) => e.sub)), new Set(Array.from({ length: 100 }, (_, i) => `a-${i}`)), 'exactly the 100 members A held');
    assert.ok(left.every((e) => e.instance === instanceA && e.room === `room-${Number(e.sub?.slice(2)) % 10}`), 'each in its own room, named as the dead instance');
    assert.deepEqual(new Set(receiver.ofType('room.vacated').filter((e) => e.room !== 'lobby').map((e) => e.room)), new Set(['room-0', 'room-1', 'room-2', 'room-3', 'room-4']), 'only the rooms A alone held');
    assert.ok(!receiver.ofType('room.member_left').some((e) => e.room !== 'lobby' && (e.sub === 'dual' || e.sub?.startsWith('b-'))), 'no member of B reported gone, nor the user who is still there through B');
    // Every room's events in sequence, without a gap, over both instances.
    for (let r = 0; r < 10; r++) {
      const seqs = [...receiver.distinct().values()].filter((e) => e.room === `room-${r}`).map((e) => e.seq).sort((x, y) => (x ?? 0) - (y ?? 0));
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `room-${r}: seq without gaps`);
    }
    // What presence and the API say agrees with what the receiver was told.
    await eventually(async () => (await presence(b, 'room-0')) === 0 && (await presence(b, 'room-5')) === 3 && (await presence(b, 'room-9')) === 2, 5000, 'presence without A');
    const roster = (await (await fetch(`http://127.0.0.1:${b.port}/api/rooms/room-5/presence`, { headers: { authorization: `Bearer ${API_KEY}` } })).json()) as { members: { sub: string }[] };
    assert.deepEqual(new Set(roster.members.map((m) => m.sub)), new Set(['b-5-0', 'b-5-1', 'dual']), "the API's roster: who the receiver was not told left");
    assert.equal(receiver.badSignatures, 0);
    // Redis keeps a room's sequence while it has members, and only an hour once it has none.
    const r = createClient({ url: redis.url });
    await r.connect();
    const [vacated, occupied] = [await r.pTTL('{socketship}:events:seq:room-0'), await r.pTTL('{socketship}:events:seq:room-5')];
    await r.close();
    assert.ok(vacated > 3_000_000 && vacated <= 3_600_000 && occupied === -1, `sequence keys: vacated ${vacated} ms, occupied ${occupied}`);
    // No ghost comes later: a further lease period reports nothing new.
    const before = receiver.distinct().size;
    await new Promise((r) => setTimeout(r, PRESENCE_TTL_MS));
    assert.equal(receiver.distinct().size, before, 'nothing reported twice');
    console.log(`# instance_lost for 100 members and 101 connections ${tookMs} ms after SIGKILL (PRESENCE_TTL_MS ${PRESENCE_TTL_MS})`);
    for (const s of sockets) s.ws.terminate();
  } finally {
    await killServices(services);
  }
});

test('the receiver down for 30 s, then up: every event arrives with its original id, each room in sequence', async () => {
  await flush();
  const receiver = await startReceiver();
  const a = await instance(receiver, { WEBHOOK_MAX_ATTEMPTS: '40', WEBHOOK_RETRY_MAX_MS: '2000' });
  const b = await instance(receiver, { WEBHOOK_MAX_ATTEMPTS: '40', WEBHOOK_RETRY_MAX_MS: '2000' });
  try {
    receiver.mode = 'down';
    const downAt = Date.now();
    // Churn on both instances while the receiver is away: joins, moves, closes.
    for (let i = 0; i < 40; i++) {
      const c = await member(i % 2 ? a : b, `u-${i}`, `r-${i % 4}`);
      c.send({ type: 'join', room: `r-${(i + 1) % 4}`, name: 'u' });
      await c.nextOf('welcome', 5000, (m) => m.room === `r-${(i + 1) % 4}`);
      c.close();
      await c.closed;
    }
    await eventually(() => receiver.posts >= 4, 10_000, 'deliveries attempted while down');
    await new Promise((r) => setTimeout(r, Math.max(0, 30_000 - (Date.now() - downAt))));
    receiver.mode = 'ok';
    const c = createClient({ url: redis.url });
    await c.connect();
    const stored = ((await c.xRange(STREAM, '-', '+')) ?? []).flatMap((e) => (e ? [e.id] : []));
    await c.close();
    assert.ok(stored.length >= 40 * 7, `the stream holds the churn (${stored.length})`);
    await eventually(() => stored.every((id) => receiver.distinct().has(id)), 20_000, 'every stored event delivered');
    for (let r = 0; r < 4; r++) {
      const seqs = [...receiver.distinct().values()].filter((e) => e.room === `r-${r}`).map((e) => e.seq).sort((x, y) => (x ?? 0) - (y ?? 0));
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `r-${r}: seq without gaps`);
    }
    assert.equal(receiver.badSignatures, 0);
    console.log(`# ${stored.length} events, ${receiver.posts} POSTs, ${receiver.events.length - receiver.distinct().size} repeats after a 30 s outage`);
  } finally {
    await killServices([a.service, b.service]);
  }
});

test('a receiver that always answers 500: attempts stop at WEBHOOK_MAX_ATTEMPTS, the events are dead letters, nothing stays pending', async () => {
  await flush();
  const receiver = await startReceiver();
  receiver.mode = 'error';
  const a = await instance(receiver, { WEBHOOK_MAX_ATTEMPTS: '3', WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_RETRY_MAX_MS: '200', EVENTS: 'connection.opened,connection.closed' });
  try {
    for (let i = 0; i < 5; i++) {
      const c = await member(a, `u-${i}`, 'lobby');
      c.close();
      await c.closed;
    }
    const c = createClient({ url: redis.url });
    await c.connect();
    await eventually(async () => (await c.xLen(`${STREAM}:dead`)) === 10, 15_000, '10 dead letters');
    const pending = await c.xPending(STREAM, 'socketship-webhooks');
    assert.equal(pending.pending, 0, 'nothing left pending');
    const dead = (await c.xRange(`${STREAM}:dead`, '-', '+')) ?? [];
    const stored = new Set(((await c.xRange(STREAM, '-', '+')) ?? []).flatMap((e) => (e ? [e.id] : [])));
    assert.ok(dead.every((d) => d !== null && stored.has(d.message.id ?? '')), 'each dead letter carries its original id');
    await c.close();
    const metrics = await (await fetch(`http://127.0.0.1:${a.port}/metrics`)).text();
    assert.match(metrics, /ws_webhook_dead_letters_total 10\b/);
    // Each batch was tried exactly WEBHOOK_MAX_ATTEMPTS times: the POSTs are a multiple of 3, at most 3 per event.
    assert.ok(receiver.posts <= 30 && receiver.posts % 3 === 0, `attempts stopped at the limit (${receiver.posts} POSTs)`);
  } finally {
    await killServices([a.service]);
  }
});

test("the backend's own consumer group reads the stream while an instance restarts: nothing lost, every connection that opened is closed", async () => {
  await flush();
  const receiver = await startReceiver();
  const env = { EVENTS: 'connection.opened,connection.closed,room.member_joined,room.member_left,message.published' };
  const a = await instance(receiver, env);
  let b = await instance(receiver, env);
  const consumer = createClient({ url: redis.url });
  await consumer.connect();
  await consumer.xGroupCreate(STREAM, 'backend', '0', { MKSTREAM: true });
  const read = new Map<string, BackendEvent>();
  let reading = true;
  // The loop docs/events.md shows: XAUTOCLAIM what a dead worker left, else XREADGROUP, then XACK.
  const loop = (async () => {
    while (reading) {
      const claimed = await consumer.xAutoClaim(STREAM, 'backend', 'worker-1', 60_000, '0-0', { COUNT: 100 });
      const fresh = claimed.messages.length > 0 ? [] : ((await consumer.xReadGroup('backend', 'worker-1', { key: STREAM, id: '>' }, { COUNT: 100, BLOCK: 200 }))?.[0]?.messages ?? []);
      for (const entry of [...claimed.messages, ...fresh]) {
        if (!entry) continue;
        read.set(entry.id, { id: entry.id, ...(JSON.parse(entry.message.data ?? '{}') as Omit<BackendEvent, 'id'>) });
        await consumer.xAck(STREAM, 'backend', entry.id);
      }
    }
  })();
  try {
    const onB = [];
    for (let i = 0; i < 10; i++) onB.push(await member(b, `b-${i}`, 'team'));
    // B restarts (SIGTERM: its sockets are closed, their events stored, then it exits) while A takes new sockets.
    b.service.child.kill('SIGTERM');
    const churn = (async () => {
      for (let i = 0; i < 10; i++) {
        const c = await member(a, `a-${i}`, 'team');
        c.close();
        await c.closed;
      }
    })();
    assert.equal((await b.service.exited).code, 0);
    b = await instance(receiver, env, b.port);
    await churn;
    const again = await member(b, 'b-again', 'team');
    again.close();
    await again.closed;
    // b-again's close is stored a moment after its socket closed: wait for the 21st close.
    const closes = (): number => [...read.values()].filter((e) => e.type === 'connection.closed').length;
    await eventually(() => closes() >= 21, 10_000, 'the consumer read 21 closes');
    const stored = ((await consumer.xRange(STREAM, '-', '+')) ?? []).flatMap((e) => (e ? [e.id] : []));
    await eventually(() => stored.every((id) => read.has(id)), 10_000, 'the consumer read every stored event');
    const events = [...read.values()];
    const opened = new Set(events.filter((e) => e.type === 'connection.opened').map((e) => e.connId));
    const closed = new Set(events.filter((e) => e.type === 'connection.closed').map((e) => e.connId));
    assert.equal(opened.size, 21);
    assert.deepEqual(closed, opened, 'every connection that opened was reported closed');
    const drained = events.filter((e) => e.type === 'connection.closed' && e.sub?.startsWith('b-') && e.sub !== 'b-again');
    assert.deepEqual(drained.map((e) => [e.code, e.reason]), Array.from({ length: 10 }, () => [1001, 'closed']), "B's sockets closed by its drain (1001), not lost");
    assert.equal(events.filter((e) => e.reason === 'instance_lost').length, 0, 'a graceful stop is not a lost instance');
    // The server API's publications are events too: sender server, no connection.
    const res = await fetch(`http://127.0.0.1:${a.port}/api/rooms/news/messages`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hi', from: 'Ops' }) });
    assert.equal(res.status, 201);
    await eventually(() => [...read.values()].some((e) => e.type === 'message.published' && e.sender === 'server' && e.connId === undefined && e.room === 'news' && e.seq === 1), 5000, 'the API publication read');
    for (const s of onB) s.ws.terminate();
  } finally {
    reading = false;
    await loop;
    await consumer.close();
    await killServices([a.service, b.service]);
  }
});
