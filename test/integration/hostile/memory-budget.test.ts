// Hostile-input catalogue: many sockets, each inside its own limits, together past the process's
// memory budget (MEMORY_BUDGET_MB, issue #22). Each holds an unfinished fragmented message; past
// the budget the heaviest are closed with 1009 (and only as many as it takes), new upgrades get
// 503 with Retry-After, /readyz and /metrics say so, light sockets and the witness pair carry on,
// and once back under the budget everything is as before.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { CloseReason } from '../../../src/protocol/close.ts';
import type { FeatureFactory } from '../../../src/realtime/features/feature.ts';
import { FEATURES } from '../../../src/realtime/features/index.ts';
import type { MemoryHolder } from '../../../src/realtime/memory-budget.ts';
import { TestClient, type Closed } from '../../helpers/client.ts';
import { frame, OP, rawHttp, statusOf, upgradeRequest, Witness, writeRaw } from '../../helpers/hostile.ts';
import { eventually, fetchMetrics, metricValue, serverPool, type TestServer } from '../../helpers/server.ts';

const BUDGET = 1_000_000;
// Holders never answer pings (a `pong` inside their unfinished message would be a protocol error): a long pong timeout.
const server = serverPool({ rateLimitPerSec: 100_000, memoryBudgetBytes: BUDGET, maxMessageBytes: 65_536, pongTimeoutMs: 60_000 });

/** A feature that only keeps the memory budget's `hold`/`release`, as a replay would use them. */
function holdFeature(into: { memory?: MemoryHolder }): FeatureFactory {
  return (deps) => {
    into.memory = deps.memory;
    return { name: 'test-hold' };
  };
}

/** A client that starts a text message of `fragments` fragments of `each` bytes and never finishes it. */
async function holder(s: TestServer, fragments: number, each: number): Promise<{ client: TestClient; closed: Promise<Closed> }> {
  const client = await TestClient.connect(s.wsUrl, { autoPong: false });
  await client.nextOf('welcome');
  const parts = Array.from({ length: fragments }, (_, i) => frame(i === 0 ? OP.text : OP.continuation, Buffer.alloc(each, 0x61), { fin: false }));
  writeRaw(client, parts);
  const closed = new Promise<Closed>((resolve) => client.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return { client, closed };
}

async function held(s: TestServer, kind: string): Promise<number> {
  return metricValue(await fetchMetrics(s), 'ws_memory_held_bytes', { kind });
}

async function readyz(s: TestServer): Promise<{ status: number; reason?: string }> {
  const res = await fetch(`${s.url}/readyz`);
  const body = (await res.json()) as { reason?: string };
  return { status: res.status, ...(body.reason === undefined ? {} : { reason: body.reason }) };
}

test('past the memory budget the heaviest holders are closed (1009), upgrades and /readyz get 503, light sockets and the witness carry on', async (t) => {
  const hook: { memory?: MemoryHolder } = {};
  const s = await server({}, { features: [...FEATURES, holdFeature(hook)] });
  const memory = hook.memory;
  assert.ok(memory, 'features get the memory budget');
  const witness = await Witness.start(s);
  t.after(() => witness.stop());
  const clients: TestClient[] = [];
  t.after(() => clients.forEach((c) => c.ws.terminate()));

  // 12 light sockets holding 20 kB each (4 fragments), 8 heavy ones 62 kB each (2 fragments):
  // 736 kB of a 1 MB budget, every one inside MAX_MESSAGE_BYTES.
  const light = await Promise.all(Array.from({ length: 12 }, () => holder(s, 4, 5000)));
  const heavy = await Promise.all(Array.from({ length: 8 }, () => holder(s, 2, 31_000)));
  clients.push(...light.map((h) => h.client), ...heavy.map((h) => h.client));
  await eventually(async () => (await held(s, 'partial')) >= 736_000, 5000, 'the unfinished messages counted');
  assert.equal((await readyz(s)).status, 200);
  const before = await fetchMetrics(s);

  // Another part holds 400 kB more (a replay, say): 1.14 MB. Pressure at once, before any sweep:
  memory.hold(400_000);
  const ready = await readyz(s);
  assert.equal(ready.status, 503);
  assert.match(ready.reason ?? '', /^memory budget exceeded \(\d+\.\d of 1\.0 MiB held\)$/);
  const refused = await rawHttp(s.port, upgradeRequest('/ws', { Host: `127.0.0.1:${s.port}` }));
  assert.equal(statusOf(refused), 503, refused.slice(0, 200));
  assert.match(refused, /Retry-After: 5/i);
  assert.match(refused, /Server memory budget exceeded, try again/);
  await assert.rejects(TestClient.connect(s.wsUrl), /HTTP 503/);

  // The next sweep closes the heaviest: three heavy ones free enough (two would leave it over).
  const shed = await Promise.all(heavy.map((h) => Promise.race([h.closed, new Promise<undefined>((r) => setTimeout(r, 2500))])));
  const closedHeavy = shed.filter((c): c is Closed => c !== undefined);
  assert.equal(closedHeavy.length, 3, `heavy sockets closed: ${JSON.stringify(shed)}`);
  for (const c of closedHeavy) assert.deepEqual(c, { code: 1009, reason: CloseReason.budgetMessage });
  for (const h of light) assert.equal(h.client.ws.readyState, WebSocket.OPEN, 'a light socket was closed');
  assert.ok(s.logs.some((l) => l.msg === 'memory budget: socket closed' && l.code === 1009 && l.level === 'warn'));
  assert.ok(s.logs.some((l) => l.msg === 'memory budget exceeded: upgrades refused (503), heaviest holders closed'));
  const during = await fetchMetrics(s);
  assert.equal(metricValue(during, 'ws_upgrades_rejected_total', { reason: 'memory' }) - metricValue(before, 'ws_upgrades_rejected_total', { reason: 'memory' }), 2);
  assert.ok(metricValue(during, 'ws_memory_budget_exceeded_total') >= 1);
  assert.equal(metricValue(during, 'ws_memory_budget_bytes'), BUDGET);
  await witness.probe('after the shedding');

  // Back under the budget (950 kB): ready again, upgrades accepted, the rest untouched.
  await eventually(async () => (await readyz(s)).status === 200, 4000, '/readyz back to 200');
  assert.ok(s.logs.some((l) => l.msg === 'memory budget: back under'));
  const late = await TestClient.connect(s.wsUrl);
  clients.push(late);
  await late.nextOf('welcome');
  await eventually(async () => metricValue(await fetchMetrics(s), 'ws_closes_total', { code: '1009', by: 'server' }) === 3, 3000, 'three 1009 closes counted');
  for (const h of light) assert.equal(h.client.ws.readyState, WebSocket.OPEN);
  assert.equal(heavy.filter((h) => h.client.ws.readyState === WebSocket.OPEN).length, 5);
  memory.release(400_000);
});

test('held by others past the budget, with nothing to shed: 503 and /readyz say so until released; idle sockets are never closed for it', async (t) => {
  const hook: { memory?: MemoryHolder } = {};
  const s = await server({}, { features: [...FEATURES, holdFeature(hook)] });
  const memory = hook.memory;
  assert.ok(memory);
  const witness = await Witness.start(s);
  t.after(() => witness.stop());
  const idle = await TestClient.connect(s.wsUrl);
  t.after(() => idle.ws.terminate());
  await idle.nextOf('welcome');

  memory.hold(BUDGET + 1);
  // Two sweeps go by: still over, counted as `other`, and no socket closed for it.
  await eventually(async () => metricValue(await fetchMetrics(s), 'ws_memory_budget_exceeded_total') >= 2, 4000, 'two sweeps over the budget');
  const text = await fetchMetrics(s);
  assert.equal(metricValue(text, 'ws_memory_held_bytes', { kind: 'other' }), BUDGET + 1);
  assert.equal(metricValue(text, 'ws_ready'), 0);
  assert.equal((await readyz(s)).status, 503);
  await assert.rejects(TestClient.connect(s.wsUrl), /HTTP 503/);
  assert.equal(idle.ws.readyState, WebSocket.OPEN);
  await witness.probe('while over the budget');

  memory.release(BUDGET + 1);
  assert.equal((await readyz(s)).status, 200, 'released: ready at once');
  const after = await TestClient.connect(s.wsUrl);
  await after.nextOf('welcome');
  after.ws.terminate();
});
