// The replay gate's two limits, on a clock of the test's own: a socket's byte budget (in debt it
// waits, and a replay it stopped wanting is dropped), and the replays in flight per instance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReplayGate, type ReplayBudget } from '../../src/realtime/replay-gate.ts';

const budget = (): ReplayBudget => ({ replayBytes: Number.NaN, replayCountedAt: 0 });

test('in flight: at most maxInFlight at once; a queued replay no longer wanted gives its turn to the next', async () => {
  const gate = createReplayGate({ bytesPerSec: 1000, now: () => 0, maxInFlight: 2 });
  const [a, b] = [await gate.enter(budget(), () => true), await gate.enter(budget(), () => true)];
  assert.ok(a && b);
  let wantedC = true;
  const order: string[] = [];
  const c = gate.enter(budget(), () => wantedC).then((r) => order.push(r ? 'c' : 'c dropped'));
  const d = gate.enter(budget(), () => true).then((r) => order.push(r ? 'd' : 'd dropped'));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [], 'both wait for a slot');
  wantedC = false;
  a();
  a(); // a second release of the same slot frees nothing more
  await Promise.all([c, d]);
  assert.deepEqual(order, ['c dropped', 'd']);
});

test('budget: a full burst, then a socket in debt waits until it is paid, or drops out when unwanted', async () => {
  let t = 0;
  const gate = createReplayGate({ bytesPerSec: 1000, now: () => t, recheckMs: 5 });
  const b = budget();
  const release = await gate.enter(b, () => true);
  assert.ok(release);
  release();
  gate.charge(b, 16_000 + 50); // the burst (16 s of 1000 B/s) and 50 bytes more
  assert.ok(b.replayBytes < 0);
  let wanted = true;
  const waiting = gate.enter(b, () => wanted);
  await new Promise((r) => setTimeout(r, 30));
  wanted = false;
  assert.equal(await waiting, undefined, 'dropped while in debt');
  t += 60; // 60 ms at 1000 B/s pays the 50 bytes
  const paid = await gate.enter(b, () => true);
  assert.ok(paid, 'admitted once paid');
});
