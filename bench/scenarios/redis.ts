// Scale-out through Redis: N instances of a server (settings.instances, one group run per count)
// sharing one redis-server. Socketship with REDIS_URL; Socket.IO 4 with
// @socket.io/redis-streams-adapter and connection state recovery (bench/peers/socketio-server.ts).
// Every instance is pinned to core 0, so they share one core: the instance count changes how the
// work is split and what each message costs Redis, not the CPU the servers have. Redis and the
// load generator are on core 1. Members are spread evenly over the instances, publishers are on
// the first.
//   redis-broadcast-1k: 10 messages/s, delivery latency (all members, and those on other instances)
//   redis-ceiling: publish rates stepped up; the highest with p99 < 100 ms and nothing lost
//   redis-replay: every member drops, misses messages, comes back on the next instance asking for them
// Each latency window is followed by a counting twin (same command, MONITOR open) for the
// commands the instances sent; the operations and CPU figures are the latency window's own.
import { SERVERS, settings, type ServerName } from '../lib/args.ts';
import { clusterFigures, clusterWindow } from '../lib/cluster.ts';
import { countFigures, countWindow } from '../lib/count-window.ts';
import { ask, startClient, stopClient, wsUrl, type Client } from '../lib/loadgen.ts';
import { sleep, withCleanup, type Defer } from '../lib/processes.ts';
import { record } from '../lib/record.ts';
import { startRedis, stopRedis } from '../lib/redis.ts';
import { startServer, stopServer, type RunningServer } from '../lib/servers.ts';
import type { Command, Kind, Reply, ReplayResult } from '../lib/types.ts';
import { CEILING_P99_MS, CEILING_PUBLISHERS, ceilingFigures, findCeiling } from './redis-ceiling.ts';

const SOURCES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8', '127.0.0.9'];

/** `total` members over `n` instances as evenly as they go; the first ones get the remainder. */
export function spreadMembers(total: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}

async function connectTo(client: Client, url: string, kind: Kind, n: number, indexFrom: number, instance: number): Promise<void> {
  const timeoutMs = 10_000;
  const command: Command = { cmd: 'connect', url, kind, n, ownRooms: false, concurrency: settings.connectConcurrency, timeoutMs, sources: SOURCES, indexFrom, instance, trackIds: true };
  const r = await ask<Extract<Reply, { reply: 'connect' }>>(client, command, 'connect', Math.max(60_000, n * 20) + timeoutMs + 5_000);
  if (r.result.connected < n) throw new Error(`${r.result.connected}/${n} connected to instance ${instance} (first error: ${r.result.firstError ?? '?'})`);
}

/** Starts the instances side by side (each bounded by its health check); every one started is stopped at the end. */
async function startInstances(name: ServerName, n: number, env: Record<string, string>, defer: Defer): Promise<RunningServer[]> {
  const started = await Promise.allSettled(Array.from({ length: n }, (_, i) => startServer(name, 'redis', env, `redis-${n}x-${i + 1}`)));
  const servers: RunningServer[] = [];
  for (const s of started) {
    if (s.status !== 'fulfilled') continue;
    servers.push(s.value);
    defer(() => stopServer(s.value));
  }
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) throw new Error(`instance did not start: ${(failed.reason as Error).message}`);
  return servers;
}

export async function groupRedis(name: ServerName, rep: number, instances: number): Promise<void> {
  const s = settings;
  const kind = SERVERS[name].kind;
  await withCleanup(async (defer) => {
    const redis = await startRedis();
    defer(() => stopRedis(redis));
    const servers = await startInstances(name, instances, { REDIS_URL: redis.url }, defer);
    const client = startClient();
    defer(() => stopClient(client));
    const urls = servers.map((srv) => wsUrl(kind, srv.port));
    const members = spreadMembers(s.redisMembers, instances);
    let from = 0;
    for (const [i, n] of members.entries()) {
      await connectTo(client, urls[i]!, kind, n, from, i);
      from += n;
    }
    await sleep(s.settleMs / 2);
    const pids = servers.map((srv) => srv.pid);
    const extra = { instances };

    const broadcast: Command = { cmd: 'broadcast', publishers: 1, rate: s.b1kRate, warmMs: s.bWarmMs, windowMs: s.redisWindowMs, drainMs: s.bDrainMs, bytes: s.bytes };
    const bw = await clusterWindow(client, pids, redis, broadcast, 60_000);
    const bc = await countWindow(client, redis, broadcast, 60_000);
    record(name, rep, 'redis-broadcast-1k', { ...clusterFigures(bw), ...countFigures(bc) }, { ...extra, cost: bw.cost, result: bw.result, redis: bw.redis, count: bc.count, countWindow: bc.result });

    // The publishers are all on the first instance (conns 0.. are its members).
    const ceiling = await findCeiling(client, pids, redis, Math.min(CEILING_PUBLISHERS, members[0]!));
    if (ceiling.unmeasured) console.log(`  note: ${name} x${instances} ceiling not measured: the step at ${ceiling.steps.at(-1)?.rate}/s was disturbed by other load every time`);
    const best = ceiling.best ? { redis: ceiling.best.redis, cost: ceiling.best.cost } : {};
    const counted = ceiling.counted ? { count: ceiling.counted.count, countWindow: ceiling.counted.result } : {};
    record(name, rep, 'redis-ceiling', ceilingFigures(ceiling), { ...extra, steps: ceiling.steps, ...best, ...counted });
    // A ceiling at the last rate tried is a floor: say so rather than report it as the limit.
    if (ceiling.steps.length === s.ceilingRates.length && ceiling.steps.at(-1)?.ok) console.log(`  note: ${name} x${instances} kept p99 < ${CEILING_P99_MS} ms up to the highest rate tried (${ceiling.rate}/s)`);

    await sleep(s.settleMs / 2);
    const timeoutMs = 30_000;
    const r = await ask<Extract<Reply, { reply: 'replay' }>>(
      client,
      { cmd: 'replay', urls, missed: s.replayMissed, rate: 50, concurrency: s.connectConcurrency, timeoutMs, sources: SOURCES, settleMs: 1_000 },
      'replay',
      timeoutMs * 3,
    );
    recordReplay(name, rep, instances, r.result);
  });
}

function recordReplay(name: ServerName, rep: number, instances: number, r: ReplayResult): void {
  if (r.caughtUp < r.clients) console.log(`  warning: ${name} x${instances} replay: ${r.caughtUp}/${r.clients} caught up (${r.failed} failed to reconnect, first: ${r.firstError ?? '-'})`);
  record(
    name,
    rep,
    'redis-replay',
    { catchUpMs: r.ms, clients: r.clients, caughtUp: r.caughtUp, caughtUpPct: (100 * r.caughtUp) / Math.max(1, r.clients), recovered: r.recovered, failed: r.failed, missed: r.missed },
    { instances, replay: r },
  );
}
