// Room streams in a real Redis (Debian's redis-server on a free loopback port) expire when idle:
// every publish renews HISTORY_TTL_MS, both on the ordinary path (XADD then PEXPIRE) and on the
// retry path (the PUBLISH_ONCE script), and a rejoin after expiry says `truncated`.
// Needs redis-server (apt-get install redis-server); a missing one fails the suite.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createClient } from 'redis';
import type { RedisClient } from '../../src/broker/redis/connection.ts';
import { redisKeys } from '../../src/broker/redis/keys.ts';
import { evalScript, PUBLISH_ONCE } from '../../src/broker/redis/scripts.ts';
import { within } from '../helpers/bounded.ts';
import { until } from '../helpers/chat.ts';
import { TestClient } from '../helpers/client.ts';
import { freePort } from '../helpers/process.ts';
import { serverPool } from '../helpers/server.ts';

const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
const TTL_MS = 1500;
let child: ChildProcess | undefined;
let url = '';

before(async () => {
  assert.ok(existsSync(REDIS_SERVER), `${REDIS_SERVER} is missing: apt-get install redis-server`);
  const port = await freePort();
  url = `redis://127.0.0.1:${port}`;
  child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const probe = createClient({ url, socket: { reconnectStrategy: 100 } });
  probe.on('error', () => {});
  await within(probe.connect(), 10_000, 'redis-server to accept connections');
  await until('redis-server to answer PING', async () => (await probe.ping()) === 'PONG', 10_000);
  await probe.quit();
});

after(async () => {
  child?.kill('SIGKILL');
});

const server = serverPool();

test('a room stream expires HISTORY_TTL_MS after its last message; a rejoin then says truncated', async () => {
  const redis = createClient({ url });
  await redis.connect();
  try {
    const s = await server({ redisUrl: url, historyTtlMs: TTL_MS });
    await until('the broker to connect', async () => (await fetch(`${s.url}/readyz`)).status === 200, 10_000);
    const c = await TestClient.connect(s.wsUrl);
    c.send({ type: 'join', room: 'fleeting', name: 'a' });
    await c.nextOf('welcome', 5000, (m) => m.room === 'fleeting');
    c.send({ type: 'say', text: 'soon gone' });
    const said = await c.nextOf('message', 5000);
    const key = redisKeys().room('fleeting');
    const ttl = await redis.pTTL(key);
    assert.ok(ttl > 0 && ttl <= TTL_MS, `PTTL ${ttl}`);
    await until('the idle stream to expire', async () => (await redis.exists(key)) === 0, TTL_MS + 5000);
    c.send({ type: 'join', room: 'fleeting', name: 'a', since: String(said.id) });
    const history = await c.nextOf('history', 5000);
    assert.equal(history.truncated, true);
    c.close();
  } finally {
    await redis.quit();
  }
});

test('the retry path (PUBLISH_ONCE) renews the expiry too, whether it adds the entry or finds it', async () => {
  const redis = createClient({ url });
  await redis.connect();
  try {
    const key = 'socketship-test:room:retry';
    const args = ['100', String(TTL_MS), 'PUBLISH', 'socketship-test:live:retry', 'pid-1', 'from', 'f', 'text', 't', 'ts', '1', 'pid', 'pid-1'];
    const first = await evalScript(redis as unknown as RedisClient, PUBLISH_ONCE, [key], args);
    const ttl = await redis.pTTL(key);
    assert.ok(ttl > 0 && ttl <= TTL_MS, `PTTL ${ttl} after the add`);
    await redis.pExpire(key, 60_000);
    const again = await evalScript(redis as unknown as RedisClient, PUBLISH_ONCE, [key], args);
    assert.equal(again, first, 'the same entry, not a second one');
    const renewed = await redis.pTTL(key);
    assert.ok(renewed > 0 && renewed <= TTL_MS, `PTTL ${renewed} after the retry found the entry`);
    assert.equal(await redis.xLen(key), 1);
  } finally {
    await redis.quit();
  }
});
