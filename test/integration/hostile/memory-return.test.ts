// Hostile-input catalogue: memory after an attack (issue #22). 1500 sockets each hold an
// unfinished 64 KiB message (64 fragments: 96 MiB of payload, inside MEMORY_BUDGET_MB's 128 at the
// defaults), then hang up. The service runs in a process of its own so that its RSS is its own;
// sampled before, at the peak, and for 30 s after. What comes back: the budget's count at once,
// the V8 heap and the Buffers' external memory once collected. What may not: RSS, which the
// allocator keeps for reuse (docs/security.md, "Memory after an attack"); the next attack of the
// same size reuses it rather than growing it, which is what tells a plateau from a leak.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as pause } from 'node:timers/promises';
import { TestClient } from '../../helpers/client.ts';
import { frame, OP, processUsage, Witness, writeRaw } from '../../helpers/hostile.ts';
import { freePort, killServices, runService, waitHealthy } from '../../helpers/process.ts';
import { eventually, metricValue } from '../../helpers/server.ts';

const HOLDERS = 1500;
const FRAGMENTS = 64;
const EACH = 1024;
const MB = 1e6;

interface Sample {
  rss: number;
  heap: number;
  external: number;
  held: number;
}

async function holders(wsUrl: string, n: number): Promise<TestClient[]> {
  const all: TestClient[] = [];
  const parts = Array.from({ length: FRAGMENTS }, (_, i) => frame(i === 0 ? OP.text : OP.continuation, Buffer.alloc(EACH, 0x61), { fin: false }));
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => TestClient.connect(wsUrl, { autoPong: false })));
    for (const c of batch) {
      await c.nextOf('welcome', 5000);
      writeRaw(c, parts);
    }
    all.push(...batch);
  }
  return all;
}

test('after 1500 sockets holding unfinished messages hang up: the budget at 0 at once, the heap back, RSS reused by the next attack, not grown', async (t) => {
  const port = await freePort();
  const service = runService({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' });
  t.after(() => killServices([service]));
  await waitHealthy(port);
  const url = `http://127.0.0.1:${port}`;
  const wsUrl = `ws://127.0.0.1:${port}/ws`;
  const pid = service.child.pid ?? 0;
  const witness = await Witness.start({ wsUrl });
  const sample = async (): Promise<Sample> => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const { rssBytes } = await processUsage(pid);
    return { rss: rssBytes / MB, heap: metricValue(text, 'nodejs_heap_size_used_bytes') / MB, external: metricValue(text, 'nodejs_external_memory_bytes') / MB, held: metricValue(text, 'ws_memory_held_bytes', { kind: 'partial' }) / MB };
  };
  await pause(2000);
  const before = await sample();

  const rounds: { peak: Sample; after: Sample[] }[] = [];
  for (let round = 0; round < 2; round++) {
    const clients = await holders(wsUrl, HOLDERS);
    const expected = (HOLDERS * FRAGMENTS * EACH) / MB;
    await eventually(async () => (await sample()).held >= 0.9 * expected, 20_000, 'the unfinished messages counted');
    const peak = await sample();
    await witness.probe(`holding, round ${round}`);
    for (const c of clients) c.ws.terminate();
    await eventually(async () => (await sample()).held === 0, 5000, 'the budget back to 0');
    // 30 s after the first attack (the measure); the second round only needs its peak.
    const after: Sample[] = [];
    for (let s = 0; s < (round === 0 ? 30 : 5); s++) {
      await pause(1000);
      after.push(await sample());
    }
    rounds.push({ peak, after });
    await witness.probe(`after, round ${round}`);
  }
  await witness.stop();
  const [first, second] = rounds;
  assert.ok(first && second);
  const last = first.after.at(-1)!;
  const lowest = (k: keyof Sample): number => Math.min(...first.after.map((x) => x[k]));
  const collections = service
    .stdout()
    .split('\n')
    .filter((l) => l.includes('"memory budget: attack over, full collection"'))
    .map((l) => JSON.parse(l) as { ms: number; externalFreedMiB: number; heapFreedMiB: number; rssFreedMiB: number });
  console.log(JSON.stringify({ before, peak: first.peak, after30s: last, lowestAfter: { rss: lowest('rss'), heap: lowest('heap'), external: lowest('external') }, secondPeak: second.peak, collections }));

  // One full collection once the first attack was over, none for the second (at most one a minute).
  assert.equal(collections.length, 1, 'one collection after the first attack');
  // What the attack made the process hold comes back: the Buffers' memory and the heap, near the
  // baseline (the heap read at its lowest, just after a collection: between them it holds garbage).
  assert.ok(last.external <= before.external * 1.5 + 10, `external ${before.external.toFixed(0)} MB before, ${first.peak.external.toFixed(0)} at the peak, ${last.external.toFixed(0)} 30 s after`);
  assert.ok(lowest('heap') <= before.heap * 1.5 + 10, `heap ${before.heap.toFixed(0)} MB before, ${first.peak.heap.toFixed(0)} at the peak, at least ${lowest('heap').toFixed(0)} after`);
  // RSS: what the allocator kept is reused, not grown: the second attack of the same size peaks
  // at most 10% above the first (a leak would add the attack's size again).
  assert.ok(second.peak.rss <= first.peak.rss * 1.1, `RSS peaks: ${first.peak.rss.toFixed(0)} then ${second.peak.rss.toFixed(0)} MB (before: ${before.rss.toFixed(0)})`);
});
