// The replay gate's rules added against replay storms (issue #22), on a clock of the test's own:
// a replay starts once the socket's budget covers what the room's replays came to (at most one
// burst), not merely once it is out of debt; at most REPLAYS_PER_TURN start in one turn of the
// event loop; and the sizes it remembers, which are also what a replay in flight is expected to hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { MAX_REPLAYS_IN_FLIGHT } from '../../src/protocol/limits.ts';
import { createReplayGate, REPLAYS_PER_TURN, type ReplayBudget } from '../../src/realtime/replay-gate.ts';

const budget = (): ReplayBudget => ({ replayBytes: Number.NaN, replayCountedAt: 0 });

test('a replay waits until the budget covers what the room came to, at most a burst; an unknown room only for the debt', async () => {
  let t = 0;
  const gate = createReplayGate({ bytesPerSec: 1000, now: () => t, recheckMs: 2 });
  const burst = gate.burstBytes;
  assert.equal(burst, 16_000);
  const b = budget();
  (await gate.enter(b, () => true, 'big'))?.();
  gate.charge(b, 10_000);
  gate.sized('big', 10_000);
  // 6000 left: out of debt, but short of the room's 10000.
  let admitted = false;
  const waiting = gate.enter(b, () => true, 'big').then((release) => {
    admitted = true;
    release?.();
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(admitted, false, 'not admitted with 6000 of the 10000 the room takes');
  // Another room never replayed here needs only the socket out of debt.
  const other = await gate.enter(b, () => true, 'fresh');
  assert.ok(other, 'an unknown room is admitted at once');
  other();
  t += 4000; // 4 s at 1000 B/s: 10000 covered
  await waiting;
  assert.equal(admitted, true);

  // A room bigger than a burst needs a full burst, never more (it would never be reached).
  const c = budget();
  gate.sized('huge', 50_000);
  (await gate.enter(c, () => true, 'huge'))?.();
  gate.charge(c, 50_000);
  let late = false;
  const next = gate.enter(c, () => true, 'huge').then((release) => {
    late = true;
    release?.();
  });
  t += 49_000; // back to 15000 of the 16000 burst
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(late, false);
  t += 1000;
  await next;
  assert.equal(late, true, 'admitted at a full burst');
});

test('at most `perTurn` replays start in one turn of the event loop; the rest in the next turns, in order', async () => {
  assert.ok(REPLAYS_PER_TURN >= 1 && REPLAYS_PER_TURN <= MAX_REPLAYS_IN_FLIGHT, 'the default keeps a turn to some 40 ms of replays');
  const gate = createReplayGate({ bytesPerSec: 1 << 20, now: () => 0, perTurn: 3 });
  const started: number[] = [];
  let turns = 0;
  const counting = (async () => {
    for (let i = 0; i < 10; i++) {
      await turn();
      turns++;
    }
  })();
  const all = Array.from({ length: 10 }, (_, i) =>
    gate.enter(budget(), () => true, 'r').then((release) => {
      started.push(turns);
      release?.();
      return i;
    }),
  );
  const order = await Promise.all(all);
  await counting;
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // Per turn, never more than 3: 10 replays over 4 turns at least.
  const perTurn = new Map<number, number>();
  for (const at of started) perTurn.set(at, (perTurn.get(at) ?? 0) + 1);
  assert.ok([...perTurn.values()].every((n) => n <= 3), JSON.stringify([...perTurn]));
  assert.ok(perTurn.size >= 4, `started over ${perTurn.size} turns: ${JSON.stringify(started)}`);
});

test('sizes: the largest replay of a room is remembered, for a bounded number of rooms; forgotten, a room is expected to take a burst', () => {
  const gate = createReplayGate({ bytesPerSec: 1000, now: () => 0, sizesKept: 2 });
  assert.equal(gate.expected('a'), gate.burstBytes);
  gate.sized('a', 500);
  gate.sized('a', 200);
  assert.equal(gate.expected('a'), 500, 'the largest');
  gate.sized('b', 100);
  gate.sized('a', 10); // a replayed last: b is the oldest
  gate.sized('c', 300);
  assert.equal(gate.expected('b'), gate.burstBytes, 'the least recently replayed forgotten');
  assert.equal(gate.expected('a'), 500);
  assert.equal(gate.expected('c'), 300);
});
