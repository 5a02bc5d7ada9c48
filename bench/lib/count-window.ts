// A counting window: a measured window's command run once more with MONITOR open, for the
// commands the instances sent (bench/lib/monitor.ts says how they are told from operations).
// Its own window so that MONITOR's cost (Redis formats and writes every command to it) is in no
// latency or CPU figure; the messages, rate and publishers are the same as the window it counts.
import { ask, type Client } from './loadgen.ts';
import { commandCount, monitorsGone, startMonitor, type CommandCount } from './monitor.ts';
import type { RunningRedis } from './redis.ts';
import { redisStats, type RedisStats } from './redis-stats.ts';
import type { Command, Reply, WindowResult } from './types.ts';

export interface CountWindow {
  result: WindowResult;
  count: CommandCount;
}

export async function countWindow(client: Client, redis: RunningRedis, command: Command, timeoutMs: number): Promise<CountWindow> {
  const monitor = await startMonitor(redis.url, redis.client);
  try {
    let ra: Promise<RedisStats> | undefined;
    let rb: Promise<RedisStats> | undefined;
    const reply = await ask<Extract<Reply, { reply: 'window' }>>(client, command, 'window', timeoutMs, (mark) => {
      if (mark === 'start') ra = redisStats(redis.client);
      else rb = redisStats(redis.client);
    });
    if (!ra || !rb) throw new Error('window marks missing');
    const [a, b] = await Promise.all([ra, rb]);
    const seen = await monitor.stop();
    if (!seen.complete) throw new Error('the counting window\'s INFO snapshots never showed in the MONITOR stream');
    return { result: reply.result, count: commandCount(a, b, seen, reply.result.published) };
  } finally {
    await monitor.stop(0);
    await monitorsGone(redis.client);
  }
}

/** The figures a row keeps from its counting window: both command counts, from the same window. */
export function countFigures(c: CountWindow | undefined): Record<string, number> {
  const n = c?.count;
  return {
    sentPerMessage: n?.sentPerMessage ?? Number.NaN,
    monitorSentPerMessage: n?.monitorSentPerMessage ?? Number.NaN,
    scriptInnerPerMessage: n?.scriptInnerPerMessage ?? Number.NaN,
    opsPerMessage: n?.opsPerMessage ?? Number.NaN,
    countPublished: c?.result.published ?? Number.NaN,
    countArrivedPct: c ? (100 * c.result.arrived) / Math.max(1, c.result.expected) : Number.NaN,
  };
}
