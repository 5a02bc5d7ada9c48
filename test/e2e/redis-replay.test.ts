// Replays through Redis cost Redis what they must, no more (src/broker/redis/replay.ts,
// src/realtime/replay-gate.ts), against a real redis-server: joins of one room that come together
// share one history read, each still answered with exactly what it missed; and joins a socket no
// longer wants by their turn (it joined elsewhere since) are never read. History reads are counted
// by Redis itself: the history script is the one caller of XINFO.
// Needs redis-server (apt-get install redis-server); a missing one fails the suite.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { until } from '../helpers/chat.ts';
import { TestClient, type Json } from '../helpers/client.ts';
import { suiteRedis } from '../helpers/redis.ts';
import { serverPool, type TestServer } from '../helpers/server.ts';

const redis = suiteRedis();
const server = serverPool();

async function instance(overrides: Parameters<typeof server>[0] = {}): Promise<TestServer> {
  const s = await server({ redisUrl: redis.url, rateLimitPerSec: 1000, ...overrides });
  await until('the broker to connect', async () => (await fetch(`${s.url}/readyz`)).status === 200, 10_000);
  return s;
}

async function historyReads(): Promise<number> {
  const client = createClient({ url: redis.url });
  client.on('error', () => {});
  await client.connect();
  const info = String(await client.sendCommand(['INFO', 'commandstats']));
  await client.quit();
  // Redis 7 counts subcommands by name: XINFO STREAM is `xinfo|stream`.
  return Number(/cmdstat_xinfo\|stream:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

async function writeRoom(s: TestServer, room: string, n: number, text = (i: number): string => `m${i}`): Promise<string[]> {
  const w = await TestClient.connect(s.wsUrl);
  w.send({ type: 'join', room, name: 'writer' });
  await w.nextOf('welcome', 5000);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) w.send({ type: 'say', text: text(i) });
  for (let i = 0; i < n; i++) ids.push(String((await w.nextOf('message', 5000)).id));
  w.close();
  return ids;
}

async function replayOf(c: TestClient, room: string): Promise<string[]> {
  const history = await c.nextOf('history', 10_000, (m) => m.room === room);
  const texts: string[] = [];
  for (let i = 0; i < Number(history.count); i++) texts.push(String((await c.nextOf('message', 5000, (m: Json) => m.room === room)).text));
  return texts;
}

describe('replays over Redis', () => {
  it('joins of one room that come together share one read, and each gets exactly what it missed', async () => {
    const s = await instance();
    const ids = await writeRoom(s, 'storm', 30);
    const clients = await Promise.all(Array.from({ length: 40 }, () => TestClient.connect(s.wsUrl)));
    const before = await historyReads();
    // Every fourth joiner saw less than the others: its own since.
    clients.forEach((c, i) => c.send({ type: 'join', room: 'storm', name: `j${i}`, since: ids[i % 4 === 0 ? 4 : 19]! }));
    const replays = await Promise.all(clients.map((c) => replayOf(c, 'storm')));
    const reads = (await historyReads()) - before;
    replays.forEach((texts, i) => assert.deepEqual(texts, Array.from({ length: 30 }, (_, k) => `m${k}`).slice(i % 4 === 0 ? 5 : 20), `joiner ${i}`));
    assert.ok(reads >= 1 && reads <= 4, `${reads} history reads for 40 joins`);
    for (const c of clients) c.close();
  });

  it('joins superseded while they wait for the budget are never read', async () => {
    // 4 KB/s, a 64 KB burst: the first replay (about 78 KB) puts the socket some 14 KB in debt.
    const s = await instance({ replayBytesPerSec: 4096 });
    await writeRoom(s, 'heavy', 40, (i) => `${i} ${'z'.repeat(1950)}`);
    for (let r = 0; r < 10; r++) await writeRoom(s, `small-${r}`, 1);
    const c = await TestClient.connect(s.wsUrl);
    c.send({ type: 'join', room: 'heavy', name: 'hopper', since: '0' });
    assert.equal((await replayOf(c, 'heavy')).length, 40);
    const before = await historyReads();
    for (let r = 0; r < 10; r++) c.send({ type: 'join', room: `small-${r}`, name: 'hopper', since: '0' });
    // Once the debt is paid only the last join is still wanted: it alone is read and answered.
    assert.deepEqual(await replayOf(c, 'small-9'), ['m0']);
    assert.equal((await historyReads()) - before, 1, 'the nine superseded joins read nothing');
    const early = await c.nextOf('welcome', 200, (m) => String(m.room).startsWith('small-') && m.room !== 'small-9').catch(() => undefined);
    assert.equal(early, undefined, 'no superseded join answered');
    c.close();
  });
});
