// The scale-out throughput ceiling: publish rates stepped up (settings.ceilingRates) until the
// first that misses the rule; the ceiling is the last rate that kept it. Then the ceiling rate
// once more with MONITOR open, for the commands sent at that rate.
import { settings } from '../lib/args.ts';
import { clusterFigures, clusterWindow, type ClusterWindow } from '../lib/cluster.ts';
import { countFigures, countWindow, type CountWindow } from '../lib/count-window.ts';
import type { Client } from '../lib/loadgen.ts';
import { sleep } from '../lib/processes.ts';
import type { Row } from '../lib/record.ts';
import type { RunningRedis } from '../lib/redis.ts';
import type { Command } from '../lib/types.ts';

/** The ceiling's rule: p99 under this, every delivery arrived, no socket closed. */
export const CEILING_P99_MS = 100;
/** Publishers of the ceiling steps (fewer when the first instance has fewer members). */
export const CEILING_PUBLISHERS = 4;
/** Other work above this (% of a core) in a ceiling step that failed: the step says nothing about the server. */
const DISTURBED_PCT = 30;

export interface Ceiling {
  /** The highest rate that kept the rule; 0 when none did. */
  rate: number;
  best: ClusterWindow | undefined;
  /** Stopped by other work on the machine, not by the server: no ceiling was measured. */
  unmeasured: boolean;
  /** Every rate tried, in order (a disturbed miss is tried again). */
  steps: NonNullable<Row['steps']>;
  /** The ceiling rate again with MONITOR open; none without a ceiling. */
  counted: CountWindow | undefined;
}

function stepCommand(publishers: number, rate: number): Command {
  return { cmd: 'broadcast', publishers, rate, warmMs: settings.ceilingWarmMs, windowMs: settings.ceilingWindowMs, drainMs: 1_000, bytes: settings.bytes };
}

export async function findCeiling(client: Client, pids: readonly number[], redis: RunningRedis, publishers: number): Promise<Ceiling> {
  const steps: Ceiling['steps'] = [];
  let best: ClusterWindow | undefined;
  let bestRate = 0;
  for (const rate of settings.ceilingRates) {
    let ok = false;
    // A step missed while other work ran on the shared machine is tried again (up to 3 times).
    for (let attempt = 1; attempt <= 3; attempt++) {
      const w = await clusterWindow(client, pids, redis, stepCommand(publishers, rate), 60_000);
      const f = clusterFigures(w);
      ok = f.p99Ms! < CEILING_P99_MS && f.arrivedPct! >= 99.9 && f.closed === 0;
      steps.push({ rate, ok, figures: f, redis: w.redis });
      if (ok) {
        best = w;
        bestRate = rate;
      }
      if (ok || f.otherCpuPct! <= DISTURBED_PCT) break;
      await sleep(3_000);
    }
    if (!ok) break;
  }
  const last = steps.at(-1);
  const unmeasured = last !== undefined && !last.ok && last.figures.otherCpuPct! > DISTURBED_PCT;
  const counted = best ? await countWindow(client, redis, stepCommand(publishers, bestRate), 60_000) : undefined;
  return { rate: bestRate, best, unmeasured, steps, counted };
}

/** The redis-ceiling row's figures: the ceiling, and what the window at it cost. */
export function ceilingFigures(c: Ceiling): Record<string, number> {
  const at = c.best ? clusterFigures(c.best) : {};
  return {
    ceilingPerSec: c.unmeasured ? Number.NaN : c.rate,
    ceilingDisturbed: c.unmeasured ? 1 : 0,
    ceilingDeliveriesPerSec: c.unmeasured ? Number.NaN : (at.deliveriesPerSec ?? 0),
    windowOpsPerMessage: at.windowOpsPerMessage ?? Number.NaN,
    redisCpuPct: at.redisCpuPct ?? Number.NaN,
    redisCpuUsPerMessage: at.redisCpuUsPerMessage ?? Number.NaN,
    serverCpuPct: at.serverCpuPct ?? Number.NaN,
    p99Ms: at.p99Ms ?? Number.NaN,
    stepsTried: c.steps.length,
    ...countFigures(c.counted),
  };
}
