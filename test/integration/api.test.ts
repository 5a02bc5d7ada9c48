// The server API (docs/openapi.yaml): every response, good or bad, is checked against the document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient } from '../helpers/client.ts';
import { API_KEY as KEY, call, checked } from '../helpers/api.ts';
import { OPENAPI } from '../helpers/openapi.ts';
import { eventually, fetchMetrics, metricValue, serverPool, type TestServer } from '../helpers/server.ts';
import { hs256, SECRET } from '../helpers/tokens.ts';
import { parseIdentityConfig } from '../../src/config/identity.ts';

const server = serverPool();
const apiServer = (env: Record<string, string> = {}): Promise<TestServer> => server({ identity: parseIdentityConfig({ API_KEY: KEY, ...env }) });

test('without API_KEY the API does not exist: 404', async () => {
  const s = await server();
  const res = await fetch(`${s.url}/api/rooms/lobby/presence`, { headers: { authorization: `Bearer ${KEY}` } });
  assert.equal(res.status, 404);
});

test('publish: 201 with the id; members get it as a message marked sender server; it is in history', async () => {
  const s = await apiServer();
  const member = await TestClient.connect(s.wsUrl);
  await member.nextOf('welcome');
  const r = await checked(s, 'POST', '/api/rooms/lobby/messages', { text: 'deploy at 5', from: 'Ops bot' });
  assert.equal(r.status, 201);
  const id = (r.body as { id: string }).id;
  const got = await member.nextOf('message', 2000, (m) => m.id === id);
  assert.deepEqual({ from: got.from, text: got.text, sender: got.sender }, { from: 'Ops bot', text: 'deploy at 5', sender: 'server' });
  const h = await checked(s, 'GET', '/api/rooms/lobby/history?since=0');
  assert.deepEqual((h.body as { messages: { id: string; sender?: string }[] }).messages.map((m) => [m.id, m.sender]), [[id, 'server']]);
  // A user cannot pass for the backend: a say never carries sender.
  member.send({ type: 'say', text: 'me too', sender: 'server' });
  assert.equal((await member.nextOf('message', 2000, (m) => m.text === 'me too')).sender, undefined);
  member.close();
});

test('presence over the API: count in anonymous mode; sub and name of each member in identity mode', async () => {
  const anon = await apiServer();
  const a = await TestClient.connect(anon.wsUrl);
  await a.nextOf('presence');
  const p1 = await checked(anon, 'GET', '/api/rooms/lobby/presence');
  assert.deepEqual(p1.body, { room: 'lobby', count: 1 });
  a.close();

  const ident = await apiServer({ AUTH_JWT_SECRET: SECRET });
  const b = await TestClient.connect(`${ident.wsUrl}?access_token=${await hs256({ sub: 'u-1', name: 'One' })}`);
  await b.nextOf('presence');
  await eventually(async () => ((await call(ident, 'GET', '/api/rooms/lobby/presence')).body as { count: number }).count === 1, 2000, 'count 1');
  const p2 = await checked(ident, 'GET', '/api/rooms/lobby/presence');
  assert.deepEqual(p2.body, { room: 'lobby', count: 1, members: [{ sub: 'u-1', name: 'One' }], truncated: false });
  b.close();
});

test('DELETE /api/users/{sub}/connections closes that user\'s sockets with 4003, others untouched', async () => {
  const s = await apiServer({ AUTH_JWT_SECRET: SECRET });
  const tok = async (sub: string): Promise<string> => `${s.wsUrl}?access_token=${await hs256({ sub })}`;
  const [eve1, eve2, frank] = [await TestClient.connect(await tok('eve')), await TestClient.connect(await tok('eve')), await TestClient.connect(await tok('frank'))];
  await frank.nextOf('welcome');
  const r = await checked(s, 'DELETE', '/api/users/eve/connections');
  assert.equal(r.status, 202);
  for (const c of [eve1, eve2]) assert.deepEqual(await c.closed, { code: 4003, reason: 'Disconnected by server' });
  frank.send({ type: 'say', text: 'still here' });
  await frank.nextOf('message', 2000, (m) => m.text === 'still here');
  frank.close();
});

test('refusals: wrong or missing key 401, bad JSON, bad room, bad field, oversized body 400, wrong method 405, unknown 404', async () => {
  const s = await apiServer();
  const cases: [string, string, unknown, string | null, string | undefined, number][] = [
    ['GET', '/api/rooms/lobby/presence', undefined, null, undefined, 401],
    ['GET', '/api/rooms/lobby/presence', undefined, `${KEY}x`, undefined, 401],
    ['GET', '/api/rooms/lobby/presence', undefined, 'short', undefined, 401],
    ['POST', '/api/rooms/lobby/messages', undefined, KEY, '{not json', 400],
    ['POST', '/api/rooms/lobby/messages', undefined, KEY, '[1,2]', 400],
    ['POST', '/api/rooms/no%20spaces/messages', { text: 'x' }, KEY, undefined, 400],
    ['POST', '/api/rooms/lobby/messages', { text: '' }, KEY, undefined, 400],
    ['POST', '/api/rooms/lobby/messages', { text: 'x', from: '\u0000' }, KEY, undefined, 400],
    ['POST', '/api/rooms/lobby/messages', undefined, KEY, JSON.stringify({ text: 'x'.repeat(20_000) }), 400],
    ['GET', '/api/rooms/lobby/history?since=yesterday', undefined, KEY, undefined, 400],
    ['DELETE', '/api/rooms/lobby/messages', undefined, KEY, undefined, 405],
  ];
  for (const [method, path, body, key, raw, status] of cases) {
    const r = await checked(s, method, path, body, key, raw);
    assert.equal(r.status, status, `${method} ${path}`);
    assert.equal(typeof (r.body as { reason: unknown }).reason, 'string');
  }
  const unknown = await call(s, 'GET', '/api/nothing');
  assert.equal(unknown.status, 404);
  assert.ok(s.logs.filter((l) => l.msg === 'api request refused').length >= cases.length);
  assert.ok(!JSON.stringify(s.logs).includes(KEY), 'the API key never reaches the logs');
  assert.equal(metricValue(await fetchMetrics(s), 'ws_api_requests_total', { route: 'publish', status: '400' }), 6);
});

test('rate-limited like the sockets: a burst past twice the rate gets 429 with Retry-After', async () => {
  const s = await apiServer({ API_RATE_LIMIT_PER_SEC: '5' });
  const statuses: number[] = [];
  for (let i = 0; i < 15; i++) statuses.push((await call(s, 'GET', '/api/rooms/lobby/presence')).status);
  assert.deepEqual(statuses.slice(0, 10), Array(10).fill(200));
  const limited = await checked(s, 'GET', '/api/rooms/lobby/presence');
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get('retry-after'), '1');
});

test('the key is checked before the rate limit: keyless callers at the backend\'s address spend a budget of their own', async () => {
  const s = await apiServer({ API_RATE_LIMIT_PER_SEC: '5' });
  const keyless: number[] = [];
  for (let i = 0; i < 30; i++) keyless.push((await call(s, 'GET', '/api/rooms/lobby/presence', undefined, null)).status);
  assert.deepEqual([keyless.slice(0, 10), keyless.slice(10)], [Array(10).fill(401), Array(20).fill(429)], 'bad keys: twice the rate, then 429');
  const backend: number[] = [];
  for (let i = 0; i < 10; i++) backend.push((await checked(s, 'GET', '/api/rooms/lobby/presence')).status);
  assert.deepEqual(backend, Array(10).fill(200), 'the backend keeps its whole budget');
});

test('the OpenAPI document is 3.1 and documents every route the server has', () => {
  assert.equal(OPENAPI.openapi, '3.1.0');
  assert.deepEqual(Object.keys(OPENAPI.paths as object).sort(), [
    '/api/rooms/{room}/history',
    '/api/rooms/{room}/messages',
    '/api/rooms/{room}/presence',
    '/api/users/{sub}/connections',
    '/api/users/{sub}/messages',
    '/api/users/{sub}/rooms/{room}',
  ]);
});
