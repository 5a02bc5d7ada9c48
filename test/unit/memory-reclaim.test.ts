// After an attack the memory budget asks V8 for one full collection (src/realtime/memory-budget.ts,
// RECLAIM_*): once a sweep finds under an eighth of the budget held after more than half since the
// last collection, at most once a minute, logged with what it freed. On a clock of the test's own,
// with the collection a counter; what it gives back on a real process:
// test/integration/hostile/memory-return.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { createLogger } from '../../src/log/logger.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import type { KernelQueues } from '../../src/realtime/kernel-queues.ts';
import { createMemoryBudget, fullCollection, RECLAIM_EVERY_MS } from '../../src/realtime/memory-budget.ts';
import type { SlowConsumerPolicy } from '../../src/realtime/slow-consumer.ts';

function setup() {
  let now = 0;
  let collections = 0;
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } });
  const slow: SlowConsumerPolicy = { maxBufferedBytes: 1 << 30, stallMs: 1e9, outputCost: () => 0, exceeded: () => false, stalled: () => false };
  const kernel: KernelQueues = { sendQueue: () => 0, receiveQueue: () => 0, refresh: () => undefined, generation: 0, available: true };
  const budget = createMemoryBudget({
    limitBytes: 1000,
    sockets: () => new Set(),
    slow,
    sender: { close: () => {}, closeStalled: () => {} },
    kernel,
    logger,
    warn: () => {},
    metrics: createMetrics({ processMetrics: false }),
    clock: { now: () => now },
    collect: () => void collections++,
  });
  /** Holds `bytes` through one sweep, then gives them back and sweeps again, `ms` later. */
  async function attack(bytes: number, ms = 1000): Promise<void> {
    budget.hold(bytes);
    budget.sweep();
    budget.release(bytes);
    now += ms;
    budget.sweep();
    await turn();
  }
  return { budget, lines, attack, collections: () => collections, advance: (ms: number) => (now += ms) };
}

test('an attack over (more than half the budget held, then under an eighth): one collection, logged', async () => {
  const r = setup();
  await r.attack(600);
  assert.equal(r.collections(), 1);
  const line = r.lines.find((l) => l.msg === 'memory budget: attack over, full collection');
  assert.ok(line, 'logged');
  assert.equal(line.peakHeldBytes, 600);
  assert.equal(typeof line.heapFreedMiB, 'number');
});

test('no collection for a peak under half the budget, nor while still over an eighth', async () => {
  const r = setup();
  await r.attack(400);
  assert.equal(r.collections(), 0, 'a peak of 40 % is no attack');
  r.budget.hold(600);
  r.budget.sweep();
  r.budget.release(400); // 200 left: over an eighth
  r.budget.sweep();
  await turn();
  assert.equal(r.collections(), 0, 'not over while 20 % is held');
  r.budget.release(200);
  r.advance(10);
  r.budget.sweep();
  await turn();
  assert.equal(r.collections(), 1);
});

test('at most one collection every RECLAIM_EVERY_MS, however many attacks', async () => {
  const r = setup();
  await r.attack(900);
  for (let i = 0; i < 5; i++) await r.attack(900, 1000);
  assert.equal(r.collections(), 1, 'attacks within the minute: no more');
  r.advance(RECLAIM_EVERY_MS);
  await r.attack(900);
  assert.equal(r.collections(), 2, 'the next attack a minute later: one more');
});

test('fullCollection: V8 collects (the heap holds less after it)', () => {
  const collect = fullCollection();
  assert.ok(collect, 'available on this Node');
  const holder: { garbage?: unknown[] } = { garbage: Array.from({ length: 200_000 }, (_, i) => ({ i })) };
  const before = process.memoryUsage().heapUsed;
  delete holder.garbage;
  collect();
  assert.ok(process.memoryUsage().heapUsed < before, 'the heap shrank');
});
