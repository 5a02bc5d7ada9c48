// The memory budget's decisions (src/realtime/memory-budget.ts) on stand-in sockets: what it adds
// up, whom it closes past the budget and with which code, and when it says so; the slow-consumer
// time rule (slow-consumer.ts) on a stand-in TCP socket; the two settings. The same on real
// sockets: test/integration/hostile/memory-budget.test.ts and stalled.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { parseConfig, ConfigError } from '../../src/config/config.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { CloseCode, CloseReason } from '../../src/protocol/close.ts';
import type { KernelQueues } from '../../src/realtime/kernel-queues.ts';
import { createMemoryBudget, FRAGMENT_BYTES, SHED_FLOOR_BYTES } from '../../src/realtime/memory-budget.ts';
import type { ClientSocket } from '../../src/realtime/session.ts';
import { createSlowConsumerPolicy, QUEUED_WRITE_BYTES, type SlowConsumerPolicy } from '../../src/realtime/slow-consumer.ts';
import { metricValue } from '../helpers/server.ts';

interface Fake {
  id: string;
  partial: number;
  fragments: number;
  output: number;
  kernel: number;
}

/** A stand-in for a server socket: the fields the budget reads through ws-internals, and a session. */
function fakeSocket(f: Fake): ClientSocket {
  return {
    readyState: WebSocket.OPEN,
    get bufferedAmount() {
      return f.output;
    },
    get _receiver() {
      return { _messageLength: f.partial, _bufferedBytes: 0, _fragments: new Array<unknown>(f.fragments).fill(0) };
    },
    session: { id: f.id, heldBytes: 0, waitingSince: 0, acceptedMark: 0, waitingInKernel: false, acceptedAtRead: 0, readGeneration: 0, tcpKey: undefined },
    fake: f,
  } as unknown as ClientSocket;
}

function fakeOf(socket: ClientSocket): Fake {
  return (socket as unknown as { fake: Fake }).fake;
}

function setup(limitBytes: number, fakes: Fake[]) {
  const sockets = fakes.map(fakeSocket);
  const closed: { id: string; code: number; reason: string; stalled: boolean }[] = [];
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } });
  const slow: SlowConsumerPolicy = { maxBufferedBytes: 1 << 30, stallMs: 1e9, outputCost: (s) => fakeOf(s).output, exceeded: () => false, stalled: () => false };
  const kernel: KernelQueues = { sendQueue: (s) => fakeOf(s).kernel, receiveQueue: () => 0, refresh: () => undefined, generation: 0, available: true };
  const record = (stalled: boolean) => (socket: ClientSocket, code: number, reason: string) => {
    closed.push({ id: socket.session.id, code, reason, stalled });
    (socket as unknown as { readyState: number }).readyState = WebSocket.CLOSING;
  };
  const metrics = createMetrics({ processMetrics: false });
  const budget = createMemoryBudget({
    limitBytes,
    sockets: () => new Set(sockets),
    slow,
    sender: { close: record(false), closeStalled: record(true) },
    kernel,
    logger,
    warn: (obj, msg) => logger.warn(obj, msg),
    metrics,
    clock: { now: () => 0 },
  });
  return { budget, sockets, closed, lines, metrics };
}

const K = 1024;

test('within the budget nothing is closed; the sum by kind is what /metrics says', async () => {
  const { budget, closed, metrics } = setup(1000 * K, [
    { id: 'a', partial: 100 * K, fragments: 2, output: 0, kernel: 0 },
    { id: 'b', partial: 0, fragments: 0, output: 50 * K, kernel: 30 * K },
  ]);
  budget.sweep();
  assert.deepEqual(closed, []);
  assert.equal(budget.pressure(), undefined);
  const text = await metrics.registry.metrics();
  assert.equal(metricValue(text, 'ws_memory_held_bytes', { kind: 'partial' }), 100 * K + 2 * FRAGMENT_BYTES);
  assert.equal(metricValue(text, 'ws_memory_held_bytes', { kind: 'output' }), 50 * K);
  assert.equal(metricValue(text, 'ws_memory_held_bytes', { kind: 'kernel' }), 30 * K);
  assert.equal(metricValue(text, 'ws_memory_budget_bytes'), 1000 * K);
  assert.equal(metricValue(text, 'ws_memory_budget_exceeded_total'), 0);
});

test('past the budget the heaviest are closed first, just enough of them: 1009 for a message, 1013 (reset) for output; light sockets stay', async () => {
  const { budget, closed, lines, metrics } = setup(1000 * K, [
    { id: 'light-1', partial: 10 * K, fragments: 1, output: 0, kernel: 0 },
    { id: 'light-2', partial: 0, fragments: 0, output: 8 * K, kernel: 0 },
    { id: 'message', partial: 500 * K, fragments: 4, output: 0, kernel: 0 },
    { id: 'reader', partial: 0, fragments: 0, output: 300 * K, kernel: 200 * K },
    { id: 'middle', partial: 200 * K, fragments: 1, output: 0, kernel: 0 },
  ]);
  // 1218 K held: closing `message` (500 K) brings it to 718 K, so only it goes.
  budget.sweep();
  assert.deepEqual(closed, [{ id: 'message', code: CloseCode.messageTooBig, reason: CloseReason.budgetMessage, stalled: false }]);
  assert.match(budget.pressure() ?? '', /^memory budget exceeded/);
  assert.ok(lines.some((l) => l.msg === 'memory budget: socket closed' && l.connId === 'message' && l.code === 1009));
  assert.ok(lines.some((l) => l.msg === 'memory budget exceeded: upgrades refused (503), heaviest holders closed'));
  assert.equal(metricValue(await metrics.registry.metrics(), 'ws_memory_budget_exceeded_total'), 1);
  // The next sweep still counts the closing socket (its memory is not freed yet), so the budget is
  // still exceeded, but as already shed: no one else is closed for it.
  budget.sweep();
  assert.equal(closed.length, 1);
  // Output the heaviest: 1013, and the TCP connection reset (closeStalled).
  const { budget: second, closed: closed2 } = setup(600 * K, [
    { id: 'light', partial: 3 * K, fragments: 1, output: 0, kernel: 0 },
    { id: 'reader', partial: 0, fragments: 0, output: 300 * K, kernel: 200 * K },
    { id: 'middle', partial: 200 * K, fragments: 1, output: 0, kernel: 0 },
  ]);
  second.sweep();
  assert.deepEqual(closed2, [{ id: 'reader', code: CloseCode.tryAgainLater, reason: CloseReason.budgetOutput, stalled: true }]);
});

test(`sockets under ${SHED_FLOOR_BYTES} bytes are never closed by the budget, however far past it`, () => {
  const fakes = Array.from({ length: 50 }, (_, i) => ({ id: `s${i}`, partial: 0, fragments: 0, output: 4000, kernel: 0 }));
  const { budget, closed } = setup(100 * K, fakes);
  budget.sweep();
  assert.equal(closed.length, 0);
  assert.match(budget.pressure() ?? '', /memory budget exceeded \(0\.2 of 0\.1 MiB held\)/);
});

test('hold and release move the pressure at once; bytes held for a socket weigh on that socket and vanish with it', () => {
  const { budget, sockets, closed } = setup(1000 * K, [
    { id: 'a', partial: 0, fragments: 0, output: 0, kernel: 0 },
    { id: 'b', partial: 100 * K, fragments: 1, output: 0, kernel: 0 },
  ]);
  budget.sweep();
  budget.hold(950 * K);
  assert.match(budget.pressure() ?? '', /exceeded/, 'a hold past the budget is pressure before any sweep');
  budget.release(950 * K);
  assert.equal(budget.pressure(), undefined);
  const [a] = sockets;
  assert.ok(a);
  budget.hold(950 * K, a);
  assert.match(budget.pressure() ?? '', /exceeded/);
  budget.sweep();
  // `a` holds 950 K through `hold`: it is the heaviest, and its weight is not a message: 1013.
  assert.deepEqual(closed.map((c) => [c.id, c.code]), [['a', 1013]]);
  budget.release(950 * K, a);
  budget.release(1, a); // more than held: never below zero
  assert.equal(a.session.heldBytes, 0);
});

test('the time rule: output that waits with nothing taken for stallMs closes; any progress, or nothing waiting, starts over', () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } });
  const policy = createSlowConsumerPolicy(1 << 20, logger, 5000);
  const handle = { bytesWritten: 10_000, writeQueueSize: 4000 };
  const socket = {
    bufferedAmount: 4000,
    _socket: { _handle: handle, _writableState: { buffered: [1, 2, 3], bufferedIndex: 1 } },
    session: { id: 's', waitingSince: 0, acceptedMark: 0, waitingInKernel: false },
  } as unknown as ClientSocket;
  assert.equal(policy.outputCost(socket), 4000 + 2 * QUEUED_WRITE_BYTES);
  assert.equal(policy.stalled(socket, 1000), false); // first seen waiting
  assert.equal(policy.stalled(socket, 5999), false);
  handle.writeQueueSize = 3000; // the kernel took 1000 bytes of the write in flight
  assert.equal(policy.stalled(socket, 6000), false);
  assert.equal(policy.stalled(socket, 10_999), false);
  assert.equal(policy.stalled(socket, 11_000), true);
  assert.ok(lines.some((l) => l.msg === 'slow consumer closed' && l.rule === 'time' && l.waitedMs === 5000));
  (socket as unknown as { bufferedAmount: number }).bufferedAmount = 0;
  assert.equal(policy.stalled(socket, 12_000), false);
  assert.equal(socket.session.waitingSince, 0);
  // Output that waits in the kernel only (the peer's window shut): nothing delivered, closed the
  // same. The kernel had taken 7000 bytes when its queue was read.
  assert.equal(policy.stalled(socket, 13_000, 6000, 7000), false);
  assert.equal(policy.stalled(socket, 15_000, 6000, undefined), false, 'unpaired: decides nothing');
  assert.equal(policy.stalled(socket, 18_000, 6000, 7000), true);
  // ...while a peer whose acknowledgements empty the queue is delivering.
  assert.equal(policy.stalled(socket, 18_500, 0), false);
  assert.equal(policy.stalled(socket, 19_000, 6000, 7000), false);
  assert.equal(policy.stalled(socket, 21_000, 4000, 7000), false);
  assert.equal(policy.stalled(socket, 22_000, 2000, 7000), false); // 4000 delivered since 19000: not yet a window's worth
  assert.equal(policy.stalled(socket, 23_000, 1000, 7000), false); // 5000: delivering
  assert.equal(policy.stalled(socket, 27_999, 1000, 7000), false);
  assert.equal(policy.stalled(socket, 28_000, 1000, 7000), true, 'and stalls again once it stops');
  // A ping a second taken into the kernel's queue behind a shut window is not delivery.
  assert.equal(policy.stalled(socket, 28_500, 0), false);
  let accepted = 7000;
  let queued = 2000;
  for (let at = 29_000; at < 34_000; at += 1000) {
    assert.equal(policy.stalled(socket, at, queued, accepted), false, `${at}`);
    accepted += 6;
    queued += 6;
  }
  assert.equal(policy.stalled(socket, 34_000, queued, accepted), true);
});

test('SLOW_CONSUMER_MS and MEMORY_BUDGET_MB: defaults, and refusals naming the variable', () => {
  const c = parseConfig({});
  assert.equal(c.slowConsumerMs, 10_000);
  assert.equal(c.memoryBudgetBytes, 128 * 1024 * 1024);
  assert.equal(parseConfig({ MEMORY_BUDGET_MB: '512' }).memoryBudgetBytes, 512 * 1024 * 1024);
  for (const [name, value] of [['SLOW_CONSUMER_MS', '999'], ['SLOW_CONSUMER_MS', '10s'], ['MEMORY_BUDGET_MB', '0'], ['MEMORY_BUDGET_MB', '-1'], ['MEMORY_BUDGET_MB', '2']] as const) {
    assert.throws(() => parseConfig({ [name]: value }), (err: unknown) => err instanceof ConfigError && err.variable === name && err.message.includes(JSON.stringify(value)), `${name}=${value}`);
  }
  // Four sockets at their own limits must fit: 4 x (64 MiB + 1 MiB) needs 260.
  assert.throws(() => parseConfig({ MAX_MESSAGE_BYTES: String(64 * 1024 * 1024), MEMORY_BUDGET_MB: '259' }), /MEMORY_BUDGET_MB.*at least 260/);
  assert.equal(parseConfig({ MAX_MESSAGE_BYTES: String(64 * 1024 * 1024), MEMORY_BUDGET_MB: '260' }).memoryBudgetBytes, 260 * 1024 * 1024);
});

test('bytes arriving or left queued between sweeps bring the next sweep forward once they could pass the budget', async () => {
  const fake = { id: 'burst', partial: 0, fragments: 0, output: 0, kernel: 0 };
  const { budget, closed } = setup(1000 * K, [fake]);
  budget.start();
  try {
    budget.sweep();
    // 900 K arrive (and are kept) within a second: no early sweep yet, it could not pass the budget.
    fake.partial = 900 * K;
    budget.countIncoming(Buffer.alloc(900 * K));
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(closed.length, 0);
    // 200 K more: it could now, so a sweep runs within EARLY_SWEEP_MS, not at the next second.
    fake.partial = 1100 * K;
    budget.grew(200 * K);
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual(closed.map((c) => [c.id, c.code]), [['burst', 1009]]);
  } finally {
    budget.stop();
  }
});
