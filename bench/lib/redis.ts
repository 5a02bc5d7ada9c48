// A real redis-server on loopback for the scale-out scenarios, pinned with the load generator on
// core 1 so that the server instances on core 0 are measured as in the single-instance groups.
// What a window cost it is in bench/lib/redis-stats.ts (INFO) and bench/lib/monitor.ts (MONITOR).
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
