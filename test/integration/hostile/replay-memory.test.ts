// Hostile-input catalogue: replays in flight counted in the memory budget (MEMORY_BUDGET_MB,
// issue #22). A replay being read holds, for its socket, what the room's replays have come to
// before (one burst of REPLAY_BYTES_PER_SEC for a room not replayed yet), and gives it back once
// its history is sent, or when it is superseded, its socket closes, or the read fails: held
// returns to 0 every time. The parts are the realtime server's own (subscriptions, gate, sender,
// budget, a real `ws` server and client); the broker is the in-process one with its history read
// held open by the test, as a Redis read in flight would be.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import type { Broker, History } from '../../../src/broker/broker.ts';
import { createMemoryBroker } from '../../../src/broker/memory.ts';
import { systemClock } from '../../../src/clock.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { rateLimitedWarn } from '../../../src/log/rate-limited.ts';
import { createMetrics } from '../../../src/metrics/metrics.ts';
import { createKernelQueues } from '../../../src/realtime/kernel-queues.ts';
import { createMemoryBudget, type MemoryBudget } from '../../../src/realtime/memory-budget.ts';
import { createReplayGate, type ReplayGate } from '../../../src/realtime/replay-gate.ts';
import { createRooms } from '../../../src/realtime/rooms.ts';
import { createSender } from '../../../src/realtime/sender.ts';
import { ClientSocket, Session } from '../../../src/realtime/session.ts';
import { createSlowConsumerPolicy } from '../../../src/realtime/slow-consumer.ts';
import { createSubscriptions, type Subscriptions } from '../../../src/realtime/subscriptions.ts';
import { within } from '../../helpers/bounded.ts';
import { TestClient } from '../../helpers/client.ts';

const LONG = 'x'.repeat(1900);

interface Rig {
  broker: Broker;
  gate: ReplayGate;
  memory: MemoryBudget;
  subscriptions: Subscriptions;
  /** Holds every history read open until `open()`; `fail()` makes the next ones reject. */
  hold(): void;
  open(): void;
  fail(): void;
  /** A connected pair: the server's socket (with its session) and the test's client. */
  connect(): Promise<{ socket: ClientSocket; client: TestClient }>;
  /** History reads started so far. */
  reads(): number;
}

async function rig(limitBytes = 1 << 30, maxInFlight?: number): Promise<Rig> {
  const logger = createLogger({ level: 'silent' });
  const metrics = createMetrics({ processMetrics: false });
  const inner = createMemoryBroker();
  let held = false;
  let failing = false;
  let reads = 0;
  let waiters: (() => void)[] = [];
  const broker: Broker = {
    ...inner,
    async history(room, since): Promise<History> {
      reads++;
      if (held) await new Promise<void>((resolve) => waiters.push(resolve));
      if (failing) throw new Error('history read failed (test)');
      return inner.history(room, since);
    },
  };
  const slow = createSlowConsumerPolicy(1 << 20, logger);
  const sender = createSender(metrics, slow);
  const rooms = createRooms(sender, () => {});
  const gate = createReplayGate({ bytesPerSec: 1 << 20, now: () => systemClock.now(), ...(maxInFlight ? { maxInFlight } : {}) });
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', WebSocket: ClientSocket });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const clients = wss.clients as Set<ClientSocket>;
  const memory = createMemoryBudget({ limitBytes, sockets: () => clients, slow, sender, kernel: createKernelQueues(), logger, warn: rateLimitedWarn(logger, 10), metrics, clock: systemClock });
  const subscriptions = createSubscriptions({ broker, rooms, sender, logger, gate, memory, isLatest: () => false });
  inner.subscribe({ message: (m) => (rooms.deliver(m), subscriptions.heard(m)), presence: () => {}, ephemeral: () => {}, control: () => {} });
  let n = 0;
  after(async () => {
    for (const socket of clients) socket.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await inner.close();
  });
  const { port } = wss.address() as { port: number };
  return {
    broker,
    gate,
    memory,
    subscriptions,
    hold: () => (held = true),
    open() {
      held = false;
      for (const wake of waiters) wake();
      waiters = [];
    },
    fail: () => (failing = true),
    reads: () => reads,
    async connect() {
      const accepted = new Promise<ClientSocket>((resolve) => wss.once('connection', (ws: ClientSocket) => resolve(ws)));
      const client = await TestClient.connect(`ws://127.0.0.1:${port}`);
      const socket = await within(accepted, 3000, 'the server side of the socket');
      socket.session = new Session(`c${n++}`, '127.0.0.1', 'reader', systemClock.now(), 0, 1000);
      return { socket, client };
    },
  };
}

async function fill(broker: Broker, room: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await broker.publish({ room, from: 'writer', text: `${i} ${LONG}`, ts: Date.now() });
}

/** Waits (bounded) until the broker has been asked for `count` reads in all. */
async function readsReach(r: Rig, count: number): Promise<void> {
  const deadline = Date.now() + 3000;
  while (r.reads() < count) {
    if (Date.now() > deadline) throw new Error(`only ${r.reads()} history reads started, wanted ${count}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The bytes of the `message` frames a client got for `room`, once it has `count` of them. */
async function replayBytes(client: TestClient, room: string, count: number): Promise<number> {
  let bytes = 0;
  for (let i = 0; i < count; i++) bytes += JSON.stringify(await client.nextOf('message', 3000, (m) => m.room === room)).length;
  return bytes;
}

test('a replay being read holds its expected size for its socket, and gives it all back once sent', async () => {
  const r = await rig();
  await fill(r.broker, 'big', 20);
  const { socket, client } = await r.connect();

  r.hold();
  const first = r.subscriptions.subscribe(socket, 'big', '0', 'welcome');
  await readsReach(r, 1);
  // A room not replayed yet: one burst of the socket's budget is what it may bring.
  assert.equal(socket.session.heldBytes, r.gate.burstBytes, 'held for the socket while read');
  r.open();
  await within(first, 3000, 'the first replay');
  assert.equal(socket.session.heldBytes, 0, 'released once sent');
  assert.equal((await client.nextOf('history', 3000)).count, 20);
  const bytes = await replayBytes(client, 'big', 20);

  // The next replay of the room holds what the last one came to (its frames on the wire).
  r.hold();
  const second = r.subscriptions.subscribe(socket, 'big', '0', 'welcome');
  await readsReach(r, 2);
  const expected = r.gate.expected('big');
  assert.equal(socket.session.heldBytes, expected);
  // The frames the client got are the ones charged, each with its `room`: within a few bytes a message.
  assert.ok(Math.abs(expected - bytes) <= 20 * 8, `expected ${expected}, the client got ${bytes}`);
  assert.ok(expected < r.gate.burstBytes);
  r.open();
  await within(second, 3000, 'the second replay');
  assert.equal(socket.session.heldBytes, 0);
  client.close();
});

test('past the budget while a replay is read: pressure at once, gone once it is sent', async () => {
  const burst = createReplayGate({ bytesPerSec: 1 << 20, now: () => 0 }).burstBytes;
  const r = await rig(burst - 1);
  await fill(r.broker, 'big', 5);
  const { socket, client } = await r.connect();
  assert.equal(r.memory.pressure(), undefined);
  r.hold();
  const replay = r.subscriptions.subscribe(socket, 'big', '0', 'welcome');
  await readsReach(r, 1);
  assert.match(r.memory.pressure() ?? '', /^memory budget exceeded/, 'the replay in flight counts against the budget');
  r.open();
  await within(replay, 3000, 'the replay');
  assert.equal(r.memory.pressure(), undefined, 'released: under the budget again');
  assert.equal((await client.nextOf('history', 3000)).count, 5);
  client.close();
});

test('superseded, closed or failed while read: what it held comes back every time', async () => {
  const r = await rig();
  await fill(r.broker, 'big', 10);
  await fill(r.broker, 'other', 1);

  // Superseded: the socket joins another room while its replay of `big` is read.
  const a = await r.connect();
  r.hold();
  const superseded = r.subscriptions.subscribe(a.socket, 'big', '0', 'welcome');
  await readsReach(r, 1);
  assert.ok(a.socket.session.heldBytes > 0);
  r.subscriptions.leaveAll(a.socket);
  const next = r.subscriptions.subscribe(a.socket, 'other', '0', 'welcome');
  await readsReach(r, 2);
  assert.equal(a.socket.session.heldBytes, 2 * r.gate.burstBytes, 'both reads in flight hold');
  r.open();
  await within(Promise.all([superseded, next]), 3000, 'both subscribes');
  assert.equal(a.socket.session.heldBytes, 0, 'the superseded replay released what it held');
  assert.equal((await a.client.nextOf('welcome', 3000)).room, 'other', 'only the newer join is answered');

  // Closed: the client goes while its replay is read.
  const b = await r.connect();
  r.hold();
  const closing = r.subscriptions.subscribe(b.socket, 'big', '0', 'welcome');
  await readsReach(r, 3);
  assert.ok(b.socket.session.heldBytes > 0);
  const gone = new Promise((resolve) => b.socket.once('close', resolve));
  b.client.ws.terminate();
  await within(gone, 3000, 'the server to see the close');
  assert.notEqual(b.socket.readyState, WebSocket.OPEN);
  r.open();
  await within(closing, 3000, 'the replay of a closed socket');
  assert.equal(b.socket.session.heldBytes, 0, 'the closed socket released what it held');

  // Failed: the read rejects; the socket is closed with 1013 and holds nothing.
  const c = await r.connect();
  r.hold();
  r.fail();
  const failing = r.subscriptions.subscribe(c.socket, 'big', '0', 'welcome');
  await readsReach(r, 4);
  assert.ok(c.socket.session.heldBytes > 0);
  r.open();
  await within(failing, 3000, 'the failed replay');
  assert.equal(c.socket.session.heldBytes, 0, 'the failed replay released what it held');
  assert.equal((await c.client.closed).code, 1013);
  a.client.close();
});

test('a subscribe without since holds nothing; a replay waiting for its turn holds nothing until it is read', async () => {
  const r = await rig(1 << 30, 1);
  await fill(r.broker, 'big', 3);
  const a = await r.connect();
  const b = await r.connect();
  r.hold();
  const plain = r.subscriptions.subscribe(a.socket, 'big', undefined, 'subscribed');
  await readsReach(r, 1);
  assert.equal(a.socket.session.heldBytes, 0, 'no history asked for, none held');
  // One replay in flight at a time: b's waits its turn behind a's and holds nothing meanwhile.
  const first = r.subscriptions.subscribe(a.socket, 'lobby', '0', 'subscribed');
  await readsReach(r, 2);
  const second = r.subscriptions.subscribe(b.socket, 'big', '0', 'welcome');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(r.reads(), 2, 'the second replay waits for the slot');
  assert.equal(a.socket.session.heldBytes, r.gate.burstBytes);
  assert.equal(b.socket.session.heldBytes, 0, 'waiting, not read: nothing held');
  r.open();
  await within(Promise.all([plain, first, second]), 3000, 'the three subscribes');
  assert.equal(a.socket.session.heldBytes + b.socket.session.heldBytes, 0);
  assert.equal((await b.client.nextOf('history', 3000)).count, 3);
  a.client.close();
  b.client.close();
});
