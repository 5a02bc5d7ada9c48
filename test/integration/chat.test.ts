import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestClient, type Json } from '../helpers/client.ts';
import { eventually, fetchMetrics, metricValue, serverPool } from '../helpers/server.ts';
import { tcpSocketOf } from '../../src/realtime/ws-internals.ts';

const server = serverPool({ pingIntervalMs: 1000 });

test('a new socket is welcomed into lobby with a generated name and can say at once', async () => {
  const s = await server();
  const c = await TestClient.connect(s.wsUrl);
  const welcome = await c.nextOf('welcome');
  assert.equal(welcome.room, 'lobby');
  assert.match(String(welcome.name), /^guest-[0-9a-f]{4}$/);
  assert.equal(typeof welcome.id, 'string');
  assert.deepEqual(await c.nextOf('presence'), { type: 'presence', room: 'lobby', members: 1 });
  c.send({ type: 'say', text: 'hello' });
  const m = await c.nextOf('message');
  assert.equal(m.text, 'hello');
  assert.equal(m.from, welcome.name);
  assert.equal(m.room, 'lobby');
  assert.equal(typeof m.id, 'string');
  assert.ok(typeof m.ts === 'number' && Math.abs(m.ts - Date.now()) < 5000);
  c.close();
});

test('rooms: members see each other, presence follows joins and leaves, other rooms see nothing', async () => {
  const s = await server();
  const alice = await TestClient.connect(s.wsUrl);
  const bob = await TestClient.connect(s.wsUrl);
  const carol = await TestClient.connect(s.wsUrl);
  await alice.nextOf('presence', 3000, (p) => p.members === 3);

  alice.send({ type: 'join', room: 'red', name: 'alice' });
  const welcome = await alice.nextOf('welcome', 3000, (w) => w.room === 'red');
  assert.equal(welcome.name, 'alice');
  assert.deepEqual(await alice.nextOf('presence', 3000, (p) => p.room === 'red'), { type: 'presence', room: 'red', members: 1 });
  assert.deepEqual(await bob.nextOf('presence', 3000, (p) => p.members === 2), { type: 'presence', room: 'lobby', members: 2 });

  carol.send({ type: 'join', room: 'red', name: 'carol' });
  await alice.nextOf('presence', 3000, (p) => p.room === 'red' && p.members === 2);

  alice.send({ type: 'say', text: 'red only' });
  const atCarol = await carol.nextOf('message');
  const atAlice = await alice.nextOf('message');
  assert.deepEqual(atCarol, atAlice, 'everyone, the sender included, gets the same message');
  assert.equal(atCarol.from, 'alice');
  assert.equal(atCarol.room, 'red');

  bob.send({ type: 'say', text: 'lobby only' });
  assert.equal((await bob.nextOf('message')).text, 'lobby only');
  // Said after the lobby message was delivered: had alice heard the lobby, it would come first.
  alice.send({ type: 'say', text: 'red marker' });
  assert.equal((await alice.nextOf('message')).text, 'red marker', 'alice in red does not hear the lobby');

  carol.close();
  assert.deepEqual(await alice.nextOf('presence', 3000, (p) => p.room === 'red' && p.members === 1), { type: 'presence', room: 'red', members: 1 });
  alice.close();
  bob.close();
});

test('message ids increase within a room and every member sees the same order', async () => {
  const s = await server({ rateLimitPerSec: 1000 });
  const a = await TestClient.connect(s.wsUrl);
  const b = await TestClient.connect(s.wsUrl);
  for (let i = 0; i < 20; i++) (i % 2 ? a : b).send({ type: 'say', text: `m${i}` });
  const seen: Json[][] = [[], []];
  for (const [k, c] of [a, b].entries()) for (let i = 0; i < 20; i++) seen[k]!.push(await c.nextOf('message'));
  assert.deepEqual(seen[0], seen[1]);
  const ids = seen[0]!.map((m) => Number(m.id));
  assert.deepEqual(ids, [...ids].sort((x, y) => x - y));
  assert.equal(new Set(ids).size, 20);
  a.close();
  b.close();
});

const invalid: [Json | string, string][] = [
  [{ type: 'join', room: 'no spaces', name: 'x' }, 'Invalid field: room'],
  [{ type: 'join', room: 'ok', name: 'n'.repeat(33) }, 'Invalid field: name'],
  [{ type: 'say', text: '' }, 'Invalid field: text'],
  [{ type: 'say', text: 't'.repeat(2001) }, 'Invalid field: text'],
  [{ type: 'shout', text: 'hi' }, "Expected 'pong'"],
  ['not json', "Expected 'pong'"],
];
for (const [message, reason] of invalid) {
  test(`${JSON.stringify(message).slice(0, 50)} closes with 1008 ${reason}`, async () => {
    const s = await server();
    const bystander = await TestClient.connect(s.wsUrl);
    const c = await TestClient.connect(s.wsUrl);
    c.send(message);
    assert.deepEqual(await c.closed, { code: 1008, reason });
    bystander.send({ type: 'say', text: 'unaffected' });
    assert.equal((await bystander.nextOf('message')).text, 'unaffected');
    bystander.close();
  });
}

test('a flood past RATE_LIMIT_PER_SEC closes that socket with 1008 Rate limit exceeded; others carry on', async () => {
  const s = await server({ rateLimitPerSec: 5 });
  const other = await TestClient.connect(s.wsUrl);
  const flooder = await TestClient.connect(s.wsUrl);
  for (let i = 0; i < 10; i++) flooder.send({ type: 'say', text: `burst ${i}` }); // the burst (2x rate) is allowed
  await flooder.nextOf('message', 3000, (m) => m.text === 'burst 9');
  assert.equal(flooder.ws.readyState, flooder.ws.OPEN, 'a burst of twice the rate is allowed');
  for (let i = 0; i < 20; i++) flooder.send({ type: 'say', text: `flood ${i}` });
  assert.deepEqual(await flooder.closed, { code: 1008, reason: 'Rate limit exceeded' });
  other.send({ type: 'say', text: 'still fine' });
  assert.equal((await other.nextOf('message', 3000, (m) => m.text === 'still fine')).text, 'still fine');
  assert.ok(s.logs.some((l) => l.level === 'warn' && l.reason === 'Rate limit exceeded'));
  other.close();
});

test('a slow consumer is closed with 1013 and freed, without holding up the others', async () => {
  const maxBufferedBytes = 64 * 1024;
  const s = await server({ rateLimitPerSec: 100_000, maxBufferedBytes });
  const slow = await TestClient.connect(s.wsUrl);
  const fast = await TestClient.connect(s.wsUrl);
  await fast.nextOf('presence', 3000, (p) => p.members === 2);
  tcpSocketOf(slow.ws)!.pause(); // stops reading: its server-side buffer grows

  const text = 'x'.repeat(2000);
  let received = 0;
  fast.ws.on('message', (d) => {
    if ((d as Buffer).length > 2000) received++;
  });
  const total = 4000; // ~8.5 MB: more than loopback socket buffers hold, bounded
  for (let i = 0; i < total; i++) {
    fast.send({ type: 'say', text });
    if (i % 200 === 199) await sleep(5);
  }
  await eventually(() => received === total, 20_000, 'the fast client to get every message');
  await eventually(async () => metricValue(await fetchMetrics(s), 'ws_closes_total', { code: '1013', by: 'server' }) === 1, 5000, 'a 1013 close by the server');
  await eventually(() => s.app.server.listening && s.logs.some((l) => l.msg === 'slow consumer closed'), 1000, 'slow consumer log');
  await eventually(async () => metricValue(await fetchMetrics(s), 'ws_connections_open') === 1, 3000, 'the slow socket to be freed');
  const warn = s.logs.find((l) => l.msg === 'slow consumer closed')!;
  assert.ok(Number(warn.bufferedBytes) <= maxBufferedBytes + 4096, 'buffered no more than the limit plus one message');
  fast.close();
});
