// A window over several server instances and Redis: the CPU of each part from /proc, Redis's
// operations and CPU from INFO, sampled at the load generator's window marks.
import { cpus } from 'node:os';
import { ask, type Client } from './loadgen.ts';
import { machineTimes, processCpuSeconds, type MachineTimes } from './proc.ts';
import { noteOtherLoad } from './record.ts';
import type { RunningRedis } from './redis.ts';
import { redisCost, redisStats, type RedisCost, type RedisStats } from './redis-stats.ts';
import type { Command, Reply, WindowResult } from './types.ts';

interface Sample {
  at: number;
  servers: number;
  client: number;
  redis: number;
  machine: MachineTimes;
}

export interface ClusterCost {
  /** All server instances together, in % of one core. */
  serverCpuPct: number;
  clientCpuPct: number;
  /** Redis from /proc (the INFO figure is in RedisCost). */
  redisProcCpuPct: number;
  machineBusyPct: number;
  /** Busy time of none of the measured processes nor softirq, in % of a core: a disturbed window. */
  otherCpuPct: number;
}

function sample(serverPids: readonly number[], clientPid: number, redisPid: number): Sample {
  return {
    at: performance.now(),
    servers: serverPids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0),
    client: processCpuSeconds(clientPid),
    redis: processCpuSeconds(redisPid),
    machine: machineTimes(),
  };
}

function cost(a: Sample, b: Sample): ClusterCost {
  const seconds = (b.at - a.at) / 1000;
  const pct = (x: number, y: number): number => ((y - x) / seconds) * 100;
  const dt = b.machine.total - a.machine.total;
  const machineBusyPct = ((dt - (b.machine.idle - a.machine.idle)) / dt) * 100;
  const softirqPct = ((b.machine.softirq - a.machine.softirq) / dt) * 100;
  const serverCpuPct = pct(a.servers, b.servers);
  const clientCpuPct = pct(a.client, b.client);
  const redisProcCpuPct = pct(a.redis, b.redis);
  const otherCpuPct = (machineBusyPct - softirqPct) * cpus().length - serverCpuPct - clientCpuPct - redisProcCpuPct;
  return { serverCpuPct, clientCpuPct, redisProcCpuPct, machineBusyPct, otherCpuPct };
}

export interface ClusterWindow {
  result: WindowResult;
  cost: ClusterCost;
  redis: RedisCost;
}

/** Runs a window command on the load generator and measures every part over the window. */
export async function clusterWindow(client: Client, serverPids: readonly number[], redis: RunningRedis, command: Command, timeoutMs: number): Promise<ClusterWindow> {
  let a: Sample | undefined;
  let b: Sample | undefined;
  let ra: Promise<RedisStats> | undefined;
  let rb: Promise<RedisStats> | undefined;
  const redisPid = redis.child.pid ?? 0;
  const reply = await ask<Extract<Reply, { reply: 'window' }>>(client, command, 'window', timeoutMs, (mark) => {
    if (mark === 'start') {
      a = sample(serverPids, client.pid, redisPid);
      ra = redisStats(redis.client);
    } else {
      b = sample(serverPids, client.pid, redisPid);
      rb = redisStats(redis.client);
    }
  });
  if (!a || !b || !ra || !rb) throw new Error('window marks missing');
  return { result: reply.result, cost: cost(a, b), redis: redisCost(await ra, await rb, reply.result.published) };
}

/** The figures of a window over the instances (and a note when other work disturbed it). */
export function clusterFigures(w: ClusterWindow): Record<string, number> {
  noteOtherLoad(w.cost.otherCpuPct);
  const r = w.result;
  return {
    p50Ms: r.latencyMs.p50,
    p99Ms: r.latencyMs.p99,
    maxMs: r.latencyMs.max,
    farP50Ms: r.farLatencyMs?.p50 ?? Number.NaN,
    farP99Ms: r.farLatencyMs?.p99 ?? Number.NaN,
    farMaxMs: r.farLatencyMs?.max ?? Number.NaN,
    published: r.published,
    deliveriesPerSec: r.perSec,
    arrivedPct: (100 * r.arrived) / Math.max(1, r.expected),
    closed: r.closedDuring,
    // The counting twin's operations are the table's; these check that MONITOR changed no traffic.
    windowOpsPerMessage: w.redis.opsPerMessage,
    redisCpuPct: w.redis.redisCpuPct,
    redisCpuUsPerMessage: w.redis.cpuUsPerMessage,
    serverCpuPct: w.cost.serverCpuPct,
    clientCpuPct: w.cost.clientCpuPct,
    redisProcCpuPct: w.cost.redisProcCpuPct,
    machineBusyPct: w.cost.machineBusyPct,
    otherCpuPct: w.cost.otherCpuPct,
  };
}
