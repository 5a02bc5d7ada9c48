// What a window cost Redis, from INFO taken at its two marks: operations by name from
// `INFO commandstats` and CPU from `INFO cpu`. Operations are what commandstats counts: every
// command Redis executed, those a script called included (an EVALSHA whose script makes three
// redis.call()s counts 4). For the requests the instances sent, see bench/lib/monitor.ts.
// No harness state here (no argv, no processes): the method's own test imports it directly.

/** All the harness needs of a Redis client: one command at a time, answered as Redis answers. */
export interface CommandClient {
  sendCommand(args: string[]): Promise<unknown>;
}

export interface RedisStats {
  at: number;
  /** Calls per command since start, without the harness's own INFO calls. */
  calls: Record<string, number>;
  /** Calls refused before they ran (bad arguments, OOM...): requests sent, not in `calls`. */
  rejected: number;
  /** used_cpu_user + used_cpu_sys of the Redis process (all its threads), seconds. */
  cpuSeconds: number;
}

function fields(info: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of info.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

/** INFO as one command: its line in a MONITOR stream marks the instant of this snapshot. */
export async function redisStats(client: CommandClient): Promise<RedisStats> {
  const at = performance.now();
  const info = fields(String(await client.sendCommand(['INFO', 'all'])));
  const calls: Record<string, number> = {};
  let rejected = 0;
  for (const [key, value] of info) {
    if (!key.startsWith('cmdstat_') || key === 'cmdstat_info') continue;
    const m = /calls=(\d+)/.exec(value);
    if (m) calls[key.slice('cmdstat_'.length)] = Number(m[1]);
    rejected += Number(/rejected_calls=(\d+)/.exec(value)?.[1] ?? 0);
  }
  const cpuSeconds = Number(info.get('used_cpu_user')) + Number(info.get('used_cpu_sys'));
  return { at, calls, rejected, cpuSeconds };
}

/** Calls per command between two snapshots (commands with none left out). */
export function callsBetween(a: RedisStats, b: RedisStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, n] of Object.entries(b.calls)) {
    const d = n - (a.calls[name] ?? 0);
    if (d > 0) out[name] = d;
  }
  return out;
}

export const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((s, n) => s + n, 0);

/** Each count over the messages (a window with none divides by one). */
export function perMessage(counts: Record<string, number>, messages: number): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([name, n]) => [name, n / Math.max(1, messages)]));
}

export interface RedisCost {
  /** Operations (commandstats calls) of every kind during the window, per message published in it. */
  opsPerMessage: number;
  /** The same, by command. */
  byCommand: Record<string, number>;
  /** Redis's CPU over the window, in % of a core. */
  redisCpuPct: number;
  /** Redis's CPU seconds during the window over the messages published in it, in µs. */
  cpuUsPerMessage: number;
}

export function redisCost(a: RedisStats, b: RedisStats, messages: number): RedisCost {
  const calls = callsBetween(a, b);
  const seconds = (b.at - a.at) / 1000;
  const cpu = b.cpuSeconds - a.cpuSeconds;
  return {
    opsPerMessage: sum(calls) / Math.max(1, messages),
    byCommand: perMessage(calls, messages),
    redisCpuPct: (cpu / seconds) * 100,
    cpuUsPerMessage: (cpu * 1e6) / Math.max(1, messages),
  };
}
