// The replay-storm scenario of issue #22, run against the real service in a process of its own
// (so its CPU and memory are its own): a room of 100 long messages, a witness pair talking in
// another room, then three windows measured the same way, each a baseline for the next: the
// sockets idle, one reconnect wave (every socket of a group joins once with an old `since`, what an
// instance restart causes), and the storm (another group, fresh, rejoining as fast as its rate
// limit allows). Every figure is returned; the tests state their bounds on them.
import { within } from './bounded.ts';
import { processUsage, Witness } from './hostile.ts';
import { freePort, killServices, runService, waitHealthy } from './process.ts';
import { startStorm, type Storm, type Tally } from './replay-storm.ts';
import { TestClient } from './client.ts';
import { metricValue } from './server.ts';

export interface Window {
  /** When it started and ended (performance.now() of the test's process). */
  startedAt: number;
  endedAt: number;
  seconds: number;
  /** The service's CPU time over the window, and per second of it (cores). */
  cpuMs: number;
  core: number;
  /** The witness's echo latency, 99th percentile over the window, and the echoes it counts. */
  p99: number;
  echoes: number;
  /** What `probe` (Redis's CPU seconds, say) grew by, per second of the window. */
  probePerSec: number;
  /** The service's longest event-loop delay over the window (prom-client's, reset by each scrape), ms. */
  lagMaxMs: number;
}

export interface StormReport {
  idle: Window;
  wave: Window & { got: number };
  storm: Window & { got: number; sent: number };
  /** Each storm socket's bytes got per byte sent over the window, lowest first. */
  ratios: number[];
  tallies: Tally[];
  /** The service's resident memory and V8 heap in use (MB): idle, after the wave, the storm's peak, its end. */
  rssMb: { idle: number; wave: number; peak: number; end: number };
  heapMb: { idle: number; end: number };
}

export interface ScenarioOptions {
  /** The service's environment besides PORT, HOST and LOG_LEVEL (REDIS_URL...). */
  env?: Record<string, string>;
  /** A counter read at each window's start and end (Redis's used CPU seconds); none by default. */
  probe?: () => Promise<number>;
  sockets?: number;
  stormSeconds?: number;
}

const ROOM = 'big';
const MB = 1e6;

async function fill(wsUrl: string): Promise<void> {
  // 100 messages of 1990 characters from 5 writers (20 each, inside their burst): a full replay
  // is about 210 KB for a 60-byte join.
  const writers = await Promise.all(Array.from({ length: 5 }, () => TestClient.connect(wsUrl)));
  for (const [k, w] of writers.entries()) {
    w.send({ type: 'join', room: ROOM, name: `writer${k}` });
    await w.nextOf('welcome', 5000, (m) => m.room === ROOM);
  }
  writers.forEach((w, k) => {
    for (let i = 0; i < 20; i++) w.send({ type: 'say', text: `${k}-${i} ${'x'.repeat(1985)}` });
  });
  for (const w of writers) for (let i = 0; i < 100; i++) await w.nextOf('message', 10_000);
  for (const w of writers) w.close();
}

async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

/** Runs the scenario; every part it started is stopped before it returns or throws, the witness's last probe first. */
export async function runStormScenario(options: ScenarioOptions = {}): Promise<StormReport> {
  const cleanup: (() => Promise<unknown>)[] = [];
  let report: StormReport | undefined;
  let failure: unknown;
  try {
    report = await scenario(options, cleanup);
  } catch (err) {
    failure = err;
  }
  for (const done of cleanup.reverse()) await done().catch((err: unknown) => (failure ??= err));
  if (failure !== undefined || !report) throw failure;
  return report;
}

async function scenario(options: ScenarioOptions, cleanup: (() => Promise<unknown>)[]): Promise<StormReport> {
  const sockets = options.sockets ?? 200;
  const probe = options.probe ?? (() => Promise.resolve(0));
  const port = await freePort();
  const service = runService({ ...options.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
  cleanup.push(() => killServices([service]));
  await waitHealthy(port);
  const url = `http://127.0.0.1:${port}`;
  const wsUrl = `ws://127.0.0.1:${port}/ws`;
  const pid = service.child.pid ?? 0;
  await within(fill(wsUrl), 20_000, 'the room to fill');
  const witness = await Witness.start({ wsUrl });
  cleanup.push(() => witness.stop());
  const group = async (): Promise<Storm> => {
    const storm = await startStorm({ wsUrl, sockets, room: ROOM, since: '0' });
    cleanup.push(() => storm.stop());
    return storm;
  };
  // Two groups: the storm's sockets start with the full budget an attacker's fresh sockets have.
  const [waveGroup, stormGroup] = [await group(), await group()];
  if (waveGroup.connected + stormGroup.connected !== 2 * sockets) throw new Error(`only ${waveGroup.connected + stormGroup.connected} sockets connected`);

  const measure = async <T>(run: () => Promise<T>): Promise<{ window: Window; result: T; endRss: number; heap: number }> => {
    const from = witness.echoMs.length;
    await scrape(url);
    const [u0, p0, t0] = [await processUsage(pid), await probe(), performance.now()];
    const result = await run();
    const [u1, p1, t1] = [await processUsage(pid), await probe(), performance.now()];
    const metrics = await scrape(url);
    const seconds = (t1 - t0) / 1000;
    const window = {
      startedAt: t0,
      endedAt: t1,
      seconds,
      cpuMs: u1.cpuMs - u0.cpuMs,
      core: (u1.cpuMs - u0.cpuMs) / (t1 - t0),
      p99: witness.echoP99(from),
      echoes: witness.echoMs.length - from,
      probePerSec: (p1 - p0) / seconds,
      lagMaxMs: metricValue(metrics, 'nodejs_eventloop_lag_max_seconds') * 1000,
    };
    return { window, result, endRss: u1.rssBytes, heap: metricValue(metrics, 'nodejs_heap_size_used_bytes') / MB };
  };
  const idle = await measure(() => new Promise((r) => setTimeout(r, 3000)));
  const wave = await measure(() => waveGroup.wave());
  let peak = wave.endRss;
  const sampler = setInterval(() => void processUsage(pid).then((u) => (peak = Math.max(peak, u.rssBytes)), () => {}), 250);
  const storm = await measure(() => stormGroup.storm(options.stormSeconds ?? 20)).finally(() => clearInterval(sampler));
  const tallies = storm.result;
  witness.assertIntact('the storm');
  return {
    idle: idle.window,
    wave: { ...wave.window, got: wave.result.got },
    storm: { ...storm.window, got: tallies.reduce((s, x) => s + x.got, 0), sent: tallies.reduce((s, x) => s + x.sent, 0) },
    ratios: tallies.map((x) => x.got / x.sent).sort((a, b) => a - b),
    tallies,
    rssMb: { idle: idle.endRss / MB, wave: wave.endRss / MB, peak: Math.max(peak, storm.endRss) / MB, end: storm.endRss / MB },
    heapMb: { idle: idle.heap, end: storm.heap },
  };
}
