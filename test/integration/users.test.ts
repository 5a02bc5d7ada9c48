// Reaching a user: the personal channel `@me` (POST /api/users/{sub}/messages) and server-side
// subscriptions (PUT/DELETE /api/users/{sub}/rooms/{room}), with real `ws` clients and every API
// response checked against docs/openapi.yaml. Across instances: test/e2e/redis.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_KEY, checked } from '../helpers/api.ts';
import { TestClient, type Json } from '../helpers/client.ts';
import { serverPool, type TestServer } from '../helpers/server.ts';
import { hs256, SECRET } from '../helpers/tokens.ts';
import { parseIdentityConfig } from '../../src/config/identity.ts';

const server = serverPool({ rateLimitPerSec: 1000 });
const identityServer = (overrides = {}): Promise<TestServer> => server({ identity: parseIdentityConfig({ API_KEY, AUTH_JWT_SECRET: SECRET }), ...overrides });

async function user(s: TestServer, sub: string, claims: Record<string, unknown> = {}): Promise<TestClient> {
  const c = await TestClient.connect(`${s.wsUrl}?access_token=${await hs256({ sub, name: sub, ...claims })}`);
  await c.nextOf('welcome');
  return c;
}

async function subscribe(c: TestClient, room: string, since?: string): Promise<Json> {
  c.send({ type: 'subscribe', room, ...(since === undefined ? {} : { since }) });
  return c.nextOf('subscribed', 3000, (m) => m.room === room);
}

test('a message to a user reaches each of their sockets following @me, as room @me from the server; nobody else gets it', async () => {
  const s = await identityServer();
  const phone = await user(s, 'alice');
  const laptop = await user(s, 'alice');
  const other = await user(s, 'bob');
  for (const c of [phone, laptop, other]) await subscribe(c, '@me');
  const r = await checked(s, 'POST', '/api/users/alice/messages', { text: 'your order shipped', from: 'Shop' });
  assert.equal(r.status, 201);
  const { id } = r.body as { id: string };
  for (const c of [phone, laptop]) {
    const m = await c.nextOf('message', 3000, (f) => f.id === id);
    assert.deepEqual({ room: m.room, from: m.from, text: m.text, sender: m.sender }, { room: '@me', from: 'Shop', text: 'your order shipped', sender: 'server' });
  }
  await checked(s, 'POST', '/api/users/bob/messages', { text: 'for bob' });
  assert.equal((await other.nextOf('message')).text, 'for bob', "bob's first message is his own, not alice's");
  for (const c of [phone, laptop, other]) c.close();
});

test('@me is kept like a room\'s history: a user offline replays with since; nobody can say into it', async () => {
  const s = await identityServer();
  let alice = await user(s, 'alice');
  await subscribe(alice, '@me');
  const first = (await checked(s, 'POST', '/api/users/alice/messages', { text: 'one' })).body as { id: string };
  await alice.nextOf('message');
  alice.close();
  await alice.closed;
  for (const text of ['two', 'three']) await checked(s, 'POST', '/api/users/alice/messages', { text });
  alice = await user(s, 'alice');
  await subscribe(alice, '@me', first.id);
  assert.deepEqual(await alice.nextOf('history'), { type: 'history', room: '@me', since: first.id, truncated: false, count: 2 });
  assert.deepEqual([(await alice.nextOf('message')).text, (await alice.nextOf('message')).text], ['two', 'three']);
  alice.send({ type: 'say', room: '@me', text: 'talking to myself' });
  assert.deepEqual(await alice.nextOf('error'), { type: 'error', reason: 'forbidden', room: '@me' });
  alice.send({ type: 'typing', room: '@me' });
  assert.deepEqual(await alice.nextOf('error'), { type: 'error', reason: 'forbidden', room: '@me' });
  alice.close();
});

test('@me spelled any other way is a bad frame (1008): @ME, @u:alice (another user\'s channel), with spaces; alice carries on', async () => {
  const s = await identityServer();
  const alice = await user(s, 'alice');
  await subscribe(alice, '@me');
  for (const room of ['@ME', '@u:alice', ' @me', '@me ', '@', '@@me', '@me\u0000']) {
    const mallory = await user(s, 'mallory');
    mallory.send({ type: 'subscribe', room });
    const closed = await mallory.closed;
    assert.equal(closed.code, 1008, `${JSON.stringify(room)} is a bad frame`);
  }
  await checked(s, 'POST', '/api/users/alice/messages', { text: 'still yours' });
  assert.equal((await alice.nextOf('message')).text, 'still yours');
  alice.close();
});

test('a token\'s rooms grant: a room outside it is forbidden to subscribe, and the socket carries on', async () => {
  const s = await identityServer();
  const c = await user(s, 'carol', { rooms: ['lobby', 'team-*'] });
  await subscribe(c, 'team-red');
  c.send({ type: 'subscribe', room: 'secret' });
  assert.deepEqual(await c.nextOf('error'), { type: 'error', reason: 'forbidden', room: 'secret' });
  await subscribe(c, '@me');
  c.close();
});

test('PUT /api/users/{sub}/rooms/{room}: every socket of the user subscribes; DELETE: unsubscribed with reason server', async () => {
  const s = await identityServer();
  const a1 = await user(s, 'dave');
  const a2 = await user(s, 'dave');
  const other = await user(s, 'erin');
  const put = await checked(s, 'PUT', '/api/users/dave/rooms/ops');
  assert.deepEqual({ status: put.status, body: put.body }, { status: 202, body: { sub: 'dave', room: 'ops', requested: true } });
  for (const c of [a1, a2]) assert.equal(typeof (await c.nextOf('subscribed', 3000, (m) => m.room === 'ops')).last, 'string');
  a1.send({ type: 'say', room: 'ops', text: 'on call' });
  assert.equal((await a2.nextOf('message', 3000, (m) => m.room === 'ops')).text, 'on call');
  const del = await checked(s, 'DELETE', '/api/users/dave/rooms/ops');
  assert.equal(del.status, 202);
  for (const c of [a1, a2]) assert.deepEqual(await c.nextOf('unsubscribed'), { type: 'unsubscribed', room: 'ops', reason: 'server' });
  a1.send({ type: 'say', room: 'ops', text: 'gone' });
  assert.deepEqual(await a1.nextOf('error'), { type: 'error', reason: 'not_subscribed', room: 'ops' });
  other.send({ type: 'say', text: 'erin in lobby' });
  assert.equal((await other.nextOf('message')).text, 'erin in lobby', 'erin was never subscribed to ops');
  for (const c of [a1, a2, other]) c.close();
});

test('server-side subscribe respects MAX_ROOMS_PER_CONNECTION: a socket at the cap gets too_many_rooms', async () => {
  const s = await identityServer({ maxRoomsPerConnection: 1 });
  const c = await user(s, 'frank');
  assert.equal((await checked(s, 'PUT', '/api/users/frank/rooms/extra')).status, 202);
  assert.deepEqual(await c.nextOf('error'), { type: 'error', reason: 'too_many_rooms', room: 'extra' });
  c.close();
});

test('users exist only in identity mode: the user routes answer 404 with the reason; bad paths 400, other methods 405', async () => {
  const anon = await server({ identity: parseIdentityConfig({ API_KEY }) });
  for (const [method, path] of [['POST', '/api/users/alice/messages'], ['PUT', '/api/users/alice/rooms/ops'], ['DELETE', '/api/users/alice/rooms/ops']] as const) {
    const r = await checked(anon, method, path, method === 'POST' ? { text: 'x' } : undefined);
    assert.equal(r.status, 404, `${method} ${path}`);
    assert.match((r.body as { reason: string }).reason, /identity mode/);
  }
  const s = await identityServer();
  assert.equal((await checked(s, 'PUT', '/api/users/alice/rooms/bad%20room')).status, 400);
  assert.equal((await checked(s, 'POST', '/api/users/alice/messages', { text: '' })).status, 400);
  const wrong = await checked(s, 'GET', '/api/users/alice/rooms/ops');
  assert.deepEqual([wrong.status, wrong.headers.get('allow')], [405, 'PUT, DELETE']);
});
