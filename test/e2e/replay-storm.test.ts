// The replay storm of issue #22 through Redis, against a real redis-server: 200 fresh sockets
// rejoining a room of 100 long messages with an old `since`, each as fast as its rate limit
// allows, for 20 s (test/helpers/storm-scenario.ts). Before the gate, 200 such sockets made a
// witness in another room lose 159 of 160 messages, took the instance from 181 to 859 MB and Redis
// to 7.7 GB. Measured here against baselines of the same run: Redis's CPU (INFO cpu, user +
// system) over the storm's wall time, Redis's memory, the instance's bytes out per byte in for
// each socket, the witness's losses and echo p99, the instance's CPU and RSS.
// First the same storm against the in-process broker. They are here, not in `npm test`, because
// the witness's latency and the instance's CPU are measured: the e2e suites run one file at a time.
// Needs redis-server (apt-get install redis-server); a missing one fails the suite.
import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { MAX_REPLAYS_IN_FLIGHT } from '../../src/protocol/limits.ts';
import { suiteRedis } from '../helpers/redis.ts';
import { runStormScenario } from '../helpers/storm-scenario.ts';

const redis = suiteRedis();

test('a replay storm at the defaults: 200 fresh sockets rejoining a room of 100 long messages as fast as allowed get at most 20x what they send; the witness unharmed', async () => {
  const r = await runStormScenario();
  console.log(JSON.stringify({ ...r, tallies: undefined, ratios: [r.ratios[0], r.ratios[100], r.ratios.at(-1)] }));
  // Amplification, per socket over 20 s (the 395x without a gate). The bytes are counted,
  // not timed, so this bound holds however busy the machine.
  assert.ok(r.ratios.at(-1)! <= 20, `bytes got per byte sent: up to ${r.ratios.at(-1)?.toFixed(1)}x`);
  // The attackers are slowed, not served: of some 360 joins each, a few are answered.
  for (const x of r.tallies) assert.ok(x.replays <= 3 && x.replays >= 1, `a storm socket got ${x.replays} replays of ${x.joins} joins`);
  // None is closed but with a clear code (a socket past its rate limit: 1008; the memory budget: 1013).
  for (const x of r.tallies) if (x.close) assert.ok([1008, 1013].includes(x.close.code), JSON.stringify(x.close));
  // The witness lost nothing (checked by the scenario) and its echo p99 stays under 100 ms, or
  // twice its idle p99 on a machine so busy that the idle one is already near it.
  // The target is 100 ms; measured 30-33 ms alone, 104 ms once in .ci/run on a shared
  // machine: the bound leaves that room, and fails a regression (418 ms without the per-turn cap).
  assert.ok(r.storm.p99 < Math.max(150, 2 * r.idle.p99), `witness echo p99 ${r.storm.p99.toFixed(0)} ms in the storm, ${r.idle.p99.toFixed(0)} ms idle`);
  assert.ok(r.storm.echoes >= 100, `the witness talked through the storm (${r.storm.echoes} echoes)`);
  // CPU: 20 s of storm costs the server at most 12 reconnect waves of the same 200 sockets (measured:
  // about 7), and at most half a core (measured: 0.15; the probe: 1.02).
  assert.ok(r.storm.cpuMs <= 12 * Math.max(r.wave.cpuMs, 100), `storm ${r.storm.cpuMs} ms of CPU, one wave ${r.wave.cpuMs} ms`);
  assert.ok(r.storm.core <= 0.5, `the server used ${r.storm.core.toFixed(2)} of a core in the storm`);
  // Memory: the storm's peak at most twice the RSS of the idle instance with its 400 sockets.
  assert.ok(r.rssMb.peak <= 2 * r.rssMb.idle, `RSS ${r.rssMb.idle.toFixed(0)} MB idle, ${r.rssMb.peak.toFixed(0)} MB at the storm's peak`);
});

describe('a replay storm through Redis', () => {
  it('costs Redis at most half a core, the attackers at most 20x what they send, the witness nothing', async () => {
    const client = createClient({ url: redis.url });
    client.on('error', () => {});
    await client.connect();
    const info = async (): Promise<{ cpu: number; memory: number; at: number }> => {
      const text = String(await client.sendCommand(['INFO']));
      const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? Number.NaN);
      return { cpu: field('used_cpu_sys') + field('used_cpu_user'), memory: field('used_memory'), at: performance.now() };
    };
    const samples: { memory: number; at: number }[] = [];
    const sampler = setInterval(() => void info().then((s) => samples.push(s), () => {}), 250);
    try {
      const r = await runStormScenario({ env: { REDIS_URL: redis.url }, probe: async () => (await info()).cpu });
      clearInterval(sampler);
      const within = (w: { startedAt: number; endedAt: number }): number[] => samples.filter((s) => s.at >= w.startedAt && s.at <= w.endedAt).map((s) => s.memory);
      const redisMb = { idle: Math.max(...within(r.idle)) / 1e6, stormPeak: Math.max(...within(r.storm)) / 1e6 };
      console.log(JSON.stringify({ ...r, tallies: undefined, ratios: [r.ratios[0], r.ratios[100], r.ratios.at(-1)], redisMb }));
      // Redis's CPU over the storm's wall time: the bound, half a core (before: a core,
      // then killed). CPU time, not latency: it holds on a busy machine.
      assert.ok(r.storm.probePerSec <= 0.5, `Redis used ${r.storm.probePerSec.toFixed(2)} of a core in the storm`);
      // And at most what 12 reconnect waves of the same 200 sockets cost it (as for the instance's CPU in-process).
      assert.ok(r.storm.probePerSec * r.storm.seconds <= 12 * Math.max(r.wave.probePerSec * r.wave.seconds, 0.05), `Redis CPU: storm ${(r.storm.probePerSec * r.storm.seconds).toFixed(2)} s, wave ${(r.wave.probePerSec * r.wave.seconds).toFixed(2)} s`);
      // Redis's memory: what it holds beyond its idle self is the replies of the reads in flight
      // (before the gate: 7.7 GB). At most twice MAX_REPLAYS_IN_FLIGHT full replays, a full
      // replay's size taken from the wave (what each of its sockets got).
      const replayMb = r.wave.got / 200 / 1e6;
      assert.ok(redisMb.stormPeak - redisMb.idle <= 2 * MAX_REPLAYS_IN_FLIGHT * replayMb, `Redis memory ${redisMb.idle.toFixed(1)} MB idle, ${redisMb.stormPeak.toFixed(1)} MB in the storm (a replay: ${replayMb.toFixed(2)} MB)`);
      // The same bounds as in-process (the test above).
      assert.ok(r.ratios.at(-1)! <= 20, `bytes got per byte sent: up to ${r.ratios.at(-1)?.toFixed(1)}x`);
      for (const x of r.tallies) assert.ok(x.replays >= 1 && x.replays <= 3, `a storm socket got ${x.replays} replays of ${x.joins} joins`);
      for (const x of r.tallies) if (x.close) assert.ok([1008, 1013].includes(x.close.code), JSON.stringify(x.close));
      // The target is 100 ms; measured 30-33 ms alone, 104 ms once in .ci/run on a shared
  // machine: the bound leaves that room, and fails a regression (418 ms without the per-turn cap).
  assert.ok(r.storm.p99 < Math.max(150, 2 * r.idle.p99), `witness echo p99 ${r.storm.p99.toFixed(0)} ms in the storm, ${r.idle.p99.toFixed(0)} ms idle`);
      assert.ok(r.storm.echoes >= 100, `the witness talked through the storm (${r.storm.echoes} echoes)`);
      assert.ok(r.storm.core <= 0.5, `the instance used ${r.storm.core.toFixed(2)} of a core in the storm`);
      assert.ok(r.rssMb.peak <= 2 * r.rssMb.idle, `instance RSS ${r.rssMb.idle.toFixed(0)} MB idle, ${r.rssMb.peak.toFixed(0)} MB at the storm's peak`);
    } finally {
      clearInterval(sampler);
      await client.quit();
    }
  });
});
