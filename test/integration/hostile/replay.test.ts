// Replay priced by what it returns (src/realtime/replay-gate.ts): a socket rejoining a room of
// long messages with an old `since` over and over, within its rate limit, is replayed no more than
// its budget, REPLAY_BYTES_PER_SEC with a burst of 16 times that, while a witness in another room
// hears every message. Without the gate it got the whole history for every join. The issue's
// storm at the defaults, with its latency and CPU bounds, is in test/e2e/replay-storm.test.ts,
// which runs alone (in memory and through Redis).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../../helpers/chat.ts';
import { TestClient, type Json } from '../../helpers/client.ts';
import { serverPool, type TestServer } from '../../helpers/server.ts';

const BYTES_PER_SEC = 2048;
const BURST = 16 * BYTES_PER_SEC;
const server = serverPool({ replayBytesPerSec: BYTES_PER_SEC, rateLimitPerSec: 50 });

async function member(s: TestServer, room: string, name: string): Promise<TestClient> {
  const c = await TestClient.connect(s.wsUrl);
  c.send({ type: 'join', room, name });
  await c.nextOf('welcome', 5000, (m) => m.room === room);
  return c;
}

test('rejoins with an old since are replayed within the budget; the witness in another room hears everything', async () => {
  const s = await server();
  const writer = await member(s, 'big', 'writer');
  for (let i = 0; i < 20; i++) writer.send({ type: 'say', text: `${i} ${'x'.repeat(1900)}` });
  for (let i = 0; i < 20; i++) await writer.nextOf('message', 5000);
  const [speaker, witness] = [await member(s, 'calm', 'speaker'), await member(s, 'calm', 'witness')];

  const attacker = await member(s, 'lobby', 'attacker');
  let replayed = 0;
  let oneReplay = 0;
  attacker.ws.on('message', (data: Buffer) => {
    const text = data.toString();
    if (text.startsWith('{"type":"message"') && (JSON.parse(text) as Json).room === 'big') replayed += data.length;
  });
  const started = performance.now();
  const said: string[] = [];
  for (let i = 0; i < 40; i++) {
    attacker.send({ type: 'join', room: 'big', name: 'attacker', since: '0' });
    if (i % 4 === 0) {
      said.push(`calm ${i}`);
      speaker.send({ type: 'say', text: `calm ${i}` });
    }
    if (i === 0) {
      await attacker.nextOf('history', 5000);
      await until('the first replay', () => replayed > 0 && (oneReplay = replayed) > 0 && replayed >= 20 * 1900, 5000);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - started) / 1000;
  // The budget, plus the one replay that may start just before it runs out.
  const bound = BURST + BYTES_PER_SEC * seconds + oneReplay;
  assert.ok(replayed <= bound, `replayed ${replayed} bytes in ${seconds.toFixed(1)} s, budget ${Math.round(bound)} (without it: ${40 * oneReplay})`);
  assert.ok(replayed >= oneReplay, 'the first replay came whole');
  const heard: string[] = [];
  while (heard.length < said.length) heard.push(String((await witness.nextOf('message', 5000)).text));
  assert.deepEqual(heard, said, 'the witness heard every message, in order');
  for (const c of [writer, speaker, witness, attacker]) c.close();
});

test('a replay the budget does not cover yet is answered later, whole, not refused', async () => {
  // 4 KB/s, a 64 KB burst; the room's replay is about 40 KB.
  const s = await server({ replayBytesPerSec: 4096 });
  const writer = await member(s, 'later', 'writer');
  for (let i = 0; i < 20; i++) writer.send({ type: 'say', text: `${i} ${'y'.repeat(1900)}` });
  for (let i = 0; i < 20; i++) await writer.nextOf('message', 5000);
  const c = await member(s, 'elsewhere', 'reader');
  // The first replay comes at once and leaves some 24 KB: the second waits until the budget
  // covers the room's 40 KB again, about 4 s.
  const took: number[] = [];
  for (let round = 0; round < 2; round++) {
    const started = performance.now();
    c.send({ type: 'join', room: 'later', name: 'reader', since: '0' });
    const history = await c.nextOf('history', 10_000);
    took.push(performance.now() - started);
    assert.equal(history.count, 20, `round ${round}: the whole history`);
    for (let i = 0; i < 20; i++) assert.equal(String((await c.nextOf('message', 5000)).text).split(' ')[0], String(i));
  }
  assert.ok(took[1]! >= 2500, `the second replay waited for the budget: ${took.map(Math.round).join(', ')} ms`);
  c.close();
  writer.close();
});
