// In-band token refresh (`refresh`), with real `ws` clients and HS256 tokens made with jose: the
// socket outlives its first token, narrows its rooms to the new grant, keeps its old expiry when
// the new token is bad, and closes when the new token names someone else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient, type Json } from '../helpers/client.ts';
import { serverPool, type TestServer } from '../helpers/server.ts';
import { hs256, SECRET } from '../helpers/tokens.ts';
import { parseIdentityConfig } from '../../src/config/identity.ts';

const server = serverPool({ rateLimitPerSec: 1000, pingIntervalMs: 100 });
const identityServer = (): Promise<TestServer> => server({ identity: parseIdentityConfig({ AUTH_JWT_SECRET: SECRET }) });

async function connect(s: TestServer, claims: Record<string, unknown>, ttlS: number): Promise<{ c: TestClient; welcome: Json }> {
  const c = await TestClient.connect(`${s.wsUrl}?access_token=${await hs256({ name: 'Alice', ...claims }, ttlS)}`);
  return { c, welcome: await c.nextOf('welcome') };
}

/** Waits for pings until `ms` since the epoch has passed: the heartbeat runs meanwhile, so an expired socket would be closed. */
async function pingsUntil(c: TestClient, ms: number): Promise<void> {
  while (Date.now() < ms) await c.nextPing(2000);
}

test('welcome carries expiresAt; a refresh before it moves it, and the socket outlives its first token', async () => {
  const s = await identityServer();
  const { c, welcome } = await connect(s, { sub: 'alice' }, 2);
  assert.equal(typeof welcome.expiresAt, 'number');
  const first = Number(welcome.expiresAt);
  assert.ok(Math.abs(first - (Date.now() + 2000)) < 1500, 'the first token\'s expiry');
  c.send({ type: 'refresh', token: await hs256({ sub: 'alice', name: 'Alice B.' }, 60) });
  const refreshed = await c.nextOf('refreshed');
  assert.ok(Number(refreshed.expiresAt) > first + 50_000, `new expiry ${String(refreshed.expiresAt)}`);
  await pingsUntil(c, first + 500);
  c.send({ type: 'say', text: 'still here' });
  const m = await c.nextOf('message', 3000, (f) => f.text === 'still here');
  assert.equal(m.from, 'Alice B.', 'the new token\'s name');
  c.close();
});

test('a bad refresh is refused with token_invalid and keeps the old expiry: the socket then closes with 4001', async () => {
  const s = await identityServer();
  const { c, welcome } = await connect(s, { sub: 'bob' }, 2);
  c.send({ type: 'refresh', token: await hs256({ sub: 'bob' }, -120) });
  assert.deepEqual(await c.nextOf('error'), { type: 'error', reason: 'token_invalid' });
  c.send({ type: 'refresh', token: await hs256({ sub: 'bob' }, 60, 'another-secret-that-is-long-enough-0123456789') });
  assert.deepEqual(await c.nextOf('error'), { type: 'error', reason: 'token_invalid' });
  assert.equal(s.logs.filter((l) => l.msg === 'token refresh refused').length, 2);
  assert.ok(!JSON.stringify(s.logs).includes('eyJ'), 'no token in the logs');
  const closed = await c.closedWithin(Number(welcome.expiresAt) - Date.now() + 3000);
  assert.deepEqual(closed, { code: 4001, reason: 'Token expired' });
});

test('a refresh naming another user closes the socket with 1008; others carry on', async () => {
  const s = await identityServer();
  const { c } = await connect(s, { sub: 'carol' }, 60);
  const { c: witness } = await connect(s, { sub: 'dave' }, 60);
  c.send({ type: 'refresh', token: await hs256({ sub: 'mallory' }, 60) });
  assert.deepEqual(await c.closed, { code: 1008, reason: 'Token names another user' });
  witness.send({ type: 'say', text: 'fine' });
  assert.equal((await witness.nextOf('message')).text, 'fine');
  witness.close();
});

test('a refresh whose rooms no longer allow a room followed: unsubscribed with reason forbidden, the rest kept', async () => {
  const s = await identityServer();
  const { c } = await connect(s, { sub: 'erin', rooms: ['lobby', 'team-*'] }, 60);
  for (const room of ['team-a', 'team-b']) {
    c.send({ type: 'subscribe', room });
    await c.nextOf('subscribed', 3000, (m) => m.room === room);
  }
  c.send({ type: 'subscribe', room: '@me' });
  await c.nextOf('subscribed', 3000, (m) => m.room === '@me');
  c.send({ type: 'refresh', token: await hs256({ sub: 'erin', rooms: ['lobby', 'team-a'] }, 60) });
  await c.nextOf('refreshed');
  assert.deepEqual(await c.nextOf('unsubscribed'), { type: 'unsubscribed', room: 'team-b', reason: 'forbidden' });
  c.send({ type: 'say', room: 'team-a', text: 'kept' });
  assert.equal((await c.nextOf('message')).room, 'team-a');
  c.send({ type: 'subscribe', room: 'team-b' });
  assert.deepEqual(await c.nextOf('error'), { type: 'error', reason: 'forbidden', room: 'team-b' });
  c.close();
});

test('refresh in anonymous mode is forbidden; a token that is not a string is a bad frame', async () => {
  const s = await server();
  const c = await TestClient.connect(s.wsUrl);
  await c.nextOf('welcome');
  c.send({ type: 'refresh', token: 'x.y.z' });
  assert.deepEqual(await c.nextOf('error'), { type: 'error', reason: 'forbidden' });
  c.send({ type: 'refresh', token: 42 });
  assert.deepEqual(await c.closed, { code: 1008, reason: 'Invalid field: token' });
});

test('with a token, name is forbidden: the token\'s name is the user\'s', async () => {
  const s = await identityServer();
  const { c } = await connect(s, { sub: 'named-by-token' }, 60);
  c.send({ type: 'name', name: 'Impostor' });
  assert.deepEqual(await c.nextOf('error'), { type: 'error', reason: 'forbidden' });
  c.send({ type: 'say', text: 'who am I' });
  assert.equal((await c.nextOf('message')).from, 'Alice');
  c.close();
});
