import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient } from '../helpers/client.ts';
import { eventually, fetchMetrics, metricValue, serverPool } from '../helpers/server.ts';
import { parseConfig } from '../../src/config/config.ts';
import { tcpSocketOf } from '../../src/realtime/ws-internals.ts';

const server = serverPool({ pingIntervalMs: 1000 });

function status(promise: Promise<unknown>): Promise<number> {
  return promise.then(
    () => 101,
    (err: { status?: number }) => err.status ?? -1,
  );
}

test('only /ws upgrades; other paths get 404', async () => {
  const s = await server();
  assert.equal(await status(TestClient.connect(`ws://127.0.0.1:${s.port}/other`)), 404);
  assert.equal(await status(TestClient.connect(`ws://127.0.0.1:${s.port}/ws/extra`)), 404);
  assert.equal(await status(TestClient.connect(`ws://127.0.0.1:${s.port}/ws?x=1`).then((c) => c.close())), 101);
  assert.equal(metricValue(await fetchMetrics(s), 'ws_upgrades_rejected_total', { reason: 'not_found' }), 2);
});

test('same origin by default: own origin and no Origin are allowed, a foreign Origin gets 403', async () => {
  const s = await server();
  assert.equal(await status(TestClient.connect(s.wsUrl, { origin: s.url }).then((c) => c.close())), 101);
  assert.equal(await status(TestClient.connect(s.wsUrl).then((c) => c.close())), 101);
  assert.equal(await status(TestClient.connect(s.wsUrl, { origin: 'https://evil.example' })), 403);
  assert.equal(await status(TestClient.connect(s.wsUrl, { origin: `http://127.0.0.1:${s.port + 1}` })), 403);
  assert.equal(metricValue(await fetchMetrics(s), 'ws_upgrades_rejected_total', { reason: 'origin' }), 2);
  assert.ok(s.logs.some((l) => l.msg === 'upgrade refused' && l.level === 'warn' && l.origin === 'https://evil.example'));
});

test('ALLOWED_ORIGINS lists exact origins; * allows any', async () => {
  const listed = await server({ allowedOrigins: parseConfig({ ALLOWED_ORIGINS: 'https://app.example' }).allowedOrigins });
  assert.equal(await status(TestClient.connect(listed.wsUrl, { origin: 'https://app.example' }).then((c) => c.close())), 101);
  assert.equal(await status(TestClient.connect(listed.wsUrl, { origin: 'https://app.example.evil' })), 403);
  assert.equal(await status(TestClient.connect(listed.wsUrl, { origin: listed.url })), 403, 'the list replaces same-origin');
  const any = await server({ allowedOrigins: { kind: 'any' } });
  assert.equal(await status(TestClient.connect(any.wsUrl, { origin: 'https://anything.example' }).then((c) => c.close())), 101);
});

test('over MAX_CONNECTIONS the upgrade gets 503, and a freed slot is reusable', async () => {
  const s = await server({ maxConnections: 2 });
  const a = await TestClient.connect(s.wsUrl);
  const b = await TestClient.connect(s.wsUrl);
  assert.equal(await status(TestClient.connect(s.wsUrl)), 503);
  a.close();
  await a.closed;
  await eventually(async () => metricValue(await fetchMetrics(s), 'ws_connections_open') === 1, 2000);
  const c = await TestClient.connect(s.wsUrl);
  assert.equal(metricValue(await fetchMetrics(s), 'ws_upgrades_rejected_total', { reason: 'capacity' }), 1);
  b.close();
  c.close();
});

test('a plain GET on /ws gets 426', async () => {
  const s = await server();
  const res = await fetch(`${s.url}/ws`);
  assert.equal(res.status, 426);
  assert.equal(res.headers.get('upgrade'), 'websocket');
});

test('a malformed frame closes that one socket, never the process', async () => {
  const s = await server();
  const good = await TestClient.connect(s.wsUrl);
  const bad = await TestClient.connect(s.wsUrl);
  // opcode 0xF is reserved; masked, empty payload
  tcpSocketOf(bad.ws)!.write(Buffer.from([0x8f, 0x80, 1, 2, 3, 4]));
  assert.equal((await bad.closed).code, 1002);
  good.send({ type: 'say', text: 'alive' });
  assert.equal((await good.nextOf('message')).text, 'alive');
  assert.ok(s.logs.some((l) => l.msg === 'protocol violation' && l.wsError === 'WS_ERR_INVALID_OPCODE'));
  good.close();
});

test('the open log line has the client address; from X-Forwarded-For only with TRUST_PROXY', async () => {
  const direct = await server();
  const headers = { 'X-Forwarded-For': '198.51.100.7, 203.0.113.9', 'User-Agent': 'socketship-test' };
  const a = await TestClient.connect(direct.wsUrl, { headers });
  await eventually(() => direct.logs.some((l) => l.msg === 'socket opened'), 1000);
  const line = direct.logs.find((l) => l.msg === 'socket opened')!;
  assert.equal(line.ip, '127.0.0.1');
  assert.equal(line.userAgent, 'socketship-test');
  assert.equal(typeof line.connId, 'string');
  a.close();

  const proxied = await server({ trustProxy: true });
  const b = await TestClient.connect(proxied.wsUrl, { headers });
  await eventually(() => proxied.logs.some((l) => l.msg === 'socket opened'), 1000);
  // right-most: the entry our proxy appended; the left one is whatever the client claimed
  assert.equal(proxied.logs.find((l) => l.msg === 'socket opened')!.ip, '203.0.113.9');
  b.close();
  await eventually(() => proxied.logs.some((l) => l.msg === 'socket closed' && l.code === 1005 && typeof l.durationMs === 'number'), 2000, 'close log');
});
