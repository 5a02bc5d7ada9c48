// A real redis-server on loopback for the scale-out scenarios (pinned with the load generator, on
// core 1, so that the two server instances on core 0 are measured as before), and what a window
// cost it: commands by name from INFO commandstats, and its CPU from INFO cpu.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { cleanEnv, freePort, hasCommand, launch, sleep, stopChild } from './processes.ts';

function harnessClient(url: string) {
  const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 1000 } });
  client.on('error', () => {});
  return client;
}

export interface RunningRedis {
  child: ChildProcess;
  url: string;
  dir: string;
  client: ReturnType<typeof harnessClient>;
}

export interface RedisStats {
  at: number;
  /** Calls per command since start, without the harness's own INFO calls. */
  calls: Record<string, number>;
  /** used_cpu_user + used_cpu_sys of the Redis process (all its threads), seconds. */
  cpuSeconds: number;
}

export function redisMissing(): string | undefined {
  return hasCommand('redis-server') ? undefined : 'redis-server is not installed (Debian/Ubuntu: apt-get install redis-server); the scale-out scenarios need a real Redis';
}

export async function startRedis(): Promise<RunningRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'socketship-bench-redis-'));
  const log = join(dir, 'redis.log');
  // No persistence: the scenarios measure delivery, not disk.
  const args = ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', log];
  const child = launch(args, 1, cleanEnv({}), 'ignore');
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = harnessClient(url);
    try {
      await client.connect();
      return { child, url, dir, client };
    } catch {
      if (child.exitCode !== null || Date.now() > deadline) {
        let tail = '';
        try {
          tail = readFileSync(log, 'utf8').slice(-500);
        } catch {
          // no log yet
        }
        await stopChild(child);
        throw new Error(`redis-server did not start on ${port}: ${tail}`);
      }
      await sleep(50);
    }
  }
}

export async function stopRedis(r: RunningRedis): Promise<void> {
  await r.client.quit().catch(() => {});
  await stopChild(r.child, 3000);
  rmSync(r.dir, { recursive: true, force: true });
}

function fields(info: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of info.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

export async function redisStats(r: RunningRedis): Promise<RedisStats> {
  const at = performance.now();
  const info = fields(String(await r.client.sendCommand(['INFO', 'all'])));
  const calls: Record<string, number> = {};
  for (const [key, value] of info) {
    if (!key.startsWith('cmdstat_') || key === 'cmdstat_info') continue;
    const m = /calls=(\d+)/.exec(value);
    if (m) calls[key.slice('cmdstat_'.length)] = Number(m[1]);
  }
  const cpuSeconds = Number(info.get('used_cpu_user')) + Number(info.get('used_cpu_sys'));
  return { at, calls, cpuSeconds };
}

export interface RedisCost {
  /** Commands of every kind during the window, per message published in it. */
  commandsPerMessage: number;
  /** The same, by command. */
  byCommand: Record<string, number>;
  /** Redis's CPU over the window, in % of a core. */
  redisCpuPct: number;
}

export function redisCost(a: RedisStats, b: RedisStats, messages: number): RedisCost {
  const byCommand: Record<string, number> = {};
  let total = 0;
  for (const [name, n] of Object.entries(b.calls)) {
    const d = n - (a.calls[name] ?? 0);
    if (d <= 0) continue;
    total += d;
    byCommand[name] = d / Math.max(1, messages);
  }
  const seconds = (b.at - a.at) / 1000;
  return { commandsPerMessage: total / Math.max(1, messages), byCommand, redisCpuPct: ((b.cpuSeconds - a.cpuSeconds) / seconds) * 100 };
}
