// Several instances of the real service (node src/main.ts) sharing a real Redis (Debian's
// redis-server, started here on a free loopback port): fan-out, presence, replay with `since`,
// an instance killed with SIGKILL under traffic, and Redis itself stopped under traffic.
// Needs redis-server (apt-get install redis-server); a missing one fails the suite.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { chatLoad, ChatPeer, until } from '../helpers/chat.ts';
import { TestClient } from '../helpers/client.ts';
import { assertReplay, replayJoin, suiteRedis } from '../helpers/redis.ts';
import { freePort, killServices, runService, type Service } from '../helpers/process.ts';

const PRESENCE_TTL_MS = 3000;
const HISTORY_SIZE = 20;

const redis = suiteRedis();
const services: Service[] = [];
const peers: ChatPeer[] = [];

function peer(opts: ConstructorParameters<typeof ChatPeer>[0]): ChatPeer {
  const p = new ChatPeer(opts);
  peers.push(p);
  return p;
}

async function readyz(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } catch {
    return { status: -1, body: {} };
  }
}

async function instance(extra: Record<string, string> = {}): Promise<{ port: number; ws: string; service: Service }> {
  const port = await freePort();
  const service = runService({
    PORT: String(port),
    HOST: '127.0.0.1',
    REDIS_URL: redis.url,
    HISTORY_SIZE: String(HISTORY_SIZE),
    PRESENCE_TTL_MS: String(PRESENCE_TTL_MS),
    RATE_LIMIT_PER_SEC: '200',
    SHUTDOWN_TIMEOUT_MS: '2000',
    ...extra,
  });
  services.push(service);
  await until(`instance on ${port} ready`, async () => (await readyz(port)).status === 200, 15_000);
  return { port, ws: `ws://127.0.0.1:${port}/ws`, service };
}

after(async () => {
  for (const p of peers) p.kill();
  await killServices(services);
});

function assertComplete(peer: ChatPeer, expected: string[], label: string): void {
  assert.deepEqual(peer.duplicates, [], `${label}: repeats`);
  assert.deepEqual(peer.outOfOrder, [], `${label}: out of order`);
  const got = peer.texts();
  const missing = expected.filter((t) => !got.includes(t));
  assert.deepEqual(missing, [], `${label}: acknowledged messages missing`);
}

describe('two instances sharing one Redis', () => {
  it('clients on either instance see every message in the same order, and presence counts both', async () => {
    const [a, b] = [await instance(), await instance()];
    const room = 'shared';
    const alice = peer({ urls: [a.ws], room, name: 'alice' });
    const bob = peer({ urls: [b.ws], room, name: 'bob' });
    await alice.start();
    await bob.start();
    await until('presence 2 on both instances', () => alice.members === 2 && bob.members === 2, 5000);
    for (let i = 0; i < 20; i++) {
      (i % 2 ? alice : bob).say(`m${i}`);
      if (i % 5 === 4) await sleep(5);
    }
    await until('40 deliveries', () => alice.received.length === 20 && bob.received.length === 20, 5000);
    assert.deepEqual(alice.received, bob.received, 'same messages, same ids, same order');
    assert.deepEqual(alice.duplicates, []);
    assert.deepEqual(alice.outOfOrder, []);
    assert.match(alice.received[0]!.id, /^\d+-\d+$/, 'the Redis stream id');

    const carol = await TestClient.connect(b.ws);
    carol.send({ type: 'join', room, name: 'carol' });
    await until('presence 3 seen on the other instance', () => alice.members === 3, 5000);
    carol.close();
    await until('presence back to 2', () => alice.members === 2 && bob.members === 2, 5000);
    alice.stop();
    bob.stop();
  });

  it('join with since replays from Redis: exact, or marked truncated past HISTORY_SIZE, or after data loss', async () => {
    const [a, b] = [await instance(), await instance()];
    const room = 'replay';
    const writer = peer({ urls: [a.ws], room, name: 'writer' });
    await writer.start();
    const ids = await assertReplay(writer, b.ws, room, HISTORY_SIZE);
    const join = (since: string) => replayJoin(b.ws, room, since);
    const edge = await join(ids[4]!);
    assert.equal(edge.history.truncated, false, 'since = the newest trimmed id: nothing missed');
    const future = await join(`${Date.now() + 86_400_000}-0`);
    assert.equal(future.history.truncated, true, 'an id Redis never gave (it lost its data)');
    assert.equal(future.texts.length, HISTORY_SIZE);
    writer.stop();
  });
  it('typing on one instance reaches the room on the other, coalesced, and is never stored', async () => {
    const [a, b] = [await instance(), await instance()];
    const room = 'typing';
    const join = async (url: string, name: string): Promise<TestClient> => {
      const c = await TestClient.connect(url);
      c.send({ type: 'join', room, name });
      await c.nextOf('welcome', 5000, (w) => w.room === room);
      return c;
    };
    const observer = await join(b.ws, 'observer');
    const typists = await Promise.all(Array.from({ length: 8 }, (_, i) => join(a.ws, `t${i}`)));
    let frames = 0;
    observer.ws.on('message', (d) => {
      if ((d as Buffer).includes('"type":"typing"')) frames++;
    });
    for (let round = 0; round < 3; round++) for (const t of typists) t.send({ type: 'typing' });
    const seen = await observer.nextOf('typing', 5000, (t) => (t.names as string[]).length + Number(t.others) === 8);
    assert.equal((seen.names as string[]).length, 5);
    assert.equal(seen.others, 3);
    typists[0]!.send({ type: 'say', text: 'after typing' });
    await observer.nextOf('message', 5000, (m) => m.text === 'after typing'); // every earlier typing frame has arrived
    assert.ok(frames >= 1 && frames <= 3, `${frames} typing frames across instances for 24 typing messages`);
    const late = await TestClient.connect(a.ws);
    late.send({ type: 'join', room, name: 'late', since: '0-0' });
    assert.equal((await late.nextOf('history', 5000)).count, 1, 'only the chat message is replayed');
    for (const c of [observer, late, ...typists]) c.close();
  });
});

describe('identity and the server API across instances', () => {
  it('publish on one instance reaches members on the other; presence lists both; DELETE closes the user everywhere with 4003', async () => {
    const secret = 'redis-e2e-secret-that-is-long-enough-0123';
    const apiKey = 'redis-e2e-api-key-that-is-long-enough-0123';
    const env = { AUTH_JWT_SECRET: secret, API_KEY: apiKey };
    const [a, b] = [await instance(env), await instance(env)];
    const { SignJWT } = await import('jose');
    const token = (sub: string): Promise<string> =>
      new SignJWT({ name: sub.toUpperCase() }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('5m').sign(new TextEncoder().encode(secret));
    const join = async (url: string, sub: string): Promise<TestClient> => {
      const c = await TestClient.connect(`${url}?access_token=${await token(sub)}`);
      c.send({ type: 'join', room: 'api', name: 'ignored' });
      await c.nextOf('welcome', 5000, (w) => w.room === 'api');
      return c;
    };
    const eveA = await join(a.ws, 'eve');
    const eveB = await join(b.ws, 'eve');
    const frank = await join(b.ws, 'frank');
    const api = (port: number, method: string, path: string, body?: unknown): Promise<Response> =>
      fetch(`http://127.0.0.1:${port}${path}`, { method, headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(5000) });

    const published = await api(a.port, 'POST', '/api/rooms/api/messages', { text: 'from the backend' });
    assert.equal(published.status, 201);
    const { id } = (await published.json()) as { id: string };
    assert.equal((await frank.nextOf('message', 5000, (m) => m.id === id)).sender, 'server', 'delivered on the other instance');

    await until('presence over both instances', async () => ((await (await api(b.port, 'GET', '/api/rooms/api/presence')).json()) as { count: number }).count === 3, 5000);
    const roster = (await (await api(b.port, 'GET', '/api/rooms/api/presence')).json()) as { members: { sub: string }[] };
    assert.deepEqual(roster.members.map((m) => m.sub).sort(), ['eve', 'eve', 'frank']);

    const started = Date.now();
    assert.equal((await api(b.port, 'DELETE', '/api/users/eve/connections')).status, 202);
    for (const c of [eveA, eveB]) assert.deepEqual(await c.closed, { code: 4003, reason: 'Disconnected by server' });
    assert.ok(Date.now() - started < 2000, `both of eve's sockets closed within 2 s (${Date.now() - started} ms)`);
    frank.send({ type: 'say', text: 'frank stays' });
    await frank.nextOf('message', 5000, (m) => m.text === 'frank stays');
    frank.close();
  });
});

describe('failures', () => {
  it('kill -9 of an instance: its client reconnects to the other with since and has every acknowledged message once, in order', async () => {
    const [a, b] = [await instance(), await instance()];
    const room = 'crash';
    const sender = peer({ urls: [b.ws], room, name: 'sender' });
    const victim = peer({ urls: [a.ws, b.ws], room, name: 'victim' });
    const ghost = peer({ urls: [a.ws], room, name: 'ghost' });
    await sender.start();
    await victim.start();
    await ghost.start();
    await until('presence 3', () => sender.members === 3, 5000);

    const load = chatLoad([sender], 15, 150, (_, n) => `c${n}`);
    await until('some traffic', () => load.rounds >= 50, 5000);
    a.service.child.kill('SIGKILL');
    ghost.kill(); // gone with its instance, never reconnects: presence must forget it
    await load.done;
    await until('the sender has its acknowledgements', () => sender.acked.size === sender.sent.length, 10_000);
    await until('the victim caught up', () => victim.received.length >= sender.acked.size, 10_000);
    assertComplete(victim, [...sender.acked], 'victim');
    assert.deepEqual(victim.texts(), sender.texts(), 'the same messages in the same order as the sender saw');
    assert.equal(victim.reconnects.length, 1);
    assert.equal(victim.reconnects[0]!.url, b.ws, 'reconnected to the surviving instance');
    assert.ok(victim.histories.length === 1 && victim.histories[0]!.truncated === false, JSON.stringify(victim.histories));
    console.log(`# kill -9: ${sender.acked.size} acknowledged, victim received ${victim.received.length}, back after ${victim.reconnects[0]!.rejoinedAt - victim.reconnects[0]!.closedAt} ms, replayed ${String(victim.histories[0]!.count)}`);
    // The crashed instance counted victim and ghost; its presence expires within PRESENCE_TTL_MS.
    const killedAt = Date.now();
    await until('presence without the crashed instance', () => sender.members === 2, PRESENCE_TTL_MS + 3000);
    console.log(`# presence corrected ${Date.now() - killedAt} ms after the crash`);
    sender.stop();
    victim.stop();
  });

  it('Redis stopped under traffic: /readyz 503 with the reason and back, sockets stay open, no acknowledged message lost', async () => {
    const [a, b] = [await instance(), await instance()];
    const room = 'outage';
    const p = peer({ urls: [a.ws], room, name: 'p' });
    const q = peer({ urls: [b.ws], room, name: 'q' });
    await p.start();
    await q.start();
    await until('presence 2', () => p.members === 2 && q.members === 2, 5000);

    const load = chatLoad([p, q], 40, 2000, (i, n) => `${i ? 'q' : 'p'}${n}`);
    await sleep(500);
    await redis.kill();
    const down = Date.now();
    await until('both instances not ready', async () => (await readyz(a.port)).status === 503 && (await readyz(b.port)).status === 503, 5000);
    const reason = String((await readyz(a.port)).body.reason);
    assert.match(reason, /redis/i);
    await sleep(Math.max(0, 2500 - (Date.now() - down)));
    await redis.start();
    await until('both instances ready again', async () => (await readyz(a.port)).status === 200 && (await readyz(b.port)).status === 200, 15_000);
    const outage = Date.now() - down;
    await sleep(500);
    await load.stop();
    await until('every message acknowledged', () => p.acked.size === p.sent.length && q.acked.size === q.sent.length, 15_000).catch((err: unknown) => {
      console.log(`# p sent ${p.sent.length} acked ${p.acked.size}; q sent ${q.sent.length} acked ${q.acked.size}; closes ${JSON.stringify([p.closes, q.closes])}`);
      throw err;
    });
    const all = [...p.acked, ...q.acked];
    await until('both peers have every acknowledged message', () => p.received.length >= all.length && q.received.length >= all.length, 10_000);
    assertComplete(p, all, 'p');
    assertComplete(q, all, 'q');
    assert.deepEqual(p.texts(), q.texts(), 'the same order on both instances');
    assert.deepEqual(p.closes, [], 'p stayed connected');
    assert.deepEqual(q.closes, [], 'q stayed connected');
    console.log(`# Redis outage ${outage} ms: ${all.length} messages sent and acknowledged, none lost, none repeated`);
    p.stop();
    q.stop();
  });

  it('Redis down at start: the service starts, /readyz 503 with the reason until Redis answers', async () => {
    const port = await freePort();
    const missing = `redis://127.0.0.1:${await freePort()}`;
    const service = runService({ PORT: String(port), HOST: '127.0.0.1', REDIS_URL: missing });
    services.push(service);
    await until('healthz', async () => (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0)) === 200, 10_000);
    const r = await readyz(port);
    assert.equal(r.status, 503);
    assert.match(String(r.body.reason), /redis unavailable \(redis:\/\/127\.0\.0\.1:\d+\): .*(ECONNREFUSED|connect)/i);
    service.child.kill('SIGTERM');
    assert.equal((await service.exited).code, 0);
  });
});
