import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient } from '../helpers/client.ts';
import { eventually, fetchMetrics, metricValue, serverPool } from '../helpers/server.ts';
import { tcpSocketOf } from '../../src/realtime/ws-internals.ts';

const server = serverPool({ pingIntervalMs: 50 });

test('the server sends ping on the interval and records the round trip of each pong', async () => {
  const s = await server();
  const c = await TestClient.connect(s.wsUrl);
  await eventually(() => c.pings >= 4, 2000, '4 pings');
  const text = await fetchMetrics(s);
  assert.ok(metricValue(text, 'ws_ping_rtt_seconds_count') >= 3, 'rtt observations');
  assert.ok(metricValue(text, 'ws_ping_rtt_seconds_sum') < 1, 'rtt is small on loopback');
  assert.ok(metricValue(text, 'ws_messages_in_total', { type: 'pong' }) >= 3);
  assert.equal(c.ws.readyState, c.ws.OPEN);
  c.close();
});

test("a wrong answer closes with 1008 Expected 'pong'", async () => {
  const s = await server({ pingIntervalMs: 1000 });
  const c = await TestClient.connect(s.wsUrl, { autoPong: false });
  c.send('pang');
  assert.deepEqual(await c.closed, { code: 1008, reason: "Expected 'pong'" });
  await eventually(() => s.logs.some((l) => l.msg === 'protocol violation' && l.level === 'warn' && l.reason === "Expected 'pong'"), 1000, 'warn log');
});

test('a binary frame closes with 1003 Unexpected message', async () => {
  const s = await server({ pingIntervalMs: 1000 });
  const c = await TestClient.connect(s.wsUrl);
  c.send(Buffer.from('pong'), { binary: true });
  assert.deepEqual(await c.closed, { code: 1003, reason: 'Unexpected message' });
});

test('a pong sent in fragments is reassembled and accepted', async () => {
  const s = await server({ pingIntervalMs: 100 });
  const c = await TestClient.connect(s.wsUrl, { autoPong: false });
  await c.nextPing();
  c.send('p', { fin: false });
  c.send('o', { fin: false });
  c.send('ng', { fin: true });
  await eventually(async () => metricValue(await fetchMetrics(s), 'ws_ping_rtt_seconds_count') === 1, 2000, 'the fragmented pong to count');
  assert.equal(c.ws.readyState, c.ws.OPEN);
  // a chat message in fragments too
  c.send('{"type":"say",', { fin: false });
  c.send('"text":"in pieces"}', { fin: true });
  assert.equal((await c.nextOf('message')).text, 'in pieces');
  c.close();
});

test('a message over MAX_MESSAGE_BYTES closes with 1009, even when fragmented', async () => {
  const s = await server({ pingIntervalMs: 1000, maxMessageBytes: 1024 });
  const whole = await TestClient.connect(s.wsUrl);
  whole.send(JSON.stringify({ type: 'say', text: 'x'.repeat(1500) }));
  assert.equal((await whole.closed).code, 1009);
  const pieces = await TestClient.connect(s.wsUrl);
  for (let i = 0; i < 3; i++) pieces.send('x'.repeat(500), { fin: false });
  pieces.send('x', { fin: true });
  assert.equal((await pieces.closed).code, 1009);
  await eventually(async () => metricValue(await fetchMetrics(s), 'ws_closes_total', { code: '1009', by: 'server' }) === 2, 2000, 'closes by code 1009, the server\'s');
});

test('invalid UTF-8 closes with 1007', async () => {
  const s = await server({ pingIntervalMs: 1000 });
  const c = await TestClient.connect(s.wsUrl);
  c.send(Buffer.from([0x70, 0xff, 0xfe, 0x67]), { binary: false });
  assert.equal((await c.closed).code, 1007);
});

test('a silent socket is closed with 4000 Pong timeout and its TCP socket destroyed within 1 s', async () => {
  const s = await server({ pingIntervalMs: 50, pongTimeoutMs: 200 });
  const answering = await TestClient.connect(s.wsUrl);
  const silent = await TestClient.connect(s.wsUrl, { autoPong: false });
  assert.deepEqual(await silent.closed, { code: 4000, reason: 'Pong timeout' });
  assert.equal(answering.ws.readyState, answering.ws.OPEN, 'the answering client is untouched');

  // A peer that never reads again (so never answers the close) still loses its TCP socket.
  const deaf = await TestClient.connect(s.wsUrl, { autoPong: false });
  const tcp = tcpSocketOf(deaf.ws)!;
  tcp.pause();
  const start = Date.now();
  await eventually(async () => metricValue(await fetchMetrics(s), 'ws_connections_open') === 1, 200 + 50 + 1000 + 1000, 'the deaf socket to be destroyed');
  assert.ok(Date.now() - start < 2300, 'destroyed within the timeout plus 1 s');
  assert.ok(s.logs.filter((l) => l.msg === 'socket closed' && l.code === 4000).length >= 2, 'both silent sockets logged as 4000');
  answering.close();
});

test('PING_COUNT=3 closes with 1000 Done after three answered pings', async () => {
  const s = await server({ pingIntervalMs: 30, pingCount: 3 });
  const c = await TestClient.connect(s.wsUrl);
  assert.deepEqual(await c.closed, { code: 1000, reason: 'Done' });
  assert.equal(c.pings, 3);
});

test('an extra pong with no ping outstanding is harmless', async () => {
  const s = await server({ pingIntervalMs: 1000 });
  const c = await TestClient.connect(s.wsUrl);
  c.send('pong');
  c.send({ type: 'say', text: 'still here' });
  assert.equal((await c.nextOf('message')).text, 'still here');
  c.close();
});
