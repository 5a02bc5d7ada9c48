// Room churn: one socket subscribes to MAX_ROOMS_PER_CONNECTION rooms and leaves them again, in
// a loop, as fast as its rate limit lets it. Every request is answered, nothing is left behind
// (presence, memory), and a witness pair in one of the rooms hears every message meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient, type Json } from '../../helpers/client.ts';
import { Witness } from '../../helpers/hostile.ts';
import { serverPool } from '../../helpers/server.ts';
import { heapAfterGc } from '../../helpers/heap.ts';

const ROOMS = 64;
const LOOPS = 40;
const server = serverPool({ rateLimitPerSec: 100_000, maxRoomsPerConnection: ROOMS + 1 });

/** Reads answers until `count` of `type` have arrived; returns them. */
async function answers(c: TestClient, type: string, count: number): Promise<Json[]> {
  const got: Json[] = [];
  while (got.length < count) got.push(await c.nextOf(type, 5000));
  return got;
}

test(`${ROOMS} rooms churned ${LOOPS} times by one socket: every request answered, nothing left behind, the witness unharmed`, async () => {
  const s = await server();
  const witness = await Witness.start(s);
  const churner = await TestClient.connect(s.wsUrl);
  await churner.nextOf('welcome');
  const rooms = Array.from({ length: ROOMS }, (_, i) => `churn-${i}`);
  const baseline = heapAfterGc();
  for (let loop = 0; loop < LOOPS; loop++) {
    for (const room of rooms) churner.send({ type: 'subscribe', room, since: '0' });
    assert.deepEqual((await answers(churner, 'subscribed', ROOMS)).map((m) => m.room), rooms);
    for (const room of rooms) churner.send({ type: 'unsubscribe', room });
    assert.deepEqual((await answers(churner, 'unsubscribed', ROOMS)).map((m) => m.room), rooms);
    await answers(churner, 'history', ROOMS);
  }
  const grown = heapAfterGc() - baseline;
  assert.ok(grown < 4 * 1024 * 1024, `heap grew ${Math.round(grown / 1024)} KiB over ${LOOPS * ROOMS} subscribes`);
  churner.send({ type: 'say', text: 'back in the lobby' });
  assert.equal((await churner.nextOf('message', 3000, (m) => m.text === 'back in the lobby')).room, 'lobby', 'the room followed before the churn is the current one again');
  const probe = await TestClient.connect(s.wsUrl);
  probe.send({ type: 'subscribe', room: 'churn-7' });
  assert.deepEqual(await probe.nextOf('presence', 3000, (m) => m.room === 'churn-7'), { type: 'presence', room: 'churn-7', members: 1 });
  await witness.stop();
  probe.close();
  churner.close();
});

test('subscribe and unsubscribe of one room back to back: answered in the order asked, and the room ends unfollowed', async () => {
  const s = await server();
  const c = await TestClient.connect(s.wsUrl);
  await c.nextOf('welcome');
  const writer = await TestClient.connect(s.wsUrl);
  writer.send({ type: 'subscribe', room: 'flicker' });
  await writer.nextOf('subscribed');
  const asked: string[] = [];
  for (let i = 0; i < 50; i++) {
    c.send({ type: 'subscribe', room: 'flicker' });
    c.send({ type: 'unsubscribe', room: 'flicker' });
    asked.push('subscribed', 'unsubscribed');
  }
  const answered: string[] = [];
  while (answered.length < asked.length) {
    const text = await c.next(5000);
    const type = text.startsWith('{') ? String((JSON.parse(text) as Json).type) : '';
    if (type === 'subscribed' || type === 'unsubscribed') answered.push(type);
  }
  assert.deepEqual(answered, asked);
  writer.send({ type: 'say', room: 'flicker', text: 'after the flicker' });
  c.send({ type: 'say', text: 'marker' });
  assert.equal((await c.nextOf('message')).text, 'marker', 'nothing of flicker after the last unsubscribed');
  c.close();
  writer.close();
});
